"""Helpers that save jsii kernel round trips (make bench-synth) give what the CDK gives."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import ArnFormat, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from constructs import Construct

from deepgram_scaling import nag
from deepgram_scaling._compat import (
    format_arn,
    keep_children_logical_ids,
    keep_logical_ids,
    path_below_stack,
    stack_of,
)
from deepgram_scaling._validation import Problems, to_seconds, whole_seconds
from deepgram_scaling.errors import DeepgramScalingConfigError

ENVS = [None, cdk.Environment(account="123456789012", region="eu-west-1")]


@pytest.mark.parametrize("env", ENVS, ids=["agnostic", "literal"])
def test_format_arn_is_the_stacks_own(env: cdk.Environment | None):
    # Given a stack, environment-agnostic or with a literal account and region
    stack = cdk.Stack(cdk.App(), "Arns", env=env)
    cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"service": "logs", "resource": "log-group", "resource_name": "/aws/x/*",
          "colon": True},
         {"service": "logs", "resource": "log-group", "resource_name": "/aws/x/*",
          "arn_format": ArnFormat.COLON_RESOURCE_NAME}),
        ({"service": "iam", "region": "", "resource": "role", "resource_name": "a/b"},
         {"service": "iam", "region": "", "resource": "role", "resource_name": "a/b"}),
        ({"service": "ec2", "resource": "subnet", "resource_name": "*"},
         {"service": "ec2", "resource": "subnet", "resource_name": "*"}),
    ]
    for ours, theirs in cases:
        # When both build the ARN, then both resolve to the same value
        assert stack.resolve(format_arn(stack, **ours)) == \
            stack.resolve(stack.format_arn(**theirs))


def test_stack_of_knows_the_stack_path_below_stack_found():
    # Given an endpoint-like construct two levels below a stack
    stack = cdk.Stack(cdk.App(), "Outer")
    owner = Construct(Construct(stack, "Service"), "Speech")
    # When its path below the stack is computed, then stack_of agrees with Stack.of
    assert path_below_stack(owner) == ["Service", "Speech"]
    assert stack_of(owner) is cdk.Stack.of(owner)


def test_path_below_a_parent_stack_is_the_id():
    # Given a construct made directly in a stack, and one whose id the library escapes
    stack = cdk.Stack(cdk.App(), "Parent")
    plain = Construct(stack, "Speech")
    escaped = Construct(stack, "a/b")
    # then the shortcut gives what the kernel gives, and leaves escaped ids to it
    assert path_below_stack(plain, parent=stack, construct_id="Speech") == \
        path_below_stack(Construct(cdk.Stack(cdk.App(), "P2"), "Speech")) == ["Speech"]
    assert path_below_stack(escaped, parent=stack, construct_id="a/b") == ["a--b"]


def _acknowledged(scope: Construct) -> list[Any]:
    return [entry.data for entry in scope.node.metadata
            if entry.type == "aws:cdk:acknowledged-rules"]


def _acknowledge_all(stack: cdk.Stack) -> tuple[iam.ManagedPolicy, kms.Key]:
    policy = iam.ManagedPolicy(stack, "Policy", statements=[iam.PolicyStatement(
        actions=["s3:GetObject"], resources=["*"])])
    key = kms.Key(stack, "Key")
    arn = stack.format_arn(service="logs", resource="log-group", resource_name="/x/*",
                           arn_format=ArnFormat.COLON_RESOURCE_NAME)
    nag.acknowledge_wildcard(policy, arn, "logs")
    nag.acknowledge_rules(key, "no rotation here", "AwsSolutions-KMS5", "HIPAA.Security-X")
    nag.acknowledge_wildcard(policy, "*", "metrics")
    return policy, key


def test_batched_acknowledgements_write_what_one_call_each_writes():
    # Given the same acknowledgements made one call at a time, and inside a batch
    one_by_one = _acknowledge_all(cdk.Stack(cdk.App(), "OneByOne"))
    with nag.batched():
        batched = _acknowledge_all(cdk.Stack(cdk.App(), "Batched"))
        # Then nothing is written before the batch ends
        assert _acknowledged(batched[0]) == []
    # Then each construct carries the same entries, in the same order
    for expected, got in zip(one_by_one, batched, strict=True):
        assert _acknowledged(got) == _acknowledged(expected)
    # (aws-cdk-lib qualifies an id without a plugin namespace as an annotation's)
    assert _acknowledged(batched[0]) == [
        {"Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
         "<AWS::AccountId>:log-group:/x/*]": "logs"},
        {"Annotation::AwsSolutions-IAM5[Resource::*]": "metrics"},
    ]


def test_a_failed_batch_writes_nothing_and_the_next_one_starts_clean():
    # Given a batch that raises after an acknowledgement
    stack = cdk.Stack(cdk.App(), "Failed")
    topic = sns.Topic(stack, "Topic")
    with pytest.raises(RuntimeError), nag.batched():
        nag.acknowledge_rules(topic, "reason", "AwsSolutions-SNS3")
        raise RuntimeError("construction failed")
    # Then nothing was written, and a later batch writes only its own
    assert _acknowledged(topic) == []
    with nag.batched():
        nag.acknowledge_rules(topic, "later", "AwsSolutions-SNS2")
    assert _acknowledged(topic) == [{"Annotation::AwsSolutions-SNS2": "later"}]


def test_children_keep_the_ids_keeping_each_one_gives():
    # Given a key and a topic with a policy below one parent, twice
    def build(name: str) -> tuple[cdk.Stack, Construct, kms.Key, sns.Topic]:
        stack = cdk.Stack(cdk.App(), name)
        parent = Construct(stack, "AlarmTopic")
        key = kms.Key(parent, "Key")
        topic = sns.Topic(parent, "Topic", master_key=key)
        topic.add_to_resource_policy(iam.PolicyStatement(
            actions=["sns:Publish"], resources=[topic.topic_arn],
            principals=[iam.AccountRootPrincipal()]))
        return stack, parent, key, topic

    each, _, key, topic = build("Each")
    keep_logical_ids(key, ["Owner"], "AlarmTopicKey")
    keep_logical_ids(topic, ["Owner"], "AlarmTopic")
    together, parent, key2, topic2 = build("Together")
    # When the ids are kept from one listing of the parent
    keep_children_logical_ids(parent, ["Owner"],
                              [(key2, "AlarmTopicKey"), (topic2, "AlarmTopic")])
    # Then the templates are the same
    assert Template.from_stack(together).to_json() == Template.from_stack(each).to_json()


def test_a_resource_of_no_listed_child_is_refused():
    # Given a parent holding a resource that belongs to none of the listed children
    stack = cdk.Stack(cdk.App(), "Stray")
    parent = Construct(stack, "Parent")
    sns.CfnTopic(parent, "Stray")
    key = kms.Key(parent, "Key")
    # Then keeping the children's ids refuses rather than renaming the stray resource
    with pytest.raises(ValueError, match="CfnTopic below the parent belongs to none"):
        keep_children_logical_ids(parent, ["Owner"], [(key, "Key")])


def test_seconds_are_remembered_and_whole_seconds_refuse_a_fraction_as_the_cdk_does():
    # Given a duration of whole seconds and one of a fraction
    whole, fraction = Duration.minutes(2), Duration.millis(1500)
    # Then the remembered seconds are the kernel's
    assert to_seconds(whole) == whole.to_seconds(integral=False) == 120
    assert to_seconds(fraction) == 1.5
    assert whole_seconds(whole) == 120
    with pytest.raises(Exception, match="whole number"):
        fraction.to_seconds()
    with pytest.raises(Exception, match="whole number"):
        whole_seconds(fraction)


def test_a_problem_path_given_as_a_function_is_asked_for_only_on_error():
    # Given problems whose path is a function
    asked: list[str] = []

    def path() -> str:
        asked.append("path")
        return "Stack/Speech"

    problems = Problems(path)
    problems.raise_if_any()
    # Then nothing asked for it while there was no problem
    assert asked == []
    problems.add("min_capacity must be >= 1, got 0")
    with pytest.raises(DeepgramScalingConfigError, match="Stack/Speech: min_capacity"):
        problems.raise_if_any()
    assert asked == ["path"]
