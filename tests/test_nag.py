"""cdk-nag acknowledgements (deepgram_scaling.nag): the flattened resource names cdk-nag
matches, and the values it cannot name; plus the edges of the CDK's logical ids that
deepgram_scaling._compat computes."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from constructs import Construct

from deepgram_scaling import nag
from deepgram_scaling._compat import cdk_logical_id


def _acknowledged(scope: Construct) -> list[object]:
    return [entry.data for entry in scope.node.metadata
            if entry.type == "aws:cdk:acknowledged-rules"]


def test_nag_resource_flattens_refs_attributes_and_joins_the_way_cdk_nag_names_them():
    # Given a plain string, and tokens for a Ref, an attribute and a join of both
    stack = cdk.Stack(cdk.App(), "Flat")
    topic = sns.CfnTopic(stack, "Topic")
    joined = cdk.Fn.join(":", [topic.ref, topic.attr_topic_name, "*"])
    # When flattened, then a string is its own form, Ref is <Id>, GetAtt is <Id.Attr>
    assert nag.nag_resource(topic, "arn:aws:sns:*") == "arn:aws:sns:*"
    assert nag.nag_resource(topic, topic.ref) == "<Topic>"
    assert nag.nag_resource(topic, topic.attr_topic_name) == "<Topic.TopicName>"
    assert nag.nag_resource(topic, joined) == "<Topic>:<Topic.TopicName>:*"


def test_a_resource_cdk_nag_has_no_flat_name_for_is_refused_not_guessed():
    # Given a token that resolves to an intrinsic cdk-nag does not flatten
    stack = cdk.Stack(cdk.App(), "Import")
    topic = sns.CfnTopic(stack, "Topic")
    # Then flattening it fails with the value, rather than acknowledging a wrong id
    with pytest.raises(ValueError, match=r"cannot flatten \{'Fn::ImportValue': 'Shared'\}"):
        nag.nag_resource(topic, cdk.Fn.import_value("Shared"))


def test_a_nested_batch_writes_nothing_until_the_outermost_one_ends():
    # Given acknowledgements made in an inner batch inside an outer one
    stack = cdk.Stack(cdk.App(), "Nested")
    topic = sns.Topic(stack, "Topic")
    with nag.batched():
        with nag.batched():
            nag.acknowledge_rules(topic, "inner", "AwsSolutions-SNS3")
        # Then the end of the inner batch writes nothing
        assert _acknowledged(topic) == []
        nag.acknowledge_wildcard(topic, "*", "outer")
    # Then the outer batch's end writes both, in the order they were made
    assert _acknowledged(topic) == [{"Annotation::AwsSolutions-SNS3": "inner"},
                                    {"Annotation::AwsSolutions-IAM5[Resource::*]": "outer"}]


def test_hipaa_and_nist_name_the_shared_rule_in_both_packs():
    assert nag.hipaa_and_nist("S3BucketLoggingEnabled") == (
        "HIPAA.Security-S3BucketLoggingEnabled", "NIST.800.53.R5-S3BucketLoggingEnabled")


def test_a_logical_id_needs_a_component_and_a_long_single_one_gets_a_hash():
    # Given no component but the hidden "Default", and one component over 255 characters
    # Then the first is refused, and the second is cut to 240 characters plus the path's hash
    with pytest.raises(ValueError, match="at least one path component"):
        cdk_logical_id(["Default"])
    stack = cdk.Stack(cdk.App(), "Long")
    resource = sns.CfnTopic(stack, "T" * 300)
    long_id = cdk_logical_id(["T" * 300])
    assert long_id == stack.get_logical_id(resource)
    assert len(long_id) == 248
