"""``RealtimeDeepgramEndpoint``: streaming and synchronous requests, scaled on concurrency."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from ._compat import stack_env, stack_of
from ._validation import Problems, construct_path, is_token
from .access import ImportedRealtimeEndpoint, RealtimeAccess
from .alarms import (
    REALTIME_ALARMS,
    REALTIME_ROLLBACK_ALARMS,
    AlarmOptions,
    RealtimeAlarmOptions,
    RealtimeRollbackAlarmOptions,
    RollbackAlarmOptions,
)
from .dashboard import graph
from .deployment import DeploymentStrategy
from .endpoint_base import DEFAULT_INFERENCE_AMI_VERSION, VARIANT_NAME, DeepgramEndpointBase
from .endpoint_rules import Rule, check_option_type, shared_props, shared_rules
from .errors import DeepgramScalingConfigError
from .instance_pools import InstancePool
from .metrics import ONE_MINUTE, RealtimeMetrics
from .model_source import DeepgramModel
from .nag import batched as nag_batched
from .scaling_options import StepScalingOptions, StreamingSafeScaleIn
from .scaling_plan import RealtimeScalingPlan, ScalingKind, plan_realtime_scaling, pool_signals

__all__ = [
    "AlarmOptions",
    "RealtimeAlarmOptions",
    "RealtimeDeepgramEndpoint",
    "RealtimeRollbackAlarmOptions",
    "RollbackAlarmOptions",
]

#: Deepgram's streaming-aware cooldowns: react fast to new streams, and wait before removing
#: instances that may still hold 30-minute streams (docs/aws-behaviour.md#deepgram-cooldowns).
DEFAULT_SCALE_OUT_COOLDOWN = Duration.seconds(60)
DEFAULT_SCALE_IN_COOLDOWN = Duration.seconds(300)
LOW_COMPANION_WARNING_ID = "deepgram-scaling:companionBelowFleetTarget"


class RealtimeDeepgramEndpoint(RealtimeAccess, DeepgramEndpointBase):
    """A SageMaker real-time endpoint serving a Deepgram model.

    Serves streaming connections (``InvokeEndpointWithBidirectionalStream``, up to 30
    minutes each) and synchronous pre-recorded requests (``InvokeEndpoint``). Scales on
    ``ConcurrentRequestsPerModel`` through the predefined high-resolution (10 s) metric
    type, never below one instance.

    Scaling modes, one prop each: plain target tracking (default); ``scale_in=
    StreamingSafeScaleIn()`` (target tracking only scales out, a step policy removes one
    instance after a quiet period); ``step_scaling=StepScalingOptions(...)`` (explicit steps
    instead of target tracking); and :meth:`scale_on_schedule` for a scheduled floor, which
    combines with any of them. ``endpoint.scaling`` offers the same levers as methods.

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
        Required unless ``step_scaling`` is given or every pool declares ``max_concurrency``.
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
    :param deployment: How an update of the model or endpoint config reaches callers:
        ``DeploymentStrategy.canary(...)``, ``.linear(...)``, ``.rolling(...)`` or
        ``.all_at_once()`` (docs/aws-behaviour.md#deployment-guardrails). Canary, linear and
        rolling need ``min_capacity`` >= 2. Guardrails do not apply to Marketplace packages:
        only ``all_at_once()`` is accepted there, and renders nothing. With a strategy the
        endpoint can roll back, so replaced endpoint configs are kept on update
        (``UpdateReplacePolicy: Retain``; docs/aws-behaviour.md#keep-replaced-configs).
        Default: None (SageMaker's blue/green, all at once, no rollback alarms).
    :param rollback_alarms: Alarms that roll an update back (at most 10), for full
        control; give each a fixed ``alarm_name``. Default: the default rollback alarms (see
        ``rollback_alarm_options``), apart from the monitoring alarms, which keep watching
        the whole endpoint and roll nothing back.
    :param rollback_alarm_options: Shape the default rollback alarms: the 5XX and model
        error rates over both fleets and the new fleet's p99 latency, each judged only on
        minutes with enough requests (docs/aws-behaviour.md#rollback-alarms). Default:
        :class:`RealtimeRollbackAlarmOptions`.
    :param suspend_scaling: Suspend dynamic and scheduled scaling on the scalable target
        (``SuspendedState``). Deploy once with it before a model update, and once without it
        after: SageMaker refuses an update while a scaling activity runs
        (docs/aws-behaviour.md#suspend-scaling-for-updates). Default: False.
    """

    _min_capacity_floor = 1
    _high_resolution_signal = True
    #: The real-time metric factory.
    metrics: RealtimeMetrics

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
        deployment: DeploymentStrategy | None = None,
        rollback_alarms: Sequence[cloudwatch.IAlarm] | None = None,
        rollback_alarm_options: RealtimeRollbackAlarmOptions | None = None,
        suspend_scaling: bool = False,
        alarms: RealtimeAlarmOptions | None = None,
        scale_in: StreamingSafeScaleIn | None = None,
        step_scaling: StepScalingOptions | None = None,
        target_utilization: float = 0.75,
        high_resolution_companion: bool = True,
    ) -> None:
        alarms = alarms if alarms is not None else RealtimeAlarmOptions()
        problems = Problems(lambda: construct_path(scope, construct_id))
        props = shared_props(locals(), problems)  # the arguments above, by name
        plan = plan_realtime_scaling(
            problems, signals=pool_signals(props.instance_pools),
            target_concurrency_per_instance=target_concurrency_per_instance,
            target_utilization=target_utilization,
            high_resolution_companion=high_resolution_companion,
            step_scaling=step_scaling is not None)
        problems.run(*shared_rules(props, min_capacity_floor=self._min_capacity_floor,
                          stack_region=stack_env(stack_of(scope)).region),
                     *_realtime_rules(alarms=alarms, scale_in=scale_in,
                                      step_scaling=step_scaling,
                                      target=target_concurrency_per_instance,
                                      utilization=target_utilization, plan=plan),
                     lambda p: check_option_type(p, "rollback_alarm_options",
                                                 rollback_alarm_options,
                                                 RealtimeRollbackAlarmOptions))
        super().__init__(scope, construct_id, props=props, metrics=RealtimeMetrics)
        self.target_utilization = target_utilization
        #: The scaling plan the props chose (kind, targets, metric-math queries).
        self.plan: RealtimeScalingPlan = plan
        #: What the endpoint scales on: a :class:`ScalingKind`, equal to 0.1's strings
        #: (``"predefined"``, ``"pool-utilization"``, ...).
        self.scaling_signal: ScalingKind = plan.kind
        self.target_concurrency_per_instance = plan.target_concurrency_per_instance
        #: Target tracking on the predefined high-resolution concurrency metric.
        self.scaling_policy: appscaling.TargetTrackingScalingPolicy | None = None
        #: The metric-math policy of a mixed fleet.
        self.mixed_fleet_policy: appscaling.CfnScalingPolicy | None = None
        #: The one-instance-at-a-time removal policy and its alarm (streaming-safe mode).
        self.scale_in_policy: appscaling.StepScalingAction | None = None
        self.scale_in_alarm: cloudwatch.Alarm | None = None
        #: The step policy when step scaling was chosen.
        self.step_scaling_policy: appscaling.StepScalingPolicy | None = None
        self._warn_about_a_low_companion(target_concurrency_per_instance)
        self._apply(plan, scale_in=scale_in, step_scaling=step_scaling,
                    scale_out_cooldown=scale_out_cooldown, scale_in_cooldown=scale_in_cooldown)
        self._add_alarms(REALTIME_ALARMS, alarms, REALTIME_ROLLBACK_ALARMS,
                         rollback_alarm_options or RealtimeRollbackAlarmOptions())

    def _warn_about_a_low_companion(self, given: float | None) -> None:
        """A companion target below what the largest pool serves at the target utilization
        outvotes the metric-math policy (the largest capacity wins,
        docs/aws-behaviour.md#several-policies) and leaves large instances under-used."""
        capacities = [p.max_concurrency for p in self.instance_pools
                      if p.max_concurrency is not None]
        if given is None or is_token(given) or self.plan.concurrency_target is None \
                or self.plan.kind not in (ScalingKind.POOL_UTILIZATION,
                                          ScalingKind.WEIGHTED_UTILIZATION) or not capacities:
            return
        fair = self.target_utilization * max(capacities)
        if given < fair:
            Annotations.of(self).add_warning_v2(
                LOW_COMPANION_WARNING_ID,
                f"target_concurrency_per_instance ({given:g}) is below target_utilization x "
                f"the largest declared capacity ({fair:g}): the high-resolution companion then "
                "asks for more instances than the metric-math policy, and instances of the "
                "larger types run below the target utilization. Leave it unset to derive it.")

    def _apply(self, plan: RealtimeScalingPlan, *, scale_in: StreamingSafeScaleIn | None,
               step_scaling: StepScalingOptions | None, scale_out_cooldown: Duration,
               scale_in_cooldown: Duration) -> None:
        """Ask ``scaling`` for the policies the plan lists."""
        scaling = self.scaling
        if step_scaling is not None:
            self.step_scaling_policy = scaling.scale_on_steps(
                "StepScaling", options=step_scaling,
                metric=self.metrics.concurrent_requests_per_model(),
                aggregation=appscaling.MetricAggregationType.MAXIMUM)
            return
        disable_scale_in = scale_in is not None
        if plan.fleet_target is not None:
            self.mixed_fleet_policy = scaling.scale_on_fleet_utilization(
                "MixedFleetScaling", queries=plan.queries, metrics=self.metrics,
                target=plan.fleet_target, scale_out_cooldown=scale_out_cooldown,
                scale_in_cooldown=scale_in_cooldown, disable_scale_in=disable_scale_in)
        if plan.concurrency_target is not None:
            self.scaling_policy = scaling.scale_on_concurrency(
                "ConcurrencyScaling", target=plan.concurrency_target,
                scale_out_cooldown=scale_out_cooldown, scale_in_cooldown=scale_in_cooldown,
                disable_scale_in=disable_scale_in)
        if scale_in is not None:
            assert plan.binding_concurrency is not None
            self.scale_in_policy, self.scale_in_alarm = scaling.add_streaming_safe_scale_in(
                options=scale_in, metric=self.metrics.concurrent_requests_per_model(),
                scale_out_concurrency=plan.binding_concurrency)

    @property
    def _least_outstanding_routing(self) -> bool:
        return len(self.instance_pools) > 1

    @staticmethod
    def from_endpoint_name(scope: Construct, construct_id: str, endpoint_name: str, *,
                           variant_name: str = VARIANT_NAME, max_capacity: float | None = None,
                           alarm_topic: sns.ITopic | None = None) -> ImportedRealtimeEndpoint:
        """A real-time endpoint another stack or team owns, to grant and watch: the same
        ``grant_*``, ``metric_*``, ``add_alarms`` and ``add_dashboard`` helpers, on the
        endpoint's ARN in this stack's account and region.

        :param variant_name: Default: ``AllTraffic`` (Deepgram's listings use it).
        :param max_capacity: Its scaling maximum, for the ``capacity_at_max`` alarm and the
            dashboard. Default: unknown (that alarm is left out).
        :param alarm_topic: Where ``add_alarms`` notifies. Default: nowhere.
        """
        return ImportedRealtimeEndpoint(scope, construct_id, endpoint_name=endpoint_name,
                                        variant_name=variant_name, max_capacity=max_capacity,
                                        alarm_topic=alarm_topic)

    def metric_fleet_utilization(self, *, period: Duration = ONE_MINUTE
                                 ) -> cloudwatch.MathExpression:
        """The mixed-fleet signal (the most loaded pool's utilization, or the weighted
        form), exactly as the metric-math policy computes it. Needs ``max_concurrency`` or
        ``weight`` declared on every pool."""
        if not self.plan.queries:
            raise DeepgramScalingConfigError(
                "metric_fleet_utilization needs two or more pools declaring different "
                f"max_concurrency (or weights), got the signal {str(self.scaling_signal)!r}")
        return self.metrics.fleet_signal(self.plan.queries, period=period)

    def _dashboard_rows(self, period: Duration) -> list[list[cloudwatch.IWidget]]:
        rows = super()._dashboard_rows(period)
        if self.mixed_fleet_policy is not None:
            target = self.plan.fleet_target
            rows.insert(0, [graph("Mixed-fleet signal (metric-math policy)",
                                  [self.metric_fleet_utilization(period=period)],
                                  annotations=[("target", target)] if target else [])])
        return rows



def _realtime_rules(*, alarms: object, scale_in: object, step_scaling: object,
                    target: object, utilization: object,
                    plan: RealtimeScalingPlan) -> list[Rule]:
    """The rules only a real-time endpoint has."""

    def scale_in_below_scale_out(problems: Problems) -> None:
        binding = plan.binding_concurrency
        if not isinstance(scale_in, StreamingSafeScaleIn) or scale_in.low_water_mark is None \
                or not isinstance(binding, (int, float)) or is_token(binding):
            return
        if scale_in.low_water_mark >= binding:
            problems.add(f"scale_in.low_water_mark must be below the concurrency at which "
                         f"scaling out starts ({binding:g} per instance), got "
                         f"{scale_in.low_water_mark}")

    def one_scale_in_mode(problems: Problems) -> None:
        if step_scaling is not None and scale_in is not None:
            problems.add("scale_in applies to target tracking; with step_scaling, put the "
                         "scale-in steps in step_scaling.steps, got both")

    return [
        lambda p: p.number("target_utilization", utilization, minimum=0,
                           exclusive_minimum=True, maximum=1),
        lambda p: None if target is None else p.number(
            "target_concurrency_per_instance", target, minimum=0, exclusive_minimum=True),
        lambda p: check_option_type(p, "alarms", alarms, RealtimeAlarmOptions, optional=False),
        lambda p: check_option_type(p, "scale_in", scale_in, StreamingSafeScaleIn),
        lambda p: check_option_type(p, "step_scaling", step_scaling, StepScalingOptions),
        one_scale_in_mode,
        scale_in_below_scale_out,
    ]
