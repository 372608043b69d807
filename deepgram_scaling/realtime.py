"""``RealtimeDeepgramEndpoint``: streaming and synchronous requests, scaled on concurrency."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Names
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from . import metrics
from ._validation import Problems, is_token
from .alarms import AlarmOptions
from .dashboard import graph
from .endpoint_base import DEFAULT_INFERENCE_AMI_VERSION, DeepgramEndpointBase
from .errors import DeepgramScalingConfigError
from .instance_pools import InstancePool
from .metric_math import (
    POOL_STATISTIC,
    MetricQuery,
    PoolSignal,
    mixed_fleet_queries,
    signal_kind,
)
from .model_source import DeepgramModel
from .scaling import StepScalingOptions, StreamingSafeScaleIn

#: Deepgram's streaming-aware cooldowns: react fast to new streams, and wait before removing
#: instances that may still hold 30-minute streams (docs/aws-behaviour.md#deepgram-cooldowns).
DEFAULT_SCALE_OUT_COOLDOWN = Duration.seconds(60)
DEFAULT_SCALE_IN_COOLDOWN = Duration.seconds(300)
#: InvokeEndpoint gives up after 60 s; a p99 above 50 s means requests are about to fail
#: (docs/aws-behaviour.md#invoke-timeout).
_LATENCY_ALARM_MICROSECONDS = 50_000_000
#: Our default bound for the first streamed result: 3 s at p99 (tune it to your product).
_FIRST_CHUNK_ALARM_MICROSECONDS = 3_000_000


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
    :param first_chunk_latency: ``FirstChunkLatency`` p99 in microseconds, one sample per
        streaming session. Default: >= 3,000,000 (3 s) for 3 of 3 minutes.
    :param mid_stream_errors: ``MidStreamErrors`` (Sum): failures after a stream started.
        Default: >= 1 in 3 of 5 minutes.

    The two streaming metrics are unconfirmed: no AWS or Deepgram page we could find names
    them (docs/aws-behaviour.md#streaming-metrics). Their alarms treat missing data as
    missing, so an endpoint that never publishes them shows INSUFFICIENT_DATA, not a false
    OK.
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
    first_chunk_latency: AlarmOptions | None = AlarmOptions(
        threshold=_FIRST_CHUNK_ALARM_MICROSECONDS, evaluation_periods=3
    )
    mid_stream_errors: AlarmOptions | None = AlarmOptions(
        threshold=1, evaluation_periods=5, datapoints_to_alarm=3
    )

    def check(self, problems: Problems) -> None:
        for name in ("capacity_at_max", "invocation_5xx_errors", "model_errors", "model_latency",
                     "first_chunk_latency", "mid_stream_errors"):
            options = getattr(self, name)
            if options is not None:
                options.check(problems, f"alarms.{name}")


class RealtimeDeepgramEndpoint(DeepgramEndpointBase):
    """A SageMaker real-time endpoint serving a Deepgram model.

    Serves streaming connections (``InvokeEndpointWithBidirectionalStream``, up to 30
    minutes each) and synchronous pre-recorded requests (``InvokeEndpoint``). Scales on
    ``ConcurrentRequestsPerModel`` through the predefined high-resolution (10 s) metric
    type, never below one instance.

    Scaling modes, one prop each: plain target tracking (default); ``scale_in=
    StreamingSafeScaleIn()`` (target tracking only scales out, a step policy removes one
    instance after a quiet period); ``step_scaling=StepScalingOptions(...)`` (explicit steps
    instead of target tracking); and :meth:`scale_on_schedule` for a scheduled floor, which
    combines with any of them.

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
        Required unless ``step_scaling`` is given.
    :param min_capacity: Fewest instances. Must be >= 1. Default: 1.
    :param initial_instance_count: Instances created with the endpoint. A change replaces
        the endpoint config (and rebuilds the fleet), so the default does not follow
        ``min_capacity``: registering the scalable target raises the fleet to
        ``min_capacity`` (docs/aws-behaviour.md#register-target-range). Default: 1.
    :param scale_out_cooldown: Default: ``Duration.seconds(60)`` (Deepgram's guidance).
    :param scale_in_cooldown: Default: ``Duration.seconds(300)`` (Deepgram's guidance: do
        not remove instances while long streams may still run).
    :param role: Execution role for the model. Default: a new role with least privilege.
        A role you pass gets the same managed policy attached.
    :param kms_key: Key for the ML storage volume. Refused for types with local NVMe
        storage (every GPU type Deepgram supports). Default: None.
    :param provision_timeout: The total time SageMaker spends provisioning instances across
        all pools before the operation fails (300-3600 s). It is not a wait per pool:
        SageMaker moves to the next pool as soon as one reports insufficient capacity
        (docs/aws-behaviour.md#instance-pools). Only used with two or more pools. Default:
        ``Duration.seconds(300)`` (Deepgram's suggestion).
    :param inference_ami_version: Default: ``al2023-ami-sagemaker-inference-gpu-4-1``,
        which Deepgram's containers require.
    :param model_data_download_timeout: Default: ``Duration.seconds(600)`` (Deepgram's
        value; use 1800 s for multilingual Nova-3).
    :param container_startup_health_check_timeout: Default: ``Duration.seconds(600)``
        (within Deepgram's 300-900 s).
    :param endpoint_name: Physical name. Default: a name unique to this construct with a
        short hash of the pool list, so that a change of pools replaces the endpoint (see
        "Updating" in the README).
    :param alarm_topic: SNS topic notified on every alarm's ALARM and OK. Default: a new
        topic encrypted with a new key that CloudWatch may use (subscribe to it).
    :param vpc: Run the model's network interfaces in this VPC. Default: None (SageMaker's
        own network).
    :param vpc_subnets: Default: the VPC's private subnets.
    :param security_groups: 1-5 groups. Default: a new group. With network isolation it
        allows only outbound HTTPS, which SageMaker needs to download the model and move
        async data through the VPC (docs/aws-behaviour.md#network-isolation-vpc); without
        isolation, all outbound traffic.
    :param alarms: Which alarms to create and how. Default: :class:`RealtimeAlarmOptions`.
    :param scale_in: ``StreamingSafeScaleIn(...)`` to spare running streams. Default: None
        (target tracking scales in, after ``scale_in_cooldown``).
    :param step_scaling: Explicit steps on ``ConcurrentRequestsPerModel`` (Maximum, 1 min)
        instead of target tracking. Default: None.
    :param target_utilization: For pools that declare different ``max_concurrency``: the
        utilization (concurrency over declared capacity) of the most loaded pool that the
        metric-math policy holds, in (0, 1]. Default: 0.75 (Deepgram: 70-80 % of measured
        capacity).
    :param high_resolution_companion: In mixed-fleet mode, keep a predefined
        high-resolution policy beside the metric-math one for 10-second reactions to bursts;
        its target is ``target_concurrency_per_instance`` or, by default,
        ``target_utilization`` x the largest declared capacity. Default: True.
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
        target_concurrency_per_instance: float | None = None,
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
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        alarms: RealtimeAlarmOptions | None = None,
        scale_in: StreamingSafeScaleIn | None = None,
        step_scaling: StepScalingOptions | None = None,
        target_utilization: float = 0.75,
        high_resolution_companion: bool = True,
    ) -> None:
        alarms = alarms if alarms is not None else RealtimeAlarmOptions()
        problems = Problems()
        problems.number("target_utilization", target_utilization, minimum=0,
                        exclusive_minimum=True, maximum=1)
        signals = _pool_signals(instance_pools)
        kind = signal_kind(signals) if signals else "predefined"
        capacities = {s.capacity for s in signals}
        derivable = kind in ("pool-utilization", "weighted-utilization") or (
            signals and None not in capacities and len(capacities) == 1)
        if target_concurrency_per_instance is None:
            if step_scaling is None and not derivable:
                problems.add("target_concurrency_per_instance is required for target tracking "
                             "unless every pool declares max_concurrency (or pass "
                             "step_scaling), got None")
        else:
            problems.number("target_concurrency_per_instance", target_concurrency_per_instance,
                            minimum=0, exclusive_minimum=True)
        if step_scaling is not None:
            self._check_step_options(problems, step_scaling)
            if scale_in is not None:
                problems.add("scale_in applies to target tracking; with step_scaling, put the "
                             "scale-in steps in step_scaling.steps, got both")
        self._check_scaling_options(problems, alarms=alarms, alarm_type=RealtimeAlarmOptions,
                                    scale_out_cooldown=scale_out_cooldown,
                                    scale_in_cooldown=scale_in_cooldown)
        #: Concurrency per instance at which the binding pool reaches its target: the
        #: target itself, or in mixed-fleet mode target_utilization x the smallest capacity.
        self._binding_concurrency = _binding_concurrency(
            kind, signals, target_concurrency_per_instance, target_utilization)
        if scale_in is not None:
            self._check_scale_in(problems, scale_in, self._binding_concurrency)
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
        self.target_utilization = target_utilization
        #: ``"predefined"``, ``"pool-utilization"``, ``"weighted-utilization"``,
        #: ``"weighted-concurrency"`` or ``"step"``: which signal the endpoint scales on.
        self.scaling_signal = "step" if step_scaling is not None else kind
        self._signals = signals
        #: The mixed-fleet queries, built once: the policy and metric_fleet_utilization use them.
        self._mixed_queries = (mixed_fleet_queries(signals)
                               if kind != "predefined" and len(signals) >= 2 else [])
        if target_concurrency_per_instance is None and derivable and step_scaling is None:
            # Uniform declared capacity, or the companion of a mixed-fleet policy.
            largest = max(s.capacity for s in signals if s.capacity is not None)
            target_concurrency_per_instance = round(target_utilization * largest, 6)
        self.target_concurrency_per_instance = target_concurrency_per_instance
        #: Target tracking on the predefined high-resolution concurrency metric (None in
        #: step-scaling mode, or in mixed-fleet mode without the companion).
        self.scaling_policy: appscaling.TargetTrackingScalingPolicy | None = None
        #: The metric-math policy of a mixed fleet (None otherwise).
        self.mixed_fleet_policy: appscaling.CfnScalingPolicy | None = None
        #: The one-instance-at-a-time removal policy and its alarm (streaming-safe mode).
        self.scale_in_policy: appscaling.StepScalingAction | None = None
        self.scale_in_alarm: cloudwatch.Alarm | None = None
        if step_scaling is not None:
            self._create_step_scaling(
                step_scaling,
                self.metric_concurrent_requests_per_model(),
                appscaling.MetricAggregationType.MAXIMUM,
            )
        else:
            assert target_concurrency_per_instance is not None
            if kind != "predefined":
                self._create_mixed_fleet_policy(
                    target=(target_utilization if kind != "weighted-concurrency"
                            else target_concurrency_per_instance),
                    scale_out_cooldown=scale_out_cooldown, scale_in_cooldown=scale_in_cooldown,
                    disable_scale_in=scale_in is not None,
                )
        if step_scaling is None and (kind == "predefined" or high_resolution_companion):
            assert target_concurrency_per_instance is not None
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
                disable_scale_in=True if scale_in is not None else None,
            )
        if step_scaling is None and scale_in is not None:
            assert self._binding_concurrency is not None
            self._create_streaming_safe_scale_in(scale_in, self._binding_concurrency)
        self._create_alarms(alarms)

    # --- mixed fleets ------------------------------------------------------------------

    def _create_mixed_fleet_policy(
        self, *, target: float, scale_out_cooldown: Duration, scale_in_cooldown: Duration,
        disable_scale_in: bool,
    ) -> None:
        """Target tracking on metric math over the per-pool concurrency (see metric_math)."""
        queries = self._mixed_queries
        cfn = appscaling.CfnScalingPolicy
        policy = cfn(
            self,
            "MixedFleetScaling",
            policy_name="placeholder",
            policy_type="TargetTrackingScaling",
            scaling_target_id=self.scalable_target.scalable_target_id,
            target_tracking_scaling_policy_configuration=cfn.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=target,
                scale_out_cooldown=int(scale_out_cooldown.to_seconds()),
                scale_in_cooldown=int(scale_in_cooldown.to_seconds()),
                disable_scale_in=True if disable_scale_in else None,
                customized_metric_specification=cfn.CustomizedMetricSpecificationProperty(
                    metrics=[self._cfn_query(q) for q in queries]
                ),
            ),
        )
        policy.policy_name = Names.unique_id(policy)
        self.mixed_fleet_policy = policy

    def _cfn_query(
        self, query: MetricQuery
    ) -> appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty:
        cfn = appscaling.CfnScalingPolicy
        if query.instance_type is None:
            return cfn.TargetTrackingMetricDataQueryProperty(
                id=query.id, expression=query.expression, return_data=query.return_data)
        dimensions = {"EndpointName": self.endpoint_name, "VariantName": self.variant_name,
                      "InstanceType": query.instance_type}
        return cfn.TargetTrackingMetricDataQueryProperty(
            id=query.id,
            return_data=query.return_data,
            metric_stat=cfn.TargetTrackingMetricStatProperty(
                stat=POOL_STATISTIC,
                metric=cfn.TargetTrackingMetricProperty(
                    namespace=metrics.NAMESPACE,
                    metric_name="ConcurrentRequestsPerModel",
                    dimensions=[cfn.TargetTrackingMetricDimensionProperty(name=k, value=v)
                                for k, v in dimensions.items()],
                ),
            ),
        )

    def metric_fleet_utilization(
        self, *, period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.MathExpression:
        """The mixed-fleet signal (the most loaded pool's utilization, or the weighted
        form), exactly as the metric-math policy computes it. Needs ``max_concurrency`` or
        ``weight`` declared on every pool."""
        if not self._mixed_queries:
            raise DeepgramScalingConfigError(
                "metric_fleet_utilization needs two or more pools declaring different "
                f"max_concurrency (or weights), got the signal {self.scaling_signal!r}")
        built: dict[str, cloudwatch.IMetric] = {}
        for query in self._mixed_queries:
            if query.instance_type is not None:
                built[query.id] = self.metric_concurrent_requests_per_model(
                    statistic=POOL_STATISTIC, period=period, instance_type=query.instance_type)
                continue
            assert query.expression is not None
            uses = {name: built[name] for name in built
                    if re.search(rf"\b{name}\b", query.expression)}
            built[query.id] = cloudwatch.MathExpression(
                expression=query.expression, using_metrics=uses, period=period,
                label=query.id)
        result = built[next(q.id for q in self._mixed_queries if q.return_data)]
        assert isinstance(result, cloudwatch.MathExpression)
        return result

    # --- streaming-safe scale-in ------------------------------------------------------

    @staticmethod
    def _check_scale_in(
        problems: Problems, scale_in: object, target: float | None
    ) -> None:
        if not isinstance(scale_in, StreamingSafeScaleIn):
            problems.add(f"scale_in must be a StreamingSafeScaleIn, got {scale_in!r}")
            return
        if problems.duration("scale_in.quiet_period", scale_in.quiet_period, minimum_s=60,
                             maximum_s=86_400,
                             why="(at least one 60 s metric period, at most a day)"):
            seconds = scale_in.quiet_period.to_seconds(integral=False)
            if isinstance(seconds, (int, float)) and seconds % 60:
                problems.add("scale_in.quiet_period must be whole minutes (the metric period), "
                             f"got {scale_in.quiet_period.to_human_string()}")
        if scale_in.low_water_mark is not None and problems.number(
            "scale_in.low_water_mark", scale_in.low_water_mark, minimum=0,
            exclusive_minimum=True,
        ) and isinstance(target, (int, float)) and not is_token(target) \
                and scale_in.low_water_mark >= target:
            problems.add(f"scale_in.low_water_mark must be below the concurrency at which "
                         f"scaling out starts ({target:g} per instance), got "
                         f"{scale_in.low_water_mark}")

    def _create_streaming_safe_scale_in(self, scale_in: StreamingSafeScaleIn,
                                        target: float) -> None:
        """Remove one instance after ``quiet_period`` below the low-water mark; the cooldown
        is the quiet period again, so the fleet shrinks one instance per quiet period.

        ``target`` is the binding concurrency: in a mixed fleet the concurrency at which the
        smallest pool reaches ``target_utilization``, so that the removal alarm always sits
        below every scale-out threshold and the policies never fight."""
        low_water = scale_in.low_water_mark if scale_in.low_water_mark is not None \
            else target / 2
        minutes = int(scale_in.quiet_period.to_minutes())
        self.scale_in_policy = appscaling.StepScalingAction(
            self,
            "StreamingSafeScaleIn",
            scaling_target=self.scalable_target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
            cooldown=scale_in.quiet_period,
        )
        self.scale_in_policy.add_adjustment(adjustment=-1, upper_bound=0)
        self.scale_in_alarm = cloudwatch.Alarm(
            self,
            "QuietAlarm",
            metric=self.metric_concurrent_requests_per_model(),
            threshold=low_water,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            # No datapoint means no request at all: as quiet as it gets.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=f"Concurrency stayed below {low_water} per instance for "
                              f"{minutes} minutes: remove one instance.",
        )
        self.scale_in_alarm.add_alarm_action(
            cw_actions.ApplicationScalingAction(self.scale_in_policy)
        )

    _high_resolution_signal = True

    @property
    def _least_outstanding_routing(self) -> bool:
        return len(self.instance_pools) > 1

    # --- grants ----------------------------------------------------------------------

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow synchronous requests (``sagemaker:InvokeEndpoint``) on this endpoint."""
        return self._grant(grantee, "sagemaker:InvokeEndpoint")

    def grant_invoke_stream(self, grantee: iam.IGrantable) -> iam.Grant:
        """Allow streaming connections on this endpoint: the IAM action
        ``sagemaker:InvokeEndpointWithBidirectionalStream``, the one Deepgram's SageMaker
        clients need (docs/aws-behaviour.md#bidirectional-stream-iam)."""
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
            AWS's pool example uses Average (docs/aws-behaviour.md#concurrency-metric:
            unsettled), so the default is one both accept.
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

    def metric_first_chunk_latency(
        self, *, statistic: str = "p99", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``FirstChunkLatency`` in microseconds: session start to first result, one sample
        per streaming session. Default statistic: ``p99``."""
        return self.metric("FirstChunkLatency", statistic=statistic, period=period)

    def metric_mid_stream_errors(
        self, *, statistic: str = "Sum", period: Duration = metrics.ONE_MINUTE
    ) -> cloudwatch.Metric:
        """``MidStreamErrors``: failures after a stream has started. Default: ``Sum``."""
        return self.metric("MidStreamErrors", statistic=statistic, period=period)

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
        # Unconfirmed metrics: missing data stays missing, so a metric that is never
        # published shows INSUFFICIENT_DATA instead of OK (docs/aws-behaviour.md#streaming-metrics).
        self._add_alarm(
            "first_chunk_latency",
            alarms.first_chunk_latency,
            metric=self.metric_first_chunk_latency(),
            default_threshold=_FIRST_CHUNK_ALARM_MICROSECONDS,
            description="Streaming sessions wait too long for their first result. "
                        "(Metric name unconfirmed: INSUFFICIENT_DATA means it is not published.)",
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        )
        self._add_alarm(
            "mid_stream_errors",
            alarms.mid_stream_errors,
            metric=self.metric_mid_stream_errors(),
            default_threshold=1,
            description="Streaming sessions fail after they started. "
                        "(Metric name unconfirmed: INSUFFICIENT_DATA means it is not published.)",
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
        )

    # --- dashboard ---------------------------------------------------------------------

    def _dashboard_rows(self, period: Duration) -> list[list[cloudwatch.IWidget]]:
        rows = self._realtime_rows(period)
        if self.mixed_fleet_policy is not None:
            target = (self.target_utilization if self.scaling_signal != "weighted-concurrency"
                      else self.target_concurrency_per_instance)
            rows.insert(0, [graph("Mixed-fleet signal (metric-math policy)",
                                  [self.metric_fleet_utilization(period=period)],
                                  annotations=[("target", target)] if target else [])])
        return rows

    def _realtime_rows(self, period: Duration) -> list[list[cloudwatch.IWidget]]:
        target = self.target_concurrency_per_instance
        per_pool = [
            self.metric_concurrent_requests_per_model(period=period,
                                                      instance_type=pool.instance_type)
            for pool in self.instance_pools
        ] if len(self.instance_pools) > 1 else []
        signal = graph(
            "Concurrent requests per instance (scaling signal)",
            [self.metric_concurrent_requests_per_model(period=period), *per_pool],
            annotations=[("target", target)] if target is not None else [],
        )
        latency = graph(
            "Latency (microseconds)",
            [self.metric_first_chunk_latency(statistic=p, period=period)
             for p in ("p50", "p90", "p99")],
            right=[self.metric_model_latency(statistic=p, period=period)
                   for p in ("p50", "p99")],
        )
        errors = graph(
            "Errors",
            [self.metric_invocation_5xx_errors(period=period),
             self.metric_model_errors(period=period),
             self.metric_mid_stream_errors(period=period)],
        )
        return [[signal, self._capacity_widget(period)], [latency, errors]]


def _pool_signals(instance_pools: object) -> list[PoolSignal]:
    """Declared capacities and weights of a pool list (empty when it is malformed; the base
    constructor reports that)."""
    if not isinstance(instance_pools, (list, tuple)):
        return []
    return [PoolSignal(p.instance_type, p.max_concurrency, p.weight)
            for p in instance_pools if isinstance(p, InstancePool)]


def _binding_concurrency(kind: str, signals: list[PoolSignal], target: float | None,
                         utilization: float) -> float | None:
    """Concurrency per instance at which some policy starts scaling out (see the
    attribute of the same name)."""
    capacities = [s.capacity for s in signals if s.capacity is not None]
    if kind in ("pool-utilization", "weighted-utilization") and capacities:
        smallest = utilization * min(capacities)
        return smallest if target is None or is_token(target) else min(smallest, target)
    if target is None and capacities and len(set(capacities)) == 1:
        return utilization * capacities[0]
    return target
