"""Scaling as one construct: the variant's scalable target and every policy on it.

Both endpoint types create one (``endpoint.scaling``) and call the methods their props ask
for; the methods are public, so a user can add what the props do not cover. Compare
aws-sagemaker-alpha's ``ScalableInstanceCount``, which hands scaling out the same way.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import jsii
from aws_cdk import Annotations, Duration, Names, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from constructs import Construct, IValidation

from ._compat import format_arn, keep_logical_id, stack_of
from ._validation import Problems, is_token, whole_seconds
from .deployment import DeploymentStrategy, highest_ceiling, stepped_update_floor_problem
from .metric_math import MetricQuery
from .metrics import RealtimeMetrics
from .scaling_options import (
    MAX_SCHEDULED_ACTIONS,
    StepScalingOptions,
    StreamingSafeScaleIn,
    parse_schedule,
)
from .schedule_expressions import schedule_warnings

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
#: Application Auto Scaling's service-linked role for SageMaker variants
#: (docs/aws-behaviour.md#service-linked-role).
AUTOSCALING_SERVICE_LINKED_ROLE = (
    "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)
#: The wake-up step policy's cooldown in AWS's scale-from-zero recipe
#: (docs/aws-behaviour.md#wake-up-from-zero).
WAKE_UP_COOLDOWN = Duration.seconds(300)
UNCONFIRMED_SCHEDULE_WARNING_ID = "deepgram-scaling:scheduleUnconfirmed"


class EndpointScaling(Construct):
    """The scalable target of a SageMaker endpoint variant and the policies on it.

    :param endpoint_name: The endpoint's name (a token is fine: referencing the endpoint's
        name makes the target depend on it, so it is never registered before the endpoint
        exists, docs/aws-behaviour.md#variant-scalable-target).
    :param variant_name: The variant.
    :param min_capacity: Fewest instances (0 only for asynchronous endpoints).
    :param max_capacity: Most instances.
    :param min_capacity_floor: Smallest ``min_capacity`` a scheduled action may set. Default:
        1.
    :param deployment: The endpoint's update strategy: a canary, linear or rolling one
        needs a scheduled floor of at least two instances too, and its timeout must cover
        the steps on a scheduled ceiling too (docs/aws-behaviour.md#stepped-update-floor).
        Default: None.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variant_name: str,
        min_capacity: int,
        max_capacity: int,
        min_capacity_floor: int = 1,
        deployment: DeploymentStrategy | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._deployment = deployment
        self.min_capacity = min_capacity
        self.max_capacity = max_capacity
        self._floor = min_capacity_floor
        self._scheduled_actions = 0
        self._ceilings: list[object] = [max_capacity]
        #: The Application Auto Scaling target on the variant's instance count.
        self.scalable_target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{endpoint_name}/variant/{variant_name}",
            scalable_dimension=SCALABLE_DIMENSION,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            role=iam.Role.from_role_arn(
                self,
                "ServiceLinkedRole",
                # this construct's stack is its scope's
                format_arn(stack_of(scope), service="iam", region="", resource="role",
                           resource_name=AUTOSCALING_SERVICE_LINKED_ROLE),
                mutable=False,
            ),
        )

    def keep_legacy_id(self, owner_path: Sequence[str]) -> None:
        """Keep the 0.1 logical id of the target (``<owner>/ScalableTarget``): a new id
        would register the variant again and then deregister it with the old resource,
        deleting every policy (see ``_compat``)."""
        keep_logical_id(self.scalable_target.node.default_child,  # type: ignore[arg-type]
                        owner_path, "ScalableTarget", "Resource")

    def suspend(self) -> None:
        """Suspend dynamic and scheduled scaling (the target's ``SuspendedState``), e.g. for
        the length of a model update: SageMaker refuses an update while a scaling activity
        has the endpoint ``Updating`` (docs/aws-behaviour.md#suspend-scaling-for-updates)."""
        cfn = self.scalable_target.node.default_child
        assert isinstance(cfn, appscaling.CfnScalableTarget)
        cfn.suspended_state = appscaling.CfnScalableTarget.SuspendedStateProperty(
            dynamic_scaling_in_suspended=True, dynamic_scaling_out_suspended=True,
            scheduled_scaling_suspended=True)

    # --- target tracking ---------------------------------------------------------------

    def scale_on_concurrency(
        self, construct_id: str, *, target: float, scale_out_cooldown: Duration,
        scale_in_cooldown: Duration, disable_scale_in: bool = False,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Target tracking on the predefined high-resolution ``ConcurrentRequestsPerModel``
        type (docs/aws-behaviour.md#concurrency-metric)."""
        return appscaling.TargetTrackingScalingPolicy(
            self, construct_id,
            scaling_target=self.scalable_target,
            target_value=target,
            predefined_metric=(appscaling.PredefinedMetric
                               .SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION),
            scale_out_cooldown=scale_out_cooldown,
            scale_in_cooldown=scale_in_cooldown,
            disable_scale_in=True if disable_scale_in else None,
        )

    def scale_on_fleet_utilization(
        self, construct_id: str, *, queries: tuple[MetricQuery, ...], metrics: RealtimeMetrics,
        target: float, scale_out_cooldown: Duration, scale_in_cooldown: Duration,
        disable_scale_in: bool = False,
    ) -> appscaling.CfnScalingPolicy:
        """Target tracking on the mixed-fleet metric math
        (docs/aws-behaviour.md#metric-math-target-tracking). The L2 policy takes one metric
        only, so this is the L1 resource."""
        cfn = appscaling.CfnScalingPolicy
        policy = cfn(
            self, construct_id,
            policy_name="placeholder",
            policy_type="TargetTrackingScaling",
            scaling_target_id=self.scalable_target.scalable_target_id,
            target_tracking_scaling_policy_configuration=cfn.TargetTrackingScalingPolicyConfigurationProperty(
                target_value=target,
                scale_out_cooldown=int(whole_seconds(scale_out_cooldown)),
                scale_in_cooldown=int(whole_seconds(scale_in_cooldown)),
                disable_scale_in=True if disable_scale_in else None,
                customized_metric_specification=cfn.CustomizedMetricSpecificationProperty(
                    metrics=metrics.fleet_queries(queries)),
            ),
        )
        policy.policy_name = Names.unique_id(policy)
        return policy

    def scale_on_backlog(
        self, construct_id: str, *, metric: cloudwatch.IMetric, target: float,
        scale_out_cooldown: Duration, scale_in_cooldown: Duration,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Target tracking on ``ApproximateBacklogSizePerInstance``
        (docs/aws-behaviour.md#async-target-tracking)."""
        return appscaling.TargetTrackingScalingPolicy(
            self, construct_id,
            scaling_target=self.scalable_target,
            target_value=target,
            custom_metric=metric,
            scale_out_cooldown=scale_out_cooldown,
            scale_in_cooldown=scale_in_cooldown,
        )

    # --- step policies -----------------------------------------------------------------

    def scale_on_steps(
        self, construct_id: str, *, options: StepScalingOptions, metric: cloudwatch.IMetric,
        aggregation: appscaling.MetricAggregationType,
    ) -> appscaling.StepScalingPolicy:
        """Explicit steps (docs/aws-behaviour.md#step-bounds)."""
        return self.scalable_target.scale_on_metric(
            construct_id,
            metric=metric,
            scaling_steps=list(options.ordered_steps),
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=options.cooldown,
            evaluation_periods=options.evaluation_periods,
            datapoints_to_alarm=options.datapoints_to_alarm or options.evaluation_periods,
            metric_aggregation_type=aggregation,
        )

    def add_wake_up_from_zero(
        self, *, metric: cloudwatch.IMetric,
    ) -> tuple[appscaling.StepScalingAction, cloudwatch.Alarm]:
        """AWS's scale-from-zero recipe: +1 instance while ``HasBacklogWithoutCapacity``
        (Average, 60 s) is >= 1 for 2 of 2 datapoints, missing data treated as missing
        (docs/aws-behaviour.md#wake-up-from-zero)."""
        action = self._single_step("WakeUpFromZero", adjustment=1, cooldown=WAKE_UP_COOLDOWN,
                                   aggregation=appscaling.MetricAggregationType.AVERAGE)
        alarm = cloudwatch.Alarm(
            self, "HasBacklogWithoutCapacityAlarm",
            metric=metric,
            threshold=1,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.MISSING,
            alarm_description="Work waits at an endpoint with no instance: add one "
                              "(scale from zero).",
        )
        alarm.add_alarm_action(cw_actions.ApplicationScalingAction(action))
        return action, alarm

    def add_streaming_safe_scale_in(
        self, *, options: StreamingSafeScaleIn, metric: cloudwatch.IMetric,
        scale_out_concurrency: float,
    ) -> tuple[appscaling.StepScalingAction, cloudwatch.Alarm]:
        """Remove one instance after ``quiet_period`` below the low-water mark; the cooldown
        is the quiet period again, so the fleet shrinks one instance per quiet period.

        ``scale_out_concurrency`` is where some policy starts to scale out (in a mixed fleet,
        the smallest pool's): the default low-water mark is half of it, so the removal alarm
        always sits below every scale-out threshold and the policies never fight."""
        low_water = options.low_water(scale_out_concurrency)
        minutes = int(options.quiet_period.to_minutes())
        action = self._single_step("StreamingSafeScaleIn", adjustment=-1,
                                   cooldown=options.quiet_period,
                                   aggregation=appscaling.MetricAggregationType.MAXIMUM)
        alarm = cloudwatch.Alarm(
            self, "QuietAlarm",
            metric=metric,
            threshold=low_water,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            # No datapoint means no request at all: as quiet as it gets.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            alarm_description=f"Concurrency stayed below {low_water} per instance for "
                              f"{minutes} minutes: remove one instance.",
        )
        alarm.add_alarm_action(cw_actions.ApplicationScalingAction(action))
        return action, alarm

    def _single_step(self, construct_id: str, *, adjustment: int, cooldown: Duration,
                     aggregation: appscaling.MetricAggregationType,
                     ) -> appscaling.StepScalingAction:
        action = appscaling.StepScalingAction(
            self, construct_id,
            scaling_target=self.scalable_target,
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            metric_aggregation_type=aggregation,
            cooldown=cooldown,
        )
        if adjustment > 0:
            action.add_adjustment(adjustment=adjustment, lower_bound=0)
        else:
            action.add_adjustment(adjustment=adjustment, upper_bound=0)
        return action

    # --- schedules ---------------------------------------------------------------------

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
        """Change the capacity bounds at a scheduled time (an Application Auto Scaling
        scheduled action, docs/aws-behaviour.md#scheduled-actions). Scheduled actions ignore
        cooldowns, and the bounds stay until another action changes them: pair a raise with
        a release.

        :param construct_id: Name of the action, unique on this endpoint.
        :param schedule: ``appscaling.Schedule`` or ``"cron(m h dom mon dow year)"``,
            ``"rate(N unit)"``, ``"at(yyyy-mm-ddThh:mm:ss)"``.
        :param min_capacity: New floor. Default: unchanged.
        :param max_capacity: New ceiling. Default: unchanged.
        :param time_zone: Time zone of a cron or at expression. Default: UTC.
        :param start_time: Default: now.
        :param end_time: Default: never.
        """
        problems = Problems(lambda: self.node.path)
        parsed = parse_schedule(problems, "schedule", schedule)
        self._check_bounds(problems, min_capacity, max_capacity)
        if self._deployment is not None:
            floor = stepped_update_floor_problem(
                self._deployment, min_capacity,
                prop=f"min_capacity of scheduled action {construct_id!r}")
            if floor is not None:
                problems.add(floor)
            # A fleet the action raises takes more steps than the endpoint's ceiling
            # allowed for (docs/aws-behaviour.md#stepped-update-floor).
            timeout = None if problems or max_capacity is None else \
                self._deployment.timeout_problem(
                    max_capacity=highest_ceiling(*self._ceilings, max_capacity))
            if timeout is not None:
                problems.add(f"{timeout}, with the ceiling of {max_capacity} instances that "
                             f"scheduled action {construct_id!r} sets (max_capacity); lower "
                             "that max_capacity, raise the timeout or widen the steps")
        problems.raise_if_any()
        # A string schedule is its own expression (parse_schedule made the Schedule from it):
        # no round trip to read it back (make bench-synth).
        expression = (schedule.strip() if isinstance(schedule, str) else
                      parsed.expression_string if parsed is not None else "")
        if not is_token(expression):
            for warning in schedule_warnings(expression):
                Annotations.of(self).add_warning_v2(
                    UNCONFIRMED_SCHEDULE_WARNING_ID,
                    f"scale_on_schedule {construct_id!r}: schedule {warning}")
        assert parsed is not None
        self.scalable_target.scale_on_schedule(
            construct_id, schedule=parsed, min_capacity=min_capacity,
            max_capacity=max_capacity, time_zone=time_zone, start_time=start_time,
            end_time=end_time,
        )
        self._scheduled_actions += 1
        self._ceilings.append(max_capacity)
        if self._scheduled_actions == MAX_SCHEDULED_ACTIONS + 1:
            # Checked at synthesis, over the final count, once the quota is passed: a
            # validation on every target would cost round trips to the jsii kernel, and a
            # call back from it at synthesis, for nothing (make bench-synth).
            self.node.add_validation(_ScheduledActionQuota(self))

    @property
    def scheduled_actions(self) -> int:
        """How many scheduled actions this target holds."""
        return self._scheduled_actions

    @property
    def highest_ceiling(self) -> int | None:
        """The most instances the fleet may reach: the highest of ``max_capacity`` and every
        scheduled action's ceiling. None when one of them is known only at deploy time."""
        return highest_ceiling(*self._ceilings)

    def _check_bounds(self, problems: Problems, low: int | None, high: int | None) -> None:
        if low is None and high is None:
            problems.add("scale_on_schedule needs min_capacity, max_capacity or both, got neither")
            return
        kind = "a real-time endpoint" if self._floor >= 1 else "an asynchronous endpoint"
        low_ok = low is None or problems.number("min_capacity", low, minimum=self._floor,
                                                integer=True, why=f"for {kind}")
        high_ok = high is None or problems.number("max_capacity", high, minimum=1, integer=True)
        if not (low_ok and high_ok):
            return
        if low is not None and high is not None:
            if not is_token(low) and not is_token(high) and low > high:
                problems.add(f"min_capacity must be <= max_capacity ({high}) within one "
                             f"scheduled action, got {low}")
        elif low is not None and not is_token(low) and not is_token(self.max_capacity) \
                and low > self.max_capacity:
            problems.add(f"min_capacity must be <= the endpoint's max_capacity "
                         f"({self.max_capacity}) unless the action also sets max_capacity, "
                         f"got {low}")
        elif high is not None and not is_token(high) and not is_token(self.min_capacity) \
                and high < self.min_capacity:
            problems.add(f"max_capacity must be >= the endpoint's min_capacity "
                         f"({self.min_capacity}) unless the action also sets min_capacity, "
                         f"got {high}")


@jsii.implements(IValidation)
class _ScheduledActionQuota:
    """A synthesis-time check: a scalable target holds at most 200 scheduled actions
    (docs/aws-behaviour.md#scaling-quotas)."""

    def __init__(self, scaling: EndpointScaling) -> None:
        self._scaling = scaling

    def validate(self) -> list[str]:
        count = self._scaling.scheduled_actions
        if count <= MAX_SCHEDULED_ACTIONS:
            return []
        return [f"scale_on_schedule: a scalable target holds at most {MAX_SCHEDULED_ACTIONS} "
                f"scheduled actions (Application Auto Scaling's quota), got {count}"]
