"""Operating levers: streaming-safe scale-in, step scaling, scheduled capacity, dashboards,
streaming alarms, and the rule that the policies the constructs create never fight."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from hypothesis import given, settings
from hypothesis import strategies as st

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
    RealtimeDeepgramEndpoint,
    ScalingStep,
    StepScalingOptions,
    StreamingSafeScaleIn,
)
from deepgram_scaling._validation import Problems
from deepgram_scaling.scaling_options import check_steps, step_for

from .conftest import IMAGE_URI, PACKAGE_ARN


def realtime(stack: cdk.Stack, construct_id: str = "Endpoint", **overrides: Any):
    props: dict[str, Any] = {"model": DeepgramModel.from_model_package(PACKAGE_ARN),
                             "instance_pools": ["ml.g6.2xlarge", "ml.g6e.2xlarge"],
                             "max_capacity": 6, "target_concurrency_per_instance": 7}
    props.update(overrides)
    return RealtimeDeepgramEndpoint(stack, construct_id, **props)


def policies_of(template: Template) -> dict[str, dict]:
    return {k: v["Properties"] for k, v in
            template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()}


def alarm_driving(template: Template, policy_id: str) -> dict:
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("AlarmActions") == [{"Ref": policy_id}]]
    assert len(alarms) == 1
    return alarms[0]


def dashboard_widgets(template: Template, prefix: str) -> list[dict]:
    """The dashboard body as JSON, tokens replaced by '<ref>'."""
    (dashboard,) = [d for k, d in template.find_resources("AWS::CloudWatch::Dashboard").items()
                    if k.startswith(prefix)]
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(p if isinstance(p, str) else "<ref>" for p in parts)
    return json.loads(body)["widgets"]


def widget_metrics(widget: dict) -> list[tuple[str, str, str]]:
    """(namespace, metric name, stat) of each line of a graph widget."""
    return [(m[0], m[1], m[-1].get("stat", "Average")) for m in widget["properties"]["metrics"]]


# --- streaming-safe scale-in -------------------------------------------------------------


@pytest.fixture(scope="module")
def streaming_safe(new_stack: Callable[..., cdk.Stack]) -> tuple[RealtimeDeepgramEndpoint, Template]:
    stack = new_stack("StreamingSafe")
    endpoint = realtime(stack, scale_in=StreamingSafeScaleIn())
    return endpoint, Template.from_stack(stack)


def test_streaming_safe_target_tracking_only_scales_out(streaming_safe):
    _, template = streaming_safe
    tracking = [p for p in policies_of(template).values()
                if p["PolicyType"] == "TargetTrackingScaling"]
    assert len(tracking) == 1
    config = tracking[0]["TargetTrackingScalingPolicyConfiguration"]
    assert config["DisableScaleIn"] is True
    assert config["TargetValue"] == 7


def test_streaming_safe_removes_one_instance_after_the_quiet_period(streaming_safe):
    endpoint, template = streaming_safe
    steps = {k: p for k, p in policies_of(template).items() if p["PolicyType"] == "StepScaling"}
    assert len(steps) == 1
    ((policy_id, policy),) = steps.items()
    assert policy["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": 1800,
        "MetricAggregationType": "Maximum",
        "StepAdjustments": [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}],
    }
    alarm = alarm_driving(template, policy_id)
    assert {k: alarm[k] for k in ("MetricName", "Namespace", "Statistic", "Period", "Threshold",
                                  "ComparisonOperator", "EvaluationPeriods",
                                  "DatapointsToAlarm", "TreatMissingData")} == {
        "MetricName": "ConcurrentRequestsPerModel", "Namespace": "AWS/SageMaker",
        "Statistic": "Maximum", "Period": 60, "Threshold": 3.5,
        "ComparisonOperator": "LessThanThreshold", "EvaluationPeriods": 30,
        "DatapointsToAlarm": 30, "TreatMissingData": "breaching"}
    assert {d["Name"] for d in alarm["Dimensions"]} == {"EndpointName", "VariantName"}
    assert endpoint.scale_in_policy is not None and endpoint.scale_in_alarm is not None


def test_streaming_safe_policies_do_not_fight(streaming_safe):
    # Scale-out follows target tracking; scale-in comes only from the quiet alarm, whose
    # threshold lies below the target, so the two never ask for opposite moves at once.
    _, template = streaming_safe
    (policy_id,) = [k for k, p in policies_of(template).items() if p["PolicyType"] == "StepScaling"]
    assert alarm_driving(template, policy_id)["Threshold"] < 7


def test_default_mode_has_scale_in_by_target_tracking(example_template: Template):
    realtime_policies = {k: p for k, p in policies_of(example_template).items()
                         if k.startswith("Realtime")}
    # the example is a mixed fleet: the metric-math policy and its high-resolution companion
    assert [p["PolicyType"] for p in realtime_policies.values()] == ["TargetTrackingScaling"] * 2
    for policy in realtime_policies.values():
        assert "DisableScaleIn" not in policy["TargetTrackingScalingPolicyConfiguration"]


# --- step scaling --------------------------------------------------------------------------

STEPS = StepScalingOptions(steps=[
    ScalingStep(upper=3, change=-1),
    ScalingStep(lower=3, upper=10.5, change=0),
    ScalingStep(lower=10.5, change=2),
])


@pytest.fixture(scope="module")
def step_mode(new_stack: Callable[..., cdk.Stack]) -> Template:
    stack = new_stack("StepMode")
    realtime(stack, target_concurrency_per_instance=None, step_scaling=STEPS)
    return Template.from_stack(stack)


def test_step_mode_replaces_target_tracking(step_mode: Template):
    kinds = sorted(p["PolicyType"] for p in policies_of(step_mode).values())
    assert kinds == ["StepScaling", "StepScaling"]  # one for scale-out, one for scale-in


def test_step_mode_intervals_and_alarms(step_mode: Template):
    by_alarm = {}
    for policy_id, policy in policies_of(step_mode).items():
        alarm = alarm_driving(step_mode, policy_id)
        assert (alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == (
            "ConcurrentRequestsPerModel", "Maximum", 60)
        by_alarm[alarm["ComparisonOperator"]] = (alarm["Threshold"],
                                                 policy["StepScalingPolicyConfiguration"])
    upper_threshold, upper = by_alarm["GreaterThanOrEqualToThreshold"]
    assert upper_threshold == 10.5
    assert upper["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]
    assert upper["AdjustmentType"] == "ChangeInCapacity" and upper["Cooldown"] == 300
    lower_threshold, lower = by_alarm["LessThanOrEqualToThreshold"]
    assert lower_threshold == 3
    assert lower["StepAdjustments"] == [{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([ScalingStep(upper=3, change=-1), ScalingStep(lower=4, change=1)],
         r"leaves a gap between 3 and 4"),
        ([ScalingStep(upper=5, change=-1), ScalingStep(lower=4, change=1)],
         r"has overlapping steps: \[None, 5\) and \[4, None\)"),
        ([ScalingStep(lower=0, upper=3, change=-1), ScalingStep(lower=3, change=1)],
         r"leaves a gap below 0: the lowest step needs lower=None"),
        ([ScalingStep(upper=3, change=-1), ScalingStep(lower=3, upper=9, change=1)],
         r"leaves a gap from 9 up: the highest step needs upper=None"),
        ([ScalingStep(upper=3, change=2), ScalingStep(lower=3, change=-1)],
         r"changes must not decrease as the metric rises, got \[2, -1\]"),
        ([ScalingStep(change=1)], r"must hold between 2 and 20 steps"),
        ([ScalingStep(upper=float(i + 1), lower=None if i == 0 else float(i), change=i)
          for i in range(20)] + [ScalingStep(lower=20, change=21)],
         r"must hold between 2 and 20 steps .*got 21"),
        ([ScalingStep(upper=3, change=0), ScalingStep(lower=3, change=0)],
         r"must change capacity somewhere"),
        ([ScalingStep(lower=5, upper=5, change=0), ScalingStep(change=1)],
         r"step_scaling.steps\[0\] must have lower < upper"),
    ],
)
def test_invalid_steps(new_stack, steps, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        realtime(new_stack(nag=False), step_scaling=StepScalingOptions(steps=steps))


def test_step_scaling_and_streaming_safe_together_is_refused(new_stack):
    with pytest.raises(DeepgramScalingConfigError, match=r"scale_in applies to target tracking"):
        realtime(new_stack(nag=False), step_scaling=STEPS, scale_in=StreamingSafeScaleIn())


@pytest.mark.parametrize("upper", [2, 1])
def test_async_scale_in_step_may_not_undo_the_wake_up(new_stack, upper):
    # upper=1 is the exact defect: the scale-in upper bound is inclusive, so one instance
    # serving one request (a backlog of 1 per instance) would be removed and woken again.
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"a scale-in step must end below a backlog of 1 per instance .*"
                             rf"upper={upper}, change=-1"):
        AsyncDeepgramEndpoint(
            new_stack(nag=False), "Async", model=DeepgramModel.from_image(IMAGE_URI),
            instance_pools=["ml.g6.2xlarge"], max_capacity=4,
            step_scaling=StepScalingOptions(steps=[ScalingStep(upper=upper, change=-1),
                                                   ScalingStep(lower=upper, upper=10, change=0),
                                                   ScalingStep(lower=10, change=1)]))


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
    check_steps(problems, "steps", [ScalingStep(upper=3, change=-1),
                                    ScalingStep(lower=3, change=1)])
    assert len(problems) == 1
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"a scale-in step and a scale-out step meet at 3, where both "
                             r"alarms fire"):
        problems.raise_if_any()


def test_async_step_scaling_keeps_the_wake_up(new_stack):
    stack = new_stack("AsyncSteps")
    AsyncDeepgramEndpoint(
        stack, "Async", model=DeepgramModel.from_image(IMAGE_URI),
        instance_pools=["ml.g6.2xlarge"], max_capacity=4,
        step_scaling=StepScalingOptions(steps=[ScalingStep(upper=0.5, change=-1),
                                               ScalingStep(lower=0.5, upper=10, change=0),
                                               ScalingStep(lower=10, change=2)]))
    template = Template.from_stack(stack)
    policies = set(template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy"))
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
              if any(action.get("Ref") in policies for action in a["Properties"].get("AlarmActions", []))]
    metrics = sorted(a["MetricName"] for a in alarms)
    assert metrics == ["ApproximateBacklogSizePerInstance", "ApproximateBacklogSizePerInstance",
                       "HasBacklogWithoutCapacity"]
    for alarm in alarms:
        assert [d["Name"] for d in alarm["Dimensions"]] == ["EndpointName"]


@settings(max_examples=150, deadline=None)
@given(st.lists(
    st.tuples(st.one_of(st.none(), st.integers(-5, 15)), st.one_of(st.none(), st.integers(-5, 15)),
              st.integers(-3, 3)),
    min_size=0, max_size=6))
def test_steps_cover_the_line_exactly_once_or_are_rejected(raw):
    steps = [ScalingStep(lower=lo, upper=hi, change=c) for lo, hi, c in raw]
    problems = Problems()
    ordered = check_steps(problems, "steps", steps)
    if problems:
        assert ordered == ()
        return
    # Every point is acted on by at most one step, with Application Auto Scaling's bounds
    # (scale-in: lower exclusive, upper inclusive; scale-out: lower inclusive, upper
    # exclusive); a point no step acts on lies in a change=0 band. Changes never decrease.
    def acts(step: ScalingStep, x: float) -> bool:
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


# --- scheduled capacity ------------------------------------------------------------------


def test_example_has_a_business_hours_floor(example_template: Template):
    (target,) = [t["Properties"] for k, t in
                 example_template.find_resources("AWS::ApplicationAutoScaling::ScalableTarget").items()
                 if k.startswith("Realtime")]
    assert target["ScheduledActions"] == [
        {"ScheduledActionName": "BusinessHoursFloor", "Schedule": "cron(0 8 ? * MON-FRI *)",
         "ScalableTargetAction": {"MinCapacity": 2}, "Timezone": "America/New_York"},
        {"ScheduledActionName": "EveningRelease", "Schedule": "cron(0 19 ? * MON-FRI *)",
         "ScalableTargetAction": {"MinCapacity": 1}, "Timezone": "America/New_York"},
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"schedule": "every day at 8", "min_capacity": 2},
         r"schedule must be 'cron\(minutes hours day-of-month month day-of-week year\)'.*got 'every day at 8'"),
        ({"schedule": "cron(0 8 * * ?)", "min_capacity": 2}, r"schedule must be 'cron"),
        ({"schedule": "rate(1 hours)", "min_capacity": 2}, r"got 'rate\(1 hours\)'"),
        ({"schedule": "rate(2 hours)", "min_capacity": 4, "max_capacity": 3},
         r"min_capacity must be <= max_capacity \(3\) within one scheduled action, got 4"),
        ({"schedule": "rate(2 hours)", "min_capacity": 9},
         r"min_capacity must be <= the endpoint's max_capacity \(6\) unless the action also sets max_capacity, got 9"),
        ({"schedule": "rate(2 hours)", "min_capacity": 0},
         r"min_capacity must be >= 1 for a real-time endpoint, got 0"),
        ({"schedule": "at(2026-12-01T08:00:00)"}, r"needs min_capacity, max_capacity or both"),
        ({"schedule": "rate(2 hours)", "max_capacity": 1, "min_capacity": None},
         r"max_capacity must be >= the endpoint's min_capacity \(2\) unless the action also sets min_capacity, got 1"),
    ],
)
def test_invalid_schedules(new_stack, kwargs, message):
    endpoint = realtime(new_stack(nag=False), min_capacity=2)
    with pytest.raises(DeepgramScalingConfigError, match=message):
        endpoint.scale_on_schedule("Action", **kwargs)


def test_schedule_object_and_quota(new_stack):
    from aws_cdk import aws_applicationautoscaling as appscaling

    stack = new_stack(nag=False)
    endpoint = realtime(stack)
    endpoint.scale_on_schedule("Obj", schedule=appscaling.Schedule.cron(hour="8", minute="0"),
                               min_capacity=2, max_capacity=8)
    for index in range(199):
        endpoint.scale_on_schedule(f"A{index}", schedule="rate(1 day)", max_capacity=6)
    assert endpoint.scaling.scheduled_actions == 200  # Application Auto Scaling's quota
    endpoint.scale_on_schedule("TooMany", schedule="rate(1 day)", max_capacity=6)
    # The quota is checked at synthesis, when every action is known.
    with pytest.raises(RuntimeError, match=r"at most 200 scheduled actions .*got 201"):
        Template.from_stack(stack)


def test_async_schedule_may_set_zero(new_stack):
    endpoint = AsyncDeepgramEndpoint(new_stack(nag=False), "A",
                                     model=DeepgramModel.from_image(IMAGE_URI),
                                     instance_pools=["ml.g6.2xlarge"], max_capacity=4)
    endpoint.scale_on_schedule("NightOff", schedule="cron(0 22 * * ? *)", min_capacity=0)


# --- streaming-safe validation -----------------------------------------------------------


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


def test_low_water_mark_must_sit_below_scale_out(new_stack):
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"scale_in.low_water_mark must be below the concurrency at which "
                             r"scaling out starts \(7 per instance\), got 7"):
        realtime(new_stack(nag=False), scale_in=StreamingSafeScaleIn(low_water_mark=7))


# --- dashboards and streaming alarms -----------------------------------------------------


def test_realtime_dashboard_widgets(example_template: Template):
    widgets = dashboard_widgets(example_template, "Realtime")
    titles = [w["properties"]["title"] for w in widgets]
    assert titles == ["Mixed-fleet signal (metric-math policy)",
                      "Concurrent requests per instance (scaling signal)", "Instances",
                      "Latency (microseconds)", "Errors"]
    mixed, signal, capacity, latency, errors = widgets
    expressions = [m[0]["expression"] for m in mixed["properties"]["metrics"]
                   if isinstance(m[0], dict) and "expression" in m[0]]
    assert "IF(util_g6_2xlarge >= max_g6e_2xlarge_g5_2xlarge, util_g6_2xlarge, max_g6e_2xlarge_g5_2xlarge)" in expressions
    assert mixed["properties"]["annotations"]["horizontal"][0]["value"] == 0.75
    assert widget_metrics(signal)[0] == ("AWS/SageMaker", "ConcurrentRequestsPerModel", "Maximum")
    assert len(widget_metrics(signal)) == 4  # the variant, then one line per pool
    assert signal["properties"]["annotations"]["horizontal"] == [
        {"value": 15, "label": "target", "yAxis": "left"}]
    assert {m[1:] for m in widget_metrics(capacity)} == {("CPUUtilization", "SampleCount")}
    assert [a["label"] for a in capacity["properties"]["annotations"]["horizontal"]] == [
        "min_capacity", "max_capacity"]
    assert [(m[1], m[2]) for m in widget_metrics(latency)] == [
        ("FirstChunkLatency", "p50"), ("FirstChunkLatency", "p90"), ("FirstChunkLatency", "p99"),
        ("ModelLatency", "p50"), ("ModelLatency", "p99")]
    assert [m[1] for m in widget_metrics(errors)] == [
        "Invocation5XXErrors", "InvocationModelErrors", "MidStreamErrors"]


def test_async_dashboard_widgets(example_template: Template):
    widgets = dashboard_widgets(example_template, "Batch")
    names = [[m[1] for m in widget_metrics(w)] for w in widgets]
    assert names == [
        ["ApproximateBacklogSizePerInstance"],
        ["CPUUtilization", "CPUUtilization", "CPUUtilization"],
        ["ApproximateBacklogSize", "HasBacklogWithoutCapacity"],
        ["ApproximateAgeOfOldestRequest"],
        ["ModelLatency", "ModelLatency", "ModelLatency"],
        ["InvocationFailures", "RequestDownloadFailures", "ResponseUploadFailures",
         "NotificationFailures"],
    ]
    assert widgets[0]["properties"]["annotations"]["horizontal"][0]["value"] == 5


@pytest.mark.parametrize(("factory", "period", "ok"), [
    ("realtime", cdk.Duration.seconds(30), True),
    ("realtime", cdk.Duration.seconds(15), False),
    ("realtime", cdk.Duration.seconds(40), False),
    ("realtime", cdk.Duration.seconds(120), True),
    ("async", cdk.Duration.seconds(30), False),
    ("async", cdk.Duration.minutes(5), True),
])
def test_dashboard_period_rules(new_stack, factory, period, ok):
    stack = new_stack(nag=False)
    endpoint = realtime(stack) if factory == "realtime" else AsyncDeepgramEndpoint(
        stack, "A", model=DeepgramModel.from_image(IMAGE_URI), instance_pools=["ml.g6.2xlarge"],
        max_capacity=2)
    if ok:
        endpoint.add_dashboard(period=period)
    else:
        with pytest.raises(DeepgramScalingConfigError, match=r"period must be a multiple of"):
            endpoint.add_dashboard(period=period)


def test_streaming_alarms(example_template: Template):
    alarms = {a["Properties"]["MetricName"]: a["Properties"]
              for k, a in example_template.find_resources("AWS::CloudWatch::Alarm").items()
              if k.startswith("Realtime") and "MetricName" in a["Properties"]}
    first = alarms["FirstChunkLatency"]
    assert (first["ExtendedStatistic"], first["Threshold"], first["EvaluationPeriods"]) == (
        "p99", 3_000_000, 3)
    assert first["Namespace"] == "AWS/SageMaker"
    assert {d["Name"] for d in first["Dimensions"]} == {"EndpointName", "VariantName"}
    mid = alarms["MidStreamErrors"]
    assert (mid["Statistic"], mid["Threshold"], mid["EvaluationPeriods"],
            mid["DatapointsToAlarm"]) == ("Sum", 1, 5, 3)


def test_alarms_can_be_switched_off(new_stack):
    from deepgram_scaling import RealtimeAlarmOptions

    stack = new_stack(nag=False)
    endpoint = realtime(stack, alarms=RealtimeAlarmOptions(model_latency=None, first_chunk_latency=None))
    assert "model_latency" not in endpoint.alarms and "first_chunk_latency" not in endpoint.alarms
    assert "mid_stream_errors" in endpoint.alarms


def test_lever_templates_pass_cfn_lint(streaming_safe, step_mode):
    from .test_compliance import cfn_lint_findings

    assert cfn_lint_findings(streaming_safe[1].to_json()) == []
    assert cfn_lint_findings(step_mode.to_json()) == []


def test_rejected_steps_always_come_back_empty():
    # found by hypothesis: an all-zero step list was reported and still returned
    problems = Problems()
    assert check_steps(problems, "steps", [ScalingStep(upper=0, change=0),
                                           ScalingStep(lower=0, change=0)]) == ()
    assert problems


def test_step_evaluation_is_at_most_a_day():
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"step_scaling.evaluation_periods must be between 1 and 1440 \(one-minute datapoints"):
        StepScalingOptions(steps=STEPS.steps, evaluation_periods=1441)
