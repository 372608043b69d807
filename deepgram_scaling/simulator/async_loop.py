"""The asynchronous run: replay queued jobs against the endpoint.

- Time advances in 10 s steps; the backlog metrics and ``HasBacklogWithoutCapacity`` are a
  datapoint every minute.
- Asynchronous serving: a FIFO queue served at ``MaxConcurrentInvocationsPerInstance`` per
  instance. With no instance, ``ApproximateBacklogSizePerInstance`` equals the backlog, so
  target tracking alone wakes the endpoint only once the backlog exceeds the target;
  ``HasBacklogWithoutCapacity`` is 1 while work waits and no instance runs.
- A job running on an instance that scale-in removes goes back to the front of the queue
  and restarts; its wait was counted when it first started.
- Scheduled actions change the scalable target's min/max at their times, as in the
  real-time run (``policies.py``): a floor raised at 08:00 starts instances before the
  first job of the day.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from .policies import Policies
from .results import Result, billed_result

if TYPE_CHECKING:
    from .fleet import Fleet
    from .parts import SimulationParts
    from .template import ScheduledAction

WAIT_BINS = 7 * 86400  # one-second bins for async waits; longer waits land in the last bin


class _Work:
    """The endpoint's queue, the jobs running on each pool's instances, and their waits."""

    def __init__(self, fleet: Fleet, slots: int) -> None:
        self.fleet = fleet
        self.slots = slots
        self.queue: deque[tuple[float, float, bool]] = deque()  # (arrival, processing, started)
        #: Per pool, a heap of (finish time, arrival, processing).
        self.running: list[list[tuple[float, float, float]]] = [[] for _ in fleet.pools]
        self.arrived = 0
        self.completed = 0
        self.waits = np.zeros(WAIT_BINS, dtype=np.int64)
        self.wait_max = 0.0

    def requeue(self, pool: int, t: float) -> None:
        """Scale-in removed an instance of ``pool``: the jobs it ran start again."""
        excess = len(self.running[pool]) - self.fleet.in_service[pool] * self.slots
        for _ in range(max(0, excess)):
            _, arrival, processing = heapq.heappop(self.running[pool])
            self.queue.appendleft((arrival, processing, True))  # restarts; its wait is counted

    def serve(self, t: float) -> None:
        """Finish the jobs due by ``t`` and start queued ones on the free slots."""
        fleet, queue = self.fleet, self.queue
        for pool, heap in enumerate(self.running):
            while heap and heap[0][0] <= t:
                heapq.heappop(heap)
                self.completed += 1
            free = fleet.in_service[pool] * self.slots - len(heap)
            while free > 0 and queue:
                arrival, processing, started = queue.popleft()
                if not started:
                    wait = t - arrival
                    self.waits[min(int(wait), WAIT_BINS - 1)] += 1
                    self.wait_max = max(self.wait_max, wait)
                heapq.heappush(heap, (t + processing * fleet.speed[pool], arrival, processing))
                free -= 1

    def backlog(self) -> int:
        return len(self.queue) + sum(len(h) for h in self.running)

    def figures(self) -> dict[str, Any]:
        """Jobs and wait percentiles (from one-second bins) for the JSON output."""
        total = int(self.waits.sum())
        cumulative = np.cumsum(self.waits)

        def percentile(q: float) -> float:
            if not total:
                return 0.0
            return float(np.searchsorted(cumulative, q * total, side="left"))

        return {
            "jobs": self.arrived,
            "completed": self.completed,
            "unserved_jobs": self.arrived - total,
            "wait_s": {"p50": percentile(0.50), "p95": percentile(0.95),
                       "p99": percentile(0.99), "max": round(self.wait_max, 3)},
        }


def run_async(simulation: SimulationParts, jobs: Iterable[tuple[float, float]], *,
              drain_s: float) -> Result:
    """``jobs``: (arrival seconds, processing seconds) in arrival order. The run ends once
    every job is done, or ``drain_s`` after the last arrival."""
    fleet, endpoint = simulation.fleet, simulation.endpoint
    step = simulation.params.step_s
    per_minute = round(simulation.params.metric_period_s / step)
    slots = max(1, simulation.setup.max_concurrent_invocations)
    work = _Work(fleet, slots)
    wake_ups: list[float] = []
    waiting_since: float | None = None
    iterator: Iterator[tuple[float, float]] = iter(jobs)
    upcoming = next(iterator, None)
    endpoint.start()
    loads: list[float] = []
    rows: list[list[int]] = []
    minute_backlog = 0.0
    last_arrival = 0.0
    k = 0
    fleet.on_removed = work.requeue
    scheduled = _Scheduled(simulation)

    while True:
        t = k * step
        if upcoming is None and not work.queue and not any(work.running) and t > last_arrival:
            break
        if upcoming is None and t > last_arrival + drain_s:
            break
        while upcoming is not None and upcoming[0] <= t:  # a job never starts early
            work.queue.append((upcoming[0], upcoming[1], False))
            last_arrival = upcoming[0]
            work.arrived += 1
            upcoming = next(iterator, None)
        scheduled.apply_due(t)
        if endpoint.update_done is not None and t >= endpoint.update_done:
            serving = sum(fleet.in_service)
            endpoint.settle(t)
            if sum(fleet.in_service) > serving and waiting_since is not None:
                wake_ups.append(t - waiting_since)
                waiting_since = None
        n = sum(fleet.in_service)
        if n == 0 and work.queue and waiting_since is None:
            waiting_since = work.queue[0][0]
        work.serve(t)
        backlog = work.backlog()
        minute_backlog += backlog
        if (k + 1) % per_minute == 0:
            _end_of_minute(simulation.policies, t, minute_backlog / per_minute, backlog, n)
            minute_backlog = 0.0
        loads.append(float(backlog))
        rows.append(list(fleet.in_service))
        k += 1

    counts = np.asarray(rows, dtype=np.int32).reshape(-1, len(fleet.pools))
    load = np.asarray(loads)
    result = billed_result(simulation, "async", k * step, load, counts,
                           counts.sum(axis=1) * slots, (float(slots),) * len(fleet.pools))
    result.asynchronous = {
        **work.figures(),
        "time_to_first_instance_s": [round(w, 3) for w in wake_ups],
        "peak_backlog": int(load.max(initial=0)),
    }
    return result


class _Scheduled:
    """The scheduled actions, applied at the first step at or after their time, as the
    real-time loop does. The run's length is not known ahead (it lasts until the queue
    drains), so their times are found a day at a time."""

    CHUNK_S = 86400.0

    def __init__(self, simulation: SimulationParts) -> None:
        self.policies = simulation.policies
        self.start_epoch = simulation.start_epoch
        self.found_until = 0.0
        self.due: deque[tuple[float, ScheduledAction]] = deque()

    def apply_due(self, t: float) -> None:
        while t >= self.found_until:
            self.due.extend(self.policies.schedule_events(
                self.start_epoch, self.found_until + self.CHUNK_S, from_s=self.found_until))
            self.found_until += self.CHUNK_S
        while self.due and self.due[0][0] <= t:
            self.policies.apply_schedule(self.due.popleft()[1], t)


def _end_of_minute(policies: Policies, t: float, average: float, backlog: int, n: int) -> None:
    """The one-minute backlog datapoints: every policy's alarms, then the decision."""
    per_instance = average / n if n else average
    without_capacity = 1.0 if (backlog > 0 and n == 0) else 0.0
    values = {"ApproximateBacklogSizePerInstance": per_instance,
              "ApproximateBacklogSize": average,
              "HasBacklogWithoutCapacity": without_capacity}
    fresh = []
    for policy in policies.tracking:
        policy.value = policy.low_value = values[policy.spec.metric]
        policy.high.add(policy.value > policy.spec.target)
        policy.low.add(policy.value < policy.low_limit)
        fresh.append(policy)
    for step_policy in policies.steps:
        policies.step_policy(step_policy, values[step_policy.spec.alarm.metric_name], t)
    policies.decide(t, fresh, True)
