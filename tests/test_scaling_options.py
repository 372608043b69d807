"""Scaling options, pure: step intervals with Application Auto Scaling's bounds, streaming-safe
scale-in, schedule expressions."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk.aws_applicationautoscaling import ScalingInterval
from hypothesis import given, settings
from hypothesis import strategies as st

from deepgram_scaling import (
    DeepgramScalingConfigError,
    StepScalingOptions,
    StreamingSafeScaleIn,
)
from deepgram_scaling._validation import Problems
from deepgram_scaling.scaling_options import check_steps, parse_schedule, step_for

STEPS = StepScalingOptions(steps=[
    ScalingInterval(upper=3, change=-1),
    ScalingInterval(lower=3, upper=10.5, change=0),
    ScalingInterval(lower=10.5, change=2),
])


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([ScalingInterval(upper=3, change=-1), ScalingInterval(lower=4, change=1)],
         r"leaves a gap between 3 and 4"),
        ([ScalingInterval(upper=5, change=-1), ScalingInterval(lower=4, change=1)],
         r"has overlapping steps: \[None, 5\) and \[4, None\)"),
        ([ScalingInterval(lower=0, upper=3, change=-1), ScalingInterval(lower=3, change=1)],
         r"leaves a gap below 0: the lowest step needs lower=None"),
        ([ScalingInterval(upper=3, change=-1), ScalingInterval(lower=3, upper=9, change=1)],
         r"leaves a gap from 9 up: the highest step needs upper=None"),
        ([ScalingInterval(upper=3, change=2), ScalingInterval(lower=3, change=-1)],
         r"changes must not decrease as the metric rises, got \[2, -1\]"),
        ([ScalingInterval(change=1)], r"must hold between 2 and 20 steps"),
        ([ScalingInterval(upper=float(i + 1), lower=None if i == 0 else float(i), change=i)
          for i in range(20)] + [ScalingInterval(lower=20, change=21)],
         r"must hold between 2 and 20 steps .*got 21"),
        ([ScalingInterval(upper=3, change=0), ScalingInterval(lower=3, change=0)],
         r"must change capacity somewhere"),
        ([ScalingInterval(lower=5, upper=5, change=0), ScalingInterval(change=1)],
         r"step_scaling.steps\[0\] must have lower < upper"),
    ],
)
def test_invalid_steps(steps, message):
    # The options check themselves when made, before any endpoint sees them.
    with pytest.raises(DeepgramScalingConfigError, match=message):
        StepScalingOptions(steps=steps)


def test_scale_in_step_acts_at_its_upper_bound():
    # Application Auto Scaling: below the threshold the upper bound is inclusive
    # (docs/aws-behaviour.md#step-bounds), so "upper=3" removes an instance at exactly 3.
    ordered = check_steps(Problems(), "steps", STEPS.steps)
    assert step_for(ordered, 3).change == -1
    assert step_for(ordered, 3.01).change == 0
    assert step_for(ordered, 10.5).change == 2
    assert step_for(ordered, 10.49).change == 0


def test_scale_in_and_scale_out_steps_may_not_meet():
    problems = Problems()
    check_steps(problems, "steps", [ScalingInterval(upper=3, change=-1),
                                    ScalingInterval(lower=3, change=1)])
    assert len(problems) == 1
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"a scale-in step and a scale-out step meet at 3, where both "
                             r"alarms fire"):
        problems.raise_if_any()


@settings(max_examples=150, deadline=None)
@given(st.lists(
    st.tuples(st.one_of(st.none(), st.integers(-5, 15)), st.one_of(st.none(), st.integers(-5, 15)),
              st.integers(-3, 3)),
    min_size=0, max_size=6))
def test_steps_cover_the_line_exactly_once_or_are_rejected(raw):
    steps = [ScalingInterval(lower=lo, upper=hi, change=c) for lo, hi, c in raw]
    problems = Problems()
    ordered = check_steps(problems, "steps", steps)
    if problems:
        assert ordered == ()
        return
    # Every point is acted on by at most one step, with Application Auto Scaling's bounds
    # (scale-in: lower exclusive, upper inclusive; scale-out: lower inclusive, upper
    # exclusive); a point no step acts on lies in a change=0 band. Changes never decrease.
    def acts(step: ScalingInterval, x: float) -> bool:
        if step.change < 0:
            return (step.lower is None or x > step.lower) and (step.upper is None or x <= step.upper)
        return (step.lower is None or x >= step.lower) and (step.upper is None or x < step.upper)

    for point in [x / 2 for x in range(-30, 40)]:
        acting = [s for s in ordered if s.change != 0 and acts(s, point)]
        assert len(acting) <= 1
        found = step_for(ordered, point)
        if acting:
            assert found is acting[0]
        else:
            assert found.change == 0
            assert (found.lower is None or point >= found.lower) and (
                found.upper is None or point <= found.upper)
    changes = [s.change for s in ordered]
    assert changes == sorted(changes)


def test_rejected_steps_always_come_back_empty():
    # found by hypothesis: an all-zero step list was reported and still returned
    problems = Problems()
    assert check_steps(problems, "steps", [ScalingInterval(upper=0, change=0),
                                           ScalingInterval(lower=0, change=0)]) == ()
    assert problems


def test_step_evaluation_is_at_most_a_day():
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"step_scaling.evaluation_periods must be between 1 and 1440 \(one-minute datapoints"):
        StepScalingOptions(steps=STEPS.steps, evaluation_periods=1441)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: StreamingSafeScaleIn(quiet_period=cdk.Duration.seconds(30)),
         r"scale_in.quiet_period must be between 60 and 86400 seconds \(at least one 60 s metric period"),
        (lambda: StreamingSafeScaleIn(quiet_period=cdk.Duration.seconds(90)),
         r"scale_in.quiet_period must be whole minutes"),
        (lambda: StreamingSafeScaleIn(low_water_mark=0), r"scale_in.low_water_mark must be > 0, got 0"),
    ],
)
def test_invalid_streaming_safe_options(factory, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        factory()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 59).map(cdk.Duration.seconds))
def test_invalid_quiet_periods_are_refused_when_made(period):
    try:
        StreamingSafeScaleIn(quiet_period=period)
    except DeepgramScalingConfigError as err:
        assert "scale_in.quiet_period" in str(err)
    else:
        raise AssertionError(period)


# --- streaming-safe scale-in ---------------------------------------------------------------


def test_the_low_water_mark_given_wins_over_half_the_scale_out_point():
    assert StreamingSafeScaleIn(low_water_mark=2).low_water(7) == 2
    assert StreamingSafeScaleIn().low_water(7) == 3.5
    assert StreamingSafeScaleIn().quiet_period.to_minutes() == 30  # the longest stream


# --- step options ----------------------------------------------------------------------------


def test_steps_are_ordered_from_the_lowest_interval_up():
    options = StepScalingOptions(steps=list(reversed(STEPS.steps)))
    assert [(s.lower, s.upper, s.change) for s in options.ordered_steps] == [
        (None, 3, -1), (3, 10.5, 0), (10.5, None, 2)]
    assert (options.cooldown.to_seconds(), options.evaluation_periods,
            options.datapoints_to_alarm) == (300, 1, None)


def test_datapoints_to_alarm_may_not_exceed_the_evaluation_periods():
    assert StepScalingOptions(steps=STEPS.steps, evaluation_periods=3,
                              datapoints_to_alarm=3).datapoints_to_alarm == 3
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"step_scaling.datapoints_to_alarm must be between 1 and 3, got 4"):
        StepScalingOptions(steps=STEPS.steps, evaluation_periods=3, datapoints_to_alarm=4)


@pytest.mark.parametrize(("steps", "message"), [
    ("ml.g6", r"step_scaling.steps must be a list of appscaling.ScalingInterval, got 'ml.g6'"),
    ([ScalingInterval(upper=1, change=-1), {"lower": 1, "change": 1}],
     r"step_scaling.steps must hold appscaling.ScalingInterval objects"),
    ([ScalingInterval(upper=1, change=-1.5), ScalingInterval(lower=1, change=1)],
     r"step_scaling.steps\[0\].change must be a whole number, got -1.5"),
    ([ScalingInterval(upper=float("inf"), change=-1), ScalingInterval(lower=1, change=1)],
     r"step_scaling.steps\[0\].upper must be a finite number or None, got inf"),
])
def test_malformed_steps_name_the_step(steps, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        StepScalingOptions(steps=steps)


def test_the_0_1_step_type_is_a_deprecated_scaling_interval():
    from deepgram_scaling import ScalingStep

    with pytest.warns(DeprecationWarning, match="ScalingStep is deprecated"):
        step = ScalingStep(lower=3, change=2)
    assert isinstance(step, ScalingInterval)
    assert (step.lower, step.upper, step.change) == (3, None, 2)


# --- schedules -----------------------------------------------------------------------------


@pytest.mark.parametrize("expression", [
    "cron(0 8 ? * MON-FRI *)", "rate(1 hour)", "rate(2 hours)", "rate(1 day)", "rate(5 minutes)",
    "at(2026-12-01T08:00:00)", "  rate(1 minute)  ",
    # EventBridge's singular/plural rule, which no Application Auto Scaling source states:
    # accepted here, warned about by the construct (docs/aws-behaviour.md#schedule-expressions)
    "rate(1 hours)", "rate(2 hour)"])
def test_valid_schedule_expressions_become_schedules(expression):
    problems = Problems()
    schedule = parse_schedule(problems, "schedule", expression)
    assert not problems
    assert schedule is not None and schedule.expression_string == expression.strip()


@pytest.mark.parametrize(("expression", "says"), [
    ("rate(0 hours)", "positive whole number"), ("rate(1 week)", "unit of minute"),
    ("cron(0 8 * * ?)", "must have six fields"),
    ("cron(0 8 * * * *)", r"'\?' in exactly one of day-of-month and day-of-week"),
    ("cron(0 25 ? * MON-FRI *)", "has hours '25': 25 is out of range; valid hours: 0-23"),
    ("at(2026-12-01 08:00:00)", r"must be 'at\(yyyy-mm-ddThh:mm:ss\)'"),
    ("every day", r"is not a schedule expression: use 'cron\(")])
def test_invalid_schedule_expressions_are_named(expression, says):
    # given an expression Application Auto Scaling refuses
    problems = Problems()
    # when it is parsed
    assert parse_schedule(problems, "floor.schedule", expression) is None
    # then the prop, the expression and what is valid are named
    with pytest.raises(DeepgramScalingConfigError,
                       match=rf"floor.schedule {re.escape(repr(expression))} .*{says}"):
        problems.raise_if_any()


def test_a_schedule_object_with_a_bad_field_is_refused_too():
    # given a Schedule built with an hour AWS refuses
    schedule = appscaling.Schedule.cron(hour="25", minute="0")
    problems = Problems()
    # when it is parsed / then the hour is named
    assert parse_schedule(problems, "schedule", schedule) is None
    with pytest.raises(DeepgramScalingConfigError, match="has hours '25'"):
        problems.raise_if_any()


def test_schedule_objects_and_tokens_pass_through():
    schedule = appscaling.Schedule.cron(hour="8", minute="0")
    problems = Problems()
    assert parse_schedule(problems, "schedule", schedule).expression_string == \
        schedule.expression_string
    token = cdk.Fn.ref("Rate")
    assert parse_schedule(problems, "schedule", token).expression_string == token
    assert parse_schedule(problems, "schedule", 8) is None
    assert len(problems) == 1
