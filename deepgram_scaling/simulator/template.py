"""Read an endpoint's scaling set-up from a synthesized CloudFormation template.

Only the template is read, never the constructs: the simulator replays exactly what
``cdk synth`` produced, whoever produced it. Anything the simulator cannot interpret is
refused with the resource's logical id and the property, rather than guessed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeepgramScalingConfigError
from ..metric_math import MetricQuery, queries_from_template

#: Predefined types this simulator understands, with the metric each one tracks.
PREDEFINED = {
    "SageMakerVariantConcurrentRequestsPerModelHighResolution": ("ConcurrentRequestsPerModel", 10),
}
#: Metrics a customized policy or a step alarm may use here.
SUPPORTED_METRICS = {
    "ConcurrentRequestsPerModel",
    "ApproximateBacklogSizePerInstance",
    "ApproximateBacklogSize",
    "HasBacklogWithoutCapacity",
}
_CAPACITY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*/\s*(\d+(?:\.\d+)?)\s*$")


class TemplateError(DeepgramScalingConfigError):
    """The template holds scaling the simulator cannot interpret."""


@dataclass(frozen=True)
class AlarmSpec:
    """A CloudWatch alarm driving a step policy."""

    metric_name: str
    statistic: str
    period_s: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing: str


@dataclass(frozen=True)
class StepInterval:
    lower: float | None  # relative to the alarm threshold, inclusive
    upper: float | None  # relative to the alarm threshold, exclusive
    adjustment: int


@dataclass(frozen=True)
class StepPolicy:
    logical_id: str
    adjustment_type: str
    cooldown_s: int
    intervals: tuple[StepInterval, ...]
    alarm: AlarmSpec


@dataclass(frozen=True)
class TargetTracking:
    """One target-tracking policy. ``metric`` is a metric name for a single metric, or
    ``"metric-math"`` with ``queries`` set."""

    logical_id: str
    metric: str
    statistic: str
    period_s: int
    target: float
    scale_out_cooldown_s: int
    scale_in_cooldown_s: int
    disable_scale_in: bool
    queries: tuple[MetricQuery, ...] = ()


@dataclass(frozen=True)
class ScheduledAction:
    name: str
    schedule: str
    timezone: str | None
    min_capacity: int | None
    max_capacity: int | None


@dataclass(frozen=True)
class EndpointSetup:
    """Everything the simulator needs about one endpoint's scaling."""

    name: str
    logical_id: str
    is_async: bool
    pools: tuple[str, ...]  # instance types by priority, highest first
    provision_timeout_s: int
    initial_instance_count: int
    min_capacity: int
    max_capacity: int
    max_concurrent_invocations: int
    target_tracking: tuple[TargetTracking, ...]
    step_policies: tuple[StepPolicy, ...]
    schedules: tuple[ScheduledAction, ...]
    declared_capacity: Mapping[str, float] = field(default_factory=dict)


def load_template(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return dict(source)
    try:
        with open(source, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, json.JSONDecodeError) as err:
        raise TemplateError(f"cannot read template {os.fspath(source)!r}: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{os.fspath(source)!r} is not a CloudFormation template "
                            "(no Resources section)")
    return data


def friendly_name(logical_id: str) -> str:
    """``RealtimeEndpoint4C616D86`` -> ``Realtime`` (the construct id the user chose)."""
    match = re.match(r"^(.*?)Endpoint[0-9A-F]{8}$", logical_id)
    return match.group(1) if match and match.group(1) else logical_id


def read_endpoints(source: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, EndpointSetup]:
    """Every SageMaker endpoint of the template with its scaling, by friendly name."""
    template = load_template(source)
    return _Reader(template["Resources"]).endpoints()


def select_endpoint(endpoints: Mapping[str, EndpointSetup], name: str | None) -> EndpointSetup:
    if name is None and len(endpoints) == 1:
        return next(iter(endpoints.values()))
    for setup in endpoints.values():
        if name in (setup.name, setup.logical_id):
            return setup
    listed = ", ".join(sorted(endpoints)) or "none"
    raise TemplateError(f"no endpoint {name!r} in the template; endpoints: {listed}")


class _Reader:
    def __init__(self, resources: Mapping[str, Any]) -> None:
        self.resources = resources

    def of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        return {k: r.get("Properties", {}) for k, r in self.resources.items()
                if isinstance(r, Mapping) and r.get("Type") == resource_type}

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def literal(value: Any, where: str, kind: type | tuple[type, ...] = (int, float)) -> Any:
        if isinstance(value, bool) or not isinstance(value, kind):
            raise TemplateError(f"{where} must be a literal {getattr(kind, '__name__', 'number')}"
                                f" to simulate, got {json.dumps(value)[:80]} (a value only "
                                "known at deploy time?)")
        return value

    def endpoint_refs(self, value: Any) -> set[str]:
        """Logical ids of endpoints a value refers to (Ref, GetAtt) or names literally."""
        found: set[str] = set()
        endpoints = self.of_type("AWS::SageMaker::Endpoint")
        def walk(node: Any) -> None:
            if isinstance(node, Mapping):
                if "Ref" in node and node["Ref"] in endpoints:
                    found.add(node["Ref"])
                if "Fn::GetAtt" in node and node["Fn::GetAtt"][0] in endpoints:
                    found.add(node["Fn::GetAtt"][0])
                for item in node.values():
                    walk(item)
            elif isinstance(node, list):
                for item in node:
                    walk(item)
            elif isinstance(node, str):
                for logical_id, props in endpoints.items():
                    name = props.get("EndpointName")
                    if isinstance(name, str) and f"endpoint/{name}/" in node:
                        found.add(logical_id)
        walk(value)
        return found

    # --- endpoints ---------------------------------------------------------------------

    def endpoints(self) -> dict[str, EndpointSetup]:
        result = {}
        for logical_id, props in self.of_type("AWS::SageMaker::Endpoint").items():
            setup = self.endpoint(logical_id, props)
            result[setup.name] = setup
        return result

    def endpoint(self, logical_id: str, props: Mapping[str, Any]) -> EndpointSetup:
        config_id = self.config_of(logical_id, props)
        config = self.resources[config_id]["Properties"]
        variants = config.get("ProductionVariants") or []
        if len(variants) != 1:
            raise TemplateError(f"{config_id}.ProductionVariants must hold one variant to "
                                f"simulate, got {len(variants)}")
        variant = variants[0]
        where = f"{config_id}.ProductionVariants[0]"
        if "InstancePools" in variant:
            ordered = sorted(variant["InstancePools"], key=lambda p: p["Priority"])
            pools = tuple(self.literal(p["InstanceType"], f"{where}.InstancePools", str)
                          for p in ordered)
        else:
            pools = (self.literal(variant.get("InstanceType"), f"{where}.InstanceType", str),)
        async_config = config.get("AsyncInferenceConfig")
        slots = 0
        if async_config:
            slots = int(async_config.get("ClientConfig", {}).get(
                "MaxConcurrentInvocationsPerInstance", 4))  # SageMaker's default
        target_id, target = self.target_of(logical_id)
        tt, steps, capacities = self.policies(target_id, logical_id)
        schedules = tuple(
            ScheduledAction(
                name=a.get("ScheduledActionName", "?"),
                schedule=self.literal(a.get("Schedule"), f"{target_id}.ScheduledActions", str),
                timezone=a.get("Timezone"),
                min_capacity=a.get("ScalableTargetAction", {}).get("MinCapacity"),
                max_capacity=a.get("ScalableTargetAction", {}).get("MaxCapacity"),
            )
            for a in target.get("ScheduledActions", [])
        )
        return EndpointSetup(
            name=friendly_name(logical_id),
            logical_id=logical_id,
            is_async=bool(async_config),
            pools=pools,
            provision_timeout_s=int(variant.get("VariantInstanceProvisionTimeoutInSeconds", 300)),
            initial_instance_count=int(self.literal(variant.get("InitialInstanceCount", 1),
                                                    f"{where}.InitialInstanceCount")),
            min_capacity=int(self.literal(target.get("MinCapacity"), f"{target_id}.MinCapacity")),
            max_capacity=int(self.literal(target.get("MaxCapacity"), f"{target_id}.MaxCapacity")),
            max_concurrent_invocations=slots,
            target_tracking=tt,
            step_policies=steps,
            schedules=schedules,
            declared_capacity=capacities,
        )

    def config_of(self, logical_id: str, props: Mapping[str, Any]) -> str:
        ref = props.get("EndpointConfigName")
        configs = self.of_type("AWS::SageMaker::EndpointConfig")
        if isinstance(ref, Mapping):
            target = ref.get("Ref") or (ref.get("Fn::GetAtt") or [None])[0]
            if target in configs:
                return str(target)
        if isinstance(ref, str):
            for config_id, config in configs.items():
                if config.get("EndpointConfigName") == ref:
                    return config_id
        raise TemplateError(f"{logical_id}.EndpointConfigName does not name an "
                            "AWS::SageMaker::EndpointConfig of this template")

    def target_of(self, endpoint_id: str) -> tuple[str, Mapping[str, Any]]:
        for target_id, target in self.of_type(
                "AWS::ApplicationAutoScaling::ScalableTarget").items():
            if target.get("ServiceNamespace") == "sagemaker" and endpoint_id in self.endpoint_refs(
                    target.get("ResourceId")):
                return target_id, target
        raise TemplateError(f"{endpoint_id} has no AWS::ApplicationAutoScaling::ScalableTarget "
                            "(ResourceId endpoint/<name>/variant/<variant>): nothing to simulate")

    # --- policies --------------------------------------------------------------------

    def policies(self, target_id: str, endpoint_id: str) -> tuple[
            tuple[TargetTracking, ...], tuple[StepPolicy, ...], dict[str, float]]:
        tracking: list[TargetTracking] = []
        steps: list[StepPolicy] = []
        capacities: dict[str, float] = {}
        for policy_id, policy in self.of_type(
                "AWS::ApplicationAutoScaling::ScalingPolicy").items():
            ref = policy.get("ScalingTargetId")
            if not (ref == {"Ref": target_id} or (
                    ref is None and endpoint_id in self.endpoint_refs(policy.get("ResourceId")))):
                continue
            kind = policy.get("PolicyType")
            if kind == "TargetTrackingScaling":
                tracking.append(self.target_tracking(policy_id, policy, capacities))
            elif kind == "StepScaling":
                steps.append(self.step_policy(policy_id, policy))
            else:
                raise TemplateError(f"{policy_id}.PolicyType {kind!r} is not supported; the "
                                    "simulator reads TargetTrackingScaling and StepScaling")
        return tuple(tracking), tuple(steps), capacities

    def target_tracking(self, policy_id: str, policy: Mapping[str, Any],
                        capacities: dict[str, float]) -> TargetTracking:
        where = f"{policy_id}.TargetTrackingScalingPolicyConfiguration"
        config = policy.get("TargetTrackingScalingPolicyConfiguration", {})
        common: dict[str, Any] = {
            "logical_id": policy_id,
            "target": float(self.literal(config.get("TargetValue"), f"{where}.TargetValue")),
            "scale_out_cooldown_s": int(config.get("ScaleOutCooldown", 300)),
            "scale_in_cooldown_s": int(config.get("ScaleInCooldown", 300)),
            "disable_scale_in": bool(config.get("DisableScaleIn", False)),
        }
        predefined = config.get("PredefinedMetricSpecification")
        if predefined:
            kind = predefined.get("PredefinedMetricType")
            if kind not in PREDEFINED:
                raise TemplateError(f"{where}.PredefinedMetricSpecification.PredefinedMetricType "
                                    f"{kind!r} is not supported; supported: {sorted(PREDEFINED)}")
            metric, period = PREDEFINED[kind]
            return TargetTracking(metric=metric, statistic="Average", period_s=period, **common)
        custom = config.get("CustomizedMetricSpecification")
        if not custom:
            raise TemplateError(f"{where} has neither a predefined nor a customized metric")
        if "Metrics" in custom:
            queries = tuple(queries_from_template(custom["Metrics"]))
            for query in queries:
                if query.expression is not None:
                    match = _CAPACITY.match(query.expression)
                    pool = next((q.instance_type for q in queries
                                 if match and q.id == match.group(1)), None)
                    if match and pool:
                        capacities[pool] = float(match.group(2))
            for item in custom["Metrics"]:
                stat = item.get("MetricStat")
                if stat and stat["Metric"]["MetricName"] not in SUPPORTED_METRICS:
                    raise TemplateError(
                        f"{where}.CustomizedMetricSpecification.Metrics: metric "
                        f"{stat['Metric']['MetricName']!r} is not supported; supported: "
                        f"{sorted(SUPPORTED_METRICS)}")
            return TargetTracking(metric="metric-math", statistic="Maximum", period_s=60,
                                  queries=queries, **common)
        name = custom.get("MetricName")
        if name not in SUPPORTED_METRICS:
            raise TemplateError(f"{where}.CustomizedMetricSpecification.MetricName {name!r} is "
                                f"not supported; supported: {sorted(SUPPORTED_METRICS)}")
        return TargetTracking(metric=str(name), statistic=str(custom.get("Statistic", "Average")),
                              period_s=60, **common)

    def step_policy(self, policy_id: str, policy: Mapping[str, Any]) -> StepPolicy:
        where = f"{policy_id}.StepScalingPolicyConfiguration"
        config = policy.get("StepScalingPolicyConfiguration", {})
        if config.get("AdjustmentType", "ChangeInCapacity") != "ChangeInCapacity":
            raise TemplateError(f"{where}.AdjustmentType {config.get('AdjustmentType')!r} is not "
                                "supported; the simulator reads ChangeInCapacity")
        intervals = tuple(
            StepInterval(lower=s.get("MetricIntervalLowerBound"),
                         upper=s.get("MetricIntervalUpperBound"),
                         adjustment=int(s["ScalingAdjustment"]))
            for s in config.get("StepAdjustments", [])
        )
        alarms = [(alarm_id, alarm) for alarm_id, alarm in self.of_type(
            "AWS::CloudWatch::Alarm").items()
            if {"Ref": policy_id} in alarm.get("AlarmActions", [])]
        if len(alarms) != 1:
            raise TemplateError(f"{policy_id} must be driven by exactly one AWS::CloudWatch::Alarm"
                                f" (AlarmActions), got {len(alarms)}")
        alarm_id, alarm = alarms[0]
        if "Metrics" in alarm or alarm.get("MetricName") not in SUPPORTED_METRICS:
            raise TemplateError(f"{alarm_id}.MetricName {alarm.get('MetricName')!r} is not "
                                f"supported; supported: {sorted(SUPPORTED_METRICS)}")
        periods = int(alarm.get("EvaluationPeriods", 1))
        return StepPolicy(
            logical_id=policy_id,
            adjustment_type="ChangeInCapacity",
            cooldown_s=int(config.get("Cooldown", 300)),
            intervals=intervals,
            alarm=AlarmSpec(
                metric_name=str(alarm["MetricName"]),
                statistic=str(alarm.get("Statistic") or alarm.get("ExtendedStatistic")),
                period_s=int(alarm.get("Period", 60)),
                evaluation_periods=periods,
                datapoints_to_alarm=int(alarm.get("DatapointsToAlarm", periods)),
                threshold=float(self.literal(alarm.get("Threshold"), f"{alarm_id}.Threshold")),
                comparison=str(alarm.get("ComparisonOperator")),
                treat_missing=str(alarm.get("TreatMissingData", "missing")),
            ),
        )


def describe(setup: EndpointSetup) -> list[str]:
    """A readable summary of what was read (for the CLI)."""
    lines = [f"{setup.name} ({'asynchronous' if setup.is_async else 'real-time'}), pools "
             f"{', '.join(setup.pools)}, capacity {setup.min_capacity}-{setup.max_capacity}"]
    for policy in setup.target_tracking:
        lines.append(f"  target tracking {policy.metric} -> {policy.target:g}"
                     f"{' (scale-in disabled)' if policy.disable_scale_in else ''}")
    for step in setup.step_policies:
        lines.append(f"  step policy on {step.alarm.metric_name} {step.alarm.comparison} "
                     f"{step.alarm.threshold:g}: "
                     + ", ".join(f"{i.adjustment:+d}" for i in step.intervals))
    for action in setup.schedules:
        lines.append(f"  scheduled {action.name}: {action.schedule} min={action.min_capacity} "
                     f"max={action.max_capacity}")
    return lines


__all__: Sequence[str] = [
    "AlarmSpec", "EndpointSetup", "ScheduledAction", "StepInterval", "StepPolicy",
    "TargetTracking", "TemplateError", "describe", "read_endpoints", "select_endpoint",
]
