"""How the checker reads values it cannot evaluate (deepgram_scaling.checks.resolve): the
placeholders of render, the ids references finds, literal numbers, and the ties Graph makes
from names and ResourceIds."""

from __future__ import annotations

from typing import Any

import pytest

from deepgram_scaling.checks.resolve import UNKNOWN, Graph, number, references, render


@pytest.mark.parametrize(("value", "rendered"), [
    (True, "true"),
    (2.0, "2"),
    (0.5, "0.5"),
    ({"Fn::GetAtt": "Speech.EndpointName"}, "{{GetAtt:Speech.EndpointName}}"),
    ({"Fn::GetAtt": ["Speech"]}, UNKNOWN),
    ({"Fn::Join": ["/", ["endpoint", {"Ref": "Speech"}]]}, "endpoint/{{Ref:Speech}}"),
    ({"Fn::Join": [{"Ref": "Sep"}, ["a", "b"]]}, UNKNOWN),
    ({"Fn::Sub": ["${Name}-${Stage.Arn}", {"Name": "speech"}]}, "speech-{{GetAtt:Stage.Arn}}"),
    ({"Fn::Sub": ["${Name}", "not a mapping"]}, UNKNOWN),
    ({"Fn::Sub": "${!Literal}/${Env}"}, "${Literal}/{{Ref:Env}}"),
    ({"Fn::If": ["Prod", "a", "b"]}, UNKNOWN),
], ids=["boolean", "whole-float", "fraction", "getatt-string", "getatt-short", "join",
        "join-token-delimiter", "sub-variables", "sub-malformed", "sub-escape", "condition"])
def test_render_keeps_what_is_known_and_marks_the_rest(value: Any, rendered: str):
    assert render(value) == rendered


def test_references_follow_sub_variables_but_not_its_own_names_or_pseudo_parameters():
    # Given a Sub that names a resource attribute, a pseudo-parameter and its own variable,
    # whose value refers to another resource
    value = {"Fn::Sub": ["arn:${AWS::Partition}:x:${Topic.TopicName}/${Own}",
                         {"Own": {"Ref": "Queue"}}]}
    # Then the resources it depends on are found, and nothing else
    assert references(value) == {"Topic", "Queue"}
    assert references({"Fn::GetAtt": ["Key", "Arn"]}) == {"Key"}
    assert references({"Fn::Sub": ["${A}", "bad"]}) == set()


@pytest.mark.parametrize(("value", "expected"), [
    ("4", 4.0), (3, 3.0), ("four", None), (True, None), ({"Ref": "Min"}, None)])
def test_number_reads_literals_and_numeric_strings_only(value: Any, expected: float | None):
    assert number(value) == expected


def _graph(**extra: Any) -> Graph:
    resources: dict[str, Any] = {
        "Config": {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {
            "EndpointConfigName": "speech-config",
            "ProductionVariants": [{"VariantName": "AllTraffic",
                                    "ServerlessConfig": {"MaxConcurrency": 5,
                                                         "MemorySizeInMB": 2048}}]}},
        "Speech": {"Type": "AWS::SageMaker::Endpoint", "Properties": {
            "EndpointName": "speech", "EndpointConfigName": "speech-config"}},
        "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "ServiceNamespace": "sagemaker", "MinCapacity": 1, "MaxCapacity": 2,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ResourceId": "endpoint/speech/variant/AllTraffic"}},
        **extra}
    return Graph({"Resources": resources})


def test_a_config_named_by_its_literal_name_ties_and_a_serverless_variant_is_serverless():
    graph = _graph()
    # Then the endpoint finds its config by EndpointConfigName and reads its kind
    endpoint = graph.endpoints["Speech"]
    assert (endpoint.config, endpoint.kind, endpoint.variants) == \
        ("Config", "serverless", {"AllTraffic"})


def test_a_config_name_known_only_at_deploy_time_ties_to_no_config():
    graph = _graph(Other={"Type": "AWS::SageMaker::Endpoint", "Properties": {
        "EndpointConfigName": {"Fn::ImportValue": "SharedConfig"}}})
    assert (graph.endpoints["Other"].config, graph.endpoints["Other"].kind) == (None, None)


def test_a_policy_without_a_target_id_is_tied_by_its_resource_id_when_it_is_literal():
    # Given two policies naming no scalable target: one by the target's literal ResourceId,
    # one by a ResourceId known only at deploy time
    def policy(resource_id: Any) -> dict[str, Any]:
        return {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": "p", "PolicyType": "TargetTrackingScaling", "ResourceId": resource_id,
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "ServiceNamespace": "sagemaker"}}
    graph = _graph(Literal=policy("endpoint/speech/variant/AllTraffic"),
                   Imported=policy({"Fn::ImportValue": "SharedResourceId"}))
    # Then the first reaches the endpoint through the target, the second reaches nothing
    assert graph.policies["Literal"].target == "Target"
    assert graph.policy_endpoint("Literal") is graph.endpoints["Speech"]
    assert graph.policies["Imported"].target is None
    assert graph.policy_endpoint("Imported") is None
    assert graph.policy_endpoint("NoSuchPolicy") is None
