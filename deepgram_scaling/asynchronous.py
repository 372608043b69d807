"""``AsyncDeepgramEndpoint``: S3-based requests, scale to zero, and wake up from zero.

The backlog metrics carry the ``EndpointName`` dimension only
(docs/aws-behaviour.md#backlog-metrics). AWS's scale-to-zero recipe is target tracking on
``ApproximateBacklogSizePerInstance`` (Average) plus a step policy (+1 instance) driven by an
alarm on ``HasBacklogWithoutCapacity`` (docs/aws-behaviour.md#wake-up-from-zero). Without the
step policy, an endpoint at zero instances only wakes once the backlog exceeds the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from . import metrics
from ._validation import Problems, fmt, is_token
from .alarms import AlarmOptions
from .dashboard import graph
from .endpoint_base import DEFAULT_INFERENCE_AMI_VERSION, DeepgramEndpointBase
from .instance_pools import InstancePool
from .model_source import DeepgramModel
from .nag import acknowledge_rules, acknowledge_wildcard, hipaa_and_nist
from .scaling import StepScalingOptions, check_steps

#: AWS's asynchronous autoscaling example tracks a backlog of 5 requests per instance
#: (docs/aws-behaviour.md#async-target-tracking).
DEFAULT_TARGET_BACKLOG_PER_INSTANCE = 5
#: SageMaker's own default of 4 is low for Deepgram; Deepgram uses 32
#: (docs/aws-behaviour.md#async-concurrency).
DEFAULT_MAX_CONCURRENT_INVOCATIONS = 32
MAX_CONCURRENT_INVOCATIONS_RANGE = (1, 1000)
DEFAULT_RESULT_EXPIRATION = Duration.days(30)
#: The wake-up step policy's cooldown in AWS's scale-from-zero recipe.
WAKE_UP_COOLDOWN = Duration.seconds(300)
MARKETPLACE_WARNING_ID = "deepgram-scaling:asyncMarketplacePackage"
MIXED_ASYNC_WARNING_ID = "deepgram-scaling:asyncPoolCapacityUnused"


@dataclass(frozen=True, kw_only=True)
class AsyncAlarmOptions:
    """The alarms of an asynchronous endpoint. Set one to ``None`` to switch it off.

    :param oldest_request_age: ``ApproximateAgeOfOldestRequest`` (Maximum, seconds).
        Default: >= 900 s for 3 of 3 minutes.
    :param backlog_without_capacity: ``HasBacklogWithoutCapacity`` (Average) stays 1: work
        waits and no instance serves it, so the wake-up is failing. Default: >= 1 for 15 of
        15 minutes (the wake-up takes 2 minutes of alarm plus instance provisioning).
    :param invocation_failures: ``InvocationFailures`` (Sum). Default: >= 1 in 3 of 5
        minutes.
    :param capacity_at_max: Instance count (``CPUUtilization`` SampleCount) >=
        ``max_capacity``. Default: for 15 of 15 minutes.
    :param request_download_failures: ``RequestDownloadFailures`` (Sum): SageMaker could not
        read a request's input from S3 (missing object, S3 or KMS permission, VPC route).
        Default: >= 1 in 1 of 1 minute.
    :param response_upload_failures: ``ResponseUploadFailures`` (Sum): SageMaker could not
        write a result to S3 (permission or key). Default: >= 1 in 1 of 1 minute.
    :param notification_failures: ``NotificationFailures`` (Sum): SageMaker could not publish
        to the success or error topic (permission, topic key). Default: >= 1 in 1 of 1
        minute.

    The last three reveal IAM, KMS and SNS mistakes that no request error shows
    (docs/aws-behaviour.md#async-failure-metrics).
    """

    oldest_request_age: AlarmOptions | None = AlarmOptions(threshold=900, evaluation_periods=3)
    backlog_without_capacity: AlarmOptions | None = AlarmOptions(
        threshold=1, evaluation_periods=15
    )
    invocation_failures: AlarmOptions | None = AlarmOptions(
        threshold=1, evaluation_periods=5, datapoints_to_alarm=3
    )
    capacity_at_max: AlarmOptions | None = AlarmOptions(evaluation_periods=15)
    request_download_failures: AlarmOptions | None = AlarmOptions(
        threshold=1, evaluation_periods=1)
    response_upload_failures: AlarmOptions | None = AlarmOptions(
        threshold=1, evaluation_periods=1)
    notification_failures: AlarmOptions | None = AlarmOptions(
        threshold=1, evaluation_periods=1)

    def check(self, problems: Problems) -> None:
        for name in ("oldest_request_age", "backlog_without_capacity", "invocation_failures",
                     "capacity_at_max", "request_download_failures",
                     "response_upload_failures", "notification_failures"):
            options = getattr(self, name)
            if options is not None:
                options.check(problems, f"alarms.{name}")


def _check_prefix(problems: Problems, prop: str, prefix: str) -> None:
    if not isinstance(prefix, str) or not prefix.endswith("/") or prefix.startswith("/") \
            or "//" in prefix or prefix == "/":
        problems.add(
            f"{prop} must be a key prefix ending in '/' without a leading '/', "
            f"e.g. 'output/', got {fmt(prefix)}"
        )


class AsyncDeepgramEndpoint(DeepgramEndpointBase):
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
        (1-1000). Default: 32 (Deepgram's value; SageMaker's own default is 4).
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

    The remaining props (``role``, ``kms_key``, ``provision_timeout``,
    ``inference_ami_version``, ``model_data_download_timeout``,
    ``container_startup_health_check_timeout``, ``endpoint_name``, ``vpc``, ``vpc_subnets``,
    ``security_groups``) mean what they mean on :class:`RealtimeDeepgramEndpoint`.
    """

    _min_capacity_floor = 0
    _kind = "asynchronous endpoint"

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
        alarms: AsyncAlarmOptions | None = None,
        step_scaling: StepScalingOptions | None = None,
    ) -> None:
        alarms = alarms if alarms is not None else AsyncAlarmOptions()
        problems = Problems()
        if step_scaling is not None:
            self._check_step_options(problems, step_scaling)
            if isinstance(step_scaling, StepScalingOptions) and (
                is_token(min_capacity) or min_capacity == 0
            ):
                for step in check_steps(Problems(), "step_scaling.steps", step_scaling.steps):
                    # A scale-in step's upper bound is inclusive
                    # (docs/aws-behaviour.md#step-bounds): upper=1 removes the one instance
                    # that works on the one request the wake-up added it for.
                    if step.change < 0 and (step.upper is None or step.upper >= 1):
                        problems.add(
                            "step_scaling.steps: on an endpoint that scales to zero, a scale-in "
                            "step must end below a backlog of 1 per instance (its upper bound "
                            "is inclusive: at exactly 1 it would remove the instance serving "
                            "the request that woke the endpoint), got a step with "
                            f"lower={step.lower}, upper={step.upper}, change={step.change}"
                        )
        problems.number("target_backlog_per_instance", target_backlog_per_instance, minimum=0,
                        exclusive_minimum=True)
        low, high = MAX_CONCURRENT_INVOCATIONS_RANGE
        problems.number("max_concurrent_invocations_per_instance",
                        max_concurrent_invocations_per_instance, minimum=low, maximum=high,
                        integer=True)
        self._check_scaling_options(problems, alarms=alarms, alarm_type=AsyncAlarmOptions,
                                    scale_out_cooldown=scale_out_cooldown,
                                    scale_in_cooldown=scale_in_cooldown)
        if bucket is not None:
            if encryption_key is None and getattr(bucket, "encryption_key", None) is None \
                    and not isinstance(bucket, s3.Bucket):
                problems.add(
                    "bucket is imported, so the construct cannot see the key that encrypts "
                    "it, and SageMaker would fail to read inputs or write results under an "
                    "unseen KMS key; pass encryption_key= (the bucket's key, or for an SSE-S3 "
                    "bucket a key for the results), or import the bucket with "
                    "s3.Bucket.from_bucket_attributes(..., encryption_key=...), got "
                    f"bucket={fmt(bucket)} with no key"
                )
            for prop, value in (("result_expiration", result_expiration),
                                ("access_logs_bucket", access_logs_bucket),
                                ("bucket_removal_policy", bucket_removal_policy)):
                if value is not None:
                    problems.add(
                        f"{prop} only applies to a bucket the construct creates; configure "
                        f"the bucket you passed yourself, or drop bucket, got {prop}={fmt(value)}"
                    )
        elif result_expiration is not None and problems.duration(
            "result_expiration", result_expiration, minimum_s=86_400,
            why="(at least 1 day: S3 lifecycle rules count whole days)",
        ):
            days = result_expiration.to_seconds(integral=False)
            if not is_token(days) and days % 86_400:
                problems.add(f"result_expiration must be whole days, got {fmt(result_expiration)}")
        prefixes = {"input_prefix": input_prefix, "output_prefix": output_prefix,
                    "failure_prefix": failure_prefix}
        for prop, prefix in prefixes.items():
            _check_prefix(problems, prop, prefix)
        if len(set(prefixes.values())) < 3:
            problems.add(f"input_prefix, output_prefix and failure_prefix must differ, got "
                         f"{list(prefixes.values())}")

        super().__init__(
            scope,
            construct_id,
            model=model,
            instance_pools=instance_pools,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            initial_instance_count=initial_instance_count,
            role=role,
            kms_key=kms_key,
            provision_timeout=provision_timeout,
            inference_ami_version=inference_ami_version,
            model_data_download_timeout=model_data_download_timeout,
            container_startup_health_check_timeout=container_startup_health_check_timeout,
            endpoint_name=endpoint_name,
            alarm_topic=alarm_topic,
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            security_groups=security_groups,
            problems=problems,
        )
        self.target_backlog_per_instance = target_backlog_per_instance
        self.input_prefix = input_prefix
        self.output_prefix = output_prefix
        self.failure_prefix = failure_prefix

        if model.is_marketplace:
            Annotations.of(self).add_warning_v2(
                MARKETPLACE_WARNING_ID,
                "Deepgram's current documentation says asynchronous endpoints are temporarily "
                "not supported for Marketplace-hosted Deepgram model packages; deploy a "
                "self-hosted image (DeepgramModel.from_image) or check with Deepgram first.",
            )

        if any(p.max_concurrency is not None or p.weight is not None
               for p in self.instance_pools):
            Annotations.of(self).add_warning_v2(
                MIXED_ASYNC_WARNING_ID,
                "max_concurrency and weight on the pools of an asynchronous endpoint are not "
                "used: ApproximateBacklogSizePerInstance carries only the EndpointName "
                "dimension, so no per-type backlog exists to weigh. Size "
                "max_concurrent_invocations_per_instance and target_backlog_per_instance for "
                "the smallest instance type in the list.",
            )

        self._create_storage(
            bucket=bucket,
            encryption_key=encryption_key,
            result_expiration=result_expiration or DEFAULT_RESULT_EXPIRATION,
            access_logs_bucket=access_logs_bucket,
            removal_policy=bucket_removal_policy or RemovalPolicy.RETAIN,
            success_topic=success_topic,
            error_topic=error_topic,
        )
        self.cfn_endpoint_config.async_inference_config = (
            sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
                client_config=sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                    max_concurrent_invocations_per_instance=max_concurrent_invocations_per_instance
                ),
                output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                    s3_output_path=self.bucket.s3_url_for_object(output_prefix),
                    s3_failure_path=self.bucket.s3_url_for_object(failure_prefix),
                    kms_key_id=self.encryption_key.key_arn if self.encryption_key else None,
                    notification_config=(
                        sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                            success_topic=self.success_topic.topic_arn,
                            error_topic=self.error_topic.topic_arn,
                        )
                    ),
                ),
            )
        )
        self.execution_policy.add_statements(*self._storage_statements())
        for prefix, use in ((input_prefix, "reads the audio callers upload"),
                            (output_prefix, "writes results"),
                            (failure_prefix, "writes failures")):
            (objects,) = self._object_arns(prefix)
            acknowledge_wildcard(
                self.execution_policy, objects,
                f"SageMaker {use} under the prefix {prefix!r}; each request has its own object "
                "key, so the prefix is the narrowest form.",
            )

        #: Target tracking on the backlog per instance: EndpointName is its ONLY dimension
        #: (None in step-scaling mode).
        self.scaling_policy: appscaling.TargetTrackingScalingPolicy | None = None
        if step_scaling is not None:
            self._create_step_scaling(step_scaling, self.metric_backlog_size_per_instance(),
                                      appscaling.MetricAggregationType.AVERAGE)
        else:
            self.scaling_policy = appscaling.TargetTrackingScalingPolicy(
                self,
                "BacklogScaling",
                scaling_target=self.scalable_target,
                target_value=target_backlog_per_instance,
                custom_metric=self.metric_backlog_size_per_instance(),
                scale_out_cooldown=scale_out_cooldown,
                scale_in_cooldown=scale_in_cooldown,
            )
        self.wake_up_policy: appscaling.StepScalingAction | None = None
        self.wake_up_alarm: cloudwatch.Alarm | None = None
        if is_token(min_capacity) or min_capacity == 0:
            self._create_wake_up()
        self._create_alarms(alarms)

    # --- storage ---------------------------------------------------------------------

    def _create_storage(
        self,
        *,
        bucket: s3.IBucket | None,
        encryption_key: kms.IKey | None,
        result_expiration: Duration,
        access_logs_bucket: s3.IBucket | None,
        removal_policy: RemovalPolicy,
        success_topic: sns.ITopic | None,
        error_topic: sns.ITopic | None,
    ) -> None:
        if encryption_key is None:
            encryption_key = kms.Key(
                self,
                "Key",
                enable_key_rotation=True,
                description="Encrypts a Deepgram asynchronous endpoint's audio, results and "
                            "notifications",
                removal_policy=removal_policy,
            )
        #: The key protecting inputs, results and notifications.
        self.encryption_key: kms.IKey | None = encryption_key
        self.access_logs_bucket: s3.IBucket | None = None
        if bucket is None:
            if access_logs_bucket is None:
                logs = s3.Bucket(
                    self,
                    "AccessLogsBucket",
                    # Server access logging only delivers to SSE-S3 buckets, not SSE-KMS.
                    encryption=s3.BucketEncryption.S3_MANAGED,
                    enforce_ssl=True,
                    block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                    versioned=True,
                    removal_policy=removal_policy,
                    lifecycle_rules=[s3.LifecycleRule(
                        id="ExpireLogs", expiration=Duration.days(365),
                        noncurrent_version_expiration=Duration.days(30))],
                )
                acknowledge_rules(
                    logs,
                    "This bucket receives the results bucket's server access logs; logging it "
                    "too would only log the log deliveries.",
                    "AwsSolutions-S1", *hipaa_and_nist("S3BucketLoggingEnabled"),
                )
                acknowledge_rules(
                    logs,
                    "S3 server access logging delivers only to buckets encrypted with SSE-S3; "
                    "SSE-KMS is not supported on a log target bucket.",
                    *hipaa_and_nist("S3DefaultEncryptionKMS"),
                )
                acknowledge_rules(
                    logs,
                    "Cross-region replication needs a destination bucket in another region that "
                    "only the deploying account can choose; pass your own access_logs_bucket "
                    "with replication to satisfy this control.",
                    *hipaa_and_nist("S3BucketReplicationEnabled"),
                )
                access_logs_bucket = logs
            self.access_logs_bucket = access_logs_bucket
            bucket = s3.Bucket(
                self,
                "Bucket",
                encryption=s3.BucketEncryption.KMS,
                encryption_key=encryption_key,
                bucket_key_enabled=True,
                enforce_ssl=True,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                versioned=True,
                server_access_logs_bucket=access_logs_bucket,
                server_access_logs_prefix="deepgram-async/",
                removal_policy=removal_policy,
                lifecycle_rules=[
                    s3.LifecycleRule(id="ExpireResults", prefix=self.output_prefix,
                                     expiration=result_expiration),
                    s3.LifecycleRule(id="ExpireFailures", prefix=self.failure_prefix,
                                     expiration=result_expiration),
                    # Versioning keeps overwritten and expired objects as noncurrent
                    # versions: bound them too.
                    s3.LifecycleRule(id="ExpireNoncurrentVersions",
                                     noncurrent_version_expiration=result_expiration,
                                     abort_incomplete_multipart_upload_after=Duration.days(1)),
                    s3.LifecycleRule(id="RemoveExpiredDeleteMarkers",
                                     expired_object_delete_marker=True),
                ],
            )
            acknowledge_rules(
                bucket,
                "Cross-region replication needs a destination bucket in another region that "
                "only the deploying account can choose; results are derived from the inputs "
                "and can be recomputed. Pass your own bucket with replication to satisfy this "
                "control.",
                *hipaa_and_nist("S3BucketReplicationEnabled"),
            )
        #: Bucket holding inputs (``input_prefix``), results and failures.
        self.bucket: s3.IBucket = bucket
        self.success_topic: sns.ITopic = success_topic or self._topic("SuccessTopic")
        self.error_topic: sns.ITopic = error_topic or self._topic("ErrorTopic")

    def _topic(self, construct_id: str) -> sns.Topic:
        return sns.Topic(self, construct_id, master_key=self.encryption_key, enforce_ssl=True)

    def _object_arns(self, *prefixes: str) -> list[str]:
        return [self.bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes]

    def _key_statements(self, *actions: str, topics: bool = False) -> list[iam.PolicyStatement]:
        """Use of the keys of the bucket and the results, and with ``topics`` of the keys
        that encrypt the success and error topics: publishing to an encrypted topic needs
        its key (docs/aws-behaviour.md#async-sns-publish)."""
        holders: list[kms.IKey | None] = [self.encryption_key, self.bucket.encryption_key]
        if topics:
            holders += [self.success_topic.master_key, self.error_topic.master_key]
        keys: list[str] = []
        for key in holders:
            if key is not None and key.key_arn not in keys:
                keys.append(key.key_arn)
        if not keys:
            return []
        return [iam.PolicyStatement(actions=list(actions), resources=keys)]

    def _storage_statements(self) -> list[iam.PolicyStatement]:
        """What SageMaker needs to read inputs, write results and announce them."""
        return [
            iam.PolicyStatement(actions=["s3:GetObject"],
                                resources=self._object_arns(self.input_prefix)),
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=self._object_arns(self.output_prefix, self.failure_prefix),
            ),
            # SageMaker publishes with the execution role; same-account topics need no topic
            # policy statement for it (docs/aws-behaviour.md#async-sns-publish).
            iam.PolicyStatement(actions=["sns:Publish"],
                                resources=[self.success_topic.topic_arn,
                                           self.error_topic.topic_arn]),
            *self._key_statements("kms:Decrypt", "kms:GenerateDataKey", topics=True),
        ]

    # --- scale from zero ---------------------------------------------------------------

    def _create_wake_up(self) -> None:
        """AWS's scale-from-zero recipe: +1 instance while work waits without capacity."""
        self.wake_up_policy = appscaling.StepScalingAction(
            self,
            "WakeUpFromZero",
            scaling_target=self.scalable_target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.AVERAGE,
            cooldown=WAKE_UP_COOLDOWN,
        )
        self.wake_up_policy.add_adjustment(adjustment=1, lower_bound=0)
        self.wake_up_alarm = cloudwatch.Alarm(
            self,
            "HasBacklogWithoutCapacityAlarm",
            metric=self.metric_has_backlog_without_capacity(),
            threshold=1,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
            alarm_description="Work waits at an endpoint with no instance: add one "
                              "(scale from zero).",
        )
        self.wake_up_alarm.add_alarm_action(cw_actions.ApplicationScalingAction(self.wake_up_policy))

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
        iam.Grant.add_to_principal(grantee=grantee, actions=["s3:PutObject"],
                                   resource_arns=self._object_arns(self.input_prefix))
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["s3:GetObject"],
            resource_arns=self._object_arns(self.output_prefix, self.failure_prefix),
        )
        for statement in self._key_statements("kms:Decrypt", "kms:GenerateDataKey"):
            iam.Grant.add_to_principal(grantee=grantee, actions=statement.actions,
                                       resource_arns=statement.resources)
        return grant

    # --- metrics -----------------------------------------------------------------------

    def _endpoint_metric(self, name: str, statistic: str, period: Duration) -> cloudwatch.Metric:
        return metrics.endpoint_metric(name, endpoint_name=self.endpoint_name,
                                       statistic=statistic, period=period)

    def metric_backlog_size(
        self, *, statistic: str = "Average", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``ApproximateBacklogSize`` (dimension ``EndpointName`` only). Default: Average."""
        return self._endpoint_metric("ApproximateBacklogSize", statistic, period)

    def metric_backlog_size_per_instance(
        self, *, statistic: str = "Average", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``ApproximateBacklogSizePerInstance`` (``EndpointName`` only). Default: Average."""
        return self._endpoint_metric("ApproximateBacklogSizePerInstance", statistic, period)

    def metric_age_of_oldest_request(
        self, *, statistic: str = "Maximum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``ApproximateAgeOfOldestRequest`` in seconds (``EndpointName`` only). Default:
        Maximum."""
        return self._endpoint_metric("ApproximateAgeOfOldestRequest", statistic, period)

    def metric_has_backlog_without_capacity(
        self, *, statistic: str = "Average", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``HasBacklogWithoutCapacity``: 1 while work waits and no instance runs
        (``EndpointName`` only). Default: Average, as in AWS's wake-up recipe."""
        return self._endpoint_metric("HasBacklogWithoutCapacity", statistic, period)

    def metric_invocation_failures(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``InvocationFailures`` (``EndpointName``, ``VariantName``). Default: Sum."""
        return self.metric("InvocationFailures", statistic=statistic, period=period)

    def metric_request_download_failures(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``RequestDownloadFailures`` (``EndpointName``, ``VariantName``). Default: Sum."""
        return self.metric("RequestDownloadFailures", statistic=statistic, period=period)

    def metric_response_upload_failures(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``ResponseUploadFailures`` (``EndpointName``, ``VariantName``). Default: Sum."""
        return self.metric("ResponseUploadFailures", statistic=statistic, period=period)

    def metric_notification_failures(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``NotificationFailures`` (``EndpointName``, ``VariantName``). Default: Sum."""
        return self.metric("NotificationFailures", statistic=statistic, period=period)

    # --- dashboard ---------------------------------------------------------------------

    def _dashboard_rows(self, period: Duration) -> list[list[cloudwatch.IWidget]]:
        signal = graph(
            "Backlog per instance (scaling signal)",
            [self.metric_backlog_size_per_instance(period=period)],
            annotations=[("target", self.target_backlog_per_instance)],
        )
        backlog = graph(
            "Backlog and wake-up",
            [self.metric_backlog_size(period=period)],
            right=[self.metric_has_backlog_without_capacity(period=period)],
        )
        age = graph("Age of the oldest request (s)",
                    [self.metric_age_of_oldest_request(period=period)])
        latency = graph(
            "Model latency (microseconds)",
            [self.metric_model_latency(statistic=p, period=period) for p in ("p50", "p90", "p99")],
        )
        errors = graph("Errors", [self.metric_invocation_failures(period=period),
                                  self.metric_request_download_failures(period=period),
                                  self.metric_response_upload_failures(period=period),
                                  self.metric_notification_failures(period=period)])
        return [[signal, self._capacity_widget(period)], [backlog, age], [latency, errors]]

    # --- alarms ------------------------------------------------------------------------

    def _create_alarms(self, alarms: AsyncAlarmOptions) -> None:
        self._add_alarm(
            "oldest_request_age", alarms.oldest_request_age,
            metric=self.metric_age_of_oldest_request(), default_threshold=900,
            description="Requests wait too long at the Deepgram asynchronous endpoint.",
        )
        self._add_alarm(
            "backlog_without_capacity", alarms.backlog_without_capacity,
            metric=self.metric_has_backlog_without_capacity(),
            default_threshold=1,
            description="Work has waited without any instance for too long: the wake-up from "
                        "zero is failing (quota, capacity or scaling).",
        )
        self._add_alarm(
            "invocation_failures", alarms.invocation_failures,
            metric=self.metric_invocation_failures(), default_threshold=1,
            description="Deepgram asynchronous requests fail.",
        )
        self._add_alarm(
            "capacity_at_max", alarms.capacity_at_max,
            metric=self.metric_instance_count(), default_threshold=self.max_capacity,
            description="Deepgram asynchronous endpoint is pinned at max_capacity.",
        )
        self._add_alarm(
            "request_download_failures", alarms.request_download_failures,
            metric=self.metric_request_download_failures(), default_threshold=1,
            description="SageMaker cannot read request inputs from S3: check the execution "
                        "role's S3 and KMS permissions and the VPC's route to S3.",
        )
        self._add_alarm(
            "response_upload_failures", alarms.response_upload_failures,
            metric=self.metric_response_upload_failures(), default_threshold=1,
            description="SageMaker cannot write results to S3: check the execution role's S3 "
                        "and KMS permissions.",
        )
        self._add_alarm(
            "notification_failures", alarms.notification_failures,
            metric=self.metric_notification_failures(), default_threshold=1,
            description="SageMaker cannot publish to the success or error topic: check "
                        "sns:Publish and the topic key's permissions.",
        )
