"""0.1's logical ids: computed the way the CDK computes them (deepgram_scaling._compat)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from deepgram_scaling._compat import cdk_logical_id, path_below_stack


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
