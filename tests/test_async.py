"""The asynchronous endpoint: every link of scale-to-zero and wake-from-zero, storage,
grants, alarms and warnings."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match, Template

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


# --- the chain: idle at zero, one request wakes it ------------------------------------------


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
    # The only step policy only ever adds capacity.
    for policy in batch(example_template, "AWS::ApplicationAutoScaling::ScalingPolicy").values():
        config = policy["Properties"].get("StepScalingPolicyConfiguration")
        if config:
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


# --- endpoint config and storage ---------------------------------------------------------


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


def test_created_bucket_is_encrypted_private_logged_and_expires_results(example_template):
    _, bucket = one(example_template, "AWS::S3::Bucket", "BatchBucket")
    key_id, _ = one(example_template, "AWS::KMS::Key", "BatchKey")
    logs_id, _ = one(example_template, "AWS::S3::Bucket", "BatchAccessLogsBucket")
    props = bucket["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [{
        "BucketKeyEnabled": True,
        "ServerSideEncryptionByDefault": {"KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                                          "SSEAlgorithm": "aws:kms"}}]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True}
    assert props["LoggingConfiguration"] == {"DestinationBucketName": {"Ref": logs_id},
                                             "LogFilePrefix": "deepgram-async/"}
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireResults"] == {"Id": "ExpireResults", "Prefix": "output/",
                                      "ExpirationInDays": 30, "Status": "Enabled"}
    assert rules["ExpireFailures"]["Prefix"] == "failure/"
    assert bucket["DeletionPolicy"] == "Retain"
    # SSL enforced by the bucket policy
    example_template.has_resource_properties("AWS::S3::BucketPolicy", {
        "Bucket": {"Ref": one(example_template, "AWS::S3::Bucket", "BatchBucket")[0]},
        "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})
    _, key = one(example_template, "AWS::KMS::Key", "BatchKey")
    assert key["Properties"]["EnableKeyRotation"] is True


def test_created_topics_are_encrypted_and_ssl_only(example_template: Template):
    key_id, _ = one(example_template, "AWS::KMS::Key", "BatchKey")
    topics = {k: t for k, t in batch(example_template, "AWS::SNS::Topic").items()
              if "SuccessTopic" in k or "ErrorTopic" in k}
    assert len(topics) == 2
    for topic_id, topic in topics.items():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
        example_template.has_resource_properties("AWS::SNS::TopicPolicy", {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
                "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


def test_execution_role_reads_inputs_writes_results_and_publishes(example_template: Template):
    _, policy = one(example_template, "AWS::IAM::ManagedPolicy")
    bucket_id, _ = one(example_template, "AWS::S3::Bucket", "BatchBucket")
    statements = normalized(policy["Properties"]["PolicyDocument"]["Statement"])

    def objects(prefix: str) -> dict:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{prefix}*"]]}

    assert {"Action": "s3:GetObject", "Effect": "Allow",
            "Resource": objects("input/")} in statements
    # ListBucket on the input prefix only: a missing input is then a 404, not an IAM-like 403
    # (docs/aws-behaviour.md#async-s3-permissions).
    assert {"Action": "s3:ListBucket", "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [bucket_id, "Arn"]},
            "Condition": {"StringLike": {"s3:prefix": "input/*"}}} in statements
    assert normalized([{"Action": ["s3:PutObject", "s3:AbortMultipartUpload"], "Effect": "Allow",
                        "Resource": [objects("output/"), objects("failure/")]}])[0] in statements
    publish = next(s for s in statements if s["Action"] == "sns:Publish")
    assert len(publish["Resource"]) == 2
    kms = next(s for s in statements if s["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"])
    assert kms["Resource"] == {"Fn::GetAtt": [one(example_template, "AWS::KMS::Key", "BatchKey")[0], "Arn"]}


def test_async_alarms(example_template: Template):
    alarm_topic, _ = one(example_template, "AWS::SNS::Topic", "BatchAlarmTopic")
    alarms = {a["Properties"]["MetricName"]: a["Properties"]
              for a in batch(example_template, "AWS::CloudWatch::Alarm").values()
              if a["Properties"].get("AlarmActions") == [{"Ref": alarm_topic}]}
    assert len(alarms) == 7  # four on the queue and fleet, three on the failure signals
    age = alarms["ApproximateAgeOfOldestRequest"]
    assert (age["Statistic"], age["Threshold"], age["EvaluationPeriods"]) == ("Maximum", 900, 3)
    assert age["Dimensions"] == [{"Name": "EndpointName", "Value": endpoint_name(example_template)}]
    stuck = alarms["HasBacklogWithoutCapacity"]
    assert (stuck["Statistic"], stuck["Threshold"], stuck["EvaluationPeriods"],
            stuck["DatapointsToAlarm"]) == ("Average", 1, 15, 15)
    failures = alarms["InvocationFailures"]
    assert (failures["Statistic"], failures["Threshold"]) == ("Sum", 1)
    assert (failures["EvaluationPeriods"], failures["DatapointsToAlarm"]) == (5, 3)
    assert failures["Dimensions"] == [
        {"Name": "EndpointName", "Value": endpoint_name(example_template)},
        {"Name": "VariantName", "Value": "AllTraffic"}]
    capacity = alarms["CPUUtilization"]
    assert (capacity["Statistic"], capacity["Threshold"], capacity["Namespace"]) == (
        "SampleCount", 4, "/aws/sagemaker/Endpoints")


# --- user storage, grants, warnings ------------------------------------------------------


def test_user_bucket_topics_and_prefixes_are_used(async_own_storage: AsyncOwnStorageScenario):
    t = async_own_storage.template
    t.resource_count_is("AWS::S3::Bucket", 2)  # the user's two, none created
    # the user's two topics and key, plus the endpoint's alarm topic and its key
    assert sorted(t.find_resources("AWS::SNS::Topic")) == sorted(
        [k for k in t.find_resources("AWS::SNS::Topic") if k.startswith("User")]
        + [k for k in t.find_resources("AWS::SNS::Topic") if k.startswith("JobsAlarmTopic")])
    assert len(t.find_resources("AWS::SNS::Topic")) == 3
    assert len(t.find_resources("AWS::KMS::Key")) == 2
    config = next(iter(t.find_resources("AWS::SageMaker::EndpointConfig").values()))
    output = config["Properties"]["AsyncInferenceConfig"]["OutputConfig"]
    assert output["S3OutputPath"]["Fn::Join"][1][2] == "/audio/out/"
    assert output["S3FailurePath"]["Fn::Join"][1][2] == "/audio/err/"
    assert config["Properties"]["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 16}


def test_grant_invoke_async_is_exactly_invoke_upload_and_read(async_own_storage):
    t = async_own_storage.template
    (endpoint_id,) = t.find_resources("AWS::SageMaker::Endpoint")
    bucket_id = next(k for k in t.find_resources("AWS::S3::Bucket") if k.startswith("UserBucket"))
    key_id = next(k for k in t.find_resources("AWS::KMS::Key") if k.startswith("UserKey"))
    policies = [p for k, p in t.find_resources("AWS::IAM::Policy").items() if "Uploader" in k]
    assert len(policies) == 1

    def objects(prefix: str) -> dict:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{prefix}*"]]}

    assert normalized(policies[0]["Properties"]["PolicyDocument"]["Statement"]) == normalized([
        {"Action": "sagemaker:InvokeEndpointAsync", "Effect": "Allow",
         "Resource": {"Ref": endpoint_id}},
        {"Action": "s3:PutObject", "Effect": "Allow", "Resource": objects("audio/in/")},
        {"Action": "s3:GetObject", "Effect": "Allow",
         "Resource": [objects("audio/out/"), objects("audio/err/")]},
        {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow",
         "Resource": {"Fn::GetAtt": [key_id, "Arn"]}},
    ])


def test_marketplace_package_warns(async_own_storage: AsyncOwnStorageScenario):
    warnings = Annotations.from_stack(async_own_storage.stack).find_warning(
        "*", Match.string_like_regexp("temporarily not supported for Marketplace"))
    assert len(warnings) == 1
    assert MARKETPLACE_WARNING_ID in str(warnings[0].entry.data)


def test_container_image_does_not_warn(example_stack):
    warnings = Annotations.from_stack(example_stack).find_warning(
        "*", Match.string_like_regexp("Marketplace"))
    assert warnings == []


def test_async_metric_helpers(async_own_storage: AsyncOwnStorageScenario):
    endpoint = async_own_storage.endpoint
    for metric, name, stat in (
        (endpoint.metric_backlog_size(), "ApproximateBacklogSize", "Average"),
        (endpoint.metric_backlog_size_per_instance(), "ApproximateBacklogSizePerInstance", "Average"),
        (endpoint.metric_age_of_oldest_request(), "ApproximateAgeOfOldestRequest", "Maximum"),
        (endpoint.metric_has_backlog_without_capacity(), "HasBacklogWithoutCapacity", "Average"),
    ):
        assert (metric.metric_name, metric.statistic, metric.namespace) == (name, stat, "AWS/SageMaker")
        assert list(metric.dimensions) == ["EndpointName"]
    failures = endpoint.metric_invocation_failures()
    assert set(failures.dimensions) == {"EndpointName", "VariantName"}


@pytest.mark.parametrize("name", ["cfn_model", "cfn_endpoint_config", "cfn_endpoint",
                                  "scalable_target", "scaling_policy", "bucket",
                                  "success_topic", "error_topic", "encryption_key"])
def test_async_escape_hatches(async_own_storage: AsyncOwnStorageScenario, name: str):
    assert getattr(async_own_storage.endpoint, name) is not None


# --- keys the construct must grant, and keys it cannot see ---------------------------------


def execution_statements(template: Template, prefix: str) -> list[dict[str, Any]]:
    (policy,) = [p for k, p in template.find_resources("AWS::IAM::ManagedPolicy").items()
                 if k.startswith(prefix)]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_topics_under_their_own_key_are_granted_to_the_execution_role(new_stack):
    # SageMaker publishes notifications with the execution role: an encrypted topic needs its
    # key (docs/aws-behaviour.md#async-sns-publish), or notifications, including the test
    # notification at creation, fail.
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_sns as sns

    from deepgram_scaling import AsyncDeepgramEndpoint, DeepgramModel

    from .conftest import IMAGE_URI

    stack = new_stack("TopicKeys", nag=False)
    topic_key = kms.Key(stack, "TopicKey")
    success = sns.Topic(stack, "Done", master_key=topic_key)
    errors = sns.Topic(stack, "Failed", master_key=topic_key)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                          success_topic=success, error_topic=errors)
    template = Template.from_stack(stack)
    (topic_key_id,) = [k for k in template.find_resources("AWS::KMS::Key")
                       if k.startswith("TopicKey")]
    (own_key_id,) = [k for k in template.find_resources("AWS::KMS::Key") if k.startswith("JobsKey")]
    kms_statement = next(s for s in execution_statements(template, "Jobs")
                         if s["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"])
    assert kms_statement["Resource"] == [{"Fn::GetAtt": [own_key_id, "Arn"]},
                                         {"Fn::GetAtt": [topic_key_id, "Arn"]}]


def test_an_imported_bucket_needs_its_key(new_stack):
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from deepgram_scaling import AsyncDeepgramEndpoint, DeepgramModel, DeepgramScalingConfigError

    from .conftest import IMAGE_URI

    stack = new_stack("ImportedBucket", nag=False)
    bucket = s3.Bucket.from_bucket_name(stack, "Audio", "team-audio")

    def build(construct_id: str, **extra: Any) -> AsyncDeepgramEndpoint:
        return AsyncDeepgramEndpoint(stack, construct_id, model=DeepgramModel.from_image(IMAGE_URI),
                                     instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                                     bucket=bucket, **extra)

    with pytest.raises(DeepgramScalingConfigError,
                       match=r"bucket is imported, so the construct cannot see the key that "
                             r"encrypts it.*pass encryption_key="):
        build("NoKey")
    # With the key, the role may use it to read inputs and write results.
    key = kms.Key.from_key_arn(stack, "AudioKey",
                               "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    endpoint = build("WithKey", encryption_key=key)
    assert endpoint.encryption_key is key


def test_the_readmes_test_notification_filter_builds(new_stack):
    # The README's subscription filter for SageMaker's test notifications, as written there.
    from aws_cdk import aws_sns as sns
    from aws_cdk import aws_sns_subscriptions as subscriptions
    from aws_cdk import aws_sqs as sqs

    from deepgram_scaling import AsyncDeepgramEndpoint, DeepgramModel

    from .conftest import IMAGE_URI

    stack = new_stack("Filter", nag=False)
    batch = AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                                  instance_pools=["ml.g6.2xlarge"], max_capacity=2)
    results_queue = sqs.Queue(stack, "Results")
    batch.success_topic.add_subscription(subscriptions.SqsSubscription(results_queue,
        filter_policy_with_message_body={
            "eventName": sns.FilterOrPolicy.filter(
                sns.SubscriptionFilter.string_filter(denylist=["TestNotification"]))}))
    Template.from_stack(stack).has_resource_properties("AWS::SNS::Subscription", {
        "FilterPolicyScope": "MessageBody",
        "FilterPolicy": {"eventName": [{"anything-but": ["TestNotification"]}]},
    })


def test_a_bucket_with_a_visible_key_keeps_it_for_the_results(new_stack):
    # Readers of your bucket keep reading its results: no second, construct-made key.
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_s3 as s3

    from deepgram_scaling import AsyncDeepgramEndpoint, DeepgramModel

    from .conftest import IMAGE_URI

    stack = new_stack("VisibleKey", nag=False)
    key = kms.Key(stack, "TeamKey")
    bucket = s3.Bucket(stack, "TeamBucket", encryption_key=key)
    endpoint = AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                                     instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                                     bucket=bucket)
    template = Template.from_stack(stack)
    assert endpoint.encryption_key is key
    keys = sorted(template.find_resources("AWS::KMS::Key"))
    assert len(keys) == 2 and all(k.startswith(("TeamKey", "JobsAlarmTopicKey")) for k in keys)
    (config,) = template.find_resources("AWS::SageMaker::EndpointConfig").values()
    key_id = next(k for k in template.find_resources("AWS::KMS::Key") if k.startswith("TeamKey"))
    assert config["Properties"]["AsyncInferenceConfig"]["OutputConfig"]["KmsKeyId"] == {
        "Fn::GetAtt": [key_id, "Arn"]}
