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


DEEPGRAM_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/deepgram/self-hosted:1"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _model(name: str, image: str = DEEPGRAM_IMAGE) -> dict[str, Any]:
    return {"Type": "AWS::SageMaker::Model", "Properties": {
        "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker-execution",
        "PrimaryContainer": {"Image": image},
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


def _scale_in(threshold: float, upper: float,
              operator: str = "LessThanOrEqualToThreshold") -> Mutation:
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
            "ComparisonOperator": operator,
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


def _add_dimension(logical_id: str, *path: str, name: str = "VariantName",
                   value: Any = "AllTraffic") -> Mutation:
    def mutate(t: Template) -> None:
        node = props(t, logical_id)
        for key in path:
            node = node[key]
        node["Dimensions"].append({"Name": name, "Value": value})
    return mutate


def _dimensions(logical_id: str, *path: str, dimensions: list[dict[str, Any]]) -> Mutation:
    def mutate(t: Template) -> None:
        node = props(t, logical_id)
        for key in path:
            node = node[key]
        node["Dimensions"] = dimensions
    return mutate


def _utilization_policy(namespace: str, dimensions: list[dict[str, Any]],
                        metric: str = "GPUUtilization") -> Mutation:
    """The real-time policy tracks an instance metric instead of concurrency."""
    def mutate(t: Template) -> None:
        config = props(t, "RtScaling")["TargetTrackingScalingPolicyConfiguration"]
        del config["PredefinedMetricSpecification"]
        config["TargetValue"] = 70
        config["CustomizedMetricSpecification"] = {
            "MetricName": metric, "Namespace": namespace, "Statistic": "Average",
            "Dimensions": dimensions}
    return mutate


_VARIANT = {"Name": "VariantName", "Value": "AllTraffic"}


def _model_image(logical_id: str, image: str) -> Mutation:
    return _set(logical_id, ["PrimaryContainer"], {"Image": image})


def _wake_on(metric: str, operator: str = "GreaterThanOrEqualToThreshold",
             threshold: float = 1) -> Mutation:
    def mutate(t: Template) -> None:
        alarm = props(t, "AsyncWakeUpAlarm")
        alarm.update(MetricName=metric, ComparisonOperator=operator, Threshold=threshold)
    return mutate


def _step_bounds(logical_id: str, lower: float | None, upper: float | None = None) -> Mutation:
    def mutate(t: Template) -> None:
        step = props(t, logical_id)["StepScalingPolicyConfiguration"]["StepAdjustments"][0]
        for key, value in (("MetricIntervalLowerBound", lower),
                           ("MetricIntervalUpperBound", upper)):
            step.pop(key, None)
            if value is not None:
                step[key] = value
    return mutate


def _inference_component(*, managed: dict[str, Any] | None = None, wake_up: bool = True,
                         operator: str = "GreaterThanOrEqualToThreshold",
                         threshold: float = 1, minimum: int = 0,
                         metric: str = "NoCapacityInvocationFailures") -> Mutation:
    """A real-time endpoint hosting an inference component whose copies scale to zero and
    wake on NoCapacityInvocationFailures, AWS's recipe."""
    scaling = {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2} if (
        managed is None) else managed

    def mutate(t: Template) -> None:
        resources = t["Resources"]
        variant: dict[str, Any] = {"VariantName": "AllTraffic", "InitialInstanceCount": 1,
                                   "InstanceType": "ml.g6.2xlarge",
                                   "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}}
        if scaling:
            variant["ManagedInstanceScaling"] = scaling
        resources["IcModel"] = _model("ic-model", XGBOOST_IMAGE)
        resources["IcConfig"] = {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sagemaker-execution",
            "ProductionVariants": [variant]}}
        resources["IcEndpoint"] = _endpoint("IcConfig")
        resources["IcComponent"] = {"Type": "AWS::SageMaker::InferenceComponent", "Properties": {
            "EndpointName": _att("IcEndpoint", "EndpointName"), "VariantName": "AllTraffic",
            "InferenceComponentName": "ic-model",
            "Specification": {"ModelName": _att("IcModel", "ModelName"),
                              "ComputeResourceRequirements": {
                                  "NumberOfAcceleratorDevicesRequired": 1,
                                  "MinMemoryRequiredInMb": 1024}},
            "RuntimeConfig": {"CopyCount": 1}}}
        resources["IcTarget"] = {"Type": "AWS::ApplicationAutoScaling::ScalableTarget",
                                 "Properties": {
            "MinCapacity": minimum, "MaxCapacity": 4,
            # the component has no InferenceComponentName attribute (its Ref is the ARN):
            # name it literally and depend on it
            "ResourceId": "inference-component/ic-model",
            "ScalableDimension": "sagemaker:inference-component:DesiredCopyCount",
            "ServiceNamespace": "sagemaker"}, "DependsOn": "IcComponent"}
        if not wake_up:
            return
        resources["IcWakeUp"] = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                                 "Properties": {
            "PolicyName": "ic-wake-up", "PolicyType": "StepScaling",
            "ScalingTargetId": {"Ref": "IcTarget"},
            "StepScalingPolicyConfiguration": {
                "AdjustmentType": "ChangeInCapacity", "Cooldown": 60,
                "MetricAggregationType": "Maximum",
                "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}}}
        resources["IcWakeUpAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "MetricName": metric, "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "InferenceComponentName", "Value": "ic-model"}],
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": threshold,
            "ComparisonOperator": operator, "TreatMissingData": "missing",
            "AlarmActions": [{"Ref": "IcWakeUp"}]}}
    return mutate


def _copy_tracking(predefined: str) -> Mutation:
    """Target tracking on the inference component's copies."""
    def mutate(t: Template) -> None:
        t["Resources"]["IcScaling"] = {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
                                       "Properties": {
            "PolicyName": "copies", "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": "IcTarget"},
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 5, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": predefined}}}}
    return mutate


def _copy_target(resource_id: str, *, depends: bool) -> Mutation:
    def mutate(t: Template) -> None:
        target = t["Resources"]["IcTarget"]
        target["Properties"]["ResourceId"] = resource_id
        if not depends:
            target.pop("DependsOn", None)
    return mutate


def _schedules(*expressions: str) -> Mutation:
    return _set("RtTarget", ["ScheduledActions"], [
        {"ScheduledActionName": f"s{n}", "Schedule": expression,
         "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 4}}
        for n, expression in enumerate(expressions)])


def _transform(logical_id: str, *, whole: bool = True) -> Mutation:
    """The resource's properties (or one of them) come from an AWS::Include macro."""
    include = {"Fn::Transform": {"Name": "AWS::Include",
                                 "Parameters": {"Location": "s3://bucket/snippet.yaml"}}}

    def mutate(t: Template) -> None:
        if whole:
            t["Resources"][logical_id]["Properties"] = include
        else:
            props(t, logical_id)["MinCapacity"] = include
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


def _second_component(name: str = "other-ic") -> Mutation:
    """A second inference component on the same endpoint, not scaled."""
    def mutate(t: Template) -> None:
        component = copy.deepcopy(t["Resources"]["IcComponent"])
        component["Properties"]["InferenceComponentName"] = name
        t["Resources"]["IcOtherComponent"] = component
    return mutate


def _library_metadata(endpoint: str, kind: str) -> Mutation:
    """The metadata the constructs write on their endpoint."""
    def mutate(t: Template) -> None:
        t["Resources"][endpoint]["Metadata"] = {
            "deepgram-scaling": {"version": "0.2.0", "kind": kind}}
    return mutate


def _compose(*mutations: Mutation) -> Mutation:
    def mutate(t: Template) -> None:
        for one in mutations:
            one(t)
    return mutate


_TT = "TargetTrackingScalingPolicyConfiguration"
_NO_WAKE_UP = _delete("AsyncWakeUp", "AsyncWakeUpAlarm")
#: the async endpoint's backlog tracked with a target below 1, and no step wake-up
_TRACKING_BELOW_ONE = _compose(_NO_WAKE_UP, _set("AsyncBacklogScaling", [_TT, "TargetValue"], 0.5))

#: rule name -> [(case, mutation, the resources it must flag)]
NON_COMPLIANT: dict[str, list[tuple[str, Mutation, set[str]]]] = {
    "MetricDimensions": [
        ("backlog-policy-with-variant-name",
         _add_dimension("AsyncBacklogScaling", _TT, "CustomizedMetricSpecification"),
         {"AsyncBacklogScaling"}),
        ("backlog-alarm-with-variant-name", _add_dimension("AsyncWakeUpAlarm"),
         {"AsyncWakeUpAlarm"}),
        ("backlog-with-an-instance-type",
         _add_dimension("AsyncWakeUpAlarm", name="InstanceType", value="ml.g6.2xlarge"),
         {"AsyncWakeUpAlarm"}),
        ("backlog-without-endpoint-name",
         _dimensions("AsyncBacklogScaling", _TT, "CustomizedMetricSpecification",
                     dimensions=[_VARIANT]), {"AsyncBacklogScaling"}),
        ("backlog-without-dimensions",
         _dimensions("AsyncWakeUpAlarm", dimensions=[]), {"AsyncWakeUpAlarm"}),
        ("gpu-utilization-with-variant-only",
         _utilization_policy("/aws/sagemaker/Endpoints", [_VARIANT]), {"RtScaling"}),
        ("errors-without-variant-name",
         _dimensions("RtErrorsAlarm", dimensions=[_endpoint_dimension("RtEndpoint")]),
         {"RtErrorsAlarm"}),
    ],
    "AsyncWakeUpFromZero": [
        ("no-wake-up", _delete("AsyncWakeUp", "AsyncWakeUpAlarm"), {"AsyncTarget"}),
        ("alarm-on-a-metric-without-data-at-zero", _wake_on("TimeInBacklog"), {"AsyncTarget"}),
        ("inverted-alarm",
         _set("AsyncWakeUpAlarm", ["ComparisonOperator"], "LessThanThreshold"), {"AsyncTarget"}),
        ("alarm-above-one",
         _set("AsyncWakeUpAlarm", ["ComparisonOperator"], "GreaterThanThreshold"),
         {"AsyncTarget"}),
        ("step-starts-above-one", _step_bounds("AsyncWakeUp", 4), {"AsyncTarget"}),
        ("sum-over-one-minute-above-one",
         _compose(_wake_on("HasBacklogWithoutCapacity", "GreaterThanThreshold", 1),
                  _set("AsyncWakeUpAlarm", ["Statistic"], "Sum")), {"AsyncTarget"}),
        ("backlog-size-above-one", _wake_on("ApproximateBacklogSize", threshold=2),
         {"AsyncTarget"}),
        ("exact-capacity-zero", _wake_up_steps("ExactCapacity", 0), {"AsyncTarget"}),
        ("change-by-zero", _wake_up_steps("ChangeInCapacity", 0), {"AsyncTarget"}),
        ("percent-of-zero", _wake_up_steps("PercentChangeInCapacity", 100), {"AsyncTarget"}),
        ("scheduled-minimum-zero",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 0),
                  _delete("AsyncWakeUp", "AsyncWakeUpAlarm")), {"AsyncTarget"}),
        ("target-tracking-at-one-alone",
         _compose(_NO_WAKE_UP, _set("AsyncBacklogScaling", [_TT, "TargetValue"], 1)),
         {"AsyncTarget"}),
        ("wake-alarm-watches-another-endpoint",
         _set("AsyncWakeUpAlarm", ["Dimensions"], [_endpoint_dimension("RtEndpoint")]),
         {"AsyncTarget"}),
        ("tracking-below-one-on-another-endpoint",
         _compose(_TRACKING_BELOW_ONE,
                  _set("AsyncBacklogScaling", [_TT, "CustomizedMetricSpecification",
                                               "Dimensions"], [_endpoint_dimension("RtEndpoint")])),
         {"AsyncTarget"}),
        ("wake-alarm-actions-disabled", _set("AsyncWakeUpAlarm", ["ActionsEnabled"], False),
         {"AsyncTarget"}),
        ("wake-alarm-actions-disabled-as-string",
         _set("AsyncWakeUpAlarm", ["ActionsEnabled"], "false"), {"AsyncTarget"}),
        ("max-capacity-zero", _set("AsyncTarget", ["MaxCapacity"], 0), {"AsyncTarget"}),
    ],
    "WakeUpAddsWhileRunning": [
        ("backlog-size-beside-target-tracking", _wake_on("ApproximateBacklogSize"),
         {"AsyncWakeUp"}),
        ("backlog-size-step-only",
         _compose(_wake_on("ApproximateBacklogSize"), _delete("AsyncBacklogScaling")),
         {"AsyncWakeUp"}),
        ("backlog-size-above-zero-step-only",
         _compose(_wake_on("ApproximateBacklogSize", "GreaterThanThreshold", 0),
                  _delete("AsyncBacklogScaling")), {"AsyncWakeUp"}),
    ],
    "WakeUpOnIndirectSignal": [
        ("per-instance-backlog", _wake_on("ApproximateBacklogSizePerInstance"),
         {"AsyncWakeUp"}),
        ("oldest-request-age",
         _wake_on("ApproximateAgeOfOldestRequest", "GreaterThanThreshold", 300),
         {"AsyncWakeUp"}),
        ("target-tracking-below-one-alone", _TRACKING_BELOW_ONE, {"AsyncBacklogScaling"}),
    ],
    "WakeUpAlarmWatchesTarget": [
        ("literal-name-of-no-endpoint",
         _set("AsyncWakeUpAlarm", ["Dimensions"], [{"Name": "EndpointName",
                                                    "Value": "speech-async"}]),
         {"AsyncWakeUpAlarm"}),
        ("component-name-of-no-component",
         _compose(_inference_component(),
                  _set("IcWakeUpAlarm", ["Dimensions"],
                       [{"Name": "InferenceComponentName", "Value": "other-ic"}])),
         {"IcWakeUpAlarm"}),
    ],
    "MetricPublishedByEndpointType": [
        ("async-on-invocations-per-instance",
         _set("AsyncBacklogScaling", [_TT], {
             "TargetValue": 70, "PredefinedMetricSpecification": {
                 "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}}),
         {"AsyncBacklogScaling"}),
        ("async-alarm-on-concurrency",
         _alarm("AsyncConcurrencyAlarm", "ConcurrentRequestsPerModel",
                [_endpoint_dimension("AsyncEndpoint"), _VARIANT], []),
         {"AsyncConcurrencyAlarm"}),
        ("realtime-alarm-on-backlog",
         _alarm("RtAgeAlarm", "ApproximateAgeOfOldestRequest",
                [_endpoint_dimension("RtEndpoint")], []),
         {"RtAgeAlarm"}),
        ("realtime-alarm-on-async-failures",
         _alarm("RtUploadAlarm", "ResponseUploadFailures",
                [_endpoint_dimension("RtEndpoint"), _VARIANT], []),
         {"RtUploadAlarm"}),
        ("variant-type-on-copies",
         _compose(_inference_component(),
                  _copy_tracking("SageMakerVariantInvocationsPerInstance")), {"IcScaling"}),
        ("copy-type-on-a-variant",
         _set("RtScaling", [_TT, "PredefinedMetricSpecification"], {"PredefinedMetricType":
              "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"}),
         {"RtScaling"}),
    ],
    "RealtimeMinCapacity": [
        ("realtime-at-zero", _set("RtTarget", ["MinCapacity"], 0), {"RtTarget"}),
        ("realtime-at-zero-as-string", _set("RtTarget", ["MinCapacity"], "0"), {"RtTarget"}),
        ("scheduled-at-zero", _scheduled_minimum("RtTarget", 0), {"RtTarget"}),
    ],
    "AsyncScaleInStepFlaps": [
        ("upper-bound-reaches-one", _scale_in(threshold=1, upper=0), {"AsyncScaleIn"}),
        ("threshold-above-one", _scale_in(threshold=2, upper=0), {"AsyncScaleIn"}),
        ("less-than-above-one", _scale_in(threshold=1.5, upper=0, operator="LessThanThreshold"),
         {"AsyncScaleIn"}),
        ("scheduled-minimum-zero",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 0),
                  _scale_in(threshold=1, upper=0)), {"AsyncScaleIn"}),
    ],
    "InferenceComponentWakeUpFromZero": [
        ("no-wake-up", _inference_component(wake_up=False), {"IcTarget"}),
        ("alarm-on-invocations", _inference_component(metric="Invocations"), {"IcTarget"}),
        ("alarm-that-never-fires",
         _inference_component(operator="LessThanThreshold"), {"IcTarget"}),
        ("alarm-watches-another-component",
         _compose(_inference_component(), _second_component(),
                  _set("IcWakeUpAlarm", ["Dimensions"],
                       [{"Name": "InferenceComponentName", "Value": "other-ic"}])),
         {"IcTarget"}),
        ("alarm-actions-disabled",
         _compose(_inference_component(), _set("IcWakeUpAlarm", ["ActionsEnabled"], False)),
         {"IcTarget"}),
        ("alarm-watches-the-components-arn",
         _compose(_inference_component(), _set("IcWakeUpAlarm", ["Dimensions"], [
             {"Name": "InferenceComponentName", "Value": {"Ref": "IcComponent"}}])),
         {"IcTarget"}),
    ],
    "InferenceComponentWakeUpNeedsTwoFailures": [
        ("aws-example-greater-than-one",
         _inference_component(operator="GreaterThanThreshold"), {"IcWakeUpAlarm"}),
        ("at-least-three", _inference_component(threshold=3), {"IcWakeUpAlarm"}),
    ],
    "InferenceComponentManagedScaling": [
        ("bounds-out-of-order-copies-at-zero",
         _inference_component(managed={"Status": "ENABLED", "MinInstanceCount": 3,
                                       "MaxInstanceCount": 2}), {"IcTarget"}),
        ("bounds-out-of-order",
         _inference_component(minimum=1, managed={"Status": "ENABLED", "MinInstanceCount": 3,
                                                  "MaxInstanceCount": 2}), {"IcTarget"}),
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
        ("copies-named-without-dependency",
         _compose(_inference_component(),
                  _copy_target("inference-component/ic-model", depends=False)), {"IcTarget"}),
        ("copies-of-no-component",
         _compose(_inference_component(),
                  _copy_target("inference-component/elsewhere", depends=True)), {"IcTarget"}),
    ],
    "ScalableTargetVariantExists": [
        ("unknown-variant", _set("RtTarget", ["ResourceId"], _resource_id("RtEndpoint", "v1")),
         {"RtTarget"}),
    ],
    "EndpointNameDimensionIsAName": [
        ("ref-as-dimension",
         _set("RtErrorsAlarm", ["Dimensions"],
              [{"Name": "EndpointName", "Value": {"Ref": "RtEndpoint"}}, _VARIANT]),
         {"RtErrorsAlarm"}),
        ("component-ref-as-dimension",
         _compose(_inference_component(), _set("IcWakeUpAlarm", ["Dimensions"], [
             {"Name": "InferenceComponentName", "Value": {"Ref": "IcComponent"}}])),
         {"IcWakeUpAlarm"}),
        ("component-arn-as-dimension",
         _compose(_inference_component(), _set("IcWakeUpAlarm", ["Dimensions"], [
             {"Name": "InferenceComponentName",
              "Value": _att("IcComponent", "InferenceComponentArn")}])),
         {"IcWakeUpAlarm"}),
        ("component-ref-everywhere",
         _compose(_inference_component(),
                  _set("IcTarget", ["ResourceId"],
                       {"Fn::Join": ["", ["inference-component/", {"Ref": "IcComponent"}]]}),
                  _set("IcWakeUpAlarm", ["Dimensions"], [
                      {"Name": "InferenceComponentName", "Value": {"Ref": "IcComponent"}}])),
         {"IcTarget", "IcWakeUpAlarm"}),
    ],
    "MixedFleetSignalSurvivesEmptyPool": [
        ("aws-weighted-sum", _mixed_fleet("(a / 8 + b / 20) / 2"), {"RtScaling"}),
        ("plain-sum", _mixed_fleet("a + b"), {"RtScaling"}),
    ],
    "StreamingScaleInCooldown": [
        ("one-minute", _set("RtScaling", [_TT, "ScaleInCooldown"], 60), {"RtScaling"}),
        ("one-minute-on-this-librarys-endpoint",
         _compose(_model_image("RtModel", XGBOOST_IMAGE), _library_metadata("RtEndpoint", "realtime"),
                  _set("RtScaling", [_TT, "ScaleInCooldown"], 60)), {"RtScaling"}),
        ("one-minute-on-a-marketplace-package",
         _compose(_set("RtModel", ["PrimaryContainer"], {"ModelPackageName":
                  "arn:aws:sagemaker:us-east-1:865070037744:model-package/deepgram-nova-3"}),
                  _set("RtScaling", [_TT, "ScaleInCooldown"], 60)), {"RtScaling"}),
    ],
    "RetainVariantProperties": [
        ("not-retained", _set("RtEndpoint", ["RetainAllVariantProperties"], False),
         {"RtEndpoint"}),
    ],
    "ScheduleExpression": [
        ("hour-out-of-range", _schedules("cron(0 25 * * ? *)"), {"RtTarget"}),
        ("five-fields", _schedules("cron(0 8 * * *)"), {"RtTarget"}),
        ("no-question-mark", _schedules("cron(0 8 * * MON-FRI *)"), {"RtTarget"}),
    ],
    "TransformNotExpanded": [
        ("properties-are-a-transform", _transform("RtScaling"), {"RtScaling"}),
        ("a-property-is-a-transform", _transform("RtTarget", whole=False), {"RtTarget"}),
    ],
}

#: rule name -> [(case, mutation)] the rule must accept (the base is always among them)
COMPLIANT: dict[str, list[tuple[str, Mutation]]] = {
    "MetricDimensions": [
        ("gpu-utilization-per-variant",
         _utilization_policy("/aws/sagemaker/Endpoints",
                             [_endpoint_dimension("RtEndpoint"), _VARIANT])),
        ("gpu-utilization-per-accelerator",
         _utilization_policy("/aws/sagemaker/Endpoints",
                             [_endpoint_dimension("RtEndpoint"), _VARIANT,
                              {"Name": "InstanceId", "Value": "i-0123"},
                              {"Name": "AcceleratorId", "Value": "0"}])),
        ("concurrency-per-pool",
         _mixed_fleet("IF(ua >= ub, ua, ub)", ("ua", "a / 8"), ("ub", "b / 20"))),
        ("custom-namespace-is-not-judged",
         _utilization_policy("Deepgram/Custom", [_VARIANT], metric="ActiveStreams")),
        ("model-monitor-is-not-judged",
         _utilization_policy("/aws/sagemaker/Endpoints/data-metrics",
                             [{"Name": "Endpoint", "Value": "rt"}], metric="feature_x")),
        ("copy-wake-up-per-component", _inference_component()),
        # AWS says the new fleet's metrics carry EndpointConfigName without listing them:
        # accepted for instance metrics as for invocation metrics
        ("gpu-utilization-of-the-new-fleet",
         _utilization_policy("/aws/sagemaker/Endpoints",
                             [_endpoint_dimension("RtEndpoint"), _VARIANT,
                              {"Name": "EndpointConfigName", "Value": "rt-config-2"}])),
    ],
    "AsyncWakeUpFromZero": [
        ("min-one-needs-no-wake-up", _compose(_set("AsyncTarget", ["MinCapacity"], 1),
                                              _delete("AsyncWakeUp", "AsyncWakeUpAlarm"))),
        ("greater-than-a-half",
         _compose(_set("AsyncWakeUpAlarm", ["ComparisonOperator"], "GreaterThanThreshold"),
                  _set("AsyncWakeUpAlarm", ["Threshold"], 0.5))),
        ("backlog-size-reaching-one", _wake_on("ApproximateBacklogSize")),
        ("sum-over-five-minutes-above-one",
         _compose(_wake_on("HasBacklogWithoutCapacity", "GreaterThanThreshold", 1),
                  _set("AsyncWakeUpAlarm", ["Statistic"], "Sum"),
                  _set("AsyncWakeUpAlarm", ["Period"], 300))),
        ("backlog-size-above-zero", _wake_on("ApproximateBacklogSize", "GreaterThanThreshold", 0)),
        ("per-instance-backlog-warns-instead", _wake_on("ApproximateBacklogSizePerInstance")),
        ("step-from-minus-one", _step_bounds("AsyncWakeUp", -1)),
        ("exact-capacity-one", _wake_up_steps("ExactCapacity", 1)),
        ("percent-with-a-minimum-magnitude",
         _wake_up_steps("PercentChangeInCapacity", 100, MinAdjustmentMagnitude=1)),
        ("scheduled-minimum-zero-with-wake-up",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 0))),
        ("scheduled-minimum-one",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 1),
                  _delete("AsyncWakeUp", "AsyncWakeUpAlarm"))),
        # one request lifts the backlog above a target below 1 (a warning names the reliance)
        ("target-tracking-below-one-alone", _TRACKING_BELOW_ONE),
        # counted, with a warning of its own (WakeUpAlarmWatchesTarget)
        ("wake-alarm-names-an-unknown-endpoint",
         _set("AsyncWakeUpAlarm", ["Dimensions"], [{"Name": "EndpointName",
                                                    "Value": "speech-async"}])),
        ("wake-alarm-by-literal-name",
         _compose(_set("AsyncEndpoint", ["EndpointName"], "speech-async"),
                  _set("AsyncWakeUpAlarm", ["Dimensions"], [{"Name": "EndpointName",
                                                             "Value": "speech-async"}]))),
        ("actions-enabled-true", _set("AsyncWakeUpAlarm", ["ActionsEnabled"], True)),
        ("max-capacity-zero-raised-by-a-schedule",
         _compose(_set("AsyncTarget", ["MaxCapacity"], 0), _set("AsyncTarget", ["ScheduledActions"], [{
             "ScheduledActionName": "day", "Schedule": "cron(0 8 * * ? *)",
             "ScalableTargetAction": {"MinCapacity": 0, "MaxCapacity": 4}}]))),
    ],
    "WakeUpAddsWhileRunning": [
        ("exact-capacity-one-on-backlog-size",
         _compose(_wake_on("ApproximateBacklogSize"), _wake_up_steps("ExactCapacity", 1))),
        ("aws-recipe-step-only", _delete("AsyncBacklogScaling")),
        ("backlog-size-with-one-instance-at-most",
         _compose(_wake_on("ApproximateBacklogSize"), _delete("AsyncBacklogScaling"),
                  _set("AsyncTarget", ["MaxCapacity"], 1))),
    ],
    "WakeUpOnIndirectSignal": [
        ("backlog-size-is-direct", _wake_on("ApproximateBacklogSize")),
        ("min-one", _compose(_set("AsyncTarget", ["MinCapacity"], 1),
                             _wake_on("ApproximateBacklogSizePerInstance"))),
        ("target-tracking-below-one-beside-the-aws-recipe",
         _set("AsyncBacklogScaling", [_TT, "TargetValue"], 0.5)),
    ],
    "WakeUpAlarmWatchesTarget": [
        ("endpoint-by-literal-name",
         _compose(_set("AsyncEndpoint", ["EndpointName"], "speech-async"),
                  _set("AsyncWakeUpAlarm", ["Dimensions"], [{"Name": "EndpointName",
                                                             "Value": "speech-async"}]))),
        ("component-by-name", _inference_component()),
        # another endpoint of the template: no wake-up at all (AsyncWakeUpFromZero)
        ("another-endpoint-is-not-counted",
         _set("AsyncWakeUpAlarm", ["Dimensions"], [_endpoint_dimension("RtEndpoint")])),
        ("min-one-is-not-judged",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1),
                  _set("AsyncWakeUpAlarm", ["Dimensions"], [{"Name": "EndpointName",
                                                             "Value": "speech-async"}]))),
    ],
    "MetricPublishedByEndpointType": [
        ("async-alarm-on-host-metrics",
         _alarm("AsyncCpuAlarm", "CPUUtilization",
                [_endpoint_dimension("AsyncEndpoint"), _VARIANT], [])),
        ("copy-metrics-on-a-component", _inference_component()),
        ("copy-type-on-copies",
         _compose(_inference_component(), _copy_tracking(
             "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"))),
    ],
    "RealtimeMinCapacity": [
        ("async-at-zero-is-fine", _set("AsyncTarget", ["MinCapacity"], 0)),
        ("scheduled-at-one", _scheduled_minimum("RtTarget", 1)),
        ("async-scheduled-at-zero-is-fine", _scheduled_minimum("AsyncTarget", 0)),
        ("inference-component-copies-at-zero", _inference_component()),
        ("variant-of-an-endpoint-with-components-at-zero",
         _compose(_inference_component(),
                  _set("RtTarget", ["ResourceId"], _resource_id("IcEndpoint")),
                  _set("RtTarget", ["MinCapacity"], 0))),
    ],
    "AsyncScaleInStepFlaps": [
        ("below-one", _scale_in(threshold=0.5, upper=0)),
        ("alarm-not-in-alarm-at-one", _scale_in(threshold=0.5, upper=0.5)),
        ("less-than-one-never-acts-at-one",
         _scale_in(threshold=1, upper=0, operator="LessThanThreshold")),
        ("min-one-without-a-scheduled-zero",
         _compose(_set("AsyncTarget", ["MinCapacity"], 1), _scheduled_minimum("AsyncTarget", 1),
                  _scale_in(threshold=1, upper=0))),
    ],
    "InferenceComponentWakeUpFromZero": [
        ("aws-recipe", _inference_component()),
        ("aws-example-needs-two-failures-but-wakes",
         _inference_component(operator="GreaterThanThreshold")),
        ("copies-stay-at-one", _inference_component(wake_up=False, minimum=1)),
        ("alarm-watches-its-component-among-two",
         _compose(_inference_component(), _second_component())),
    ],
    "InferenceComponentWakeUpNeedsTwoFailures": [
        ("at-least-one", _inference_component()),
        ("more-than-zero", _inference_component(operator="GreaterThanThreshold", threshold=0)),
    ],
    "InferenceComponentManagedScaling": [
        ("enabled", _inference_component()),
        ("copies-stay-at-one-on-a-fixed-fleet",
         _inference_component(managed={}, minimum=1, wake_up=False)),
        # copies may reach 0 on their own; MinInstanceCount 0 is for instances reaching 0
        ("copies-at-zero-on-kept-instances",
         _inference_component(managed={"Status": "ENABLED", "MinInstanceCount": 1,
                                       "MaxInstanceCount": 2})),
        ("copies-at-zero-without-managed-scaling", _inference_component(managed={})),
        ("copies-at-zero-with-managed-scaling-disabled",
         _inference_component(managed={"Status": "DISABLED"})),
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
        ("copies-named-with-depends-on", _inference_component()),
        ("sub-with-attribute",
         _set("RtTarget", ["ResourceId"],
              {"Fn::Sub": "endpoint/${RtEndpoint.EndpointName}/variant/AllTraffic"})),
    ],
    "ScalableTargetVariantExists": [],
    "EndpointNameDimensionIsAName": [
        ("component-named-literally", _inference_component()),
        ("component-named-by-parameter",
         _compose(_inference_component(),
                  lambda t: t.setdefault("Parameters", {}).update(
                      {"IcName": {"Type": "String", "Default": "ic-model"}}),
                  _set("IcComponent", ["InferenceComponentName"], {"Ref": "IcName"}),
                  _set("IcTarget", ["ResourceId"], {"Fn::Sub": "inference-component/${IcName}"}),
                  _set("IcWakeUpAlarm", ["Dimensions"], [
                      {"Name": "InferenceComponentName", "Value": {"Ref": "IcName"}}]))),
    ],
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
        ("library-metadata-on-async-may-be-short",
         _compose(_library_metadata("AsyncEndpoint", "async"),
                  _set("AsyncBacklogScaling", [_TT, "ScaleInCooldown"], 60))),
        ("xgboost-is-not-deepgram",
         _compose(_model_image("RtModel", XGBOOST_IMAGE),
                  _set("RtScaling", [_TT, "ScaleInCooldown"], 60))),
    ],
    "RetainVariantProperties": [
        ("unscaled-endpoint-may-reset",
         _compose(_set("RtEndpoint", ["RetainAllVariantProperties"], False),
                  _delete("RtTarget", "RtScaling"))),
    ],
    "ScheduleExpression": [
        ("six-fields-with-a-question-mark", _schedules("cron(0 8 ? * MON-FRI *)")),
        ("rate-and-at", _schedules("rate(1 hour)", "at(2026-03-01T08:00:00)")),
    ],
    "TransformNotExpanded": [],
}


def build(*mutations: Mutation) -> Template:
    template = copy.deepcopy(compliant())
    for mutate in mutations:
        mutate(template)
    return template
