"""Alarms that can notify, and alarms that cannot lie: the alarm topic's policy, unconfirmed
metrics, and the asynchronous failure signals (docs/aws-behaviour.md#alarm-topic-policy,
#streaming-metrics, #async-failure-metrics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from deepgram_scaling import DeepgramModel, RealtimeDeepgramEndpoint

from .conftest import PACKAGE_ARN, SingleTypeScenario


def cloudwatch_allow(topic_id: str) -> dict[str, Any]:
    """The statement that lets this account's CloudWatch alarms publish to the topic."""
    return {
        "Sid": "AllowCloudWatchAlarmsToPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": topic_id},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {"aws:SourceArn": {"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"}, ":cloudwatch:", {"Ref": "AWS::Region"}, ":",
                {"Ref": "AWS::AccountId"}, ":alarm:*"]]}},
        },
    }


def policy_statements(template: Template, topic_id: str) -> list[dict[str, Any]]:
    (policy,) = [p for p in template.find_resources("AWS::SNS::TopicPolicy").values()
                 if p["Properties"]["Topics"] == [{"Ref": topic_id}]]
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_created_alarm_topics_let_cloudwatch_publish(example_template: Template):
    # Given the example's two endpoints with their own alarm topics (SSL-only, so each has a
    # topic policy, which replaces SNS's default policy)
    topics = [k for k in example_template.find_resources("AWS::SNS::Topic")
              if "AlarmTopic" in k]
    assert len(topics) == 2
    for topic_id in topics:
        # then the policy allows CloudWatch of this account and region, beside the SSL deny
        statements = policy_statements(example_template, topic_id)
        assert cloudwatch_allow(topic_id) in statements
        assert [s["Effect"] for s in statements] == ["Deny", "Allow"]
    # and the alarms that notify anyone notify these topics (the rest drive scaling policies)
    alarms = example_template.find_resources("AWS::CloudWatch::Alarm")
    notified = {a["Properties"]["OKActions"][0]["Ref"] for a in alarms.values()
                if "OKActions" in a["Properties"]}
    assert notified == set(topics)


def test_a_users_topic_with_a_policy_gets_the_cloudwatch_allow(single_type: SingleTypeScenario):
    # The scenario passes an SSL-only topic of its own: its policy must let alarms in too.
    topic_id = next(iter(single_type.template.find_resources("AWS::SNS::Topic")))
    assert cloudwatch_allow(topic_id) in policy_statements(single_type.template, topic_id)


def test_a_users_topic_without_a_policy_keeps_snss_default_policy(
        new_stack: Callable[..., cdk.Stack]):
    # Given a topic with no policy: SNS's default policy already lets the account's
    # CloudWatch publish, and a first statement would replace that default for everyone.
    stack = new_stack("PlainTopic", nag=False)
    topic = sns.Topic(stack, "Plain")
    RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                             instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7, alarm_topic=topic)
    template = Template.from_stack(stack)
    assert template.find_resources("AWS::SNS::TopicPolicy") == {}


def test_an_imported_topic_is_flagged_for_its_owner(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack("ImportedTopic", nag=False)
    topic = sns.Topic.from_topic_arn(stack, "Ops",
                                     "arn:aws:sns:us-east-1:123456789012:operations")
    RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                             instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7, alarm_topic=topic)
    assert Annotations.from_stack(stack).find_info(
        "*", Match.string_like_regexp("allows cloudwatch.amazonaws.com to sns:Publish"))


def test_streaming_alarms_treat_sparse_data_as_not_breaching(single_type: SingleTypeScenario):
    # Deepgram: FirstChunkLatency has one sample per new session and MidStreamErrors exists
    # only when errors happen (docs/aws-behaviour.md#streaming-metrics). Missing data as
    # "missing" would hold a healthy endpoint in INSUFFICIENT_DATA and never send OK.
    alarms = {a["Properties"]["MetricName"]: a["Properties"]
              for a in single_type.template.find_resources("AWS::CloudWatch::Alarm").values()}
    for name in ("FirstChunkLatency", "MidStreamErrors", "Invocation5XXErrors",
                 "InvocationModelErrors"):
        assert alarms[name]["TreatMissingData"] == "notBreaching", name


def test_a_users_encrypted_topic_key_lets_cloudwatch_in(new_stack: Callable[..., cdk.Stack]):
    from aws_cdk import aws_kms as kms

    stack = new_stack("EncryptedTopic", nag=False)
    key = kms.Key(stack, "OpsKey")
    topic = sns.Topic(stack, "Ops", master_key=key)
    RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                             instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7, alarm_topic=topic)
    template = Template.from_stack(stack)
    (policy,) = [k["Properties"]["KeyPolicy"] for i, k in
                 template.find_resources("AWS::KMS::Key").items() if i.startswith("OpsKey")]
    assert {"Sid": "AllowCloudWatchAlarmsToUseTheKey", "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"} in \
        policy["Statement"]


def test_an_imported_topic_key_warns_and_aws_managed_key_is_refused(
        new_stack: Callable[..., cdk.Stack]):
    from aws_cdk import aws_kms as kms

    from deepgram_scaling import DeepgramScalingConfigError
    from deepgram_scaling.alarm_topic import IMPORTED_TOPIC_KEY_WARNING_ID

    stack = new_stack("ImportedKey", nag=False)
    imported = kms.Key.from_key_arn(
        stack, "Theirs", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                             instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7,
                             alarm_topic=sns.Topic(stack, "T", master_key=imported))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        "alarm_topic is encrypted with a key this app cannot change"))
    assert len(warnings) == 1 and IMPORTED_TOPIC_KEY_WARNING_ID in str(warnings[0])
    managed = kms.Alias.from_alias_name(stack, "Managed", "alias/aws/sns")
    with pytest.raises(DeepgramScalingConfigError, match=r"alias/aws/sns, which CloudWatch"):
        RealtimeDeepgramEndpoint(stack, "F", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                 instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                                 target_concurrency_per_instance=7,
                                 alarm_topic=sns.Topic(stack, "U", master_key=managed))


def test_async_failure_signals_have_alarms(example_template: Template):
    endpoint_id = next(k for k in example_template.find_resources("AWS::SageMaker::Endpoint")
                       if k.startswith("Batch"))
    alarms = {a["Properties"]["MetricName"]: a["Properties"]
              for k, a in example_template.find_resources("AWS::CloudWatch::Alarm").items()
              if k.startswith("Batch")}
    for name in ("RequestDownloadFailures", "ResponseUploadFailures", "NotificationFailures"):
        alarm = alarms[name]
        assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == (
            "AWS/SageMaker", "Sum", 60)
        assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"],
                alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (
            1, 1, 1, "GreaterThanOrEqualToThreshold", "notBreaching")
        assert alarm["Dimensions"] == [
            {"Name": "EndpointName", "Value": {"Fn::GetAtt": [endpoint_id, "EndpointName"]}},
            {"Name": "VariantName", "Value": "AllTraffic"}]


def test_async_failure_signals_are_on_the_dashboard(example_template: Template):
    (dashboard,) = [d for k, d in example_template.find_resources("AWS::CloudWatch::Dashboard")
                    .items() if k.startswith("Batch")]
    body = str(dashboard["Properties"]["DashboardBody"])
    for name in ("RequestDownloadFailures", "ResponseUploadFailures", "NotificationFailures"):
        assert name in body
