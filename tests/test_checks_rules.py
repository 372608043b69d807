"""The messages and edges of deepgram_scaling/checks/rules.py: what each finding says, on
which resource, and where a rule stops firing (the fixtures of tests/checks_templates.py,
one change at a time)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from deepgram_scaling.checks import RULES

from .checks_templates import (
    _TRACKING_BELOW_ONE,
    NON_COMPLIANT,
    _compose,
    _delete,
    _scale_in,
    _schedules,
    _set,
    _step_bounds,
    build,
    props,
)

RULE = {rule.name: rule for rule in RULES}
_TT = "TargetTrackingScalingPolicyConfiguration"


def case(rule: str, name: str) -> Any:
    return {c: mutation for c, mutation, _ in NON_COMPLIANT[rule]}[name]


def messages(rule: str, template: dict[str, Any]) -> list[tuple[str, str]]:
    """(resource, message) of each finding of ``rule`` on ``template``."""
    return [(f.resource, f.message) for f in RULE[rule].check(template)]


# --- RealtimeMinCapacity ----------------------------------------------------------------------

REALTIME_FLOOR = ("SageMaker requires a MinCapacity of at least 1 for a real-time variant (only "
                  "asynchronous endpoints and endpoints that host inference components scale "
                  "to zero)")


def test_a_real_time_target_at_zero_is_named_with_the_endpoint():
    # given a real-time scalable target whose MinCapacity is 0 / when the rule runs
    found = messages("RealtimeMinCapacity", build(case("RealtimeMinCapacity", "realtime-at-zero")))
    # then the target is flagged, naming the endpoint and SageMaker's floor
    assert found == [("RtTarget", f"MinCapacity is 0 on real-time endpoint RtEndpoint: "
                                  f"{REALTIME_FLOOR}")]


def test_a_scheduled_floor_of_zero_names_the_scheduled_action():
    found = messages("RealtimeMinCapacity",
                     build(case("RealtimeMinCapacity", "scheduled-at-zero")))
    assert found == [("RtTarget", "the scheduled action night sets MinCapacity 0 on real-time "
                                  f"endpoint RtEndpoint: {REALTIME_FLOOR}")]


# --- AsyncScaleInStepFlaps --------------------------------------------------------------------


def test_a_scale_in_step_acting_at_one_says_which_step_and_how_to_stop_it():
    found = messages("AsyncScaleInStepFlaps", build(_scale_in(threshold=1, upper=0)))
    assert found == [("AsyncScaleIn", (
        "the scale-in step [-inf, 0] (-1) acts at ApproximateBacklogSizePerInstance = 1: "
        "AsyncScaleInAlarm (LessThanOrEqualToThreshold 1) is in ALARM there and the step's "
        "interval holds it, so at one instance a single queued request removes the instance "
        "the wake-up added; make the alarm or the step stop below 1 (e.g. LessThanThreshold 1, "
        "or an upper bound below 1)"))]


@pytest.mark.parametrize(("threshold", "upper", "operator", "fires"), [
    # LessThanOrEqualTo 1 holds at 1; the step's upper bound (an offset) is inclusive there
    (1, 0, "LessThanOrEqualToThreshold", True),
    (1, -0.5, "LessThanOrEqualToThreshold", False),
    # LessThan 1 does not hold at 1
    (1, 0, "LessThanThreshold", False),
    (1.5, 0, "LessThanThreshold", True),
    # at threshold 2 the reading 1 is 1 below it: a bound of -1 still holds it, -1.5 does not
    (2, -1, "LessThanOrEqualToThreshold", True),
    (2, -1.5, "LessThanOrEqualToThreshold", False),
])
def test_a_scale_in_step_fires_only_where_it_acts_at_one(threshold, upper, operator, fires):
    # given a scale-in alarm and step on the per-instance backlog of a min-0 async endpoint
    template = build(_scale_in(threshold=threshold, upper=upper, operator=operator))
    # when the rule runs / then it fires exactly when alarm and step both hold at 1
    assert bool(RULE["AsyncScaleInStepFlaps"].check(template)) is fires


def test_a_scale_in_step_on_a_real_time_endpoint_or_a_floor_of_one_is_not_judged():
    flapping = _scale_in(threshold=1, upper=0)
    # an async endpoint that never reaches zero
    assert RULE["AsyncScaleInStepFlaps"].check(
        build(flapping, _set("AsyncTarget", ["MinCapacity"], 1))) == []
    # an alarm on another namespace's metric
    assert RULE["AsyncScaleInStepFlaps"].check(
        build(flapping, _set("AsyncScaleInAlarm", ["Namespace"], "Custom/Speech"))) == []
    # an alarm whose threshold is a parameter
    assert RULE["AsyncScaleInStepFlaps"].check(
        build(flapping, _set("AsyncScaleInAlarm", ["Threshold"], {"Ref": "Threshold"}))) == []


def test_a_scale_in_step_that_removes_nothing_does_not_flap():
    def exact_one(template: dict[str, Any]) -> None:
        config = props(template, "AsyncScaleIn")["StepScalingPolicyConfiguration"]
        config["AdjustmentType"] = "ExactCapacity"
        config["StepAdjustments"][0]["ScalingAdjustment"] = 1

    def exact_zero(template: dict[str, Any]) -> None:
        exact_one(template)
        props(template, "AsyncScaleIn")["StepScalingPolicyConfiguration"][
            "StepAdjustments"][0]["ScalingAdjustment"] = 0

    flapping = _scale_in(threshold=1, upper=0)
    # ExactCapacity 1 keeps the instance; ExactCapacity 0 removes it
    assert RULE["AsyncScaleInStepFlaps"].check(build(flapping, exact_one)) == []
    assert [f.resource for f in RULE["AsyncScaleInStepFlaps"].check(
        build(flapping, exact_zero))] == ["AsyncScaleIn"]


@pytest.mark.parametrize("adjustment", [0, {"Ref": "Adjustment"}])
def test_a_scale_in_step_that_changes_by_zero_or_a_parameter_is_not_a_removal(adjustment):
    def change(template: dict[str, Any]) -> None:
        props(template, "AsyncScaleIn")["StepScalingPolicyConfiguration"][
            "StepAdjustments"][0]["ScalingAdjustment"] = adjustment

    assert RULE["AsyncScaleInStepFlaps"].check(build(_scale_in(threshold=1, upper=0),
                                                     change)) == []


# --- ScheduleExpression -----------------------------------------------------------------------


def test_a_bad_schedule_names_the_action_and_the_field():
    found = messages("ScheduleExpression", build(_schedules("cron(0 25 * * ? *)")))
    assert found == [("RtTarget", "scheduled action s0: 'cron(0 25 * * ? *)' has hours '25': "
                                  "25 is out of range; valid hours: 0-23, ranges a-b, lists a,b "
                                  "and '*'")]


def test_every_bad_schedule_of_a_target_is_reported():
    found = messages("ScheduleExpression",
                     build(_schedules("cron(0 8 ? * MON-FRI *)", "cron(0 25 * * ? *)",
                                      "cron(0 8 * * *)")))
    assert [(resource, message.split(":")[0]) for resource, message in found] == [
        ("RtTarget", "scheduled action s1"), ("RtTarget", "scheduled action s2")]


def test_two_problems_of_one_schedule_are_joined_and_an_unnamed_action_is_numbered():
    # given a target whose first action has no schedule, and whose second has no name and a
    # schedule with two fields out of range
    actions = [{"ScheduledActionName": "no-schedule", "ScalableTargetAction": {"MinCapacity": 1}},
               {"Schedule": "cron(61 25 * * ? *)", "ScalableTargetAction": {"MinCapacity": 1}},
               "not an action"]
    found = messages("ScheduleExpression", build(_set("RtTarget", ["ScheduledActions"], actions)))
    # then the second is reported by its place, with both problems
    assert found == [("RtTarget", (
        "scheduled action #2: 'cron(61 25 * * ? *)' has minutes '61': 61 is out of range; "
        "valid minutes: 0-59, ranges a-b, lists a,b and '*'; 'cron(61 25 * * ? *)' has hours "
        "'25': 25 is out of range; valid hours: 0-23, ranges a-b, lists a,b and '*'"))]


def test_a_schedule_only_eventbridge_questions_is_a_warning():
    # given a rate whose unit EventBridge wants plural (docs/aws-behaviour.md#schedule-expressions)
    findings = RULE["ScheduleExpression"].check(build(_schedules("rate(2 hour)")))
    # then it is a warning on the target, not an error
    assert [(f.rule, f.level, f.resource, f.message) for f in findings] == [(
        "SageMakerScaling-ScheduleExpression", "warning", "RtTarget",
        "scheduled action s0: 'rate(2 hour)' says 'hour' for a value of 2: EventBridge wants a "
        "singular unit for 1 and a plural one above, and Application Auto Scaling's reference "
        "does not say whether it does too; write 'rate(2 hours)' to be sure")]


# --- AlarmTopicAllowsCloudWatch ---------------------------------------------------------------


def _more_alarms(count: int) -> Any:
    def mutate(template: dict[str, Any]) -> None:
        for n in range(count):
            alarm = dict(template["Resources"]["RtErrorsAlarm"])
            template["Resources"][f"RtExtraAlarm{n}"] = alarm
    return mutate


def test_a_topic_policy_without_cloudwatch_names_the_topic_and_its_alarms():
    found = messages("AlarmTopicAllowsCloudWatch",
                     build(case("AlarmTopicAllowsCloudWatch", "ssl-only-policy")))
    assert found == [("RtTopicPolicy", (
        "topic RtTopic is notified by RtErrorsAlarm, but this topic policy does not allow "
        "cloudwatch.amazonaws.com to sns:Publish: a topic policy replaces SNS's default "
        "policy, so every notification fails"))]


def test_more_than_three_notifying_alarms_are_counted():
    found = messages("AlarmTopicAllowsCloudWatch",
                     build(case("AlarmTopicAllowsCloudWatch", "ssl-only-policy"), _more_alarms(3)))
    ((_, message),) = found
    assert message.startswith("topic RtTopic is notified by RtErrorsAlarm, RtExtraAlarm0, "
                              "RtExtraAlarm1 and 1 more, but")
    # and three are listed in full
    ((_, three),) = messages("AlarmTopicAllowsCloudWatch",
                             build(case("AlarmTopicAllowsCloudWatch", "ssl-only-policy"),
                                   _more_alarms(2)))
    assert three.startswith("topic RtTopic is notified by RtErrorsAlarm, RtExtraAlarm0, "
                            "RtExtraAlarm1, but")


def _statement(**statement: Any) -> Any:
    return _set("RtTopicPolicy", ["PolicyDocument", "Statement"], statement)


@pytest.mark.parametrize(("statement", "fires"), [
    # a single statement (not a list) that allows CloudWatch
    ({"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
      "Action": "sns:Publish"}, False),
    # services as a list, actions in any case, sns:* and *
    ({"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com",
                                                   "cloudwatch.amazonaws.com"]},
      "Action": ["SNS:Publish"]}, False),
    ({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:*"}, False),
    ({"Effect": "Allow", "Principal": "*", "Action": "*"}, False),
    # allowed to another service, or another action, or denied
    ({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
      "Action": "sns:Publish"}, True),
    ({"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
      "Action": "sns:Subscribe"}, True),
    ({"Effect": "Deny", "Principal": {"Service": "cloudwatch.amazonaws.com"},
      "Action": "sns:Publish"}, True),
    # a principal that is neither * nor a mapping covers nobody
    ({"Effect": "Allow", "Principal": "cloudwatch.amazonaws.com", "Action": "sns:Publish"},
     True),
])
def test_which_topic_policy_statements_let_cloudwatch_publish(statement, fires):
    found = RULE["AlarmTopicAllowsCloudWatch"].check(build(_statement(**statement)))
    assert [f.resource for f in found] == (["RtTopicPolicy"] if fires else [])


@pytest.mark.parametrize("document", ["{}", {}, {"Statement": [{"Effect": "Allow",
                                                                 "NotAction": "sns:Subscribe",
                                                                 "Principal": "*"}]}])
def test_a_policy_document_that_allows_nothing_readable_is_reported(document):
    # a document given as a string, without statements, or without Action: no allow found
    found = RULE["AlarmTopicAllowsCloudWatch"].check(
        build(_set("RtTopicPolicy", ["PolicyDocument"], document)))
    assert [f.resource for f in found] == ["RtTopicPolicy"]


def test_the_allow_for_cloudwatch_is_found_after_other_statements():
    allow = {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": "sns:Publish"}
    events = {**allow, "Principal": {"Service": "events.amazonaws.com"}}
    statements = ["PolicyDocument", "Statement"]
    assert RULE["AlarmTopicAllowsCloudWatch"].check(
        build(_set("RtTopicPolicy", statements, ["not a statement", events, allow]))) == []


def test_an_unconditional_deny_overrides_an_allow_for_cloudwatch():
    allow = {"Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
             "Action": "sns:Publish"}
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sns:Publish"}
    conditional = {**deny, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    statements = ["PolicyDocument", "Statement"]
    # an unconditional deny of publishing, before or after the allow, blocks CloudWatch
    for order in ([allow, deny], [deny, allow]):
        assert RULE["AlarmTopicAllowsCloudWatch"].check(
            build(_set("RtTopicPolicy", statements, order)))
    # a deny with a condition (TLS only) does not
    assert RULE["AlarmTopicAllowsCloudWatch"].check(
        build(_set("RtTopicPolicy", statements, [conditional, allow, "not a statement"]))) == []


# --- StreamingScaleInCooldown -----------------------------------------------------------------


def test_a_short_scale_in_cooldown_names_the_evidence_and_deepgrams_figure():
    found = messages("StreamingScaleInCooldown",
                     build(case("StreamingScaleInCooldown", "one-minute")))
    assert found == [("RtScaling", (
        "ScaleInCooldown is 60 s on real-time endpoint RtEndpoint, which serves a Deepgram "
        "model (model RtModel: Image 123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram/"
        "self-hosted:1); Deepgram's guidance for its models is 300 s, so that instances are "
        "not removed under running streams"))]


@pytest.mark.parametrize(("cooldown", "fires"), [(299, True), (300, False), ("299", True),
                                                 ({"Ref": "Cooldown"}, False)])
def test_the_scale_in_cooldown_bound_is_300_seconds(cooldown, fires):
    template = build(_set("RtScaling", [_TT, "ScaleInCooldown"], cooldown))
    assert bool(RULE["StreamingScaleInCooldown"].check(template)) is fires


def test_scale_in_disabled_as_a_string_is_not_judged():
    template = build(_set("RtScaling", [_TT, "ScaleInCooldown"], 60),
                     _set("RtScaling", [_TT, "DisableScaleIn"], "true"))
    assert RULE["StreamingScaleInCooldown"].check(template) == []


# --- MetricDimensions -------------------------------------------------------------------------


def test_a_metric_queried_with_the_wrong_dimensions_names_both_sets():
    found = messages("MetricDimensions",
                     build(case("MetricDimensions", "backlog-alarm-with-variant-name")))
    assert found == [("AsyncWakeUpAlarm", (
        "HasBacklogWithoutCapacity (AWS/SageMaker) is published with the dimensions "
        "[EndpointName]; this alarm queries it with [EndpointName, VariantName], which matches "
        "no data"))]
    (_, empty), = messages("MetricDimensions",
                           build(case("MetricDimensions", "backlog-without-dimensions")))
    assert "this alarm queries it with [none], which matches no data" in empty


def test_a_dimension_set_by_a_parameter_is_not_judged():
    template = build(_set("AsyncWakeUpAlarm", ["Dimensions"], [
        {"Name": "EndpointName", "Value": "x"}, {"Name": "{{resolve:ssm:dim}}", "Value": "y"}]))
    assert RULE["MetricDimensions"].check(template) == []


# --- the wake-up's step, read the way Application Auto Scaling reads it -----------------------


@pytest.mark.parametrize(("lower", "upper", "wakes"), [
    # GreaterThanOrEqualTo 1 at a reading of 1: the offset is 0; the lower bound is inclusive
    (0, None, True),
    (0, 1, True),
    # the upper bound is exclusive
    (-1, 0, False),
    (0.5, None, False),
])
def test_a_wake_up_step_acts_at_one_only_within_its_bounds(lower, upper, wakes):
    template = build(_step_bounds("AsyncWakeUp", lower, upper))
    assert (RULE["AsyncWakeUpFromZero"].check(template) == []) is wakes


def test_a_wake_up_step_must_start_at_the_reading_not_just_above_the_threshold():
    # given an alarm at >= 0.5 and a step from 4 above it: a reading of 1 is 0.5 above
    template = build(_set("AsyncWakeUpAlarm", ["Threshold"], 0.5), _step_bounds("AsyncWakeUp", 4))
    # then no step acts at 1, so nothing wakes the endpoint
    assert [f.resource for f in RULE["AsyncWakeUpFromZero"].check(template)] == ["AsyncTarget"]


def test_an_operator_set_by_a_parameter_is_trusted_with_the_first_step():
    template = build(_set("AsyncWakeUpAlarm", ["ComparisonOperator"], {"Ref": "Operator"}),
                     _step_bounds("AsyncWakeUp", 4))
    assert RULE["AsyncWakeUpFromZero"].check(template) == []


def test_an_anomaly_detection_band_is_not_a_wake_up():
    template = build(_set("AsyncWakeUpAlarm", ["ComparisonOperator"],
                          "LessThanLowerOrGreaterThanUpperThreshold"))
    assert [f.resource for f in RULE["AsyncWakeUpFromZero"].check(template)] == ["AsyncTarget"]


def test_a_wake_up_without_steps_and_a_parameter_threshold_wakes_nothing():
    template = build(_set("AsyncWakeUpAlarm", ["Threshold"], {"Ref": "Threshold"}),
                     _set("AsyncWakeUp", ["StepScalingPolicyConfiguration", "StepAdjustments"],
                          []))
    assert [f.resource for f in RULE["AsyncWakeUpFromZero"].check(template)] == ["AsyncTarget"]


def test_a_wake_up_alarm_with_a_parameter_threshold_is_trusted():
    template = build(_compose(_set("AsyncWakeUpAlarm", ["Threshold"], {"Ref": "Threshold"}),
                              _step_bounds("AsyncWakeUp", 4)))
    # the first step is taken as the one that acts
    assert RULE["AsyncWakeUpFromZero"].check(template) == []


# --- more edges: every target, policy and topic is judged, whatever comes first ------------------


def _first(logical_id: str) -> Any:
    """Moves a resource to the front of the template's Resources."""
    def mutate(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        template["Resources"] = {logical_id: resources.pop(logical_id), **resources}
    return mutate


def test_a_flapping_scale_in_is_found_after_a_target_that_is_not_judged():
    # given the real-time target (never at zero) ahead of the async one that flaps
    template = build(_scale_in(threshold=1, upper=0), _first("RtTarget"))
    assert [f.resource for f in RULE["AsyncScaleInStepFlaps"].check(template)] == ["AsyncScaleIn"]


def test_a_scale_in_on_a_real_time_endpoint_is_left_to_its_own_rule():
    # given the flapping policy attached to the real-time target, wrongly at zero
    template = build(_scale_in(threshold=1, upper=0),
                     _set("AsyncScaleIn", ["ScalingTargetId"], {"Ref": "RtTarget"}),
                     _set("RtTarget", ["MinCapacity"], 0))
    # then this rule says nothing (RealtimeMinCapacity reports the zero)
    assert RULE["AsyncScaleInStepFlaps"].check(template) == []
    assert [f.resource for f in RULE["RealtimeMinCapacity"].check(template)] == ["RtTarget"]


def test_a_scale_in_alarm_with_a_parameter_operator_is_trusted():
    template = build(_scale_in(threshold=1, upper=0),
                     _set("AsyncScaleInAlarm", ["ComparisonOperator"], {"Ref": "Operator"}))
    assert RULE["AsyncScaleInStepFlaps"].check(template) == []


def _composite_on_topic(template: dict[str, Any]) -> None:
    template["Resources"]["RtComposite"] = {"Type": "AWS::CloudWatch::CompositeAlarm",
                                            "Properties": {
        "AlarmRule": "ALARM(RtErrorsAlarm)", "AlarmActions": [{"Ref": "RtTopic"}]}}


def test_a_composite_alarm_that_notifies_the_topic_is_named():
    found = messages("AlarmTopicAllowsCloudWatch",
                     build(case("AlarmTopicAllowsCloudWatch", "ssl-only-policy"),
                           _composite_on_topic))
    ((_, message),) = found
    assert message.startswith("topic RtTopic is notified by RtErrorsAlarm, RtComposite, but")


def test_each_topic_policy_is_judged_and_a_topic_no_alarm_notifies_is_not():
    # given the base's policy, which allows CloudWatch, then an inline policy on the same
    # topic that does not, and an ssl-only policy on a topic no alarm notifies
    ssl_only = props(build(case("AlarmTopicAllowsCloudWatch", "ssl-only-policy")),
                     "RtTopicPolicy")["PolicyDocument"]

    def more_policies(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        resources["RtTopicInlinePolicy"] = {"Type": "AWS::SNS::TopicInlinePolicy",
                                            "Properties": {"TopicArn": {"Ref": "RtTopic"},
                                                           "PolicyDocument": ssl_only}}
        resources["QuietTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {}}
        resources["QuietTopicPolicy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": "QuietTopic"}], "PolicyDocument": ssl_only}}

    found = RULE["AlarmTopicAllowsCloudWatch"].check(build(more_policies))
    # then only the inline policy of the notified topic is reported
    assert [f.resource for f in found] == ["RtTopicInlinePolicy"]


def test_a_step_policy_on_a_deepgram_endpoint_has_no_scale_in_cooldown_to_judge():
    def step_policy(template: dict[str, Any]) -> None:
        template["Resources"]["RtStep"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
                "PolicyName": "step", "PolicyType": "StepScaling",
                "ScalingTargetId": {"Ref": "RtTarget"},
                "StepScalingPolicyConfiguration": {
                    "AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                    "StepAdjustments": [{"MetricIntervalLowerBound": 0,
                                         "ScalingAdjustment": 1}]}}}

    assert RULE["StreamingScaleInCooldown"].check(build(step_policy)) == []


def test_a_flapping_scale_in_is_found_after_one_with_a_parameter_threshold():
    # given, ahead of the flapping policy, another whose alarm threshold is a parameter
    def trusted_first(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        policy = {**resources["AsyncScaleIn"]}
        alarm = {**resources["AsyncScaleInAlarm"],
                 "Properties": {**props(template, "AsyncScaleInAlarm"),
                                "Threshold": {"Ref": "Threshold"},
                                "AlarmActions": [{"Ref": "AsyncScaleInEarly"}]}}
        template["Resources"] = {"AsyncScaleInEarly": policy,
                                 "AsyncScaleInEarlyAlarm": alarm, **resources}

    template = build(_scale_in(threshold=1, upper=0), trusted_first)
    # then the flapping one is still reported
    assert [f.resource for f in RULE["AsyncScaleInStepFlaps"].check(template)] == ["AsyncScaleIn"]


# --- AsyncWakeUpFromZero and the wake-up scan -------------------------------------------------


def _math_wake_up(metric: str) -> Any:
    """The wake-up alarm as metric math over ``metric`` of the async endpoint."""
    def mutate(template: dict[str, Any]) -> None:
        alarm = props(template, "AsyncWakeUpAlarm")
        for key in ("MetricName", "Namespace", "Dimensions", "Statistic", "Period"):
            del alarm[key]
        alarm["Metrics"] = [
            {"Id": "e1", "Expression": "FILL(m1, 0)", "ReturnData": True},
            {"Id": "m1", "ReturnData": False, "MetricStat": {"Period": 60, "Stat": "Average",
                                                            "Metric": {
                "Namespace": "AWS/SageMaker", "MetricName": metric,
                "Dimensions": [{"Name": "EndpointName",
                                "Value": {"Fn::GetAtt": ["AsyncEndpoint", "EndpointName"]}}]}}}]
    return mutate


def _wake_up_config(**config: Any) -> Any:
    return _set("AsyncWakeUp", ["StepScalingPolicyConfiguration"], config)


def wakes(template: dict[str, Any]) -> bool:
    """Whether AsyncWakeUpFromZero accepts the async endpoint's way up from zero."""
    return RULE["AsyncWakeUpFromZero"].check(template) == []


def test_metric_math_over_the_backlog_wakes_the_endpoint():
    assert wakes(build(_math_wake_up("HasBacklogWithoutCapacity")))
    # but not over a metric with no data at zero instances, nor with a step that adds nothing
    assert not wakes(build(_math_wake_up("ModelLatency")))
    assert not wakes(build(_math_wake_up("HasBacklogWithoutCapacity"), _wake_up_config(
        AdjustmentType="ChangeInCapacity",
        StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 0}])))


def test_metric_math_over_the_per_instance_backlog_is_an_indirect_wake_up():
    found = messages("WakeUpOnIndirectSignal",
                     build(_math_wake_up("ApproximateBacklogSizePerInstance")))
    ((resource, message),) = found
    assert resource == "AsyncWakeUp"
    assert message.startswith("the only wake-up of AsyncEndpoint reads "
                              "ApproximateBacklogSizePerInstance (AsyncWakeUpAlarm); ")


@pytest.mark.parametrize(("config", "up"), [
    ({"AdjustmentType": "ChangeInCapacity",
      "StepAdjustments": [{"MetricIntervalLowerBound": 0,
                           "ScalingAdjustment": {"Ref": "Adjustment"}}]}, True),
    ({"AdjustmentType": "PercentChangeInCapacity", "MinAdjustmentMagnitude": 1,
      "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}, True),
    ({"AdjustmentType": "PercentChangeInCapacity", "MinAdjustmentMagnitude": 1,
      "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 0}]}, False),
], ids=["parameter-adjustment-trusted", "one-percent-with-a-magnitude-of-one", "zero-percent"])
def test_which_steps_add_an_instance_at_zero(config, up):
    assert wakes(build(_wake_up_config(**config))) is up


def _sum_alarm(period: int | None, operator: str, threshold: float) -> Any:
    def mutate(template: dict[str, Any]) -> None:
        alarm = props(template, "AsyncWakeUpAlarm")
        alarm.update(Statistic="Sum", ComparisonOperator=operator, Threshold=threshold)
        if period is None:
            del alarm["Period"]
        else:
            alarm["Period"] = period
    return mutate


def test_a_sum_over_longer_periods_counts_each_minute_of_backlog():
    # a sum over two minutes reads 2 while a request waits: >= 2 is in ALARM
    assert wakes(build(_sum_alarm(120, "GreaterThanOrEqualToThreshold", 2)))
    # without a period (one minute), the sum reads 1: > 1 is never in ALARM
    assert not wakes(build(_sum_alarm(None, "GreaterThanThreshold", 1)))


def test_target_tracking_on_a_named_endpoint_of_no_resource_is_doubted():
    template = build(_TRACKING_BELOW_ONE, _set(
        "AsyncBacklogScaling", [_TT, "CustomizedMetricSpecification", "Dimensions"],
        [{"Name": "EndpointName", "Value": {"Ref": "Name"}}]))
    # then the policy is a wake-up, but one whose endpoint cannot be checked
    assert wakes(template)
    ((resource, message),) = messages("WakeUpAlarmWatchesTarget", template)
    assert (resource, message.split(":")[0]) == (
        "AsyncBacklogScaling",
        "this wake-up of AsyncEndpoint reads the backlog of endpoint '{{Ref")
    ((_, indirect),) = messages("WakeUpOnIndirectSignal", template)
    assert "target-tracking policy on ApproximateBacklogSizePerInstance with a target value " \
           "of 0.5" in indirect


def test_a_target_value_set_by_a_parameter_is_quoted_as_unknown():
    template = build(_delete("AsyncWakeUp", "AsyncWakeUpAlarm"),
                     _set("AsyncBacklogScaling", [_TT, "TargetValue"], {"Ref": "Target"}))
    ((_, message),) = messages("AsyncWakeUpFromZero", template)
    assert message.endswith("a backlog below the target value (?) of AsyncBacklogScaling never "
                            "wakes it")


def test_an_async_endpoint_that_can_never_run_says_so():
    found = messages("AsyncWakeUpFromZero",
                     build(case("AsyncWakeUpFromZero", "max-capacity-zero")))
    assert found == [("AsyncTarget", (
        "MaxCapacity is 0 on asynchronous endpoint AsyncEndpoint: it can never have an "
        "instance, so no queued request is ever served; set MaxCapacity to 1 or more"))]


@pytest.mark.parametrize(("rule", "name", "resource"), [
    ("AsyncWakeUpFromZero", "no-wake-up", "AsyncTarget"),
    ("AsyncWakeUpFromZero", "max-capacity-zero", "AsyncTarget"),
    ("AsyncWakeUpFromZero", "wake-alarm-watches-another-endpoint", "AsyncTarget"),
    ("WakeUpAddsWhileRunning", "backlog-size-beside-target-tracking", "AsyncWakeUp"),
])
def test_an_async_target_is_judged_after_a_real_time_one(rule, name, resource):
    # given the real-time target first in the template / then the async one is still judged
    template = build(case(rule, name), _first("RtTarget"))
    assert [f.resource for f in RULE[rule].check(template)] == [resource]


WAKES_ON_BACKLOG_SIZE = ("this step policy wakes AsyncEndpoint on ApproximateBacklogSize "
                         "(GreaterThanOrEqualToThreshold 1 in AsyncWakeUpAlarm), which counts "
                         "requests being processed as well as queued ones: while instances run "
                         "and work it stays at 1 or more, the alarm stays in ALARM and the step "
                         "adds an instance after every cooldown, ")
WAKE_ON_THE_RIGHT_SIGNAL = (" Wake on HasBacklogWithoutCapacity, which is 1 only while no "
                            "instance runs")


def test_a_wake_up_on_the_whole_backlog_adds_instances_while_running():
    # beside target tracking
    assert messages("WakeUpAddsWhileRunning", build(
        case("WakeUpAddsWhileRunning", "backlog-size-beside-target-tracking"))) == [(
            "AsyncWakeUp",
            f"{WAKES_ON_BACKLOG_SIZE}beside target tracking.{WAKE_ON_THE_RIGHT_SIGNAL}")]
    # alone, up to a maximum known only at deploy time
    assert messages("WakeUpAddsWhileRunning", build(
        case("WakeUpAddsWhileRunning", "backlog-size-step-only"),
        _set("AsyncTarget", ["MaxCapacity"], {"Ref": "Max"}))) == [(
            "AsyncWakeUp", f"{WAKES_ON_BACKLOG_SIZE}up to MaxCapacity (?) while a single long "
                           f"request runs.{WAKE_ON_THE_RIGHT_SIGNAL}")]


@pytest.mark.parametrize(("change", "fires"), [
    (_set("AsyncTarget", ["MaxCapacity"], 2), True),
    (_set("AsyncTarget", ["MaxCapacity"], 1), False),  # one instance at most: nothing to add
    (_set("AsyncTarget", ["MinCapacity"], 1), False),  # never at zero: no wake-up to judge
])
def test_a_wake_up_adding_while_running_needs_room_and_a_floor_of_zero(change, fires):
    template = build(case("WakeUpAddsWhileRunning", "backlog-size-beside-target-tracking"), change)
    assert bool(RULE["WakeUpAddsWhileRunning"].check(template)) is fires


def _second_async_endpoint(template: dict[str, Any]) -> None:
    """A second async endpoint at MinCapacity 0, with no policy at all."""
    resources = template["Resources"]
    for name in ("AsyncModel", "AsyncConfig", "AsyncEndpoint", "AsyncTarget"):
        resources[f"{name}2"] = copy.deepcopy(resources[name])
    props(template, "AsyncModel2")["ModelName"] = "async-model-2"
    props(template, "AsyncConfig2")["ProductionVariants"][0]["ModelName"] = {
        "Fn::GetAtt": ["AsyncModel2", "ModelName"]}
    props(template, "AsyncEndpoint2")["EndpointConfigName"] = {
        "Fn::GetAtt": ["AsyncConfig2", "EndpointConfigName"]}
    props(template, "AsyncTarget2")["ResourceId"] = {"Fn::Join": ["", [
        "endpoint/", {"Fn::GetAtt": ["AsyncEndpoint2", "EndpointName"]}, "/variant/AllTraffic"]]}


@pytest.mark.parametrize(("first", "expected"), [
    (None, ["AsyncTarget2"]),  # the first wakes
    (_set("AsyncTarget", ["MinCapacity"], 1), ["AsyncTarget2"]),  # the first never at zero
    (_set("AsyncTarget", ["MaxCapacity"], 0), ["AsyncTarget", "AsyncTarget2"]),
], ids=["first-wakes", "first-never-at-zero", "first-never-runs"])
def test_every_async_endpoint_is_judged_whatever_the_first_one_is(first, expected):
    changes = [_second_async_endpoint] + ([first] if first else [])
    found = RULE["AsyncWakeUpFromZero"].check(build(*changes))
    assert [f.resource for f in found] == expected


def test_each_tracking_policy_that_cannot_wake_is_named():
    # given no step wake-up and two target-tracking policies on the backlog at 1 and 5
    def second_tracking(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        resources["AsyncBacklogScaling2"] = copy.deepcopy(resources["AsyncBacklogScaling"])
        props(template, "AsyncBacklogScaling2")[_TT]["TargetValue"] = 1

    ((_, message),) = messages("AsyncWakeUpFromZero",
                               build(_delete("AsyncWakeUp", "AsyncWakeUpAlarm"), second_tracking))
    assert message.endswith(
        "; target tracking alone does not wake it: a backlog below the target value (5) of "
        "AsyncBacklogScaling never wakes it; target tracking alone does not wake it: a backlog "
        "below the target value (1) of AsyncBacklogScaling2 never wakes it")


def test_a_wake_up_is_found_after_policies_that_are_not_one():
    # a step policy with no alarm ahead of tracking below 1
    assert wakes(build(_delete("AsyncWakeUpAlarm"), _first("AsyncWakeUp"),
                       _set("AsyncBacklogScaling", [_TT, "TargetValue"], 0.5)))
    # tracking at 5 ahead of tracking below 1
    def low_tracking(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        resources["AsyncLowTracking"] = copy.deepcopy(resources["AsyncBacklogScaling"])
        props(template, "AsyncLowTracking")[_TT]["TargetValue"] = 0.5

    assert wakes(build(_delete("AsyncWakeUp", "AsyncWakeUpAlarm"), low_tracking))
    # a scale-in on a latency alarm, and one on the per-instance backlog, ahead of the wake-up
    assert wakes(build(_scale_in(threshold=0.5, upper=0, operator="LessThanThreshold"),
                       _first("AsyncScaleIn")))
    assert wakes(build(_scale_in(threshold=0.5, upper=0, operator="LessThanThreshold"),
                       _set("AsyncScaleInAlarm", ["MetricName"], "ModelLatency"),
                       _first("AsyncScaleIn")))


def test_tracking_and_metric_math_wake_ups_are_not_judged_as_adding_while_running():
    for template in (build(_TRACKING_BELOW_ONE), build(_math_wake_up("HasBacklogWithoutCapacity"))):
        assert RULE["WakeUpAddsWhileRunning"].check(template) == []
    # and tracking on the endpoint's own name is not doubted
    assert RULE["WakeUpAlarmWatchesTarget"].check(build(_TRACKING_BELOW_ONE)) == []


def test_tracking_of_another_endpoint_ahead_does_not_hide_the_own_one():
    # given, ahead of the async endpoint's own tracking below 1, one on the real-time endpoint
    def foreign_first(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        foreign = copy.deepcopy(resources["AsyncBacklogScaling"])
        foreign["Properties"][_TT]["CustomizedMetricSpecification"]["Dimensions"] = [
            {"Name": "EndpointName", "Value": {"Fn::GetAtt": ["RtEndpoint", "EndpointName"]}}]
        template["Resources"] = {"AsyncForeignTracking": foreign, **resources}

    assert wakes(build(_TRACKING_BELOW_ONE, foreign_first))


# --- MetricPublishedByEndpointType and ScalableTargetResolvesToEndpoint: what each says ---------

NEVER_SCALES = "so this policy never scales"


@pytest.mark.parametrize(("rule", "name", "resource", "message"), [
    ("MetricPublishedByEndpointType", "async-on-invocations-per-instance", "AsyncBacklogScaling",
     "the predefined metric SageMakerVariantInvocationsPerInstance is not published by "
     f"asynchronous endpoints; AsyncEndpoint is asynchronous, {NEVER_SCALES}"),
    ("MetricPublishedByEndpointType", "async-alarm-on-concurrency", "AsyncConcurrencyAlarm",
     "ConcurrentRequestsPerModel is published only by inference-component, realtime, "
     "serverless endpoints; AsyncEndpoint is async, so this alarm never sees data (scale async "
     "endpoints on ApproximateBacklogSizePerInstance)"),
    ("MetricPublishedByEndpointType", "realtime-alarm-on-backlog", "RtAgeAlarm",
     "ApproximateAgeOfOldestRequest is published only by async endpoints; RtEndpoint is "
     "realtime, so this alarm never sees data"),
    ("MetricPublishedByEndpointType", "variant-type-on-copies", "IcScaling",
     "the predefined metric SageMakerVariantInvocationsPerInstance measures a variant's "
     "instances; this policy scales an inference component's copies, which are measured by "
     "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution or "
     "SageMakerInferenceComponentInvocationsPerCopy"),
    ("MetricPublishedByEndpointType", "copy-type-on-a-variant", "RtScaling",
     "the predefined metric SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution "
     "measures an inference component's copies; this policy scales a variant's instances, "
     "which are measured by the SageMakerVariant... types"),
    ("ScalableTargetResolvesToEndpoint", "literal-without-dependency", "RtTarget",
     "ResourceId names RtEndpoint by its name without depending on it, so CloudFormation may "
     "register the target before the endpoint exists; use Fn::GetAtt RtEndpoint.EndpointName "
     "or DependsOn"),
    ("ScalableTargetResolvesToEndpoint", "names-no-endpoint", "RtTarget",
     "ResourceId 'endpoint/elsewhere/variant/AllTraffic' names no endpoint in this template; "
     "the checks that depend on the endpoint's type were skipped for it"),
    ("ScalableTargetResolvesToEndpoint", "ref-gives-the-arn", "RtTarget",
     "ResourceId uses Ref on RtEndpoint, which gives the endpoint's ARN, not its name; use "
     "Fn::GetAtt RtEndpoint.EndpointName"),
    ("ScalableTargetResolvesToEndpoint", "copies-named-without-dependency", "IcTarget",
     "ResourceId names IcComponent by its name without depending on it, so CloudFormation may "
     "register the target before the component exists; add DependsOn IcComponent"),
    ("ScalableTargetResolvesToEndpoint", "copies-of-no-component", "IcTarget",
     "ResourceId 'inference-component/elsewhere' names no inference component in this "
     "template; the inference-component checks were skipped for it"),
], ids=lambda value: value if isinstance(value, str) and " " not in value else None)
def test_each_finding_says_what_is_wrong_and_how_to_fix_it(rule, name, resource, message):
    assert messages(rule, build(case(rule, name))) == [(resource, message)]


def test_a_target_without_policies_has_no_metric_to_judge():
    template = build(_delete("RtScaling"), _delete("AsyncBacklogScaling", "AsyncWakeUp"))
    assert RULE["MetricPublishedByEndpointType"].check(template) == []


def test_a_wake_up_on_an_fn_if_endpoint_says_it_could_not_be_resolved():
    # given a wake-up alarm whose EndpointName dimension is an Fn::If
    template = build(_set("AsyncWakeUpAlarm", ["Dimensions"], [{"Name": "EndpointName", "Value": {
        "Fn::If": ["Blue", {"Fn::GetAtt": ["AsyncEndpoint", "EndpointName"]}, "other"]}}]))
    # when the checks run, then the warning says so, without a placeholder
    ((resource, message),) = messages("WakeUpAlarmWatchesTarget", template)
    assert resource == "AsyncWakeUpAlarm"
    assert ("reads the backlog of the endpoint its EndpointName dimension gives, which could "
            "not be resolved") in message
    assert "{{" not in message
