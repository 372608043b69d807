"""Trace readers and generators of the strategy simulator.

The readers are checked against hand-computed step counts and against a brute-force
recount of the stated counting rule; the generators for determinism and for the shape their
docstrings promise. Everything here runs on small files, in well under a few seconds.
"""

from __future__ import annotations

import csv
import math
import tempfile
import tracemalloc
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepgram_scaling.errors import DeepgramScalingConfigError
from deepgram_scaling.simulator.traces import (
    GENERATOR_KINDS,
    MAX_STREAM_S,
    Job,
    TraceError,
    async_trace_origin,
    contact_centre_day_curve,
    generate_trace,
    iter_async_trace,
    read_realtime_trace,
)

# 2026-03-02T09:00:00Z, a Monday: a multiple of every step used below.
NINE = datetime(2026, 3, 2, 9, tzinfo=timezone.utc).timestamp()


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- real-time


def test_realtime_numeric_exact_steps(tmp_path: Path) -> None:
    trace = write(
        tmp_path / "day.csv",
        "start,duration_s\n"
        "0,10\n"  # exactly step 0: ends on the boundary of step 1
        "5,20\n"  # steps 0 and 1: open at 10 and at 20, closed by 30
        "10,0.5\n"  # opens and closes within step 1: still counted there
        "19.999,0.002\n"  # crosses into step 2 by a millisecond: counted in step 1 only
        "30,30\n",  # steps 3, 4, 5; its end opens step 6, the last one
    )
    load = read_realtime_trace(trace)
    assert load.start_epoch == 0.0
    assert load.step_s == 10.0
    assert load.active.dtype == np.float64
    assert load.arrivals.dtype == np.int64
    assert load.active.tolist() == [2, 3, 0, 1, 1, 1, 0]
    assert load.arrivals.tolist() == [2, 2, 0, 1, 0, 0, 0]
    assert load.streams == 5
    assert load.stream_seconds == pytest.approx(60.502)


def test_realtime_iso_matches_numeric_and_ignores_extra_columns(tmp_path: Path) -> None:
    trace = write(
        tmp_path / "day.csv",
        "call_id,duration_s,start\n"
        "a,10,2026-03-02T09:00:03Z\n"
        "b,20,2026-03-02T09:00:08\n"  # naive: UTC
        "c,0.5,2026-03-02T10:00:13+01:00\n"  # 09:00:13Z
        "d,30,2026-03-02T09:00:33.000Z\n",
    )
    load = read_realtime_trace(trace)
    # Step 0 is the first start floored to the step: 09:00:00, on the wall clock's grid.
    assert load.start_epoch == NINE
    assert load.active.tolist() == [2, 2, 0, 1, 1, 1, 0]
    assert load.arrivals.tolist() == [2, 1, 0, 1, 0, 0, 0]
    numeric = read_realtime_trace(
        write(tmp_path / "n.csv", "start,duration_s\n3,10\n8,20\n13,0.5\n33,30\n")
    )
    assert numeric.active.tolist() == load.active.tolist()
    assert numeric.arrivals.tolist() == load.arrivals.tolist()


def test_realtime_unsorted_iso_extends_back_to_the_earliest_start(tmp_path: Path) -> None:
    # Steps of 1 s and a first row 5000 s after the second: the counter grows at its front.
    trace = write(
        tmp_path / "day.csv",
        "start,duration_s\n2026-03-02T10:23:20Z,2\n2026-03-02T09:00:00.5Z,2\n",
    )
    load = read_realtime_trace(trace, step_s=1.0)
    assert load.start_epoch == NINE
    assert load.active.size == 5003
    assert load.active[:2].tolist() == [1, 1]
    assert load.active[5000:].tolist() == [1, 1, 0]
    assert load.active.sum() == 4
    assert load.arrivals[0] == 1 and load.arrivals[5000] == 1


def test_realtime_explicit_origin(tmp_path: Path) -> None:
    numeric = write(tmp_path / "n.csv", "start,duration_s\n3,10\n")
    shifted = read_realtime_trace(numeric, origin=-10.0)
    assert shifted.start_epoch == -10.0
    assert shifted.active.tolist() == [0, 1, 0]
    iso = write(tmp_path / "iso.csv", "start,duration_s\n2026-03-02T09:00:03Z,10\n")
    load = read_realtime_trace(iso, origin=NINE - 60)
    assert load.start_epoch == NINE - 60
    assert load.active.tolist() == [0, 0, 0, 0, 0, 0, 1, 0]
    with pytest.raises(TraceError, match=r"^iso\.csv:2: start is before the origin"):
        read_realtime_trace(iso, origin=NINE + 60)
    with pytest.raises(TraceError, match=r"^n\.csv:2: start is before the origin"):
        read_realtime_trace(numeric, origin=5.0)


def test_realtime_header_only_and_bad_parameters(tmp_path: Path) -> None:
    load = read_realtime_trace(write(tmp_path / "e.csv", "start,duration_s\n"))
    assert load.active.size == 0 and load.arrivals.size == 0 and load.streams == 0
    for step in (0, -1, math.nan, math.inf):
        with pytest.raises(DeepgramScalingConfigError, match="step_s must be a number > 0"):
            read_realtime_trace(tmp_path / "e.csv", step_s=step)
    with pytest.raises(DeepgramScalingConfigError, match="origin must be a finite number"):
        read_realtime_trace(tmp_path / "e.csv", origin=math.nan)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "start,duration_s\n0,10\n5,abc\n",
            "day.csv:3: duration_s must be a number > 0, got 'abc'",
        ),
        ("start,duration_s\n0,0\n", "day.csv:2: duration_s must be a number > 0, got '0'"),
        ("start,duration_s\n0,-4\n", "day.csv:2: duration_s must be a number > 0, got '-4'"),
        ("start,duration_s\n0,nan\n", "day.csv:2: duration_s must be a number > 0, got 'nan'"),
        ("start,duration_s\n0,\n", "day.csv:2: duration_s must be a number > 0, got ''"),
        (
            "start,duration_s\n0,10\n\n\nyesterday,10\n",  # blank lines still count
            "day.csv:5: start must be an ISO-8601 time or a number of seconds, "
            "got 'yesterday'",
        ),
        (
            "start,duration_s\n2026-03-02T09:00:00Z,10\n2026-03-02T09:00:01Z,4\n12.5,10\n",
            "day.csv:4: start is a number of seconds but line 2 used an ISO-8601 time; "
            "one file must use one form, got '12.5'",
        ),
        (
            "start,duration_s\n12.5,10\n2026-03-02T09:00:00Z,10\n",
            "day.csv:3: start is an ISO-8601 time but line 2 used a number of seconds; "
            "one file must use one form, got '2026-03-02T09:00:00Z'",
        ),
        (
            "start,dur\n0,10\n",
            "day.csv:1: missing required column 'duration_s' "
            "(required: start, duration_s; header has: start, dur)",
        ),
        (
            "duration_s,start\n10\n",
            "day.csv:2: missing value for start (the row has 1 fields, the header 2)",
        ),
        ("", "day.csv:1: empty file: expected a header row with columns start, duration_s"),
        (
            'start,duration_s,note\n0,10,"two\nlines"\n3,x\n',  # a quoted field spans lines
            "day.csv:4: duration_s must be a number > 0, got 'x'",
        ),
    ],
)
def test_realtime_malformed_rows_name_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(TraceError) as caught:
        read_realtime_trace(write(tmp_path / "day.csv", text))
    assert str(caught.value) == message
    assert isinstance(caught.value, DeepgramScalingConfigError)
    assert caught.value.file_name == "day.csv"
    assert caught.value.line == int(message.split(":")[1])


def test_realtime_refuses_a_span_beyond_max_steps(tmp_path: Path) -> None:
    trace = write(tmp_path / "day.csv", "start,duration_s\n0,10\n1e12,10\n")
    with pytest.raises(TraceError, match=r"^day\.csv:3: the trace would span more than"):
        read_realtime_trace(trace)


# -------------------------------------------------------------------------------- async


def test_async_iso_relative_to_first_arrival(tmp_path: Path) -> None:
    trace = write(
        tmp_path / "jobs.csv",
        "arrival,processing_s,customer\n"
        "2026-03-02T09:00:00.212Z,40,x\n"
        "2026-03-02T09:05:18.116Z,12.5,y\n"
        "2026-03-02T09:05:18.116Z,1,z\n",  # equal arrivals are sorted
    )
    assert async_trace_origin(trace) == NINE + 0.212
    assert list(iter_async_trace(trace)) == [
        Job(0.0, 40.0),
        Job(317.904, 12.5),
        Job(317.904, 1.0),
    ]
    shifted = list(iter_async_trace(trace, origin=NINE))
    assert [job.arrival_s for job in shifted] == [0.212, 318.116, 318.116]


def test_async_numeric_keeps_its_axis(tmp_path: Path) -> None:
    trace = write(tmp_path / "jobs.csv", "processing_s,arrival\n5,2.5\n6,2.5\n7,30\n")
    assert async_trace_origin(trace) == 0.0
    assert [(j.arrival_s, j.processing_s) for j in iter_async_trace(trace)] == [
        (2.5, 5.0),
        (2.5, 6.0),
        (30.0, 7.0),
    ]
    assert async_trace_origin(write(tmp_path / "empty.csv", "arrival,processing_s\n")) == 0.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "arrival,processing_s\n0,5\n10,5\n\n9.5,5\n",
            "jobs.csv:5: rows must be sorted by arrival: this arrival is earlier than "
            "line 3's, got '9.5'",
        ),
        (
            "arrival,processing_s\n2026-03-02T09:00:00Z,5\n2026-03-02T08:59:59Z,5\n",
            "jobs.csv:3: rows must be sorted by arrival: this arrival is earlier than "
            "line 2's, got '2026-03-02T08:59:59Z'",
        ),
        ("arrival,processing_s\n0,0\n", "jobs.csv:2: processing_s must be a number > 0, got '0'"),
        (
            "arrival,processing_s\n0,1\n1,2 s\n",
            "jobs.csv:3: processing_s must be a number > 0, got '2 s'",
        ),
        (
            "arrival,duration_s\n0,1\n",
            "jobs.csv:1: missing required column 'processing_s' "
            "(required: arrival, processing_s; header has: arrival, duration_s)",
        ),
    ],
)
def test_async_malformed_rows_name_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(TraceError) as caught:
        list(iter_async_trace(write(tmp_path / "jobs.csv", text)))
    assert str(caught.value) == message


def test_async_origin_errors(tmp_path: Path) -> None:
    trace = write(tmp_path / "jobs.csv", "arrival,processing_s\n5,1\n")
    with pytest.raises(TraceError, match=r"^jobs\.csv:2: arrival is before the origin"):
        list(iter_async_trace(trace, origin=6.0))
    with pytest.raises(DeepgramScalingConfigError, match="origin must be a finite number"):
        iter_async_trace(trace, origin=math.inf)  # checked before any row is read
    with pytest.raises(TraceError, match=r"^jobs\.csv:2: arrival must be an ISO-8601"):
        async_trace_origin(write(tmp_path / "jobs.csv", "arrival,processing_s\nsoon,1\n"))


# --------------------------------------------------------------------------- generators


@pytest.mark.parametrize("kind", GENERATOR_KINDS)
def test_generators_are_deterministic(tmp_path: Path, kind: str) -> None:
    def run(seed: int, name: str) -> int:
        return generate_trace(kind, days=0.5, seed=seed, out=tmp_path / name, peak_per_hour=200.0)

    first, again, other = run(7, "a.csv"), run(7, "b.csv"), run(8, "c.csv")
    a = (tmp_path / "a.csv").read_bytes()
    assert a == (tmp_path / "b.csv").read_bytes()
    assert a != (tmp_path / "c.csv").read_bytes()
    assert first == again == a.count(b"\n") - 1 > 0
    assert other == (tmp_path / "c.csv").read_bytes().count(b"\n") - 1


def read_rows(path: Path) -> list[tuple[datetime, float]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return [(datetime.fromisoformat(t.replace("Z", "+00:00")), float(v)) for t, v in rows[1:]]


def test_contact_centre_week_shape(tmp_path: Path) -> None:
    peak = 150.0
    count = generate_trace(
        "contact-centre", days=7, seed=3, out=tmp_path / "week.csv", peak_per_hour=peak
    )
    rows = read_rows(tmp_path / "week.csv")
    assert len(rows) == count
    assert [t for t, _ in rows] == sorted(t for t, _ in rows)
    assert max(d for _, d in rows) <= MAX_STREAM_S
    assert min(d for _, d in rows) >= 1.0
    per_day = Counter(t.date().isoweekday() for t, _ in rows)  # Monday = 1
    hours = np.linspace(0, 24, 24 * 60, endpoint=False)
    expected_weekday = peak * float(contact_centre_day_curve(hours).mean()) * 24
    weekdays = [per_day[d] for d in range(1, 6)]
    weekend = [per_day[6], per_day[7]]
    # Poisson noise is ~3% of a weekday here; reconnections add ~1-2%.
    for n in weekdays:
        assert 0.88 * expected_weekday < n < 1.12 * expected_weekday
    assert 3.0 < np.mean(weekdays) / np.mean(weekend) < 5.5
    # Busy late morning, quiet at night.
    weekday_hours = Counter(t.hour for t, _ in rows if t.isoweekday() <= 5)
    assert weekday_hours[10] > 10 * weekday_hours[3]


def test_contact_centre_follows_the_start_offset(tmp_path: Path) -> None:
    generate_trace(
        "contact-centre", days=1, seed=1, out=tmp_path / "east.csv",
        start="2026-03-02T00:00:00-05:00", peak_per_hour=300.0,
    )
    rows = read_rows(tmp_path / "east.csv")
    assert rows[0][0] >= datetime(2026, 3, 2, 5, tzinfo=timezone.utc)
    busiest = Counter(t.hour for t, _ in rows).most_common(1)[0][0]
    assert 14 <= busiest <= 21  # 09:00-16:00 in UTC-5


def test_long_calls_reconnect_in_consecutive_streams(tmp_path: Path) -> None:
    generate_trace("flat", days=1, seed=5, out=tmp_path / "flat.csv", peak_per_hour=2000.0)
    rows = read_rows(tmp_path / "flat.csv")
    full = {t for t, d in rows if d == MAX_STREAM_S}
    assert full  # lognormal(240 s, 0.9) exceeds 30 minutes for about 1% of calls
    starts = {t.timestamp() for t, _ in rows}
    continued = sum(1 for t in full if t.timestamp() + MAX_STREAM_S in starts)
    assert continued == len(full)


def test_flat_rate(tmp_path: Path) -> None:
    count = generate_trace("flat", days=1, seed=11, out=tmp_path / "flat.csv")
    expected = 600 * 24  # default rate; reconnections add about 1%
    assert expected - 5 * math.sqrt(expected) < count < 1.03 * expected + 5 * math.sqrt(expected)


def test_batch_uploads_shape(tmp_path: Path) -> None:
    count = generate_trace("batch-uploads", days=7, seed=2, out=tmp_path / "jobs.csv")
    jobs = list(iter_async_trace(tmp_path / "jobs.csv"))  # raises if not sorted
    assert len(jobs) == count
    assert (tmp_path / "jobs.csv").read_text().startswith("arrival,processing_s\n")
    processing = np.array([job.processing_s for job in jobs])
    assert 32 < np.median(processing) < 48
    # Bursts: the busiest 5 minutes hold far more than the trickle (20/h ~ 1.7 per 5 min).
    arrivals = np.array([job.arrival_s for job in jobs])
    per_window = np.bincount((arrivals // 300).astype(np.int64))
    assert per_window.max() > 30
    origin = async_trace_origin(tmp_path / "jobs.csv")
    days = Counter(
        datetime.fromtimestamp(origin + a, timezone.utc).isoweekday() for a in arrivals
    )
    assert min(days[d] for d in range(1, 6)) > max(days[6], days[7])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "chat"}, "kind must be one of contact-centre, batch-uploads, flat, got 'chat'"),
        ({"days": 0}, "days must be a number > 0, got 0"),
        ({"days": -1.5}, "days must be a number > 0, got -1.5"),
        ({"days": math.nan}, "days must be a number > 0, got nan"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"peak_per_hour": 0.0}, "peak_per_hour must be a number > 0, got 0.0"),
        ({"start": "3600"}, "start must be an ISO-8601 time, got '3600'"),
        ({"start": "monday"}, "start must be an ISO-8601 time, got 'monday'"),
    ],
)
def test_generator_arguments(tmp_path: Path, kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"kind": "flat", "days": 1.0, "seed": 0}
    arguments.update(kwargs)
    with pytest.raises(DeepgramScalingConfigError) as caught:
        generate_trace(out=tmp_path / "x.csv", **arguments)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert not (tmp_path / "x.csv").exists()


# ------------------------------------------------------------------ streaming and memory


def test_two_day_trace_is_binned_by_time_not_by_row(tmp_path: Path) -> None:
    rows = generate_trace("contact-centre", days=2, seed=4, out=tmp_path / "two.csv")
    load = read_realtime_trace(tmp_path / "two.csv", step_s=60.0)
    two_days = 2 * 24 * 60
    assert load.streams == rows > 5 * load.active.size
    # From the first minute of the trace to the end of its last call (at most a few hours on).
    assert two_days - 10 <= load.active.size <= two_days + 4 * 60
    assert load.arrivals.size == load.active.size
    assert load.arrivals.sum() == rows


def test_reading_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    peaks = []
    for rate in (200.0, 2200.0):  # ~500 and ~5500 rows over the same three hours
        path = tmp_path / f"r{rate:.0f}.csv"
        generate_trace("flat", days=0.125, seed=9, out=path, peak_per_hour=rate)
        tracemalloc.start()
        try:
            read_realtime_trace(path)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    # Keeping even one float per extra row would cost 5000 * 24 bytes = 120 kB.
    assert peaks[1] - peaks[0] < 60_000


# ------------------------------------------------------------------------------ property

ROWS = st.lists(
    st.tuples(st.integers(0, 20_000), st.integers(1, 8_000)),  # quarter seconds: exact floats
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, step=st.sampled_from([1.0, 2.5, 10.0]), iso=st.booleans())
def test_active_matches_a_brute_force_recount(
    rows: list[tuple[int, int]], step: float, iso: bool
) -> None:
    """A stream counts in a step when it is open at the step's end, or started in it.

    That is the difference-array rule restated per step; checking it by brute force also
    exercises the counter's growth at both ends (up to 7000 steps, rows in any order).
    """
    starts = np.array([q / 4 for q, _ in rows])
    durations = np.array([q / 4 for _, q in rows])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.csv"
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("start,duration_s\n")
            for start, duration in zip(starts.tolist(), durations.tolist(), strict=True):
                when = (
                    datetime.fromtimestamp(NINE + start, timezone.utc).isoformat()
                    if iso
                    else repr(start)
                )
                handle.write(f"{when},{duration!r}\n")
        load = read_realtime_trace(path, step_s=step)

    begins = np.floor(starts / step).astype(np.int64)
    ends = np.maximum(np.floor((starts + durations) / step).astype(np.int64), begins + 1)
    first = int(begins.min()) if iso else 0  # ISO: the earliest start, floored
    assert load.start_epoch == (NINE if iso else 0.0) + first * step
    assert load.active.size == ends.max() + 1 - first
    steps = np.arange(first, ends.max() + 1)
    boundary = (steps + 1)[:, None] * step
    open_at_end = (starts[None, :] < boundary) & (boundary <= (starts + durations)[None, :])
    started_here = begins[None, :] == steps[:, None]
    assert load.active.tolist() == (open_at_end | started_here).sum(axis=1).tolist()
    assert load.arrivals.tolist() == started_here.sum(axis=1).tolist()
    assert load.streams == len(rows)
    assert load.stream_seconds == pytest.approx(float(durations.sum()))
    # Each stream's count of steps is within one step of its duration.
    assert abs(load.active.sum() * step - load.stream_seconds) < load.streams * step
