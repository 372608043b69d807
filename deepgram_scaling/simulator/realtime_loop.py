"""The real-time run: replay per-step stream counts against the endpoint.

- Time advances in 10 s steps. ``ConcurrentRequestsPerModel`` is a datapoint every step;
  metric-math policies (and any policy with a period of a minute or more) every minute.
- Real-time serving: requests spread evenly over in-service instances (least outstanding
  requests). Load above an instance's capacity is overload; above its hard limit, new
  streams are rejected. Streams cut by scale-in are counted by the fleet (``fleet.py``).

The loop is the simulator's hot path (a month is 259,200 steps): per step it only settles
the endpoint, feeds the per-step alarms and asks the policies when one may scale out; the
rest happens once a minute or once at the end, in numpy.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .policies import Policies, Tracking
from .results import Result, billed_result, counts_by_step

if TYPE_CHECKING:
    from .fleet import Fleet
    from .parts import SimulationParts


def run_realtime(simulation: SimulationParts, active: np.ndarray, arrivals: np.ndarray) -> Result:
    """``active``: streams open per step; ``arrivals``: streams that start in each step."""
    counts = _replay(simulation, active)
    return _realtime_result(simulation, active, arrivals, counts)


def _replay(simulation: SimulationParts, active: np.ndarray) -> np.ndarray:
    """Step through the load; returns the in-service counts per step and pool."""
    fleet, endpoint, policies = simulation.fleet, simulation.endpoint, simulation.policies
    p = simulation.params
    step = p.step_s
    per_minute = round(p.metric_period_s / step)
    n_steps = len(active)
    horizon = fleet.horizon = n_steps * step
    schedule = policies.schedule_events(simulation.start_epoch, horizon)
    next_schedule = schedule[0][0] if schedule else math.inf
    schedule_index = 0
    fast = [x for x in policies.tracking if x.spec.period_s < p.metric_period_s]
    slow = [x for x in policies.tracking if x.spec.period_s >= p.metric_period_s]
    minute_sum = minute_max = 0.0
    minute_present = [False] * len(fleet.pools)
    endpoint.start()
    loads = active.tolist()
    changes: list[tuple[int, list[int]]] = [(0, list(fleet.in_service))]
    progress = simulation.progress
    report_every = max(1, n_steps // 50)
    n = sum(fleet.in_service)
    minute_countdown = per_minute

    for k in range(n_steps):
        t = k * step
        fleet.load_now = loads[k]
        if t >= next_schedule:
            while schedule_index < len(schedule) and schedule[schedule_index][0] <= t:
                policies.apply_schedule(schedule[schedule_index][1], t)
                schedule_index += 1
            next_schedule = (schedule[schedule_index][0] if schedule_index < len(schedule)
                             else math.inf)
        if endpoint.update_done is not None and t >= endpoint.update_done:
            endpoint.settle(t)
        if fleet.changed:
            fleet.changed = False
            n = sum(fleet.in_service)
            changes.append((k, list(fleet.in_service)))
        per_instance = fleet.load_now / n if n else 0.0
        minute_sum += per_instance
        if per_instance > minute_max:
            minute_max = per_instance
        scale_out_possible = False
        for policy in fast:
            policy.value = per_instance if n else None
            if policy.high.add(per_instance > policy.spec.target if n else None):
                scale_out_possible = True
        minute_countdown -= 1
        minute = minute_countdown == 0
        if minute:
            minute_countdown = per_minute
            if _end_of_minute(policies, fleet, t, fast, slow, minute_sum / per_minute,
                              minute_max, minute_present):
                scale_out_possible = True
            minute_sum = minute_max = 0.0
            minute_present = [bool(c) for c in fleet.in_service]
        if scale_out_possible or minute:
            policies.decide(t, fast + slow if minute else fast, minute)
        if fleet.changed:  # a scale-in removed instances at this step
            fleet.changed = False
            n = sum(fleet.in_service)
            changes.append((k, list(fleet.in_service)))
        if progress and k % report_every == 0:
            progress(k / n_steps)
    return counts_by_step(changes, n_steps, len(fleet.pools))


def _end_of_minute(policies: Policies, fleet: Fleet, t: float, fast: list[Tracking],
                   slow: list[Tracking], average: float, minute_max: float,
                   minute_present: list[bool]) -> bool:
    """Give the one-minute datapoints to the low alarms of the per-step policies, and to
    every alarm of the per-minute policies and step policies. Returns whether a high alarm
    is in ALARM (a scale-out may be due)."""
    scale_out_possible = False
    for pool in range(len(fleet.pools)):
        if fleet.in_service[pool]:
            minute_present[pool] = True
    for policy in fast:
        policy.low_value = average
        policy.low.add(average < policy.low_limit)
    for policy in slow:
        if policy.math is not None:
            value = policy.math({name: (minute_max if minute_present[i] else None)
                                 for i, name in enumerate(fleet.pools)})
        else:
            value = minute_max if policy.spec.statistic == "Maximum" else average
        policy.value = policy.low_value = value
        if policy.high.add(None if value is None else value > policy.spec.target):
            scale_out_possible = True
        policy.low.add(None if value is None else value < policy.low_limit)
    for step_policy in policies.steps:
        stat = step_policy.spec.alarm.statistic
        policies.step_policy(step_policy, minute_max if stat == "Maximum" else average, t)
    return scale_out_possible


def _realtime_result(simulation: SimulationParts, active: np.ndarray, arrivals: np.ndarray,
                     counts: np.ndarray) -> Result:
    """Bill the run and measure how well the fleet served the load."""
    fleet = simulation.fleet
    step = simulation.params.step_s
    n_steps = len(active)
    capacity_by_pool = np.asarray(fleet.capacity)
    hard_by_pool = np.asarray(fleet.hard)
    total = counts.sum(axis=1)
    per_instance = np.divide(active, total, out=np.zeros_like(active, dtype=float),
                             where=total > 0)
    overload = (np.maximum(per_instance[:, None] - capacity_by_pool[None, :], 0)
                * counts).sum(axis=1)
    overload = np.where(total > 0, overload, active)
    hard = (counts * hard_by_pool[None, :]).sum(axis=1)
    rejected = np.minimum(arrivals[:n_steps], np.maximum(active - hard, 0)).sum()
    stream_seconds = float(active.sum() * step)
    result = billed_result(simulation, "realtime", n_steps * step, active, counts,
                           (counts * capacity_by_pool[None, :]).sum(axis=1),
                           tuple(fleet.capacity))
    result.realtime = {
        "overloaded_stream_seconds_fraction": round(
            float(overload.sum() * step) / stream_seconds, 6) if stream_seconds else 0.0,
        "peak_overload": round(float(overload.max(initial=0.0)), 4),
        "rejected_streams": int(rejected),
        "interrupted_streams": fleet.interrupted,
        "peak_load": round(float(active.max(initial=0.0)), 4),
    }
    return result
