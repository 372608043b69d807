"""Private networking and safe updates: what a change does to a deployed stack."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
    RealtimeDeepgramEndpoint,
)

from .conftest import IMAGE_URI, PACKAGE_ARN, cdk_context

# --- private networking ------------------------------------------------------------------


def private_vpc(stack: cdk.Stack) -> ec2.Vpc:
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, subnet_configuration=[
        ec2.SubnetConfiguration(name="models", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])
    vpc.add_flow_log("FlowLog")
    return vpc


@pytest.fixture(scope="module")
def in_vpc(new_stack: Callable[..., cdk.Stack]) -> tuple[RealtimeDeepgramEndpoint, Template]:
    stack = new_stack("InVpc")
    endpoint = RealtimeDeepgramEndpoint(
        stack, "Private", model=DeepgramModel.from_model_package(PACKAGE_ARN),
        instance_pools=["ml.g6.2xlarge"], max_capacity=2, target_concurrency_per_instance=7,
        vpc=private_vpc(stack))
    return endpoint, Template.from_stack(stack)


def test_model_runs_in_the_private_subnets_with_its_own_group(in_vpc):
    endpoint, template = in_vpc
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    config = model["Properties"]["VpcConfig"]
    subnets = template.find_resources("AWS::EC2::Subnet")
    assert sorted(s["Ref"] for s in config["Subnets"]) == sorted(subnets)
    (group_id,) = template.find_resources("AWS::EC2::SecurityGroup")
    assert config["SecurityGroupIds"] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert endpoint.connections is not None
    assert len(endpoint.connections.security_groups) == 1


def test_network_isolated_model_group_allows_only_https_out(in_vpc):
    # SageMaker downloads the model and moves async data through the VPC's subnets even when
    # the container is isolated (docs/aws-behaviour.md#network-isolation-vpc): HTTPS only.
    _, template = in_vpc
    (group,) = template.find_resources("AWS::EC2::SecurityGroup").values()
    assert group["Properties"]["SecurityGroupEgress"] == [{
        "CidrIp": "0.0.0.0/0", "Description": "HTTPS to S3 and VPC endpoints: model "
        "artifacts, async input and output", "FromPort": 443, "IpProtocol": "tcp",
        "ToPort": 443}]
    assert "SecurityGroupIngress" not in group["Properties"]


def test_execution_role_can_describe_vpc_endpoints(in_vpc):
    _, template = in_vpc
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    describe = next(s for s in statements if "ec2:DescribeSubnets" in s["Action"])
    # AWS's list for hosted endpoints in a VPC (docs/aws-behaviour.md#vpc-permissions).
    assert describe["Action"] == ["ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                                  "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                                  "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs"]


def test_execution_role_may_attach_interfaces_to_these_subnets_only(in_vpc):
    _, template = in_vpc
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    create = next(s for s in statements if s["Action"] == "ec2:CreateNetworkInterface")
    rendered = str(create["Resource"])
    for subnet_id in template.find_resources("AWS::EC2::Subnet"):
        assert subnet_id in rendered
    assert "network-interface/*" in rendered and "security-group/" in rendered
    describe = next(s for s in statements if "ec2:DescribeSubnets" in s["Action"])
    assert describe["Resource"] == "*"


def test_vpc_template_passes_cfn_lint(in_vpc):
    from .test_compliance import cfn_lint_findings

    assert cfn_lint_findings(in_vpc[1].to_json()) == []


def test_user_security_groups_and_subnets(new_stack):
    stack = new_stack("UserGroups", nag=False)
    vpc = private_vpc(stack)
    group = ec2.SecurityGroup(stack, "Mine", vpc=vpc)
    endpoint = AsyncDeepgramEndpoint(
        stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI, network_isolation=False),
        instance_pools=["ml.g6.2xlarge"], max_capacity=2, vpc=vpc, security_groups=[group],
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="models"))
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::EC2::SecurityGroup", 1)
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    assert model["Properties"]["EnableNetworkIsolation"] is False
    assert endpoint.connections.security_groups == [group]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"security_groups": []}, r"security_groups need vpc|security_groups must be a list of 1 to 5"),
    ({"vpc_subnets": ec2.SubnetSelection()}, r"vpc_subnets and security_groups need vpc"),
])
def test_network_props_need_a_vpc(new_stack, kwargs, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        RealtimeDeepgramEndpoint(new_stack(nag=False), "E",
                                 model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                 instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                                 target_concurrency_per_instance=7, **kwargs)


# --- safe updates ------------------------------------------------------------------------
#
# What CloudFormation does with a changed property (AWS resource reference, "Update
# requires"): AWS::SageMaker::Endpoint EndpointName -> Replacement, EndpointConfigName and
# RetainAllVariantProperties -> No interruption (UpdateEndpoint); AWS::SageMaker::
# EndpointConfig ProductionVariants -> Replacement; AWS::SageMaker::Model PrimaryContainer ->
# Replacement; AWS::ApplicationAutoScaling::ScalableTarget ResourceId -> Replacement,
# Min/MaxCapacity -> No interruption.

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


def test_model_change_replaces_model_and_config_only(versions):
    _, model_before = of_type(versions["before"], "AWS::SageMaker::Model")
    _, model_after = of_type(versions["model"], "AWS::SageMaker::Model")
    assert model_after["PrimaryContainer"] != model_before["PrimaryContainer"]
    policy = "AWS::ApplicationAutoScaling::ScalingPolicy"
    assert of_type(versions["model"], policy) == of_type(versions["before"], policy)


def test_initial_count_change_replaces_the_config_but_not_the_fleet_size(versions):
    _, before = of_type(versions["before"], "AWS::SageMaker::EndpointConfig")
    _, after = of_type(versions["initial"], "AWS::SageMaker::EndpointConfig")
    assert after["ProductionVariants"][0]["InitialInstanceCount"] == 2
    assert before["ProductionVariants"][0]["InitialInstanceCount"] == 1


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
    from aws_cdk.assertions import Annotations, Match

    stack = new_stack("Fixed", nag=False)
    RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                             instance_pools=["ml.g6.2xlarge"], max_capacity=2,
                             target_concurrency_per_instance=7, endpoint_name="speech")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::SageMaker::Endpoint", {"EndpointName": "speech"})
    assert Annotations.from_stack(stack).find_info(
        "*", Match.string_like_regexp("endpoint_name is fixed"))


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
