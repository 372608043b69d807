"""A calibration run: hold each level the search asks for, and judge it against the SLO.

A level of N holds N concurrent streams (or requests) for ``hold_s``. The N slots open
spread over the first ``stagger_s`` (so that N handshakes do not land in one instant);
each slot streams the audio once, closes, and opens the next stream until the hold ends,
so short audio still keeps N streams busy. A slot whose stream failed waits
``retry_pause_s`` before the next attempt; every attempt counts. Cancelling the run
(Ctrl-C) closes every open stream with ``CloseStream`` and returns what was measured.

While a level runs a probe measures how late the client's own event loop wakes up
(``loop_lag``, wall seconds): a p99 above :data:`CLIENT_BOUND_S` means the client, not
the server, set the pace (credential look-ups, a busy CPU), and the level says so.
"""

from __future__ import annotations

import asyncio
import bisect
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .audio import DEFAULT_CHUNK_S, Audio, Clock, rotated
from .batch_client import BatchRecord, Invoker, batch_stats, run_requests
from .levels import SearchOutcome, SearchPlan, search
from .result import (
    CREDENTIALS_REFUSED,
    DEFAULT_TARGET_FRACTION,
    CalibrationResult,
    LevelResult,
    utc_now,
)
from .slo import (
    BATCH_METRICS,
    DEFAULT_BATCH_SLO,
    DEFAULT_STREAM_SLO,
    MIN_GROWTH_AUDIO_S,
    MIN_GROWTH_SPAN_S,
    STREAM_METRICS,
    Reference,
    Slo,
    file_points,
    growth,
    parse_slo,
    relative_points,
    span,
    summary,
)
from .stream_client import (
    DEFAULT_CLOSE_TIMEOUT_S,
    SkippedMessages,
    StreamRecord,
    counting_skipped,
    identity_refused,
    run_stream,
)

#: Fewest reference finals (points of the file) a lone growth reference must hold, and
#: they must span the growth fit's MIN_GROWTH_SPAN_S.
MIN_REFERENCE = 4


class ReferenceFailed(Exception):
    """The stream run alone as the growth reference measured too little to judge by."""


#: Event-loop lag (p99, wall seconds) above which a level is marked client-bound.
CLIENT_BOUND_S = 0.05
#: Wall seconds between two wake-ups of the event-loop probe.
PROBE_INTERVAL_S = 0.02

#: Called about once a second (audio time) while a level runs:
#: ``(concurrency, seconds into the level, hold, records so far)``.
Progress = Callable[[int, float, float, list[Any]], None]


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How each level runs.

    :param hold_s: Seconds each level is held (> 0). Default: 60.
    :param target_fraction: Target as a share of the capacity, in (0, 1]. Default: 0.75.
    :param max_total_s: Hard cap on the whole run; no level starts that would end past
        it. Default: None (no cap beyond the plan's levels).
    :param stagger_s: Slots open spread over this many seconds. Default: 1.
    :param retry_pause_s: A failed slot waits this long before its next attempt. Default: 1.
    :param chunk_s: Audio per chunk sent (Deepgram advises 0.02-0.25). Default: 0.1.
    :param close_timeout_s: Wait for the close after ``CloseStream``. Default: 15.
    :param time_scale: Audio seconds per wall second; only the tests change it, together
        with the emulated server's. Default: 1.
    :param settle_s: Pause after a failed level before the next one, so that a server
        still working through an overload's backlog does not fail the level after it.
        Default: 15.
    :param seed: Seeds the random point of the audio file each stream starts at. Default: 0.
    """

    hold_s: float = 60.0
    target_fraction: float = DEFAULT_TARGET_FRACTION
    max_total_s: float | None = None
    stagger_s: float = 1.0
    retry_pause_s: float = 1.0
    chunk_s: float = DEFAULT_CHUNK_S
    close_timeout_s: float = DEFAULT_CLOSE_TIMEOUT_S
    time_scale: float = 1.0
    settle_s: float = 15.0
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not self.hold_s > 0:
            problems.append(f"hold_s must be > 0, got {self.hold_s}")
        if not 0 < self.target_fraction <= 1:
            problems.append(f"target_fraction must be in (0, 1], got {self.target_fraction}")
        if not 0.005 <= self.chunk_s <= 1:
            problems.append(f"chunk_s must be between 0.005 and 1 second, got {self.chunk_s}")
        if not self.settle_s >= 0:
            problems.append(f"settle_s must be >= 0, got {self.settle_s}")
        if self.max_total_s is not None and not self.max_total_s > 0:
            problems.append(f"max_total_s must be > 0, got {self.max_total_s}")
        if problems:
            raise ValueError("; ".join(problems))


def stream_stats(records: list[StreamRecord], hold_s: float,
                 reference: Reference | None = None) -> dict[str, Any]:
    """What a level measured. With a ``reference``, ``lag_growth`` is the growth of each
    final's lag over the reference lag at the same point of the file; without one, of the
    lag itself."""
    counted = [r for r in records if not (r.cancelled and r.failure is None)]
    failures = [r for r in counted if r.failure is not None]
    kinds: dict[str, int] = {}
    for record in failures:
        assert record.failure is not None
        kinds[record.failure] = kinds.get(record.failure, 0) + 1
    notes: dict[str, int] = {}
    for record in counted:
        if record.note is not None and record.failure is None:
            notes[record.note] = notes.get(record.note, 0) + 1
    first = [r.first_result_s for r in counted if r.first_result_s is not None]
    lags = [lag for r in counted for lag in r.finalization_lags]
    connect = [r.connect_s for r in counted if r.connect_s is not None]
    fits = [r.lag_points() if reference is None else
            relative_points(r.lag_points(), r.file_offset, reference)
            for r in counted if r.failure is None]
    slopes = [g for points in fits if (g := growth(points)) is not None]
    return {"attempts": len(counted), "failures": len(failures),
            "failure_rate": len(failures) / len(counted) if counted else 1.0,
            "failure_kinds": kinds, "notes": notes, "first_result": summary(first),
            "finalization": summary(lags), "lag_growth": summary(slopes),
            "growth_span": summary([span(points) for points in fits if points]),
            "connect": summary(connect),
            "finals": len(lags), "audio_s": round(sum(r.audio_s for r in records), 3)}


@dataclass
class _Level:
    concurrency: int
    records: list[Any] = field(default_factory=list)


class Calibration:
    """Runs the search for one mode; subclasses say how a slot keeps its level busy."""

    metrics: tuple[str, ...] = ()

    def __init__(self, *, slo: Slo, plan: SearchPlan, options: RunOptions,
                 on_progress: Progress | None, on_level: Callable[[LevelResult], None] | None
                 ) -> None:
        check_time_scale(slo, options)
        self.slo, self.plan, self.options = slo, plan, options
        self.clock = Clock(options.time_scale)
        self.on_progress, self.on_level = on_progress, on_level
        self.started = self.clock.now()
        #: Why the search must stop before its next level, if it must.
        self.halted: str | None = None
        #: The level a cancellation cut short, if any.
        self.partial: LevelResult | None = None
        self._last_failed = False

    def slot(self, index: int, level: _Level, until: float) -> Awaitable[None]:
        raise NotImplementedError

    def stats(self, records: list[Any]) -> dict[str, Any]:
        raise NotImplementedError

    def level_notes(self, stats: dict[str, Any]) -> list[str]:
        """What else weakens a level's verdict, for the mode. Default: nothing."""
        return []

    async def warm_up(self) -> None:
        """One unmeasured stream or request before the first level: the client's first
        call pays for imports and connection setup that no later call does."""
        until = self.clock.now() + 2.0
        await self.slot(0, _Level(1), until)

    def may_run(self, _concurrency: int) -> bool:
        """Whether a level can end within the time cap, counting the wait for the last
        streams to close after the hold."""
        cap = self.options.max_total_s
        elapsed = self.clock.now() - self.started
        longest = self.options.hold_s + self.options.close_timeout_s + self.options.settle_s
        return cap is None or elapsed + longest <= cap

    async def run_level(self, concurrency: int) -> LevelResult:
        level = _Level(concurrency)
        started_at = utc_now()
        begin = self.clock.now()
        until = begin + self.options.hold_s
        tasks = [asyncio.ensure_future(self._staggered(i, level, begin, until))
                 for i in range(concurrency)]
        progress = asyncio.ensure_future(self._progress(level, begin))
        lateness: list[float] = []
        probe = asyncio.ensure_future(_probe_loop(lateness))
        interrupted = False
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            interrupted = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            progress.cancel()
            probe.cancel()
        stats = self.stats(level.records)
        stats["loop_lag"] = summary(lateness)
        refused = identity_refused(stats["failure_kinds"])
        if refused:
            self.halted = (f"{CREDENTIALS_REFUSED} ({refused}) during level {concurrency}: "
                           "no measurement after it; renew the credentials and rerun")
        violations = tuple(self.slo.violations(stats))
        notes = list(self.slo.inconclusive(stats)) + self.level_notes(stats)
        lag_p99 = stats["loop_lag"]["p99"]
        if lag_p99 is not None and lag_p99 > CLIENT_BOUND_S:
            notes.append(f"client-bound: the client's event loop woke up to "
                         f"{lag_p99 * 1000:.0f} ms late (p99), so the client may have set "
                         "the pace: use a faster client machine or fewer streams per process")
        result = LevelResult(concurrency=concurrency, passed=not violations and not interrupted,
                             violations=violations, stats=stats, started_at=started_at,
                             ended_at=utc_now(), interrupted=interrupted, notes=tuple(notes))
        if interrupted:
            self.partial = result
            raise asyncio.CancelledError
        if self.on_level is not None:
            self.on_level(result)
        return result

    async def _staggered(self, index: int, level: _Level, begin: float, until: float) -> None:
        stagger = min(self.options.stagger_s, self.options.hold_s / 4)
        await self.clock.sleep_until(begin + stagger * index / max(1, level.concurrency))
        await self.slot(index, level, until)

    async def _progress(self, level: _Level, begin: float) -> None:
        while self.on_progress is not None:
            await asyncio.sleep(self.clock.wall(1.0))
            self.on_progress(level.concurrency, self.clock.now() - begin,
                             self.options.hold_s, level.records)

    def growth_facts(self) -> tuple[int | None, int | None, list[float] | None]:
        """The growth reference's streams and finals, and the stretch of the file the
        streams started within (None where the mode has none)."""
        return None, None, None

    async def run(self) -> SearchOutcome[LevelResult]:
        self.started = self.clock.now()
        try:
            await self.warm_up()
        except asyncio.CancelledError:
            return SearchOutcome(interrupted=True, stopped="interrupted during the warm-up")
        except ReferenceFailed as err:
            return SearchOutcome(stopped=str(err))
        return await search(self.plan, self._settled, may_run=self.may_run,
                            halt=lambda: self.halted)

    async def _settled(self, concurrency: int) -> LevelResult:
        """``run_level``, after a pause when the level before it failed."""
        if self._last_failed and self.options.settle_s:
            await self.clock.sleep_until(self.clock.now() + self.options.settle_s)
        result = await self.run_level(concurrency)
        self._last_failed = not result.passed
        return result


async def _probe_loop(lateness: list[float]) -> None:
    """Sleep ``PROBE_INTERVAL_S`` again and again, recording how late each wake-up was."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(PROBE_INTERVAL_S)
        lateness.append(max(0.0, time.monotonic() - before - PROBE_INTERVAL_S))


class StreamCalibration(Calibration):
    metrics = STREAM_METRICS

    def __init__(self, *, client: Any, audio: Audio, model: str, params: dict[str, str],
                 lenient_close: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client, self.audio, self.model, self.params = client, audio, model, params
        self.lenient_close = lenient_close
        self.chunks = audio.chunks(self.options.chunk_s)
        #: Where in the file each chunk begins.
        self.chunk_starts = [0.0] + [end for end, _ in self.chunks[:-1]]
        self._random = random.Random(self.options.seed)
        #: The lags of the least loaded streams by point of the file: what every level's
        #: growth is judged against; and how many streams ran when they were measured.
        self.reference: Reference | None = None
        self.reference_concurrency: int | None = None
        #: ``(first chunk, chunks)`` the later streams start within, when the audio is
        #: longer than the hold and the reference therefore covers only part of the file.
        self._window: tuple[int, int] | None = None
        #: Counts the messages the SDK skipped while the run is on.
        self._skipped: SkippedMessages | None = None

    async def run(self) -> SearchOutcome[LevelResult]:
        with counting_skipped() as self._skipped:
            return await super().run()

    def level_notes(self, stats: dict[str, Any]) -> list[str]:
        skipped = stats.get("skipped_messages", 0)
        if not skipped:
            return []
        return [f"the SDK skipped {skipped} text message(s) that were not JSON: had one been a "
                "result, it went unmeasured"]

    async def warm_up(self) -> None:
        await super().warm_up()
        try:
            await self._reference_alone()
        finally:
            if self._skipped is not None:
                self._skipped.take()  # what the warm-up and the reference skipped is not a level's

    async def _reference_alone(self) -> None:
        if lone_reference(self.plan, self.slo,
                          min(self.options.hold_s, self.audio.duration_s)):
            # A first level of several streams may already be overloaded, and as its own
            # reference its growth would be judged against itself: one stream alone gives
            # the audio's own lag pattern first (docs/calibration.md#keeps-up).
            for _attempt in range(2):  # once more if it measured nothing
                self._window = None  # a retry may start anywhere in the file
                level = _Level(1)
                await self.slot(0, level, self.clock.now() + self.options.hold_s)
                self._set_reference(level)
                refused = identity_refused(Counter(r.failure for r in level.records
                                                   if r.failure is not None))
                if refused:
                    raise ReferenceFailed(f"{CREDENTIALS_REFUSED} ({refused}) during the growth "
                                          "reference: no measurement; renew the credentials "
                                          "and rerun")
                if self.reference is not None and self.reference.supports_a_fit(MIN_REFERENCE):
                    return
            raise ReferenceFailed(
                f"the stream run alone as the growth reference measured "
                f"{len(self.reference.points) if self.reference else 0} finals before "
                f"CloseStream, twice, too few to fit a growth to (at least {MIN_REFERENCE} "
                f"spanning {MIN_GROWTH_SPAN_S:g} s): lag growth cannot be judged; see the "
                "failures above, or use longer audio and hold")

    def _set_reference(self, level: _Level) -> None:
        good = [r for r in level.records if r.failure is None and not r.cancelled]
        self.reference = Reference(self.audio.duration_s, tuple(
            point for r in good
            for point in file_points(r.lag_points(), r.file_offset, self.audio.duration_s)))
        self.reference_concurrency = level.concurrency
        if (judges_growth(self.slo, self.options.hold_s) and good and level.concurrency == 1
                and self.audio.duration_s > self.options.hold_s + 1e-9):
            # The reference covers only the part of the file its stream sent: later streams
            # start within it, early enough to share at least twice the span the growth fit
            # needs with it (docs/calibration.md#keeps-up).
            longest = max(good, key=lambda r: r.audio_s)
            first = bisect.bisect_right(self.chunk_starts, longest.file_offset + 1e-9) - 1
            usable = max(0.0, longest.audio_s - 2 * MIN_GROWTH_SPAN_S)
            self._window = (first, 1 + int(usable / self.options.chunk_s + 1e-9))

    def start_window_s(self) -> list[float] | None:
        """``[from, to]`` seconds of the file later streams start within, if limited."""
        if self._window is None:
            return None
        first, count = self._window
        start = self.chunk_starts[first]
        return [round(start, 3), round(start + (count - 1) * self.options.chunk_s, 3)]

    def growth_facts(self) -> tuple[int | None, int | None, list[float] | None]:
        points = None if self.reference is None else len(self.reference.points)
        return self.reference_concurrency, points, self.start_window_s()

    def _start_chunk(self) -> int:
        if self._window is None:
            return self._random.randrange(len(self.chunks))
        first, count = self._window
        return (first + self._random.randrange(count)) % len(self.chunks)

    async def slot(self, index: int, level: _Level, until: float) -> None:
        # A stream shorter than a second of audio measures nothing useful.
        while self.clock.now() < until - 1.0 or not level.records:
            # Each stream starts at a random point of the file, wrapping round to its start,
            # so that the streams of a level do not all reach the audio's own cut points at
            # once (docs/calibration.md#keeps-up).
            first = self._start_chunk()
            record = await run_stream(self.client, audio=self.audio,
                                      chunks=rotated(self.chunks, first,
                                                     self.audio.bytes_per_second),
                                      clock=self.clock, model=self.model, params=self.params,
                                      until=until, sink=level.records,
                                      close_timeout_s=self.options.close_timeout_s,
                                      lenient_close=self.lenient_close,
                                      file_offset=self.chunk_starts[first])
            if record.failure is not None:
                await self.clock.sleep_until(self.clock.now() + self.options.retry_pause_s)

    def stats(self, records: list[Any]) -> dict[str, Any]:
        if self.reference is None:
            # The first level run (one stream by default; lone_reference measures one alone
            # before a larger first level when growth is judged): its lags are the audio's
            # own pattern at the least load.
            self._set_reference(_Level(self.plan.start, list(records)))
        stats = stream_stats(records, self.options.hold_s, self.reference)
        stats["skipped_messages"] = self._skipped.take() if self._skipped else 0
        return stats


class BatchCalibration(Calibration):
    metrics = BATCH_METRICS

    def __init__(self, *, invoker: Invoker, audio: Audio, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invoker, self.audio = invoker, audio

    async def slot(self, index: int, level: _Level, until: float) -> None:
        await run_requests(self.invoker, audio=self.audio, clock=self.clock, until=until,
                           sink=level.records, retry_pause_s=self.options.retry_pause_s)

    def stats(self, records: list[Any]) -> dict[str, Any]:
        records_typed: list[BatchRecord] = records
        return batch_stats(records_typed, self.options.hold_s)


#: Wall-clock margin an accelerated run needs under its smallest time bound: a stall of the
#: client or the emulator reads ``time_scale`` times longer.
MIN_BOUND_WALL_S = 0.1
#: Wall-clock length a chunk needs at least on an accelerated clock (the event loop's
#: timers are not finer).
MIN_CHUNK_WALL_S = 0.005


def check_time_scale(slo: Slo, options: RunOptions) -> None:
    """Refuse an accelerated clock that the machine cannot keep: a time bound shorter than
    :data:`MIN_BOUND_WALL_S` of wall time, or chunks shorter than :data:`MIN_CHUNK_WALL_S`.
    At the defaults (100 ms chunks, a 1 s first-result bound) that allows up to 10 x
    (docs/calibration.md#accelerated).

    :raises ValueError: naming the largest time scale these settings allow.
    """
    scale = options.time_scale
    if scale <= 1:
        return
    bounds = [t.bound for t in slo.terms if t.metric not in ("failures", "lag_growth")]
    limit = min([b / MIN_BOUND_WALL_S for b in bounds] + [options.chunk_s / MIN_CHUNK_WALL_S])
    if scale > limit + 1e-9:
        raise ValueError(f"time_scale must be at most {limit:g} for these settings (each time "
                         f"bound must last {MIN_BOUND_WALL_S:g} s of wall time and each chunk "
                         f"{MIN_CHUNK_WALL_S:g} s), got {scale:g}")


def judges_growth(slo: Slo, stream_s: float) -> bool:
    """Whether the SLO judges lag growth on streams of ``stream_s`` seconds (the shorter of
    the audio and the hold) long enough to measure it."""
    return stream_s >= MIN_GROWTH_AUDIO_S and any(t.metric == "lag_growth" for t in slo.terms)


def lone_reference(plan: SearchPlan, slo: Slo, stream_s: float) -> bool:
    """Whether a stream run measures one stream alone before the first level: when growth
    is judged and the first level has more than one stream."""
    return plan.start > 1 and judges_growth(slo, stream_s)


def default_slo(mode: str) -> Slo:
    if mode == "stream":
        return parse_slo(DEFAULT_STREAM_SLO, metrics=STREAM_METRICS)
    return parse_slo(DEFAULT_BATCH_SLO, metrics=BATCH_METRICS)


async def execute(calibration: Calibration, result: CalibrationResult) -> CalibrationResult:
    """Run the search and fill ``result``; a cancellation still returns what was measured."""
    try:
        outcome = await calibration.run()
    finally:
        result.ended_at = utc_now()
    result.levels = list(outcome.trials)
    if outcome.interrupted and calibration.partial is not None:
        result.levels.append(calibration.partial)
    result.set_capacity(outcome.capacity)
    (result.growth_reference, result.growth_reference_points,
     result.start_window_s) = calibration.growth_facts()
    result.interrupted = outcome.interrupted
    result.stopped = outcome.stopped
    return result
