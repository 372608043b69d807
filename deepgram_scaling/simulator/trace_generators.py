"""Seeded synthetic traces, for trying strategies before a customer's own logs exist.

The generators write the CSV formats that ``traces.py`` describes and reads, so synthetic
and real load go through one reader. Every shape is an assumption meant to be replaced by a
real trace; the constants below hold the values and :func:`generate_trace` describes them.
Traffic is drawn and written an hour at a time, so memory does not grow with the period.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TextIO

import numpy as np
import numpy.typing as npt

from deepgram_scaling.errors import DeepgramScalingConfigError

from .trace_csv import EPOCH, FloatArray, IntArray, parse_iso, parse_number

#: SageMaker's 30-minute limit per bidirectional stream: a longer call has to reconnect, so
#: the generators split it into consecutive streams of at most this many seconds.
MAX_STREAM_S = 1800.0

#: The kinds :func:`generate_trace` knows.
GENERATOR_KINDS = ("contact-centre", "batch-uploads", "flat")

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
    begin = _check_arguments(kind, days, seed, start, peak_per_hour)
    rng = np.random.default_rng(seed)
    horizon_s = float(days) * _DAY_S
    epoch_ms = (begin - EPOCH) // timedelta(milliseconds=1)
    offset = begin.utcoffset()
    # Epoch seconds of the start as read on its own local clock: what the day curve uses.
    local_start_s = epoch_ms / 1000.0 + (offset.total_seconds() if offset else 0.0)
    chunk, header = _source(kind, rng, peak_per_hour, local_start_s, horizon_s)
    return _write_sorted(out, header, chunk, horizon_s, epoch_ms)


def _check_arguments(kind: str, days: float, seed: int, start: str,
                     peak_per_hour: float | None) -> datetime:
    """Every problem with :func:`generate_trace`'s arguments at once; returns ``start``."""
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
    begin = parse_iso(start) if isinstance(start, str) and parse_number(start) is None else None
    if begin is None:
        problems.append(f"start must be an ISO-8601 time, got {start!r}")
    if problems or begin is None:
        raise DeepgramScalingConfigError(problems)
    return begin


def _source(kind: str, rng: np.random.Generator, peak_per_hour: float | None,
            local_start_s: float, horizon_s: float) -> tuple[_Chunk, str]:
    """The chunk source of ``kind`` at its rate, and the header of the file it writes."""
    if kind == "contact-centre":
        rate = CONTACT_CENTRE_PEAK_PER_HOUR if peak_per_hour is None else float(peak_per_hour)
        return _contact_centre(rng, rate, local_start_s), "start,duration_s"
    if kind == "batch-uploads":
        rate = BATCH_TRICKLE_PER_HOUR if peak_per_hour is None else float(peak_per_hour)
        return _batch_uploads(rng, rate, local_start_s, horizon_s), "arrival,processing_s"
    rate = FLAT_PER_HOUR if peak_per_hour is None else float(peak_per_hour)
    return _flat(rng, rate), "start,duration_s"
