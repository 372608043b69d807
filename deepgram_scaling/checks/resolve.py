"""Who belongs to whom in a template: scalable targets, policies and alarms to endpoints.

CloudFormation ties resources together with ``Ref``, ``Fn::GetAtt``, ``Fn::Join`` and
``Fn::Sub``. :func:`render` turns such a value into a string in which each reference
becomes a placeholder (``{{GetAtt:Endpoint.EndpointName}}``), so that a scalable target's
``ResourceId`` (``endpoint/<name>/variant/<variant>``,
docs/aws-behaviour.md#variant-scalable-target) can be split and its name compared with an
endpoint's. A literal name is tied to the
endpoint whose ``EndpointName`` renders to the same string.

``Ref`` on an ``AWS::SageMaker::Endpoint`` gives its ARN, not its name
(docs/aws-behaviour.md#endpoint-ref-is-arn); such a tie is kept, marked ``"arn"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

ENDPOINT = "AWS::SageMaker::Endpoint"
ENDPOINT_CONFIG = "AWS::SageMaker::EndpointConfig"
SCALABLE_TARGET = "AWS::ApplicationAutoScaling::ScalableTarget"
SCALING_POLICY = "AWS::ApplicationAutoScaling::ScalingPolicy"
ALARM = "AWS::CloudWatch::Alarm"
TOPIC = "AWS::SNS::Topic"
TOPIC_POLICY = "AWS::SNS::TopicPolicy"
TOPIC_INLINE_POLICY = "AWS::SNS::TopicInlinePolicy"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SAGEMAKER_NAMESPACE = "AWS/SageMaker"

#: The attribute of each SageMaker resource that returns the name its property sets
#: (docs/aws-behaviour.md#name-attributes). An inference component has none: its Ref and
#: attributes give its ARN and state (docs/aws-behaviour.md#inference-component-ref-is-arn).
NAME_ATTRIBUTES = {
    ENDPOINT: "EndpointName",
    ENDPOINT_CONFIG: "EndpointConfigName",
    "AWS::SageMaker::Model": "ModelName",
}
_GETATT_PLACEHOLDER = re.compile(r"\{\{GetAtt:([^}.]+)\.([^}]+)\}\}")

#: A value :func:`render` could not follow (an unknown function, a condition).
UNKNOWN = "{{?}}"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_RESOURCE_ID = re.compile(r"^endpoint/([^/]+)/variant/([^/]+)$")

Kind = Literal["async", "realtime", "serverless"]
#: How a name was tied to an endpoint: its ``EndpointName`` attribute, a matching name
#: (literal, parameter or pseudo-parameter), or its ``Ref`` (an ARN).
Tie = Literal["attribute", "name", "arn"]


def render(value: Any) -> str:
    """A value as a string with placeholders for what is known only at deploy time."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, Mapping) and len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and isinstance(arg, str):
            return f"{{{{Ref:{arg}}}}}"
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2 and all(
                    isinstance(p, str) for p in parts):
                return f"{{{{GetAtt:{parts[0]}.{parts[1]}}}}}"
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            delimiter, items = arg
            if isinstance(delimiter, str) and isinstance(items, list):
                return delimiter.join(render(item) for item in items)
        if key == "Fn::Sub":
            return _render_sub(arg)
    return UNKNOWN


def _render_sub(arg: Any) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else (
        (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (None, None))
    if not isinstance(text, str) or not isinstance(variables, Mapping):
        return UNKNOWN

    def one(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name in variables:
            return render(variables[name])
        if "." in name:
            resource, attribute = name.split(".", 1)
            return f"{{{{GetAtt:{resource}.{attribute}}}}}"
        return f"{{{{Ref:{name}}}}}"

    return _SUB_VARIABLE.sub(one, text).replace("${!", "${")


def references(value: Any) -> set[str]:
    """Logical ids (and parameters) a value refers to through Ref, GetAtt or Sub."""
    found: set[str] = set()
    _collect(value, found)
    return {name for name in found if not name.startswith("AWS::")}


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect(item, found)
        return
    if not isinstance(value, Mapping):
        return
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref" and isinstance(arg, str):
            found.add(arg)
            return
        if key == "Fn::GetAtt":
            first = arg.split(".", 1)[0] if isinstance(arg, str) else (
                arg[0] if isinstance(arg, list) and arg else None)
            if isinstance(first, str):
                found.add(first)
            return
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (
                (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else ("", {}))
            if isinstance(text, str) and isinstance(variables, Mapping):
                for name in _SUB_VARIABLE.findall(text):
                    if name.strip() not in variables:
                        found.add(name.strip().split(".", 1)[0])
                _collect(dict(variables), found)
            return
    for item in value.values():
        _collect(item, found)


def number(value: Any) -> float | None:
    """A numeric property (CloudFormation accepts numbers as strings); None if not literal."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _placeholder(text: str) -> tuple[str, str, str] | None:
    """``{{GetAtt:X.Attr}}`` -> ("GetAtt", "X", "Attr"); ``{{Ref:X}}`` -> ("Ref", "X", "")."""
    match = re.fullmatch(r"\{\{(Ref|GetAtt):([^}.]+)\.?([^}]*)\}\}", text)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def scheduled_minimums_of(props: Mapping[str, Any]) -> dict[str, float]:
    """The ``MinCapacity`` each of a scalable target's scheduled actions sets, by
    ``ScheduledActionName`` (``#n`` by position when it has none)."""
    actions = props.get("ScheduledActions")
    found: dict[str, float] = {}
    for n, action in enumerate(actions if isinstance(actions, list) else []):
        scaling = action.get("ScalableTargetAction") if isinstance(action, Mapping) else None
        minimum = number(scaling.get("MinCapacity")) if isinstance(scaling, Mapping) else None
        if minimum is not None:
            name = render(action.get("ScheduledActionName", f"#{n + 1}"))
            found[name] = minimum
    return found


# --- the graph ------------------------------------------------------------------------------


@dataclass
class Endpoint:
    id: str
    name: str  # rendered EndpointName, or the attribute placeholder when CloudFormation names it
    config: str | None
    kind: Kind | None
    variants: set[str] | None  # None when the config is not in the template
    retains_variant_properties: bool


class ZeroMinimum:
    """Whether a scalable target's minimum can be 0, and what sets it, for the targets of
    endpoint variants and of inference components alike."""

    min_capacity: float | None
    #: ``MinCapacity`` each scheduled action sets, by ``ScheduledActionName`` (or position)
    scheduled_minimums: dict[str, float]

    @property
    def may_reach_zero(self) -> bool:
        """Whether the target's minimum is 0, now or by a scheduled action."""
        return self.min_capacity == 0 or 0 in self.scheduled_minimums.values()

    @property
    def zero_minimum_source(self) -> str:
        """What sets the minimum to 0, for messages."""
        if self.min_capacity == 0:
            return "MinCapacity is 0"
        names = [name for name, minimum in self.scheduled_minimums.items() if minimum == 0]
        if len(names) == 1:
            return f"the scheduled action {names[0]} sets MinCapacity 0"
        return f"the scheduled actions {', '.join(names)} set MinCapacity 0"


@dataclass
class Target(ZeroMinimum):
    id: str
    resource_id: str  # rendered
    endpoint: str | None
    tie: Tie | None
    variant: str | None
    min_capacity: float | None
    #: ``MinCapacity`` each scheduled action sets, by ``ScheduledActionName`` (or position)
    scheduled_minimums: dict[str, float] = field(default_factory=dict)


@dataclass
class Policy:
    id: str
    target: str | None
    type: str
    properties: Mapping[str, Any]


@dataclass
class MetricUse:
    """One metric a policy or alarm reads (a plain metric, or one MetricStat in math)."""

    owner: str
    owner_type: str  # "policy" or "alarm"
    name: str
    namespace: str
    dimensions: dict[str, str] = field(default_factory=dict)  # name -> rendered value
    endpoint: str | None = None
    tie: Tie | None = None
    in_math: bool = False


class Graph:
    """The resources of one template the rules need, with their ties resolved."""

    def __init__(self, template: Mapping[str, Any]) -> None:
        resources = template.get("Resources")
        self.resources: dict[str, Mapping[str, Any]] = {
            lid: r for lid, r in (resources or {}).items() if isinstance(r, Mapping)}
        self.configs = set(self.of_type(ENDPOINT_CONFIG))
        self.endpoints = {lid: self._endpoint(lid) for lid in self.of_type(ENDPOINT)}
        self.targets = {lid: self._target(lid) for lid in self.of_type(SCALABLE_TARGET)
                        if self._is_variant_target(lid)}
        self.policies = {lid: self._policy(lid) for lid in self.of_type(SCALING_POLICY)}
        self.alarms = dict.fromkeys(self.of_type(ALARM))
        self.metric_uses = list(self._metric_uses())

    # --- plain access -----------------------------------------------------------------

    def of_type(self, type_name: str) -> list[str]:
        return [lid for lid, r in self.resources.items() if r.get("Type") == type_name]

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        props = self.resources.get(logical_id, {}).get("Properties")
        return props if isinstance(props, Mapping) else {}

    def type_of(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return None if resource is None else str(resource.get("Type"))

    def depends_on(self, source: str, target: str) -> bool:
        """Whether ``source`` is created after ``target``: DependsOn or a reference, followed
        through other resources."""
        seen: set[str] = set()
        stack = [source]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            resource = self.resources.get(current, {})
            explicit = resource.get("DependsOn", [])
            following = set([explicit] if isinstance(explicit, str) else explicit or [])
            following |= references(resource.get("Properties", {}))
            if target in following:
                return True
            stack.extend(r for r in following if r in self.resources)
        return False

    # --- ties -------------------------------------------------------------------------

    def endpoint_named(self, value: Any) -> tuple[str | None, Tie | None]:
        """The endpoint a name value (rendered or raw) stands for, and how it was tied."""
        text = value if isinstance(value, str) else render(value)
        ref = _placeholder(text)
        if ref is not None and ref[1] in self.endpoints:
            kind, lid, attribute = ref
            if kind == "GetAtt" and attribute == "EndpointName":
                return lid, "attribute"
            if kind == "Ref":
                return lid, "arn"
        if UNKNOWN not in text:
            for endpoint in self.endpoints.values():
                if endpoint.name == text:
                    return endpoint.id, "name"
            # a name read from another resource that sets it (the endpoint config's name,
            # given the same value as the endpoint's) names what that value names
            named = self.with_set_names(text)
            if named != text:
                for endpoint in self.endpoints.values():
                    if endpoint.name == named:
                        return endpoint.id, "name"
        return None, None

    def with_set_names(self, text: str) -> str:
        """``text`` with each ``{{GetAtt:R.<Name>}}`` of a SageMaker resource that sets that
        name property replaced by the value it sets: ``Fn::GetAtt`` on such a name returns
        the name (docs/aws-behaviour.md#name-attributes)."""

        def one(match: re.Match[str]) -> str:
            resource, attribute = match.group(1), match.group(2)
            if NAME_ATTRIBUTES.get(self.type_of(resource) or "") != attribute:
                return match.group(0)
            value = self.properties(resource).get(attribute)
            return match.group(0) if value is None else render(value)

        return _GETATT_PLACEHOLDER.sub(one, text)

    def _endpoint(self, lid: str) -> Endpoint:
        props = self.properties(lid)
        name = props.get("EndpointName")
        rendered = render(name) if name is not None else f"{{{{GetAtt:{lid}.EndpointName}}}}"
        config = self._config_named(props.get("EndpointConfigName"))
        kind: Kind | None = None
        variants: set[str] | None = None
        if config is not None:
            config_props = self.properties(config)
            production = config_props.get("ProductionVariants")
            production = production if isinstance(production, list) else []
            variants = {render(v.get("VariantName")) for v in production
                        if isinstance(v, Mapping)}
            if "AsyncInferenceConfig" in config_props:
                kind = "async"
            elif any(isinstance(v, Mapping) and "ServerlessConfig" in v for v in production):
                kind = "serverless"
            else:
                kind = "realtime"
        return Endpoint(lid, rendered, config, kind, variants,
                        is_true(props.get("RetainAllVariantProperties")))

    def _config_named(self, value: Any) -> str | None:
        if value is None:
            return None
        text = render(value)
        ref = _placeholder(text)
        if ref is not None and ref[1] in self.configs:
            return ref[1]
        if UNKNOWN in text:
            return None
        for lid in self.configs:
            name = self.properties(lid).get("EndpointConfigName")
            if name is not None and render(name) == text:
                return lid
        return None

    def _is_variant_target(self, lid: str) -> bool:
        props = self.properties(lid)
        return (props.get("ServiceNamespace") == "sagemaker"
                and props.get("ScalableDimension") == VARIANT_DIMENSION)

    def _target(self, lid: str) -> Target:
        props = self.properties(lid)
        resource_id = render(props.get("ResourceId"))
        match = _RESOURCE_ID.match(resource_id)
        endpoint: str | None = None
        tie: Tie | None = None
        variant: str | None = None
        if match:
            endpoint, tie = self.endpoint_named(match.group(1))
            variant = match.group(2)
        return Target(lid, resource_id, endpoint, tie, variant,
                      number(props.get("MinCapacity")), scheduled_minimums_of(props))

    def _policy(self, lid: str) -> Policy:
        props = self.properties(lid)
        target: str | None = None
        ref = _placeholder(render(props.get("ScalingTargetId")))
        if ref is not None and ref[1] in self.targets:
            target = ref[1]
        elif "ResourceId" in props:
            resource_id = render(props["ResourceId"])
            target = next((t.id for t in self.targets.values()
                           if t.resource_id == resource_id and UNKNOWN not in resource_id), None)
        return Policy(lid, target, str(props.get("PolicyType", "")), props)

    def target_endpoint(self, target: str | None) -> Endpoint | None:
        if target is None or target not in self.targets:
            return None
        endpoint = self.targets[target].endpoint
        return None if endpoint is None else self.endpoints.get(endpoint)

    def policy_endpoint(self, policy: str | None) -> Endpoint | None:
        if policy is None or policy not in self.policies:
            return None
        return self.target_endpoint(self.policies[policy].target)

    def alarm_actions(self, alarm: str) -> set[str]:
        """Logical ids an alarm's actions refer to (policies, topics)."""
        props = self.properties(alarm)
        found: set[str] = set()
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            found |= references(props.get(key, []))
        return found & set(self.resources)

    def alarms_driving(self, policy: str) -> list[str]:
        return [a for a in self.alarms
                if policy in references(self.properties(a).get("AlarmActions", []))]

    # --- metrics ----------------------------------------------------------------------

    def _metric_uses(self) -> Iterator[MetricUse]:
        for policy in self.policies.values():
            config = policy.properties.get("TargetTrackingScalingPolicyConfiguration")
            if not isinstance(config, Mapping):
                continue
            spec = config.get("CustomizedMetricSpecification")
            if isinstance(spec, Mapping):
                yield from self._uses_in(spec, policy.id, "policy")
        for alarm in self.alarms:
            yield from self._uses_in(self.properties(alarm), alarm, "alarm")

    def _uses_in(self, spec: Mapping[str, Any], owner: str, owner_type: str
                 ) -> Iterator[MetricUse]:
        if "MetricName" in spec:
            yield self._use(spec, owner, owner_type, in_math=False)
        for query in spec.get("Metrics", []) or []:
            stat = query.get("MetricStat") if isinstance(query, Mapping) else None
            metric = stat.get("Metric") if isinstance(stat, Mapping) else None
            if isinstance(metric, Mapping):
                yield self._use(metric, owner, owner_type, in_math=True)

    def _use(self, metric: Mapping[str, Any], owner: str, owner_type: str, *, in_math: bool
             ) -> MetricUse:
        dimensions = {render(d.get("Name")): render(d.get("Value"))
                      for d in metric.get("Dimensions", []) or [] if isinstance(d, Mapping)}
        use = MetricUse(owner, owner_type, render(metric.get("MetricName")),
                        render(metric.get("Namespace")), dimensions, in_math=in_math)
        if "EndpointName" in dimensions:
            use.endpoint, use.tie = self.endpoint_named(dimensions["EndpointName"])
        if use.endpoint is None:
            # the policy's own target, or the target of the policy an alarm drives
            owners = [owner] if owner_type == "policy" else [
                p for p in self.alarm_actions(owner) if p in self.policies]
            for candidate in owners:
                endpoint = self.policy_endpoint(candidate)
                if endpoint is not None and "EndpointName" not in dimensions:
                    use.endpoint, use.tie = endpoint.id, None
                    break
        return use

    def endpoint_kind(self, endpoint: str | None) -> Kind | None:
        return None if endpoint is None or endpoint not in self.endpoints else (
            self.endpoints[endpoint].kind)
