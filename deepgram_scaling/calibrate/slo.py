"""Service-level terms and the percentiles they are judged on.

A level passes when every term holds. A term is ``<metric><=<bound>``: ``first_result_p95<=1``
(seconds), ``finalization_p95<=2``, ``latency_p95<=10`` (batch), ``failures<=0.5%`` (share of
streams or requests that failed). Any of p50, p90, p95 and p99 may be used. A percentile
with no sample (every stream failed) fails its term.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PERCENTILES = (50, 90, 95, 99)
STREAM_METRICS = ("first_result", "finalization")
BATCH_METRICS = ("latency",)
#: Deepgram's streaming guidance: first words within about a second, finals within two
#: seconds of the audio; failures rare enough to be noise (docs/calibration.md#slo).
DEFAULT_STREAM_SLO = "first_result_p95<=1,finalization_p95<=2,failures<=0.5%"
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
    """``{"p50": ..., "p90": ..., "p95": ..., "p99": ..., "max": ...}``."""
    out: dict[str, float | None] = {f"p{p}": percentile(values, p) for p in PERCENTILES}
    out["max"] = max(values) if values else None
    return out


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
        return f"{self.name}<={self.bound:g}s"

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
        if unit == "%":
            raise SloError(f"{metric} is bounded in seconds, got {raw.strip()!r}")
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
