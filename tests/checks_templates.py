"""Hand-written templates for the scaling checks: a compliant base and, per rule, the
mutations that break it (or keep it compliant in a way the rule must accept).

The base holds an asynchronous endpoint that scales to zero with AWS's wake-up recipe and a
real-time endpoint with concurrency target tracking and an alarm topic CloudWatch may use.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Template = dict[str, Any]


def _att(resource: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [resource, attribute]}


def _resource_id(endpoint: str, variant: str = "AllTraffic") -> dict[str, Any]:
    return {"Fn::Join": ["", ["endpoint/", _att(endpoint, "EndpointName"),
                              f"/variant/{variant}"]]}


def _model(name: str) -> dict[str, Any]:
    return {"Type": "AWS::SageMaker::Model", "Properties": {
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker-execution",
        "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/dg:1"},
        "ModelName": name}}


def _config(model: str, *, asynchronous: bool) -> dict[str, Any]:
    props: dict[str, Any] = {"ProductionVariants": [{
        "VariantName": "AllTraffic", "ModelName": _att(model, "ModelName"),
        "InitialInstanceCount": 1, "InstanceType": "ml.g6.2xlarge"}]}
    if asynchronous:
        props["AsyncInferenceConfig"] = {"OutputConfig": {"S3OutputPath": "s3://jobs/output/"}}
    return {"Type": "AWS::SageMaker::EndpointConfig", "Properties": props}


def _endpoint(config: str) -> dict[str, Any]:
    return {"Type": "AWS::SageMaker::Endpoint", "Properties": {
        "EndpointConfigName": _att(config, "EndpointConfigName"),
        "RetainAllVariantProperties": True}}


def _target(endpoint: str, minimum: int) -> dict[str, Any]:
    return {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
        "MinCapacity": minimum, "MaxCapacity": 4, "ResourceId": _resource_id(endpoint),
        "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        "ServiceNamespace": "sagemaker"}}


def _endpoint_dimension(endpoint: str) -> dict[str, Any]:
    return {"Name": "EndpointName", "Value": _att(endpoint, "EndpointName")}


def compliant() -> Template:
    return {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        # --- asynchronous, scale to zero --------------------------------------------
        "AsyncModel": _model("async-model"),
        "AsyncConfig": _config("AsyncModel", asynchronous=True),
        "AsyncEndpoint": _endpoint("AsyncConfig"),
        "AsyncTarget": _target("AsyncEndpoint", 0),
        "AsyncBacklogScaling": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                                "Properties": {
            "PolicyName": "backlog", "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": "AsyncTarget"},
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 5, "ScaleInCooldown": 600, "ScaleOutCooldown": 300,
                "CustomizedMetricSpecification": {
                    "MetricName": "ApproximateBacklogSizePerInstance",
                    "Namespace": "AWS/SageMaker", "Statistic": "Average",
                    "Dimensions": [_endpoint_dimension("AsyncEndpoint")]}}}},
        "AsyncWakeUp": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": "wake-up", "PolicyType": "StepScaling",
            "ScalingTargetId": {"Ref": "AsyncTarget"},
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity", "Cooldown": 300,
                "MetricAggregationType": "Average",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}}},
        "AsyncWakeUpAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": "HasBacklogWithoutCapacity", "Namespace": "AWS/SageMaker",
            "Dimensions": [_endpoint_dimension("AsyncEndpoint")], "Statistic": "Average",
            "Period": 60, "EvaluationPeriods": 2, "DatapointsToAlarm": 2, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "missing", "AlarmActions": [{"Ref": "AsyncWakeUp"}]}},
        # --- real-time ---------------------------------------------------------------
        "RtModel": _model("rt-model"),
        "RtConfig": _config("RtModel", asynchronous=False),
        "RtEndpoint": _endpoint("RtConfig"),
        "RtTarget": _target("RtEndpoint", 1),
        "RtScaling": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": "concurrency", "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": "RtTarget"},
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 7, "ScaleInCooldown": 300, "ScaleOutCooldown": 60,
                "PredefinedMetricSpecification": {"PredefinedMetricType":
                    "SageMakerVariantConcurrentRequestsPerModelHighResolution"}}}},
        "RtTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "RtTopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": "RtTopic"}],
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "SslOnly", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                 "Resource": {"Ref": "RtTopic"},
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                {"Sid": "CloudWatch", "Effect": "Allow",
                 "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Action": "sns:Publish", "Resource": {"Ref": "RtTopic"},
                 "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}]}}},
        "RtErrorsAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": "Invocation5XXErrors", "Namespace": "AWS/SageMaker",
            "Dimensions": [_endpoint_dimension("RtEndpoint"),
                           {"Name": "VariantName", "Value": "AllTraffic"}],
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 5, "DatapointsToAlarm": 3,
            "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "RtTopic"}], "OKActions": [{"Ref": "RtTopic"}]}},
    }}


# --- mutations -------------------------------------------------------------------------

Mutation = Callable[[Template], None]


def props(template: Template, logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return properties


def _scale_in(threshold: float, upper: float) -> Mutation:
    def mutate(t: Template) -> None:
        t["Resources"]["AsyncScaleIn"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
                "PolicyName": "scale-in", "PolicyType": "StepScaling",
                "ScalingTargetId": {"Ref": "AsyncTarget"},
                "StepScalingPolicyConfiguration": {
                    "AdjustmentType": "ChangeInCapacity", "Cooldown": 600,
                    "MetricAggregationType": "Average",
                    "StepAdjustments": [{"MetricIntervalUpperBound": upper,
                                         "ScalingAdjustment": -1}]}}}
        t["Resources"]["AsyncScaleInAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": "ApproximateBacklogSizePerInstance", "Namespace": "AWS/SageMaker",
            "Dimensions": [_endpoint_dimension("AsyncEndpoint")], "Statistic": "Average",
            "Period": 60, "EvaluationPeriods": 15, "Threshold": threshold,
            "ComparisonOperator": "LessThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": "AsyncScaleIn"}]}}
    return mutate


def _mixed_fleet(return_expression: str, *extra: tuple[str, str]) -> Mutation:
    def stat(query_id: str, instance_type: str) -> dict[str, Any]:
        return {"Id": query_id, "ReturnData": False, "MetricStat": {"Stat": "Maximum", "Metric": {
            "MetricName": "ConcurrentRequestsPerModel", "Namespace": "AWS/SageMaker",
            "Dimensions": [_endpoint_dimension("RtEndpoint"),
                           {"Name": "VariantName", "Value": "AllTraffic"},
                           {"Name": "InstanceType", "Value": instance_type}]}}}

    def mutate(t: Template) -> None:
        metrics = [stat("a", "ml.g6.2xlarge"), stat("b", "ml.g6e.2xlarge")]
        metrics += [{"Id": i, "Expression": e, "ReturnData": False} for i, e in extra]
        metrics.append({"Id": "signal", "Expression": return_expression, "ReturnData": True})
        config = props(t, "RtScaling")["TargetTrackingScalingPolicyConfiguration"]
        del config["PredefinedMetricSpecification"]
        config["TargetValue"] = 0.75
        config["CustomizedMetricSpecification"] = {"Metrics": metrics}
    return mutate


def _literal_target(*, depends: bool, name: str = "speech-rt") -> Mutation:
    def mutate(t: Template) -> None:
        props(t, "RtEndpoint")["EndpointName"] = "speech-rt"
        props(t, "RtTarget")["ResourceId"] = f"endpoint/{name}/variant/AllTraffic"
        if depends:
            t["Resources"]["RtTarget"]["DependsOn"] = "RtEndpoint"
    return mutate


def _set(logical_id: str, path: list[str], value: Any) -> Mutation:
    def mutate(t: Template) -> None:
        node = props(t, logical_id)
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _delete(*logical_ids: str) -> Mutation:
    def mutate(t: Template) -> None:
        for logical_id in logical_ids:
            del t["Resources"][logical_id]
    return mutate


def _add_dimension(logical_id: str, *path: str) -> Mutation:
    def mutate(t: Template) -> None:
        node = props(t, logical_id)
        for key in path:
            node = node[key]
        node["Dimensions"].append({"Name": "VariantName", "Value": "AllTraffic"})
    return mutate


def _alarm(logical_id: str, metric: str, dimensions: list[dict[str, Any]],
           actions: list[Any]) -> Mutation:
    def mutate(t: Template) -> None:
        t["Resources"][logical_id] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": metric, "Namespace": "AWS/SageMaker", "Dimensions": dimensions,
            "Statistic": "Maximum", "Period": 60, "EvaluationPeriods": 3, "Threshold": 900,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "AlarmActions": actions}}
    return mutate


def _delete_key(logical_id: str, path: list[str]) -> Mutation:
    def mutate(t: Template) -> None:
        node = props(t, logical_id)
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


def _scheduled_minimum(target: str, minimum: int) -> Mutation:
    """A nightly scheduled action that sets the target's minimum."""
    return _set(target, ["ScheduledActions"], [{
        "ScheduledActionName": "night", "Schedule": "cron(0 22 * * ? *)",
        "ScalableTargetAction": {"MinCapacity": minimum, "MaxCapacity": 4}}])


def _wake_up_steps(adjustment_type: str, adjustment: int, **config: Any) -> Mutation:
    def mutate(t: Template) -> None:
        step_config = props(t, "AsyncWakeUp")["StepScalingPolicyConfiguration"]
        step_config["AdjustmentType"] = adjustment_type
        step_config["StepAdjustments"][0]["ScalingAdjustment"] = adjustment
        step_config.update(config)
    return mutate


def _inline_topic_policy(principal: Any) -> Mutation:
    """The topic's policy as an AWS::SNS::TopicInlinePolicy allowing ``principal`` to
    publish."""
    def mutate(t: Template) -> None:
        del t["Resources"]["RtTopicPolicy"]
        t["Resources"]["RtTopicInlinePolicy"] = {
            "Type": "AWS::SNS::TopicInlinePolicy", "Properties": {
                "TopicArn": {"Ref": "RtTopic"},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": principal, "Action": "sns:Publish",
                     "Resource": {"Ref": "RtTopic"}}]}}}
    return mutate


def _compose(*mutations: Mutation) -> Mutation:
    def mutate(t: Template) -> None:
        for one in mutations:
            one(t)
    return mutate


_TT = "TargetTrackingScalingPolicyConfiguration"

#: rule name -> [(case, mutation, the resources it must flag)]
NON_COMPLIANT: dict[str, list[tuple[str, Mutation, set[str]]]] = {
    "BacklogMetricDimensions": [
        ("policy-with-variant-name",
         _add_dimension("AsyncBacklogScaling", _TT, "CustomizedMetricSpecification"),
         {"AsyncBacklogScaling"}),
        ("alarm-with-variant-name", _add_dimension("AsyncWakeUpAlarm"), {"AsyncWakeUpAlarm"}),
    ],
    "AsyncWakeUpFromZero": [
        ("no-wake-up", _delete("AsyncWakeUp", "AsyncWakeUpAlarm"), {"AsyncTarget"}),
        ("alarm-on-another-metric",
         _set("AsyncWakeUpAlarm", ["MetricName"], "ApproximateBacklogSize"), {"AsyncTarget"}),
        ("inverted-alarm",
         _set("AsyncWakeUpAlarm", ["ComparisonOperator"], "LessThanThreshold"), {"AsyncTarget"}),
        ("alarm-above-one",
         _set("AsyncWakeUpAlarm", ["ComparisonOperator"], "GreaterThanThreshold"),
         {"AsyncTarget"}),
        ("exact-capacity-zero", _wake_up_steps("ExactCapacity", 0), {"AsyncTarget"}),
        ("change-by-zero", _wake_up_steps("ChangeInCapacity", 0), {"AsyncTarget"}),
        ("percent-of-zero", _wake_up_steps("PercentChangeInCapacity", 100), {"AsyncTarget"}),
        ("scheduled-minimum-zero",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 0),
                  _delete("AsyncWakeUp", "AsyncWakeUpAlarm")), {"AsyncTarget"}),
    ],
    "MetricPublishedByEndpointType": [
        ("async-on-invocations-per-instance",
         _set("AsyncBacklogScaling", [_TT], {
             "TargetValue": 70, "PredefinedMetricSpecification": {
                 "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}),
         {"AsyncBacklogScaling"}),
        ("async-alarm-on-concurrency",
         _alarm("AsyncConcurrencyAlarm", "ConcurrentRequestsPerModel",
                [_endpoint_dimension("AsyncEndpoint"),
                 {"Name": "VariantName", "Value": "AllTraffic"}], []),
         {"AsyncConcurrencyAlarm"}),
        ("realtime-alarm-on-backlog",
         _alarm("RtAgeAlarm", "ApproximateAgeOfOldestRequest",
                [_endpoint_dimension("RtEndpoint")], []),
         {"RtAgeAlarm"}),
    ],
    "RealtimeMinCapacity": [
        ("realtime-at-zero", _set("RtTarget", ["MinCapacity"], 0), {"RtTarget"}),
        ("realtime-at-zero-as-string", _set("RtTarget", ["MinCapacity"], "0"), {"RtTarget"}),
        ("scheduled-at-zero", _scheduled_minimum("RtTarget", 0), {"RtTarget"}),
    ],
    "AsyncScaleInStepFlaps": [
        ("upper-bound-reaches-one", _scale_in(threshold=1, upper=0), {"AsyncScaleIn"}),
        ("offset-upper-bound", _scale_in(threshold=0.5, upper=0.5), {"AsyncScaleIn"}),
        ("scheduled-minimum-zero",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 0),
                  _scale_in(threshold=1, upper=0)), {"AsyncScaleIn"}),
    ],
    "AlarmTopicAllowsCloudWatch": [
        ("ssl-only-policy",
         _set("RtTopicPolicy", ["PolicyDocument", "Statement"],
              [{"Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
                "Resource": {"Ref": "RtTopic"},
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
         {"RtTopicPolicy"}),
        ("inline-policy-for-the-account-only",
         _inline_topic_policy({"AWS": "arn:aws:iam::123456789012:root"}),
         {"RtTopicInlinePolicy"}),
    ],
    "ScalableTargetResolvesToEndpoint": [
        ("literal-without-dependency", _literal_target(depends=False), {"RtTarget"}),
        ("names-no-endpoint", _literal_target(depends=True, name="elsewhere"), {"RtTarget"}),
        ("ref-gives-the-arn",
         _set("RtTarget", ["ResourceId"],
              {"Fn::Sub": "endpoint/${RtEndpoint}/variant/AllTraffic"}), {"RtTarget"}),
    ],
    "ScalableTargetVariantExists": [
        ("unknown-variant", _set("RtTarget", ["ResourceId"], _resource_id("RtEndpoint", "v1")),
         {"RtTarget"}),
    ],
    "EndpointNameDimensionIsAName": [
        ("ref-as-dimension",
         _set("RtErrorsAlarm", ["Dimensions"],
              [{"Name": "EndpointName", "Value": {"Ref": "RtEndpoint"}},
               {"Name": "VariantName", "Value": "AllTraffic"}]), {"RtErrorsAlarm"}),
    ],
    "MixedFleetSignalSurvivesEmptyPool": [
        ("aws-weighted-sum", _mixed_fleet("(a / 8 + b / 20) / 2"), {"RtScaling"}),
        ("plain-sum", _mixed_fleet("a + b"), {"RtScaling"}),
    ],
    "StreamingScaleInCooldown": [
        ("one-minute", _set("RtScaling", [_TT, "ScaleInCooldown"], 60), {"RtScaling"}),
    ],
    "RetainVariantProperties": [
        ("not-retained", _set("RtEndpoint", ["RetainAllVariantProperties"], False),
         {"RtEndpoint"}),
    ],
}

#: rule name -> [(case, mutation)] the rule must accept (the base is always among them)
COMPLIANT: dict[str, list[tuple[str, Mutation]]] = {
    "BacklogMetricDimensions": [],
    "AsyncWakeUpFromZero": [
        ("min-one-needs-no-wake-up", _compose(_set("AsyncTarget", ["MinCapacity"], 1),
                                              _delete("AsyncWakeUp", "AsyncWakeUpAlarm"))),
        ("greater-than-a-half",
         _compose(_set("AsyncWakeUpAlarm", ["ComparisonOperator"], "GreaterThanThreshold"),
                  _set("AsyncWakeUpAlarm", ["Threshold"], 0.5))),
        ("exact-capacity-one", _wake_up_steps("ExactCapacity", 1)),
        ("percent-with-a-minimum-magnitude",
         _wake_up_steps("PercentChangeInCapacity", 100, MinAdjustmentMagnitude=1)),
        ("scheduled-minimum-zero-with-wake-up",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 0))),
        ("scheduled-minimum-one",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 1),
                  _delete("AsyncWakeUp", "AsyncWakeUpAlarm"))),
    ],
    "MetricPublishedByEndpointType": [],
    "RealtimeMinCapacity": [
        ("async-at-zero-is-fine", _set("AsyncTarget", ["MinCapacity"], 0)),
        ("scheduled-at-one", _scheduled_minimum("RtTarget", 1)),
        ("async-scheduled-at-zero-is-fine", _scheduled_minimum("AsyncTarget", 0)),
    ],
    "AsyncScaleInStepFlaps": [
        ("below-one", _scale_in(threshold=0.5, upper=0)),
        ("min-one-without-a-scheduled-zero",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 1),
                  _scale_in(threshold=1, upper=0))),
    ],
    "AlarmTopicAllowsCloudWatch": [
        ("no-topic-policy-keeps-snss-default", _delete("RtTopicPolicy")),
        ("any-principal-allowed",
         _set("RtTopicPolicy", ["PolicyDocument", "Statement"],
              [{"Effect": "Allow", "Principal": "*", "Action": ["sns:Publish"],
                "Resource": {"Ref": "RtTopic"}}])),
        ("inline-policy-allows-cloudwatch",
         _inline_topic_policy({"Service": "cloudwatch.amazonaws.com"})),
        ("inline-policy-allows-any-principal", _inline_topic_policy("*")),
    ],
    "ScalableTargetResolvesToEndpoint": [
        ("literal-with-depends-on", _literal_target(depends=True)),
        ("sub-with-attribute",
         _set("RtTarget", ["ResourceId"],
              {"Fn::Sub": "endpoint/${RtEndpoint.EndpointName}/variant/AllTraffic"})),
    ],
    "ScalableTargetVariantExists": [],
    "EndpointNameDimensionIsAName": [],
    "MixedFleetSignalSurvivesEmptyPool": [
        ("most-loaded-pool", _mixed_fleet("IF(ua >= ub, ua, ub)", ("ua", "a / 8"),
                                          ("ub", "b / 20"))),
        ("weighted-over-reporting-pools",
         _mixed_fleet("(0.5 * a + 0.5 * b) / (0.5 * IF(a, 1, 1) + 0.5 * IF(b, 1, 1))")),
    ],
    "StreamingScaleInCooldown": [
        ("default-cooldown-is-300", _delete_key("RtScaling", [_TT, "ScaleInCooldown"])),
        ("scale-in-disabled", _compose(_set("RtScaling", [_TT, "ScaleInCooldown"], 60),
                                       _set("RtScaling", [_TT, "DisableScaleIn"], True))),
        ("async-may-be-short", _set("AsyncBacklogScaling", [_TT, "ScaleInCooldown"], 60)),
    ],
    "RetainVariantProperties": [
        ("unscaled-endpoint-may-reset",
         _compose(_set("RtEndpoint", ["RetainAllVariantProperties"], False),
                  _delete("RtTarget", "RtScaling"))),
    ],
}


def build(*mutations: Mutation) -> Template:
    template = copy.deepcopy(compliant())
    for mutate in mutations:
        mutate(template)
    return template
