"""What both endpoint types share: the model, endpoint config and endpoint, and the pieces
they hand out: ``scaling`` (the scalable target and its policies), ``metrics`` (the metric
factory), the execution role, the alarm topic, grants and the dashboard.

Subclasses add their own scaling, alarms and grants; validation happens in the subclasses'
constructors, over :class:`~deepgram_scaling.endpoint_rules.SharedProps`, before this
constructor runs.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any, ClassVar

from aws_cdk import Annotations, CfnDeletionPolicy, Names, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from ._compat import path_below_stack
from ._validation import is_token, seconds_of
from .access import AsyncAccess, EndpointAccess
from .alarm_topic import AlarmTopic, allow_cloudwatch_to_publish
from .alarms import RollbackSpec, create_rollback_alarms
from .deployment import (
    describe_alarms_statement,
    diluted_canary_warning,
    short_bake_warning,
    traffic_floor_note,
)
from .endpoint_rules import SharedProps
from .execution import execution_policy, vpc_config, vpc_statements
from .instance_pools import InstancePool, variant_instance_properties
from .metrics import EndpointMetrics
from .nag import acknowledge_rules, hipaa_and_nist
from .scaling import AUTOSCALING_SERVICE_LINKED_ROLE, SCALABLE_DIMENSION, EndpointScaling

#: Deepgram's listings use a single variant with this name
#: (docs/aws-behaviour.md#deepgram-marketplace-model).
VARIANT_NAME = "AllTraffic"
#: Required by Deepgram's containers: NVIDIA driver >= 580 / CUDA 13
#: (docs/aws-behaviour.md#inference-ami).
DEFAULT_INFERENCE_AMI_VERSION = "al2023-ami-sagemaker-inference-gpu-4-1"
#: Instances the endpoint config creates the variant with; see the constructor.
DEFAULT_INITIAL_INSTANCE_COUNT = 1
ISOLATED_IMAGE_WARNING_ID = "deepgram-scaling:isolatedImageLicence"
ROLLBACK_ALARM_NAME_WARNING_ID = "deepgram-scaling:rollbackAlarmNameGenerated"
SHORT_BAKE_WARNING_ID = "deepgram-scaling:bakeShorterThanAlarms"
DILUTED_CANARY_WARNING_ID = "deepgram-scaling:canaryBelowRollbackRate"


def _library_version() -> str:
    """This package's installed version, for the endpoint's metadata."""
    try:
        return metadata.version("deepgram-scaling")
    except metadata.PackageNotFoundError:
        return "unknown"


__all__ = [
    "AUTOSCALING_SERVICE_LINKED_ROLE",
    "DEFAULT_INFERENCE_AMI_VERSION",
    "DEFAULT_INITIAL_INSTANCE_COUNT",
    "SCALABLE_DIMENSION",
    "VARIANT_NAME",
    "DeepgramEndpointBase",
]


class DeepgramEndpointBase(EndpointAccess, Construct):
    """Base of :class:`RealtimeDeepgramEndpoint` and :class:`AsyncDeepgramEndpoint`.

    Not meant to be used directly. Attributes every endpoint exposes:

    - ``cfn_model``, ``cfn_endpoint_config``, ``cfn_endpoint``: the L1 resources;
    - ``role``: the execution role; ``execution_policy``: the managed policy attached to it;
    - ``scaling``: the :class:`EndpointScaling` (``scalable_target`` is its target);
    - ``metrics``: the endpoint type's metric factory;
    - ``alarm_topic``; ``alarms``: every alarm created, by name.
    """

    #: Smallest ``min_capacity`` an endpoint type accepts.
    _min_capacity_floor: ClassVar[int] = 1

    def __init__(self, scope: Construct, construct_id: str, *, props: SharedProps,
                 metrics: type[EndpointMetrics]) -> None:
        super().__init__(scope, construct_id)
        #: This construct's path below its stack, for the 0.1 logical ids (see ``_compat``).
        self._legacy_path = path_below_stack(self, parent=scope, construct_id=construct_id)
        model = props.model
        pools = props.instance_pools or ()
        self.model = model
        self.instance_pools: tuple[InstancePool, ...] = pools
        self.min_capacity = props.min_capacity
        self.max_capacity = props.max_capacity
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        #: Where every alarm sends ALARM and OK (created when you pass none).
        self.alarm_topic: sns.ITopic = props.alarm_topic or self._created_alarm_topic()
        if props.alarm_topic is not None:
            allow_cloudwatch_to_publish(self, props.alarm_topic)
        self._warn_about_an_isolated_image()
        model.warn_about_settings(self)

        #: Security groups of the model's network interfaces (None outside a VPC).
        self.connections: ec2.Connections | None = None
        config = None
        if props.vpc is not None:
            config, self.connections = vpc_config(self, model, props.vpc, props.vpc_subnets,
                                                  props.security_groups)
        self.execution_policy = execution_policy(self, model)
        if config is not None:
            self.execution_policy.add_statements(*vpc_statements(self.execution_policy, config))
        role = props.role or iam.Role(self, "ExecutionRole",
                                      assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
                                      description="Execution role of a Deepgram SageMaker model")
        role.add_managed_policy(self.execution_policy)
        self.role: iam.IRole = role

        self.cfn_model = sagemaker.CfnModel(
            self, "Model",
            execution_role_arn=role.role_arn,
            enable_network_isolation=model.network_isolation,
            vpc_config=config,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=model.model_package_arn, image=model.image_uri,
                environment=dict(model.environment) or None),
        )
        if not model.network_isolation:  # docs/aws-behaviour.md#self-hosted-licence
            self.cfn_model.add_metadata("checkov", {"skip": [{"id": "CKV_AWS_370", "comment": (
                "A self-hosted Deepgram image validates its licence over the network.")}]})
        # The role's policy must exist before SageMaker uses the role.
        self.cfn_model.node.add_dependency(self.execution_policy)
        self.cfn_endpoint_config = self._endpoint_config(props, pools)
        self.cfn_endpoint = sagemaker.CfnEndpoint(
            self, "Endpoint",
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name,
            endpoint_name=props.endpoint_name or self._generated_endpoint_name(pools),
            # Keep the autoscaled DesiredInstanceCount when a new endpoint config is applied
            # (docs/aws-behaviour.md#retain-variant-properties).
            retain_all_variant_properties=True,
        )
        # This library's mark, which `deepgram-scaling check` reads as Deepgram evidence;
        # resource metadata changes nothing at deployment (docs/aws-behaviour.md#deepgram-endpoint).
        self.cfn_endpoint.add_metadata("deepgram-scaling", {
            "version": _library_version(),
            "kind": "async" if isinstance(self, AsyncAccess) else "realtime"})
        if props.endpoint_name is not None:
            Annotations.of(self).add_info(
                "endpoint_name is fixed: a change of instance_pools then needs the scalable "
                "target deregistered before the update, which CloudFormation cannot do. Leave "
                "endpoint_name unset to let such a change replace the endpoint instead.")
        #: The endpoint's name (a token: CloudFormation generates it unless you set one).
        self.endpoint_name: str = self.cfn_endpoint.attr_endpoint_name
        #: The endpoint's ARN (``Ref`` of ``AWS::SageMaker::Endpoint``).
        self.endpoint_arn: str = self.cfn_endpoint.ref
        self.variant_name = VARIANT_NAME
        #: The endpoint type's metric factory: names, dimensions and default statistics.
        self.metrics = metrics(endpoint_name=self.endpoint_name, variant_name=VARIANT_NAME)
        #: The scalable target and its policies.
        self.scaling = EndpointScaling(
            self, "Scaling", endpoint_name=self.endpoint_name, variant_name=VARIANT_NAME,
            min_capacity=props.min_capacity, max_capacity=props.max_capacity,
            min_capacity_floor=self._min_capacity_floor, deployment=props.deployment)
        self.scaling.keep_legacy_id(self._legacy_path)
        if props.suspend_scaling:
            self.scaling.suspend()
        self._deployment = props.deployment
        self._rollback_alarms = props.rollback_alarms
        self._note_the_second_fleet(props.max_capacity)

    @property
    def scalable_target(self) -> appscaling.ScalableTarget:
        """The Application Auto Scaling target of the variant (``scaling.scalable_target``)."""
        return self.scaling.scalable_target

    # --- construction ------------------------------------------------------------------

    def _created_alarm_topic(self) -> sns.ITopic:
        topic = AlarmTopic(self, "AlarmTopic")
        topic.keep_legacy_ids(self._legacy_path)
        return topic.topic

    def _warn_about_an_isolated_image(self) -> None:
        if self.model.image_uri is not None and self.model.network_isolation:
            Annotations.of(self).add_warning_v2(
                ISOLATED_IMAGE_WARNING_ID,
                "The model is a self-hosted Deepgram image with network isolation: the "
                "container cannot reach Deepgram's licence server or a License Proxy, so it "
                "cannot validate its licence unless the image carries an offline licence. "
                "Leave network_isolation off (the default for images) and see "
                "DeepgramModel.from_image(license_proxy_url=...).")

    def _endpoint_config(self, props: SharedProps,
                         pools: Sequence[InstancePool]) -> sagemaker.CfnEndpointConfig:
        # A constant, not min_capacity: ProductionVariants is create-only, so a count that
        # followed min_capacity would make a floor change replace the config and rebuild the
        # fleet; registering the scalable target raises the fleet instead
        # (docs/aws-behaviour.md#endpoint-config-replacement, #register-target-range).
        initial = props.initial_instance_count or DEFAULT_INITIAL_INSTANCE_COUNT
        config = sagemaker.CfnEndpointConfig(
            self, "EndpointConfig",
            production_variants=[sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=VARIANT_NAME,
                model_name=self.cfn_model.attr_model_name,
                initial_instance_count=initial,
                inference_ami_version=props.inference_ami_version,
                model_data_download_timeout_in_seconds=seconds_of(
                    props.model_data_download_timeout),
                container_startup_health_check_timeout_in_seconds=seconds_of(
                    props.container_startup_health_check_timeout),
                **variant_instance_properties(
                    pools, seconds_of(props.provision_timeout),
                    least_outstanding_requests=self._least_outstanding_routing),
            )],
            kms_key_id=props.kms_key.key_arn if props.kms_key is not None else None,
        )
        if props.kms_key is None and any(pool.has_local_nvme for pool in pools):
            acknowledge_rules(
                config,
                "CreateEndpointConfig rejects a KmsKeyId for instance types with local NVMe "
                "storage, which every listed type has; their volumes are encrypted by a "
                "hardware module on the instance.",
                *hipaa_and_nist("SageMakerEndpointConfigurationKMSKeyConfigured"))
        return config

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

    @property
    def _least_outstanding_routing(self) -> bool:
        return False

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
        """Change the capacity bounds at a scheduled time, e.g. raise the floor for known
        busy hours; see :meth:`EndpointScaling.scale_on_schedule`. An action that raises the
        highest ceiling gets the second fleet's quota note again, on that ceiling."""
        before = self.scaling.highest_ceiling
        self.scaling.scale_on_schedule(
            construct_id, schedule=schedule, min_capacity=min_capacity,
            max_capacity=max_capacity, time_zone=time_zone, start_time=start_time,
            end_time=end_time)
        after = self.scaling.highest_ceiling
        if before is not None and after is not None and after > before:
            self._note_the_second_fleet(
                after, f"While scheduled action {construct_id!r} holds (max_capacity {after}), ")

    # --- updates -----------------------------------------------------------------------

    def _note_the_second_fleet(self, ceiling: float, when: str = "") -> None:
        """A blue/green update, and the replacement a pool change causes, run a second fleet
        beside the first, up to its ``ceiling``: the highest the fleet may reach, a
        scheduled action's included (docs/aws-behaviour.md#second-fleet-quota)."""
        strategy = self._deployment
        extra = strategy.extra_instances(ceiling) if strategy is not None else ceiling
        if is_token(extra):
            return
        lead = f"{when}an" if when else "An"
        Annotations.of(self).add_info(
            f"{lead} update of the model or endpoint config may run up to {extra:g} "
            "instances beside the fleet (blue/green runs a second fleet; rolling, one "
            f"batch), and a change of instance_pools up to {ceiling:g}: keep that much "
            "instance quota free for every type in the pool list.")

    @property
    def _renders_deployment(self) -> bool:
        """Whether the endpoint carries a ``DeploymentConfig``: a strategy was asked for, and
        the model is not a Marketplace package (guardrails do not apply there)."""
        return self._deployment is not None and not self.model.is_marketplace

    def _literal_alarm_name(self, alarm: cloudwatch.IAlarm) -> str:
        """An alarm's name without a reference where one can be had: an alarm of this app
        with ``alarm_name`` set gives it literally; otherwise the ``Ref`` stays, which is a
        cycle if the alarm's metric names this endpoint."""
        cfn = alarm.node.default_child if isinstance(alarm, cloudwatch.Alarm) else None
        literal = getattr(cfn, "alarm_name", None)
        if isinstance(literal, str) and not is_token(literal):
            return literal
        if isinstance(alarm, cloudwatch.Alarm):
            Annotations.of(self).add_warning_v2(
                ROLLBACK_ALARM_NAME_WARNING_ID,
                f"rollback alarm {alarm.node.path} has a name CloudFormation generates, so the "
                "endpoint depends on it; if its metric names this endpoint, that is a "
                "dependency cycle: give the alarm alarm_name=.")
        return alarm.alarm_name

    def _add_alarms(self, table: Sequence[Any], selected: Any,
                    rollback_table: Sequence[RollbackSpec],
                    rollback_options: Any) -> None:
        """The monitoring alarms (the whole endpoint, both fleets during an update), then,
        under ``deployment=``, the rollback alarms and the deployment config."""
        self._create_alarms(table, selected, topic=self.alarm_topic)
        #: The default rollback alarms created, by name (empty unless ``deployment=`` renders
        #: and ``rollback_alarms`` is not given).
        self.default_rollback_alarms: dict[str, cloudwatch.Alarm] = {}
        if not self._renders_deployment:
            return
        if self._rollback_alarms is not None:
            self._apply_deployment(
                [self._literal_alarm_name(alarm) for alarm in self._rollback_alarms], {},
                foreign=any(not isinstance(alarm, cloudwatch.Alarm)
                            for alarm in self._rollback_alarms))
            return
        # The rollback alarms get fixed names and watch the endpoint by its literal name
        # where it has one, so that the endpoint can depend on them: they then exist before
        # any update they guard (docs/aws-behaviour.md#deployment-guardrails). The new
        # fleet's config name comes from the config, which does not depend on the endpoint.
        prefix = Names.unique_resource_name(self, max_length=200, separator="-")
        given = self.cfn_endpoint.endpoint_name
        named = isinstance(given, str) and not is_token(given)
        literal = given if isinstance(given, str) and named else self.endpoint_name
        metrics_type = type(self.metrics)
        whole = metrics_type(endpoint_name=literal, variant_name=self.variant_name) \
            if named else self.metrics
        new_fleet = metrics_type(
            endpoint_name=literal,
            variant_name=self.variant_name,
            endpoint_config_name=self.cfn_endpoint_config.attr_endpoint_config_name)
        chosen = dict(rollback_options.selected())
        created = create_rollback_alarms(self, rollback_table, chosen, metrics=whole,
                                         new_fleet_metrics=new_fleet, topic=self.alarm_topic,
                                         name_prefix=prefix)
        self.default_rollback_alarms.update(created)
        if named:
            for alarm in created.values():
                self.cfn_endpoint.node.add_dependency(alarm)
        names = [f"{prefix}-{spec.construct_id}" for spec in rollback_table
                 if spec.name in created]
        assert self._deployment is not None
        rates: dict[str, float] = {}
        for spec in rollback_table:
            threshold = chosen[spec.name].threshold if spec.name in created else None
            threshold = spec.defaults.threshold if threshold is None else threshold
            if spec.rate and spec.name in created and threshold is not None:
                rates[spec.name] = threshold
        diluted = diluted_canary_warning(self._deployment, rates)
        if diluted:
            Annotations.of(self).add_warning_v2(DILUTED_CANARY_WARNING_ID, diluted)
        Annotations.of(self).add_info(traffic_floor_note(
            {name: options for name, options in chosen.items() if name in created},
            new_fleet={spec.name for spec in rollback_table if spec.new_fleet},
            first_step_percent=self._deployment.percent))
        self._apply_deployment(names, {k: v for k, v in chosen.items() if k in created})

    def _apply_deployment(self, names: Sequence[str], guarding: Mapping[str, Any], *,
                          foreign: bool = False) -> None:
        """Render the strategy into the endpoint, rolling back on the alarms ``names``
        (docs/aws-behaviour.md#deployment-guardrails), and keep every replaced endpoint
        config and model: after a rollback the endpoint runs on the old config, which names
        the old model (docs/aws-behaviour.md#keep-replaced-configs). Our own alarms are named
        by the literal names they were given: ``alarm.alarm_name`` is a ``Ref``, which would
        make the endpoint depend on an alarm that depends on it. ``foreign``: some alarm is
        not a metric alarm of this app (see :func:`describe_alarms_statement`)."""
        assert self._deployment is not None
        #: The rollback alarms' names, as the endpoint's deployment config lists them.
        self.rollback_alarm_names: list[str] = list(names)
        self.cfn_endpoint.deployment_config = self._deployment.render(self.rollback_alarm_names)
        if self.rollback_alarm_names:
            self.execution_policy.add_statements(describe_alarms_statement(
                self.execution_policy, self.rollback_alarm_names, foreign=foreign))
            for kept in (self.cfn_endpoint_config, self.cfn_model):
                options = kept.cfn_options
                options.update_replace_policy = CfnDeletionPolicy.RETAIN
                # cfn-lint W3011: say what a stack deletion does; it goes with the stack.
                options.deletion_policy = CfnDeletionPolicy.DELETE
        warning = short_bake_warning(self._deployment, guarding)
        if warning:
            Annotations.of(self).add_warning_v2(SHORT_BAKE_WARNING_ID, warning)

