"""The scaling policies: when each one asks for a new capacity, and how their asks combine.

- Target tracking: a high alarm (``high_datapoints`` datapoints above target) scales out,
  a low alarm (``low_datapoints`` one-minute datapoints at least ``scale_in_margin`` below
  target) scales in; the new capacity is ``ceil(capacity x metric / target)``. No scale-in
  happens within the scale-in cooldown, which a scale-out ends.
- Several policies: scale out if any policy asks, scale in only if every target-tracking
  policy that may scale in asks; the largest capacity wins. Step policies act on their own
  (a step scale-in is not blocked by target tracking); within a step cooldown only a larger
  scale-out is applied, and only its difference. Cooldowns count from the end of the change.
- Scheduled actions change the scalable target's min/max at their cron times
  (``schedules.py`` computes the times); the desired count is clamped into the new bounds.

The run loops (``realtime_loop.py``, ``async_loop.py``) feed the alarms their datapoints;
whether an ask applies is the endpoint's business (``endpoint.py``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Callable

from ..metric_math import compile_queries
from .endpoint import Endpoint
from .params import Params
from .schedules import ScheduleError, fire_times
from .template import EndpointSetup, ScheduledAction, StepPolicy, TargetTracking


class Alarm:
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


COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


class Tracking:
    """A target-tracking policy: its high and low alarms and latest datapoints."""

    def __init__(self, spec: TargetTracking, params: Params) -> None:
        self.spec = spec
        self.high = Alarm(params.high_datapoints, params.high_datapoints)
        self.low = Alarm(params.low_datapoints, params.low_datapoints)
        self.low_limit = spec.target * (1 - params.scale_in_margin)
        self.math = compile_queries(spec.queries) if spec.queries else None
        self.value: float | None = None  # the latest datapoint (drives scale-out)
        self.low_value: float | None = None  # the latest one-minute datapoint (scale-in)
        self.in_cooldown_until = -1.0

    def proposal(self, capacity: int, value: float) -> int:
        return math.ceil(max(capacity, 1) * value / self.spec.target - 1e-9)


class StepScaling:
    """A step-scaling policy: its alarm and its cooldown."""

    def __init__(self, spec: StepPolicy) -> None:
        self.spec = spec
        alarm = spec.alarm
        self.alarm = Alarm(alarm.evaluation_periods, alarm.datapoints_to_alarm,
                            alarm.treat_missing)
        self.compare = COMPARE[alarm.comparison]
        self.cooldown_until = -1.0
        self.last_adjustment = 0

    def adjustment(self, value: float) -> int:
        offset = value - self.spec.alarm.threshold
        for interval in self.spec.intervals:
            if (interval.lower is None or offset >= interval.lower) and (
                    interval.upper is None or offset < interval.upper):
                return interval.adjustment
        return 0


class Policies:
    """The endpoint's target-tracking, step and scheduled policies, acting on it."""

    def __init__(self, setup: EndpointSetup, params: Params, endpoint: Endpoint) -> None:
        self.setup = setup
        self.endpoint = endpoint
        self.tracking = [Tracking(s, params) for s in setup.target_tracking]
        self.steps = [StepScaling(s) for s in setup.step_policies]

    # --- schedules -----------------------------------------------------------------------

    def schedule_events(self, start_epoch: float, horizon_s: float, *,
                        from_s: float = 0.0) -> list[tuple[float, ScheduledAction]]:
        """(seconds from the start, action) of every scheduled action firing in
        ``[from_s, horizon_s)``, in time order; ``rate()`` schedules count from the start.

        :raises ScheduleError: naming the action whose schedule or time zone is refused.
        """
        start = dt.datetime.fromtimestamp(start_epoch, dt.timezone.utc)
        begin = start + dt.timedelta(seconds=from_s)
        end = start + dt.timedelta(seconds=horizon_s)
        fired = []
        for action in self.setup.schedules:
            try:
                for when in fire_times(action.schedule, action.timezone, begin, end,
                                       anchor=start):
                    fired.append(((when - start).total_seconds(), action))
            except ScheduleError as err:
                raise ScheduleError(f"scheduled action {action.name!r}: {err}") from None
        return sorted(fired, key=lambda item: item[0])

    def apply_schedule(self, action: ScheduledAction, t: float) -> None:
        endpoint = self.endpoint
        if action.min_capacity is not None:
            endpoint.min_capacity = action.min_capacity
        if action.max_capacity is not None:
            endpoint.max_capacity = action.max_capacity
        endpoint.set_desired(endpoint.desired, t, f"scheduled {action.name}")

    # --- target tracking and step scaling ------------------------------------------------

    def decide(self, t: float, fresh: list[Tracking], minute: bool) -> None:
        """Combine the target-tracking policies that just got a datapoint. Scale-in is
        considered only when the low alarms got a new one-minute datapoint.

        Application Auto Scaling computes from the current capacity. Because the endpoint
        refuses changes while Updating, a change can only apply when every instance asked
        for is in service, so the desired and in-service counts agree whenever it does. A
        target-tracking scale-out cooldown then changes nothing: within it only a scale-out
        above the current capacity applies, which every scale-out is.
        """
        endpoint = self.endpoint
        capacity = endpoint.desired
        if not minute and not any(p.high.state for p in fresh):
            return
        ups = [(p.proposal(capacity, p.value), p)
               for p in fresh if p.high.state and p.value is not None]
        ups = [(n, p) for n, p in ups if n > endpoint.desired]
        if ups:
            value, _ = max(ups, key=lambda item: item[0])
            names = "+".join(sorted({p.spec.metric for _, p in ups}))
            if endpoint.set_desired(value, t, f"target tracking {names} above target"):
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
            if value < endpoint.desired and endpoint.set_desired(
                    value, t, "target tracking below target"):
                for policy in voters:
                    policy.in_cooldown_until = (endpoint.done(t)
                                                + policy.spec.scale_in_cooldown_s)

    def step_policy(self, policy: StepScaling, value: float | None, t: float) -> None:
        endpoint = self.endpoint
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
            applied = endpoint.set_desired(endpoint.desired + change, t,
                                           f"step policy on {name} {change:+d}")
        elif adjustment < 0:
            if within:
                return
            applied = endpoint.set_desired(endpoint.desired + adjustment, t,
                                           f"step policy on {name} {adjustment:+d}")
        else:
            return
        if not applied:
            return  # refused or failed: the alarm, still in ALARM, runs it again
        if not within:
            policy.cooldown_until = endpoint.done(t) + policy.spec.cooldown_s
            policy.last_adjustment = max(adjustment, 0)
        else:
            policy.last_adjustment = adjustment
