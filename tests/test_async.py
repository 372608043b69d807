"""The asynchronous endpoint: every link of scale-to-zero and wake-from-zero, its endpoint
config, grants and warnings."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Annotations, Match, Template

from deepgram_scaling import (
    DeepgramModel,
    InstancePool,
)
from deepgram_scaling.asynchronous import MARKETPLACE_WARNING_ID

from .conftest import AsyncOwnStorageScenario

# Every metric an asynchronous endpoint publishes (AWS: "Alarms and logs for tracking metrics
# from asynchronous endpoints"; any metric not listed there is not published).
ASYNC_METRICS = {
    "Invocation4XXErrors", "Invocation5XXErrors", "ModelLatency",
    "ApproximateBacklogSize", "ApproximateBacklogSizePerInstance",
    "ApproximateAgeOfOldestRequest", "HasBacklogWithoutCapacity",
    "RequestDownloadFailures", "ResponseUploadFailures", "NotificationFailures",
    "ExpiredRequests", "InvocationFailures", "InvocationsProcessed", "RequestDownloadLatency",
    "ResponseUploadLatency", "TimeInBacklog", "TotalProcessingTime",
    "CPUUtilization", "GPUUtilization", "MemoryUtilization", "GPUMemoryUtilization",
    "DiskUtilization",
}


def batch(template: Template, resource_type: str, prefix: str = "Batch") -> dict[str, Any]:
    return {k: v for k, v in template.find_resources(resource_type).items()
            if k.startswith(prefix)}


def one(template: Template, resource_type: str, prefix: str = "Batch") -> tuple[str, dict]:
    found = batch(template, resource_type, prefix)
    assert len(found) == 1, list(found)
    return next(iter(found.items()))


def normalized(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Statements with list values sorted: the minimizePolicies flag reorders them."""
    def norm(value: Any) -> Any:
        if isinstance(value, list):
            return sorted((norm(v) for v in value), key=repr)
        return value
    return sorted(({k: norm(v) for k, v in s.items()} for s in statements), key=repr)


def endpoint_name(template: Template, prefix: str = "Batch") -> dict[str, Any]:
    endpoint_id, _ = one(template, "AWS::SageMaker::Endpoint", prefix)
    return {"Fn::GetAtt": [endpoint_id, "EndpointName"]}


def test_scalable_target_allows_zero(example_template: Template):
    _, target = one(example_template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["MinCapacity"] == 0
    assert target["Properties"]["MaxCapacity"] == 4
    assert target["Properties"]["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"


def test_target_tracking_on_backlog_per_instance_with_endpoint_name_only(example_template):
    target_id, _ = one(example_template, "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = batch(example_template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = [p["Properties"] for p in policies.values()
                if p["Properties"]["PolicyType"] == "TargetTrackingScaling"]
    assert len(tracking) == 1
    assert tracking[0]["ScalingTargetId"] == {"Ref": target_id}
    assert tracking[0]["TargetTrackingScalingPolicyConfiguration"] == {
        "CustomizedMetricSpecification": {
            "MetricName": "ApproximateBacklogSizePerInstance",
            "Namespace": "AWS/SageMaker",
            "Dimensions": [{"Name": "EndpointName", "Value": endpoint_name(example_template)}],
            "Statistic": "Average",
        },
        "TargetValue": 5,
        "ScaleOutCooldown": 300,
        "ScaleInCooldown": 600,
    }


def test_wake_up_step_policy_adds_one_instance(example_template: Template):
    target_id, _ = one(example_template, "AWS::ApplicationAutoScaling::ScalableTarget")
    policies = batch(example_template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    steps = {k: p["Properties"] for k, p in policies.items()
             if p["Properties"]["PolicyType"] == "StepScaling"}
    assert len(steps) == 1
    (props,) = steps.values()
    assert props["ScalingTargetId"] == {"Ref": target_id}
    assert props["StepScalingPolicyConfiguration"] == {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": 300,
        "MetricAggregationType": "Average",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }


def test_has_backlog_without_capacity_alarm_drives_the_step_policy(example_template: Template):
    policies = batch(example_template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    (step_id,) = [k for k, p in policies.items() if p["Properties"]["PolicyType"] == "StepScaling"]
    alarms = [a["Properties"] for a in batch(example_template, "AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("AlarmActions") == [{"Ref": step_id}]]
    assert len(alarms) == 1
    alarm = alarms[0]
    assert {k: alarm[k] for k in (
        "MetricName", "Namespace", "Statistic", "Period", "EvaluationPeriods",
        "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData")} == {
        "MetricName": "HasBacklogWithoutCapacity",
        "Namespace": "AWS/SageMaker",
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "missing",
    }
    assert alarm["Dimensions"] == [{"Name": "EndpointName",
                                    "Value": endpoint_name(example_template)}]


def test_no_scale_in_step_can_undo_the_wake_up(example_template: Template):
    # Several policies: the largest capacity wins, scale-in needs every policy to agree.
    # The only step policy (the wake-up from zero) only ever adds capacity.
    steps = [policy["Properties"]["StepScalingPolicyConfiguration"]
             for policy in batch(example_template,
                                 "AWS::ApplicationAutoScaling::ScalingPolicy").values()
             if "StepScalingPolicyConfiguration" in policy["Properties"]]
    assert len(steps) == 1, "the wake-up step policy is missing"
    (config,) = steps
    assert config["AdjustmentType"] == "ChangeInCapacity"
    assert config["StepAdjustments"]
    assert all(step["ScalingAdjustment"] > 0 for step in config["StepAdjustments"])


def test_every_scaling_metric_is_one_async_endpoints_publish(example_template: Template):
    names = set()
    for alarm in batch(example_template, "AWS::CloudWatch::Alarm").values():
        names.add(alarm["Properties"]["MetricName"])
    for policy in batch(example_template, "AWS::ApplicationAutoScaling::ScalingPolicy").values():
        spec = policy["Properties"].get("TargetTrackingScalingPolicyConfiguration", {})
        assert "PredefinedMetricSpecification" not in spec
        if "CustomizedMetricSpecification" in spec:
            names.add(spec["CustomizedMetricSpecification"]["MetricName"])
    assert names <= ASYNC_METRICS, names - ASYNC_METRICS


def test_no_wake_up_policy_when_min_capacity_is_positive(async_own_storage: AsyncOwnStorageScenario):
    policies = async_own_storage.template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert [p["Properties"]["PolicyType"] for p in policies.values()] == ["TargetTrackingScaling"]
    assert async_own_storage.endpoint.wake_up_policy is None
    async_own_storage.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 1, "MaxCapacity": 3})


def test_async_inference_config(example_template: Template):
    _, config = one(example_template, "AWS::SageMaker::EndpointConfig")
    bucket_id, _ = one(example_template, "AWS::S3::Bucket", "BatchBucket")
    key_id, _ = one(example_template, "AWS::KMS::Key", "BatchKey")
    topics = batch(example_template, "AWS::SNS::Topic")
    success = next(k for k in topics if "SuccessTopic" in k)
    error = next(k for k in topics if "Error" in k)
    assert config["Properties"]["AsyncInferenceConfig"] == {
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 32},
        "OutputConfig": {
            "S3OutputPath": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/output/"]]},
            "S3FailurePath": {"Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/failure/"]]},
            "KmsKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            "NotificationConfig": {"SuccessTopic": {"Ref": success}, "ErrorTopic": {"Ref": error}},
        },
    }
    variant = config["Properties"]["ProductionVariants"][0]
    assert variant["InitialInstanceCount"] == 1  # CreateEndpointConfig needs one; scaling idles it
    assert [p["InstanceType"] for p in variant["InstancePools"]] == ["ml.g6.2xlarge", "ml.g6e.2xlarge"]
    assert "RoutingConfig" not in variant


def test_marketplace_package_warns(async_own_storage: AsyncOwnStorageScenario):
    warnings = Annotations.from_stack(async_own_storage.stack).find_warning(
        "*", Match.string_like_regexp("temporarily not supported for Marketplace"))
    assert len(warnings) == 1
    assert MARKETPLACE_WARNING_ID in str(warnings[0].entry.data)


def test_container_image_does_not_warn(example_stack):
    warnings = Annotations.from_stack(example_stack).find_warning(
        "*", Match.string_like_regexp("Marketplace"))
    assert warnings == []


def test_async_escape_hatches(async_own_storage: AsyncOwnStorageScenario):
    endpoint = async_own_storage.endpoint
    assert [r.cfn_resource_type for r in (endpoint.cfn_model, endpoint.cfn_endpoint_config,
                                          endpoint.cfn_endpoint)] == [
        "AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint"]
    assert endpoint.scalable_target is endpoint.scaling.scalable_target
    assert endpoint.scaling_policy.node.default_child.cfn_resource_type == \
        "AWS::ApplicationAutoScaling::ScalingPolicy"
    # the user's own storage, handed back as given
    assert endpoint.bucket is async_own_storage.bucket
    assert endpoint.success_topic is async_own_storage.success
    assert endpoint.error_topic is async_own_storage.error
    assert endpoint.encryption_key is async_own_storage.key


MIXED = [InstancePool("ml.g6.2xlarge", max_concurrency=8),
         InstancePool("ml.g6e.2xlarge", max_concurrency=20)]


def test_async_pools_with_capacities_warn_that_they_are_unused(new_stack):
    from aws_cdk.assertions import Annotations, Match

    from deepgram_scaling import AsyncDeepgramEndpoint

    from .conftest import IMAGE_URI

    stack = new_stack(nag=False)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=MIXED, max_capacity=4)
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("only the EndpointName dimension"))
    assert len(warnings) == 1
