"""What the model runs as and where: the execution role's least-privilege policy, and the
VPC configuration with its security group and network-interface permissions."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ._compat import format_arn, share_stack, stack_of
from .model_source import DeepgramModel
from .nag import acknowledge_wildcard


def log_groups_arn(scope: Construct) -> str:
    return format_arn(stack_of(scope), service="logs", resource="log-group",
                      resource_name="/aws/sagemaker/Endpoints/*", colon=True)


def execution_policy(scope: Construct, model: DeepgramModel) -> iam.ManagedPolicy:
    """The model's permissions: endpoint log groups, metrics in SageMaker's namespaces, and
    pulls of the model's own image. HIPAA and NIST packs refuse inline policies, so this is a
    customer-managed policy."""
    logs = log_groups_arn(scope)
    policy = iam.ManagedPolicy(
        scope, "ExecutionPolicy",
        description="Least-privilege permissions of a Deepgram SageMaker model",
        statements=[
            iam.PolicyStatement(actions=["logs:CreateLogGroup", "logs:CreateLogStream",
                                         "logs:PutLogEvents", "logs:DescribeLogStreams"],
                                resources=[logs]),
            # PutMetricData has no resource-level permission; the condition narrows it to
            # SageMaker's own namespace.
            iam.PolicyStatement(actions=["cloudwatch:PutMetricData"], resources=["*"],
                                conditions={"StringLike": {
                                    "cloudwatch:namespace": "/aws/sagemaker/*"}}),
            *model.execution_statements(scope),
        ],
    )
    share_stack(policy, scope)
    acknowledge_wildcard(
        policy, logs,
        "SageMaker names the log group after the endpoint, whose name CloudFormation "
        "generates after this policy must already exist; the pattern is limited to SageMaker "
        "endpoint log groups of this account and region.")
    acknowledge_wildcard(
        policy, "*",
        "cloudwatch:PutMetricData, ecr:GetAuthorizationToken and ec2:Describe* have no "
        "resource-level permissions, so '*' is their only form; PutMetricData is narrowed by "
        "a cloudwatch:namespace condition to /aws/sagemaker/*.")
    return policy


def vpc_config(
    scope: Construct,
    model: DeepgramModel,
    vpc: ec2.IVpc,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
) -> tuple[sagemaker.CfnModel.VpcConfigProperty, ec2.Connections]:
    """The model's ``VpcConfig`` and the connections of its security groups. Without groups
    of yours, a new group: with network isolation it allows only outbound HTTPS, which
    SageMaker needs for the model and async data (docs/aws-behaviour.md#network-isolation-vpc);
    without isolation, all outbound traffic (the licence server,
    docs/aws-behaviour.md#self-hosted-licence)."""
    groups = list(security_groups or [])
    if not groups:
        group = ec2.SecurityGroup(scope, "SecurityGroup", vpc=vpc,
                                  description="Deepgram SageMaker model network interfaces",
                                  allow_all_outbound=not model.network_isolation)
        if model.network_isolation:
            # S3's gateway endpoint has no address range CloudFormation can name, so HTTPS
            # goes to any address; the subnets' routes decide where it can land.
            group.add_egress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                "HTTPS to S3 and VPC endpoints: model artifacts, async input and output")
        groups = [group]
    selection = vpc_subnets or ec2.SubnetSelection()
    subnets = vpc.select_subnets(
        availability_zones=selection.availability_zones, one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters, subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets, subnet_type=selection.subnet_type)
    config = sagemaker.CfnModel.VpcConfigProperty(
        security_group_ids=[g.security_group_id for g in groups], subnets=subnets.subnet_ids)
    return config, ec2.Connections(security_groups=groups)


def vpc_statements(policy: iam.ManagedPolicy,
                   config: sagemaker.CfnModel.VpcConfigProperty) -> list[iam.PolicyStatement]:
    """What SageMaker needs to attach the model's interfaces to your subnets
    (docs/aws-behaviour.md#vpc-permissions)."""
    stack = stack_of(policy)

    def ec2_arn(resource: str, name: str) -> str:
        return format_arn(stack, service="ec2", resource=resource, resource_name=name)

    interfaces = ec2_arn("network-interface", "*")
    acknowledge_wildcard(
        policy, interfaces,
        "SageMaker creates and deletes the model's network interfaces itself; their ids do "
        "not exist before deployment. Creation is also limited to the chosen subnets and "
        "security groups.")
    return [
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface"],
            resources=[interfaces, *[ec2_arn("subnet", s) for s in config.subnets],
                       *[ec2_arn("security-group", g) for g in config.security_group_ids]]),
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                     "ec2:DeleteNetworkInterfacePermission"],
            resources=[interfaces]),
        # Describe calls have no resource-level permissions.
        iam.PolicyStatement(
            actions=["ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                     "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                     "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs"],
            resources=["*"]),
    ]
