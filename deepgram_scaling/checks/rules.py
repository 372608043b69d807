"""The scaling-correctness rules: one pure function per rule over a parsed template.

Each function takes the template dict and returns its findings. :data:`RULES` wires each
function to its id, level, summary and fix; the CLI and the CDK pack both run
:data:`RULES`, so they always agree. Every rule cites the behaviour it relies on in
``docs/aws-behaviour.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..metric_math import MetricMathError, compile_queries, queries_from_template
from .resolve import (
    ALARM,
    SAGEMAKER_NAMESPACE,
    TOPIC,
    TOPIC_INLINE_POLICY,
    TOPIC_POLICY,
    Graph,
    MetricUse,
    number,
    references,
    render,
)

PACK = "SageMakerScaling"
Level = Literal["error", "warning"]

#: Published by asynchronous endpoints, with ``EndpointName`` only
#: (docs/aws-behaviour.md#backlog-metrics).
BACKLOG_METRICS = frozenset({
    "ApproximateBacklogSize", "ApproximateBacklogSizePerInstance",
    "HasBacklogWithoutCapacity", "ApproximateAgeOfOldestRequest",
})
#: Real-time metrics asynchronous endpoints do not publish (docs/aws-behaviour.md#backlog-metrics).
NOT_PUBLISHED_BY_ASYNC = frozenset({
    "Invocations", "InvocationsPerInstance", "ConcurrentRequestsPerModel", "OverheadLatency",
})
NOT_PUBLISHED_BY_ASYNC_PREDEFINED = frozenset({
    "SageMakerVariantInvocationsPerInstance",
    "SageMakerVariantConcurrentRequestsPerModelHighResolution",
})
#: The signals a backlog step policy reads (docs/aws-behaviour.md#step-bounds).
BACKLOG_SIGNALS = frozenset({"ApproximateBacklogSize", "ApproximateBacklogSizePerInstance"})
#: Deepgram's scale-in cooldown for streaming (docs/aws-behaviour.md#deepgram-cooldowns);
#: Application Auto Scaling's default for SageMaker variants is the same 300 s
#: (docs/aws-behaviour.md#default-cooldown).
STREAMING_SCALE_IN_COOLDOWN = 300.0


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


def _finding(name: str, level: Level, resource: str, message: str) -> Finding:
    return Finding(f"{PACK}-{name}", level, resource, message)


def _sagemaker(use: MetricUse) -> bool:
    return use.namespace == SAGEMAKER_NAMESPACE


# --- the rules ---------------------------------------------------------------------------


def backlog_metric_dimensions(template: Mapping[str, Any]) -> list[Finding]:
    """A backlog metric queried with dimensions other than exactly ``EndpointName`` matches
    no data, so the policy or alarm never sees the backlog."""
    findings = []
    for use in Graph(template).metric_uses:
        if _sagemaker(use) and use.name in BACKLOG_METRICS and set(use.dimensions) != {
                "EndpointName"}:
            got = ", ".join(sorted(use.dimensions)) or "none"
            findings.append(_finding(
                "BacklogMetricDimensions", "error", use.owner,
                f"{use.name} is published with the dimension EndpointName only; this "
                f"{use.owner_type} queries it with dimensions [{got}], which match no data"))
    return findings


def _adds_from_zero(config: Any) -> bool:
    """Whether a step scaling configuration has a step that gives an endpoint at zero an
    instance: +1 or more (ChangeInCapacity), 1 or more (ExactCapacity), or a positive
    percentage with MinAdjustmentMagnitude of 1 or more (a percentage of 0 is 0)."""
    if not isinstance(config, Mapping):
        return False
    if render(config.get("AdjustmentType")) == "PercentChangeInCapacity" and (
            number(config.get("MinAdjustmentMagnitude")) or 0) < 1:
        return False
    steps = config.get("StepAdjustments", [])
    return any(isinstance(s, Mapping) and (number(s.get("ScalingAdjustment")) or 0) >= 1
               for s in (steps if isinstance(steps, list) else []))


def _fires_on_a_backlog(props: Mapping[str, Any]) -> bool:
    """Whether an alarm goes off when HasBacklogWithoutCapacity is 1: a GreaterThan*
    comparison whose threshold 1 reaches (a threshold that is not a literal is trusted)."""
    operator = render(props.get("ComparisonOperator"))
    threshold = number(props.get("Threshold"))
    if operator == "GreaterThanOrEqualToThreshold":
        return threshold is None or threshold <= 1
    if operator == "GreaterThanThreshold":
        return threshold is None or threshold < 1
    return False


def _wakes_from_zero(graph: Graph, target: str) -> bool:
    for policy in graph.policies.values():
        if (policy.target != target or policy.type != "StepScaling"
                or not _adds_from_zero(policy.properties.get("StepScalingPolicyConfiguration"))):
            continue
        for alarm in graph.alarms_driving(policy.id):
            if _fires_on_a_backlog(graph.properties(alarm)) and any(
                    u.owner == alarm and u.name == "HasBacklogWithoutCapacity"
                    for u in graph.metric_uses):
                return True
    return False


def async_wake_up_from_zero(template: Mapping[str, Any]) -> list[Finding]:
    """An async endpoint that may scale to zero (``MinCapacity`` 0, or a scheduled action
    that sets it) needs a step policy that adds capacity, driven by an alarm that goes off
    when ``HasBacklogWithoutCapacity`` is 1; target tracking alone waits for the backlog to
    pass the target."""
    graph = Graph(template)
    findings = []
    for target in graph.targets.values():
        if (target.may_reach_zero and graph.endpoint_kind(target.endpoint) == "async"
                and not _wakes_from_zero(graph, target.id)):
            findings.append(_finding(
                "AsyncWakeUpFromZero", "error", target.id,
                f"{target.zero_minimum_source} on asynchronous endpoint {target.endpoint}, but "
                "no step policy that adds capacity from zero is driven by an alarm on "
                "HasBacklogWithoutCapacity >= 1: at zero instances a backlog below the target "
                "value never wakes the endpoint"))
    return findings


def metric_published_by_endpoint_type(template: Mapping[str, Any]) -> list[Finding]:
    """Scaling or alarming on a metric the endpoint's type does not publish never fires."""
    graph = Graph(template)
    findings = []
    for use in graph.metric_uses:
        kind = graph.endpoint_kind(use.endpoint)
        if not _sagemaker(use) or kind is None:
            continue
        if kind == "async" and use.name in NOT_PUBLISHED_BY_ASYNC:
            findings.append(_finding(
                "MetricPublishedByEndpointType", "error", use.owner,
                f"{use.name} is not published by asynchronous endpoints; {use.endpoint} is "
                "asynchronous, so this " + use.owner_type + " never sees data (scale async "
                "endpoints on ApproximateBacklogSizePerInstance)"))
        if kind == "realtime" and use.name in BACKLOG_METRICS:
            findings.append(_finding(
                "MetricPublishedByEndpointType", "error", use.owner,
                f"{use.name} is published only by asynchronous endpoints; {use.endpoint} is a "
                f"real-time endpoint, so this {use.owner_type} never sees data"))
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
    return findings


def realtime_min_capacity(template: Mapping[str, Any]) -> list[Finding]:
    """A real-time variant's scalable target needs ``MinCapacity`` of at least 1, and so do
    its scheduled actions."""
    graph = Graph(template)
    return [
        _finding("RealtimeMinCapacity", "error", t.id,
                 f"{t.zero_minimum_source} on real-time endpoint {t.endpoint}: a real-time "
                 "variant must keep at least 1 instance, so "
                 + ("registering this target fails" if t.min_capacity == 0
                    else "the scheduled action fails"))
        for t in graph.targets.values()
        if t.may_reach_zero and graph.endpoint_kind(t.endpoint) == "realtime"
    ]


def _scale_in_steps(config: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    exact = render(config.get("AdjustmentType")) == "ExactCapacity"
    steps = config.get("StepAdjustments", [])
    return [s for s in steps if isinstance(s, Mapping)
            and (adjustment := number(s.get("ScalingAdjustment"))) is not None
            and ((exact and adjustment == 0) or (not exact and adjustment < 0))]


def async_scale_in_step_flaps(template: Mapping[str, Any]) -> list[Finding]:
    """On a min-0 async endpoint (``MinCapacity`` 0, or a scheduled action that sets it), a
    scale-in step that still acts at a backlog of 1 per instance removes the instance the
    wake-up just added: the upper bound of a scale-in step is inclusive."""
    graph = Graph(template)
    findings = []
    for policy in graph.policies.values():
        target = graph.targets.get(policy.target or "")
        config = policy.properties.get("StepScalingPolicyConfiguration")
        if (policy.type != "StepScaling" or target is None or not target.may_reach_zero
                or not isinstance(config, Mapping)
                or graph.endpoint_kind(target.endpoint) not in ("async", None)):
            continue
        for alarm in graph.alarms_driving(policy.id):
            props = graph.properties(alarm)
            threshold = number(props.get("Threshold"))
            if (threshold is None or render(props.get("MetricName")) not in BACKLOG_SIGNALS
                    or render(props.get("Namespace")) != SAGEMAKER_NAMESPACE):
                continue
            for step in _scale_in_steps(config):
                upper = number(step.get("MetricIntervalUpperBound"))
                reach = threshold + (math.inf if upper is None else upper)
                if reach >= 1:
                    findings.append(_finding(
                        "AsyncScaleInStepFlaps", "error", policy.id,
                        f"the scale-in step {_interval(step)} acts up to and including "
                        f"{render(props.get('MetricName'))} = {_num(reach)} (threshold "
                        f"{_num(threshold)} of {alarm}): at one instance a single queued "
                        "request removes the instance the wake-up added; keep the absolute "
                        "upper bound below 1"))
    return findings


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
    graph = Graph(template)
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
    graph = Graph(template)
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
    return findings


def scalable_target_variant_exists(template: Mapping[str, Any]) -> list[Finding]:
    """The variant a scalable target names must be one of its endpoint config's variants."""
    graph = Graph(template)
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


def endpoint_name_dimension_is_a_name(template: Mapping[str, Any]) -> list[Finding]:
    """``Ref`` on an endpoint gives its ARN; as the ``EndpointName`` dimension of a metric it
    matches no data."""
    return [
        _finding("EndpointNameDimensionIsAName", "error", use.owner,
                 f"the EndpointName dimension of {use.name} is Ref {use.endpoint}, which gives "
                 f"the endpoint's ARN, so this {use.owner_type} matches no data; use "
                 f"Fn::GetAtt {use.endpoint}.EndpointName")
        for use in Graph(template).metric_uses
        if use.tie == "arn" and "EndpointName" in use.dimensions
    ]


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
    graph = Graph(template)
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
    """Real-time target tracking should wait at least 300 s between scale-ins, so that
    instances are not removed under running streams."""
    graph = Graph(template)
    findings = []
    for policy in graph.policies.values():
        config = policy.properties.get("TargetTrackingScalingPolicyConfiguration")
        endpoint = graph.policy_endpoint(policy.id)
        if (not isinstance(config, Mapping) or endpoint is None or endpoint.kind != "realtime"
                or config.get("DisableScaleIn") in (True, "true")):
            continue
        cooldown = number(config.get("ScaleInCooldown", STREAMING_SCALE_IN_COOLDOWN))
        if cooldown is not None and cooldown < STREAMING_SCALE_IN_COOLDOWN:
            findings.append(_finding(
                "StreamingScaleInCooldown", "warning", policy.id,
                f"ScaleInCooldown is {render(cooldown)} s on real-time endpoint {endpoint.id}; "
                "Deepgram's guidance is 300 s, so that instances are not removed under "
                "running streams"))
    return findings


def retain_variant_properties(template: Mapping[str, Any]) -> list[Finding]:
    """An autoscaled endpoint needs ``RetainAllVariantProperties: true``, or each update
    resets its fleet to the config's ``InitialInstanceCount``."""
    graph = Graph(template)
    scaled = {t.endpoint for t in graph.targets.values() if t.endpoint is not None}
    return [
        _finding("RetainVariantProperties", "warning", lid,
                 "this endpoint is autoscaled but lacks RetainAllVariantProperties: true, so "
                 "every update resets its instance count to the config's InitialInstanceCount")
        for lid in sorted(scaled)
        if not graph.endpoints[lid].retains_variant_properties
    ]


RULES: tuple[Rule, ...] = (
    Rule("BacklogMetricDimensions", "error",
         "a policy or alarm reads ApproximateBacklogSize, ApproximateBacklogSizePerInstance, "
         "HasBacklogWithoutCapacity or ApproximateAgeOfOldestRequest with dimensions other "
         "than exactly EndpointName",
         "keep only the EndpointName dimension (no VariantName)",
         "backlog-metrics", backlog_metric_dimensions),
    Rule("AsyncWakeUpFromZero", "error",
         "an async endpoint's scalable target has MinCapacity 0 (or a scheduled action sets "
         "it) and no step policy that adds capacity from zero (+1 or more; a percentage only "
         "with MinAdjustmentMagnitude >= 1) driven by an alarm on HasBacklogWithoutCapacity "
         "that goes off at 1 (>= 1, or > a threshold below 1)",
         "add a step policy (ChangeInCapacity +1 from a lower bound of 0) and an alarm on "
         "HasBacklogWithoutCapacity (Average, >= 1) whose AlarmActions name it",
         "wake-up-from-zero", async_wake_up_from_zero),
    Rule("MetricPublishedByEndpointType", "error",
         "an async endpoint is scaled or alarmed on a metric async endpoints do not publish "
         "(Invocations, InvocationsPerInstance, ConcurrentRequestsPerModel, OverheadLatency, "
         "the matching predefined types), or a real-time endpoint on a backlog metric",
         "scale async endpoints on ApproximateBacklogSizePerInstance and real-time ones on "
         "ConcurrentRequestsPerModel or InvocationsPerInstance",
         "backlog-metrics", metric_published_by_endpoint_type),
    Rule("RealtimeMinCapacity", "error",
         "a real-time endpoint's scalable target has MinCapacity 0, or a scheduled action "
         "sets it to 0",
         "set MinCapacity to 1 or more (only asynchronous endpoints scale to zero)",
         "realtime-min-capacity", realtime_min_capacity),
    Rule("AsyncScaleInStepFlaps", "error",
         "a step policy on the backlog of a min-0 async endpoint (MinCapacity 0, or a "
         "scheduled action setting it) has a scale-in step whose "
         "absolute upper bound (threshold + MetricIntervalUpperBound) is 1 or more",
         "make the scale-in step end below a backlog of 1 (e.g. threshold 0.5 with upper "
         "bound 0), or scale in with target tracking",
         "step-bounds", async_scale_in_step_flaps),
    Rule("AlarmTopicAllowsCloudWatch", "error",
         "an alarm notifies a topic of the template whose topic policy (TopicPolicy or "
         "TopicInlinePolicy) does not allow cloudwatch.amazonaws.com to sns:Publish",
         "add a statement allowing the service principal cloudwatch.amazonaws.com to "
         "sns:Publish, scoped with aws:SourceAccount and aws:SourceArn on your alarms",
         "alarm-topic-policy", alarm_topic_allows_cloudwatch),
    Rule("ScalableTargetResolvesToEndpoint", "warning",
         "a SageMaker scalable target's ResourceId names no endpoint of the template, names "
         "one by Ref (an ARN), or by a literal name without depending on it",
         "build ResourceId from Fn::GetAtt <Endpoint>.EndpointName, or add DependsOn",
         "variant-scalable-target", scalable_target_resolves_to_endpoint),
    Rule("ScalableTargetVariantExists", "error",
         "a scalable target names a variant its endpoint's config does not have",
         "use the VariantName of the endpoint config's production variant",
         "variant-scalable-target", scalable_target_variant_exists),
    Rule("EndpointNameDimensionIsAName", "error",
         "a metric's EndpointName dimension is Ref on an endpoint, which gives its ARN",
         "use Fn::GetAtt <Endpoint>.EndpointName",
         "endpoint-ref-is-arn", endpoint_name_dimension_is_a_name),
    Rule("MixedFleetSignalSurvivesEmptyPool", "warning",
         "metric math over per-InstanceType metrics sums them with fixed weights, so a pool "
         "without instances dilutes the signal",
         "take the most loaded pool's utilization (nested IF(a >= b, a, b)), or divide by the "
         "weights of the pools that report (IF(m, 1, 1))",
         "metric-math-missing-values", mixed_fleet_signal_survives_empty_pool),
    Rule("StreamingScaleInCooldown", "warning",
         "a real-time target-tracking policy has ScaleInCooldown under 300 s",
         "set ScaleInCooldown to 300 or more (or disable scale-in and scale in by a "
         "quiet-period step policy)",
         "deepgram-cooldowns", streaming_scale_in_cooldown),
    Rule("RetainVariantProperties", "warning",
         "an autoscaled endpoint lacks RetainAllVariantProperties: true, so an update resets "
         "the fleet to InitialInstanceCount",
         "set RetainAllVariantProperties: true on the endpoint",
         "retain-variant-properties", retain_variant_properties),
)


def check_template(template: Mapping[str, Any], rules: Sequence[Rule] = RULES) -> list[Finding]:
    """Every finding of every rule, errors first, then by resource."""
    findings = [f for rule in rules for f in rule.check(template)]
    return sorted(findings, key=lambda f: (f.level != "error", f.resource, f.rule))
