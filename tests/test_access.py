"""Endpoints this app did not create: granted and watched by name
(docs/aws-behaviour.md#endpoint-arn)."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramScalingConfigError,
    RealtimeDeepgramEndpoint,
)


def arn(name: str) -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sagemaker:",
                              {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"},
                              f":endpoint/{name}"]]}


@pytest.fixture(scope="module")
def imported(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack("ApiTeam", nag=False)
    caller = iam.Role(stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    topic = sns.Topic(stack, "Ops")
    speech = RealtimeDeepgramEndpoint.from_endpoint_name(stack, "Speech", "Speech-Prod",
                                                         max_capacity=8, alarm_topic=topic)
    jobs = AsyncDeepgramEndpoint.from_endpoint_name(stack, "Jobs", "batch-prod")
    speech.grant_invoke_stream(caller)
    speech.grant_invoke(caller)
    jobs.grant_invoke_async(caller)
    speech_alarms = speech.add_alarms()
    jobs_alarms = jobs.add_alarms()
    speech.add_dashboard()
    return speech, jobs, speech_alarms, jobs_alarms, Template.from_stack(stack)


def test_grants_name_the_endpoint_in_both_casings(imported):
    *_, template = imported
    (policy,) = template.find_resources("AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {"Action": ["sagemaker:InvokeEndpoint",
                       "sagemaker:InvokeEndpointWithBidirectionalStream"], "Effect": "Allow",
            "Resource": [arn("Speech-Prod"), arn("speech-prod")]} in statements
    assert {"Action": "sagemaker:InvokeEndpointAsync", "Effect": "Allow",
            "Resource": arn("batch-prod")} in statements


def test_metrics_carry_the_imported_names(imported):
    speech, jobs, *_ = imported
    concurrency = speech.metric_concurrent_requests_per_model()
    assert concurrency.dimensions == {"EndpointName": "Speech-Prod", "VariantName": "AllTraffic"}
    assert jobs.metric_backlog_size_per_instance().dimensions == {"EndpointName": "batch-prod"}


def test_alarms_match_the_constructs_own(imported):
    _, _, speech_alarms, jobs_alarms, template = imported
    assert sorted(speech_alarms) == ["capacity_at_max", "first_chunk_latency",
                                     "invocation_5xx_errors", "mid_stream_errors",
                                     "model_errors", "model_latency"]
    # Without max_capacity the capacity alarm has no threshold: it is left out.
    assert "capacity_at_max" not in jobs_alarms and len(jobs_alarms) == 6
    alarms = {a["Properties"]["MetricName"]: a["Properties"]
              for a in template.find_resources("AWS::CloudWatch::Alarm").values()}
    assert alarms["CPUUtilization"]["Threshold"] == 8
    assert alarms["Invocation5XXErrors"]["Dimensions"] == [
        {"Name": "EndpointName", "Value": "Speech-Prod"}, {"Name": "VariantName", "Value": "AllTraffic"}]
    assert alarms["ApproximateAgeOfOldestRequest"]["Dimensions"] == [
        {"Name": "EndpointName", "Value": "batch-prod"}]
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    assert alarms["Invocation5XXErrors"]["AlarmActions"] == [{"Ref": topic_id}]
    assert "AlarmActions" not in alarms["ApproximateAgeOfOldestRequest"]


def test_imported_endpoints_are_validated(new_stack):
    stack = new_stack("BadImport", nag=False)
    with pytest.raises(DeepgramScalingConfigError, match=r"BadImport/X: max_capacity must be >= 1, got 0"):
        RealtimeDeepgramEndpoint.from_endpoint_name(stack, "X", "speech", max_capacity=0)
    with pytest.raises(DeepgramScalingConfigError, match=r"endpoint_name must be"):
        AsyncDeepgramEndpoint.from_endpoint_name(stack, "Y", "")
    with pytest.raises(DeepgramScalingConfigError, match=r"not its ARN"):
        RealtimeDeepgramEndpoint.from_endpoint_name(
            stack, "Z", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/speech")
