"""``make bench`` (``simulator/bench.py``) on a small input: one 1-day trace, one simulated
day. The figures it prints are timings, so the test checks what they describe (the stream
and step counts, the memory per stream, the simulated fleet) rather than their values."""

from __future__ import annotations

import re

from deepgram_scaling.simulator import bench
from deepgram_scaling.simulator.traces import read_realtime_trace

STEPS_PER_DAY = 8640  # 10-second steps


def test_three_pool_setup_is_the_example_apps_mixed_fleet():
    # given the benchmark's endpoint
    setup = bench.three_pool_setup()

    # then it holds the example's three pools with their measured capacities and a mixed-fleet
    # policy whose metric math reads every pool, beside the high-resolution companion
    assert setup.pools == ("ml.g6.2xlarge", "ml.g6e.2xlarge", "ml.g5.2xlarge")
    assert setup.declared_capacity == {"ml.g6.2xlarge": 8.0, "ml.g6e.2xlarge": 20.0,
                                       "ml.g5.2xlarge": 6.0}
    mixed, companion = setup.target_tracking
    assert (mixed.target, companion.metric) == (0.75, "ConcurrentRequestsPerModel")
    expressions = " ".join(str(q) for q in mixed.queries)
    assert all(pool in expressions for pool in setup.pools)


def test_bench_reads_a_trace_and_simulates_a_day(capsys, tmp_path):
    # when the bench runs on one 1-day trace and one simulated day
    bench.main(trace_days=(1,), simulate_days=1)

    # then it prints one line for the trace it read and one for the simulation
    read, simulate = capsys.readouterr().out.splitlines()
    reading = re.fullmatch(
        r"read  1-day trace: +(\d+) streams, +(\d+) steps, [\d.]+ s, peak memory [\d.]+ MB "
        r"\((\d+) bytes per stream\)", read)
    assert reading is not None, read
    streams, steps, per_stream = (int(g) for g in reading.groups())
    # the same seed gives the same trace: the counts are the trace's own
    trace = tmp_path / "cc-1.csv"
    assert bench.generate_trace("contact-centre", days=1, seed=11, out=trace) == streams
    assert len(read_realtime_trace(trace).active) == steps
    assert per_stream > 0
    simulation = re.fullmatch(
        rf"simulate 1 days at 10 s \({STEPS_PER_DAY} steps\), three pools: [\d.]+ s "
        r"\(best of 3\), (\d+) scaling events", simulate)
    assert simulation is not None, simulate
    assert int(simulation.group(1)) >= 1  # a contact-centre day moves the fleet
