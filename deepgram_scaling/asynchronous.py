"""``AsyncDeepgramEndpoint``: S3-based requests, scale to zero, and wake up from zero.

The backlog metrics carry the ``EndpointName`` dimension only
(docs/aws-behaviour.md#backlog-metrics). AWS's scale-to-zero recipe is target tracking on
``ApproximateBacklogSizePerInstance`` (Average) plus a step policy (+1 instance) driven by an
alarm on ``HasBacklogWithoutCapacity`` (docs/aws-behaviour.md#wake-up-from-zero). Without the
step policy, an endpoint at zero instances only wakes once the backlog exceeds the target.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from ._compat import stack_env, stack_of
from ._validation import Problems, construct_path, is_token
from .access import AsyncAccess, ImportedAsyncEndpoint
from .alarms import (
    ASYNC_ALARMS,
    ASYNC_ROLLBACK_ALARMS,
    AlarmOptions,
    AsyncAlarmOptions,
    AsyncRollbackAlarmOptions,
)
from .deployment import DeploymentStrategy
from .endpoint_base import DEFAULT_INFERENCE_AMI_VERSION, VARIANT_NAME, DeepgramEndpointBase
from .endpoint_rules import Rule, check_option_type, shared_props, shared_rules
from .instance_pools import InstancePool
from .metrics import AsyncMetrics
from .model_source import DeepgramModel
from .nag import batched as nag_batched
from .scaling import WAKE_UP_COOLDOWN
from .scaling_options import StepScalingOptions
from .storage import DEFAULT_RESULT_EXPIRATION, AsyncStorage, StoragePrefixes, StorageProps

__all__ = [
    "DEFAULT_RESULT_EXPIRATION",
    "WAKE_UP_COOLDOWN",
    "AlarmOptions",
    "AsyncAlarmOptions",
    "AsyncDeepgramEndpoint",
    "AsyncRollbackAlarmOptions",
]

#: AWS's asynchronous autoscaling example tracks a backlog of 5 requests per instance
#: (docs/aws-behaviour.md#async-target-tracking).
DEFAULT_TARGET_BACKLOG_PER_INSTANCE = 5
#: Deepgram's async guide uses 32 (docs/aws-behaviour.md#async-concurrency).
DEFAULT_MAX_CONCURRENT_INVOCATIONS = 32
MAX_CONCURRENT_INVOCATIONS_RANGE = (1, 1000)
MARKETPLACE_WARNING_ID = "deepgram-scaling:asyncMarketplacePackage"
MIXED_ASYNC_WARNING_ID = "deepgram-scaling:asyncPoolCapacityUnused"


class AsyncDeepgramEndpoint(AsyncAccess, DeepgramEndpointBase):
    """A SageMaker asynchronous endpoint serving a Deepgram model.

    Requests arrive through ``InvokeEndpointAsync`` with an S3 pointer to the audio; results
    land in S3 and are announced on SNS. Scales on ``ApproximateBacklogSizePerInstance``
    down to zero instances, and wakes from zero through ``HasBacklogWithoutCapacity``.

    :param model: The model. Deepgram currently documents asynchronous endpoints as not
        supported for Marketplace packages: the construct still synthesizes, with a warning.
    :param instance_pools: Instance types in fallback order (1-5).
    :param max_capacity: Most instances.
    :param target_backlog_per_instance: Queued requests per instance that target tracking
        holds. Default: 5 (AWS's example).
    :param min_capacity: Fewest instances. Default: 0 (scale to zero when idle).
    :param initial_instance_count: Instances created with the endpoint (CreateEndpointConfig
        needs at least one; scaling then takes an idle endpoint to ``min_capacity``). A change
        replaces the endpoint config, so it does not follow ``min_capacity``. Default: 1.
    :param max_concurrent_invocations_per_instance: Requests one instance processes at once
        (1-1000). Default: 32 (Deepgram's value).
    :param storage: A whole :class:`AsyncStorage` to use. Default: one made from the storage
        props below.
    :param bucket: Bucket for inputs, results and failures. An imported bucket needs
        ``encryption_key`` as well, since its own key cannot be seen. Default: a new bucket,
        encrypted with ``encryption_key``, SSL enforced, public access blocked,
        access-logged, results expiring after ``result_expiration``.
    :param encryption_key: Key for the created bucket, the created topics and the results
        SageMaker writes. Default: a new key with rotation on.
    :param result_expiration: Age at which results and failures are deleted (whole days,
        >= 1). Only for a created bucket. Default: ``Duration.days(30)``.
    :param access_logs_bucket: Where the created bucket's access logs go. Only for a created
        bucket. Default: a new bucket (SSE-S3, which server access logging requires).
    :param bucket_removal_policy: What happens to the created buckets when the stack is
        deleted. Only for a created bucket. Default: ``RemovalPolicy.RETAIN``.
    :param input_prefix: Where callers upload audio. Default: ``"input/"``.
    :param output_prefix: Where results land. Default: ``"output/"``.
    :param failure_prefix: Where failures land. Default: ``"failure/"``.
    :param success_topic: Notified for each result. The execution role gets ``sns:Publish``
        on it and the use of its ``master_key``. Default: a new encrypted topic.
    :param error_topic: Notified for each failure; as ``success_topic``. Default: a new
        encrypted topic.
    :param scale_out_cooldown: Default: ``Duration.seconds(300)`` (AWS's async example).
    :param scale_in_cooldown: Default: ``Duration.seconds(600)`` (AWS's async example).
    :param alarm_topic: SNS topic notified on every alarm's ALARM and OK. Default: a new
        encrypted topic (see :class:`RealtimeDeepgramEndpoint`).
    :param alarms: Default: :class:`AsyncAlarmOptions`.
    :param step_scaling: Explicit steps on ``ApproximateBacklogSizePerInstance`` (Average,
        1 min) instead of target tracking. When the endpoint can scale to zero, scale-in
        steps must end strictly below a backlog of 1 per instance (a scale-in step's upper
        bound is inclusive), or they would remove the instance the wake-up just added while
        its one request waits. Default: None.

    :param rollback_alarms: As on :class:`RealtimeDeepgramEndpoint`. Default: the default
        rollback alarms (see ``rollback_alarm_options``).
    :param rollback_alarm_options: Shape the default rollback alarm: the 5XX error rate over
        both fleets, judged only on minutes with enough requests. The S3 and SNS failure
        signals stay monitoring alarms: they say nothing about the model
        (docs/aws-behaviour.md#rollback-alarms). Default: :class:`AsyncRollbackAlarmOptions`.
        A canary, linear or rolling ``deployment`` needs ``min_capacity`` >= 2.

    The remaining props (``role``, ``kms_key``, ``provision_timeout``,
    ``inference_ami_version``, ``model_data_download_timeout``,
    ``container_startup_health_check_timeout``, ``endpoint_name``, ``vpc``, ``vpc_subnets``,
    ``security_groups``, ``deployment``, ``suspend_scaling``) mean what they mean on
    :class:`RealtimeDeepgramEndpoint`. Queued work still waiting on an endpoint that a pool
    change replaces is lost when the old endpoint is deleted.
    """

    _min_capacity_floor = 0
    #: The asynchronous metric factory.
    metrics: AsyncMetrics

    # The cdk-nag acknowledgements of the whole endpoint are written in one go (nag.py).
    @nag_batched()
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: DeepgramModel,
        instance_pools: Sequence[InstancePool | str],
        max_capacity: int,
        target_backlog_per_instance: float = DEFAULT_TARGET_BACKLOG_PER_INSTANCE,
        min_capacity: int = 0,
        initial_instance_count: int | None = None,
        max_concurrent_invocations_per_instance: int = DEFAULT_MAX_CONCURRENT_INVOCATIONS,
        storage: AsyncStorage | None = None,
        bucket: s3.IBucket | None = None,
        encryption_key: kms.IKey | None = None,
        result_expiration: Duration | None = None,
        access_logs_bucket: s3.IBucket | None = None,
        bucket_removal_policy: RemovalPolicy | None = None,
        input_prefix: str = "input/",
        output_prefix: str = "output/",
        failure_prefix: str = "failure/",
        success_topic: sns.ITopic | None = None,
        error_topic: sns.ITopic | None = None,
        scale_out_cooldown: Duration = Duration.seconds(300),
        scale_in_cooldown: Duration = Duration.seconds(600),
        role: iam.IRole | None = None,
        kms_key: kms.IKey | None = None,
        provision_timeout: Duration = Duration.seconds(300),
        inference_ami_version: str = DEFAULT_INFERENCE_AMI_VERSION,
        model_data_download_timeout: Duration = Duration.seconds(600),
        container_startup_health_check_timeout: Duration = Duration.seconds(600),
        endpoint_name: str | None = None,
        alarm_topic: sns.ITopic | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        deployment: DeploymentStrategy | None = None,
        rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
        rollback_alarm_options: AsyncRollbackAlarmOptions | None = None,
        suspend_scaling: bool = False,
        alarms: AsyncAlarmOptions | None = None,
        step_scaling: StepScalingOptions | None = None,
    ) -> None:
        alarms = alarms if alarms is not None else AsyncAlarmOptions()
        problems = Problems(lambda: construct_path(scope, construct_id))
        props = shared_props(locals(), problems)  # the arguments above, by name
        stored = StorageProps(
            bucket=bucket, encryption_key=encryption_key, result_expiration=result_expiration,
            access_logs_bucket=access_logs_bucket, removal_policy=bucket_removal_policy,
            success_topic=success_topic, error_topic=error_topic,
            prefixes=StoragePrefixes(input=input_prefix, output=output_prefix,
                                     failure=failure_prefix))
        problems.run(
            *shared_rules(props, min_capacity_floor=self._min_capacity_floor,
                          stack_region=stack_env(stack_of(scope)).region),
            *_async_rules(alarms=alarms, step_scaling=step_scaling, min_capacity=min_capacity,
                          target=target_backlog_per_instance,
                          invocations=max_concurrent_invocations_per_instance),
            lambda p: stored.check(p, storage_given=storage is not None),
            lambda p: check_option_type(p, "rollback_alarm_options", rollback_alarm_options,
                                        AsyncRollbackAlarmOptions))
        super().__init__(scope, construct_id, props=props, metrics=AsyncMetrics)
        self.target_backlog_per_instance = target_backlog_per_instance
        self._warn(model)
        if storage is None:
            storage = AsyncStorage.from_props(self, "Storage", stored)
            storage.keep_legacy_ids(self._legacy_path)
        #: Bucket, key, topics and the statements on them.
        self.storage = storage
        self.cfn_endpoint_config.async_inference_config = self._async_config(
            max_concurrent_invocations_per_instance)
        self.execution_policy.add_statements(*storage.execution_statements())
        storage.acknowledge_prefix_wildcards(self.execution_policy)
        self._apply_scaling(step_scaling, target_backlog_per_instance, scale_out_cooldown,
                            scale_in_cooldown, wake_up=is_token(min_capacity) or min_capacity == 0)
        self._add_alarms(ASYNC_ALARMS, alarms, ASYNC_ROLLBACK_ALARMS,
                         rollback_alarm_options or AsyncRollbackAlarmOptions())

    def _apply_scaling(self, step_scaling: StepScalingOptions | None, target: float,
                       scale_out_cooldown: Duration, scale_in_cooldown: Duration, *,
                       wake_up: bool) -> None:
        """Backlog target tracking (or explicit steps), and the wake-up from zero."""
        backlog = self.metrics.backlog_size_per_instance()
        #: Target tracking on the backlog per instance (None in step-scaling mode).
        self.scaling_policy: appscaling.TargetTrackingScalingPolicy | None = None
        #: The step policy when step scaling was chosen.
        self.step_scaling_policy: appscaling.StepScalingPolicy | None = None
        if step_scaling is not None:
            self.step_scaling_policy = self.scaling.scale_on_steps(
                "StepScaling", options=step_scaling, metric=backlog,
                aggregation=appscaling.MetricAggregationType.AVERAGE)
        else:
            self.scaling_policy = self.scaling.scale_on_backlog(
                "BacklogScaling", metric=backlog, target=target,
                scale_out_cooldown=scale_out_cooldown, scale_in_cooldown=scale_in_cooldown)
        self.wake_up_policy: appscaling.StepScalingAction | None = None
        self.wake_up_alarm: cloudwatch.Alarm | None = None
        if wake_up:
            self.wake_up_policy, self.wake_up_alarm = self.scaling.add_wake_up_from_zero(
                metric=self.metrics.has_backlog_without_capacity())

    # --- 0.1's storage attributes --------------------------------------------------------

    @property
    def bucket(self) -> s3.IBucket:
        """Bucket holding inputs (``input_prefix``), results and failures."""
        return self.storage.bucket

    @property
    def encryption_key(self) -> kms.IKey:
        """The key protecting inputs, results and notifications."""
        return self.storage.encryption_key

    @property
    def access_logs_bucket(self) -> s3.IBucket | None:
        return self.storage.access_logs_bucket

    @property
    def success_topic(self) -> sns.ITopic:
        return self.storage.success_topic

    @property
    def error_topic(self) -> sns.ITopic:
        return self.storage.error_topic

    @property
    def input_prefix(self) -> str:
        return self.storage.prefixes.input

    @property
    def output_prefix(self) -> str:
        return self.storage.prefixes.output

    @property
    def failure_prefix(self) -> str:
        return self.storage.prefixes.failure

    # --- construction ------------------------------------------------------------------

    def _warn(self, model: DeepgramModel) -> None:
        if model.is_marketplace:
            Annotations.of(self).add_warning_v2(
                MARKETPLACE_WARNING_ID,
                "Deepgram's current documentation says asynchronous endpoints are temporarily "
                "not supported for Marketplace-hosted Deepgram model packages; deploy a "
                "self-hosted image (DeepgramModel.from_image) or check with Deepgram first.")
        if any(p.max_concurrency is not None or p.weight is not None
               for p in self.instance_pools):
            Annotations.of(self).add_warning_v2(
                MIXED_ASYNC_WARNING_ID,
                "max_concurrency and weight on the pools of an asynchronous endpoint are not "
                "used: ApproximateBacklogSizePerInstance carries only the EndpointName "
                "dimension, so no per-type backlog exists to weigh. Size "
                "max_concurrent_invocations_per_instance and target_backlog_per_instance for "
                "the smallest instance type in the list.")

    def _async_config(self, invocations: int
                      ) -> sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty:
        storage = self.storage
        cfn = sagemaker.CfnEndpointConfig
        return cfn.AsyncInferenceConfigProperty(
            client_config=cfn.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=invocations),
            output_config=cfn.AsyncInferenceOutputConfigProperty(
                s3_output_path=storage.bucket.s3_url_for_object(storage.prefixes.output),
                s3_failure_path=storage.bucket.s3_url_for_object(storage.prefixes.failure),
                kms_key_id=storage.encryption_key.key_arn,
                notification_config=cfn.AsyncInferenceNotificationConfigProperty(
                    success_topic=storage.success_topic.topic_arn,
                    error_topic=storage.error_topic.topic_arn)))

    @staticmethod
    def from_endpoint_name(scope: Construct, construct_id: str, endpoint_name: str, *,
                           variant_name: str = VARIANT_NAME, max_capacity: float | None = None,
                           alarm_topic: sns.ITopic | None = None) -> ImportedAsyncEndpoint:
        """An asynchronous endpoint another stack or team owns, to grant and watch; see
        :meth:`RealtimeDeepgramEndpoint.from_endpoint_name`. ``grant_invoke_async`` grants
        the endpoint only: its bucket is not known here."""
        return ImportedAsyncEndpoint(scope, construct_id, endpoint_name=endpoint_name,
                                     variant_name=variant_name, max_capacity=max_capacity,
                                     alarm_topic=alarm_topic)

    # --- grants ------------------------------------------------------------------------

    def grant_invoke_async(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow ``sagemaker:InvokeEndpointAsync`` on this endpoint, uploads to the input
        prefix and reads of the output and failure prefixes (with the key), nothing more.

        Consumers of ``success_topic`` and ``error_topic`` also receive SageMaker's test
        notifications, sent after the endpoint is created or updated and after capacity
        changes (docs/aws-behaviour.md#async-test-notification). Their body is
        ``{"eventVersion": "1.0", "eventSource": "aws:sagemaker", "eventName":
        "TestNotification"}``: skip messages whose ``eventName`` is ``TestNotification``, or
        subscribe with a payload filter such as
        ``{"eventName": [{"anything-but": "TestNotification"}]}``
        (``filter_policy_scope: MessageBody``)."""
        grant = self._grant(grantee, "sagemaker:InvokeEndpointAsync")
        self.storage.grant_caller(grantee)
        return grant



def _async_rules(*, alarms: object, step_scaling: object, min_capacity: object, target: object,
                 invocations: object) -> list[Rule]:
    """The rules only an asynchronous endpoint has."""

    def scale_in_cannot_undo_the_wake_up(problems: Problems) -> None:
        if not isinstance(step_scaling, StepScalingOptions) or not (
                is_token(min_capacity) or min_capacity == 0):
            return
        for step in step_scaling.ordered_steps:
            # A scale-in step's upper bound is inclusive (docs/aws-behaviour.md#step-bounds):
            # upper=1 removes the one instance working on the request that woke the endpoint.
            if step.change < 0 and (step.upper is None or step.upper >= 1):
                problems.add(
                    "step_scaling.steps: on an endpoint that scales to zero, a scale-in step "
                    "must end below a backlog of 1 per instance (its upper bound is "
                    "inclusive: at exactly 1 it would remove the instance serving the request "
                    "that woke the endpoint), got a step with "
                    f"lower={step.lower}, upper={step.upper}, change={step.change}")

    low, high = MAX_CONCURRENT_INVOCATIONS_RANGE
    return [
        lambda p: p.number("target_backlog_per_instance", target, minimum=0,
                           exclusive_minimum=True),
        lambda p: p.number("max_concurrent_invocations_per_instance", invocations,
                           minimum=low, maximum=high, integer=True),
        lambda p: check_option_type(p, "alarms", alarms, AsyncAlarmOptions, optional=False),
        lambda p: check_option_type(p, "step_scaling", step_scaling, StepScalingOptions),
        scale_in_cannot_undo_the_wake_up,
    ]
