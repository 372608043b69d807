"""The simulator's template reader (deepgram_scaling.simulator.template): what it reads from a
hand-written template, and each template it refuses rather than guess at."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from deepgram_scaling.simulator.template import (
    TemplateError,
    describe,
    load_template,
    read_endpoints,
    select_endpoint,
)


def _template() -> dict[str, Any]:
    """One real-time endpoint written the way a hand-written template (not the CDK) would:
    names as plain strings, the scalable target's ResourceId a literal ARN part."""
    return {"Resources": {
        "Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
            "EndpointConfigName": "speech-config",
            "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.g5.xlarge",
                                    "InitialInstanceCount": 1}]}},
        "Speech": {"Type": "AWS::SageMaker::Endpoint", "Properties": {
            "EndpointName": "speech", "EndpointConfigName": "speech-config"}},
        "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "ServiceNamespace": "sagemaker", "MinCapacity": 1, "MaxCapacity": 4,
            "ResourceId": "endpoint/speech/variant/AllTraffic"}},
        "Tracking": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyType": "TargetTrackingScaling", "ScalingTargetId": {"Ref": "Target"},
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 5,
                "CustomizedMetricSpecification": {
                    "MetricName": "ConcurrentRequestsPerModel", "Statistic": "Maximum"}}}},
    }}


def _with(changes: dict[str, Any]) -> dict[str, Any]:
    """The template with some resources' properties replaced (None deletes the resource)."""
    template = copy.deepcopy(_template())
    for logical_id, props in changes.items():
        if props is None:
            del template["Resources"][logical_id]
        else:
            template["Resources"].setdefault(logical_id, {"Type": props.pop("Type", None)})
            template["Resources"][logical_id]["Properties"] = props
    return template


def _props(logical_id: str) -> dict[str, Any]:
    return copy.deepcopy(_template()["Resources"][logical_id]["Properties"])


def test_a_hand_written_template_names_its_endpoint_by_plain_strings():
    # Given endpoint, config and scalable target linked by names rather than Ref
    # When the simulator reads it
    setup = select_endpoint(read_endpoints(_template()), None)
    # Then it finds the one endpoint, its pool, capacity and customized policy
    assert (setup.name, setup.pools, setup.min_capacity, setup.max_capacity) == \
        ("Speech", ("ml.g5.xlarge",), 1, 4)
    assert [(p.metric, p.statistic, p.target) for p in setup.target_tracking] == \
        [("ConcurrentRequestsPerModel", "Maximum", 5.0)]
    assert describe(setup)[0] == "Speech (real-time), pools ml.g5.xlarge, capacity 1-4"


def test_a_policy_without_a_target_id_is_matched_by_the_endpoint_it_refers_to():
    # Given a policy that names the endpoint through a Ref in its ResourceId, not the target
    policy = _props("Tracking")
    del policy["ScalingTargetId"]
    policy["ResourceId"] = {"Fn::Join": ["", ["endpoint/", {"Ref": "Speech"}, "/variant/x"]]}
    # When read, then it is the endpoint's policy
    setup = read_endpoints(_with({"Tracking": policy}))["Speech"]
    assert [p.logical_id for p in setup.target_tracking] == ["Tracking"]


def test_a_template_file_is_read_from_disk_and_junk_is_refused(tmp_path: Path):
    # Given the template on disk, a file that is not JSON and JSON without Resources
    good, broken, other = tmp_path / "t.json", tmp_path / "b.json", tmp_path / "o.json"
    good.write_text(json.dumps(_template()))
    broken.write_text("{not json")
    other.write_text(json.dumps({"Outputs": {}}))
    # Then the good one reads as the mapping does, and the others are refused by name
    assert load_template(good) == _template()
    with pytest.raises(TemplateError, match=r"cannot read template '.*b\.json'"):
        load_template(broken)
    with pytest.raises(TemplateError, match=r"cannot read template '.*missing\.json'"):
        load_template(tmp_path / "missing.json")
    with pytest.raises(TemplateError, match=r"o\.json' is not a CloudFormation template"):
        load_template(other)


@pytest.mark.parametrize(("changes", "message"), [
    ({"Config": {**_props("Config"), "ProductionVariants": []}},
     r"Config\.ProductionVariants must hold one variant to simulate, got 0"),
    ({"Speech": {**_props("Speech"), "EndpointConfigName": "other-config"}},
     r"Speech\.EndpointConfigName does not name an AWS::SageMaker::EndpointConfig"),
    ({"Target": None}, r"Speech has no AWS::ApplicationAutoScaling::ScalableTarget"),
], ids=["no-variant", "unknown-config", "no-target"])
def test_an_endpoint_the_simulator_cannot_place_is_refused(changes: dict[str, Any],
                                                           message: str):
    # Given a template whose endpoint has no single variant, config or scalable target
    # When read, then the reader names the resource and what is missing
    with pytest.raises(TemplateError, match=message):
        read_endpoints(_with(changes))


def _tracking(configuration: dict[str, Any]) -> dict[str, Any]:
    return {**_props("Tracking"), "TargetTrackingScalingPolicyConfiguration": {
        "TargetValue": 5, **configuration}}


@pytest.mark.parametrize(("configuration", "message"), [
    ({"PredefinedMetricSpecification": {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}},
     r"PredefinedMetricType 'SageMakerVariantInvocationsPerInstance' is not supported"),
    ({}, r"Tracking\.TargetTrackingScalingPolicyConfiguration has neither a predefined nor "
         r"a customized metric"),
    ({"CustomizedMetricSpecification": {"MetricName": "CPUUtilization"}},
     r"MetricName 'CPUUtilization' is not supported"),
    ({"CustomizedMetricSpecification": {"Metrics": [
        {"Id": "m1", "ReturnData": True, "MetricStat": {
            "Metric": {"MetricName": "CPUUtilization", "Namespace": "/aws/sagemaker/Endpoints",
                       "Dimensions": []}, "Stat": "Average"}}]}},
     r"CustomizedMetricSpecification\.Metrics: metric 'CPUUtilization' is not supported"),
], ids=["predefined", "no-metric", "custom-metric", "metric-math-metric"])
def test_a_target_tracking_metric_the_simulator_does_not_model_is_refused(
        configuration: dict[str, Any], message: str):
    # Given a target-tracking policy on a metric the simulator has no model of
    # When read, then it is refused with the policy and the property
    with pytest.raises(TemplateError, match=message):
        read_endpoints(_with({"Tracking": _tracking(configuration)}))


def _step(adjustment_type: str = "ChangeInCapacity") -> dict[str, Any]:
    return {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "PolicyType": "StepScaling", "ScalingTargetId": {"Ref": "Target"},
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": adjustment_type,
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}}


def _alarm(metric: str) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "AlarmActions": [{"Ref": "Step"}],
            "MetricName": metric, "Statistic": "Maximum", "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "EvaluationPeriods": 1}


@pytest.mark.parametrize(("changes", "message"), [
    ({"Step": _step("PercentChangeInCapacity")},
     r"Step\.StepScalingPolicyConfiguration\.AdjustmentType 'PercentChangeInCapacity' is "
     r"not supported"),
    ({"Step": _step()}, r"Step must be driven by exactly one AWS::CloudWatch::Alarm .*got 0"),
    ({"Step": _step(), "Alarm": _alarm("CPUUtilization")},
     r"Alarm\.MetricName 'CPUUtilization' is not supported"),
], ids=["percent", "no-alarm", "alarm-metric"])
def test_a_step_policy_the_simulator_does_not_model_is_refused(changes: dict[str, Any],
                                                               message: str):
    # Given a step policy with another adjustment type, no alarm, or an alarm on another metric
    # When read, then it is refused with the resource and the property
    with pytest.raises(TemplateError, match=message):
        read_endpoints(_with(copy.deepcopy(changes)))


def test_a_step_policy_driven_by_a_supported_alarm_is_read_and_described():
    # Given a step policy whose one alarm watches HasBacklogWithoutCapacity
    template = _with({"Step": _step(), "Alarm": _alarm("HasBacklogWithoutCapacity")})
    # When read
    setup = read_endpoints(template)["Speech"]
    # Then the alarm and the step are what the template says, and the summary shows them
    (step,) = setup.step_policies
    assert (step.alarm.metric_name, step.alarm.threshold, step.alarm.datapoints_to_alarm,
            [i.adjustment for i in step.intervals]) == ("HasBacklogWithoutCapacity", 1.0, 1, [1])
    assert ("  step policy on HasBacklogWithoutCapacity GreaterThanOrEqualToThreshold 1: +1"
            in describe(setup))
