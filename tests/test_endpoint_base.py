"""What both endpoint types share: the model, config and endpoint, their names, their
escape hatches, and what a change does to a deployed stack."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from deepgram_scaling import (
    DeepgramModel,
    RealtimeDeepgramEndpoint,
)

from .conftest import PACKAGE_ARN, SingleTypeScenario, cdk_context

BASE: dict[str, Any] = {"pools": ["ml.g6.2xlarge", "ml.g6e.2xlarge"], "arn": PACKAGE_ARN,
                        "initial": 1, "min": 1, "max": 4}


def synth(tmp_path_factory, **change: Any) -> dict[str, dict]:
    props = {**BASE, **change}
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path_factory.mktemp("update")))
    stack = cdk.Stack(app, "Service")
    RealtimeDeepgramEndpoint(stack, "Streaming",
                             model=DeepgramModel.from_model_package(props["arn"]),
                             instance_pools=props["pools"], max_capacity=props["max"],
                             min_capacity=props["min"],
                             initial_instance_count=props["initial"],
                             target_concurrency_per_instance=7)
    resources: dict[str, dict] = Template.from_stack(stack).to_json()["Resources"]
    return resources


def of_type(resources: dict[str, dict], resource_type: str) -> tuple[str, dict]:
    ((logical_id, resource),) = [(k, r) for k, r in resources.items()
                                 if r["Type"] == resource_type]
    return logical_id, resource["Properties"]


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict[str, dict[str, dict]]:
    return {
        "before": synth(tmp_path_factory),
        "pools": synth(tmp_path_factory, pools=["ml.g6.2xlarge", "ml.g5.2xlarge"]),
        "model": synth(tmp_path_factory, arn=PACKAGE_ARN + "-v2"),
        "initial": synth(tmp_path_factory, initial=2),
        "max": synth(tmp_path_factory, max=6),
        "default_initial": synth(tmp_path_factory, initial=None),
        "min": synth(tmp_path_factory, initial=None, min=2),
    }


def test_no_change_renames_a_logical_id(versions):
    ids = {name: sorted(resources) for name, resources in versions.items()}
    assert all(found == ids["before"] for found in ids.values())


def test_endpoint_keeps_the_autoscaled_count_on_every_config_change(versions):
    for resources in versions.values():
        _, endpoint = of_type(resources, "AWS::SageMaker::Endpoint")
        assert endpoint["RetainAllVariantProperties"] is True


@pytest.mark.parametrize("change", ["model", "initial", "max"])
def test_model_and_count_changes_update_the_endpoint_in_place(versions, change):
    _, before = of_type(versions["before"], "AWS::SageMaker::Endpoint")
    _, after = of_type(versions[change], "AWS::SageMaker::Endpoint")
    assert after["EndpointName"] == before["EndpointName"]  # same endpoint: UpdateEndpoint
    _, target_before = of_type(versions["before"], "AWS::ApplicationAutoScaling::ScalableTarget")
    _, target_after = of_type(versions[change], "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target_after["ResourceId"] == target_before["ResourceId"]  # target survives


def changed(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    """The types of the resources whose properties differ."""
    return sorted(before[k]["Type"] for k in before if before[k] != after[k])


def test_model_change_replaces_model_and_config_only(versions):
    # Only the model's properties change; the config follows because it names the model
    # by GetAtt (a replaced model has a new name), and everything else stays as it was:
    # the same endpoint (updated in place), the same scalable target and policies.
    before, after = versions["before"], versions["model"]
    assert changed(before, after) == ["AWS::SageMaker::Model"]
    _, config = of_type(after, "AWS::SageMaker::EndpointConfig")
    model_id, _ = of_type(after, "AWS::SageMaker::Model")
    assert config["ProductionVariants"][0]["ModelName"] == {"Fn::GetAtt": [model_id, "ModelName"]}


def test_initial_count_change_replaces_the_config_but_not_the_fleet_size(versions):
    # A new config, and nothing else: the endpoint keeps its name and its autoscaled count
    # (RetainAllVariantProperties), the scalable target and its policies stay.
    before, after = versions["before"], versions["initial"]
    assert changed(before, after) == ["AWS::SageMaker::EndpointConfig"]
    _, endpoint = of_type(after, "AWS::SageMaker::Endpoint")
    assert endpoint["RetainAllVariantProperties"] is True


def test_a_floor_change_touches_only_the_scalable_target(versions):
    # ProductionVariants is create-only (docs/aws-behaviour.md#endpoint-config-replacement):
    # if InitialInstanceCount followed min_capacity, raising the floor would replace the
    # config and rebuild the fleet. Registering the new floor raises the fleet instead.
    before, after = versions["default_initial"], versions["min"]
    changed = sorted(logical_id for logical_id in before if before[logical_id] != after[logical_id])
    (target_id, _) = of_type(before, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert changed == [target_id]
    assert before[target_id]["Properties"]["MinCapacity"] == 1
    assert after[target_id]["Properties"]["MinCapacity"] == 2
    _, config = of_type(after, "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 1


def test_pool_change_replaces_endpoint_and_target_together(versions):
    _, before = of_type(versions["before"], "AWS::SageMaker::Endpoint")
    _, after = of_type(versions["pools"], "AWS::SageMaker::Endpoint")
    # A new name: CloudFormation creates the new endpoint and its new target, then deletes
    # the old pair, instead of an UpdateEndpoint that SageMaker refuses while the target is
    # registered.
    assert after["EndpointName"] != before["EndpointName"]
    assert after["EndpointName"].rsplit("-", 1)[0] == before["EndpointName"].rsplit("-", 1)[0]
    endpoint_id, _ = of_type(versions["pools"], "AWS::SageMaker::Endpoint")
    _, target = of_type(versions["pools"], "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ResourceId"]["Fn::Join"][1][1] == {"Fn::GetAtt": [endpoint_id, "EndpointName"]}


def test_generated_names_are_valid_endpoint_names(versions):
    import re

    for resources in versions.values():
        _, endpoint = of_type(resources, "AWS::SageMaker::Endpoint")
        name = endpoint["EndpointName"]
        assert len(name) <= 63 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)


def test_a_fixed_endpoint_name_is_kept_and_explained(new_stack):
    from aws_cdk.assertions import Annotations

    stack = new_stack("Fixed", nag=False)
    RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                             instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7, endpoint_name="speech")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "speech"})
    assert Annotations.from_stack(stack).find_info(
        "*", Match.string_like_regexp("endpoint_name is fixed"))


def test_escape_hatches_are_the_l1_resources(single_type: SingleTypeScenario):
    endpoint = single_type.endpoint
    assert endpoint.cfn_endpoint.cfn_resource_type == "AWS::SageMaker::Endpoint"
    assert endpoint.cfn_endpoint_config.cfn_resource_type == "AWS::SageMaker::EndpointConfig"
    assert endpoint.cfn_model.cfn_resource_type == "AWS::SageMaker::Model"
    assert endpoint.scalable_target.node.default_child.cfn_resource_type == \
        "AWS::ApplicationAutoScaling::ScalableTarget"
    assert endpoint.scaling_policy.node.default_child.cfn_resource_type == \
        "AWS::ApplicationAutoScaling::ScalingPolicy"
    assert endpoint.scalable_target is endpoint.scaling.scalable_target


def test_two_endpoints_in_one_stack_do_not_collide(two_endpoints: Template):
    two_endpoints.resource_count_is("AWS::SageMaker::Endpoint", 2)
    two_endpoints.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 2)
    targets = two_endpoints.find_resources("AWS::ApplicationAutoScaling::ScalableTarget")
    endpoints = sorted(
        t["Properties"]["ResourceId"]["Fn::Join"][1][1]["Fn::GetAtt"][0] for t in targets.values()
    )
    assert endpoints == sorted(two_endpoints.find_resources("AWS::SageMaker::Endpoint"))
    policies = two_endpoints.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert sorted(
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"]
        for p in policies.values()
    ) == [5, 7]
    names = [p["Properties"]["PolicyName"] for p in policies.values()]
    assert len(set(names)) == 2


def test_the_nvme_kms_acknowledgement_stays_on_the_endpoint_config(tmp_path):
    # Given the example app (HIPAA and NIST packs on) and a user's own endpoint config
    # without a KMS key beside the library's
    import json

    from aws_cdk import aws_sagemaker as sagemaker

    import app as example

    from .conftest import cdk_context

    app = example.build_app(context=cdk_context(), outdir=str(tmp_path))
    stack = app.node.find_child("DeepgramScalingExample")
    sagemaker.CfnEndpointConfig(stack, "Mine", production_variants=[
        sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name="v", model_name="m", initial_instance_count=1,
            instance_type="ml.g6.2xlarge")])
    # when it synthesizes, then the packs report the user's config, and only that one: the
    # library's acknowledgement covers its own configs, whose NVMe types refuse a key
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    flagged = {(plugin["pluginName"], construct["constructPath"])
               for plugin in report["pluginReports"] for violation in plugin["violations"]
               if violation["ruleName"].endswith("SageMakerEndpointConfigurationKMSKeyConfigured")
               for construct in violation["violatingConstructs"]}
    assert flagged == {("HIPAA.Security", "DeepgramScalingExample/Mine"),
                       ("NIST.800.53.R5", "DeepgramScalingExample/Mine")}
