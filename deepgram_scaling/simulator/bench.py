"""``make bench``: how fast the simulator runs and how its memory grows.

Prints, for a three-pool fleet (the example app's capacity-aware real-time endpoint):
the engine's time for 30 days at 10-second resolution (259,200 steps), and the time and
peak Python memory (tracemalloc) of reading 1-day and 30-day contact-centre traces. Memory
follows the number of steps, not the number of streams: the reader keeps per-step arrays
only.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .engine import Simulation
from .params import Params
from .template import EndpointSetup, TargetTracking
from .traces import generate_trace, read_realtime_trace

MONDAY = 1772409600.0


def three_pool_setup() -> EndpointSetup:
    """The example app's real-time endpoint, as its template reads (built without CDK)."""
    from ..metric_math import PoolSignal, mixed_fleet_queries

    pools = (("ml.g6.2xlarge", 8.0), ("ml.g6e.2xlarge", 20.0), ("ml.g5.2xlarge", 6.0))
    queries = tuple(mixed_fleet_queries([PoolSignal(p, c) for p, c in pools]))
    return EndpointSetup(
        name="Realtime", logical_id="RealtimeEndpoint", is_async=False,
        pools=tuple(p for p, _ in pools), provision_timeout_s=300, initial_instance_count=1,
        min_capacity=1, max_capacity=40, max_concurrent_invocations=0,
        target_tracking=(
            TargetTracking("MixedFleet", "metric-math", "Maximum", 60, 0.75, 60, 300, False,
                           queries),
            TargetTracking("Companion", "ConcurrentRequestsPerModel", "Average", 10, 15.0, 60,
                           300, False),
        ),
        step_policies=(), schedules=(), declared_capacity=dict(pools),
    )


def main(*, trace_days: Sequence[int] = (1, 30), simulate_days: int = 30) -> None:
    """Read traces of each of ``trace_days``, then simulate ``simulate_days`` of the longest
    (repeated as needed). The defaults are what ``make bench`` prints; the tests pass less."""
    with tempfile.TemporaryDirectory() as folder:
        figures = {}
        for days in trace_days:
            trace = Path(folder) / f"cc-{days}.csv"
            rows = generate_trace("contact-centre", days=days, seed=11, out=trace)
            started = time.perf_counter()
            load = read_realtime_trace(trace)
            elapsed = time.perf_counter() - started
            tracemalloc.start()  # a separate pass: tracing slows every allocation
            read_realtime_trace(trace)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            figures[days] = (rows, elapsed, peak, load)
            print(f"read {days:>2}-day trace: {rows:>7} streams, {len(load.active):>6} steps, "
                  f"{elapsed:.2f} s, peak memory {peak / 1e6:.1f} MB "
                  f"({peak / rows:.0f} bytes per stream)")
        load = figures[max(trace_days)][3]
        steps = simulate_days * 8640
        active = np.resize(load.active, steps)
        arrivals = np.resize(load.arrivals, steps)
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            result = Simulation(three_pool_setup(), Params(), start_epoch=MONDAY).run_realtime(
                active, arrivals)
            best = min(best, time.perf_counter() - started)
        print(f"simulate {simulate_days} days at 10 s ({steps} steps), three pools: {best:.2f} s "
              f"(best of 3), {len(result.events)} scaling events")


if __name__ == "__main__":
    main()
