"""Scaling options and their rules: pure values, checked when they are made.

Application Auto Scaling allows 20 step adjustments per step policy and 200 scheduled actions
per scalable target (docs/aws-behaviour.md#scaling-quotas); several policies on one target
scale out if any asks, scale in only if all agree, and the largest capacity wins
(docs/aws-behaviour.md#several-policies). Step intervals are aws-cdk-lib's own
``appscaling.ScalingInterval``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling

from ._validation import Problems, fmt, is_token, to_seconds
from .schedule_expressions import schedule_problems

#: Application Auto Scaling quotas (docs/aws-behaviour.md#scaling-quotas).
MAX_STEPS = 20
MAX_SCHEDULED_ACTIONS = 200
#: A streaming connection lasts up to 30 minutes (docs/aws-behaviour.md#stream-duration).
LONGEST_STREAM = Duration.minutes(30)


def ScalingStep(*, change: int, lower: float | None = None,
                upper: float | None = None) -> appscaling.ScalingInterval:
    """Deprecated: use ``aws_cdk.aws_applicationautoscaling.ScalingInterval``, which this
    returns.

    Which bound is inclusive depends on the side of the alarm threshold the step lies on
    (docs/aws-behaviour.md#step-bounds): a step that adds instances holds
    ``lower <= metric < upper``; a step that removes instances holds
    ``lower < metric <= upper``, so ``upper=3, change=-1`` also removes one at exactly 3.
    """
    warnings.warn("ScalingStep is deprecated: use aws_cdk.aws_applicationautoscaling."
                  "ScalingInterval", DeprecationWarning, stacklevel=2)
    return appscaling.ScalingInterval(change=change, lower=lower, upper=upper)


@dataclass(frozen=True, kw_only=True)
class StepScalingOptions:
    """Step scaling on the endpoint's own signal, instead of target tracking.

    The steps must cover the whole line, from ``lower=None`` to ``upper=None``, without gaps
    or overlaps, and their changes must not decrease as the metric rises (more load never
    asks for fewer instances). At most 20 steps. Bounds follow Application Auto Scaling's
    rules (docs/aws-behaviour.md#step-bounds): a step that adds instances holds
    ``lower <= metric < upper``, a step that removes instances ``lower < metric <= upper``;
    a scale-in step and a scale-out step may not share a bound.

    Example, target 7 concurrent requests per instance: remove one at 3 or below, hold above
    3 and below 10.5, add two at 10.5 (1.5 x target) and above::

        StepScalingOptions(steps=[
            ScalingInterval(upper=3, change=-1),
            ScalingInterval(lower=3, upper=10.5, change=0),
            ScalingInterval(lower=10.5, change=2),
        ])

    :param steps: The intervals (``appscaling.ScalingInterval``).
    :param cooldown: Default: ``Duration.seconds(300)``.
    :param evaluation_periods: One-minute datapoints the alarms look at. Default: 1.
    :param datapoints_to_alarm: Breaching datapoints among them. Default: all of them.
    """

    steps: Sequence[appscaling.ScalingInterval]
    cooldown: Duration = Duration.seconds(300)
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None

    def __post_init__(self) -> None:
        problems = Problems()
        check_steps(problems, "step_scaling.steps", self.steps)
        problems.duration("step_scaling.cooldown", self.cooldown, minimum_s=0)
        if problems.number("step_scaling.evaluation_periods", self.evaluation_periods,
                           minimum=1, maximum=1440, integer=True,
                           why="(one-minute datapoints; CloudWatch evaluates at most a day)"
                           ) and self.datapoints_to_alarm is not None:
            problems.number("step_scaling.datapoints_to_alarm", self.datapoints_to_alarm,
                            minimum=1, maximum=self.evaluation_periods, integer=True)
        problems.raise_if_any()

    @property
    def ordered_steps(self) -> tuple[appscaling.ScalingInterval, ...]:
        """The steps from the lowest interval up."""
        return check_steps(Problems(), "step_scaling.steps", self.steps)


@dataclass(frozen=True, kw_only=True)
class StreamingSafeScaleIn:
    """Scale in without cutting streams: target tracking only adds instances, and a step
    policy removes one instance at a time after the concurrency has stayed below
    ``low_water_mark`` for all of ``quiet_period``.

    :param low_water_mark: Concurrent requests per instance (the ``Maximum`` of
        ``ConcurrentRequestsPerModel`` per minute) below which one instance may go; it must
        lie below the concurrency at which scaling out starts. Default: None, half of it, so
        one instance fewer still stays under target on a fleet of two or more.
    :param quiet_period: How long the concurrency must stay low before each removal (whole
        minutes, 1 minute to 1 day); also the removal policy's cooldown. Default: 30 minutes,
        the longest a stream lasts (docs/aws-behaviour.md#stream-duration).
    """

    low_water_mark: float | None = None
    quiet_period: Duration = LONGEST_STREAM

    def __post_init__(self) -> None:
        problems = Problems()
        if problems.duration("scale_in.quiet_period", self.quiet_period, minimum_s=60,
                             maximum_s=86_400,
                             why="(at least one 60 s metric period, at most a day)"):
            seconds = to_seconds(self.quiet_period)
            if isinstance(seconds, (int, float)) and not is_token(seconds) and seconds % 60:
                problems.add("scale_in.quiet_period must be whole minutes (the metric "
                             f"period), got {self.quiet_period.to_human_string()}")
        if self.low_water_mark is not None:
            problems.number("scale_in.low_water_mark", self.low_water_mark, minimum=0,
                            exclusive_minimum=True)
        problems.raise_if_any()

    def low_water(self, scale_out_concurrency: float) -> float:
        """The low-water mark, given the concurrency at which scaling out starts."""
        return self.low_water_mark if self.low_water_mark is not None \
            else scale_out_concurrency / 2


def check_steps(problems: Problems, prop: str,
                steps: object) -> tuple[appscaling.ScalingInterval, ...]:
    """Check step intervals; return them ordered from the lowest interval up."""
    if isinstance(steps, (str, bytes)) or not isinstance(steps, Sequence):
        problems.add(f"{prop} must be a list of appscaling.ScalingInterval, got {fmt(steps)}")
        return ()
    if not 2 <= len(steps) <= MAX_STEPS:
        problems.add(f"{prop} must hold between 2 and {MAX_STEPS} steps (Application Auto "
                     f"Scaling's limit per policy), got {len(steps)}")
        return ()
    bad = [s for s in steps if not isinstance(s, appscaling.ScalingInterval)]
    if bad:
        problems.add(f"{prop} must hold appscaling.ScalingInterval objects, got {fmt(bad[0])}")
        return ()
    before = len(problems)
    for index, step in enumerate(steps):
        if isinstance(step.change, bool) or not isinstance(step.change, int):
            problems.add(f"{prop}[{index}].change must be a whole number, got {fmt(step.change)}")
        for side in ("lower", "upper"):
            bound = getattr(step, side)
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, (int, float))
                or not math.isfinite(bound)
            ):
                problems.add(f"{prop}[{index}].{side} must be a finite number or None, "
                             f"got {fmt(bound)}")
        if step.lower is not None and step.upper is not None and \
                isinstance(step.lower, (int, float)) and isinstance(step.upper, (int, float)) \
                and not step.lower < step.upper:
            problems.add(f"{prop}[{index}] must have lower < upper, got lower={step.lower}, "
                         f"upper={step.upper}")
    if len(problems) > before:
        return ()

    ordered = sorted(steps, key=lambda s: -math.inf if s.lower is None else s.lower)
    if ordered[0].lower is not None:
        problems.add(f"{prop} leaves a gap below {ordered[0].lower}: the lowest step needs "
                     "lower=None")
    if ordered[-1].upper is not None:
        problems.add(f"{prop} leaves a gap from {ordered[-1].upper} up: the highest step needs "
                     "upper=None")
    for below, above in itertools.pairwise(ordered):
        if below.upper is None or (above.lower is not None and below.upper > above.lower):
            problems.add(f"{prop} has overlapping steps: [{below.lower}, {below.upper}) and "
                         f"[{above.lower}, {above.upper})")
        elif above.lower is None or below.upper < above.lower:
            problems.add(f"{prop} leaves a gap between {below.upper} and {above.lower}")
    if len(problems) > before:
        return ()
    changes = [s.change for s in ordered]
    for below, above in itertools.pairwise(ordered):
        if below.change < 0 < above.change:
            problems.add(f"{prop}: a scale-in step and a scale-out step meet at {below.upper}, "
                         "where both alarms fire (scale-in upper bounds and scale-out lower "
                         "bounds are inclusive); put a change=0 step between them")
    if any(b < a for a, b in itertools.pairwise(changes)):
        problems.add(f"{prop} changes must not decrease as the metric rises, got {changes}")
    if all(c == 0 for c in changes):
        problems.add(f"{prop} must change capacity somewhere, got only change=0")
    if len(problems) > before:
        return ()
    return tuple(ordered)


def step_for(steps: Sequence[appscaling.ScalingInterval],
             value: float) -> appscaling.ScalingInterval:
    """The step that acts at ``value`` (steps as returned by :func:`check_steps`), with
    Application Auto Scaling's bounds: scale-in steps include their upper bound, scale-out
    steps their lower bound, and an acting step wins a shared bound over a ``change=0``
    band."""

    def holds(step: appscaling.ScalingInterval) -> bool:
        removes = step.change < 0
        above_lower = step.lower is None or (value > step.lower if removes
                                             else value >= step.lower)
        below_upper = step.upper is None or (value <= step.upper if removes
                                             else value < step.upper)
        return above_lower and below_upper

    acting = [s for s in steps if s.change != 0 and holds(s)]
    if acting:
        return acting[0]
    for step in steps:
        if step.change == 0 and (step.lower is None or value >= step.lower) and (
                step.upper is None or value <= step.upper):
            return step
    raise LookupError(value)


# --- schedules -------------------------------------------------------------------------


def parse_schedule(problems: Problems, prop: str, schedule: object) -> appscaling.Schedule | None:
    """An Application Auto Scaling schedule from a :class:`Schedule` or an expression string:
    ``cron(m h dom mon dow year)``, ``rate(N unit)`` or ``at(yyyy-mm-ddThh:mm:ss)``.

    Expressions Application Auto Scaling would refuse (docs/aws-behaviour.md#schedule-expressions)
    are added to ``problems``, one per fault; an expression holding a token is not checked."""
    if isinstance(schedule, appscaling.Schedule):
        expression = schedule.expression_string
    elif isinstance(schedule, str):
        expression = schedule.strip()
    else:
        problems.add(f"{prop} must be an appscaling.Schedule or an expression string, "
                     f"got {fmt(schedule)}")
        return None
    if is_token(expression):
        return schedule if isinstance(schedule, appscaling.Schedule) else \
            appscaling.Schedule.expression(expression)
    found = schedule_problems(expression)
    for problem in found:
        problems.add(f"{prop} {problem}")
    if found:
        return None
    return schedule if isinstance(schedule, appscaling.Schedule) else \
        appscaling.Schedule.expression(expression)
