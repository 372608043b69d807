"""The simulation: replay a trace against one endpoint's synthesized scaling set-up.

Model (every number is a parameter, see ``params.py``; every mechanic has an entry with
its source in ``docs/aws-behaviour.md``):

- Time advances in 10 s steps. ``ConcurrentRequestsPerModel`` is a datapoint every step;
  backlog metrics, ``HasBacklogWithoutCapacity`` and metric-math policies every minute.
- Target tracking: a high alarm (``high_datapoints`` datapoints above target) scales out,
  a low alarm (``low_datapoints`` one-minute datapoints at least ``scale_in_margin`` below
  target) scales in; the new capacity is ``ceil(capacity x metric / target)``. No scale-in
  happens within the scale-in cooldown, which a scale-out ends.
- The endpoint's state: a capacity change puts it in ``Updating`` until every instance it
  adds is in service (or its removals are done, ``removal_s``). While it is Updating, no
  other capacity change applies: the attempt is an event of its own kind (``refused:
  endpoint updating``), and a policy whose alarm stays in ALARM tries again at its next
  evaluation. A scheduled min/max still changes the scalable target at once; the desired
  count follows when the endpoint is back in service. So the desired and in-service counts
  agree whenever a change applies, and a scale-out cannot stack on one still provisioning.
- Several policies: scale out if any policy asks, scale in only if every target-tracking
  policy that may scale in asks; the largest capacity wins. Step policies act on their own
  (a step scale-in is not blocked by target tracking); within a step cooldown only a larger
  scale-out is applied, and only its difference. Cooldowns count from the end of the change.
- Pools: new instances come from the highest-priority pool not short of capacity; a short
  pool answers at once, so falling back costs no time. With every pool short, the change
  fails at once; a change whose instances are not in service within the variant's
  ``VariantInstanceProvisionTimeoutInSeconds`` fails at the timeout. A failed change rolls
  back to the previous count (``failed: ...`` events). Scale-in removes in-service instances
  from the lowest-priority pool first.
- Real-time serving: requests spread evenly over in-service instances (least outstanding
  requests). Load above an instance's capacity is overload; above its hard limit, new
  streams are rejected. Instances removed by scale-in cut the streams they hold, counted in
  whole streams per scale-in (the removed share of the load, rounded).
- Asynchronous serving: a FIFO queue served at ``MaxConcurrentInvocationsPerInstance`` per
  instance. With no instance, ``ApproximateBacklogSizePerInstance`` equals the backlog, so
  target tracking alone wakes the endpoint only once the backlog exceeds the target;
  ``HasBacklogWithoutCapacity`` is 1 while work waits and no instance runs.
- Billing counts an in-service instance until it is removed, plus its provisioning time
  when ``bill_provisioning`` is 1 (the default; AWS does not say, see the entry).
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..metric_math import compile_queries
from .params import Params
from .schedules import fire_times
from .template import EndpointSetup, StepPolicy, TargetTracking

WAIT_BINS = 7 * 86400  # one-second bins for async waits; longer waits land in the last bin
#: Causes of attempts that did not change the capacity (events of their own kind).
REFUSED = "refused: endpoint updating"
FAILED_CAPACITY = "failed: insufficient capacity in every pool"
FAILED_TIMEOUT = "failed: not in service within the provision timeout, rolled back"


@dataclass
class Event:
    time_s: float
    before: int
    after: int
    cause: str
    kind: str = "change"  # "change" (applied), "refused" (endpoint Updating) or "failed"

    def to_json(self, start_epoch: float) -> dict[str, Any]:
        when = dt.datetime.fromtimestamp(start_epoch + self.time_s, dt.timezone.utc)
        return {"time": when.isoformat().replace("+00:00", "Z"), "time_s": self.time_s,
                "from": self.before, "to": self.after, "cause": self.cause, "kind": self.kind}


@dataclass
class Result:
    """What a simulation found. ``to_json`` gives the documented, stable object."""

    endpoint: str
    kind: str
    start_epoch: float
    duration_s: float
    pools: tuple[str, ...]
    instance_seconds: dict[str, float]
    prices: dict[str, float]
    events: list[Event]
    times_s: np.ndarray
    load: np.ndarray
    in_service: np.ndarray  # steps x pools
    capacity: np.ndarray  # serving capacity per step (streams, or job slots)
    pool_capacity: tuple[float, ...] = ()  # per instance of each pool (streams, or slots)
    refused: int = 0  # capacity changes refused because the endpoint was Updating
    failed: int = 0  # capacity changes that failed (no capacity, or past the timeout)
    realtime: dict[str, float] = field(default_factory=dict)
    asynchronous: dict[str, Any] = field(default_factory=dict)

    @property
    def instance_hours(self) -> float:
        return sum(self.instance_seconds.values()) / 3600

    @property
    def cost(self) -> float:
        return sum(s / 3600 * self.prices[p] for p, s in self.instance_seconds.items())

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "duration_h": round(self.duration_s / 3600, 4),
            "instance_hours": round(self.instance_hours, 4),
            "cost": round(self.cost, 4),
            "per_pool": {
                pool: {"instance_hours": round(s / 3600, 4),
                       "cost": round(s / 3600 * self.prices[pool], 4)}
                for pool, s in self.instance_seconds.items()
            },
            "scaling_events": sum(1 for e in self.events if e.kind == "change"),
            "refused_changes": self.refused,
            "failed_changes": self.failed,
            "events": [e.to_json(self.start_epoch) for e in self.events],
        }
        data.update(self.realtime if self.kind == "realtime" else self.asynchronous)
        return data


class _Alarm:
    """N-of-M datapoints with CloudWatch's missing-data treatments."""

    def __init__(self, evaluation: int, datapoints: int, treat_missing: str = "missing") -> None:
        self.window: deque[bool] = deque()
        self.evaluation = evaluation
        self.datapoints = datapoints
        self.treat_missing = treat_missing
        self.breaching = 0  # breaching datapoints in the window
        self.consecutive = evaluation == datapoints
        self.run = 0  # breaching datapoints in a row
        self.state = False

    def add(self, breaching: bool | None) -> bool:
        if breaching is None:
            if self.treat_missing == "breaching":
                breaching = True
            elif self.treat_missing == "notBreaching":
                breaching = False
            else:
                return self.state  # missing: the state holds
        if self.consecutive:  # N of N: a run of breaching datapoints (no window needed)
            self.run = self.run + 1 if breaching else 0
            self.state = self.run >= self.datapoints
            return self.state
        window = self.window
        window.append(breaching)
        if breaching:
            self.breaching += 1
        if len(window) > self.evaluation and window.popleft():
            self.breaching -= 1
        self.state = self.breaching >= self.datapoints
        return self.state


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


class _Tracking:
    def __init__(self, spec: TargetTracking, params: Params) -> None:
        self.spec = spec
        self.high = _Alarm(params.high_datapoints, params.high_datapoints)
        self.low = _Alarm(params.low_datapoints, params.low_datapoints)
        self.low_limit = spec.target * (1 - params.scale_in_margin)
        self.math = compile_queries(spec.queries) if spec.queries else None
        self.value: float | None = None  # the latest datapoint (drives scale-out)
        self.low_value: float | None = None  # the latest one-minute datapoint (scale-in)
        self.in_cooldown_until = -1.0

    def proposal(self, capacity: int, value: float) -> int:
        return math.ceil(max(capacity, 1) * value / self.spec.target - 1e-9)


class _Step:
    def __init__(self, spec: StepPolicy) -> None:
        self.spec = spec
        alarm = spec.alarm
        self.alarm = _Alarm(alarm.evaluation_periods, alarm.datapoints_to_alarm,
                            alarm.treat_missing)
        self.compare = _COMPARE[alarm.comparison]
        self.cooldown_until = -1.0
        self.last_adjustment = 0

    def adjustment(self, value: float) -> int:
        offset = value - self.spec.alarm.threshold
        for interval in self.spec.intervals:
            if (interval.lower is None or offset >= interval.lower) and (
                    interval.upper is None or offset < interval.upper):
                return interval.adjustment
        return 0


class Simulation:
    """One endpoint, one trace. Call :meth:`run_realtime` or :meth:`run_async`."""

    def __init__(self, setup: EndpointSetup, params: Params, *, start_epoch: float,
                 progress: Callable[[float], None] | None = None) -> None:
        self.setup = setup
        self.params = params
        self.start_epoch = start_epoch
        self.progress = progress
        self.pools = setup.pools
        types = [params.instance(p) for p in self.pools]
        self.capacity = [setup.declared_capacity.get(p, t.capacity) for p, t in
                         zip(self.pools, types, strict=True)]
        self.hard = [t.hard_limit if t.hard_limit is not None else 2 * c
                     for t, c in zip(types, self.capacity, strict=True)]
        self.provision_s = [t.provision_s for t in types]
        self.speed = [t.speed for t in types]
        self.prices = {p: t.price_per_hour for p, t in zip(self.pools, types, strict=True)}
        self.tracking = [_Tracking(s, params) for s in setup.target_tracking]
        self.steps = [_Step(s) for s in setup.step_policies]
        self.min_capacity = setup.min_capacity
        self.max_capacity = setup.max_capacity
        self.in_service = [0] * len(self.pools)
        self.pending: list[tuple[float, int]] = []  # (ready time, pool), sorted
        self.desired = 0
        #: When the capacity change in progress ends (the endpoint is Updating until then).
        self.update_done: float | None = None
        #: (count before, cause) of a scale-out that will fail at ``update_done``.
        self.rollback: tuple[int, str] | None = None
        self.events: list[Event] = []
        self.attempts_listed: set[str] = set()
        self.refused_causes: set[str] = set()
        self.refused = 0
        self.failed = 0
        self.instance_seconds = [0.0] * len(self.pools)
        self.interrupted = 0
        self.load_now = 0.0  # the load the in-service fleet holds at this step
        self.horizon = math.inf  # the end of the simulated time, once known
        self.fleet_changed = False  # the in-service counts changed since last looked at
        #: Called with (pool, time) when scale-in removes an in-service instance.
        self.on_removed: Callable[[int, float], None] | None = None

    # --- fleet ---------------------------------------------------------------------------

    @property
    def updating(self) -> bool:
        """The endpoint is ``Updating``: a capacity change is still in progress."""
        return self.update_done is not None

    def _pool_with_capacity(self, t: float) -> int | None:
        """SageMaker's choice for a new instance: the highest-priority pool that is not short
        of capacity. A short pool answers at once, so passing over it costs no time."""
        for pool, name in enumerate(self.pools):
            if not any(s.instance_type == name and s.start_s <= t < s.end_s
                       for s in self.params.shortages):
                return pool
        return None

    def _record(self, t: float, value: int, cause: str, kind: str, prefix: str) -> None:
        """A refused or failed attempt: counted every time, listed once per cause between two
        applied changes (a policy whose alarm stays in ALARM retries at every evaluation)."""
        if kind == "refused":
            self.refused += 1
        else:
            self.failed += 1
        text = f"{prefix} ({cause})"
        if text not in self.attempts_listed:
            self.attempts_listed.add(text)
            self.events.append(Event(t, self.desired, value, text, kind))

    def _set_desired(self, value: int, t: float, cause: str) -> bool:
        """Ask for a new desired count (clamped into min/max), as Application Auto Scaling
        does with ``UpdateEndpointWeightsAndCapacities``. Returns whether it was applied."""
        value = max(self.min_capacity, min(self.max_capacity, value))
        if value == self.desired:
            return False
        if self.update_done is not None:
            # SageMaker refuses a capacity change while the endpoint is Updating
            # (ValidationException: Cannot update in-progress endpoint).
            if cause in self.refused_causes:
                self.refused += 1  # listed already in this update
            else:
                self.refused_causes.add(cause)
                self._record(t, value, cause, "refused", REFUSED)
            return False
        before = self.desired
        if value > before:
            pool = self._pool_with_capacity(t)
            if pool is None:
                # every pool short: the change fails and the endpoint rolls back at once
                self._record(t, value, cause, "failed", FAILED_CAPACITY)
                return False
            provision = self.provision_s[pool]
            timeout = self.setup.provision_timeout_s
            ready = t + provision
            if provision > timeout:
                # not in service within the variant's provision timeout: the change fails
                # at the timeout and SageMaker rolls back to the previous count
                ready = t + timeout
                self.rollback = (before, cause)
            for _ in range(value - before):
                self.pending.append((ready, pool))
                if self.params.bill_provisioning:
                    self.instance_seconds[pool] += max(0.0, min(ready, self.horizon) - t)
            self.pending.sort()
            self.update_done = ready
        else:
            self._remove(before - value, t)
            self.update_done = t + self.params.removal_s
        self.attempts_listed.clear()
        self.refused_causes.clear()
        self.events.append(Event(t, before, value, cause))
        self.desired = value
        return True

    def _remove(self, count: int, t: float) -> None:
        """Scale-in removes in-service instances, lowest-priority pool first; they cut the
        streams they hold (an even spread, in whole streams)."""
        held = sum(self.in_service)
        if held:
            self.interrupted += math.floor(count * self.load_now / held + 0.5)
        for _ in range(count):
            pool = max(p for p in range(len(self.pools)) if self.in_service[p] > 0)
            self.in_service[pool] -= 1
            self.fleet_changed = True
            if self.on_removed is not None:
                self.on_removed(pool, t)

    def _settle(self, t: float) -> bool:
        """Bring pending instances into service and end the update when its time comes.
        Returns whether the in-service fleet changed."""
        changed = False
        while self.pending and self.pending[0][0] <= t:
            _, pool = self.pending.pop(0)
            if self.rollback is None:
                self.in_service[pool] += 1
                changed = self.fleet_changed = True
        if self.update_done is not None and t >= self.update_done:
            self.update_done = None
            if self.rollback is not None:
                before, cause = self.rollback
                self.rollback = None
                self.failed += 1
                self.events.append(Event(t, self.desired, before, f"{FAILED_TIMEOUT} ({cause})",
                                         "failed"))
                self.desired = before
            # a scheduled min/max that arrived while Updating moves the count now
            self._set_desired(self.desired, t, "scalable target min/max")
            changed = True
        return changed

    @staticmethod
    def _counts(changes: list[tuple[int, list[int]]], n_steps: int, pools: int) -> np.ndarray:
        """In-service counts per step and pool, from the list of changes."""
        counts = np.zeros((n_steps, pools), dtype=np.int32)
        for (start, row), (end, _) in zip(changes, [*changes[1:], (n_steps, [])], strict=True):
            counts[start:end] = row
        return counts

    def _bill_counts(self, counts: np.ndarray, step_s: float) -> None:
        for pool, seconds in enumerate(counts.sum(axis=0) * step_s):
            self.instance_seconds[pool] += float(seconds)

    # --- schedules -----------------------------------------------------------------------

    def _schedule_events(self, horizon_s: float) -> list[tuple[float, Any]]:
        start = dt.datetime.fromtimestamp(self.start_epoch, dt.timezone.utc)
        end = start + dt.timedelta(seconds=horizon_s)
        fired = []
        for action in self.setup.schedules:
            for when in fire_times(action.schedule, action.timezone, start, end):
                fired.append(((when - start).total_seconds(), action))
        return sorted(fired, key=lambda item: item[0])

    def _apply_schedule(self, action: Any, t: float) -> None:
        if action.min_capacity is not None:
            self.min_capacity = action.min_capacity
        if action.max_capacity is not None:
            self.max_capacity = action.max_capacity
        self._set_desired(self.desired, t, f"scheduled {action.name}")

    # --- policies ------------------------------------------------------------------------

    def _done(self, t: float) -> float:
        """When the change just applied completes: cooldowns count from then."""
        return self.update_done if self.update_done is not None else t

    def _decide(self, t: float, fresh: list[_Tracking], minute: bool) -> None:
        """Combine the target-tracking policies that just got a datapoint. Scale-in is
        considered only when the low alarms got a new one-minute datapoint.

        Application Auto Scaling computes from the current capacity. Because the endpoint
        refuses changes while Updating, a change can only apply when every instance asked
        for is in service, so the desired and in-service counts agree whenever it does. A
        target-tracking scale-out cooldown then changes nothing: within it only a scale-out
        above the current capacity applies, which every scale-out is.
        """
        capacity = self.desired
        if not minute and not any(p.high.state for p in fresh):
            return
        ups = [(p.proposal(capacity, p.value), p)
               for p in fresh if p.high.state and p.value is not None]
        ups = [(n, p) for n, p in ups if n > self.desired]
        if ups:
            value, _ = max(ups, key=lambda item: item[0])
            names = "+".join(sorted({p.spec.metric for _, p in ups}))
            if self._set_desired(value, t, f"target tracking {names} above target"):
                for policy in self.tracking:
                    policy.in_cooldown_until = -1.0  # a scale-out ends the scale-in cooldown
            return
        if not minute:
            return
        voters = [p for p in self.tracking if not p.spec.disable_scale_in]
        if not voters:
            return
        if all(p.low.state and p.low_value is not None and t >= p.in_cooldown_until
               for p in voters):
            value = max(p.proposal(capacity, p.low_value or 0.0) for p in voters)
            if value < self.desired and self._set_desired(value, t,
                                                          "target tracking below target"):
                for policy in voters:
                    policy.in_cooldown_until = self._done(t) + policy.spec.scale_in_cooldown_s

    def _step_policy(self, policy: _Step, value: float | None, t: float) -> None:
        breaching = None if value is None else policy.compare(value, policy.spec.alarm.threshold)
        # Application Auto Scaling runs the policy at every evaluation while the alarm is in
        # ALARM, subject to the cooldown.
        if not policy.alarm.add(breaching) or value is None:
            return
        adjustment = policy.adjustment(value)
        within = t < policy.cooldown_until
        name = policy.spec.alarm.metric_name
        if adjustment > 0:
            if within and adjustment <= policy.last_adjustment:
                return
            change = adjustment - (policy.last_adjustment if within else 0)
            applied = self._set_desired(self.desired + change, t,
                                        f"step policy on {name} {change:+d}")
        elif adjustment < 0:
            if within:
                return
            applied = self._set_desired(self.desired + adjustment, t,
                                        f"step policy on {name} {adjustment:+d}")
        else:
            return
        if not applied:
            return  # refused or failed: the alarm, still in ALARM, runs it again
        if not within:
            policy.cooldown_until = self._done(t) + policy.spec.cooldown_s
            policy.last_adjustment = max(adjustment, 0)
        else:
            policy.last_adjustment = adjustment

    # --- real-time -----------------------------------------------------------------------

    def run_realtime(self, active: np.ndarray, arrivals: np.ndarray) -> Result:
        p = self.params
        step = p.step_s
        per_minute = round(p.metric_period_s / step)
        n_steps = len(active)
        horizon = self.horizon = n_steps * step
        schedule = self._schedule_events(horizon)
        next_schedule = schedule[0][0] if schedule else math.inf
        schedule_index = 0
        pools = len(self.pools)
        fast = [x for x in self.tracking if x.spec.period_s < p.metric_period_s]
        slow = [x for x in self.tracking if x.spec.period_s >= p.metric_period_s]
        minute_sum = minute_max = 0.0
        minute_present = [False] * pools
        self.desired = self.setup.initial_instance_count
        self.in_service[0] = self.setup.initial_instance_count
        self.events.append(Event(0.0, 0, self.desired, "initial"))
        # registering the scalable target brings the count into its bounds at once
        self._set_desired(self.desired, 0.0, "scalable target min/max")
        loads = active.tolist()
        changes: list[tuple[int, list[int]]] = [(0, list(self.in_service))]
        report_every = max(1, n_steps // 50)
        n = sum(self.in_service)
        minute_countdown = per_minute

        for k in range(n_steps):
            t = k * step
            self.load_now = loads[k]
            if t >= next_schedule:
                while schedule_index < len(schedule) and schedule[schedule_index][0] <= t:
                    self._apply_schedule(schedule[schedule_index][1], t)
                    schedule_index += 1
                next_schedule = (schedule[schedule_index][0] if schedule_index < len(schedule)
                                 else math.inf)
            if self.update_done is not None and t >= self.update_done:
                self._settle(t)
            if self.fleet_changed:
                self.fleet_changed = False
                n = sum(self.in_service)
                changes.append((k, list(self.in_service)))
            load = self.load_now
            per_instance = load / n if n else 0.0
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
                for pool in range(pools):
                    if self.in_service[pool]:
                        minute_present[pool] = True
                average = minute_sum / per_minute
                for policy in fast:
                    policy.low_value = average
                    policy.low.add(average < policy.low_limit)
                for policy in slow:
                    if policy.math is not None:
                        value = policy.math({name: (minute_max if minute_present[i] else None)
                                             for i, name in enumerate(self.pools)})
                    else:
                        value = minute_max if policy.spec.statistic == "Maximum" else average
                    policy.value = policy.low_value = value
                    if policy.high.add(None if value is None else value > policy.spec.target):
                        scale_out_possible = True
                    policy.low.add(None if value is None else value < policy.low_limit)
                for step_policy in self.steps:
                    stat = step_policy.spec.alarm.statistic
                    self._step_policy(step_policy, minute_max if stat == "Maximum" else average,
                                      t)
                minute_sum = minute_max = 0.0
                minute_present = [bool(c) for c in self.in_service]
            if scale_out_possible or minute:
                self._decide(t, fast + slow if minute else fast, minute)
            if self.fleet_changed:  # a scale-in removed instances at this step
                self.fleet_changed = False
                n = sum(self.in_service)
                changes.append((k, list(self.in_service)))
            if self.progress and k % report_every == 0:
                self.progress(k / n_steps)

        counts = self._counts(changes, n_steps, pools)
        self._bill_counts(counts, step)
        capacity_by_pool = np.asarray(self.capacity)
        hard_by_pool = np.asarray(self.hard)
        total = counts.sum(axis=1)
        per_instance = np.divide(active, total, out=np.zeros_like(active, dtype=float),
                                 where=total > 0)
        overload = (np.maximum(per_instance[:, None] - capacity_by_pool[None, :], 0)
                    * counts).sum(axis=1)
        overload = np.where(total > 0, overload, active)
        hard = (counts * hard_by_pool[None, :]).sum(axis=1)
        rejected = np.minimum(arrivals[:n_steps], np.maximum(active - hard, 0)).sum()
        stream_seconds = float(active.sum() * step)
        result = self._result("realtime", horizon, active, counts,
                              (counts * capacity_by_pool[None, :]).sum(axis=1),
                              tuple(self.capacity))
        result.realtime = {
            "overloaded_stream_seconds_fraction": round(
                float(overload.sum() * step) / stream_seconds, 6) if stream_seconds else 0.0,
            "peak_overload": round(float(overload.max(initial=0.0)), 4),
            "rejected_streams": int(rejected),
            "interrupted_streams": self.interrupted,
            "peak_load": round(float(active.max(initial=0.0)), 4),
        }
        return result

    def _result(self, kind: str, horizon: float, load: np.ndarray, counts: np.ndarray,
                capacity: np.ndarray, pool_capacity: tuple[float, ...]) -> Result:
        return Result(
            pool_capacity=pool_capacity,
            endpoint=self.setup.name, kind=kind, start_epoch=self.start_epoch,
            duration_s=horizon, pools=self.pools,
            instance_seconds=dict(zip(self.pools, self.instance_seconds, strict=True)),
            prices=self.prices, events=self.events, refused=self.refused, failed=self.failed,
            times_s=np.arange(len(load)) * self.params.step_s, load=load, in_service=counts,
            capacity=capacity,
        )

    # --- asynchronous --------------------------------------------------------------------

    def run_async(self, jobs: Iterable[tuple[float, float]], *, drain_s: float = 86400.0
                  ) -> Result:
        """``jobs``: (arrival seconds, processing seconds) in arrival order."""
        p = self.params
        step = p.step_s
        per_minute = round(p.metric_period_s / step)
        slots = max(1, self.setup.max_concurrent_invocations)
        pools = len(self.pools)
        queue: deque[tuple[float, float, bool]] = deque()  # (arrival, processing, started)
        running: list[list[tuple[float, float, float]]] = [[] for _ in range(pools)]
        arrived = 0
        waits = np.zeros(WAIT_BINS, dtype=np.int64)
        wait_max = 0.0
        completed = 0
        wake_ups: list[float] = []
        waiting_since: float | None = None
        iterator: Iterator[tuple[float, float]] = iter(jobs)
        upcoming = next(iterator, None)
        self.desired = self.setup.initial_instance_count
        self.in_service[0] = self.setup.initial_instance_count
        self.events.append(Event(0.0, 0, self.desired, "initial"))
        # registering the scalable target brings the count into its bounds at once
        self._set_desired(self.desired, 0.0, "scalable target min/max")
        loads: list[float] = []
        rows: list[list[int]] = []
        minute_backlog = 0.0
        last_arrival = 0.0
        k = 0

        def requeue(pool: int, t: float) -> None:
            excess = len(running[pool]) - self.in_service[pool] * slots
            for _ in range(max(0, excess)):
                _, arrival, processing = heapq.heappop(running[pool])
                queue.appendleft((arrival, processing, True))  # restarts; its wait is counted

        self.on_removed = requeue

        while True:
            t = k * step
            if upcoming is None and not queue and not any(running) and t > last_arrival:
                break
            if upcoming is None and t > last_arrival + drain_s:
                break
            while upcoming is not None and upcoming[0] <= t:  # a job never starts early
                queue.append((upcoming[0], upcoming[1], False))
                last_arrival = upcoming[0]
                arrived += 1
                upcoming = next(iterator, None)
            if self.update_done is not None and t >= self.update_done:
                serving = sum(self.in_service)
                self._settle(t)
                if sum(self.in_service) > serving and waiting_since is not None:
                    wake_ups.append(t - waiting_since)
                    waiting_since = None
            n = sum(self.in_service)
            if n == 0 and queue and waiting_since is None:
                waiting_since = queue[0][0]
            for pool in range(pools):
                heap = running[pool]
                while heap and heap[0][0] <= t:
                    heapq.heappop(heap)
                    completed += 1
                free = self.in_service[pool] * slots - len(heap)
                while free > 0 and queue:
                    arrival, processing, started = queue.popleft()
                    if not started:
                        wait = t - arrival
                        waits[min(int(wait), WAIT_BINS - 1)] += 1
                        wait_max = max(wait_max, wait)
                    heapq.heappush(heap, (t + processing * self.speed[pool], arrival, processing))
                    free -= 1
            backlog = len(queue) + sum(len(h) for h in running)
            minute_backlog += backlog
            if (k + 1) % per_minute == 0:
                average = minute_backlog / per_minute
                minute_backlog = 0.0
                per_instance = average / n if n else average
                without_capacity = 1.0 if (backlog > 0 and n == 0) else 0.0
                values = {"ApproximateBacklogSizePerInstance": per_instance,
                          "ApproximateBacklogSize": average,
                          "HasBacklogWithoutCapacity": without_capacity}
                fresh = []
                for policy in self.tracking:
                    policy.value = policy.low_value = values[policy.spec.metric]
                    policy.high.add(policy.value > policy.spec.target)
                    policy.low.add(policy.value < policy.low_limit)
                    fresh.append(policy)
                for step_policy in self.steps:
                    self._step_policy(step_policy, values[step_policy.spec.alarm.metric_name], t)
                self._decide(t, fresh, True)
            loads.append(float(backlog))
            rows.append(list(self.in_service))
            k += 1

        counts = np.asarray(rows, dtype=np.int32).reshape(-1, pools)
        self._bill_counts(counts, step)
        load = np.asarray(loads)
        result = self._result("async", k * step, load, counts, counts.sum(axis=1) * slots,
                              (float(slots),) * pools)
        total = int(waits.sum())
        cumulative = np.cumsum(waits)

        def percentile(q: float) -> float:
            if not total:
                return 0.0
            return float(np.searchsorted(cumulative, q * total, side="left"))

        result.asynchronous = {
            "jobs": arrived,
            "completed": completed,
            "unserved_jobs": arrived - total,
            "wait_s": {"p50": percentile(0.50), "p95": percentile(0.95),
                       "p99": percentile(0.99), "max": round(wait_max, 3)},
            "time_to_first_instance_s": [round(w, 3) for w in wake_ups],
            "peak_backlog": int(load.max(initial=0)),
        }
        return result
