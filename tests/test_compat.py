"""0.1's logical ids: computed the way the CDK computes them (deepgram_scaling._compat)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from deepgram_scaling._compat import cdk_logical_id, keep_logical_ids, path_below_stack


def test_logical_ids_match_the_cdks_own():
    # Given constructs at paths like the ones 0.1 used
    stack = cdk.Stack(cdk.App(), "Ids")
    owner = cdk.Resource(stack, "Batch")
    bucket = s3.CfnBucket(s3.Bucket(owner, "Bucket"), "Extra")  # nested below an L2
    topic = sns.Topic(owner, "AlarmTopic")
    plain = s3.CfnBucket(stack, "Plain")
    # then our computation gives the CDK's id for each
    for resource in (bucket, topic.node.default_child, plain):
        components = resource.node.path.split("/")[1:]
        assert cdk_logical_id(components) == stack.get_logical_id(resource)


def test_repeated_components_and_hidden_ids_follow_the_cdk():
    # "Default" is left out of the path; a component its predecessor ends with is left out
    # of the human part; "Resource" is left out of the human part only.
    assert cdk_logical_id(["Batch", "Default"]) == "Batch"
    stack = cdk.Stack(cdk.App(), "Rep")
    inner = cdk.Resource(cdk.Resource(stack, "TopicTopic"), "Topic")
    resource = sns.CfnTopic(inner, "Resource")
    assert cdk_logical_id(resource.node.path.split("/")[1:]) == stack.get_logical_id(resource)


def test_path_below_stack_drops_the_stack():
    stack = cdk.Stack(cdk.App(), "Outer")
    owner = cdk.Resource(cdk.Resource(stack, "Service"), "Speech")
    assert path_below_stack(owner) == ["Service", "Speech"]


def test_keep_logical_ids_moves_a_topic_and_its_policy_to_their_old_paths():
    # Given a topic with a resource policy, now one construct deeper than 0.1 had it
    stack = cdk.Stack(cdk.App(), "Moved")
    owner = cdk.Resource(stack, "Batch")
    topic = sns.Topic(cdk.Resource(owner, "Storage"), "SuccessTopic")
    topic.add_to_resource_policy(iam.PolicyStatement(
        actions=["sns:Publish"], resources=[topic.topic_arn],
        principals=[iam.AccountRootPrincipal()]))
    # When the ids of <owner>/SuccessTopic are kept
    keep_logical_ids(topic, path_below_stack(owner), "SuccessTopic")
    # Then the topic and its policy carry the ids the CDK gives those old paths
    old = cdk.Stack(cdk.App(), "Old")
    old_topic = sns.Topic(cdk.Resource(old, "Batch"), "SuccessTopic")
    old_topic.add_to_resource_policy(iam.PolicyStatement(
        actions=["sns:Publish"], resources=[old_topic.topic_arn],
        principals=[iam.AccountRootPrincipal()]))
    resources = Template.from_stack(stack).to_json()["Resources"]
    assert {k: v["Type"] for k, v in resources.items()} == {
        old.get_logical_id(old_topic.node.default_child): "AWS::SNS::Topic",
        old.get_logical_id(old_topic.node.find_child("Policy").node.default_child):
            "AWS::SNS::TopicPolicy",
    }


def test_keep_logical_ids_refuses_a_construct_with_two_resources():
    # Given a bucket with a second L1 below it (it has no single "Resource" of 0.1's)
    stack = cdk.Stack(cdk.App(), "Two")
    bucket = s3.Bucket(stack, "Bucket")
    s3.CfnBucket(bucket, "Extra")
    # Then keeping its ids names what it found
    with pytest.raises(ValueError, match=r"one resource .* below Bucket, got \['CfnBucket', "
                                         r"'CfnBucket'\]"):
        keep_logical_ids(bucket, [], "Bucket")


def test_path_below_stack_of_a_stack_is_empty_and_needs_a_stack():
    stack = cdk.Stack(cdk.App(), "Alone")
    assert path_below_stack(stack) == []
    with pytest.raises(ValueError, match="is not inside a stack"):
        path_below_stack(cdk.App())
