"""``RealtimeDeepgramEndpoint``: streaming and synchronous requests, scaled on concurrency."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from . import metrics
from ._validation import Problems
from .alarms import AlarmOptions
from .endpoint_base import DEFAULT_INFERENCE_AMI_VERSION, DeepgramEndpointBase
from .instance_pools import InstancePool
from .model_source import DeepgramModel

#: Deepgram's streaming-aware cooldowns: react fast to new streams, and wait before removing
#: instances that may still hold 30-minute streams (facts file, section 3).
DEFAULT_SCALE_OUT_COOLDOWN = Duration.seconds(60)
DEFAULT_SCALE_IN_COOLDOWN = Duration.seconds(300)
#: InvokeEndpoint gives up after 60 s; a p99 above 50 s means requests are about to fail.
_LATENCY_ALARM_MICROSECONDS = 50_000_000


@dataclass(frozen=True, kw_only=True)
class RealtimeAlarmOptions:
    """The alarms of a real-time endpoint. Set one to ``None`` to switch it off.

    :param capacity_at_max: The instance count stays at ``max_capacity``: the fleet cannot
        grow further. Default: instance count >= ``max_capacity`` for 15 of 15 minutes.
    :param invocation_5xx_errors: ``Invocation5XXErrors`` (Sum). Default: >= 1 in 3 of 5
        minutes.
    :param model_errors: ``InvocationModelErrors`` (Sum): requests the model did not answer
        with 2XX, including timeouts. Default: >= 5 in 3 of 5 minutes.
    :param model_latency: ``ModelLatency`` p99 in microseconds, which only synchronous
        requests emit (Deepgram: not emitted for streaming sessions). Default: >= 50,000,000
        (50 s; InvokeEndpoint times out at 60 s) for 3 of 3 minutes.
    """

    capacity_at_max: AlarmOptions | None = AlarmOptions(evaluation_periods=15)
    invocation_5xx_errors: AlarmOptions | None = AlarmOptions(
        threshold=1, evaluation_periods=5, datapoints_to_alarm=3
    )
    model_errors: AlarmOptions | None = AlarmOptions(
        threshold=5, evaluation_periods=5, datapoints_to_alarm=3
    )
    model_latency: AlarmOptions | None = AlarmOptions(
        threshold=_LATENCY_ALARM_MICROSECONDS, evaluation_periods=3
    )

    def check(self, problems: Problems) -> None:
        for name in ("capacity_at_max", "invocation_5xx_errors", "model_errors", "model_latency"):
            options = getattr(self, name)
            if options is not None:
                options.check(problems, f"alarms.{name}")


class RealtimeDeepgramEndpoint(DeepgramEndpointBase):
    """A SageMaker real-time endpoint serving a Deepgram model.

    Serves streaming connections (``InvokeEndpointWithBidirectionalStream``, up to 30
    minutes each) and synchronous pre-recorded requests (``InvokeEndpoint``). Scales on
    ``ConcurrentRequestsPerModel`` through the predefined high-resolution (10 s) metric
    type, never below one instance.

    :param scope: Parent construct.
    :param construct_id: Construct id; every resource lives below it, so several endpoints
        compose into one stack.
    :param model: The model, from :meth:`DeepgramModel.from_model_package` or
        :meth:`DeepgramModel.from_image`.
    :param instance_pools: Instance types in fallback order (list order = priority 1, 2, ...).
        One entry gives a plain ``InstanceType``; 2-5 give ``InstancePools``.
    :param max_capacity: Most instances the variant may scale to.
    :param target_concurrency_per_instance: Concurrent requests (streams plus in-flight
        synchronous requests) per instance that target tracking holds. Deepgram's guidance:
        70-80 % of what one instance serves within your latency bound in a load test.
    :param min_capacity: Fewest instances. Must be >= 1. Default: 1.
    :param initial_instance_count: Instances created with the endpoint. Default:
        ``min_capacity``.
    :param scale_out_cooldown: Default: ``Duration.seconds(60)`` (Deepgram's guidance).
    :param scale_in_cooldown: Default: ``Duration.seconds(300)`` (Deepgram's guidance: do
        not remove instances while long streams may still run).
    :param role: Execution role for the model. Default: a new role with least privilege.
        A role you pass gets the same managed policy attached.
    :param kms_key: Key for the ML storage volume. Refused for types with local NVMe
        storage (every GPU type Deepgram supports). Default: None.
    :param provision_timeout: How long SageMaker tries one pool before falling back to the
        next (300-3600 s). Only used with two or more pools. Default:
        ``Duration.seconds(300)`` (Deepgram's suggestion).
    :param inference_ami_version: Default: ``al2023-ami-sagemaker-inference-gpu-4-1``,
        which Deepgram's containers require.
    :param model_data_download_timeout: Default: ``Duration.seconds(600)`` (Deepgram's
        value; use 1800 s for multilingual Nova-3).
    :param container_startup_health_check_timeout: Default: ``Duration.seconds(600)``
        (within Deepgram's 300-900 s).
    :param endpoint_name: Physical name. Default: generated by CloudFormation.
    :param alarm_topic: SNS topic notified on every alarm's ALARM and OK. Default: None.
    :param alarms: Which alarms to create and how. Default: :class:`RealtimeAlarmOptions`.
    """

    _min_capacity_floor = 1
    _kind = "real-time endpoint"

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: DeepgramModel,
        instance_pools: Sequence[InstancePool | str],
        max_capacity: int,
        target_concurrency_per_instance: float,
        min_capacity: int = 1,
        initial_instance_count: int | None = None,
        scale_out_cooldown: Duration = DEFAULT_SCALE_OUT_COOLDOWN,
        scale_in_cooldown: Duration = DEFAULT_SCALE_IN_COOLDOWN,
        role: iam.IRole | None = None,
        kms_key: kms.IKey | None = None,
        provision_timeout: Duration = Duration.seconds(300),
        inference_ami_version: str = DEFAULT_INFERENCE_AMI_VERSION,
        model_data_download_timeout: Duration = Duration.seconds(600),
        container_startup_health_check_timeout: Duration = Duration.seconds(600),
        endpoint_name: str | None = None,
        alarm_topic: sns.ITopic | None = None,
        alarms: RealtimeAlarmOptions | None = None,
    ) -> None:
        alarms = alarms if alarms is not None else RealtimeAlarmOptions()
        problems = Problems()
        problems.number("target_concurrency_per_instance", target_concurrency_per_instance,
                        minimum=0, exclusive_minimum=True)
        problems.duration("scale_out_cooldown", scale_out_cooldown, minimum_s=0)
        problems.duration("scale_in_cooldown", scale_in_cooldown, minimum_s=0)
        if isinstance(alarms, RealtimeAlarmOptions):
            alarms.check(problems)
        else:
            problems.add(f"alarms must be a RealtimeAlarmOptions, got {alarms!r}")
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
            problems=problems,
        )
        self.target_concurrency_per_instance = target_concurrency_per_instance

        #: Target tracking on the predefined high-resolution concurrency metric.
        self.scaling_policy = appscaling.TargetTrackingScalingPolicy(
            self,
            "ConcurrencyScaling",
            scaling_target=self.scalable_target,
            target_value=target_concurrency_per_instance,
            predefined_metric=(
                appscaling.PredefinedMetric.SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION
            ),
            scale_out_cooldown=scale_out_cooldown,
            scale_in_cooldown=scale_in_cooldown,
        )
        self._create_alarms(alarms)

    @property
    def _least_outstanding_routing(self) -> bool:
        return len(self.instance_pools) > 1

    # --- grants ----------------------------------------------------------------------

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow synchronous requests (``sagemaker:InvokeEndpoint``) on this endpoint."""
        return self._grant(grantee, "sagemaker:InvokeEndpoint")

    def grant_invoke_stream(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow streaming connections
        (``sagemaker:InvokeEndpointWithBidirectionalStream``) on this endpoint."""
        return self._grant(grantee, "sagemaker:InvokeEndpointWithBidirectionalStream")

    # --- metrics ---------------------------------------------------------------------

    def metric_concurrent_requests_per_model(
        self,
        *,
        statistic: str = "Maximum",
        period: Duration = metrics.ONE_MINUTE,
        instance_type: str | None = None,
    ) -> cloudwatch.Metric:
        """``ConcurrentRequestsPerModel``: streams plus in-flight requests, emitted every 10 s.

        :param statistic: Default: ``Maximum``. Deepgram documents Minimum/Maximum only,
            AWS's pool example uses Average (facts file, section 3: unconfirmed), so the
            default is one both accept.
        :param period: Default: 1 minute; 10 seconds is the finest.
        :param instance_type: One pool's type (adds the ``InstanceType`` dimension).
            Default: the whole variant.
        """
        return self.metric("ConcurrentRequestsPerModel", statistic=statistic, period=period,
                           instance_type=instance_type)

    def metric_invocations(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``Invocations``. Default statistic: ``Sum``."""
        return self.metric("Invocations", statistic=statistic, period=period)

    def metric_invocation_5xx_errors(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``Invocation5XXErrors``. Default statistic: ``Sum``."""
        return self.metric("Invocation5XXErrors", statistic=statistic, period=period)

    def metric_model_errors(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``InvocationModelErrors``. Default statistic: ``Sum``."""
        return self.metric("InvocationModelErrors", statistic=statistic, period=period)

    # --- alarms ----------------------------------------------------------------------

    def _create_alarms(self, alarms: RealtimeAlarmOptions) -> None:
        self._add_alarm(
            "capacity_at_max",
            alarms.capacity_at_max,
            metric=self.metric_instance_count(),
            default_threshold=self.max_capacity,
            description="Deepgram real-time endpoint is pinned at max_capacity: it cannot "
                        "add instances for more load.",
        )
        self._add_alarm(
            "invocation_5xx_errors",
            alarms.invocation_5xx_errors,
            metric=self.metric_invocation_5xx_errors(),
            default_threshold=1,
            description="Deepgram real-time endpoint returns 5XX errors.",
        )
        self._add_alarm(
            "model_errors",
            alarms.model_errors,
            metric=self.metric_model_errors(),
            default_threshold=5,
            description="Deepgram model answers requests with errors or times out.",
        )
        self._add_alarm(
            "model_latency",
            alarms.model_latency,
            metric=self.metric_model_latency(),
            default_threshold=_LATENCY_ALARM_MICROSECONDS,
            description="Deepgram real-time endpoint p99 model latency is close to the 60 s "
                        "InvokeEndpoint timeout.",
        )
