"""The scaling-correctness rules: one pure function per rule over a parsed template.

Each function takes the template dict and returns its findings. :data:`RULES` wires each
function to its id, level, summary and fix; the CLI and the CDK pack both run
:data:`RULES`, so they always agree. Every rule cites the behaviour it relies on in
``docs/aws-behaviour.md``.

Step policies are judged with the alarm that drives them, the way Application Auto Scaling
acts on them: a step acts only while its alarm is in ALARM (``ComparisonOperator`` against
``Threshold``) and the metric lies in the step's interval, whose bounds are offsets from the
threshold; above the threshold the lower bound is inclusive and the upper exclusive, below
it the other way round (docs/aws-behaviour.md#step-bounds).

A resource whose properties are an ``Fn::Transform`` (or hold one at their top level) is
judged by no rule: its contents are known only once CloudFormation runs the macro
(docs/aws-behaviour.md#fn-transform). ``TransformNotExpanded`` names it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ..metric_math import MetricMathError, compile_queries, queries_from_template
from ..schedule_expressions import schedule_problems, schedule_warnings
from . import catalogue
from .catalogue import EndpointKind
from .resolve import (
    ALARM,
    SAGEMAKER_NAMESPACE,
    SCALABLE_TARGET,
    SCALING_POLICY,
    TOPIC,
    TOPIC_INLINE_POLICY,
    TOPIC_POLICY,
    UNKNOWN,
    Graph,
    MetricUse,
    Target,
    ZeroMinimum,
    number,
    references,
    render,
    scheduled_minimums_of,
)

PACK = "SageMakerScaling"
Level = Literal["error", "warning"]

#: Old rule ids and the rule that replaced them: acknowledging or ignoring the old id also
#: covers the new one.
ALIASES: Mapping[str, str] = {"BacklogMetricDimensions": "MetricDimensions"}

#: Predefined target-tracking types of a variant that asynchronous endpoints do not publish
#: (docs/aws-behaviour.md#backlog-metrics).
NOT_PUBLISHED_BY_ASYNC_PREDEFINED = frozenset({
    "SageMakerVariantInvocationsPerInstance",
    "SageMakerVariantConcurrentRequestsPerModelHighResolution",
})
#: Predefined target-tracking types of an inference component's copies
#: (docs/aws-behaviour.md#inference-component-metrics); a variant's types do not apply to
#: copies, nor these to a variant.
COPY_PREDEFINED = frozenset({
    "SageMakerInferenceComponentInvocationsPerCopy",
    "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
})
#: The signals a backlog scale-in step reads (docs/aws-behaviour.md#step-bounds).
BACKLOG_SIGNALS = frozenset({"ApproximateBacklogSize", "ApproximateBacklogSizePerInstance"})
#: Deepgram's scale-in cooldown for streaming (docs/aws-behaviour.md#deepgram-cooldowns);
#: Application Auto Scaling's default for SageMaker variants is the same 300 s
#: (docs/aws-behaviour.md#default-cooldown).
STREAMING_SCALE_IN_COOLDOWN = 300.0
#: Where the schedule grammar is cited (docs/aws-behaviour.md#schedule-expressions).
SCHEDULE_ANCHOR = "schedule-expressions"

INFERENCE_COMPONENT = "AWS::SageMaker::InferenceComponent"
MODEL = "AWS::SageMaker::Model"
COPY_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
_COMPONENT_RESOURCE_ID = re.compile(r"^inference-component/([^/]+)$")

#: What an async wake-up alarm's metric reads while requests wait at zero instances, and how
#: the checks count it (docs/aws-behaviour.md#wake-up-from-zero):
#: - HasBacklogWithoutCapacity is 1: AWS's documented wake-up;
#: - ApproximateBacklogSize is the number of queued requests, 1 for one request; it also
#:   stays at 1 or more while running instances work, so it keeps adding capacity;
#: - the per-instance backlog and the age of the oldest request: indirect, warned about.
_DIRECT_WAKE = {"HasBacklogWithoutCapacity": 1.0, "ApproximateBacklogSize": 1.0}
_INDIRECT_WAKE = {"ApproximateBacklogSizePerInstance": 1.0,
                  "ApproximateAgeOfOldestRequest": math.inf}
#: The inference-component wake-up signal (docs/aws-behaviour.md#inference-component-wake-up)
NO_CAPACITY = "NoCapacityInvocationFailures"

#: The resource-level metadata key the constructs write on their endpoint
#: (docs/aws-behaviour.md#deepgram-endpoint).
LIBRARY_METADATA = "deepgram-scaling"

_GREATER = ("GreaterThanThreshold", "GreaterThanOrEqualToThreshold")
_LESS = ("LessThanThreshold", "LessThanOrEqualToThreshold")


@dataclass(frozen=True)
class Finding:
    """One finding: ``rule`` is the full id (``SageMakerScaling-<RuleName>``), ``resource``
    the logical id of the resource to change."""

    rule: str
    level: Level
    resource: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "level": self.level, "resource": self.resource,
                "message": self.message}


Check = Callable[[Mapping[str, Any]], list[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    level: Level
    summary: str  # fires when ...
    fix: str
    anchor: str  # docs/aws-behaviour.md#<anchor>
    check: Check

    @property
    def id(self) -> str:
        return f"{PACK}-{self.name}"


def covered_rule_ids(rule_ids: Sequence[str]) -> set[str]:
    """Rule ids (``Name`` or ``SageMakerScaling-Name``) with the rules that replaced any old
    id among them added, in the form given: acknowledging or ignoring
    ``BacklogMetricDimensions`` also covers ``MetricDimensions``."""
    covered = set(rule_ids)
    for rule_id in rule_ids:
        prefixed = rule_id.startswith(f"{PACK}-")
        name = rule_id[len(PACK) + 1:] if prefixed else rule_id
        if name in ALIASES:
            covered.add(f"{PACK}-{ALIASES[name]}" if prefixed else ALIASES[name])
    return covered


def _finding(name: str, level: Level, resource: str, message: str) -> Finding:
    return Finding(f"{PACK}-{name}", level, resource, message)


def _sagemaker(use: MetricUse) -> bool:
    return use.namespace == SAGEMAKER_NAMESPACE


# --- Fn::Transform and the per-template context ---------------------------------------------


def _holds_transform(resource: Mapping[str, Any]) -> str | None:
    """The macro name when a resource's properties are, or hold at their top level, an
    ``Fn::Transform``; None otherwise."""
    props = resource.get("Properties")
    if not isinstance(props, Mapping):
        return None
    candidates = [props.get("Fn::Transform")] + [
        value.get("Fn::Transform") for value in props.values() if isinstance(value, Mapping)]
    for transform in candidates:
        if transform is not None:
            name = transform.get("Name") if isinstance(transform, Mapping) else None
            return render(name) if name is not None else "a macro"
    return None


def transformed_resources(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> macro name of each resource an ``Fn::Transform`` fills in."""
    resources = template.get("Resources")
    found: dict[str, str] = {}
    for lid, resource in (resources.items() if isinstance(resources, Mapping) else []):
        if isinstance(resource, Mapping) and (macro := _holds_transform(resource)) is not None:
            found[lid] = macro
    return found


class _Context:
    """What the rules need of one template, computed once per ``check_template``."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        self.template = template
        self.transformed = transformed_resources(template)
        plain = template
        if self.transformed:
            resources = dict(template.get("Resources") or {})
            for lid in self.transformed:
                resources[lid] = {k: v for k, v in resources[lid].items() if k != "Properties"}
            plain = {**template, "Resources": resources}
        self.graph = Graph(plain)
        self._scaling: _Scaling | None = None
        #: whether a transformed alarm or policy could be the wake-up the rules look for
        resources = template.get("Resources") or {}
        self.wake_up_unknown = any(
            isinstance(resources.get(lid), Mapping)
            and resources[lid].get("Type") in (ALARM, SCALING_POLICY)
            for lid in self.transformed)

    @property
    def scaling(self) -> _Scaling:
        if self._scaling is None:
            self._scaling = _Scaling(self.graph)
        return self._scaling


_current: list[_Context] = []


def _context(template: Mapping[str, Any]) -> _Context:
    if _current and _current[-1].template is template:
        return _current[-1]
    return _Context(template)


def _graph(template: Mapping[str, Any]) -> Graph:
    return _context(template).graph


def _judged(check: Check) -> Check:
    """A rule that skips the resources an Fn::Transform fills in."""
    def run(template: Mapping[str, Any]) -> list[Finding]:
        context = _context(template)
        if context not in _current:
            _current.append(context)
            try:
                findings = check(template)
            finally:
                _current.pop()
        else:
            findings = check(template)
        return [f for f in findings if f.resource not in context.transformed]
    run.__doc__ = check.__doc__
    run.__name__ = check.__name__
    return run


# --- alarms and steps, the way Application Auto Scaling reads them ---------------------------


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _in_alarm(props: Mapping[str, Any], value: float) -> bool:
    """Whether the alarm is in ALARM while its metric reads ``value``. A threshold or
    operator that is not a literal is trusted."""
    operator = render(props.get("ComparisonOperator"))
    threshold = number(props.get("Threshold"))
    if "{{" in operator:
        return True
    if operator not in _GREATER + _LESS:
        return False  # anomaly-detection bands and the like: not judged as a wake-up
    if threshold is None:
        return True
    return {"GreaterThanThreshold": value > threshold,
            "GreaterThanOrEqualToThreshold": value >= threshold,
            "LessThanThreshold": value < threshold,
            "LessThanOrEqualToThreshold": value <= threshold}[operator]


def _step_at(config: Mapping[str, Any], props: Mapping[str, Any], value: float
             ) -> Mapping[str, Any] | None:
    """The step adjustment that acts while the alarm's metric reads ``value``, or None
    (docs/aws-behaviour.md#step-bounds). Bounds are offsets from the threshold; on the
    breaching side of a GreaterThan* alarm the lower bound is inclusive and the upper
    exclusive, on the side of a LessThan* alarm the lower is exclusive and the upper
    inclusive. With an unknown threshold, the first step is taken."""
    steps = [s for s in config.get("StepAdjustments", []) or [] if isinstance(s, Mapping)]
    if not _in_alarm(props, value):
        return None
    threshold = number(props.get("Threshold"))
    operator = render(props.get("ComparisonOperator"))
    if threshold is None or "{{" in operator:
        return steps[0] if steps else None
    offset = value - threshold
    below = operator in _LESS
    for step in steps:
        lower = number(step.get("MetricIntervalLowerBound"))
        upper = number(step.get("MetricIntervalUpperBound"))
        lower = -math.inf if lower is None else lower
        upper = math.inf if upper is None else upper
        holds = (lower < offset <= upper) if below else (lower <= offset < upper)
        if holds or (math.isinf(offset) and math.isinf(upper) and offset > 0):
            return step
    return None


def _adds_from_zero(config: Mapping[str, Any], step: Mapping[str, Any] | None) -> bool:
    """Whether the step gives an endpoint (or component) at zero capacity: +1 or more
    (ChangeInCapacity), 1 or more (ExactCapacity), or a positive percentage with
    MinAdjustmentMagnitude of 1 or more (a percentage of 0 is 0)."""
    if step is None:
        return False
    adjustment = number(step.get("ScalingAdjustment"))
    if adjustment is None:
        return "{{" in render(step.get("ScalingAdjustment"))  # a parameter: trusted
    kind = render(config.get("AdjustmentType"))
    if kind == "PercentChangeInCapacity":
        return adjustment > 0 and (number(config.get("MinAdjustmentMagnitude")) or 0) >= 1
    return adjustment >= 1


def _adds_while_running(config: Mapping[str, Any], step: Mapping[str, Any] | None) -> bool:
    if step is None or render(config.get("AdjustmentType")) == "ExactCapacity":
        return False
    return (number(step.get("ScalingAdjustment")) or 0) > 0


def _removes(config: Mapping[str, Any], step: Mapping[str, Any] | None) -> bool:
    if step is None:
        return False
    adjustment = number(step.get("ScalingAdjustment"))
    if adjustment is None:
        return False
    if render(config.get("AdjustmentType")) == "ExactCapacity":
        return adjustment == 0
    return adjustment < 0


def _alarm_metric(props: Mapping[str, Any]) -> tuple[str, str] | None:
    """(namespace, metric name) of a single-metric alarm; None for metric math."""
    if "MetricName" not in props:
        return None
    return render(props.get("Namespace")), render(props.get("MetricName"))


def _math_metrics(props: Mapping[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for query in props.get("Metrics", []) or []:
        stat = query.get("MetricStat") if isinstance(query, Mapping) else None
        metric = stat.get("Metric") if isinstance(stat, Mapping) else None
        if isinstance(metric, Mapping):
            found.add((render(metric.get("Namespace")), render(metric.get("MetricName"))))
    return found


def _operator_text(props: Mapping[str, Any]) -> str:
    return f"{render(props.get('ComparisonOperator'))} {render(props.get('Threshold'))}"


# --- scaling of endpoints and inference components ----------------------------------------


@dataclass
class ComponentTarget(ZeroMinimum):
    """A scalable target on an inference component's copies."""

    id: str
    resource_id: str
    component: str | None
    min_capacity: float | None
    max_capacity: float | None
    scheduled_minimums: dict[str, float] = field(default_factory=dict)
    #: whether ResourceId names the component by a literal (or parameter) name rather than
    #: through a reference to it
    by_literal_name: bool = False
    #: the component whose ``Ref`` or ``Fn::GetAtt`` ResourceId holds: its ARN, not its
    #: name (docs/aws-behaviour.md#inference-component-ref-is-arn)
    by_arn_of: str | None = None


class _Scaling:
    """Indexes over one template built once: which alarms drive which policy, which
    policies act on which target (variant or inference component), which endpoints host
    inference components and which serve a Deepgram model."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.driving: dict[str, list[str]] = {}
        #: alarms with ActionsEnabled false: they change state but invoke no policy
        #: (docs/aws-behaviour.md#wake-up-from-zero)
        self.disabled = {alarm for alarm in graph.alarms
                         if _is_false(graph.properties(alarm).get("ActionsEnabled"))}
        for alarm in graph.alarms:
            if alarm in self.disabled:
                continue
            for policy in references(graph.properties(alarm).get("AlarmActions", [])):
                if policy in graph.policies:
                    self.driving.setdefault(policy, []).append(alarm)
        self.components = {lid: graph.properties(lid)
                           for lid in graph.of_type(INFERENCE_COMPONENT)}
        self.component_endpoint: dict[str, str] = {}
        for lid, props in self.components.items():
            endpoint, _ = graph.endpoint_named(props.get("EndpointName"))
            if endpoint is not None:
                self.component_endpoint[lid] = endpoint
        self.hosts_components = set(self.component_endpoint.values())
        self.component_targets = {
            lid: self._component_target(lid) for lid in graph.of_type(SCALABLE_TARGET)
            if render(graph.properties(lid).get("ScalableDimension")) == COPY_DIMENSION}
        by_resource_id = {t.resource_id: t.id for t in self.component_targets.values()
                          if UNKNOWN not in t.resource_id}
        self.policies_of: dict[str, list[str]] = {}
        for scaling_policy in graph.policies.values():
            target = scaling_policy.target or self._copy_policy_target(
                scaling_policy.properties, by_resource_id)
            if target is not None:
                self.policies_of.setdefault(target, []).append(scaling_policy.id)
        self.deepgram = self._deepgram_endpoints()

    def component_by_arn(self, text: str) -> str | None:
        """The inference component whose ``Ref`` or ``Fn::GetAtt`` ``text`` is: CloudFormation
        gives a component's ARN (and other attributes), never its name
        (docs/aws-behaviour.md#inference-component-ref-is-arn)."""
        match = re.fullmatch(r"\{\{(Ref|GetAtt):([^}.]+)\.?([^}]*)\}\}", text)
        return match.group(2) if match and match.group(2) in self.components else None

    def _component_named(self, text: str) -> str | None:
        """The inference component whose InferenceComponentName ``text`` equals."""
        if UNKNOWN in text or self.component_by_arn(text) is not None:
            return None
        for lid, props in self.components.items():
            name = props.get("InferenceComponentName")
            if name is not None and render(name) == text:
                return lid
        return None

    def _component_target(self, lid: str) -> ComponentTarget:
        props = self.graph.properties(lid)
        resource_id = render(props.get("ResourceId"))
        match = _COMPONENT_RESOURCE_ID.match(resource_id)
        component = self._component_named(match.group(1)) if match else None
        return ComponentTarget(lid, resource_id, component, number(props.get("MinCapacity")),
                               number(props.get("MaxCapacity")), scheduled_minimums_of(props),
                               by_literal_name=match is not None and "{{" not in match.group(1),
                               by_arn_of=self.component_by_arn(match.group(1)) if match else None)

    def _copy_policy_target(self, props: Mapping[str, Any], by_resource_id: Mapping[str, str]
                            ) -> str | None:
        ref = references(props.get("ScalingTargetId"))
        for target in ref:
            if target in self.component_targets:
                return target
        if "ResourceId" in props:
            return by_resource_id.get(render(props["ResourceId"]))
        return None

    def policy_steps(self, target: str) -> Iterator[tuple[str, Mapping[str, Any], str]]:
        """(policy, step configuration, alarm) for every step policy on the target and every
        alarm driving it."""
        for policy in self.policies_of.get(target, []):
            props = self.graph.policies[policy].properties
            config = props.get("StepScalingPolicyConfiguration")
            if render(props.get("PolicyType")) != "StepScaling" or not isinstance(
                    config, Mapping):
                continue
            for alarm in self.driving.get(policy, []):
                yield policy, config, alarm

    def has_target_tracking(self, target: str) -> bool:
        return any(render(self.graph.policies[p].properties.get("PolicyType"))
                   == "TargetTrackingScaling" for p in self.policies_of.get(target, []))

    def kinds(self, endpoint: str | None) -> set[EndpointKind]:
        """The endpoint kinds whose metrics an endpoint publishes; empty when unknown."""
        kind = self.graph.endpoint_kind(endpoint)
        kinds: set[EndpointKind] = set() if kind is None else {kind}
        if endpoint in self.hosts_components:
            kinds.add("inference-component")
        return kinds

    # --- Deepgram -------------------------------------------------------------------

    def _deepgram_endpoints(self) -> dict[str, str]:
        """Endpoint -> why it serves a Deepgram model (docs/aws-behaviour.md#deepgram-endpoint):
        this library's ``deepgram-scaling`` metadata on the endpoint, a model package or
        container image whose name says Deepgram, or the ``DEEPGRAM_API_nn`` /
        ``DEEPGRAM_ENGINE_nn`` settings and ``DEEPGRAM_API_KEY`` the constructs write."""
        graph = self.graph
        found: dict[str, str] = {}
        for endpoint in graph.endpoints.values():
            metadata = graph.resources[endpoint.id].get("Metadata")
            ours = metadata.get(LIBRARY_METADATA) if isinstance(metadata, Mapping) else None
            if isinstance(ours, Mapping):
                found[endpoint.id] = (f"{LIBRARY_METADATA} metadata, kind "
                                      f"{render(ours.get('kind', 'unknown'))}")
        models = graph.of_type(MODEL)
        evidence = {lid: why for lid in models
                    if (why := _deepgram_evidence(graph.properties(lid))) is not None}
        if not evidence and not self.components:
            return found
        named = {render(graph.properties(lid).get("ModelName")): lid for lid in models
                 if graph.properties(lid).get("ModelName") is not None}

        def model_of(value: Any) -> str | None:
            refs = references(value) & set(models)
            return next(iter(refs), None) if refs else named.get(render(value))

        for endpoint in graph.endpoints.values():
            if endpoint.config is None:
                continue
            for variant in graph.properties(endpoint.config).get("ProductionVariants", []) or []:
                if not isinstance(variant, Mapping):
                    continue
                model = model_of(variant.get("ModelName"))
                if model in evidence:
                    found.setdefault(endpoint.id, f"model {model}: {evidence[model]}")
        for lid, props in self.components.items():
            endpoint_id = self.component_endpoint.get(lid)
            spec = props.get("Specification")
            if endpoint_id is None or not isinstance(spec, Mapping):
                continue
            model = model_of(spec.get("ModelName"))
            why = evidence.get(model) if model else _deepgram_evidence(
                {"PrimaryContainer": spec.get("Container")})
            if why is not None:
                found.setdefault(endpoint_id, f"inference component {lid}: {why}")
        return found


def _deepgram_evidence(model_props: Mapping[str, Any]) -> str | None:
    containers = model_props.get("Containers")
    containers = list(containers) if isinstance(containers, list) else []
    containers.append(model_props.get("PrimaryContainer"))
    for container in containers:
        if not isinstance(container, Mapping):
            continue
        for key in ("ModelPackageName", "Image"):
            value = render(container.get(key, ""))
            if "deepgram" in value.lower():
                return f"{key} {value}"
        environment = container.get("Environment")
        if isinstance(environment, Mapping) and any(
                isinstance(k, str) and k.startswith(("DEEPGRAM_API_", "DEEPGRAM_ENGINE_"))
                for k in environment):
            return f"Deepgram's settings ({', '.join(sorted(environment))})"
    return None


# --- the rules ---------------------------------------------------------------------------


def metric_dimensions(template: Mapping[str, Any]) -> list[Finding]:
    """A catalogued SageMaker metric queried with a dimension set it is not published with
    matches no data, so the policy or alarm never sees it."""
    findings = []
    for use in _graph(template).metric_uses:
        spec = catalogue.lookup(use.namespace, use.name)
        if spec is None or any("{{" in d for d in use.dimensions) or spec.matches(
                use.dimensions):
            continue
        got = ", ".join(sorted(use.dimensions)) or "none"
        findings.append(_finding(
            "MetricDimensions", "error", use.owner,
            f"{use.name} ({use.namespace}) is published with the dimensions "
            f"{spec.published_sets()}; this {use.owner_type} queries it with "
            f"[{got}], which matches no data"))
    return findings


@dataclass(frozen=True)
class _Wake:
    policy: str
    #: the alarm that drives the step policy; None for target tracking
    alarm: str | None
    metric: str
    adds_while_running: bool
    #: the target value of a target-tracking wake-up
    target_value: float | None = None
    #: the name the alarm watches when it names no endpoint (or component) of the template
    unresolved: str | None = None


@dataclass
class _WakeScan:
    """What can wake a target from zero, and why other alarms on its policies cannot."""

    wakes: list[_Wake] = field(default_factory=list)
    #: notes on alarms that are not counted: they watch another resource, or their
    #: actions are disabled
    passed_over: list[str] = field(default_factory=list)
    #: (policy, target value) of each target-tracking policy on a backlog metric
    tracking: list[tuple[str, str]] = field(default_factory=list)


def _metric_specs(props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The metrics an alarm or customized metric reads: itself, or each MetricStat."""
    if "MetricName" in props:
        yield props
    for query in props.get("Metrics", []) or []:
        stat = query.get("MetricStat") if isinstance(query, Mapping) else None
        metric = stat.get("Metric") if isinstance(stat, Mapping) else None
        if isinstance(metric, Mapping):
            yield metric


def _dimension_values(props: Mapping[str, Any], name: str) -> list[Any]:
    return [d.get("Value") for spec in _metric_specs(props)
            for d in spec.get("Dimensions", []) or []
            if isinstance(d, Mapping) and d.get("Name") == name]


def _watches(values: Sequence[Any], own: str | None,
             resolve: Callable[[Any], str | None]) -> tuple[str, str | None]:
    """Whether a wake-up signal's ``EndpointName`` (or ``InferenceComponentName``) values
    name the target's own resource: ("own", None), ("unresolved", name) when one names no
    resource of the template, ("other", resource) when all name other resources; ("own",
    None) too when the signal has no such dimension (MetricDimensions reports that) or the
    target's own resource is unknown."""
    if own is None or not values:
        return "own", None
    others: list[str] = []
    unresolved: str | None = None
    for value in values:
        lid = resolve(value)
        if lid == own:
            return "own", None
        if lid is None:
            unresolved = unresolved or render(value)
        else:
            others.append(lid)
    if unresolved is not None:
        return "unresolved", unresolved
    return "other", ", ".join(sorted(set(others)))


def _tracking_wake(scaling: _Scaling, policy: str) -> tuple[str, float | None] | None:
    """(backlog metric, target value) of a target-tracking policy on a backlog metric."""
    props = scaling.graph.policies[policy].properties
    config = props.get("TargetTrackingScalingPolicyConfiguration")
    if render(props.get("PolicyType")) != "TargetTrackingScaling" or not isinstance(
            config, Mapping):
        return None
    spec = config.get("CustomizedMetricSpecification")
    if not isinstance(spec, Mapping):
        return None
    names = {render(m.get("MetricName")) for m in _metric_specs(spec)
             if render(m.get("Namespace")) == SAGEMAKER_NAMESPACE}
    metric = next((n for n in sorted(BACKLOG_SIGNALS) if n in names), None)
    if metric is None:
        return None
    return metric, number(config.get("TargetValue"))


def _async_wake_scan(scaling: _Scaling, target: str) -> _WakeScan:
    """Every policy on the target that gives it capacity from zero: a step policy driven by
    an alarm on a wake-up signal of the target's own endpoint, or target tracking on the
    backlog with a target value below 1 (docs/aws-behaviour.md#wake-up-from-zero)."""
    graph = scaling.graph
    own = graph.targets[target].endpoint if target in graph.targets else None

    def endpoint_of(value: Any) -> str | None:
        return graph.endpoint_named(value)[0]

    scan = _WakeScan()
    for policy in scaling.policies_of.get(target, []):
        tracking = _tracking_wake(scaling, policy)
        if tracking is None:
            continue
        tracked, target_value = tracking
        scan.tracking.append((policy, "?" if target_value is None else render(target_value)))
        if target_value is None or target_value >= 1:
            continue
        config = graph.policies[policy].properties[
            "TargetTrackingScalingPolicyConfiguration"]
        watched, watched_name = _watches(_dimension_values(
            config["CustomizedMetricSpecification"], "EndpointName"), own, endpoint_of)
        if watched == "other":
            scan.passed_over.append(f"{policy} tracks the backlog of {watched_name}, not {own}")
            continue
        scan.wakes.append(_Wake(policy, None, tracked, False, target_value,
                                watched_name if watched == "unresolved" else None))
    scan.passed_over.extend(_disabled_notes(scaling, target,
                                            {*_DIRECT_WAKE, *_INDIRECT_WAKE}))
    for policy, config, alarm in scaling.policy_steps(target):
        props = graph.properties(alarm)
        metric = _alarm_metric(props)
        if metric is None:
            # metric math over a wake-up signal: its expression is trusted
            names = {name for ns, name in _math_metrics(props) if ns == SAGEMAKER_NAMESPACE}
            signal = next((n for n in (*_DIRECT_WAKE, *_INDIRECT_WAKE) if n in names), None)
            steps = config.get("StepAdjustments") or [{}]
            wake = (_Wake(policy, alarm, signal, False)
                    if signal is not None and _adds_from_zero(config, steps[0]) else None)
        else:
            namespace, name = metric
            value = {**_DIRECT_WAKE, **_INDIRECT_WAKE}.get(name)
            if namespace != SAGEMAKER_NAMESPACE or value is None:
                continue  # latency, invocations ...: no data at zero instances
            if render(props.get("Statistic")) == "Sum":
                # one datapoint a minute: a longer period sums several while requests wait
                value *= max(1.0, (number(props.get("Period")) or 60.0) / 60.0)
            step = _step_at(config, props, value)
            wake = (_Wake(policy, alarm, name, _adds_while_running(config, step))
                    if _adds_from_zero(config, step) else None)
        if wake is None:
            continue
        _keep_own_wake(scan.wakes, scan.passed_over, wake, alarm, own, _watches(
            _dimension_values(props, "EndpointName"), own, endpoint_of))
    return scan


def _async_targets_to_zero(graph: Graph) -> Iterator[Target]:
    """The scalable targets of asynchronous endpoints whose minimum can be 0."""
    return (target for target in graph.targets.values()
            if target.may_reach_zero and graph.endpoint_kind(target.endpoint) == "async")


def _disabled_notes(scaling: _Scaling, target: str, signals: set[str] | frozenset[str]
                    ) -> Iterator[str]:
    """A note for each alarm on a wake-up signal with ActionsEnabled false that names a
    policy of the target among its AlarmActions: it changes state but never wakes it."""
    graph = scaling.graph
    for policy in scaling.policies_of.get(target, []):
        for alarm in sorted(scaling.disabled):
            props = graph.properties(alarm)
            names = {render(m.get("MetricName")) for m in _metric_specs(props)}
            if names & signals and policy in references(props.get("AlarmActions", [])):
                yield f"{alarm} has ActionsEnabled false, so it never invokes {policy}"


_AnyWake = TypeVar("_AnyWake", "_Wake", "_CopyWake")


def _keep_own_wake(wakes: list[_AnyWake], passed_over: list[str], wake: _AnyWake, alarm: str,
                   own: str | None, watched: tuple[str, str | None]) -> None:
    """Count a step wake-up whose alarm watches the target's own resource (``watched``
    from :func:`_watches`), marked unresolved when the name it watches is not in the
    template; note one that watches another resource instead."""
    status, name = watched
    if status == "other":
        passed_over.append(f"{alarm} watches {name}, not {own}")
    elif status == "unresolved":
        wakes.append(dataclasses.replace(wake, unresolved=name))
    else:
        wakes.append(wake)


def _passed_over(scan_notes: Sequence[str]) -> str:
    return ("; not counted: " + ", ".join(scan_notes)) if scan_notes else ""


def async_wake_up_from_zero(template: Mapping[str, Any]) -> list[Finding]:
    """An async endpoint that may scale to zero (``MinCapacity`` 0, or a scheduled action
    that sets it) needs a policy that adds capacity while requests wait at zero instances:
    a step policy driven by an alarm on its own endpoint's backlog, or target tracking on the
    backlog with a target value below 1; target tracking with a target of 1 or more waits for
    the backlog to pass it. A target whose ``MaxCapacity`` is 0 never serves at all."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = []
    for target in graph.targets.values():
        if graph.endpoint_kind(target.endpoint) != "async":
            continue
        maximum = number(graph.properties(target.id).get("MaxCapacity"))
        if maximum == 0 and not _scheduled_maximum_above_zero(graph.properties(target.id)):
            findings.append(_finding(
                "AsyncWakeUpFromZero", "error", target.id,
                f"MaxCapacity is 0 on asynchronous endpoint {target.endpoint}: it can never "
                "have an instance, so no queued request is ever served; set MaxCapacity to "
                "1 or more"))
            continue
        if context.wake_up_unknown or not target.may_reach_zero:
            continue  # with an Fn::Transform, the wake-up may be inside it
        scan = _async_wake_scan(scaling, target.id)
        if scan.wakes:
            continue
        tracking = "".join(
            f"; target tracking alone does not wake it: a backlog below the target value "
            f"({value}) of {policy} never wakes it" for policy, value in scan.tracking)
        findings.append(_finding(
            "AsyncWakeUpFromZero", "error", target.id,
            f"{target.zero_minimum_source} on asynchronous endpoint {target.endpoint}, but "
            "no policy gives it an instance from zero: no step policy is driven by an alarm "
            f"on {target.endpoint}'s backlog that is in ALARM when HasBacklogWithoutCapacity "
            "(or ApproximateBacklogSize) reads 1 with a step that acts there and adds "
            "capacity" + tracking + _passed_over(scan.passed_over)))
    return findings


def _scheduled_maximum_above_zero(props: Mapping[str, Any]) -> bool:
    actions = props.get("ScheduledActions")
    for action in actions if isinstance(actions, list) else []:
        scaling = action.get("ScalableTargetAction") if isinstance(action, Mapping) else None
        maximum = scaling.get("MaxCapacity") if isinstance(scaling, Mapping) else None
        if maximum is not None and (number(maximum) is None or (number(maximum) or 0) > 0):
            return True
    return False


def wake_up_adds_while_running(template: Mapping[str, Any]) -> list[Finding]:
    """A wake-up on ``ApproximateBacklogSize`` whose step adds capacity at a backlog of 1
    keeps adding instances: the backlog counts requests in progress, so it stays at 1 or
    more while an instance works and the alarm stays in ALARM. Beside target tracking, or
    on its own up to ``MaxCapacity`` while one long request runs."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = []
    for target in _async_targets_to_zero(graph):
        maximum = number(graph.properties(target.id).get("MaxCapacity"))
        if maximum is not None and maximum <= 1:
            continue  # one instance at most: nothing to add
        beside = scaling.has_target_tracking(target.id)
        for wake in _async_wake_scan(scaling, target.id).wakes:
            if wake.metric != "ApproximateBacklogSize" or not wake.adds_while_running:
                continue
            assert wake.alarm is not None
            where = ("beside target tracking" if beside else
                     f"up to MaxCapacity ({render(maximum) if maximum is not None else '?'}) "
                     "while a single long request runs")
            findings.append(_finding(
                "WakeUpAddsWhileRunning", "warning", wake.policy,
                f"this step policy wakes {target.endpoint} on ApproximateBacklogSize "
                f"({_operator_text(graph.properties(wake.alarm))} in {wake.alarm}), which "
                "counts requests being processed as well as queued ones: while instances "
                "run and work it stays at 1 or more, the alarm stays in ALARM and the step "
                f"adds an instance after every cooldown, {where}. Wake on "
                "HasBacklogWithoutCapacity, which is 1 only while no instance runs"))
    return findings


def wake_up_on_indirect_signal(template: Mapping[str, Any]) -> list[Finding]:
    """A wake-up on the per-instance backlog or the age of the oldest request, or target
    tracking on the backlog with a target below 1, where no step wake-up reads
    HasBacklogWithoutCapacity or ApproximateBacklogSize."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = []
    for target in _async_targets_to_zero(graph):
        wakes = _async_wake_scan(scaling, target.id).wakes
        if any(w.metric in _DIRECT_WAKE and w.alarm is not None for w in wakes):
            continue
        for wake in wakes:
            if wake.alarm is None:
                message = (
                    f"the only wake-up of {target.endpoint} is this target-tracking policy on "
                    f"{wake.metric} with a target value of {render(wake.target_value)}: it "
                    "relies on target tracking scaling out from zero once the backlog exceeds "
                    "the target, as AWS's async page says, and AWS does not say what the "
                    "per-instance backlog reads with no instance running. AWS documents a "
                    "step policy on HasBacklogWithoutCapacity >= 1 for waking")
            else:
                message = (
                    f"the only wake-up of {target.endpoint} reads {wake.metric} ({wake.alarm}); "
                    "AWS documents HasBacklogWithoutCapacity for waking an endpoint from zero "
                    "and does not say what the per-instance backlog or the oldest request's "
                    "age read with no instance running. Drive a step policy from an alarm on "
                    "HasBacklogWithoutCapacity >= 1")
            findings.append(_finding("WakeUpOnIndirectSignal", "warning", wake.policy,
                                     message))
    return findings


def wake_up_alarm_watches_target(template: Mapping[str, Any]) -> list[Finding]:
    """A wake-up whose ``EndpointName`` (or ``InferenceComponentName``) names no resource of
    the template is counted, but nothing shows that it watches the endpoint (or component)
    its policy scales."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = []
    for target in _async_targets_to_zero(graph):
        for wake in _async_wake_scan(scaling, target.id).wakes:
            if wake.unresolved is not None:
                findings.append(_finding(
                    "WakeUpAlarmWatchesTarget", "warning", wake.alarm or wake.policy,
                    f"this wake-up of {target.endpoint} reads the backlog of "
                    + _watched_words("endpoint", "EndpointName", wake.unresolved)
                    + f": if it is not {target.endpoint}, nothing wakes {target.endpoint}. "
                    f"Use Fn::GetAtt {target.endpoint}.EndpointName"))
    for copies in scaling.component_targets.values():
        if not copies.may_reach_zero:
            continue
        for copy_wake in _copy_wake_ups(scaling, copies.id).wakes:
            if copy_wake.unresolved is not None:
                findings.append(_finding(
                    "WakeUpAlarmWatchesTarget", "warning", copy_wake.alarm,
                    f"this wake-up of {copies.component} watches "
                    + _watched_words("inference component", "InferenceComponentName",
                                     copy_wake.unresolved)
                    + f": if it is not {copies.component}, nothing wakes its copies. Use the "
                    f"InferenceComponentName of {copies.component}"))
    return findings


def _watched_words(kind: str, dimension: str, value: str) -> str:
    """The name a wake-up watches, or that it could not be followed (an Fn::If, a
    condition, a function the checks do not resolve)."""
    if UNKNOWN in value:
        return (f"the {kind} its {dimension} dimension gives, which could not be resolved "
                "(an Fn::If, a condition or a function the checks do not follow)")
    return f"{kind} {value!r}, which names no {kind} of the template"


def metric_published_by_endpoint_type(template: Mapping[str, Any]) -> list[Finding]:
    """Scaling or alarming on a metric the endpoint's kind does not publish never fires."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = []
    for use in graph.metric_uses:
        spec = catalogue.lookup(use.namespace, use.name)
        kinds = scaling.kinds(use.endpoint)
        if spec is None or not kinds or catalogue.published_by(spec, kinds):
            continue
        described = " and ".join(sorted(kinds))
        publishers = ", ".join(sorted(spec.kinds))
        findings.append(_finding(
            "MetricPublishedByEndpointType", "error", use.owner,
            f"{use.name} is published only by {publishers} endpoints; {use.endpoint} is "
            f"{described}, so this {use.owner_type} never sees data"
            + (" (scale async endpoints on ApproximateBacklogSizePerInstance)"
               if kinds == {"async"} else "")))
    copy_policies = {p for t in scaling.component_targets
                     for p in scaling.policies_of.get(t, [])}
    for policy in graph.policies.values():
        config = policy.properties.get("TargetTrackingScalingPolicyConfiguration")
        spec = config.get("PredefinedMetricSpecification") if isinstance(config, Mapping) else None
        predefined = render(spec.get("PredefinedMetricType")) if isinstance(spec, Mapping) else ""
        endpoint = graph.policy_endpoint(policy.id)
        if (endpoint is not None and endpoint.kind == "async"
                and predefined in NOT_PUBLISHED_BY_ASYNC_PREDEFINED):
            findings.append(_finding(
                "MetricPublishedByEndpointType", "error", policy.id,
                f"the predefined metric {predefined} is not published by asynchronous "
                f"endpoints; {endpoint.id} is asynchronous, so this policy never scales"))
        on_copies = policy.id in copy_policies
        if on_copies and predefined in NOT_PUBLISHED_BY_ASYNC_PREDEFINED:
            findings.append(_finding(
                "MetricPublishedByEndpointType", "error", policy.id,
                f"the predefined metric {predefined} measures a variant's instances; this "
                "policy scales an inference component's copies, which are measured by "
                "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution or "
                "SageMakerInferenceComponentInvocationsPerCopy"))
        if policy.target is not None and predefined in COPY_PREDEFINED:
            findings.append(_finding(
                "MetricPublishedByEndpointType", "error", policy.id,
                f"the predefined metric {predefined} measures an inference component's "
                "copies; this policy scales a variant's instances, which are measured by "
                "the SageMakerVariant... types"))
    return findings


def realtime_min_capacity(template: Mapping[str, Any]) -> list[Finding]:
    """A real-time variant's scalable target needs ``MinCapacity`` of at least 1, and so do
    its scheduled actions; endpoints that host inference components are exempt."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    return [
        _finding("RealtimeMinCapacity", "error", t.id,
                 f"{t.zero_minimum_source} on real-time endpoint {t.endpoint}: SageMaker "
                 "requires a MinCapacity of at least 1 for a real-time variant (only "
                 "asynchronous endpoints and endpoints that host inference components scale "
                 "to zero)")
        for t in graph.targets.values()
        if t.may_reach_zero and graph.endpoint_kind(t.endpoint) == "realtime"
        and t.endpoint not in scaling.hosts_components
    ]


def async_scale_in_step_flaps(template: Mapping[str, Any]) -> list[Finding]:
    """On a min-0 async endpoint, a scale-in step that acts while the backlog reads 1 (one
    instance, one request) removes the instance the wake-up just added."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = []
    for target in graph.targets.values():
        if not target.may_reach_zero or graph.endpoint_kind(target.endpoint) not in (
                "async", None):
            continue
        for policy, config, alarm in scaling.policy_steps(target.id):
            props = graph.properties(alarm)
            metric = _alarm_metric(props)
            if metric is None or metric[0] != SAGEMAKER_NAMESPACE or (
                    metric[1] not in BACKLOG_SIGNALS):
                continue
            if number(props.get("Threshold")) is None or "{{" in render(
                    props.get("ComparisonOperator")):
                continue
            step = _step_at(config, props, 1.0)
            if _removes(config, step):
                assert step is not None
                findings.append(_finding(
                    "AsyncScaleInStepFlaps", "error", policy,
                    f"the scale-in step {_interval(step)} acts at {metric[1]} = 1: {alarm} "
                    f"({_operator_text(props)}) is in ALARM there and the step's interval "
                    "holds it, so at one instance a single queued request removes the "
                    "instance the wake-up added; make the alarm or the step stop below 1 "
                    "(e.g. LessThanThreshold 1, or an upper bound below 1)"))
    return findings


# --- inference components ------------------------------------------------------------------


@dataclass(frozen=True)
class _CopyWake:
    policy: str
    alarm: str
    failures: int  # failed requests in one period the alarm needs
    #: the component name the alarm watches when it names no component of the template
    unresolved: str | None = None


@dataclass
class _CopyWakeScan:
    wakes: list[_CopyWake] = field(default_factory=list)
    passed_over: list[str] = field(default_factory=list)


def _failures_to_alarm(props: Mapping[str, Any]) -> int | None:
    """How many NoCapacityInvocationFailures in one period put the alarm in ALARM (each
    failed request counts 1), or None when no count does."""
    if _in_alarm(props, 1.0):
        return 1
    # Above 1: the Sum counts failed requests; whether another statistic can exceed 1
    # depends on how SageMaker aggregates its datapoints (unconfirmed), so it is read the
    # same way rather than as never.
    operator = render(props.get("ComparisonOperator"))
    threshold = number(props.get("Threshold"))
    if threshold is None or "{{" in operator:
        return 1
    if operator == "GreaterThanOrEqualToThreshold":
        return max(1, math.ceil(threshold))
    if operator == "GreaterThanThreshold":
        return max(1, math.floor(threshold) + 1)
    return None


def _copy_wake_ups(scaling: _Scaling, target: str) -> _CopyWakeScan:
    """The step policies that add a copy on NoCapacityInvocationFailures of the target's own
    component, and why other alarms on its policies are not counted."""
    graph = scaling.graph
    own = scaling.component_targets[target].component
    scan = _CopyWakeScan()
    scan.passed_over.extend(_disabled_notes(scaling, target, {NO_CAPACITY}))
    for policy, config, alarm in scaling.policy_steps(target):
        props = graph.properties(alarm)
        metric = _alarm_metric(props)
        wake: _CopyWake | None = None
        if metric is None:
            if (SAGEMAKER_NAMESPACE, NO_CAPACITY) in _math_metrics(props):
                steps = config.get("StepAdjustments") or [{}]
                if _adds_from_zero(config, steps[0]):
                    wake = _CopyWake(policy, alarm, 1)
        elif metric == (SAGEMAKER_NAMESPACE, NO_CAPACITY):
            failures = _failures_to_alarm(props)
            if failures is not None and _adds_from_zero(
                    config, _step_at(config, props, float(failures))):
                wake = _CopyWake(policy, alarm, failures)
        if wake is None:
            continue
        names = _dimension_values(props, "InferenceComponentName")
        by_arn = [lid for value in names
                  if (lid := scaling.component_by_arn(render(value))) is not None]
        if by_arn and len(by_arn) == len(names):
            # an ARN as the dimension matches no data (EndpointNameDimensionIsAName)
            scan.passed_over.append(
                f"{alarm} watches a Ref or Fn::GetAtt of {by_arn[0]} (its ARN or another "
                "attribute), not its name")
            continue
        _keep_own_wake(scan.wakes, scan.passed_over, wake, alarm, own, _watches(
            names, own, lambda value: scaling._component_named(render(value))))
    return scan


def inference_component_wake_up_from_zero(template: Mapping[str, Any]) -> list[Finding]:
    """Copies that may scale to zero need a step policy driven by an alarm on
    ``NoCapacityInvocationFailures``: nothing else has data while no copy runs."""
    context = _context(template)
    scaling = context.scaling
    findings = []
    for target in scaling.component_targets.values():
        if context.wake_up_unknown:
            break  # the wake-up may be inside an Fn::Transform
        if not target.may_reach_zero:
            continue
        scan = _copy_wake_ups(scaling, target.id)
        if not scan.wakes:
            findings.append(_finding(
                "InferenceComponentWakeUpFromZero", "error", target.id,
                f"{target.zero_minimum_source} for the copies of "
                f"{target.component or target.resource_id}, but no step policy that adds a "
                f"copy is driven by an alarm on its {NO_CAPACITY}: with no copy running, "
                "requests fail and nothing scales the component out again"
                + _passed_over(scan.passed_over)))
    return findings


def inference_component_wake_up_needs_two_failures(template: Mapping[str, Any]
                                                  ) -> list[Finding]:
    """A copy wake-up whose alarm needs two or more failed requests in one period (AWS's
    example, ``GreaterThanThreshold 1`` on the Sum) leaves a lone request unanswered."""
    scaling = _context(template).scaling
    findings = []
    for target in scaling.component_targets.values():
        wakes = _copy_wake_ups(scaling, target.id).wakes if target.may_reach_zero else []
        if not wakes or any(w.failures == 1 for w in wakes):
            continue
        for wake in wakes:
            props = scaling.graph.properties(wake.alarm)
            findings.append(_finding(
                "InferenceComponentWakeUpNeedsTwoFailures", "warning", wake.alarm,
                f"this alarm ({render(props.get('Statistic'))} of {NO_CAPACITY}, "
                f"{_operator_text(props)}) goes off only after {wake.failures} failed requests "
                f"in one {render(props.get('Period'))}-s period: a single request to "
                f"{target.component or target.resource_id} at zero copies fails and does not "
                "wake it. Use GreaterThanOrEqualToThreshold 1"))
    return findings


def _managed_scaling_problem(managed: Any) -> str | None:
    """What in a variant's ``ManagedInstanceScaling`` is certainly wrong, or None
    (docs/aws-behaviour.md#inference-component-wake-up). Copies at zero on instances that are
    kept (``MinInstanceCount`` above 0, or no managed scaling) are a valid choice: copies
    may reach 0 on their own; ``MinInstanceCount`` 0 is needed only for the instances to."""
    if not isinstance(managed, Mapping):
        return None
    status = render(managed.get("Status", ""))
    minimum = number(managed.get("MinInstanceCount"))
    maximum = number(managed.get("MaxInstanceCount"))
    if status == "ENABLED" and minimum is not None and maximum is not None and (
            maximum < minimum):
        return (f"its MaxInstanceCount {render(maximum)} is below its MinInstanceCount "
                f"{render(minimum)}")
    return None


def inference_component_managed_scaling(template: Mapping[str, Any]) -> list[Finding]:
    """The hosting variant's ``ManagedInstanceScaling`` bounds must be in order."""
    scaling = _context(template).scaling
    graph = scaling.graph
    findings = []
    for target in scaling.component_targets.values():
        component = target.component
        endpoint_id = scaling.component_endpoint.get(component or "")
        endpoint = graph.endpoints.get(endpoint_id or "")
        if component is None or endpoint is None or endpoint.config is None:
            continue
        variant_name = scaling.components[component].get("VariantName")
        variants = [v for v in graph.properties(endpoint.config).get("ProductionVariants", [])
                    or [] if isinstance(v, Mapping)]
        if variant_name is not None:
            variants = [v for v in variants
                        if render(v.get("VariantName")) == render(variant_name)]
        if len(variants) != 1:
            continue
        problem = _managed_scaling_problem(variants[0].get("ManagedInstanceScaling"))
        if problem is not None:
            findings.append(_finding(
                "InferenceComponentManagedScaling", "error", target.id,
                f"the copies of {component} scale between {render(target.min_capacity)} and "
                f"{render(target.max_capacity)} on endpoint {endpoint.id}, but the variant's "
                f"ManagedInstanceScaling is out of order: {problem}; set MaxInstanceCount to "
                "at least MinInstanceCount"))
    return findings


# --- schedules and transforms ----------------------------------------------------------------


def schedule_expression(template: Mapping[str, Any]) -> list[Finding]:
    """A scheduled action whose ``Schedule`` Application Auto Scaling rejects fails the
    stack (an error); one only EventBridge's or Quartz's rules question is a warning."""
    graph = _graph(template)
    findings = []
    for target in graph.of_type(SCALABLE_TARGET):
        actions = graph.properties(target).get("ScheduledActions")
        for n, action in enumerate(actions if isinstance(actions, list) else []):
            schedule = action.get("Schedule") if isinstance(action, Mapping) else None
            if not isinstance(schedule, str):
                continue
            name = render(action.get("ScheduledActionName", f"#{n + 1}"))
            problems = schedule_problems(schedule)
            if problems:
                findings.append(_finding(
                    "ScheduleExpression", "error", target,
                    f"scheduled action {name}: " + "; ".join(problems)))
            # What only EventBridge's or Quartz's rules question is a warning: no source
            # says Application Auto Scaling rejects it (docs/aws-behaviour.md#schedule-expressions).
            doubts = schedule_warnings(schedule)
            if doubts:
                findings.append(_finding(
                    "ScheduleExpression", "warning", target,
                    f"scheduled action {name}: " + "; ".join(doubts)))
    return findings


def transform_not_expanded(template: Mapping[str, Any]) -> list[Finding]:
    """A resource filled in by ``Fn::Transform`` is known only after the macro runs: the
    rules skip it."""
    return [
        _finding("TransformNotExpanded", "warning", lid,
                 f"the properties of this resource come from the macro {macro} "
                 "(Fn::Transform), which CloudFormation runs only at deployment: no rule "
                 "judged this resource. Check the processed template (for example from "
                 "get-template --template-stage Processed)")
        for lid, macro in sorted(transformed_resources(template).items())
    ]


# --- unchanged rules --------------------------------------------------------------------------


def _num(value: float) -> str:
    return "infinity" if math.isinf(value) else render(value)


def _interval(step: Mapping[str, Any]) -> str:
    lower = step.get("MetricIntervalLowerBound")
    upper = step.get("MetricIntervalUpperBound")
    return (f"[{'-inf' if lower is None else render(lower)}, "
            f"{'+inf' if upper is None else render(upper)}] "
            f"({render(step.get('ScalingAdjustment'))})")


def _allows_cloudwatch(document: Any) -> bool:
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    statements = [statements] if isinstance(statements, Mapping) else statements
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        publishes = any(isinstance(a, str) and a.lower() in ("sns:publish", "sns:*", "*")
                        for a in actions)
        principal = statement.get("Principal")
        if principal == "*" or (isinstance(principal, Mapping) and principal.get("AWS") == "*"):
            covers = True
        elif isinstance(principal, Mapping):
            services = principal.get("Service", [])
            services = [services] if isinstance(services, str) else services
            covers = "cloudwatch.amazonaws.com" in services
        else:
            covers = False
        if not (publishes and covers):
            continue
        if statement.get("Effect") == "Deny" and "Condition" not in statement:
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def alarm_topic_allows_cloudwatch(template: Mapping[str, Any]) -> list[Finding]:
    """A topic policy (``AWS::SNS::TopicPolicy`` or ``AWS::SNS::TopicInlinePolicy``)
    replaces SNS's default policy; without an allow for ``cloudwatch.amazonaws.com`` every
    alarm notification to the topic fails."""
    graph = _graph(template)
    notified: dict[str, list[str]] = {}
    for alarm in graph.of_type(ALARM) + graph.of_type("AWS::CloudWatch::CompositeAlarm"):
        for topic in graph.alarm_actions(alarm):
            if graph.type_of(topic) == TOPIC:
                notified.setdefault(topic, []).append(alarm)
    findings = []
    for policy in graph.of_type(TOPIC_POLICY) + graph.of_type(TOPIC_INLINE_POLICY):
        props = graph.properties(policy)
        if _allows_cloudwatch(props.get("PolicyDocument")):
            continue
        topics = props.get("Topics", []) if graph.type_of(policy) == TOPIC_POLICY else (
            props.get("TopicArn"))
        for topic in sorted(references(topics) & set(notified)):
            alarms = notified[topic]
            named = ", ".join(alarms[:3]) + (f" and {len(alarms) - 3} more" if len(alarms) > 3
                                             else "")
            findings.append(_finding(
                "AlarmTopicAllowsCloudWatch", "error", policy,
                f"topic {topic} is notified by {named}, but this topic policy does not allow "
                "cloudwatch.amazonaws.com to sns:Publish: a topic policy replaces SNS's "
                "default policy, so every notification fails"))
    return findings


def scalable_target_resolves_to_endpoint(template: Mapping[str, Any]) -> list[Finding]:
    """A SageMaker scalable target should name an endpoint of the template through its
    ``EndpointName`` attribute, so that CloudFormation registers it after the endpoint."""
    graph = _graph(template)
    findings = []
    for target in graph.targets.values():
        if target.endpoint is None:
            message = (f"ResourceId {target.resource_id!r} names no endpoint in this template; "
                       "the checks that depend on the endpoint's type were skipped for it")
        elif target.tie == "arn":
            message = (f"ResourceId uses Ref on {target.endpoint}, which gives the endpoint's "
                       "ARN, not its name; use Fn::GetAtt " + target.endpoint + ".EndpointName")
        elif target.tie == "name" and not graph.depends_on(target.id, target.endpoint):
            message = (f"ResourceId names {target.endpoint} by its name without depending on "
                       "it, so CloudFormation may register the target before the endpoint "
                       "exists; use Fn::GetAtt " + target.endpoint + ".EndpointName or DependsOn")
        else:
            continue
        findings.append(_finding("ScalableTargetResolvesToEndpoint", "warning", target.id,
                                 message))
    for copies in _context(template).scaling.component_targets.values():
        if copies.by_arn_of is not None:
            continue  # an error of EndpointNameDimensionIsAName
        if copies.component is None:
            message = (f"ResourceId {copies.resource_id!r} names no inference component in "
                       "this template; the inference-component checks were skipped for it")
        elif copies.by_literal_name and not graph.depends_on(copies.id, copies.component):
            message = (f"ResourceId names {copies.component} by its name without depending on "
                       "it, so CloudFormation may register the target before the component "
                       f"exists; add DependsOn {copies.component}")
        else:
            continue
        findings.append(_finding("ScalableTargetResolvesToEndpoint", "warning", copies.id,
                                 message))
    return findings


def scalable_target_variant_exists(template: Mapping[str, Any]) -> list[Finding]:
    """The variant a scalable target names must be one of its endpoint config's variants."""
    graph = _graph(template)
    findings = []
    for target in graph.targets.values():
        endpoint = graph.endpoints.get(target.endpoint or "")
        if (endpoint is None or endpoint.variants is None or target.variant is None
                or target.variant in endpoint.variants or "{{" in target.variant):
            continue
        findings.append(_finding(
            "ScalableTargetVariantExists", "error", target.id,
            f"ResourceId names variant {target.variant!r}, but the config of {endpoint.id} has "
            f"only {sorted(endpoint.variants)}: registering this target fails"))
    return findings


def _component_fix(component: str) -> str:
    return (f"set InferenceComponentName on {component} and use the same literal or "
            "parameter here (CloudFormation has no attribute that returns the name)")


def endpoint_name_dimension_is_a_name(template: Mapping[str, Any]) -> list[Finding]:
    """``Ref`` on an endpoint gives its ARN; as the ``EndpointName`` dimension of a metric it
    matches no data. ``Ref`` or ``Fn::GetAtt`` on an inference component gives its ARN (or
    another attribute), never its name: as the ``InferenceComponentName`` dimension it matches
    no data, and in an ``inference-component/`` ResourceId it names no component."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = [
        _finding("EndpointNameDimensionIsAName", "error", use.owner,
                 f"the EndpointName dimension of {use.name} is Ref {use.endpoint}, which gives "
                 f"the endpoint's ARN, so this {use.owner_type} matches no data; use "
                 f"Fn::GetAtt {use.endpoint}.EndpointName")
        for use in graph.metric_uses
        if use.tie == "arn" and "EndpointName" in use.dimensions
    ]
    owners = [(alarm, "alarm", graph.properties(alarm)) for alarm in graph.alarms]
    for policy in graph.policies.values():
        config = policy.properties.get("TargetTrackingScalingPolicyConfiguration")
        spec = config.get("CustomizedMetricSpecification") if isinstance(
            config, Mapping) else None
        if isinstance(spec, Mapping):
            owners.append((policy.id, "policy", spec))
    for owner, kind, props in owners:
        for value in _dimension_values(props, "InferenceComponentName"):
            component = scaling.component_by_arn(render(value))
            if component is not None:
                findings.append(_finding(
                    "EndpointNameDimensionIsAName", "error", owner,
                    f"the InferenceComponentName dimension is {render(value)}, which gives "
                    f"the ARN (or another attribute) of {component}, not its name, so this "
                    f"{kind} matches no data; " + _component_fix(component)))
    for copies in scaling.component_targets.values():
        if copies.by_arn_of is not None:
            findings.append(_finding(
                "EndpointNameDimensionIsAName", "error", copies.id,
                f"ResourceId {copies.resource_id!r} holds a Ref or Fn::GetAtt of "
                f"{copies.by_arn_of}, which gives the component's ARN (or another attribute), "
                "not its name, so it names no inference component; "
                + _component_fix(copies.by_arn_of)))
    return findings


def _pool_queries(spec: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """A metric-math list whose MetricStats read two or more instance types, else None."""
    metrics = spec.get("Metrics")
    if not isinstance(metrics, list):
        return None
    types = set()
    for query in metrics:
        stat = query.get("MetricStat") if isinstance(query, Mapping) else None
        metric = stat.get("Metric") if isinstance(stat, Mapping) else None
        if isinstance(metric, Mapping):
            for dimension in metric.get("Dimensions", []) or []:
                if isinstance(dimension, Mapping) and dimension.get("Name") == "InstanceType":
                    types.add(render(dimension.get("Value")))
    return metrics if len(types) >= 2 else None


def _dilution(metrics: Sequence[Mapping[str, Any]]) -> str | None:
    """Why an empty pool distorts the signal, or None when it does not.

    Evaluated with CloudWatch's missing-value rules
    (docs/aws-behaviour.md#metric-math-missing-values): for each pool alone, find the value
    at which the signal reads 1; then load every pool at its value. A signal that survives
    an empty pool reads 1 again; a fixed-weight sum reads more, by the factor an empty pool
    takes away.
    """
    try:
        queries = queries_from_template(metrics)
        run = compile_queries(queries)
    except (MetricMathError, KeyError, TypeError, ValueError, AssertionError):
        return None  # an expression outside the evaluator's subset: not judged
    pools = sorted({q.instance_type for q in queries if q.instance_type is not None})
    unit: dict[str, float] = {}
    for pool in pools:
        alone = run({pool: 1.0})
        if alone is None or alone <= 0:
            return f"with only {pool} running, the signal has no positive value"
        unit[pool] = 1.0 / alone
    together = run(unit)
    if together is None or abs(together - 1.0) > 1e-6:
        share = "no value" if together is None else f"{1 / together:.0%} of the load"
        return ("with every pool at the load each alone reports as 1 the signal reads "
                f"{'nothing' if together is None else render(round(together, 3))}; so while "
                f"one pool has no instances (and publishes nothing) it reads {share}")
    return None


def mixed_fleet_signal_survives_empty_pool(template: Mapping[str, Any]) -> list[Finding]:
    """Metric math over per-``InstanceType`` metrics must not be a fixed-weight sum: a pool
    without instances publishes nothing and dilutes it."""
    graph = _graph(template)
    findings = []
    owners: list[tuple[str, Mapping[str, Any]]] = []
    for policy in graph.policies.values():
        config = policy.properties.get("TargetTrackingScalingPolicyConfiguration")
        spec = config.get("CustomizedMetricSpecification") if isinstance(config, Mapping) else None
        if isinstance(spec, Mapping):
            owners.append((policy.id, spec))
    owners += [(alarm, graph.properties(alarm)) for alarm in graph.alarms]
    for owner, spec in owners:
        metrics = _pool_queries(spec)
        reason = None if metrics is None else _dilution(metrics)
        if reason is not None:
            findings.append(_finding(
                "MixedFleetSignalSurvivesEmptyPool", "warning", owner,
                f"metric math over instance pools: {reason}. Use the most loaded pool's "
                "utilization, or normalize by the pools that report (IF(m, 1, 1))"))
    return findings




def streaming_scale_in_cooldown(template: Mapping[str, Any]) -> list[Finding]:
    """Real-time target tracking on an endpoint that serves a Deepgram model should wait at
    least 300 s between scale-ins, so that instances are not removed under running
    streams (Deepgram's guidance; other models are not judged)."""
    context = _context(template)
    graph, scaling = context.graph, context.scaling
    findings = []
    for policy in graph.policies.values():
        config = policy.properties.get("TargetTrackingScalingPolicyConfiguration")
        endpoint = graph.policy_endpoint(policy.id)
        if (not isinstance(config, Mapping) or endpoint is None or endpoint.kind != "realtime"
                or endpoint.id not in scaling.deepgram
                or config.get("DisableScaleIn") in (True, "true")):
            continue
        cooldown = number(config.get("ScaleInCooldown", STREAMING_SCALE_IN_COOLDOWN))
        if cooldown is not None and cooldown < STREAMING_SCALE_IN_COOLDOWN:
            findings.append(_finding(
                "StreamingScaleInCooldown", "warning", policy.id,
                f"ScaleInCooldown is {render(cooldown)} s on real-time endpoint {endpoint.id}, "
                f"which serves a Deepgram model ({scaling.deepgram[endpoint.id]}); Deepgram's "
                "guidance for its models is 300 s, so that instances are not removed under "
                "running streams"))
    return findings


def retain_variant_properties(template: Mapping[str, Any]) -> list[Finding]:
    """An autoscaled endpoint needs ``RetainAllVariantProperties: true``, or each update
    resets its fleet to the config's ``InitialInstanceCount``."""
    graph = _graph(template)
    scaled = {t.endpoint for t in graph.targets.values() if t.endpoint is not None}
    return [
        _finding("RetainVariantProperties", "warning", lid,
                 "this endpoint is autoscaled but lacks RetainAllVariantProperties: true, so "
                 "every update resets its instance count to the config's InitialInstanceCount")
        for lid in sorted(scaled)
        if not graph.endpoints[lid].retains_variant_properties
    ]




RULES: tuple[Rule, ...] = (
    Rule("MetricDimensions", "error",
         "a policy or alarm reads a SageMaker metric of the catalogue (AWS/SageMaker, "
         "/aws/sagemaker/Endpoints, /aws/sagemaker/InferenceComponents) with a dimension set "
         "it is not published with: e.g. a backlog metric with VariantName, GPUUtilization "
         "with VariantName only",
         "use one of the published dimension sets the message lists (backlog metrics: "
         "EndpointName only; variant and instance metrics: EndpointName and VariantName)",
         "metric-catalogue", _judged(metric_dimensions)),
    Rule("AsyncWakeUpFromZero", "error",
         "an async endpoint's scalable target has MinCapacity 0 (or a scheduled action sets "
         "it) and no policy gives it capacity from zero: no step policy is driven by an "
         "enabled alarm on its own endpoint in ALARM when HasBacklogWithoutCapacity or "
         "ApproximateBacklogSize reads 1 (or on the per-instance backlog or the oldest "
         "request's age) with a step that acts there and adds capacity (+1 or more; a "
         "percentage only with MinAdjustmentMagnitude >= 1), and no target tracking on the "
         "backlog has a target value below 1; or its MaxCapacity is 0",
         "add a step policy (ChangeInCapacity +1 from a lower bound of 0) and an alarm on "
         "HasBacklogWithoutCapacity (Average, >= 1) whose AlarmActions name it",
         "wake-up-from-zero", _judged(async_wake_up_from_zero)),
    Rule("WakeUpAddsWhileRunning", "warning",
         "a min-0 async endpoint (MaxCapacity above 1) wakes on ApproximateBacklogSize with a "
         "step that adds capacity at a backlog of 1, beside target tracking or alone: the "
         "backlog counts requests in progress, so the step keeps adding instances while one "
         "runs",
         "wake on HasBacklogWithoutCapacity (>= 1) instead",
         "wake-up-from-zero", _judged(wake_up_adds_while_running)),
    Rule("WakeUpOnIndirectSignal", "warning",
         "the only wake-up of a min-0 async endpoint is a step on "
         "ApproximateBacklogSizePerInstance or ApproximateAgeOfOldestRequest, or target "
         "tracking on the backlog with a target value below 1",
         "wake on HasBacklogWithoutCapacity (>= 1), AWS's documented signal",
         "wake-up-from-zero", _judged(wake_up_on_indirect_signal)),
    Rule("WakeUpAlarmWatchesTarget", "warning",
         "a wake-up alarm of a min-0 async endpoint (or of copies that may reach zero) reads "
         "an EndpointName (InferenceComponentName) that names no endpoint (component) of the "
         "template; one that names another resource of the template is no wake-up",
         "name the endpoint with Fn::GetAtt <Endpoint>.EndpointName (the component by its "
         "InferenceComponentName)",
         "wake-up-from-zero", _judged(wake_up_alarm_watches_target)),
    Rule("MetricPublishedByEndpointType", "error",
         "a policy or alarm reads a catalogued metric the endpoint's kind never publishes "
         "(Invocations, InvocationsPerInstance, ConcurrentRequestsPerModel, OverheadLatency "
         "or their predefined types on an async endpoint; a backlog metric on a real-time "
         "one; an inference-component metric on an endpoint without components; a variant's "
         "predefined type on a component's copies, or a copy type on a variant)",
         "scale async endpoints on ApproximateBacklogSizePerInstance and real-time ones on "
         "ConcurrentRequestsPerModel or InvocationsPerInstance",
         "metric-catalogue", _judged(metric_published_by_endpoint_type)),
    Rule("RealtimeMinCapacity", "error",
         "a real-time endpoint's scalable target has MinCapacity 0, or a scheduled action "
         "sets it to 0, where SageMaker requires at least 1 (endpoints that host inference "
         "components are not judged)",
         "set MinCapacity to 1 or more (only asynchronous endpoints and inference components "
         "scale to zero)",
         "realtime-min-capacity", _judged(realtime_min_capacity)),
    Rule("AsyncScaleInStepFlaps", "error",
         "on a min-0 async endpoint (MinCapacity 0, or a scheduled action setting it) a "
         "scale-in step acts while the backlog (ApproximateBacklogSize[PerInstance]) reads 1: "
         "its alarm is in ALARM at 1 and the step's interval holds 1",
         "make the scale-in stop below a backlog of 1 (LessThanThreshold 1, or threshold 0.5 "
         "with upper bound 0), or scale in with target tracking",
         "step-bounds", _judged(async_scale_in_step_flaps)),
    Rule("InferenceComponentWakeUpFromZero", "error",
         "an inference component's copies may scale to zero (MinCapacity 0 or a scheduled "
         "0) and no step policy that adds a copy is driven by an enabled alarm on the "
         "component's own NoCapacityInvocationFailures",
         "add AWS's step policy (ChangeInCapacity +1) and an alarm on "
         "NoCapacityInvocationFailures (Sum, >= 1) whose AlarmActions name it",
         "inference-component-wake-up", _judged(inference_component_wake_up_from_zero)),
    Rule("InferenceComponentWakeUpNeedsTwoFailures", "warning",
         "the copies' only wake-up alarm needs two or more failed requests in one period "
         "(AWS's example: GreaterThanThreshold 1 on the Sum)",
         "use GreaterThanOrEqualToThreshold 1",
         "inference-component-wake-up",
         _judged(inference_component_wake_up_needs_two_failures)),
    Rule("InferenceComponentManagedScaling", "error",
         "the ManagedInstanceScaling of the variant hosting a scaled inference component is "
         "ENABLED with MaxInstanceCount below MinInstanceCount (copies at zero on kept "
         "instances are not judged)",
         "set MaxInstanceCount to at least MinInstanceCount on the endpoint config's variant",
         "inference-component-wake-up", _judged(inference_component_managed_scaling)),
    Rule("AlarmTopicAllowsCloudWatch", "error",
         "an alarm notifies a topic of the template whose topic policy (TopicPolicy or "
         "TopicInlinePolicy) does not allow cloudwatch.amazonaws.com to sns:Publish",
         "add a statement allowing the service principal cloudwatch.amazonaws.com to "
         "sns:Publish, scoped with aws:SourceAccount and aws:SourceArn on your alarms",
         "alarm-topic-policy", _judged(alarm_topic_allows_cloudwatch)),
    Rule("ScalableTargetResolvesToEndpoint", "warning",
         "a SageMaker scalable target's ResourceId names no endpoint (or inference "
         "component) of the template, names an endpoint by Ref (an ARN), or names either by "
         "a literal name without depending on it",
         "build ResourceId from Fn::GetAtt <Endpoint>.EndpointName, or add DependsOn",
         "variant-scalable-target", _judged(scalable_target_resolves_to_endpoint)),
    Rule("ScalableTargetVariantExists", "error",
         "a scalable target names a variant its endpoint's config does not have",
         "use the VariantName of the endpoint config's production variant",
         "variant-scalable-target", _judged(scalable_target_variant_exists)),
    Rule("EndpointNameDimensionIsAName", "error",
         "a metric's EndpointName dimension is Ref on an endpoint, which gives its ARN; or an "
         "InferenceComponentName dimension or an inference-component/ ResourceId is Ref or "
         "Fn::GetAtt on an inference component, which gives its ARN, never its name",
         "use Fn::GetAtt <Endpoint>.EndpointName; for a component, the literal or parameter "
         "its InferenceComponentName is set to",
         "endpoint-ref-is-arn", _judged(endpoint_name_dimension_is_a_name)),
    Rule("MixedFleetSignalSurvivesEmptyPool", "warning",
         "metric math over per-InstanceType metrics sums them with fixed weights, so a pool "
         "without instances dilutes the signal",
         "take the most loaded pool's utilization (nested IF(a >= b, a, b)), or divide by the "
         "weights of the pools that report (IF(m, 1, 1))",
         "metric-math-missing-values", _judged(mixed_fleet_signal_survives_empty_pool)),
    Rule("StreamingScaleInCooldown", "warning",
         "a real-time target-tracking policy on an endpoint that serves a Deepgram model "
         "(this library's deepgram-scaling metadata on the endpoint, a Deepgram model package "
         "or image, or Deepgram settings) has ScaleInCooldown under 300 s",
         "set ScaleInCooldown to 300 or more (or disable scale-in and scale in by a "
         "quiet-period step policy)",
         "deepgram-cooldowns", _judged(streaming_scale_in_cooldown)),
    Rule("RetainVariantProperties", "warning",
         "an autoscaled endpoint lacks RetainAllVariantProperties: true, so an update resets "
         "the fleet to InitialInstanceCount",
         "set RetainAllVariantProperties: true on the endpoint",
         "retain-variant-properties", _judged(retain_variant_properties)),
    Rule("ScheduleExpression", "error",
         "a scheduled action's Schedule is one Application Auto Scaling rejects (cron "
         "without six fields or without exactly one '?' in day-of-month/day-of-week, a field "
         "out of range, a malformed rate() or at())",
         "write cron(minutes hours day-of-month month day-of-week year), rate(N unit) or "
         "at(yyyy-mm-ddThh:mm:ss)",
         SCHEDULE_ANCHOR, _judged(schedule_expression)),
    Rule("TransformNotExpanded", "warning",
         "a resource's properties are (or hold at their top level) an Fn::Transform: its "
         "contents exist only after the macro runs, so every rule skips it",
         "check the processed template, or expand the macro before checking",
         "fn-transform", transform_not_expanded),
)

#: old id -> its rule, for look-ups by a replaced id
RULES_BY_NAME: Mapping[str, Rule] = {
    **{rule.name: rule for rule in RULES},
    **{old: next(r for r in RULES if r.name == new) for old, new in ALIASES.items()},
}


def check_template(template: Mapping[str, Any], rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Every finding of every rule, errors first, then by resource. The template's graph
    and indexes are built once for all the rules."""
    _current.append(_Context(template))
    try:
        findings = [f for rule in rules for f in rule.check(template)]
    finally:
        _current.pop()
    return sorted(findings, key=lambda f: (f.level != "error", f.resource, f.rule))
