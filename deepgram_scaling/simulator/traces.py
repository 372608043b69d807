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

The synthetic generators live in ``trace_generators.py`` and the CSV parsing shared by the
readers in ``trace_csv.py``; this module's names are the public ones for both.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .trace_csv import (
    ISO,
    FloatArray,
    IntArray,
    TimeColumn,
    TraceError,
    before_origin,
    check_origin,
    check_step,
    csv_rows,
    file_name,
    positive,
)
from .trace_generators import (
    GENERATOR_KINDS,
    MAX_STREAM_S,
    contact_centre_day_curve,
    generate_trace,
)

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

#: Upper bound on the steps one real-time trace may span (about 6 years at 10 s). A stray
#: row dated decades away would otherwise make the reader allocate gigabytes before failing.
MAX_STEPS = 20_000_000


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
    check_step(step_s)
    check_origin(origin)
    step = float(step_s)
    name = file_name(path)
    starts = TimeColumn(name, "start", origin)
    counter = _StepCounter()
    base: float | None = None  # the axis position of step 0, set at the first row
    may_extend_back = False
    streams = 0
    stream_seconds = 0.0
    for line, (start_text, duration_text) in csv_rows(path, ("start", "duration_s")):
        start = starts.parse(start_text, line)
        duration = positive(duration_text, "duration_s", name, line)
        if base is None:
            base, may_extend_back = _step_zero(starts, origin, step)
            if may_extend_back:
                start = starts.parse(start_text, line)  # on the new anchor
        relative = start - base
        if relative < 0 and not may_extend_back:
            raise TraceError(name, line, before_origin(starts, start_text, base))
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
        return _no_load(origin, step)
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


def _step_zero(starts: TimeColumn, origin: float | None, step: float) -> tuple[float, bool]:
    """Place step 0 on the time axis once the first row is parsed. Returns its position and
    whether later rows may start before it (the default origin of an ISO trace, which the
    reader moves back when an unsorted file makes it necessary)."""
    if origin is not None:
        return starts.to_axis(origin), False
    if starts.form == ISO:
        # The first start floored to a whole step, so steps follow the wall clock;
        # re-anchoring there keeps the offsets of later rows exact.
        exact_step = Fraction(step)
        floored = math.floor(starts.anchor / exact_step) * exact_step
        starts.set_anchor(floored)
        return starts.to_axis(floored), True
    return 0.0, False


def _no_load(origin: float | None, step: float) -> RealtimeLoad:
    """The load of a trace without rows."""
    return RealtimeLoad(
        start_epoch=0.0 if origin is None else float(origin),
        step_s=step,
        active=np.zeros(0, dtype=np.float64),
        arrivals=np.zeros(0, dtype=np.int64),
        streams=0,
        stream_seconds=0.0,
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
    check_origin(origin)
    return _iter_async(path, None if origin is None else float(origin))


def _iter_async(path: str | os.PathLike[str], origin: float | None) -> Iterator[Job]:
    name = file_name(path)
    arrivals = TimeColumn(name, "arrival", origin)
    base: float | None = None
    previous: float | None = None
    previous_line = 0
    for line, (arrival_text, processing_text) in csv_rows(path, ("arrival", "processing_s")):
        arrival = arrivals.parse(arrival_text, line)
        processing = positive(processing_text, "processing_s", name, line)
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
            raise TraceError(name, line, before_origin(arrivals, arrival_text, base))
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
    name = file_name(path)
    with closing(csv_rows(path, ("arrival", "processing_s"))) as rows:
        for line, (arrival_text, _processing) in rows:
            column = TimeColumn(name, "arrival")
            column.parse(arrival_text, line)
            return float(column.anchor)
    return 0.0
