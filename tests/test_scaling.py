"""EndpointScaling: the scalable target and its policies, on its own and through the
endpoints: target tracking, mixed-fleet metric math, streaming-safe scale-in, step
scaling, schedules, and the rule that the policies never fight."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from aws_cdk.aws_applicationautoscaling import ScalingInterval

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
    InstancePool,
    RealtimeDeepgramEndpoint,
    StepScalingOptions,
    StreamingSafeScaleIn,
)
from deepgram_scaling.metric_math import (
    RESULT_ID,
    evaluate,
    queries_from_template,
)
from deepgram_scaling.metrics import RealtimeMetrics
from deepgram_scaling.scaling import EndpointScaling

from .conftest import IMAGE_URI, PACKAGE_ARN
from .test_scaling_options import STEPS


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
    stack = cdk.Stack.of(endpoint)
    assert stack.resolve(endpoint.scale_in_policy.scaling_policy_arn) == {"Ref": policy_id}
    assert alarm == template.to_json()["Resources"][
        stack.get_logical_id(endpoint.scale_in_alarm.node.default_child)]["Properties"]


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
            step_scaling=StepScalingOptions(steps=[ScalingInterval(upper=upper, change=-1),
                                                   ScalingInterval(lower=upper, upper=10, change=0),
                                                   ScalingInterval(lower=10, change=1)]))


def test_async_step_scaling_keeps_the_wake_up(new_stack):
    stack = new_stack("AsyncSteps")
    AsyncDeepgramEndpoint(
        stack, "Async", model=DeepgramModel.from_image(IMAGE_URI),
        instance_pools=["ml.g6.2xlarge"], max_capacity=4,
        step_scaling=StepScalingOptions(steps=[ScalingInterval(upper=0.5, change=-1),
                                               ScalingInterval(lower=0.5, upper=10, change=0),
                                               ScalingInterval(lower=10, change=2)]))
    template = Template.from_stack(stack)
    policies = set(template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy"))
    alarms = [a["Properties"] for a in template.find_resources("AWS::CloudWatch::Alarm").values()
              if any(action.get("Ref") in policies for action in a["Properties"].get("AlarmActions", []))]
    metrics = sorted(a["MetricName"] for a in alarms)
    assert metrics == ["ApproximateBacklogSizePerInstance", "ApproximateBacklogSizePerInstance",
                       "HasBacklogWithoutCapacity"]
    for alarm in alarms:
        assert [d["Name"] for d in alarm["Dimensions"]] == ["EndpointName"]


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
         r"schedule 'every day at 8' is not a schedule expression: use 'cron\(minutes hours day-of-month month day-of-week year\)'"),
        ({"schedule": "cron(0 8 * * ?)", "min_capacity": 2}, r"schedule 'cron\(0 8 \* \* \?\)' must have six fields"),
        ({"schedule": "cron(0 25 * * ? *)", "min_capacity": 2}, r"schedule 'cron\(0 25 \* \* \? \*\)' has hours '25'.*valid hours: 0-23"),
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


@pytest.mark.parametrize(("schedule", "warns"), [
    ("rate(1 hours)", r"scale_on_schedule 'Action': schedule 'rate\(1 hours\)' says 'hours' for "
                      r"a value of 1: EventBridge wants a singular unit"),
    ("cron(0 8 1W,15 * ? *)", r"'W' or 'L' inside a list in day-of-month"),
    ("rate(1 hour)", None),
])
def test_a_schedule_only_eventbridge_or_quartz_question_warns(new_stack, schedule, warns):
    # given an expression no Application Auto Scaling source refuses
    from aws_cdk.assertions import Annotations, Match

    stack = new_stack(nag=False)
    endpoint = realtime(stack, min_capacity=2)
    # when it is scheduled
    endpoint.scale_on_schedule("Action", schedule=schedule, min_capacity=3)
    # then it is rendered as given, with a warning when a doubt remains
    Template.from_stack(stack).has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"ScheduledActions": [
            {"ScheduledActionName": "Action", "Schedule": schedule,
             "ScalableTargetAction": {"MinCapacity": 3}}]})
    found = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp(warns or "scale_on_schedule 'Action': schedule"))
    assert len(found) == (1 if warns else 0)


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
    # Given an asynchronous endpoint that keeps one instance by day
    stack = new_stack(nag=False)
    endpoint = AsyncDeepgramEndpoint(stack, "A", model=DeepgramModel.from_image(IMAGE_URI),
                                     instance_pools=["ml.g6.2xlarge"], min_capacity=1,
                                     max_capacity=4)
    # when a scheduled action lets it go to zero at night
    endpoint.scale_on_schedule("NightOff", schedule="cron(0 22 * * ? *)", min_capacity=0)
    # then the target carries exactly that action
    (target,) = Template.from_stack(stack).find_resources(
        "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["ScheduledActions"] == [
        {"ScheduledActionName": "NightOff", "Schedule": "cron(0 22 * * ? *)",
         "ScalableTargetAction": {"MinCapacity": 0}}]
    assert endpoint.scaling.scheduled_actions == 1


def test_low_water_mark_must_sit_below_scale_out(new_stack):
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"scale_in.low_water_mark must be below the concurrency at which "
                             r"scaling out starts \(7 per instance\), got 7"):
        realtime(new_stack(nag=False), scale_in=StreamingSafeScaleIn(low_water_mark=7))


def test_lever_templates_pass_cfn_lint(streaming_safe, step_mode):
    from .test_compliance import cfn_lint_findings

    assert cfn_lint_findings(streaming_safe[1].to_json()) == []
    assert cfn_lint_findings(step_mode.to_json()) == []


MIXED = [InstancePool("ml.g6.2xlarge", max_concurrency=8),
         InstancePool("ml.g6e.2xlarge", max_concurrency=20)]


def fleet_endpoint(stack: cdk.Stack, pools: list[InstancePool], **kwargs):
    return RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                    instance_pools=pools, max_capacity=8, **kwargs)


def mixed_policy(template: Template, prefix: str = "Realtime") -> dict:
    found = [p["Properties"] for k, p in
             template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()
             if k.startswith(prefix) and "CustomizedMetricSpecification" in str(p)]
    assert len(found) == 1
    return found[0]


def test_example_template_metric_stats(example_template: Template):
    config = mixed_policy(example_template)["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 0.75
    assert (config["ScaleOutCooldown"], config["ScaleInCooldown"]) == (60, 300)
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    stats = [m["MetricStat"] for m in metrics if "MetricStat" in m]
    assert len(stats) == 3
    for stat in stats:
        assert stat["Metric"]["Namespace"] == "AWS/SageMaker"
        assert stat["Metric"]["MetricName"] == "ConcurrentRequestsPerModel"
        assert [d["Name"] for d in stat["Metric"]["Dimensions"]] == [
            "EndpointName", "VariantName", "InstanceType"]
        assert stat["Stat"] == "Maximum"
    assert [m["Id"] for m in metrics if m["ReturnData"]] == [RESULT_ID]
    assert {m["Id"]: m.get("Expression") for m in metrics}["util_g6e_2xlarge"] == "cr_g6e_2xlarge / 20"


@pytest.mark.parametrize(("values", "expected"), [
    ({"ml.g6.2xlarge": 6}, 0.75),                                   # fallbacks empty
    ({"ml.g6.2xlarge": None, "ml.g6e.2xlarge": 15}, 0.75),          # primary short: g6e only
    ({"ml.g6.2xlarge": 4, "ml.g6e.2xlarge": 4, "ml.g5.2xlarge": 4}, 4 / 6),  # LOR: g5 binds
    ({"ml.g6.2xlarge": 0}, 0.0),                                   # idle: a datapoint, not none
])
def test_synthesized_expression_evaluates_to_the_intended_utilization(example_template, values, expected):
    metrics = mixed_policy(example_template)["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"]["Metrics"]
    assert evaluate(queries_from_template(metrics), values) == pytest.approx(expected)


def test_mixed_fleet_keeps_a_high_resolution_companion(example_template: Template):
    policies = [p["Properties"] for k, p in
                example_template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()
                if k.startswith("Realtime")]
    predefined = [p for p in policies if "PredefinedMetricSpecification" in str(p)]
    assert len(predefined) == 1
    # Derived: target_utilization 0.75 x the largest declared capacity (20), so the
    # companion never outvotes the metric-math policy in the steady state.
    assert predefined[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 15


def test_companion_off_leaves_the_metric_math_policy_alone(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack("Alone")
    endpoint = fleet_endpoint(stack, MIXED, high_resolution_companion=False, target_utilization=0.7)
    template = Template.from_stack(stack)
    policies = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == 1
    assert endpoint.scaling_policy is None
    assert list(policies) == [stack.get_logical_id(endpoint.mixed_fleet_policy)]
    assert endpoint.scaling_signal == "pool-utilization"
    config = mixed_policy(template, "E")["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 0.7
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    assert evaluate(queries_from_template(metrics), {"ml.g6e.2xlarge": 14}) == pytest.approx(0.7)
    from .test_compliance import cfn_lint_findings

    assert cfn_lint_findings(template.to_json()) == []


def test_streaming_safe_mode_disables_scale_in_on_both_policies(new_stack):
    from deepgram_scaling import StreamingSafeScaleIn

    stack = new_stack(nag=False)
    fleet_endpoint(stack, MIXED, scale_in=StreamingSafeScaleIn())
    configs = [p["Properties"]["TargetTrackingScalingPolicyConfiguration"] for p in
               Template.from_stack(stack).find_resources(
                   "AWS::ApplicationAutoScaling::ScalingPolicy").values()
               if p["Properties"]["PolicyType"] == "TargetTrackingScaling"]
    assert [c["DisableScaleIn"] for c in configs] == [True, True]


def test_weighted_concurrency_uses_the_concurrency_target(new_stack):
    stack = new_stack(nag=False)
    endpoint = fleet_endpoint(stack, [InstancePool("ml.g6.2xlarge", weight=1),
                                InstancePool("ml.g6e.2xlarge", weight=1)],
                        target_concurrency_per_instance=6)
    assert endpoint.scaling_signal == "weighted-concurrency"
    config = mixed_policy(Template.from_stack(stack), "E")["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 6
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    assert evaluate(queries_from_template(metrics), {"ml.g6.2xlarge": 6}) == 6  # not halved


def test_streaming_safe_low_water_comes_from_the_binding_pool(new_stack):
    # Review finding: with the target derived from the largest pool (0.75 x 20 = 15) a
    # low-water mark of 7.5 sat above the g6 pool's scale-out point (0.75 x 8 = 6), so the
    # policies fought. The removal alarm now sits below every scale-out threshold.
    from deepgram_scaling import StreamingSafeScaleIn

    stack = new_stack(nag=False)
    endpoint = fleet_endpoint(stack, MIXED, scale_in=StreamingSafeScaleIn())
    assert endpoint.target_concurrency_per_instance == 15
    quiet = endpoint.scale_in_alarm.node.default_child
    assert stack.resolve(quiet.threshold) == 3  # half of 0.75 x 8
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"scale_in.low_water_mark must be below the concurrency at which scaling out starts \(6 per instance\), got 7"):
        fleet_endpoint(new_stack(nag=False), MIXED, scale_in=StreamingSafeScaleIn(low_water_mark=7))


def test_an_explicit_low_water_mark_is_the_removal_threshold(new_stack):
    # Given a low-water mark below the default (half the target of 7 is 3.5)
    stack = new_stack(nag=False)
    endpoint = realtime(stack, scale_in=StreamingSafeScaleIn(low_water_mark=2,
                                                             quiet_period=cdk.Duration.minutes(10)))
    template = Template.from_stack(stack)
    (policy_id,) = [k for k, p in policies_of(template).items() if p["PolicyType"] == "StepScaling"]
    alarm = alarm_driving(template, policy_id)
    # then the removal alarm uses it, over the quiet period, and the description says so
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (2, 10, 10)
    assert alarm["AlarmDescription"] == ("Concurrency stayed below 2 per instance for 10 minutes: "
                                         "remove one instance.")
    assert policies_of(template)[policy_id]["StepScalingPolicyConfiguration"]["Cooldown"] == 600
    assert cdk.Stack.of(endpoint).resolve(endpoint.scale_in_alarm.node.default_child.threshold) == 2


# --- EndpointScaling on its own ------------------------------------------------------------


def scaling_on_its_own(new_stack: Callable[..., cdk.Stack], *, min_capacity: int = 1,
                       floor: int = 1) -> tuple[cdk.Stack, EndpointScaling]:
    stack = new_stack(nag=False)
    scaling = EndpointScaling(stack, "Scaling", endpoint_name="speech", variant_name="AllTraffic",
                              min_capacity=min_capacity, max_capacity=4,
                              min_capacity_floor=floor)
    return stack, scaling


def test_scaling_registers_the_variant_with_the_service_linked_role(new_stack):
    stack, scaling = scaling_on_its_own(new_stack)
    (target,) = Template.from_stack(stack).find_resources(
        "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"] == {
        "ServiceNamespace": "sagemaker", "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "ResourceId": "endpoint/speech/variant/AllTraffic", "MinCapacity": 1, "MaxCapacity": 4,
        "RoleARN": {"Fn::Join": ["", [
            "arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"},
            ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"]]}}
    assert scaling.scheduled_actions == 0


def test_scaling_on_concurrency_takes_target_cooldowns_and_scale_in_from_its_arguments(new_stack):
    stack, scaling = scaling_on_its_own(new_stack)
    scaling.scale_on_concurrency("Out", target=7, scale_out_cooldown=cdk.Duration.seconds(45),
                                 scale_in_cooldown=cdk.Duration.minutes(12), disable_scale_in=True)
    scaling.scale_on_concurrency("Both", target=9, scale_out_cooldown=cdk.Duration.seconds(60),
                                 scale_in_cooldown=cdk.Duration.seconds(300))
    configs = sorted((p["TargetTrackingScalingPolicyConfiguration"] for p in
                      policies_of(Template.from_stack(stack)).values()),
                     key=lambda c: c["TargetValue"])
    metric = {"PredefinedMetricType": "SageMakerVariantConcurrentRequestsPerModelHighResolution"}
    assert configs == [
        {"PredefinedMetricSpecification": metric, "TargetValue": 7, "ScaleOutCooldown": 45,
         "ScaleInCooldown": 720, "DisableScaleIn": True},
        {"PredefinedMetricSpecification": metric, "TargetValue": 9, "ScaleOutCooldown": 60,
         "ScaleInCooldown": 300},
    ]


def test_scaling_adds_the_streaming_safe_removal_on_its_own(new_stack):
    stack, scaling = scaling_on_its_own(new_stack)
    metrics = RealtimeMetrics(endpoint_name="speech", variant_name="AllTraffic")
    scaling.add_streaming_safe_scale_in(
        options=StreamingSafeScaleIn(quiet_period=cdk.Duration.minutes(5)),
        metric=metrics.concurrent_requests_per_model(), scale_out_concurrency=6)
    template = Template.from_stack(stack)
    (policy_id, props), = policies_of(template).items()
    assert props["StepScalingPolicyConfiguration"]["Cooldown"] == 300
    assert props["StepScalingPolicyConfiguration"]["StepAdjustments"] == [
        {"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}]
    quiet = alarm_driving(template, policy_id)
    assert (quiet["Threshold"], quiet["EvaluationPeriods"], quiet["ComparisonOperator"]) == (
        3, 5, "LessThanThreshold")  # half of 6


def test_scaling_wakes_from_zero_on_its_own(new_stack):
    from deepgram_scaling.metrics import AsyncMetrics

    stack, scaling = scaling_on_its_own(new_stack, min_capacity=0, floor=0)
    metrics = AsyncMetrics(endpoint_name="speech", variant_name="AllTraffic")
    scaling.add_wake_up_from_zero(metric=metrics.has_backlog_without_capacity())
    template = Template.from_stack(stack)
    (policy_id, props), = policies_of(template).items()
    assert props["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity", "Cooldown": 300, "MetricAggregationType": "Average",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}
    alarm = alarm_driving(template, policy_id)
    assert (alarm["MetricName"], alarm["Threshold"], alarm["EvaluationPeriods"],
            alarm["DatapointsToAlarm"], alarm["TreatMissingData"]) == (
        "HasBacklogWithoutCapacity", 1, 2, 2, "missing")
    assert alarm["Dimensions"] == [{"Name": "EndpointName", "Value": "speech"}]


@pytest.mark.parametrize(("floor", "ok"), [(0, True), (1, False)])
def test_a_schedule_may_go_down_to_the_floor_and_no_lower(new_stack, floor, ok):
    _, scaling = scaling_on_its_own(new_stack, floor=floor)
    if ok:
        scaling.scale_on_schedule("Night", schedule="rate(1 day)", min_capacity=0)
        assert scaling.scheduled_actions == 1
    else:
        with pytest.raises(DeepgramScalingConfigError,
                           match=r"TestStack/Scaling: min_capacity must be >= 1 for a real-time "
                                 r"endpoint, got 0"):
            scaling.scale_on_schedule("Night", schedule="rate(1 day)", min_capacity=0)
        assert scaling.scheduled_actions == 0


def test_the_endpoint_hands_out_its_scaling(single_type):
    endpoint = single_type.endpoint
    assert endpoint.scalable_target is endpoint.scaling.scalable_target
    assert (endpoint.scaling.min_capacity, endpoint.scaling.max_capacity) == (2, 6)
