"""Alarms: the tables' exact evaluation on every alarm, the alarm topic's policy, unconfirmed
metrics, and the asynchronous failure signals (docs/aws-behaviour.md#alarm-topic-policy,
#streaming-metrics, #async-failure-metrics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template

from deepgram_scaling import (
    AlarmOptions,
    DeepgramModel,
    DeepgramScalingConfigError,
    RealtimeAlarmOptions,
    RealtimeDeepgramEndpoint,
)

from .conftest import PACKAGE_ARN, SingleTypeScenario
from .test_async import batch, endpoint_name, one
from .test_realtime import logical_id_of, only
from .test_scaling import realtime


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


def _alarm(template: Template, metric_fragment: dict[str, Any]) -> dict[str, Any]:
    return only(template, "AWS::CloudWatch::Alarm", metric_fragment, prefix="Realtime")["Properties"]


def endpoint_name_ref(template: Template, prefix: str = "Realtime") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id_of(template, "AWS::SageMaker::Endpoint", prefix),
                           "EndpointName"]}


def test_alarm_capacity_pinned_at_max(example_template: Template):
    props = _alarm(example_template, {"AlarmDescription": Match.string_like_regexp("real-time endpoint is pinned")})
    assert props["Namespace"] == "/aws/sagemaker/Endpoints"
    assert props["MetricName"] == "CPUUtilization"
    assert props["Statistic"] == "SampleCount"
    assert props["Period"] == 60
    assert props["Dimensions"] == [
        {"Name": "EndpointName", "Value": endpoint_name_ref(example_template)},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    assert props["Threshold"] == 8
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (15, 15)
    assert props["TreatMissingData"] == "notBreaching"


def test_alarm_on_5xx_errors(example_template: Template):
    props = _alarm(example_template, {"MetricName": "Invocation5XXErrors"})
    assert props["Namespace"] == "AWS/SageMaker"
    assert props["Statistic"] == "Sum"
    assert props["Period"] == 60
    assert props["Threshold"] == 1
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 3)
    assert props["Dimensions"] == [
        {"Name": "EndpointName", "Value": endpoint_name_ref(example_template)},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]


def test_alarm_on_model_errors(example_template: Template):
    props = _alarm(example_template, {"MetricName": "InvocationModelErrors"})
    assert (props["Statistic"], props["Threshold"]) == ("Sum", 5)
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 3)


def test_alarm_on_model_latency(example_template: Template):
    props = _alarm(example_template, {"MetricName": "ModelLatency"})
    assert props["ExtendedStatistic"] == "p99"
    assert props["Threshold"] == 50_000_000
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 3)


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(single_type: SingleTypeScenario):
    topic_id = logical_id_of(single_type.template, "AWS::SNS::Topic")
    alarms = single_type.template.find_resources("AWS::CloudWatch::Alarm")
    assert len(alarms) == 6
    assert set(single_type.endpoint.alarms) == {
        "capacity_at_max", "invocation_5xx_errors", "model_errors", "model_latency",
        "first_chunk_latency", "mid_stream_errors"}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["Properties"]["OKActions"] == [{"Ref": topic_id}]


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


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        # Option objects check themselves when they are made.
        (lambda: AlarmOptions(period=cdk.Duration.seconds(90)),
         r"AlarmOptions.period must be a multiple of 60 seconds \(the endpoint metrics are published per minute\), got 1 minute 30 seconds"),
        (lambda: AlarmOptions(period=cdk.Duration.seconds(10)),
         r"AlarmOptions.period must be >= 60 seconds \(the endpoint metrics are published per minute\), got 10 seconds"),
        (lambda: AlarmOptions(period=cdk.Duration.hours(1), evaluation_periods=25),
         r"AlarmOptions: evaluation_periods x period must be at most one day \(CloudWatch's limit\), got 25 x 1 hour"),
        (lambda: AlarmOptions(evaluation_periods=2, datapoints_to_alarm=3),
         r"AlarmOptions.datapoints_to_alarm must be between 1 and 2 \(no more than evaluation_periods\), got 3"),
        (lambda: RealtimeAlarmOptions(model_latency={"threshold": 3}),  # type: ignore[arg-type]
         r"model_latency must be an AlarmOptions or None, got \{'threshold': 3\}"),
    ],
)
def test_invalid_alarm_options_are_refused_when_made(factory, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        factory()


# --- every alarm of both tables, exactly -------------------------------------------------------

#: (threshold, evaluation periods, datapoints to alarm) of each default alarm, written out
#: here rather than read from the tables, so a changed default fails a test by name.
REALTIME_DEFAULTS = {
    "CPUUtilization": (8, 15, 15),  # capacity_at_max: the example's max_capacity
    "Invocation5XXErrors": (1, 5, 3),
    "InvocationModelErrors": (5, 5, 3),
    "ModelLatency": (50_000_000, 3, 3),
    "FirstChunkLatency": (3_000_000, 3, 3),
    "MidStreamErrors": (1, 5, 3),
}
ASYNC_DEFAULTS = {
    "ApproximateAgeOfOldestRequest": (900, 3, 3),
    "HasBacklogWithoutCapacity": (1, 15, 15),
    "InvocationFailures": (1, 5, 3),
    "CPUUtilization": (4, 15, 15),
    "RequestDownloadFailures": (1, 1, 1),
    "ResponseUploadFailures": (1, 1, 1),
    "NotificationFailures": (1, 1, 1),
}


@pytest.mark.parametrize(("prefix", "expected"), [("Realtime", REALTIME_DEFAULTS),
                                                  ("Batch", ASYNC_DEFAULTS)])
def test_every_default_alarm_evaluates_exactly_as_documented(example_template: Template, prefix,
                                                             expected):
    # Given the example's endpoints with default alarms, the alarms that notify people
    notifying = {a["Properties"]["MetricName"]: a["Properties"]
                 for k, a in example_template.find_resources("AWS::CloudWatch::Alarm").items()
                 if k.startswith(prefix) and "OKActions" in a["Properties"]}
    # then each has exactly its documented evaluation, on one-minute datapoints
    assert {name: (a["Threshold"], a["EvaluationPeriods"], a["DatapointsToAlarm"])
            for name, a in notifying.items()} == expected
    for alarm in notifying.values():
        assert (alarm["Period"], alarm["ComparisonOperator"], alarm["TreatMissingData"]) == (
            60, "GreaterThanOrEqualToThreshold", "notBreaching")


def test_create_alarms_applies_the_options_over_the_table(new_stack: Callable[..., cdk.Stack]):
    from deepgram_scaling.alarms import REALTIME_ALARMS, create_alarms
    from deepgram_scaling.metrics import RealtimeMetrics

    # Given the real-time table with one alarm off, one re-tuned, one with a new threshold
    stack = new_stack(nag=False)
    selected = RealtimeAlarmOptions(
        model_latency=None, first_chunk_latency=None, mid_stream_errors=None,
        invocation_5xx_errors=None,
        capacity_at_max=AlarmOptions(evaluation_periods=5),
        model_errors=AlarmOptions(threshold=2, period=cdk.Duration.minutes(5),
                                  evaluation_periods=4, datapoints_to_alarm=2),
    ).selected()
    # when the alarms are created without a topic
    created = create_alarms(stack, REALTIME_ALARMS, selected,
                            metrics=RealtimeMetrics(endpoint_name="speech", variant_name="AllTraffic"),
                            topic=None, max_capacity=9)
    # then only the selected ones exist, with their options, and notify no one
    assert list(created) == ["capacity_at_max", "model_errors"]
    alarms = {a["Properties"]["MetricName"]: a["Properties"] for a in
              Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm").values()}
    assert {name: (a["Threshold"], a["Period"], a["EvaluationPeriods"], a["DatapointsToAlarm"])
            for name, a in alarms.items()} == {
        "CPUUtilization": (9, 60, 5, 5), "InvocationModelErrors": (2, 300, 4, 2)}
    assert all("AlarmActions" not in a and "OKActions" not in a for a in alarms.values())


def test_the_async_rollback_options_name_the_published_request_count():
    # AWS publishes InvocationsProcesssed (its spelling) beside InvocationFailures on async
    # endpoints; the rate is left out on purpose (InvocationFailures counts a caller's bad S3
    # input too), and the reason given must not claim the count is missing.
    from deepgram_scaling.alarms import ASYNC_ROLLBACK_ALARMS, AsyncRollbackAlarmOptions
    from deepgram_scaling.checks.catalogue import SAGEMAKER, lookup

    doc = " ".join((AsyncRollbackAlarmOptions.__doc__ or "").split())
    assert "``InvocationsProcesssed``" in doc
    assert "no published request count" not in doc
    assert "fails for any reason" in doc
    assert lookup(SAGEMAKER, "InvocationsProcesssed") is not None
    assert [spec.metric for spec in ASYNC_ROLLBACK_ALARMS] == ["invocation_5xx_errors"]


def test_a_period_known_only_at_deploy_time_is_not_range_checked():
    # given a period whose seconds are a token (e.g. a CfnParameter's value)
    stack = cdk.Stack(cdk.App(), "Tokens")
    seconds = cdk.CfnParameter(stack, "Seconds", type="Number", default=300).value_as_number
    # when options are made with it, then nothing is refused (the house rule skips range
    # checks on unresolved tokens) and the evaluation still counts its datapoints
    options = AlarmOptions(period=cdk.Duration.seconds(seconds), evaluation_periods=3)
    assert options.evaluation_periods == 3
