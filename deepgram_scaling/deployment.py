"""How a model update reaches callers: SageMaker's deployment guardrails, typed.

A new endpoint config (a new model, image or settings) is applied by ``UpdateEndpoint``,
blue/green by default with all traffic moved at once. Guardrails move traffic in a canary or
linear way, or replace the fleet in rolling batches, and roll back when CloudWatch alarms fire
(docs/aws-behaviour.md#deployment-guardrails).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker

from ._compat import format_arn, stack_of
from ._validation import Problems, fmt, is_token, seconds_of, to_seconds
from .nag import acknowledge_wildcard

#: Ranges of the API (TrafficRoutingConfig, BlueGreenUpdatePolicy, RollingUpdatePolicy,
#: AutoRollbackConfig; docs/aws-behaviour.md#deployment-guardrails).
WAIT_RANGE_S = (0, 3600)
TERMINATION_WAIT_RANGE_S = (0, 3600)
EXECUTION_TIMEOUT_RANGE_S = (600, 28_800)
CANARY_PERCENT_RANGE = (1, 50)
LINEAR_PERCENT_RANGE = (10, 50)
ROLLING_PERCENT_RANGE = (5, 50)
ROLLBACK_PERCENT_RANGE = (1, 100)
MAX_ROLLBACK_ALARMS = 10
#: Fewest instances a canary, linear or rolling update can be formed on: a canary is at most
#: 50 % of the variant's instances, a linear step and a rolling batch at most 50 % too, so one
#: instance admits none (docs/aws-behaviour.md#stepped-update-floor).
MIN_STEPPED_CAPACITY = 2


class DeploymentKind(StrEnum):
    ALL_AT_ONCE = "ALL_AT_ONCE"
    CANARY = "CANARY"
    LINEAR = "LINEAR"
    ROLLING = "ROLLING"


@dataclass(frozen=True)
class DeploymentStrategy:
    """How an update of the endpoint config reaches the fleet. Build it with
    :meth:`all_at_once`, :meth:`canary`, :meth:`linear` or :meth:`rolling`."""

    kind: DeploymentKind
    percent: float | None = None
    wait: Duration | None = None
    termination_wait: Duration | None = None
    maximum_execution_timeout: Duration | None = None
    rollback_batch_percent: float | None = None

    @staticmethod
    def all_at_once(*, wait: Duration = Duration.minutes(10),
                    termination_wait: Duration | None = None,
                    maximum_execution_timeout: Duration | None = None) -> DeploymentStrategy:
        """Blue/green with all traffic moved in one step, then a baking period of ``wait``
        (0-3600 s, rendered as ``WaitIntervalInSeconds``) in which the rollback alarms watch
        the new fleet while the old one still runs; if one fires, traffic goes back to the
        old fleet. The API reference marks ``WaitIntervalInSeconds`` as required on every
        ``TrafficRoutingConfig``, and AWS's all-at-once page has SageMaker wait
        ``TerminationWaitInSeconds`` "after the final baking period", so the termination
        wait is a separate field that comes after the bake
        (docs/aws-behaviour.md#all-at-once-bake). With a bake shorter than the alarms'
        evaluation window they could never fire.

        :param wait: The baking period. Default: ``Duration.minutes(10)`` (the length of
            AWS's example).
        :param termination_wait: How long the old fleet stays after the bake (0-3600 s).
            Default: SageMaker's (0).
        :param maximum_execution_timeout: The whole update's limit (600-28800 s); it must
            exceed ``wait`` plus ``termination_wait``. Default: SageMaker's.
        """
        return DeploymentStrategy(DeploymentKind.ALL_AT_ONCE, None, wait, termination_wait,
                                  maximum_execution_timeout)

    @staticmethod
    def canary(*, percent: float, wait: Duration, termination_wait: Duration | None = None,
               maximum_execution_timeout: Duration | None = None) -> DeploymentStrategy:
        """Blue/green: ``percent`` of the new fleet's capacity (1-50) takes traffic first;
        after ``wait`` (0-3600 s) without a rollback alarm, the rest follows.

        :param termination_wait: How long the old fleet stays after the shift (0-3600 s).
            Default: SageMaker's (0).
        :param maximum_execution_timeout: The whole update's limit (600-28800 s). Default:
            SageMaker's.
        """
        return DeploymentStrategy(DeploymentKind.CANARY, percent, wait, termination_wait,
                                  maximum_execution_timeout)

    @staticmethod
    def linear(*, step_percent: float, wait: Duration, termination_wait: Duration | None = None,
               maximum_execution_timeout: Duration | None = None) -> DeploymentStrategy:
        """Blue/green in steps of ``step_percent`` of the new fleet's capacity (10-50), each
        followed by ``wait`` (0-3600 s). Optional arguments as for :meth:`canary`."""
        return DeploymentStrategy(DeploymentKind.LINEAR, step_percent, wait, termination_wait,
                                  maximum_execution_timeout)

    @staticmethod
    def rolling(*, batch_percent: float, wait: Duration,
                rollback_batch_percent: float | None = None,
                maximum_execution_timeout: Duration | None = None) -> DeploymentStrategy:
        """The fleet is replaced in batches of ``batch_percent`` of its instances (5-50),
        each followed by ``wait`` (0-3600 s): less extra quota than blue/green.

        :param rollback_batch_percent: Batch size of a rollback (1-100). Default:
            SageMaker's (100 %, all at once).
        :param maximum_execution_timeout: As for :meth:`canary`.
        """
        return DeploymentStrategy(DeploymentKind.ROLLING, batch_percent, wait,
                                  maximum_execution_timeout=maximum_execution_timeout,
                                  rollback_batch_percent=rollback_batch_percent)

    @property
    def has_guardrails(self) -> bool:
        """Whether traffic moves in steps (canary, linear, rolling), which needs a fleet of
        at least :data:`MIN_STEPPED_CAPACITY` instances."""
        return self.kind is not DeploymentKind.ALL_AT_ONCE

    @property
    def steps(self) -> int | None:
        """Baking periods the update runs through: two for a canary (the canary, then the
        rest), one per step or batch for linear and rolling (a step that does not divide 100
        still makes a step of its own: 30 % steps are four), one for all-at-once. None when
        the percentage is not a plain number."""
        if self.kind is DeploymentKind.ALL_AT_ONCE:
            return 1
        if self.kind is DeploymentKind.CANARY:
            return 2
        percent = self.percent
        if not isinstance(percent, (int, float)) or isinstance(percent, bool) \
                or is_token(percent) or percent <= 0:
            return None
        return math.ceil(100 / percent)

    def steps_on(self, max_capacity: object) -> int | None:
        """:attr:`steps` on a fleet of at most ``max_capacity`` instances: a linear step or
        a rolling batch holds at least one instance, so a fleet of four is done in at most
        four, whatever the percentage (docs/aws-behaviour.md#stepped-update-floor; how
        SageMaker rounds a percentage of a small fleet is unconfirmed). ``max_capacity`` is
        the highest ceiling the fleet may reach, a scheduled action's included
        (:func:`highest_ceiling`); one that is not a plain whole number leaves :attr:`steps`
        as it is."""
        steps = self.steps
        if steps is None or self.kind not in (DeploymentKind.LINEAR, DeploymentKind.ROLLING) \
                or not _whole_fleet(max_capacity):
            return steps
        assert isinstance(max_capacity, int)
        return min(steps, max_capacity)

    def check(self, problems: Problems, *, max_capacity: object = None) -> None:
        """Add every problem with these settings to ``problems``.

        :param max_capacity: The highest ceiling of the fleet, which bounds the number of
            steps (:meth:`steps_on`). Default: None (steps as the percentage gives them).
        """
        ranges = {DeploymentKind.CANARY: ("percent", CANARY_PERCENT_RANGE),
                  DeploymentKind.LINEAR: ("step_percent", LINEAR_PERCENT_RANGE),
                  DeploymentKind.ROLLING: ("batch_percent", ROLLING_PERCENT_RANGE)}
        if self.kind in ranges:
            name, (low, high) = ranges[self.kind]
            problems.number(f"deployment.{name}", self.percent, minimum=low, maximum=high,
                            integer=True, why="(whole percent of the fleet, the API's range)")
        problems.duration("deployment.wait", self.wait, minimum_s=WAIT_RANGE_S[0],
                          maximum_s=WAIT_RANGE_S[1])
        for name, value, (low, high) in (
                ("termination_wait", self.termination_wait, TERMINATION_WAIT_RANGE_S),
                ("maximum_execution_timeout", self.maximum_execution_timeout,
                 EXECUTION_TIMEOUT_RANGE_S)):
            if value is not None:
                problems.duration(f"deployment.{name}", value, minimum_s=low, maximum_s=high)
        if self.rollback_batch_percent is not None:
            low, high = ROLLBACK_PERCENT_RANGE
            problems.number("deployment.rollback_batch_percent", self.rollback_batch_percent,
                            minimum=low, maximum=high, integer=True)
        timeout = self.timeout_problem(max_capacity=max_capacity)
        if timeout is not None:
            problems.add(timeout)

    def timeout_problem(self, *, max_capacity: object = None) -> str | None:
        """The problem when ``maximum_execution_timeout`` does not exceed the waits of an
        update on a fleet of at most ``max_capacity`` instances, else None. Nothing is
        compared while the timeout, a wait or the number of steps is known only at deploy
        time.

        :param max_capacity: The highest ceiling of the fleet, a scheduled action's included
            (:func:`highest_ceiling`). Default: None (steps as the percentage gives them).
        """
        limit, steps = self.maximum_execution_timeout, self.steps_on(max_capacity)
        durations = [d for d in (self.wait, self.termination_wait) if d is not None]
        if not isinstance(limit, Duration) or steps is None \
                or not all(isinstance(d, Duration) for d in durations):
            return None
        seconds = [to_seconds(d) for d in (limit, *durations)]
        if any(is_token(s) for s in seconds):
            return None
        # One bake per step (docs/aws-behaviour.md#deployment-guardrails), all-at-once's one
        # included (#all-at-once-bake); the termination wait comes once, after the last.
        wait_s = seconds_or_zero(self.wait)
        waits = wait_s * steps + seconds_or_zero(self.termination_wait)
        if seconds[0] > waits:
            return None
        return ("deployment.maximum_execution_timeout must exceed the waits it contains "
                f"({waits:g} s over {steps} step(s)), got {fmt(limit)}")

    @property
    def bake(self) -> Duration | None:
        """How long rollback alarms watch each step: the wait after it, all-at-once's single
        step included (docs/aws-behaviour.md#all-at-once-bake)."""
        return self.wait

    def render(self, alarm_names: Sequence[str]) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
        """The endpoint's ``DeploymentConfig``, rolling back on ``alarm_names``."""
        cfn = sagemaker.CfnEndpoint
        rollback = cfn.AutoRollbackConfigProperty(
            alarms=[cfn.AlarmProperty(alarm_name=name) for name in alarm_names],
        ) if alarm_names else None
        timeout = seconds_of(self.maximum_execution_timeout) \
            if self.maximum_execution_timeout else None
        if self.kind is DeploymentKind.ROLLING:
            assert self.percent is not None and self.wait is not None
            return cfn.DeploymentConfigProperty(
                auto_rollback_configuration=rollback,
                rolling_update_policy=cfn.RollingUpdatePolicyProperty(
                    maximum_batch_size=_percent(self.percent),
                    wait_interval_in_seconds=seconds_of(self.wait),
                    maximum_execution_timeout_in_seconds=timeout,
                    rollback_maximum_batch_size=_percent(self.rollback_batch_percent)
                    if self.rollback_batch_percent is not None else None))
        size = _percent(self.percent) if self.percent is not None else None
        # All-at-once too: the API marks WaitIntervalInSeconds required; it is the bake
        # (docs/aws-behaviour.md#all-at-once-bake).
        routing = cfn.TrafficRoutingConfigProperty(
            type=self.kind.value,
            wait_interval_in_seconds=seconds_of(self.wait) if self.wait is not None else None,
            canary_size=size if self.kind is DeploymentKind.CANARY else None,
            linear_step_size=size if self.kind is DeploymentKind.LINEAR else None)
        return cfn.DeploymentConfigProperty(
            auto_rollback_configuration=rollback,
            blue_green_update_policy=cfn.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=routing,
                termination_wait_in_seconds=seconds_of(self.termination_wait)
                if self.termination_wait is not None else None,
                maximum_execution_timeout_in_seconds=timeout))

    def extra_instances(self, max_capacity: float) -> float:
        """Instances the update may run beside a fleet of at most ``max_capacity`` (its
        highest ceiling, a scheduled action's included): a whole second fleet for
        blue/green, one batch for rolling (docs/aws-behaviour.md#second-fleet-quota)."""
        if self.kind is DeploymentKind.ROLLING and self.percent is not None:
            return -(-max_capacity * self.percent // 100)
        return max_capacity


def _whole_fleet(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not is_token(value) \
        and value >= 1


def highest_ceiling(*ceilings: object) -> int | None:
    """The most instances the fleet may reach: the highest of the endpoint's
    ``max_capacity`` and every scheduled action's, which Application Auto Scaling applies
    while the action holds (docs/aws-behaviour.md#scheduled-actions). None when one of them
    is known only at deploy time (or is not a whole fleet): the fleet is then unbounded here.
    ``None`` among ``ceilings`` (an action that keeps the ceiling) is skipped."""
    known = [c for c in ceilings if c is not None]
    if not known or not all(_whole_fleet(c) for c in known):
        return None
    return max(c for c in known if isinstance(c, int))


def seconds_or_zero(duration: Duration | None) -> float:
    return 0 if duration is None else float(to_seconds(duration))


def _percent(value: float) -> sagemaker.CfnEndpoint.CapacitySizeProperty:
    return sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=value)


def describe_alarms_statement(policy: iam.ManagedPolicy, names: Sequence[str], *,
                              foreign: bool = False) -> iam.PolicyStatement:
    """Guardrails read their rollback alarms with the execution role, which needs
    ``cloudwatch:DescribeAlarms`` on them (docs/aws-behaviour.md#deployment-guardrails). A
    name CloudFormation generates cannot be written here without a dependency cycle through
    the role, so such alarms are covered by a pattern, acknowledged on ``policy``.

    :param foreign: Whether an alarm is not a metric alarm of this app (imported, perhaps
        composite): DescribeAlarms returns a composite alarm only to a permission on ``*``
        (docs/aws-behaviour.md#describe-composite-alarms), so the statement covers every
        alarm. Default: False.
    """
    stack = stack_of(policy)

    def arn(name: str) -> str:
        return format_arn(stack, service="cloudwatch", resource="alarm", resource_name=name,
                          colon=True)

    if foreign:
        acknowledge_wildcard(
            policy, "*",
            "A rollback alarm that is not a metric alarm of this app may be a composite alarm, "
            "which cloudwatch:DescribeAlarms returns only to a permission scoped to *.")
        return iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=["*"])
    resources = sorted({arn("*") if is_token(name) else arn(name) for name in names})
    if arn("*") in resources:
        resources = [arn("*")]
        acknowledge_wildcard(
            policy, arn("*"),
            "A rollback alarm's name is generated by CloudFormation; naming it here would make "
            "the execution role depend on the alarm, which depends on the endpoint.")
    return iam.PolicyStatement(actions=["cloudwatch:DescribeAlarms"], resources=resources)


def short_bake_warning(strategy: DeploymentStrategy,
                       guarding: Mapping[str, Any]) -> str | None:
    """A warning when a step bakes shorter than the rollback alarms need to see their
    datapoints (``guarding``: their ``AlarmOptions``, by name), else None."""
    bake = strategy.bake
    bake_s = to_seconds(bake) if bake is not None else 0
    windows = [to_seconds(options.period) * options.evaluation_periods
               for options in guarding.values() if options is not None]
    if not windows or is_token(bake_s) or any(is_token(w) for w in windows) \
            or bake_s >= max(windows):
        return None
    return (f"deployment.wait ({bake_s:g} s) is shorter than the rollback alarms need to see "
            f"their datapoints ({max(windows):g} s): a bad model could take all traffic before "
            "any alarm fires.")


def traffic_floor_note(guarding: Mapping[str, Any], *, new_fleet: Collection[str] = (),
                       first_step_percent: object = None) -> str:
    """The info that the default rollback alarms judge only busy periods (``guarding``:
    their ``RollbackAlarmOptions``, by name): a period with fewer than ``minimum_requests``
    requests counts as healthy, so on a quiet endpoint a bad release is never rolled back
    (docs/aws-behaviour.md#rollback-alarms).

    :param new_fleet: The alarms that count only the requests reaching the new fleet (their
        metric carries ``EndpointConfigName``): while the new fleet takes a share of the
        traffic, the endpoint needs the floor divided by that share. Default: none.
    :param first_step_percent: The share of traffic the new fleet takes first (a canary's
        percent, a linear step, a rolling batch), to say what the floor means across the
        endpoint. Default: None (not said).
    """
    share = first_step_percent if isinstance(first_step_percent, (int, float)) \
        and not isinstance(first_step_percent, bool) and not is_token(first_step_percent) \
        and 0 < first_step_percent < 100 else None
    floors = []
    for name, options in sorted(guarding.items()):
        period = to_seconds(options.period)
        floor = options.minimum_requests
        if is_token(period) or is_token(floor):
            floors.append(f"{name}: a floor set at deploy time")
        else:
            floors.append(f"{name}: {floor:g} requests per {period:g} s")
        if name in new_fleet:
            floors[-1] += " reaching the new fleet"
            if share is not None and not is_token(floor):
                floors[-1] += (f", about {floor * 100 / share:g} across the endpoint while "
                               f"the new fleet takes {share:g} %")
    return ("The rollback alarms judge only periods with at least their minimum_requests "
            f"({'; '.join(floors) or 'none created'}); quieter periods count as healthy, so "
            "an endpoint below that traffic during an update gets no error guardrail and a "
            "bad release is not rolled back. Lower minimum_requests in rollback_alarm_options "
            "or send test traffic while the update bakes.")


#: Why each stepped strategy cannot be formed on a fleet below MIN_STEPPED_CAPACITY.
_STEP_LIMITS = {
    DeploymentKind.CANARY: "a canary may be at most 50 % of the variant's instances",
    DeploymentKind.LINEAR: "a linear step may be 10-50 % of the variant's instances",
    DeploymentKind.ROLLING: "a rolling batch may be 5-50 % of the variant's instances",
}


def stepped_update_floor_problem(strategy: DeploymentStrategy, min_capacity: object, *,
                                 prop: str = "min_capacity") -> str | None:
    """The problem with a canary, linear or rolling update on a fleet that may be smaller
    than :data:`MIN_STEPPED_CAPACITY`, else None (docs/aws-behaviour.md#stepped-update-floor).

    The fleet an update meets is at least ``min_capacity`` (the endpoint's, or a scheduled
    action's floor while it holds); below two instances no step of the allowed sizes can be
    formed (at zero there is nothing to shift), so the update could only fail or fall back
    in ways no source documents.

    :param prop: The floor's name in the message. Default: ``min_capacity``.
    """
    limit = _STEP_LIMITS.get(strategy.kind)
    if limit is None or not isinstance(min_capacity, int) or isinstance(min_capacity, bool) \
            or is_token(min_capacity) or min_capacity >= MIN_STEPPED_CAPACITY:
        return None
    kind = strategy.kind.value.lower()
    return (f"{prop} must be >= {MIN_STEPPED_CAPACITY} for a {kind} update "
            f"(deployment=DeploymentStrategy.{kind}(...)): {limit}, so a fleet of "
            f"{min_capacity} instance(s) cannot be split; raise {prop} to "
            f"{MIN_STEPPED_CAPACITY} or more, or use DeploymentStrategy.all_at_once(), got "
            f"{min_capacity}")


def diluted_canary_warning(strategy: DeploymentStrategy,
                           rate_thresholds: Mapping[str, float]) -> str | None:
    """A warning when a canary's share of the traffic is no larger than a rollback alarm's
    error-rate threshold (``rate_thresholds``: fractions, by alarm name), else None.

    A rate over both fleets sees a canary's errors diluted by its share: a canary that fails
    every request moves the rate by about its percentage (docs/aws-behaviour.md#rollback-alarms)."""
    percent = strategy.percent
    if strategy.kind is not DeploymentKind.CANARY or not isinstance(percent, (int, float)) \
            or is_token(percent):
        return None
    diluted = sorted(name for name, threshold in rate_thresholds.items()
                     if isinstance(threshold, (int, float)) and not is_token(threshold)
                     and percent / 100 <= threshold)
    if not diluted:
        return None
    highest = max(rate_thresholds[name] for name in diluted)
    return (f"deployment.percent ({percent:g} %) is not above the rollback error-rate "
            f"threshold of {', '.join(diluted)} ({highest * 100:g} %): those alarms watch both "
            "fleets, so a canary that fails every request moves the rate by about its own "
            "share and cannot roll back on its own. Raise the canary's percent or lower the "
            "threshold (rollback_alarm_options).")
