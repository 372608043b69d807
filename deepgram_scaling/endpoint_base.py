"""What both endpoint types share: model, endpoint config, endpoint, scalable target,
execution role, grants, metrics and alarm wiring.

Subclasses add their own scaling policies and alarms; this base exposes only what makes
sense for every SageMaker single-model endpoint (compare aws-sagemaker-alpha's
``scalable-instance-count.ts``).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections.abc import Sequence

from aws_cdk import Annotations, ArnFormat, Duration, Names, Stack, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from . import metrics
from ._validation import Problems, fmt, is_token, seconds_of
from .alarms import AlarmOptions, create_alarm
from .dashboard import check_dashboard_period, graph
from .instance_pools import (
    PROVISION_TIMEOUT_RANGE_S,
    InstancePool,
    check_pools,
    coerce_pools,
    variant_instance_properties,
)
from .model_source import DeepgramModel
from .nag import acknowledge_rules, acknowledge_wildcard, hipaa_and_nist
from .scaling import MAX_SCHEDULED_ACTIONS, StepScalingOptions, check_steps, parse_schedule

#: Deepgram's listings use a single variant with this name
#: (docs/aws-behaviour.md#deepgram-marketplace-model).
VARIANT_NAME = "AllTraffic"
#: Required by Deepgram's containers: NVIDIA driver >= 580 / CUDA 13
#: (docs/aws-behaviour.md#inference-ami).
DEFAULT_INFERENCE_AMI_VERSION = "al2023-ami-sagemaker-inference-gpu-4-1"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
#: Application Auto Scaling's service-linked role for SageMaker variants
#: (docs/aws-behaviour.md#service-linked-role).
AUTOSCALING_SERVICE_LINKED_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
#: Instances the endpoint config creates the variant with; see the constructor.
DEFAULT_INITIAL_INSTANCE_COUNT = 1
ISOLATED_IMAGE_WARNING_ID = "deepgram-scaling:isolatedImageLicence"
_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: API ranges of the variant's timeouts (CreateEndpointConfig).
MODEL_DOWNLOAD_TIMEOUT_RANGE_S = (60, 3600)
STARTUP_HEALTH_CHECK_TIMEOUT_RANGE_S = (60, 3600)


class DeepgramEndpointBase(Construct):
    """Base of :class:`RealtimeDeepgramEndpoint` and :class:`AsyncDeepgramEndpoint`.

    Not meant to be used directly. Attributes every endpoint exposes:

    - ``cfn_model``, ``cfn_endpoint_config``, ``cfn_endpoint``: the L1 resources;
    - ``role``: the execution role; ``execution_policy``: the managed policy this construct
      attached to it;
    - ``scalable_target``: the Application Auto Scaling target of the variant;
    - ``alarms``: every alarm created, by name.
    """

    #: Smallest ``min_capacity`` an endpoint type accepts.
    _min_capacity_floor: int = 1
    _kind: str = "endpoint"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: DeepgramModel,
        instance_pools: Sequence[InstancePool | str],
        min_capacity: int,
        max_capacity: int,
        initial_instance_count: int | None,
        role: iam.IRole | None,
        kms_key: kms.IKey | None,
        provision_timeout: Duration,
        inference_ami_version: str,
        model_data_download_timeout: Duration,
        container_startup_health_check_timeout: Duration,
        endpoint_name: str | None,
        alarm_topic: sns.ITopic | None,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        problems: Problems,
    ) -> None:
        pools = coerce_pools(instance_pools)
        if endpoint_name is not None and not is_token(endpoint_name) and (
            not isinstance(endpoint_name, str) or not _ENDPOINT_NAME.fullmatch(endpoint_name)
        ):
            problems.add("endpoint_name must be 1-63 letters, digits and hyphens, starting and "
                         f"ending with a letter or digit, got {fmt(endpoint_name)}")
        if vpc is None and (vpc_subnets is not None or security_groups is not None):
            problems.add("vpc_subnets and security_groups need vpc, got "
                         f"vpc=None with {'vpc_subnets' if vpc_subnets else 'security_groups'}")
        if security_groups is not None and (
            isinstance(security_groups, (str, bytes)) or not isinstance(security_groups, Sequence)
            or not 1 <= len(security_groups) <= 5
        ):
            problems.add("security_groups must be a list of 1 to 5 security groups (SageMaker's "
                         f"limit), got {fmt(security_groups)}")
        self._check_common(
            problems,
            model=model,
            pools=pools,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            initial_instance_count=initial_instance_count,
            kms_key=kms_key,
            provision_timeout=provision_timeout,
            model_data_download_timeout=model_data_download_timeout,
            container_startup_health_check_timeout=container_startup_health_check_timeout,
        )
        problems.raise_if_any()
        super().__init__(scope, construct_id)
        if initial_instance_count is None:
            # A constant, not min_capacity: ProductionVariants is create-only, so a count
            # that followed min_capacity would make a floor change replace the endpoint
            # config and rebuild the fleet. Registering the scalable target brings the
            # fleet inside [min_capacity, max_capacity] instead
            # (docs/aws-behaviour.md#endpoint-config-replacement,
            # docs/aws-behaviour.md#register-target-range).
            initial_instance_count = DEFAULT_INITIAL_INSTANCE_COUNT

        self.model = model
        self.instance_pools: tuple[InstancePool, ...] = pools
        self.min_capacity = min_capacity
        self.max_capacity = max_capacity
        #: Where every alarm sends ALARM and OK (created when you pass none).
        self.alarm_topic: sns.ITopic = alarm_topic or self._create_alarm_topic()
        if alarm_topic is not None:
            self._let_cloudwatch_publish(alarm_topic)
        if model.image_uri is not None and model.network_isolation:
            Annotations.of(self).add_warning_v2(
                ISOLATED_IMAGE_WARNING_ID,
                "The model is a self-hosted Deepgram image with network isolation: the "
                "container cannot reach Deepgram's licence server or a License Proxy, so it "
                "cannot validate its licence unless the image carries an offline licence. "
                "Leave network_isolation off (the default for images) and see "
                "DeepgramModel.from_image(license_proxy_url=...).",
            )
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._scheduled_actions = 0
        #: The step policy when step scaling was chosen, else None.
        self.step_scaling_policy: appscaling.StepScalingPolicy | None = None

        #: Security groups of the model's network interfaces (None outside a VPC).
        self.connections: ec2.Connections | None = None
        vpc_config = self._vpc_config(model, vpc, vpc_subnets, security_groups)

        self.execution_policy = iam.ManagedPolicy(
            self,
            "ExecutionPolicy",
            description="Least-privilege permissions of a Deepgram SageMaker model",
            statements=self._execution_statements(),
        )
        if vpc_config is not None:
            self.execution_policy.add_statements(*self._vpc_statements(vpc_config))
        if role is None:
            role = iam.Role(
                self,
                "ExecutionRole",
                assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                description="Execution role of a Deepgram SageMaker model",
            )
        role.add_managed_policy(self.execution_policy)
        self.role: iam.IRole = role
        self._acknowledge_execution_policy()

        self.cfn_model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=role.role_arn,
            enable_network_isolation=model.network_isolation,
            vpc_config=vpc_config,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=model.model_package_arn,
                image=model.image_uri,
                environment=dict(model.environment) or None,
            ),
        )
        # The role's policy must exist before SageMaker uses the role.
        self.cfn_model.node.add_dependency(self.execution_policy)

        self.cfn_endpoint_config = sagemaker.CfnEndpointConfig(
            self,
            "EndpointConfig",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=self.cfn_model.attr_model_name,
                    initial_instance_count=initial_instance_count,
                    inference_ami_version=inference_ami_version,
                    model_data_download_timeout_in_seconds=seconds_of(model_data_download_timeout),
                    container_startup_health_check_timeout_in_seconds=seconds_of(
                        container_startup_health_check_timeout
                    ),
                    **variant_instance_properties(
                        pools,
                        seconds_of(provision_timeout),
                        least_outstanding_requests=self._least_outstanding_routing,
                    ),
                )
            ],
            kms_key_id=kms_key.key_arn if kms_key is not None else None,
        )
        if kms_key is None and any(pool.has_local_nvme for pool in pools):
            acknowledge_rules(
                self.cfn_endpoint_config,
                "CreateEndpointConfig rejects a KmsKeyId for instance types with local NVMe "
                "storage, which every listed type has; their volumes are encrypted by a "
                "hardware module on the instance.",
                *hipaa_and_nist("SageMakerEndpointConfigurationKMSKeyConfigured"),
            )
        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
            endpoint_name=endpoint_name or self._generated_endpoint_name(pools),
            # Keep the autoscaled DesiredInstanceCount when a new endpoint config is applied;
            # by default UpdateEndpoint resets it to InitialInstanceCount
            # (docs/aws-behaviour.md#retain-variant-properties).
            retain_all_variant_properties=True,
        )
        if endpoint_name is not None:
            Annotations.of(self).add_info(
                "endpoint_name is fixed: a change of instance_pools then needs the scalable "
                "target deregistered before the update, which CloudFormation cannot do. Leave "
                "endpoint_name unset to let such a change replace the endpoint instead."
            )
        #: The endpoint's name (a token: CloudFormation generates it unless you set one).
        self.endpoint_name: str = self.cfn_endpoint.attr_endpoint_name
        #: The endpoint's ARN (``Ref`` of ``AWS::SageMaker::Endpoint``).
        self.endpoint_arn: str = self.cfn_endpoint.ref
        self.variant_name = VARIANT_NAME

        # Referencing the endpoint's name makes the target depend on the endpoint, so it
        # is never registered before the endpoint exists
        # (docs/aws-behaviour.md#variant-scalable-target).
        self.scalable_target = appscaling.ScalableTarget(
            self,
            "ScalableTarget",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
            scalable_dimension=SCALABLE_DIMENSION,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            role=iam.Role.from_role_arn(
                self,
                "AutoScalingServiceLinkedRole",
                Stack.of(self).format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name=AUTOSCALING_SERVICE_LINKED_ROLE,
                ),
                mutable=False,
            ),
        )

    def _generated_endpoint_name(self, pools: Sequence[InstancePool]) -> str:
        """A name unique to this construct that changes exactly when the pool list does.

        SageMaker refuses to update a variant's instance type while it is a registered
        scalable target, and CloudFormation cannot deregister the target during an update
        (docs/aws-behaviour.md#instance-type-change-with-autoscaling). A new name makes
        CloudFormation replace the endpoint instead: it creates the new endpoint and its new
        scalable target, then deletes the old ones. Changes of the model or the counts keep
        the name and update in place.
        """
        instance_config = [[p.instance_type, priority] for priority, p in enumerate(pools, 1)]
        digest = hashlib.sha256(json.dumps(instance_config).encode()).hexdigest()[:8]
        if any(is_token(p.instance_type) for p in pools):
            digest = "token"
        base = Names.unique_resource_name(self, max_length=54, separator="-",
                                          allowed_special_characters="-")
        return f"{base}-{digest}"

    def _vpc_config(
        self,
        model: DeepgramModel,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
    ) -> sagemaker.CfnModel.VpcConfigProperty | None:
        if vpc is None:
            return None
        groups = list(security_groups or [])
        if not groups:
            group = ec2.SecurityGroup(
                self,
                "SecurityGroup",
                vpc=vpc,
                description="Deepgram SageMaker model network interfaces",
                # An isolated container makes no calls itself; a container with network
                # access needs the licence server (docs/aws-behaviour.md#self-hosted-licence).
                allow_all_outbound=not model.network_isolation,
            )
            if model.network_isolation:
                # SageMaker still downloads the model and moves async input and output
                # through these interfaces (docs/aws-behaviour.md#network-isolation-vpc).
                # S3's gateway endpoint has no address range CloudFormation can name, so
                # HTTPS goes to any address; the subnets' routes decide where it can land.
                group.add_egress_rule(
                    ec2.Peer.any_ipv4(), ec2.Port.tcp(443),
                    "HTTPS to S3 and VPC endpoints: model artifacts, async input and output",
                )
            groups = [group]
        self.connections = ec2.Connections(security_groups=groups)
        selection = vpc_subnets or ec2.SubnetSelection()
        subnets = vpc.select_subnets(
            availability_zones=selection.availability_zones,
            one_per_az=selection.one_per_az,
            subnet_filters=selection.subnet_filters,
            subnet_group_name=selection.subnet_group_name,
            subnets=selection.subnets,
            subnet_type=selection.subnet_type,
        )
        return sagemaker.CfnModel.VpcConfigProperty(
            security_group_ids=[g.security_group_id for g in groups],
            subnets=subnets.subnet_ids,
        )

    def _vpc_statements(
        self, config: sagemaker.CfnModel.VpcConfigProperty
    ) -> list[iam.PolicyStatement]:
        """What SageMaker needs to attach the model's interfaces to your subnets
        (docs/aws-behaviour.md#vpc-permissions)."""
        stack = Stack.of(self)

        def ec2_arn(resource: str, name: str) -> str:
            return stack.format_arn(service="ec2", resource=resource, resource_name=name)

        interfaces = ec2_arn("network-interface", "*")
        acknowledge_wildcard(
            self.execution_policy, interfaces,
            "SageMaker creates and deletes the model's network interfaces itself; their ids "
            "do not exist before deployment. Creation is also limited to the chosen subnets "
            "and security groups.",
        )
        return [
            iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterface"],
                resources=[interfaces,
                           *[ec2_arn("subnet", s) for s in config.subnets],
                           *[ec2_arn("security-group", g) for g in config.security_group_ids]],
            ),
            iam.PolicyStatement(
                actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                         "ec2:DeleteNetworkInterfacePermission"],
                resources=[interfaces],
            ),
            # Describe calls have no resource-level permissions.
            iam.PolicyStatement(
                actions=["ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
                         "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
                         "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs"],
                resources=["*"],
            ),
        ]

    def _create_alarm_topic(self) -> sns.Topic:
        """An encrypted, SSL-only topic for the alarms. Its key lets CloudWatch publish:
        alarms cannot publish to topics under the AWS-managed ``aws/sns`` key."""
        key = kms.Key(
            self,
            "AlarmTopicKey",
            enable_key_rotation=True,
            description="Encrypts a Deepgram endpoint's alarm notifications",
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        self._let_cloudwatch_publish(topic)
        return topic

    def _let_cloudwatch_publish(self, topic: sns.ITopic) -> None:
        """Allow CloudWatch alarms of this account and region to publish to ``topic``.

        A topic policy replaces SNS's default policy, and ``enforce_ssl`` creates one that
        only denies plain HTTP: without this statement every alarm action fails silently
        (docs/aws-behaviour.md#alarm-topic-policy). A topic of this app without a policy
        keeps SNS's default policy, which lets CloudWatch of the owning account publish:
        it is left alone, because a first statement would replace that default (give the
        topic its policy before passing it, and this statement joins it). A topic imported
        by ARN cannot be changed here; its owner must allow CloudWatch.
        """
        if not isinstance(topic, sns.Topic):
            Annotations.of(self).add_info(
                "alarm_topic is imported: make sure its topic policy (if it has one) allows "
                "cloudwatch.amazonaws.com to sns:Publish, or the alarms cannot notify it."
            )
            return
        if topic.node.try_find_child("Policy") is None:
            return
        stack = Stack.of(self)
        topic.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToPublish",
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {"aws:SourceArn": stack.format_arn(
                    service="cloudwatch", resource="alarm", resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME)},
            },
        ))

    # --- hooks for subclasses --------------------------------------------------------

    @property
    def _least_outstanding_routing(self) -> bool:
        return False

    # --- validation ------------------------------------------------------------------

    def _check_common(
        self,
        problems: Problems,
        *,
        model: DeepgramModel,
        pools: Sequence[InstancePool],
        min_capacity: int,
        max_capacity: int,
        initial_instance_count: int | None,
        kms_key: kms.IKey | None,
        provision_timeout: Duration,
        model_data_download_timeout: Duration,
        container_startup_health_check_timeout: Duration,
    ) -> None:
        if not isinstance(model, DeepgramModel):
            problems.add(
                "model must be a DeepgramModel (DeepgramModel.from_model_package or "
                f"DeepgramModel.from_image), got {fmt(model)}"
            )
            model_product = None
        else:
            model_product = model.product
        check_pools(problems, pools, product=model_product, encrypted_volume=kms_key is not None)
        self._check_capacities(problems, min_capacity, max_capacity, initial_instance_count)
        low, high = PROVISION_TIMEOUT_RANGE_S
        problems.duration("provision_timeout", provision_timeout, minimum_s=low, maximum_s=high,
                          why="(the API's range for VariantInstanceProvisionTimeoutInSeconds)")
        low, high = MODEL_DOWNLOAD_TIMEOUT_RANGE_S
        problems.duration("model_data_download_timeout", model_data_download_timeout,
                          minimum_s=low, maximum_s=high)
        low, high = STARTUP_HEALTH_CHECK_TIMEOUT_RANGE_S
        problems.duration("container_startup_health_check_timeout",
                          container_startup_health_check_timeout, minimum_s=low, maximum_s=high)

    def _check_capacities(
        self, problems: Problems, min_capacity: int, max_capacity: int, initial: int | None
    ) -> None:
        floor = self._min_capacity_floor
        why = (
            "for a real-time endpoint (a single-model real-time endpoint cannot scale to "
            "zero; use AsyncDeepgramEndpoint for scale-to-zero)"
            if floor == 1
            else ""
        )
        min_ok = problems.number("min_capacity", min_capacity, minimum=floor, integer=True,
                                 why=why)
        max_ok = problems.number("max_capacity", max_capacity, minimum=1, integer=True)
        if (min_ok and max_ok and not is_token(min_capacity) and not is_token(max_capacity)
                and max_capacity < min_capacity):
            problems.add(
                f"max_capacity must be >= min_capacity ({min_capacity}), got {max_capacity}"
            )
        if initial is not None and problems.number(
            "initial_instance_count", initial, minimum=1, integer=True,
            why="(CreateEndpointConfig needs at least one instance)",
        ) and max_ok and not is_token(initial) and not is_token(max_capacity) \
                and initial > max_capacity:
            problems.add(
                f"initial_instance_count must be <= max_capacity ({max_capacity}), got {initial}"
            )

    # --- execution role --------------------------------------------------------------

    def _execution_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                         "logs:DescribeLogStreams"],
                resources=[self._log_groups_arn],
            ),
            # PutMetricData has no resource-level permission; the condition narrows it to
            # SageMaker's own namespace.
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            ),
            *self.model.execution_statements(self),
        ]

    @property
    def _log_groups_arn(self) -> str:
        return Stack.of(self).format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/Endpoints/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _acknowledge_execution_policy(self) -> None:
        """Acknowledge, on the policy alone, the wildcards that cannot be narrowed."""
        acknowledge_wildcard(
            self.execution_policy,
            self._log_groups_arn,
            "SageMaker names the log group after the endpoint, whose name CloudFormation "
            "generates after this policy must already exist; the pattern is limited to "
            "SageMaker endpoint log groups of this account and region.",
        )
        acknowledge_wildcard(
            self.execution_policy,
            "*",
            "cloudwatch:PutMetricData, ecr:GetAuthorizationToken and ec2:Describe* have no "
            "resource-level permissions, so '*' is their only form; PutMetricData is narrowed "
            "by a cloudwatch:namespace condition to /aws/sagemaker/*.",
        )

    # --- grants ----------------------------------------------------------------------

    def _grant(self, grantee: iam.IGrantable, *actions: str) -> iam.Grant:
        """Grant endpoint actions on this endpoint's ARN only."""
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=list(actions), resource_arns=[self.endpoint_arn]
        )

    # --- scaling levers ----------------------------------------------------------------

    def scale_on_schedule(
        self,
        construct_id: str,
        *,
        schedule: appscaling.Schedule | str,
        min_capacity: int | None = None,
        max_capacity: int | None = None,
        time_zone: TimeZone | None = None,
        start_time: datetime.datetime | None = None,
        end_time: datetime.datetime | None = None,
    ) -> None:
        """Change the capacity bounds at a scheduled time (Application Auto Scaling scheduled
        action), e.g. raise the floor for known busy hours.

        Scheduled actions ignore cooldowns; the bounds stay until another action changes
        them, so pair a raise with a release.

        :param construct_id: Name of the action, unique on this endpoint.
        :param schedule: ``appscaling.Schedule`` or ``"cron(m h dom mon dow year)"``,
            ``"rate(N unit)"``, ``"at(yyyy-mm-ddThh:mm:ss)"``.
        :param min_capacity: New floor. Default: unchanged.
        :param max_capacity: New ceiling. Default: unchanged.
        :param time_zone: Time zone of a cron or at expression. Default: UTC.
        :param start_time: Default: now. :param end_time: Default: never.
        """
        problems = Problems()
        parsed = parse_schedule(problems, "schedule", schedule)
        if min_capacity is None and max_capacity is None:
            problems.add("scale_on_schedule needs min_capacity, max_capacity or both, got neither")
        min_ok = min_capacity is None or problems.number(
            "min_capacity", min_capacity, minimum=self._min_capacity_floor, integer=True,
            why=f"for a {self._kind}")
        max_ok = max_capacity is None or problems.number(
            "max_capacity", max_capacity, minimum=1, integer=True)
        if min_ok and max_ok and min_capacity is not None and not is_token(min_capacity):
            if max_capacity is not None and not is_token(max_capacity):
                if min_capacity > max_capacity:
                    problems.add(f"min_capacity must be <= max_capacity ({max_capacity}) within "
                                 f"one scheduled action, got {min_capacity}")
            elif max_capacity is None and not is_token(self.max_capacity) \
                    and min_capacity > self.max_capacity:
                problems.add(f"min_capacity must be <= the endpoint's max_capacity "
                             f"({self.max_capacity}) unless the action also sets max_capacity, "
                             f"got {min_capacity}")
        if (max_ok and min_capacity is None and max_capacity is not None
                and not is_token(max_capacity) and not is_token(self.min_capacity)
                and max_capacity < self.min_capacity):
            problems.add(f"max_capacity must be >= the endpoint's min_capacity "
                         f"({self.min_capacity}) unless the action also sets min_capacity, "
                         f"got {max_capacity}")
        if self._scheduled_actions >= MAX_SCHEDULED_ACTIONS:
            problems.add(f"scale_on_schedule: a scalable target holds at most "
                         f"{MAX_SCHEDULED_ACTIONS} scheduled actions (Application Auto Scaling's "
                         f"quota), got action number {self._scheduled_actions + 1}")
        problems.raise_if_any()
        assert parsed is not None
        self.scalable_target.scale_on_schedule(
            construct_id, schedule=parsed, min_capacity=min_capacity,
            max_capacity=max_capacity, time_zone=time_zone, start_time=start_time,
            end_time=end_time,
        )
        self._scheduled_actions += 1

    def _create_step_scaling(
        self, options: StepScalingOptions, metric: cloudwatch.IMetric,
        aggregation: appscaling.MetricAggregationType,
    ) -> None:
        steps = check_steps(Problems(), "step_scaling.steps", options.steps)
        self.step_scaling_policy = appscaling.StepScalingPolicy(
            self,
            "StepScaling",
            scaling_target=self.scalable_target,
            metric=metric,
            scaling_steps=[appscaling.ScalingInterval(change=s.change, lower=s.lower,
                                                      upper=s.upper) for s in steps],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=options.cooldown,
            evaluation_periods=options.evaluation_periods,
            datapoints_to_alarm=options.datapoints_to_alarm or options.evaluation_periods,
            metric_aggregation_type=aggregation,
        )

    @staticmethod
    def _check_scaling_options(
        problems: Problems, *, alarms: object, alarm_type: type,
        scale_out_cooldown: object, scale_in_cooldown: object,
    ) -> None:
        """Checks both endpoint types share: cooldowns and the alarm options' type."""
        problems.duration("scale_out_cooldown", scale_out_cooldown, minimum_s=0)
        problems.duration("scale_in_cooldown", scale_in_cooldown, minimum_s=0)
        check = getattr(alarms, "check", None)
        if isinstance(alarms, alarm_type) and check is not None:
            check(problems)
        else:
            problems.add(f"alarms must be an instance of {alarm_type.__name__}, got {fmt(alarms)}")

    @staticmethod
    def _check_step_options(problems: Problems, options: object) -> None:
        if not isinstance(options, StepScalingOptions):
            problems.add(f"step_scaling must be a StepScalingOptions, got {fmt(options)}")
            return
        check_steps(problems, "step_scaling.steps", options.steps)
        problems.duration("step_scaling.cooldown", options.cooldown, minimum_s=0)
        if problems.number("step_scaling.evaluation_periods", options.evaluation_periods,
                           minimum=1, maximum=1440, integer=True,
                           why="(one-minute datapoints; CloudWatch evaluates at most a day)"
                           ) and options.datapoints_to_alarm is not None:
            problems.number("step_scaling.datapoints_to_alarm", options.datapoints_to_alarm,
                            minimum=1, maximum=options.evaluation_periods, integer=True)

    # --- dashboard ---------------------------------------------------------------------

    #: Whether the endpoint's scaling signal is emitted at high resolution (10 s).
    _high_resolution_signal = False

    def add_dashboard(
        self,
        construct_id: str = "Dashboard",
        *,
        dashboard_name: str | None = None,
        period: Duration = metrics.ONE_MINUTE,
    ) -> cloudwatch.Dashboard:
        """A CloudWatch dashboard showing whether the scaling keeps up: the scaling signal
        against its target, instances against min and max (per pool where pools exist),
        latency percentiles, errors, and the endpoint type's own health metrics.

        :param dashboard_name: Default: generated by CloudFormation.
        :param period: Period of every graph; a multiple of 60 s (10 s for a real-time
            endpoint's high-resolution signal). Default: 1 minute.
        """
        problems = Problems()
        check_dashboard_period(problems, period, high_resolution=self._high_resolution_signal)
        problems.raise_if_any()
        dashboard = cloudwatch.Dashboard(self, construct_id, dashboard_name=dashboard_name)
        for row in self._dashboard_rows(period):
            dashboard.add_widgets(*row)
        return dashboard

    def _capacity_widget(self, period: Duration) -> cloudwatch.GraphWidget:
        # Instances report CPUUtilization once a minute: count them over a minute at least.
        if period.to_seconds(integral=False) < 60:
            period = metrics.ONE_MINUTE
        per_pool: list[cloudwatch.IMetric] = []
        if len(self.instance_pools) > 1:
            per_pool = [
                self.metric_instance_count(period=period, instance_type=pool.instance_type)
                for pool in self.instance_pools
            ]
        return graph(
            "Instances",
            [self.metric_instance_count(period=period), *per_pool],
            annotations=[("min_capacity", self.min_capacity), ("max_capacity", self.max_capacity)],
        )

    def _dashboard_rows(self, period: Duration) -> list[list[cloudwatch.IWidget]]:
        raise NotImplementedError

    # --- metrics ---------------------------------------------------------------------

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Average",
        period: Duration = metrics.ONE_MINUTE,
        instance_type: str | None = None,
    ) -> cloudwatch.Metric:
        """Any ``AWS/SageMaker`` metric of this endpoint's variant.

        :param statistic: Default: ``Average``.
        :param period: Default: 1 minute.
        :param instance_type: Narrow to one pool's type (adds the ``InstanceType``
            dimension). Default: the whole variant.
        """
        return metrics.variant_metric(
            metric_name,
            endpoint_name=self.endpoint_name,
            variant_name=self.variant_name,
            statistic=statistic,
            period=period,
            instance_type=instance_type,
        )

    def metric_model_latency(
        self, *, statistic: str = "p99", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``ModelLatency`` in microseconds. Default statistic: ``p99``."""
        return self.metric("ModelLatency", statistic=statistic, period=period)

    def metric_instance_count(
        self, *, period: Duration = metrics.ONE_MINUTE, instance_type: str | None = None
    ) -> cloudwatch.Metric:
        """The variant's running instances: SampleCount of ``CPUUtilization`` (no data while
        the endpoint has no instance).

        :param instance_type: Count one pool's instances (adds the ``InstanceType``
            dimension that SageMaker publishes for instance pools). Default: all.
        """
        return metrics.instance_count_metric(
            endpoint_name=self.endpoint_name, variant_name=self.variant_name, period=period,
            instance_type=instance_type,
        )

    # --- alarms ----------------------------------------------------------------------

    def _add_alarm(
        self,
        name: str,
        options: AlarmOptions | None,
        *,
        metric: cloudwatch.IMetric,
        default_threshold: float,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        description: str,
        treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        if options is None:
            return
        construct_id = "".join(part.capitalize() for part in name.split("_")) + "Alarm"
        self.alarms[name] = create_alarm(
            self,
            construct_id,
            metric=metric,
            options=options,
            default_threshold=default_threshold,
            comparison=comparison,
            description=description,
            topic=self.alarm_topic,
            treat_missing_data=treat_missing_data,
        )
