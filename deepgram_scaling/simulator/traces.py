"""Load for the strategy simulator: CSV trace readers and seeded synthetic generators.

The simulator replays a period of real load against a scaling set-up. That load comes from a
customer's own logs exported to CSV, or, before any logs exist, from one of the seeded
generators below, which write the same CSV formats so both paths go through one reader.

Trace formats
-------------
Both formats are CSV with a header row. Columns are found by name, so their order does not
matter and extra columns (a call id, a queue name) are allowed and ignored. Blank lines are
skipped. A UTF-8 byte-order mark, as spreadsheet exports write, is accepted.

Times take one of two forms, and every row of a file must use the same one:

- an ISO-8601 time such as ``2026-03-02T09:00:00Z`` or ``2026-03-02T10:00:00+01:00``; a time
  without an offset is read as UTC;
- a number of seconds on the trace's own axis (``0``, ``12.5``): relative times, for traces
  cut from a longer recording or written by hand.

A value that parses as a number is read as seconds, so the form is never ambiguous.

**Real-time trace** (streaming sessions and synchronous requests), one row per stream or
request, in any order:

``start``
    when the stream opened, in either time form.
``duration_s``
    how long it stayed open, in seconds; a number > 0.

**Async trace** (asynchronous endpoint), one row per job, sorted by arrival (equal arrivals
are fine) because the reader hands jobs to the simulator's queue as it reads them and cannot
reorder them:

``arrival``
    when the job was queued, in either time form.
``processing_s``
    seconds one GPU slot spends on the job; a number > 0.

Example of a real-time trace::

    start,duration_s,call_id
    2026-03-02T09:00:03Z,241.5,a17
    2026-03-02T09:00:04.250Z,30,a18

A file that breaks these rules raises :class:`TraceError`, whose message starts with the
file's name and the physical line number (the header is line 1) and then says what is wrong
and quotes the value, for example ``day.csv:12: duration_s must be a number > 0, got 'abc'``.
Reading stops at the first problem. The real-time reader returns nothing from a broken file;
the async iterator raises when it reaches the broken row, after the jobs before it.

Memory
------
A month of a large contact centre's traffic is millions of rows, so nothing here keeps a
Python object per row. The real-time reader bins streams into per-step counts as it reads
(a difference array that grows by doubling), so its memory follows the time span covered,
not the number of rows. The async reader yields one :class:`Job` at a time. The generators
draw and write an hour of traffic at a time.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import TextIO

import numpy as np
import numpy.typing as npt

from deepgram_scaling.errors import DeepgramScalingConfigError

__all__ = [
    "GENERATOR_KINDS",
    "MAX_STEPS",
    "MAX_STREAM_S",
    "Job",
    "RealtimeLoad",
    "TraceError",
    "async_trace_origin",
    "contact_centre_day_curve",
    "generate_trace",
    "iter_async_trace",
    "read_realtime_trace",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Upper bound on the steps one real-time trace may span (about 6 years at 10 s). A stray
#: row dated decades away would otherwise make the reader allocate gigabytes before failing.
MAX_STEPS = 20_000_000

#: SageMaker's 30-minute limit per bidirectional stream: a longer call has to reconnect, so
#: the generators split it into consecutive streams of at most this many seconds.
MAX_STREAM_S = 1800.0

#: The kinds :func:`generate_trace` knows.
GENERATOR_KINDS = ("contact-centre", "batch-uploads", "flat")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ISO = "iso"
_NUMBER = "number"


class TraceError(DeepgramScalingConfigError):
    """A trace file breaks its format.

    The message starts with ``<file name>:<line>: `` so editors and terminals can jump to
    the row; the parts are also kept as attributes for callers that report errors their way.

    :param file_name: The trace file's name (without its directory).
    :param line: Physical line number in the file; the header is line 1.
    :param problem: What is wrong, quoting the offending value.
    """

    def __init__(self, file_name: str, line: int, problem: str) -> None:
        self.file_name = file_name
        self.line = line
        self.problem = problem
        super().__init__(f"{file_name}:{line}: {problem}")


@dataclass(frozen=True, eq=False)
class RealtimeLoad:
    """A real-time trace binned into simulation steps.

    Step ``i`` covers ``[start_epoch + i * step_s, start_epoch + (i + 1) * step_s)``. A
    stream that starts at ``t`` and lasts ``d`` counts as active in steps
    ``floor(t / step_s)`` to ``floor((t + d) / step_s) - 1`` (times relative to
    ``start_epoch``), and always in its start step. Put differently: a step's count is the
    number of streams still open at the step's end, plus those that opened and closed within
    it, which is what a concurrency metric sampled once per step would see, without losing
    the short streams.

    ``eq=False``: two loads compare by identity, because comparing arrays field by field has
    no single truth value. The arrays are not copied on access; treat them as read-only.

    :param start_epoch: Epoch seconds (UTC) at which step 0 begins. For traces with numeric
        times this is the origin on the trace's own axis (0.0 by default).
    :param step_s: Step length in seconds.
    :param active: Streams active per step (float64, so the simulator can scale it).
    :param arrivals: Streams that start in each step (int64).
    :param streams: Number of rows read.
    :param stream_seconds: Sum of all durations, in seconds.
    """

    start_epoch: float
    step_s: float
    active: FloatArray
    arrivals: IntArray
    streams: int
    stream_seconds: float


@dataclass(frozen=True, slots=True)
class Job:
    """One asynchronous job, as :func:`iter_async_trace` yields it.

    :param arrival_s: Seconds since the trace's origin.
    :param processing_s: Seconds of work on one GPU slot.
    """

    arrival_s: float
    processing_s: float


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


def _file_name(path: str | os.PathLike[str]) -> str:
    return os.path.basename(os.fspath(path))


def _rows(
    path: str | os.PathLike[str], columns: tuple[str, ...]
) -> Generator[tuple[int, list[str]], None, None]:
    """Yield ``(line, values of columns)`` for each data row, streaming the file.

    ``line`` is the physical line where the record starts, so a quoted field spanning lines
    still points the reader at the right place.
    """
    name = _file_name(path)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        indexes: list[int] | None = None
        fields = 0
        end = 0
        while True:
            line = end + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except (csv.Error, UnicodeDecodeError) as err:
                raise TraceError(name, line, f"not readable as CSV: {err}") from None
            end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if indexes is None:
                header = [cell.strip() for cell in row]
                fields = len(header)
                missing = [column for column in columns if column not in header]
                if missing:
                    raise TraceError(
                        name,
                        line,
                        f"missing required column {missing[0]!r} "
                        f"(required: {', '.join(columns)}; header has: {', '.join(header)})",
                    )
                indexes = [header.index(column) for column in columns]
                continue
            values: list[str] = []
            for column, index in zip(columns, indexes, strict=True):
                if index >= len(row):
                    raise TraceError(
                        name,
                        line,
                        f"missing value for {column} (the row has {len(row)} fields, "
                        f"the header {fields})",
                    )
                values.append(row[index])
            yield line, values
        if indexes is None:
            raise TraceError(
                name, 1, f"empty file: expected a header row with columns {', '.join(columns)}"
            )


def _number(text: str) -> float | None:
    """The finite float ``text`` spells, else None (NaN and infinities are not times)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_iso(text: str) -> datetime | None:
    """An aware datetime for an ISO-8601 string (naive means UTC), else None.

    A trailing ``Z`` is rewritten as ``+00:00`` because Python 3.10's ``fromisoformat`` does
    not accept it.
    """
    value = text.strip()
    if value[-1:] in ("Z", "z"):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


class _TimeColumn:
    """Parses one time column onto a float axis, and catches rows that switch forms.

    Numeric times are their own axis. ISO times are measured in seconds from an anchor kept
    as exact integer microseconds: the caller's origin, or else the first ISO time read.
    Epoch seconds as floats carry only about 0.2 microseconds of resolution, so subtracting
    two of them would turn ``09:05:17.904`` minus ``09:00:00`` into ``317.904000043869``.
    Conversions between the axis and epoch seconds go through exact fractions, once per file.
    """

    def __init__(self, file_name: str, column: str, origin: float | None = None) -> None:
        self.file_name = file_name
        self.column = column
        self.form: str | None = None
        self.first_line = 0
        self._anchor_us: int | None = None
        if origin is not None:
            self.set_anchor(Fraction(origin))

    @property
    def anchor(self) -> Fraction:
        """Epoch seconds of axis 0 for ISO times; 0 for numeric ones (and before any row)."""
        if self.form != _ISO or self._anchor_us is None:
            return Fraction(0)
        return Fraction(self._anchor_us, 1_000_000)

    def set_anchor(self, epoch: Fraction) -> None:
        """Measure ISO times from ``epoch`` (rounded to the microsecond) from now on."""
        self._anchor_us = round(epoch * 1_000_000)

    def parse(self, text: str, line: int) -> float:
        """The time's position on the axis, in seconds."""
        number = _number(text)
        if number is not None:
            form = _NUMBER
        else:
            parsed = _parse_iso(text)
            if parsed is None:
                raise TraceError(
                    self.file_name,
                    line,
                    f"{self.column} must be an ISO-8601 time or a number of seconds, "
                    f"got {text!r}",
                )
            form = _ISO
            micros = (parsed - _EPOCH) // timedelta(microseconds=1)
        if self.form is None:
            self.form, self.first_line = form, line
        elif form != self.form:
            described = {_ISO: "an ISO-8601 time", _NUMBER: "a number of seconds"}
            raise TraceError(
                self.file_name,
                line,
                f"{self.column} is {described[form]} but line {self.first_line} used "
                f"{described[self.form]}; one file must use one form, got {text!r}",
            )
        if number is not None:
            return number
        if self._anchor_us is None:
            self._anchor_us = micros
        return (micros - self._anchor_us) / 1_000_000

    def to_axis(self, time: float | Fraction) -> float:
        """An origin as the caller gives it (epoch seconds for ISO traces) on the axis."""
        return float(Fraction(time) - self.anchor)

    def to_epoch(self, axis: float | Fraction) -> float:
        """A position on the axis as epoch seconds (ISO) or trace seconds (numeric)."""
        return float(self.anchor + Fraction(axis))


def _positive(text: str, column: str, file_name: str, line: int) -> float:
    value = _number(text)
    if value is None or value <= 0:
        raise TraceError(file_name, line, f"{column} must be a number > 0, got {text!r}")
    return value


def _check_step(step_s: float) -> None:
    if not isinstance(step_s, (int, float)) or not math.isfinite(step_s) or step_s <= 0:
        raise DeepgramScalingConfigError(f"step_s must be a number > 0, got {step_s!r}")


def _check_origin(origin: float | None) -> None:
    if origin is not None and (
        not isinstance(origin, (int, float)) or not math.isfinite(origin)
    ):
        raise DeepgramScalingConfigError(
            f"origin must be a finite number of seconds or None, got {origin!r}"
        )


def _before_origin(column: _TimeColumn, text: str, base: float) -> str:
    where = "epoch" if column.form == _ISO else "on the trace's axis"
    origin = column.to_epoch(base)
    return f"{column.column} is before the origin ({origin:.6f} s {where}), got {text!r}"


class _StepCounter:
    """A difference array over step indexes that grows at either end by doubling.

    Adding a stream touches two cells, whatever its length; one cumulative sum at the end
    turns the differences into per-step counts. Growing towards lower indexes is needed only
    when the origin defaults to the first row and a later row starts earlier.
    """

    def __init__(self) -> None:
        self.lo = 0  # step index of element 0
        self.diff: IntArray = np.zeros(1024, dtype=np.int64)
        self.starts: IntArray = np.zeros(1024, dtype=np.int64)
        self.first: int | None = None  # smallest start step seen
        self.last = -1  # largest end step seen

    def add(self, begin: int, end: int) -> None:
        hi = self.lo + len(self.diff) - 1
        if begin < self.lo or end > hi:
            self._grow(begin, end)
        self.diff[begin - self.lo] += 1
        self.diff[end - self.lo] -= 1
        self.starts[begin - self.lo] += 1
        if self.first is None or begin < self.first:
            self.first = begin
        self.last = max(self.last, end)

    def _grow(self, begin: int, end: int) -> None:
        size = len(self.diff)
        hi = self.lo + size - 1
        new_lo = self.lo if begin >= self.lo else min(begin, self.lo - size)
        new_hi = hi if end <= hi else max(end, hi + size)
        offset = self.lo - new_lo
        for attribute in ("diff", "starts"):
            grown = np.zeros(new_hi - new_lo + 1, dtype=np.int64)
            grown[offset : offset + size] = getattr(self, attribute)
            setattr(self, attribute, grown)
        self.lo = new_lo


def read_realtime_trace(
    path: str | os.PathLike[str], *, step_s: float = 10.0, origin: float | None = None
) -> RealtimeLoad:
    """Read a real-time trace into per-step counts of active and arriving streams.

    The file is streamed once and never held in memory (see the module notes), so a month
    of traffic costs a few arrays of one number per step.

    :param path: The CSV file (columns ``start`` and ``duration_s``).
    :param step_s: Step length in seconds. Default: 10, the period of SageMaker's
        high-resolution ``ConcurrentRequestsPerModel`` metric.
    :param origin: Where step 0 begins: epoch seconds for ISO traces, a value on the trace's
        own axis for numeric ones. Rows starting before it are an error. Default: for ISO
        traces the earliest start (the first row's, when rows are sorted) floored to a whole
        step, so steps line up with the wall clock; for numeric traces 0.
    :returns: The binned load; its arrays end at the step in which the last stream ends, so
        their length is ``last end step + 1`` and follows the time span, not the row count.
    :raises TraceError: A row or the header breaks the format, or the trace spans more than
        :data:`MAX_STEPS` steps.
    :raises DeepgramScalingConfigError: ``step_s`` or ``origin`` is not usable.
    """
    _check_step(step_s)
    _check_origin(origin)
    step = float(step_s)
    name = _file_name(path)
    starts = _TimeColumn(name, "start", origin)
    counter = _StepCounter()
    base: float | None = None  # the axis position of step 0, set at the first row
    may_extend_back = False
    streams = 0
    stream_seconds = 0.0
    for line, (start_text, duration_text) in _rows(path, ("start", "duration_s")):
        start = starts.parse(start_text, line)
        duration = _positive(duration_text, "duration_s", name, line)
        if base is None:
            if origin is not None:
                base = starts.to_axis(origin)
            elif starts.form == _ISO:
                # The first start floored to a whole step, so steps follow the wall clock;
                # re-anchoring there keeps the offsets of later rows exact.
                exact_step = Fraction(step)
                floored = math.floor(starts.anchor / exact_step) * exact_step
                starts.set_anchor(floored)
                start = starts.parse(start_text, line)
                base = starts.to_axis(floored)
                may_extend_back = True
            else:
                base = 0.0
        relative = start - base
        if relative < 0 and not may_extend_back:
            raise TraceError(name, line, _before_origin(starts, start_text, base))
        begin = math.floor(relative / step)
        end = max(math.floor((relative + duration) / step), begin + 1)
        lowest = 0 if not may_extend_back or counter.first is None else counter.first
        if max(end, counter.last) - min(begin, lowest) > MAX_STEPS:
            raise TraceError(
                name,
                line,
                f"the trace would span more than {MAX_STEPS} steps of {step:g} s; "
                f"check this row's start and duration_s, got {start_text!r}, {duration_text!r}",
            )
        counter.add(begin, end)
        streams += 1
        stream_seconds += duration
    if base is None or counter.first is None:
        return RealtimeLoad(
            start_epoch=0.0 if origin is None else float(origin),
            step_s=step,
            active=np.zeros(0, dtype=np.float64),
            arrivals=np.zeros(0, dtype=np.int64),
            streams=0,
            stream_seconds=0.0,
        )
    first = counter.first if may_extend_back else 0
    window = slice(first - counter.lo, counter.last - counter.lo + 1)
    active: FloatArray = np.cumsum(counter.diff[window]).astype(np.float64)
    arrivals: IntArray = counter.starts[window].copy()
    return RealtimeLoad(
        start_epoch=starts.to_epoch(Fraction(base) + first * Fraction(step)),
        step_s=step,
        active=active,
        arrivals=arrivals,
        streams=streams,
        stream_seconds=stream_seconds,
    )


def iter_async_trace(
    path: str | os.PathLike[str], *, origin: float | None = None
) -> Iterator[Job]:
    """Stream the jobs of an async trace, one :class:`Job` at a time.

    The arguments are checked at once; the file is opened on the first ``next()`` and
    closed when the iterator is exhausted or discarded, and format errors surface while
    iterating, at the row that has them. Sorting is checked as rows go by, because the
    simulator queues jobs in the order it receives them.

    :param path: The CSV file (columns ``arrival`` and ``processing_s``).
    :param origin: What ``arrival_s = 0`` means: epoch seconds for ISO traces, a value on the
        trace's axis for numeric ones. Default: the first arrival for ISO traces (see
        :func:`async_trace_origin`), 0 for numeric ones. Rows before it are an error.
    :raises TraceError: While iterating, at the first row that breaks the format or the order.
    :raises DeepgramScalingConfigError: ``origin`` is not usable.
    """
    _check_origin(origin)
    return _iter_async(path, None if origin is None else float(origin))


def _iter_async(path: str | os.PathLike[str], origin: float | None) -> Iterator[Job]:
    name = _file_name(path)
    arrivals = _TimeColumn(name, "arrival", origin)
    base: float | None = None
    previous: float | None = None
    previous_line = 0
    for line, (arrival_text, processing_text) in _rows(path, ("arrival", "processing_s")):
        arrival = arrivals.parse(arrival_text, line)
        processing = _positive(processing_text, "processing_s", name, line)
        if previous is not None and arrival < previous:
            raise TraceError(
                name,
                line,
                f"rows must be sorted by arrival: this arrival is earlier than line "
                f"{previous_line}'s, got {arrival_text!r}",
            )
        previous, previous_line = arrival, line
        if base is None:
            # Axis 0 is the first ISO arrival itself, or 0 on a numeric trace's axis.
            base = 0.0 if origin is None else arrivals.to_axis(origin)
        if arrival < base:
            raise TraceError(name, line, _before_origin(arrivals, arrival_text, base))
        yield Job(arrival_s=arrival - base, processing_s=processing)


def async_trace_origin(path: str | os.PathLike[str]) -> float:
    """The default origin of an async trace, reading only the header and first row.

    The simulator needs it to place the trace on the wall clock (schedules, working hours)
    before it starts streaming jobs.

    :param path: The CSV file (columns ``arrival`` and ``processing_s``).
    :returns: The first arrival in epoch seconds for ISO traces; 0.0 for numeric traces and
        for a trace without rows.
    :raises TraceError: The header or the first row's arrival breaks the format.
    """
    name = _file_name(path)
    with closing(_rows(path, ("arrival", "processing_s"))) as rows:
        for line, (arrival_text, _processing) in rows:
            column = _TimeColumn(name, "arrival")
            column.parse(arrival_text, line)
            return float(column.anchor)
    return 0.0


# --------------------------------------------------------------------------------------
# Generating
# --------------------------------------------------------------------------------------

_HOUR_S = 3600.0
_DAY_S = 86400.0
_CHUNK_S = 3600.0  # traffic drawn and written per iteration: memory per chunk stays small
_MS_PER_STREAM = int(MAX_STREAM_S * 1000)
_MIN_MS = 1000  # no generated call or job is shorter than one second

#: contact-centre: default peak arrival rate (streams per hour at the busiest minute).
CONTACT_CENTRE_PEAK_PER_HOUR = 1200.0
#: contact-centre: the day curve, two bumps (hour of local day, width in hours, height) ...
CONTACT_CENTRE_BUMPS = ((10.5, 1.5, 1.0), (14.5, 1.8, 0.85))
#: ... over a night floor, as a fraction of the peak rate.
CONTACT_CENTRE_NIGHT_FLOOR = 0.03
#: contact-centre: Saturday and Sunday traffic as a fraction of a weekday's.
CONTACT_CENTRE_WEEKEND_FACTOR = 0.25
#: Call durations (contact-centre and flat): lognormal median (s) and sigma.
CALL_MEDIAN_S = 240.0
CALL_SIGMA = 0.9
#: flat: default arrival rate (streams per hour).
FLAT_PER_HOUR = 600.0
#: batch-uploads: mean bursts per working day, spread over working hours (local time).
BATCH_BURSTS_PER_WORKDAY = 4.0
BATCH_WORK_HOURS = (8.0, 18.0)
#: batch-uploads: jobs per burst, lognormal median and sigma.
BATCH_SIZE_MEDIAN = 200.0
BATCH_SIZE_SIGMA = 0.8
#: batch-uploads: a burst's jobs arrive uniformly within a window of this many seconds.
BATCH_WINDOW_S = (60.0, 300.0)
#: batch-uploads: default trickle of single uploads (jobs per hour, around the clock).
BATCH_TRICKLE_PER_HOUR = 20.0
#: batch-uploads: processing time per job, lognormal median (s) and sigma.
BATCH_PROCESSING_MEDIAN_S = 40.0
BATCH_PROCESSING_SIGMA = 0.7


def _bumps(hours: FloatArray) -> FloatArray:
    total: FloatArray = np.zeros_like(hours)
    for centre, width, height in CONTACT_CENTRE_BUMPS:
        total += height * np.exp(-0.5 * ((hours - centre) / width) ** 2)
    return total


_BUMPS_MAX = float(_bumps(np.linspace(0.0, 24.0, 24 * 60 + 1)).max())


def contact_centre_day_curve(hours: FloatArray) -> FloatArray:
    """The contact-centre rate at local hours of the day, as a fraction of the peak (0-1].

    Two smooth bumps, late morning and mid-afternoon with a shallow lunch dip between
    them, over a low night floor: the shape contact-centre workforce planning commonly
    forecasts per interval. Public so tests and plots can show the assumed shape.

    :param hours: Local hours of the day, 0 <= h < 24.
    """
    # The maximum was found on a one-minute grid; clip so thinning never sees a value > 1.
    bumps = np.minimum(_bumps(np.asarray(hours, dtype=np.float64)) / _BUMPS_MAX, 1.0)
    shape: FloatArray = CONTACT_CENTRE_NIGHT_FLOOR + (1.0 - CONTACT_CENTRE_NIGHT_FLOOR) * bumps
    return shape


def _local_parts(local_s: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Hours of the day and a weekend mask for local epoch seconds."""
    days = np.floor(local_s / _DAY_S)
    hours: FloatArray = (local_s - days * _DAY_S) / _HOUR_S
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    weekend: npt.NDArray[np.bool_] = weekday >= 5
    return hours, weekend


def _split_streams(start_ms: IntArray, duration_ms: IntArray) -> tuple[IntArray, IntArray]:
    """Split calls longer than the stream limit into consecutive reconnecting streams."""
    pieces = -(-duration_ms // _MS_PER_STREAM)  # ceiling division: >= 1 per call
    first = np.repeat(np.cumsum(pieces) - pieces, pieces)
    index = np.arange(int(pieces.sum()), dtype=np.int64) - first
    starts: IntArray = np.repeat(start_ms, pieces) + index * _MS_PER_STREAM
    durations: IntArray = np.minimum(
        np.repeat(duration_ms, pieces) - index * _MS_PER_STREAM, _MS_PER_STREAM
    )
    return starts, durations


def _to_ms(seconds: FloatArray) -> IntArray:
    millis: IntArray = np.floor(seconds * 1000.0).astype(np.int64)
    return millis


def _durations_ms(seconds: FloatArray) -> IntArray:
    millis: IntArray = np.maximum(np.rint(seconds * 1000.0), _MIN_MS).astype(np.int64)
    return millis


# A chunk source: given [t0, t1) in seconds since the trace start, the rows it produces as
# (start ms since the trace start, duration ms), in any order.
_Chunk = Callable[[float, float], tuple[IntArray, IntArray]]


def _contact_centre(rng: np.random.Generator, peak: float, local_start_s: float) -> _Chunk:
    def chunk(t0: float, t1: float) -> tuple[IntArray, IntArray]:
        # Thinning (Lewis-Shedler): candidates at the peak rate, each kept with probability
        # rate(t) / peak, which is an inhomogeneous Poisson process with rate(t).
        times = np.sort(rng.uniform(t0, t1, rng.poisson(peak * (t1 - t0) / _HOUR_S)))
        hours, weekend = _local_parts(times + local_start_s)
        factor = contact_centre_day_curve(hours) * np.where(
            weekend, CONTACT_CENTRE_WEEKEND_FACTOR, 1.0
        )
        times = times[rng.uniform(0.0, 1.0, times.size) < factor]
        durations = rng.lognormal(math.log(CALL_MEDIAN_S), CALL_SIGMA, times.size)
        return _split_streams(_to_ms(times), _durations_ms(durations))

    return chunk


def _flat(rng: np.random.Generator, rate: float) -> _Chunk:
    def chunk(t0: float, t1: float) -> tuple[IntArray, IntArray]:
        times = rng.uniform(t0, t1, rng.poisson(rate * (t1 - t0) / _HOUR_S))
        durations = rng.lognormal(math.log(CALL_MEDIAN_S), CALL_SIGMA, times.size)
        return _split_streams(_to_ms(times), _durations_ms(durations))

    return chunk


def _batch_uploads(
    rng: np.random.Generator, trickle: float, local_start_s: float, horizon_s: float
) -> _Chunk:
    open_h, close_h = BATCH_WORK_HOURS
    burst_rate = BATCH_BURSTS_PER_WORKDAY / (close_h - open_h)  # per working hour

    def chunk(t0: float, t1: float) -> tuple[IntArray, IntArray]:
        candidates = np.sort(rng.uniform(t0, t1, rng.poisson(burst_rate * (t1 - t0) / _HOUR_S)))
        hours, weekend = _local_parts(candidates + local_start_s)
        bursts = candidates[~weekend & (hours >= open_h) & (hours < close_h)]
        sizes = np.maximum(
            np.rint(rng.lognormal(math.log(BATCH_SIZE_MEDIAN), BATCH_SIZE_SIGMA, bursts.size)),
            1,
        ).astype(np.int64)
        windows = rng.uniform(BATCH_WINDOW_S[0], BATCH_WINDOW_S[1], bursts.size)
        spread = rng.uniform(0.0, 1.0, int(sizes.sum())) * np.repeat(windows, sizes)
        burst_jobs = np.repeat(bursts, sizes) + spread
        singles = rng.uniform(t0, t1, rng.poisson(trickle * (t1 - t0) / _HOUR_S))
        times = np.concatenate([burst_jobs, singles])
        times = times[times < horizon_s]
        processing = rng.lognormal(
            math.log(BATCH_PROCESSING_MEDIAN_S), BATCH_PROCESSING_SIGMA, times.size
        )
        return _to_ms(times), _durations_ms(processing)

    return chunk


def _write_rows(handle: TextIO, epoch_ms: int, starts: IntArray, values: IntArray) -> int:
    """Write rows as ``ISO time with milliseconds,seconds with 3 decimals``."""
    gmtime, strftime = time.gmtime, time.strftime
    batch = 8192
    for offset in range(0, starts.size, batch):
        lines = []
        for start, value in zip(
            (starts[offset : offset + batch] + epoch_ms).tolist(),
            values[offset : offset + batch].tolist(),
            strict=True,
        ):
            seconds, millis = divmod(start, 1000)
            stamp = strftime("%Y-%m-%dT%H:%M:%S", gmtime(seconds))
            lines.append(f"{stamp}.{millis:03d}Z,{value // 1000}.{value % 1000:03d}\n")
        handle.writelines(lines)
    return int(starts.size)


def _write_sorted(
    out: str | os.PathLike[str], header: str, chunk: _Chunk, horizon_s: float, epoch_ms: int
) -> int:
    """Draw chunk after chunk and write the rows in time order.

    A chunk may produce rows that start after its end (reconnections of a long call, the
    tail of a burst); they are carried over and merged into the next chunk's rows, so the
    file is sorted without ever holding more than a chunk and its spill-over.
    """
    carry_starts: IntArray = np.zeros(0, dtype=np.int64)
    carry_values: IntArray = np.zeros(0, dtype=np.int64)
    written = 0
    with open(out, "w", encoding="utf-8", newline="") as handle:
        handle.write(header + "\n")
        t0 = 0.0
        while t0 < horizon_s:
            t1 = min(t0 + _CHUNK_S, horizon_s)
            new_starts, new_values = chunk(t0, t1)
            starts = np.concatenate([carry_starts, new_starts])
            values = np.concatenate([carry_values, new_values])
            order = np.argsort(starts, kind="stable")
            starts, values = starts[order], values[order]
            # Later chunks only produce rows at or after t1, so everything before it is final.
            cut = int(np.searchsorted(starts, math.floor(t1 * 1000.0), side="left"))
            written += _write_rows(handle, epoch_ms, starts[:cut], values[:cut])
            carry_starts, carry_values = starts[cut:], values[cut:]
            t0 = t1
        written += _write_rows(handle, epoch_ms, carry_starts, carry_values)
    return written


def generate_trace(
    kind: str,
    *,
    days: float,
    seed: int,
    out: str | os.PathLike[str],
    start: str = "2026-03-02T00:00:00Z",
    peak_per_hour: float | None = None,
) -> int:
    """Write a seeded synthetic trace, for trying strategies before real logs exist.

    Every shape below is an assumption meant to be replaced by a customer's own trace; the
    module constants named here hold the values. Times are written as ISO-8601 UTC with
    milliseconds, durations in seconds with three decimals; no call or job is shorter than
    one second. The same arguments give a byte-identical file (numpy's
    ``default_rng(seed)``, drawn an hour at a time in a fixed order). The day curve and
    weekends follow the local clock of ``start``'s UTC offset, so
    ``2026-03-02T00:00:00-05:00`` puts the busy hours in US Eastern time.

    ``contact-centre`` (real-time): arrivals are an inhomogeneous Poisson process, drawn by
    thinning, as contact-centre forecasting and Erlang staffing models assume; the rate
    follows :func:`contact_centre_day_curve` (peaks late morning and mid-afternoon, 3% of
    the peak at night) and drops to 25% on Saturdays and Sundays. ``peak_per_hour`` sets
    the peak (default 1200 streams/hour). Call lengths are lognormal, median 240 s, sigma
    0.9, a common fit for call-centre handling times. Calls longer than
    :data:`MAX_STREAM_S` reconnect: they become consecutive streams of at most 1800 s.

    ``batch-uploads`` (async): on weekdays a Poisson number of bursts (mean 4 per day,
    uniform over 08:00-18:00 local); each uploads a lognormal number of jobs (median 200,
    sigma 0.8) spread uniformly over a 1-5 minute window. Around the clock a trickle of
    single uploads arrives as a Poisson process at ``peak_per_hour`` (default 20 jobs/hour).
    ``processing_s`` is lognormal with median 40 s (an assumption for one Deepgram
    transcription of a typical recording on one GPU slot) and sigma 0.7.

    ``flat`` (real-time): a homogeneous Poisson process at ``peak_per_hour`` (default 600
    streams/hour) with the contact-centre call lengths and reconnection; a baseline without
    daily shape, useful for isolating a strategy's steady-state behaviour.

    :param kind: One of :data:`GENERATOR_KINDS`.
    :param days: Length of the period in days (fractions allowed), > 0. Arrivals fall in
        ``[start, start + days)``; reconnections of calls begun within it may run past it.
    :param seed: Seed for ``numpy.random.default_rng``, an integer >= 0.
    :param out: File to write (overwritten); its directory must exist.
    :param start: ISO-8601 time of the trace's beginning; without an offset it is UTC.
    :param peak_per_hour: The rate parameter of the kind, as described above; > 0.
    :returns: The number of rows written, header excluded.
    :raises DeepgramScalingConfigError: An argument is not usable.
    """
    problems: list[str] = []
    if kind not in GENERATOR_KINDS:
        problems.append(f"kind must be one of {', '.join(GENERATOR_KINDS)}, got {kind!r}")
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not (
        math.isfinite(days) and days > 0
    ):
        problems.append(f"days must be a number > 0, got {days!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(f"seed must be an integer >= 0, got {seed!r}")
    if peak_per_hour is not None and (
        isinstance(peak_per_hour, bool)
        or not isinstance(peak_per_hour, (int, float))
        or not (math.isfinite(peak_per_hour) and peak_per_hour > 0)
    ):
        problems.append(f"peak_per_hour must be a number > 0, got {peak_per_hour!r}")
    begin = _parse_iso(start) if isinstance(start, str) and _number(start) is None else None
    if begin is None:
        problems.append(f"start must be an ISO-8601 time, got {start!r}")
    if problems or begin is None:
        raise DeepgramScalingConfigError(problems)

    rng = np.random.default_rng(seed)
    horizon_s = float(days) * _DAY_S
    epoch_ms = (begin - _EPOCH) // timedelta(milliseconds=1)
    offset = begin.utcoffset()
    # Epoch seconds of the start as read on its own local clock: what the day curve uses.
    local_start_s = epoch_ms / 1000.0 + (offset.total_seconds() if offset else 0.0)
    if kind == "contact-centre":
        rate = CONTACT_CENTRE_PEAK_PER_HOUR if peak_per_hour is None else float(peak_per_hour)
        chunk = _contact_centre(rng, rate, local_start_s)
        header = "start,duration_s"
    elif kind == "batch-uploads":
        rate = BATCH_TRICKLE_PER_HOUR if peak_per_hour is None else float(peak_per_hour)
        chunk = _batch_uploads(rng, rate, local_start_s, horizon_s)
        header = "arrival,processing_s"
    else:
        rate = FLAT_PER_HOUR if peak_per_hour is None else float(peak_per_hour)
        chunk = _flat(rng, rate)
        header = "start,duration_s"
    return _write_sorted(out, header, chunk, horizon_s, epoch_ms)
