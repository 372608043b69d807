"""AsyncStorage: the key, the results and access-log buckets, the two topics, their grants,
on its own and through the asynchronous endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
)

from .conftest import IMAGE_URI, AsyncOwnStorageScenario
from .test_async import batch, normalized, one
from .test_endpoint_rules import async_endpoint


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


def execution_statements(template: Template, prefix: str) -> list[dict[str, Any]]:
    (policy,) = [p for k, p in template.find_resources("AWS::IAM::ManagedPolicy").items()
                 if k.startswith(prefix)]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_topics_under_their_own_key_are_granted_to_the_execution_role(new_stack):
    # SageMaker publishes notifications with the execution role: an encrypted topic needs its
    # key (docs/aws-behaviour.md#async-sns-publish), or notifications, including the test
    # notification at creation, fail.
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
    # With the key, the role may use it to read inputs and write results, and the results are
    # written under it.
    key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    build("WithKey", encryption_key=kms.Key.from_key_arn(stack, "AudioKey", key_arn))
    template = Template.from_stack(stack)
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {"Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Effect": "Allow",
            "Resource": key_arn} in statements
    reads = next(s for s in statements if s["Action"] == "s3:GetObject")
    assert reads["Resource"]["Fn::Join"][1][-1] == ":s3:::team-audio/input/*"
    template.has_resource_properties("AWS::SageMaker::EndpointConfig", {
        "AsyncInferenceConfig": {"OutputConfig": Match.object_like({"KmsKeyId": key_arn})}})


def test_the_readmes_test_notification_filter_builds(new_stack):
    # The subscription filter for SageMaker's test notifications, as docs/getting-started.md
    # writes it (the docs' block test runs the block itself; this asserts what it renders).
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


def test_async_buckets_are_retained_by_default_and_removable_on_request(new_stack, example_template):
    buckets = {k: b for k, b in example_template.find_resources("AWS::S3::Bucket").items()
               if k.startswith("Batch")}
    assert {b["DeletionPolicy"] for b in buckets.values()} == {"Retain"}
    stack = new_stack("Removable", nag=False)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                          bucket_removal_policy=cdk.RemovalPolicy.DESTROY)
    template = Template.from_stack(stack)
    assert {b["DeletionPolicy"] for b in template.find_resources("AWS::S3::Bucket").values()} == {"Delete"}


@pytest.fixture
def stack(new_stack: Callable[..., cdk.Stack]) -> cdk.Stack:
    return new_stack(nag=False)




@pytest.mark.parametrize("created_only", ["result_expiration", "access_logs_bucket",
                                          "bucket_removal_policy"])
def test_bucket_with_created_bucket_options_is_refused(stack: cdk.Stack, created_only: str):
    from aws_cdk import aws_s3 as s3

    bucket = s3.Bucket.from_bucket_name(stack, "Theirs", "their-bucket")
    value = {"result_expiration": cdk.Duration.days(7),
             "access_logs_bucket": s3.Bucket.from_bucket_name(stack, "Logs", "logs"),
             "bucket_removal_policy": cdk.RemovalPolicy.DESTROY}[created_only]
    with pytest.raises(DeepgramScalingConfigError,
                       match=rf"{created_only} only applies to a bucket the construct creates"):
        async_endpoint(stack, bucket=bucket, **{created_only: value})


def test_async_storage_on_its_own(new_stack):
    # The construct alone, outside an endpoint: what it creates and what it grants.
    from aws_cdk import aws_iam as iam

    from deepgram_scaling import AsyncStorage, StoragePrefixes

    stack = new_stack("StorageAlone", nag=False)
    storage = AsyncStorage(stack, "Store", prefixes=StoragePrefixes(input="in/", output="out/",
                                                                     failure="err/"))
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    storage.grant_caller(caller)
    template = Template.from_stack(stack)
    assert len(template.find_resources("AWS::S3::Bucket")) == 2  # results and access logs
    assert len(template.find_resources("AWS::SNS::Topic")) == 2
    assert len(template.find_resources("AWS::KMS::Key")) == 1
    statements = [s for s in storage.execution_statements()]
    assert [s.actions for s in statements] == [
        ["s3:GetObject"], ["s3:ListBucket"], ["s3:PutObject", "s3:AbortMultipartUpload"],
        ["sns:Publish"], ["kms:Decrypt", "kms:GenerateDataKey"]]
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    actions = [s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert actions == ["s3:PutObject", "s3:GetObject", ["kms:Decrypt", "kms:GenerateDataKey"]]
