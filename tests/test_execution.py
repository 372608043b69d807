"""The execution role and the model's network: least privilege, private subnets, security
groups."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    RealtimeDeepgramEndpoint,
)

from .conftest import IMAGE_URI, PACKAGE_ARN
from .test_realtime import only


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
    (group,) = endpoint.connections.security_groups
    assert cdk.Stack.of(endpoint).resolve(group.security_group_id) == {
        "Fn::GetAtt": [group_id, "GroupId"]}


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


def test_execution_role_has_no_full_access_and_scoped_logs(example_template: Template):
    rendered = str(example_template.to_json())
    assert "FullAccess" not in rendered
    role = only(example_template, "AWS::IAM::Role", prefix="Realtime")
    assert "ManagedPolicyArns" in role["Properties"]
    policy = only(example_template, "AWS::IAM::ManagedPolicy", prefix="Realtime")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {str(s["Action"]): s for s in statements}
    logs = next(s for a, s in by_action.items() if "logs:CreateLogStream" in a)
    assert "/aws/sagemaker/Endpoints/*" in str(logs["Resource"])
    metrics = next(s for a, s in by_action.items() if "cloudwatch:PutMetricData" in a)
    assert metrics["Condition"] == {
        "StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}
    }
    # A Marketplace package needs no ECR access.
    assert "ecr:" not in str(statements)


def test_a_role_the_user_passes_gets_the_policy_and_no_role_is_created(new_stack):
    import aws_cdk as cdk
    from aws_cdk import aws_iam as iam

    from deepgram_scaling import DeepgramModel, RealtimeDeepgramEndpoint

    stack = new_stack("OwnRole", nag=False)
    role = iam.Role(stack, "Mine", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    endpoint = RealtimeDeepgramEndpoint(
        stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
        instance_pools=["ml.g6.2xlarge"], max_capacity=2, target_concurrency_per_instance=7,
        role=role)
    template = Template.from_stack(stack)
    roles = template.find_resources("AWS::IAM::Role")
    assert list(roles) == [stack.get_logical_id(role.node.default_child)]
    (mine,) = roles.values()
    policy_id = template.find_resources("AWS::IAM::ManagedPolicy")
    assert mine["Properties"]["ManagedPolicyArns"] == [{"Ref": next(iter(policy_id))}]
    assert endpoint.role is role
    model = next(iter(template.find_resources("AWS::SageMaker::Model").values()))
    assert model["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": [next(iter(roles)), "Arn"]}
    assert cdk.Token.is_unresolved(endpoint.endpoint_name)
