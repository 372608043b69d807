"""``deepgram-scaling describe TEMPLATE|DIR [--format text|json|mermaid]``: the scaling of
every endpoint, in words, for a reviewer.

For each endpoint that a scalable target scales: its kind, pools, floor and ceiling; each
policy (the signal, its statistic, period and datapoints, the target or the steps with their
real bounds, the cooldowns); the wake-up from zero; the scheduled actions; and the alarms
that notify someone. A directory is read as one app (``assembly.py``). ``mermaid`` draws the
chain metric -> alarm -> policy -> target -> endpoint.

Pure functions over the parsed template(s); imports nothing of the CDK.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .assembly import load_assembly
from .resolve import (
    SCALABLE_TARGET,
    TOPIC,
    UNKNOWN,
    Graph,
    Policy,
    Target,
    number,
    references,
    render,
    scheduled_minimums_of,
)
from .rules import (
    _async_wake_scan,
    _copy_wake_ups,
    _Scaling,
    _scheduled_maximum_above_zero,
)
from .template import TemplateReadError, load_template

#: Application Auto Scaling's cooldown for SageMaker variants when a policy leaves it out
#: (docs/aws-behaviour.md#default-cooldown).
DEFAULT_COOLDOWN = 300.0
KIND_WORDS = {"async": "asynchronous", "realtime": "real-time", "serverless": "serverless"}
OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">",
    "LessThanThreshold": "<", "LessThanOrEqualToThreshold": "<=",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "below the band", "GreaterThanUpperThreshold": "above the band",
}
INFERENCE_COMPONENT = "AWS::SageMaker::InferenceComponent"
#: A scalable target on an inference component's copies: ``inference-component/<name>``
#: (docs/aws-behaviour.md#inference-component-wake-up).
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


_PLACEHOLDER = re.compile(r"\{\{(?:Ref|GetAtt):([^}]+)\}\}")


def _pretty(text: str) -> str:
    """``{{GetAtt:Endpoint.EndpointName}}`` -> ``Endpoint.EndpointName``, for reading."""
    return _PLACEHOLDER.sub(r"\1", text)


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _seconds(value: Any, default: float | None = None) -> str:
    seconds = number(value)
    if seconds is None and value is not None:
        return render(value)
    if seconds is None:
        return "none" if default is None else f"{_num(default)} s (default)"
    return f"{_num(seconds)} s"


# --- one template's scaling, as data --------------------------------------------------------


class _Describer:
    def __init__(self, template: Mapping[str, Any], show: Any = None) -> None:
        self.graph = Graph(template)
        self.show = show or (lambda lid: lid)
        #: the indexes the checks judge the wake-up from, so that both say the same
        self.scaling = _Scaling(self.graph)

    def endpoints(self) -> list[dict[str, Any]]:
        scaled: dict[str, list[Target]] = {}
        targets = [*self.graph.targets.values(), *self._copy_targets()]
        for target in targets:
            if target.endpoint is not None:
                scaled.setdefault(target.endpoint, []).append(target)
        orphans = [t for t in targets if t.endpoint is None]
        found = [self._endpoint(lid, targets) for lid, targets in sorted(scaled.items())]
        found += [self._endpoint(None, [t]) for t in orphans]
        return found

    def _copy_targets(self) -> list[Target]:
        """Scalable targets on inference components' copies, tied to the component's
        endpoint (its ``EndpointName``); ``variant`` names the component."""
        components = {lid: self.graph.properties(lid) for lid in
                      self.graph.of_type(INFERENCE_COMPONENT)}
        found = []
        for lid in self.graph.of_type(SCALABLE_TARGET):
            props = self.graph.properties(lid)
            resource_id = render(props.get("ResourceId"))
            if (props.get("ScalableDimension") != COPY_DIMENSION
                    or not resource_id.startswith("inference-component/")):
                continue
            name = resource_id.removeprefix("inference-component/")
            # tied by its InferenceComponentName only: a Ref or Fn::GetAtt of a component
            # gives its ARN (docs/aws-behaviour.md#inference-component-ref-is-arn)
            copies = self.scaling.component_targets.get(lid)
            component = copies.component if copies is not None else None
            endpoint, tie = (self.graph.endpoint_named(components[component].get(
                "EndpointName")) if component is not None else (None, None))
            shown = self.show(component) if component is not None else name
            found.append(Target(lid, resource_id, endpoint, tie, f"inference component {shown}",
                                number(props.get("MinCapacity")), scheduled_minimums_of(props)))
        return found

    def _policies_of(self, target: str) -> list[Policy]:
        mine = []
        for policy in self.graph.policies.values():
            if policy.target == target or (policy.target is None and render(
                    policy.properties.get("ScalingTargetId")) == f"{{{{Ref:{target}}}}}"):
                mine.append(policy)
        return sorted(mine, key=lambda p: p.id)

    def _endpoint(self, lid: str | None, targets: list[Target]) -> dict[str, Any]:
        endpoint = self.graph.endpoints.get(lid or "")
        kind = endpoint.kind if endpoint is not None else None
        words = KIND_WORDS.get(kind or "", "unknown (not in the template)")
        if any(t.variant and t.variant.startswith("inference component ") for t in targets):
            words += ", with inference components"
        return {
            "endpoint": self.show(lid) if lid else None,
            "name": _pretty(endpoint.name) if endpoint is not None else None,
            "kind": words,
            "pools": self._pools(endpoint.config) if endpoint and endpoint.config else [],
            "targets": [self._target(t) for t in targets],
            "alarms": self._notifying_alarms(lid, targets),
        }

    def _pools(self, config: str) -> list[dict[str, Any]]:
        variants = self.graph.properties(config).get("ProductionVariants")
        pools = []
        for variant in variants if isinstance(variants, list) else []:
            if not isinstance(variant, Mapping):
                continue
            types: list[str] = []
            listed = variant.get("InstancePools")
            if isinstance(listed, list):
                ordered = sorted((p for p in listed if isinstance(p, Mapping)),
                                 key=lambda p: number(p.get("Priority")) or 0)
                types = [render(p.get("InstanceType")) for p in ordered]
            elif "InstanceType" in variant:
                types = [render(variant["InstanceType"])]
            elif "ServerlessConfig" in variant:
                types = ["serverless"]
            pool: dict[str, Any] = {
                "variant": render(variant.get("VariantName")), "instance_types": types,
                "initial_instance_count": number(variant.get("InitialInstanceCount"))}
            managed = variant.get("ManagedInstanceScaling")
            if isinstance(managed, Mapping):
                pool["managed_instance_scaling"] = {
                    "status": render(managed.get("Status")),
                    "floor": number(managed.get("MinInstanceCount")),
                    "ceiling": number(managed.get("MaxInstanceCount"))}
            pools.append(pool)
        return pools

    def _target(self, target: Target) -> dict[str, Any]:
        props = self.graph.properties(target.id)
        described = [self._policy(p) for p in self._policies_of(target.id)]
        return {
            "target": self.show(target.id),
            "variant": target.variant,
            "floor": target.min_capacity,
            "ceiling": number(props.get("MaxCapacity")),
            "scheduled_actions": self._schedule(props.get("ScheduledActions")),
            "suspended": {k: v for k, v in (props.get("SuspendedState") or {}).items()}
            if isinstance(props.get("SuspendedState"), Mapping) else {},
            "policies": described,
            "wake_up": self._wake_up(target),
        }

    @staticmethod
    def _schedule(actions: Any) -> list[dict[str, Any]]:
        found = []
        for action in actions if isinstance(actions, list) else []:
            if not isinstance(action, Mapping):
                continue
            scaling = action.get("ScalableTargetAction")
            scaling = scaling if isinstance(scaling, Mapping) else {}
            found.append({
                "name": render(action.get("ScheduledActionName")),
                "schedule": render(action.get("Schedule")),
                "timezone": render(action.get("Timezone", "UTC")),
                "floor": number(scaling.get("MinCapacity")),
                "ceiling": number(scaling.get("MaxCapacity")),
            })
        return found

    # policies ----------------------------------------------------------------------------

    def _policy(self, policy: Policy) -> dict[str, Any]:
        props = policy.properties
        if policy.type == "TargetTrackingScaling":
            config = props.get("TargetTrackingScalingPolicyConfiguration")
            return self._tracking(policy, config if isinstance(config, Mapping) else {})
        config = props.get("StepScalingPolicyConfiguration")
        return self._steps(policy, config if isinstance(config, Mapping) else {})

    def _tracking(self, policy: Policy, config: Mapping[str, Any]) -> dict[str, Any]:
        predefined = config.get("PredefinedMetricSpecification")
        custom = config.get("CustomizedMetricSpecification")
        if isinstance(predefined, Mapping):
            signal = render(predefined.get("PredefinedMetricType"))
            statistic = "(predefined)"
        elif isinstance(custom, Mapping):
            signal, statistic = self._metric(custom)
        else:
            signal, statistic = "?", "?"
        scale_in = "disabled" if config.get("DisableScaleIn") in (True, "true") else "enabled"
        return {
            "policy": self.show(policy.id), "type": "target tracking",
            "signal": signal, "statistic": statistic,
            "target": number(config.get("TargetValue")),
            "scale_out_cooldown": _seconds(config.get("ScaleOutCooldown"), DEFAULT_COOLDOWN),
            "scale_in_cooldown": _seconds(config.get("ScaleInCooldown"), DEFAULT_COOLDOWN),
            "scale_in": scale_in,
        }

    @staticmethod
    def _metric(spec: Mapping[str, Any]) -> tuple[str, str]:
        """(the signal, its statistic) of a metric or of metric math."""
        if "MetricName" in spec:
            dims = ", ".join(f"{render(d.get('Name'))}={_pretty(render(d.get('Value')))}"
                             for d in spec.get("Dimensions") or [] if isinstance(d, Mapping))
            signal = f"{render(spec.get('Namespace'))} {render(spec.get('MetricName'))}"
            return (signal + (f" [{dims}]" if dims else ""),
                    render(spec.get("Statistic") or spec.get("ExtendedStatistic")))
        queries = [q for q in spec.get("Metrics") or [] if isinstance(q, Mapping)]
        returned = next((q for q in queries if q.get("ReturnData") in (None, True, "true")
                         and "Expression" in q), None)
        names = sorted({render(q["MetricStat"]["Metric"].get("MetricName"))
                        for q in queries if isinstance(q.get("MetricStat"), Mapping)
                        and isinstance(q["MetricStat"].get("Metric"), Mapping)})
        stats = sorted({render(q["MetricStat"].get("Stat")) for q in queries
                        if isinstance(q.get("MetricStat"), Mapping)})
        expression = render(returned.get("Expression")) if returned else "?"
        return (f"metric math {expression} over {', '.join(names)}", ", ".join(stats) or "?")

    def _steps(self, policy: Policy, config: Mapping[str, Any]) -> dict[str, Any]:
        alarms = [self._alarm(a) for a in self.graph.alarms_driving(policy.id)]
        threshold = alarms[0]["threshold"] if len(alarms) == 1 else None
        above = not (len(alarms) == 1 and str(alarms[0]["operator"]).startswith("<"))
        steps = config.get("StepAdjustments")
        return {
            "policy": self.show(policy.id), "type": "step",
            "adjustment_type": render(config.get("AdjustmentType")),
            "aggregation": render(config.get("MetricAggregationType", "Average")),
            "cooldown": _seconds(config.get("Cooldown"), DEFAULT_COOLDOWN),
            "alarms": alarms,
            "steps": [self._step(s, threshold, above=above)
                      for s in (steps if isinstance(steps, list) else [])
                      if isinstance(s, Mapping)],
        }

    @staticmethod
    def _step(step: Mapping[str, Any], threshold: float | None, *, above: bool
              ) -> dict[str, Any]:
        """A step with its bounds on the metric itself: offsets from the alarm's threshold;
        lower inclusive and upper exclusive above the threshold, the other way below it
        (docs/aws-behaviour.md#step-bounds)."""
        lower = number(step.get("MetricIntervalLowerBound"))
        upper = number(step.get("MetricIntervalUpperBound"))
        base = threshold if threshold is not None else 0.0
        low = None if lower is None else base + lower
        high = None if upper is None else base + upper
        left = "-inf" if low is None else _num(low)
        right = "+inf" if high is None else _num(high)
        opening = "[" if above and low is not None else "("
        closing = "]" if not above and high is not None else ")"
        interval = f"{opening}{left}, {right}{closing}"
        if threshold is None:
            interval = f"threshold + {interval}"
        adjustment = number(step.get("ScalingAdjustment"))
        return {"interval": interval, "lower": low, "upper": high,
                "lower_inclusive": above and low is not None,
                "upper_inclusive": (not above) and high is not None,
                "relative_to_threshold": threshold is None,
                "adjustment": adjustment}

    # alarms ------------------------------------------------------------------------------

    def _alarm(self, lid: str) -> dict[str, Any]:
        props = self.graph.properties(lid)
        signal, statistic = self._metric(props)
        evaluation = number(props.get("EvaluationPeriods"))
        datapoints = number(props.get("DatapointsToAlarm")) or evaluation
        period = number(props.get("Period"))
        if period is None:
            periods = [number(q["MetricStat"].get("Period")) for q in props.get("Metrics") or []
                       if isinstance(q, Mapping) and isinstance(q.get("MetricStat"), Mapping)]
            period = next((p for p in periods if p is not None), None)
        return {
            "alarm": self.show(lid),
            "signal": signal, "statistic": statistic, "period": period,
            "datapoints": datapoints, "evaluation_periods": evaluation,
            "operator": OPERATORS.get(render(props.get("ComparisonOperator")),
                                      render(props.get("ComparisonOperator"))),
            "threshold": number(props.get("Threshold")),
            "missing_data": render(props.get("TreatMissingData", "missing")),
        }

    def _notifying_alarms(self, endpoint: str | None, targets: list[Target]
                          ) -> list[dict[str, Any]]:
        policies = {p.id for t in targets for p in self._policies_of(t.id)}
        mine = {use.owner for use in self.graph.metric_uses
                if use.owner_type == "alarm" and endpoint and use.endpoint == endpoint}
        mine |= {a for p in policies for a in self.graph.alarms_driving(p)}
        found = []
        for alarm in sorted(mine):
            notifies = self._notified(alarm)
            if notifies:
                found.append({**self._alarm(alarm), "notifies": notifies})
        return found

    def _notified(self, alarm: str) -> list[str]:
        props = self.graph.properties(alarm)
        found: list[str] = []
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            actions = props.get(key)
            for action in actions if isinstance(actions, list) else []:
                refs = references(action) & set(self.graph.resources)
                if refs:
                    found += [self.show(r) for r in sorted(refs)
                              if self.graph.type_of(r) == TOPIC]
                elif ":sns:" in render(action):
                    found.append(render(action))
        return sorted(set(found))

    # the wake-up -------------------------------------------------------------------------

    def _wake_up(self, target: Target) -> str:
        """The wake-up from zero as ``deepgram-scaling check`` judges it: the same scans of
        step policies and target tracking (docs/aws-behaviour.md#wake-up-from-zero,
        docs/aws-behaviour.md#inference-component-wake-up), with the alarms they pass over."""
        props = self.graph.properties(target.id)
        copies = target.id in self.scaling.component_targets
        kind = None if copies else self.graph.endpoint_kind(target.endpoint)
        if (kind == "async" and number(props.get("MaxCapacity")) == 0
                and not _scheduled_maximum_above_zero(props)):
            return ("none: MaxCapacity is 0, so the endpoint never has an instance "
                    "(see deepgram-scaling check)")
        if not target.may_reach_zero:
            return f"not needed: the floor is {_num(target.min_capacity)}"
        wakers: list[str] = []
        waits = ""
        if copies:
            copy_scan = _copy_wake_ups(self.scaling, target.id)
            for copy_wake in copy_scan.wakes:
                needs = (f", needs {copy_wake.failures} failed requests in one period"
                         if copy_wake.failures > 1 else "")
                wakers.append(self._step_wake(copy_wake.policy, copy_wake.alarm,
                                              "NoCapacityInvocationFailures",
                                              copy_wake.unresolved, needs))
            notes = copy_scan.passed_over
        elif kind == "async":
            scan = _async_wake_scan(self.scaling, target.id)
            for wake in scan.wakes:
                if wake.alarm is None:
                    wakers.append(f"{self.show(wake.policy)}: target tracking on {wake.metric} "
                                  f"at a target value of {_num(wake.target_value)}, below 1")
                else:
                    extra = (", keeps adding while instances run" if wake.adds_while_running
                             and wake.metric == "ApproximateBacklogSize" else "")
                    wakers.append(self._step_wake(wake.policy, wake.alarm, wake.metric,
                                                  wake.unresolved, extra))
            notes = scan.passed_over
            waits = "".join(f"; target tracking of {self.show(policy)} at {value} waits for "
                            "the backlog to pass its target" for policy, value in scan.tracking
                            if not any(w.policy == policy for w in scan.wakes))
        else:
            return (f"not judged: {target.zero_minimum_source} on an endpoint whose kind is "
                    f"{KIND_WORDS.get(kind or '', 'unknown')}, which has no wake-up check "
                    "(see deepgram-scaling check)")
        not_counted = ("; not counted: " + ", ".join(notes)) if notes else ""
        if not wakers:
            return (f"none: {target.zero_minimum_source} and nothing adds capacity from zero"
                    f"{waits}{not_counted} (see deepgram-scaling check)")
        return "; ".join(wakers) + not_counted

    def _step_wake(self, policy: str, alarm: str, metric: str, unresolved: str | None,
                   extra: str) -> str:
        props = self.graph.properties(alarm)
        operator = render(props.get("ComparisonOperator"))
        watches = "" if unresolved is None else (
            ", watches a name that could not be resolved" if UNKNOWN in unresolved
            else f", watches {_pretty(unresolved)!r}, not shown to be this resource")
        return (f"{self.show(policy)} on {self.show(alarm)} ({metric} "
                f"{OPERATORS.get(operator, operator)} {_num(number(props.get('Threshold')))}"
                f"{watches}{extra})")


def describe_template(template: Mapping[str, Any], show: Any = None) -> list[dict[str, Any]]:
    """The scaling of every scaled endpoint of one template, as plain data."""
    return _Describer(template, show).endpoints()


def describe_path(path: str | Path) -> list[dict[str, Any]]:
    """A template file, or a folder read as one app (ids shown as ``Stack::LogicalId``)."""
    if Path(path).is_dir():
        assembly = load_assembly(path)
        found = describe_template(assembly.template)
        for endpoint in found:
            endpoint["template"] = _file_of(assembly.origin, endpoint["endpoint"]) or str(
                _file_of(assembly.origin, endpoint["targets"][0]["target"]))
        return found
    found = describe_template(load_template(path))
    for endpoint in found:
        endpoint["template"] = str(path)
    return found


def _file_of(origin: Mapping[str, tuple[Path, str]], vid: str | None) -> str | None:
    return str(origin[vid][0]) if vid is not None and vid in origin else None


# --- words ---------------------------------------------------------------------------------


def _alarm_words(alarm: Mapping[str, Any]) -> str:
    period = f" over {_num(alarm['period'])} s" if alarm.get("period") is not None else ""
    points = ""
    if alarm.get("evaluation_periods") is not None:
        points = (f", {_num(alarm['datapoints'])} of {_num(alarm['evaluation_periods'])} "
                  "datapoints")
    return (f"{alarm['statistic']} {alarm['signal']}{period} {alarm['operator']} "
            f"{_num(alarm['threshold'])}{points}")


def _capacity(value: float | None, kind: str) -> str:
    if value is None:
        return "?"
    signed = f"+{_num(value)}" if value > 0 and kind == "ChangeInCapacity" else _num(value)
    unit = {"ChangeInCapacity": "", "ExactCapacity": " (exactly)",
            "PercentChangeInCapacity": "%"}.get(kind, "")
    return f"{signed}{unit}"


def _steps_words(policy: Mapping[str, Any]) -> str:
    return ", ".join(f"{s['interval']} {_capacity(s['adjustment'], policy['adjustment_type'])}"
                     for s in policy["steps"])


def policy_words(policy: Mapping[str, Any]) -> str:
    if policy["type"] == "target tracking":
        scale_in = "" if policy["scale_in"] == "enabled" else "; scale-in disabled"
        return (f"target tracking keeps {policy['statistic']} {policy['signal']} at "
                f"{_num(policy['target'])}; cooldowns: scale-out "
                f"{policy['scale_out_cooldown']}, scale-in {policy['scale_in_cooldown']}"
                f"{scale_in}")
    alarms = "; ".join(f"{a['alarm']}: {_alarm_words(a)}" for a in policy["alarms"]) or (
        "no alarm drives it")
    steps = _steps_words(policy)
    return (f"step scaling ({policy['adjustment_type']}, {policy['aggregation']}, cooldown "
            f"{policy['cooldown']}) when {alarms}: {steps}")


def as_text(endpoints: Sequence[Mapping[str, Any]]) -> str:
    if not endpoints:
        return "no scaled SageMaker endpoint"
    lines: list[str] = []
    for endpoint in endpoints:
        title = endpoint["endpoint"] or "an endpoint outside these templates"
        lines.append(f"{title} ({endpoint['kind']}) in {endpoint['template']}")
        for pool in endpoint["pools"]:
            managed = pool.get("managed_instance_scaling")
            scaling = (f"; managed instance scaling {managed['status']}, "
                       f"{_num(managed['floor'])}..{_num(managed['ceiling'])} instances"
                       if managed else "")
            lines.append(f"  pool {pool['variant']}: {', then '.join(pool['instance_types'])}"
                         f", {_num(pool['initial_instance_count'])} initial{scaling}")
        for target in endpoint["targets"]:
            scaled = (target["variant"] if str(target["variant"]).startswith("inference")
                      else f"variant {target['variant']}")
            lines.append(f"  {target['target']} on {scaled}: floor "
                         f"{_num(target['floor'])}, ceiling {_num(target['ceiling'])}")
            for action in target["scheduled_actions"]:
                bounds = ", ".join(f"{key} {_num(action[key])}" for key in ("floor", "ceiling")
                                   if action[key] is not None)
                lines.append(f"    scheduled {action['name']}: {action['schedule']} "
                             f"({action['timezone']}): {bounds}")
            for policy in target["policies"]:
                lines.append(f"    policy {policy['policy']}: {policy_words(policy)}")
            lines.append(f"    wake-up from zero: {target['wake_up']}")
        for alarm in endpoint["alarms"]:
            lines.append(f"  alarm {alarm['alarm']} notifies {', '.join(alarm['notifies'])}: "
                         f"{_alarm_words(alarm)}")
    return "\n".join(lines)


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _whole(v) for k, v in value.items()}
    return value


def as_json(endpoints: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(_whole(list(endpoints)), indent=2)


def as_mermaid(endpoints: Sequence[Mapping[str, Any]]) -> str:
    """A flowchart: metric -> alarm -> policy -> target -> endpoint, and alarm -> topic."""
    lines = ["flowchart LR"]
    ids: dict[tuple[str, str], str] = {}

    def node(kind: str, key: str, label: str, shape: str = "[]") -> str:
        if (kind, key) not in ids:
            ids[(kind, key)] = f"n{len(ids)}"
            text = label.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            lines.append(f'  {ids[(kind, key)]}{shape[0]}"{text}"{shape[1]}')
        return ids[(kind, key)]

    edges: list[str] = []
    for endpoint in endpoints:
        title = endpoint["endpoint"] or "endpoint outside these templates"
        end = node("endpoint", title, f"{title} ({endpoint['kind']})", "[]")
        for target in endpoint["targets"]:
            tgt = node("target", target["target"], f"{target['target']}: "
                       f"{_num(target['floor'])}..{_num(target['ceiling'])}", "()")
            edges.append(f"  {tgt} --> {end}")
            for policy in target["policies"]:
                label = (f"{policy['policy']}: target {_num(policy['target'])}"
                         if policy["type"] == "target tracking" else
                         f"{policy['policy']}: steps " + _steps_words(policy))
                pol = node("policy", policy["policy"], label, "{}")
                edges.append(f"  {pol} --> {tgt}")
                if policy["type"] == "target tracking":
                    met = node("metric", policy["signal"],
                               f"{policy['statistic']} {policy['signal']}", "[]")
                    edges.append(f"  {met} --> {pol}")
                for alarm in policy.get("alarms", []):
                    alm = _alarm_node(node, alarm, edges)
                    edges.append(f"  {alm} --> {pol}")
        for alarm in endpoint["alarms"]:
            alm = _alarm_node(node, alarm, edges)
            for topic in alarm["notifies"]:
                edges.append(f"  {alm} --> {node('topic', topic, topic, '[]')}")
    return "\n".join(lines + list(dict.fromkeys(edges)))


def _alarm_node(node: Any, alarm: Mapping[str, Any], edges: list[str]) -> str:
    alm = str(node("alarm", alarm["alarm"], f"{alarm['alarm']}: {alarm['operator']} "
                   f"{_num(alarm['threshold'])}", "[]"))
    met = str(node("metric", alarm["signal"], f"{alarm['statistic']} {alarm['signal']}", "[]"))
    edges.append(f"  {met} --> {alm}")
    return alm


# --- the command ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="deepgram-scaling describe",
        description="The scaling of every SageMaker endpoint of a template or a folder (a "
                    "cloud assembly such as cdk.out), in words: kind, pools, floor and "
                    "ceiling, policies, wake-up, scheduled actions, alarms that notify.")
    parser.add_argument("path", metavar="TEMPLATE|DIR")
    parser.add_argument("--format", choices=("text", "json", "mermaid"), default="text",
                        help="output format (default: text)")
    args = parser.parse_args(argv)
    try:
        endpoints = describe_path(args.path)
    except TemplateReadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(as_json(endpoints))
    elif args.format == "mermaid":
        print(as_mermaid(endpoints))
    else:
        print(as_text(endpoints))
    return 0


if __name__ == "__main__":
    sys.exit(main())
