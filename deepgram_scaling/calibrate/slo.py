"""Service-level terms and the percentiles they are judged on.

A level passes when every term holds. A term is ``<metric><=<bound>``: ``first_result_p95<=1``
(seconds), ``finalization_p95<=2``, ``lag_growth_p50<=0.02`` (how fast a stream's
finalization lag grows, seconds per second of audio: the "keeps up" term),
``latency_p95<=10`` (batch), ``failures<=0.5%`` (share of streams or requests that failed).
Any of p50, p90, p95 and p99 may be used. A percentile with no sample (every stream failed)
fails its term, except ``lag_growth``, which has no sample when no stream was long enough
to measure it (:data:`MIN_GROWTH_SPAN_S`): the level is then marked inconclusive on it.

A percentile from few samples is mostly noise: a level lists the terms whose percentile
had fewer than :func:`min_samples` samples (20 for a p95) as ``thin``, and the failure
term's resolution is one attempt in however many the level made.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PERCENTILES = (50, 90, 95, 99)
STREAM_METRICS = ("first_result", "finalization", "lag_growth")
BATCH_METRICS = ("latency",)
#: Deepgram's streaming guidance: first words within about a second, finals within two
#: seconds of the audio; failures rare enough to be noise (docs/calibration.md#slo).
#: ``lag_growth_p50<=0.02``: the median stream's lag may grow by at most 1.2 s a minute,
#: which one stream over a capacity below 50 exceeds whatever the hold
#: (docs/calibration.md#keeps-up).
DEFAULT_STREAM_SLO = ("first_result_p95<=1,finalization_p95<=2,lag_growth_p50<=0.02,"
                      "failures<=0.5%")
#: Shortest audio span (seconds) over which a stream's lag growth is measured.
MIN_GROWTH_SPAN_S = 10.0
#: Shortest stream (seconds) whose finals are expected to span :data:`MIN_GROWTH_SPAN_S`:
#: the audio's own cut points can leave several seconds without a final at either end.
MIN_GROWTH_AUDIO_S = 20.0
#: Metrics without a unit of seconds.
RATIO_METRICS = ("lag_growth",)
DEFAULT_BATCH_SLO = "latency_p95<=10,failures<=0.5%"

_TERM = re.compile(r"^\s*([a-z_]+?)(?:_p(\d+))?\s*<=\s*([0-9.]+)\s*(%|s|ms)?\s*$")


class SloError(ValueError):
    """An SLO string that cannot be read."""


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile by linear interpolation between closest ranks (numpy's
    default), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: Sequence[float]) -> dict[str, float | None]:
    """``{"p50": ..., "p90": ..., "p95": ..., "p99": ..., "max": ..., "n": ...}``."""
    out: dict[str, float | None] = {f"p{p}": percentile(values, p) for p in PERCENTILES}
    out["max"] = max(values) if values else None
    out["n"] = len(values)
    return out


def min_samples(pct: int) -> int:
    """Samples a ``pct`` percentile needs before it says more than the maximum: 20 for a
    p95, 100 for a p99, 10 for a p90, 2 for a p50."""
    return max(2, math.ceil(100 / (100 - pct) - 1e-9))


def growth(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of ``(audio offset, finalization lag)``: seconds of lag gained
    per second of audio, or None when the points span less than :data:`MIN_GROWTH_SPAN_S`
    or number fewer than 4."""
    if len(points) < 4:
        return None
    xs = [x for x, _ in points]
    if max(xs) - min(xs) < MIN_GROWTH_SPAN_S:
        return None
    mean_x = sum(xs) / len(xs)
    mean_y = sum(y for _, y in points) / len(points)
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


#: Two finals of different streams end at the same point of the audio file when their ends
#: are at most this far apart (seconds).
MATCH_S = 0.25


@dataclass(frozen=True)
class Reference:
    """The finalization lags of a reference level (one stream: the first level by default,
    or one run alone before a larger first level) by the point of the audio file where each
    final ended, so that a final of a later level is judged against the lag the file itself
    gives at that point.

    :param period_s: The audio file's length (a slot's stream wraps round it).
    :param points: ``(file position, lag)`` of each final of the reference level.
    """

    period_s: float
    points: tuple[tuple[float, float], ...]

    def supports_a_fit(self, least: int = 4) -> bool:
        """Whether a stream meeting every point could give a growth: ``least`` points
        spanning :data:`MIN_GROWTH_SPAN_S` of the file."""
        spots = sorted(at for at, _ in self.points)
        return len(spots) >= least and spots[-1] - spots[0] >= MIN_GROWTH_SPAN_S

    def lag_at(self, position: float) -> float | None:
        """The median reference lag of the finals that ended within :data:`MATCH_S` of
        ``position`` in the file, or None when none did."""
        near = [lag for at, lag in self.points
                if min(abs(at - position), self.period_s - abs(at - position)) <= MATCH_S]
        return percentile(near, 50)


def file_points(points: Sequence[tuple[float, float]], file_offset: float, period_s: float
                ) -> list[tuple[float, float]]:
    """``(audio offset, lag)`` of one stream as ``(file position, lag)``."""
    return [((file_offset + at) % period_s, lag) for at, lag in points]


def relative_points(points: Sequence[tuple[float, float]], file_offset: float,
                    reference: Reference) -> list[tuple[float, float]]:
    """``(audio offset, lag minus the reference lag at the same point of the file)`` for
    each final the reference saw: the growth of that difference is the load's, whatever
    pattern of lags the audio's own cut points make (docs/calibration.md#keeps-up)."""
    out = []
    for at, lag in points:
        base = reference.lag_at((file_offset + at) % reference.period_s)
        if base is not None:
            out.append((at, lag - base))
    return out


def span(points: Sequence[tuple[float, float]]) -> float:
    """Audio seconds between the first and the last point."""
    return max(x for x, _ in points) - min(x for x, _ in points) if points else 0.0


@dataclass(frozen=True)
class Term:
    """``metric`` (``first_result``, ``finalization``, ``latency`` or ``failures``), the
    percentile (None for failures) and the bound (seconds, or a fraction for failures)."""

    metric: str
    pct: int | None
    bound: float

    @property
    def name(self) -> str:
        return self.metric if self.pct is None else f"{self.metric}_p{self.pct}"

    def __str__(self) -> str:
        if self.metric == "failures":
            return f"failures<={self.bound * 100:g}%"
        if self.metric in RATIO_METRICS:
            return f"{self.name}<={self.bound:g}"
        return f"{self.name}<={self.bound:g}s"

    def samples(self, stats: Mapping[str, object]) -> int | None:
        """How many samples the term was judged on (attempts for failures)."""
        if self.metric == "failures":
            value = stats.get("attempts")
        else:
            series = stats.get(self.metric)
            value = series.get("n") if isinstance(series, Mapping) else None
        return int(value) if isinstance(value, (int, float)) else None

    def thin(self, stats: Mapping[str, object]) -> bool:
        """Whether the percentile rests on fewer samples than it needs."""
        if self.pct is None:
            return False
        n = self.samples(stats)
        return n is not None and n < min_samples(self.pct)

    def observed(self, stats: Mapping[str, object]) -> float | None:
        if self.metric == "failures":
            value = stats.get("failure_rate")
            return float(value) if isinstance(value, (int, float)) else None
        series = stats.get(self.metric)
        if not isinstance(series, Mapping):
            return None
        value = series.get(f"p{self.pct}")
        return float(value) if isinstance(value, (int, float)) else None

    def holds(self, stats: Mapping[str, object]) -> bool:
        value = self.observed(stats)
        if value is None and self.metric in RATIO_METRICS:
            return True  # no stream long enough to measure it: inconclusive, not failed
        return value is not None and value <= self.bound + 1e-12


@dataclass(frozen=True)
class Slo:
    terms: tuple[Term, ...]

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.terms)

    def violations(self, stats: Mapping[str, object]) -> list[str]:
        """Each term that does not hold, with what was observed."""
        out = []
        for term in self.terms:
            if not term.holds(stats):
                value = term.observed(stats)
                shown = ("no sample" if value is None else
                         f"{value * 100:.2f}%" if term.metric == "failures" else f"{value:.3f}s")
                out.append(f"{term} (got {shown})")
        return out

    def inconclusive(self, stats: Mapping[str, object]) -> list[str]:
        """The terms a level could not judge well: a percentile from too few samples, or
        no sample of ``lag_growth`` at all."""
        out = []
        for term in self.terms:
            n = term.samples(stats)
            if term.metric in RATIO_METRICS and term.observed(stats) is None:
                out.append(f"{term.name}: no stream spanned {MIN_GROWTH_SPAN_S:g} s of audio")
            elif term.thin(stats):
                assert term.pct is not None
                out.append(f"{term.name}: {n} samples, fewer than the "
                           f"{min_samples(term.pct)} a p{term.pct} needs")
        return out

    def to_json(self) -> list[dict[str, object]]:
        return [{"metric": t.metric, "percentile": t.pct, "bound": t.bound} for t in self.terms]

    @classmethod
    def from_json(cls, items: Sequence[Mapping[str, object]]) -> Slo:
        terms = []
        for item in items:
            pct = item.get("percentile")
            bound = item["bound"]
            assert isinstance(bound, (int, float))
            terms.append(Term(str(item["metric"]), int(pct) if isinstance(pct, int) else None,
                              float(bound)))
        return cls(tuple(terms))


def parse_slo(text: str, *, metrics: Sequence[str]) -> Slo:
    """Read ``"first_result_p95<=1,finalization_p95<=2,failures<=0.5%"``.

    :param metrics: The latency metrics this mode measures (``STREAM_METRICS`` or
        ``BATCH_METRICS``); ``failures`` is always allowed.
    :raises SloError: on an unknown metric or percentile, a missing bound or a duplicate.
    """
    terms: list[Term] = []
    for raw in text.split(","):
        if not raw.strip():
            continue
        match = _TERM.match(raw)
        if match is None:
            raise SloError(f"slo term must look like 'metric_p95<=1' or 'failures<=0.5%', "
                           f"got {raw.strip()!r}")
        metric, pct_text, bound_text, unit = match.groups()
        try:
            bound = float(bound_text)
        except ValueError:
            raise SloError(f"slo bound must be a number, got {bound_text!r}") from None
        if metric == "failures":
            if pct_text is not None or unit in ("s", "ms"):
                raise SloError(f"failures takes a share such as 'failures<=0.5%', got {raw!r}")
            fraction = bound / 100 if unit == "%" else bound
            if not 0 <= fraction <= 1:
                raise SloError(f"failures must be between 0 and 100%, got {raw.strip()!r}")
            terms.append(Term("failures", None, fraction))
            continue
        if metric not in metrics:
            raise SloError(f"slo metric must be one of {[*metrics, 'failures']}, got {metric!r}")
        if pct_text is None or int(pct_text) not in PERCENTILES:
            raise SloError(f"{metric} needs a percentile among "
                           f"{', '.join(f'p{p}' for p in PERCENTILES)}, got {raw.strip()!r}")
        if unit == "%" or (metric in RATIO_METRICS and unit is not None):
            raise SloError(f"{metric} is bounded in "
                           f"{'seconds per second' if metric in RATIO_METRICS else 'seconds'}"
                           f", got {raw.strip()!r}")
        seconds = bound / 1000 if unit == "ms" else bound
        if seconds <= 0:
            raise SloError(f"{metric} bound must be > 0 seconds, got {raw.strip()!r}")
        terms.append(Term(metric, int(pct_text), seconds))
    names = [t.name for t in terms]
    if not terms:
        raise SloError(f"slo must hold at least one term, got {text!r}")
    if len(set(names)) != len(names):
        raise SloError(f"slo names a term twice: {names}")
    return Slo(tuple(terms))


def detection_limit(slo: Slo, stream_s: float, finals_span_s: float | None = None
                    ) -> float | None:
    """The highest capacity at which a level one stream over it still fails ``slo``, for
    streams of ``stream_s`` audio seconds (the shorter of the audio and the hold); None when
    no term can see an overload.

    One stream over a capacity ``c`` falls behind by ``1 / (c + 1)`` of every second
    (processor sharing), so its lag crosses a finalization bound ``b`` once the stream has
    run about ``1.3 x b x (c + 1)`` seconds (docs/calibration.md#keeps-up), and its lag
    grows faster than a ``lag_growth`` bound ``g`` while ``c < 1 / g - 1``. The growth is
    measured over the finals that arrived before ``CloseStream``: it counts only when they
    span :data:`MIN_GROWTH_SPAN_S`, which ``finals_span_s`` (measured, a run's median) says,
    or before a run a stream of at least :data:`MIN_GROWTH_AUDIO_S`.
    """
    limits = []
    for term in slo.terms:
        if term.metric == "finalization":
            limits.append(stream_s / (1.3 * term.bound) - 1)
        elif term.metric == "lag_growth" and growth_measurable(stream_s, finals_span_s):
            limits.append(1 / term.bound - 1)
    return max(limits) if limits else None


def growth_measurable(stream_s: float, finals_span_s: float | None = None) -> bool:
    """Whether ``lag_growth`` can be measured: the finals' span when known, else the
    stream's length against :data:`MIN_GROWTH_AUDIO_S`."""
    if finals_span_s is not None:
        return finals_span_s >= MIN_GROWTH_SPAN_S
    return stream_s >= MIN_GROWTH_AUDIO_S
