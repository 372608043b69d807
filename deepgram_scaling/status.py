"""``deepgram-scaling status STACK_NAME [--region R] [--strict]``: after an update, does every
endpoint run what the stack says?

It prints the stack's status (``DescribeStacks``), then for each ``AWS::SageMaker::Endpoint``
in the stack's template the endpoint config the stack expects beside the one the endpoint
runs, the endpoint's status and its last deployment, and for each variant the current and
desired instance counts and whether scaling is suspended. A guarded update that SageMaker
rolled back leaves the endpoint on the old config while the stack names the new one; a
scaling activity or deployment still under way shows as counts or stages that have not
settled.

Exit status: 0 when every endpoint agrees with the stack, 1 when one does not or the stack
itself is mid-operation or failed, or, with ``--strict``, rolled back (each disagreement is
a line starting with ``DISAGREES``), 2 when the stack cannot be read (no
such stack, no endpoint in it, no credentials, boto3 missing). Needs boto3, imported only
when the command runs; never imports the CDK.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .smoke import AwsCommandError, boto3_session, translated

ENDPOINT_TYPE = "AWS::SageMaker::Endpoint"
TARGET_TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
#: The three switches of a scalable target's ``SuspendedState``
#: (docs/aws-behaviour.md#status-scalable-target).
SUSPENSIONS = ("DynamicScalingInSuspended", "DynamicScalingOutSuspended",
               "ScheduledScalingSuspended")


class StatusError(AwsCommandError):
    """The stack or an endpoint cannot be read; the message fits on one line."""


@dataclass(frozen=True)
class Clients:
    """The boto3 clients status uses (``cloudformation``, ``sagemaker``,
    ``application-autoscaling``)."""

    cloudformation: Any
    sagemaker: Any
    autoscaling: Any
    region: str


# --- what the template declares (pure) ----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DeclaredEndpoint:
    """One endpoint of the template.

    :param logical_id: The endpoint's logical id.
    :param name: Its ``EndpointName`` when the template gives it literally, else None (the
        name is then read from the stack's physical id).
    :param config_name: The ``EndpointConfigName`` when literal, else None.
    :param config_logical_id: The config resource that ``EndpointConfigName`` references
        (``Fn::GetAtt`` or ``Ref``), else None.
    :param scaled: Whether a scalable target of the template names this endpoint.
    :param suspended: The ``SuspendedState`` switches the template sets to true.
    """

    logical_id: str
    name: str | None
    config_name: str | None
    config_logical_id: str | None
    scaled: bool
    suspended: frozenset[str] = frozenset()


def _referenced(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, Mapping):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        target = value.get("Fn::GetAtt")
        if isinstance(target, list) and target and isinstance(target[0], str):
            return target[0]
        if isinstance(target, str):
            return target.split(".", 1)[0]
    return None


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _names_endpoint(resource_id: Any, logical_id: str, name: str | None) -> bool:
    """Whether a scalable target's ``ResourceId`` points at this endpoint: a reference to
    its logical id, or its literal name between ``endpoint/`` and ``/variant/``."""
    text = json.dumps(resource_id)
    references = (f'"Ref": "{logical_id}"', f'["{logical_id}", "EndpointName"]',
                  f'"{logical_id}.EndpointName"', f"${{{logical_id}.EndpointName}}")
    if any(reference in text for reference in references):
        return True
    return name is not None and f"endpoint/{name}/variant/" in text


def declared_endpoints(template: Mapping[str, Any]) -> list[DeclaredEndpoint]:
    """The endpoints a template declares, with what the stack expects of each."""
    resources = template.get("Resources") or {}
    targets = [r.get("Properties") or {} for r in resources.values()
               if isinstance(r, Mapping) and r.get("Type") == TARGET_TYPE]
    found = []
    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") != ENDPOINT_TYPE:
            continue
        props = resource.get("Properties") or {}
        name = props.get("EndpointName")
        name = name if isinstance(name, str) else None
        config = props.get("EndpointConfigName")
        mine = [t for t in targets if t.get("ServiceNamespace") == "sagemaker"
                and _names_endpoint(t.get("ResourceId"), logical_id, name)]
        suspended = {switch for t in mine for switch in SUSPENSIONS
                     if _true((t.get("SuspendedState") or {}).get(switch))}
        found.append(DeclaredEndpoint(
            logical_id=logical_id, name=name,
            config_name=config if isinstance(config, str) else None,
            config_logical_id=_referenced(config), scaled=bool(mine),
            suspended=frozenset(suspended)))
    return sorted(found, key=lambda e: e.logical_id)


def name_from_physical_id(physical_id: str, resource: str) -> str:
    """``my-endpoint`` from ``arn:aws:sagemaker:...:endpoint/my-endpoint`` (CloudFormation's
    physical id of an endpoint or endpoint config is its ARN,
    docs/aws-behaviour.md#status-physical-ids); a plain name is returned as it is."""
    marker = f":{resource}/"
    return physical_id.split(marker, 1)[1] if marker in physical_id else physical_id


# --- what is deployed -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class VariantReport:
    name: str
    current: int | None
    desired: int | None
    stages: tuple[str, ...] = ()
    #: ``None``: no scalable target registered; otherwise the switches that are on.
    suspended: frozenset[str] | None = None
    min_capacity: int | None = None
    max_capacity: int | None = None


@dataclass(frozen=True, kw_only=True)
class EndpointReport:
    """One endpoint: what the stack expects, what runs, and every disagreement."""

    logical_id: str
    endpoint_name: str
    expected_config: str | None
    running_config: str | None = None
    status: str | None = None
    failure_reason: str | None = None
    pending_config: str | None = None
    last_deployment: str = ""
    stack_resource_status: str | None = None
    variants: tuple[VariantReport, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def agrees(self) -> bool:
        return not self.problems


def describe_deployment(config: Mapping[str, Any] | None) -> str:
    """``LastDeploymentConfig`` in words (docs/aws-behaviour.md#status-describe-endpoint)."""
    if not config:
        return "no deployment config (blue/green, all at once, no rollback alarms)"
    parts = []
    blue_green = config.get("BlueGreenUpdatePolicy")
    rolling = config.get("RollingUpdatePolicy")
    if blue_green:
        routing = blue_green.get("TrafficRoutingConfiguration") or {}
        kind = str(routing.get("Type", "ALL_AT_ONCE")).lower().replace("_", " ")
        size = routing.get("CanarySize") or routing.get("LinearStepSize")
        step = f" of {_capacity(size)}" if size else ""
        parts.append(f"blue/green, {kind}{step}")
    elif rolling:
        parts.append(f"rolling, batches of {_capacity(rolling.get('MaximumBatchSize'))}")
    alarms = [a.get("AlarmName", "?") for a in
              (config.get("AutoRollbackConfiguration") or {}).get("Alarms") or []]
    parts.append(f"rolls back on {len(alarms)} alarm" + ("s" if len(alarms) != 1 else "")
                 + (f" ({', '.join(alarms)})" if alarms else ""))
    return ", ".join(parts)


def _capacity(size: Mapping[str, Any] | None) -> str:
    if not size:
        return "?"
    unit = "%" if size.get("Type") == "CAPACITY_PERCENT" else " instance(s)"
    return f"{size.get('Value')}{unit}"


def _same_name(a: str, b: str) -> bool:
    # Names read from an ARN may be lower-cased (docs/aws-behaviour.md#endpoint-arn).
    return a.casefold() == b.casefold()


def judge(report: EndpointReport, declared: DeclaredEndpoint) -> tuple[str, ...]:
    """Every way the deployed endpoint differs from what the stack expects, or has not
    settled yet."""
    problems = []
    if report.status is None:
        return (f"the stack declares endpoint {report.endpoint_name}, but SageMaker has no "
                "endpoint of that name",)
    if report.expected_config and report.running_config \
            and not _same_name(report.expected_config, report.running_config):
        problems.append(
            f"the endpoint runs config {report.running_config}, the stack expects "
            f"{report.expected_config}: the last update did not take (rolled back, or still "
            "under way)")
    if report.status != "InService":
        reason = f" ({report.failure_reason})" if report.failure_reason else ""
        problems.append(f"the endpoint is {report.status}, not InService{reason}")
    if report.pending_config:
        problems.append(f"a deployment of config {report.pending_config} is in progress")
    if report.stack_resource_status and report.stack_resource_status.endswith("_FAILED"):
        problems.append(f"CloudFormation reports the endpoint {report.stack_resource_status}")
    for variant in report.variants:
        if variant.current is not None and variant.desired is not None \
                and variant.current != variant.desired:
            problems.append(f"variant {variant.name} has {variant.current} instances, "
                            f"{variant.desired} desired: a capacity change is under way")
        if declared.scaled and variant.suspended is None:
            problems.append(f"variant {variant.name} is not registered with Application Auto "
                            "Scaling, though the stack declares a scalable target")
        elif variant.suspended is not None and declared.scaled \
                and variant.suspended != declared.suspended:
            problems.append(
                f"variant {variant.name}: scaling suspended "
                f"{_switches(variant.suspended)}, the stack declares "
                f"{_switches(declared.suspended)}")
    return tuple(problems)


def _switches(on: frozenset[str]) -> str:
    if not on:
        return "nothing"
    return ", ".join(s.removeprefix("Dynamic").removesuffix("Suspended").replace(
        "ScalingIn", "scale-in").replace("ScalingOut", "scale-out").replace(
        "ScheduledScaling", "scheduled") for s in SUSPENSIONS if s in on)


# --- AWS calls ---------------------------------------------------------------------------------


def _call(action: str, resource: str, function: Callable[..., Any], **kwargs: Any) -> Any:
    with translated(action, resource, StatusError):
        return function(**kwargs)


def _error_code(error: Exception) -> tuple[str, str]:
    details = (getattr(error, "response", None) or {}).get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


def _stack_call(clients: Clients, action: str, stack_name: str,
                function: Callable[..., Any]) -> dict[str, Any]:
    """A CloudFormation call on the stack; a stack that does not exist is one line."""
    from botocore.exceptions import ClientError

    try:
        answer: dict[str, Any] = _call(f"cloudformation:{action}", stack_name, function,
                                       StackName=stack_name)
    except ClientError as error:
        code, message = _error_code(error)
        if "does not exist" in message:
            raise StatusError(f"no stack named {stack_name} in {clients.region}: check the "
                              "name and --region") from None
        raise StatusError(f"cloudformation:{action} failed: {code}: {message}") from None
    return answer


def read_stack(clients: Clients, stack_name: str) -> tuple[str, str | None]:
    """The stack's status and its reason (``DescribeStacks``)."""
    answer = _stack_call(clients, "DescribeStacks", stack_name,
                         clients.cloudformation.describe_stacks)
    stacks = answer.get("Stacks") or [{}]
    return str(stacks[0].get("StackStatus", "unknown")), stacks[0].get("StackStatusReason")


def read_template(clients: Clients, stack_name: str) -> dict[str, Any]:
    """The stack's template after transforms (``GetTemplate``'s default stage)."""
    from .checks.template import TemplateReadError, parse_template

    answer = _stack_call(clients, "GetTemplate", stack_name,
                         clients.cloudformation.get_template)
    body = answer.get("TemplateBody")
    # botocore hands a JSON body over already parsed; YAML stays text
    # (docs/aws-behaviour.md#status-physical-ids).
    if isinstance(body, Mapping):
        return dict(body)
    try:
        return parse_template(str(body), stack_name)
    except TemplateReadError as error:
        raise StatusError(f"the template of stack {error}") from None


def _stack_resource(clients: Clients, stack_name: str, logical_id: str) -> dict[str, Any]:
    """The stack's resource of that logical id; ``{}`` when CloudFormation has none (yet)."""
    from botocore.exceptions import ClientError

    try:
        answer = _call("cloudformation:DescribeStackResources", stack_name,
                       clients.cloudformation.describe_stack_resources,
                       StackName=stack_name, LogicalResourceId=logical_id)
    except ClientError as error:
        code, message = _error_code(error)
        if "does not exist" in message:
            return {}
        raise StatusError(f"cloudformation:DescribeStackResources failed: {code}: "
                          f"{message}") from None
    resources = answer.get("StackResources") or []
    return dict(resources[0]) if resources else {}


def _describe_endpoint(clients: Clients, name: str) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        answer: dict[str, Any] = _call("sagemaker:DescribeEndpoint", name,
                                       clients.sagemaker.describe_endpoint, EndpointName=name)
    except ClientError as error:
        code, message = _error_code(error)
        if code == "ValidationException" and "could not find" in message.lower():
            return None
        raise StatusError(f"sagemaker:DescribeEndpoint failed: {code}: {message}") from None
    return answer


def _scalable_targets(clients: Clients, name: str, variants: Sequence[str]
                      ) -> dict[str, dict[str, Any]]:
    ids = [f"endpoint/{name}/variant/{variant}" for variant in variants]
    if not ids:
        return {}
    answer = _call("application-autoscaling:DescribeScalableTargets", name,
                   clients.autoscaling.describe_scalable_targets, ServiceNamespace="sagemaker",
                   ResourceIds=ids, ScalableDimension=VARIANT_DIMENSION)
    return {str(t["ResourceId"]).rsplit("/variant/", 1)[1]: t
            for t in answer.get("ScalableTargets") or []}


def endpoint_report(clients: Clients, stack_name: str,
                    declared: DeclaredEndpoint) -> EndpointReport:
    """Read one endpoint's state and judge it against the stack."""
    resource = _stack_resource(clients, stack_name, declared.logical_id)
    physical = str(resource.get("PhysicalResourceId") or "")
    name = declared.name or name_from_physical_id(physical, "endpoint")
    if not name:
        raise StatusError(f"stack {stack_name} has no physical endpoint for "
                          f"{declared.logical_id} yet (status "
                          f"{resource.get('ResourceStatus', 'unknown')})")
    expected = declared.config_name
    if expected is None and declared.config_logical_id is not None:
        config = _stack_resource(clients, stack_name, declared.config_logical_id)
        if config.get("PhysicalResourceId"):
            expected = name_from_physical_id(str(config["PhysicalResourceId"]),
                                             "endpoint-config")
    base = EndpointReport(logical_id=declared.logical_id, endpoint_name=name,
                          expected_config=expected,
                          stack_resource_status=resource.get("ResourceStatus"))
    endpoint = _describe_endpoint(clients, name)
    if endpoint is None:
        return _replace(base, problems=judge(base, declared))
    # The scalable target's ResourceId holds the endpoint's name as SageMaker spells it; a
    # name read from the endpoint's ARN may be lower-cased
    # (docs/aws-behaviour.md#status-scalable-target).
    name = str(endpoint.get("EndpointName") or name)
    base = _replace(base, endpoint_name=name)
    variants = endpoint.get("ProductionVariants") or []
    targets = _scalable_targets(clients, name, [str(v["VariantName"]) for v in variants])
    reports = []
    for variant in variants:
        target = targets.get(str(variant["VariantName"]))
        state = (target or {}).get("SuspendedState") or {}
        reports.append(VariantReport(
            name=str(variant["VariantName"]), current=variant.get("CurrentInstanceCount"),
            desired=variant.get("DesiredInstanceCount"),
            stages=tuple(str(s.get("Status")) for s in variant.get("VariantStatus") or []),
            suspended=None if target is None else frozenset(
                s for s in SUSPENSIONS if state.get(s)),
            min_capacity=(target or {}).get("MinCapacity"),
            max_capacity=(target or {}).get("MaxCapacity")))
    pending = endpoint.get("PendingDeploymentSummary") or {}
    report = _replace(
        base, running_config=endpoint.get("EndpointConfigName"),
        status=endpoint.get("EndpointStatus"), failure_reason=endpoint.get("FailureReason"),
        pending_config=pending.get("EndpointConfigName"),
        last_deployment=describe_deployment(endpoint.get("LastDeploymentConfig")),
        variants=tuple(reports))
    return _replace(report, problems=judge(report, declared))


def _replace(report: EndpointReport, **changes: Any) -> EndpointReport:
    import dataclasses

    return dataclasses.replace(report, **changes)


@dataclass(frozen=True, kw_only=True)
class StackReport:
    """The stack's own status, and a report for each endpoint its template declares."""

    name: str
    status: str
    reason: str | None = None
    endpoints: tuple[EndpointReport, ...] = ()
    #: Whether a rolled-back stack disagrees too (``--strict``).
    strict: bool = False

    @property
    def problems(self) -> tuple[str, ...]:
        """A stack operation under way or failed: nothing is settled yet; under ``strict``,
        also a stack whose last operation was rolled back: the release did not take."""
        if self.strict and self.status.endswith("ROLLBACK_COMPLETE"):
            return (f"the stack is {self.status}: the last stack operation was rolled back, "
                    "so the release it carried did not take (--strict)",)
        if self.status.endswith("_IN_PROGRESS"):
            return (f"the stack is {self.status}: run status again when it has settled",)
        if self.status.endswith("_FAILED"):
            reason = f" ({' '.join(self.reason.split())})" if self.reason else ""
            return (f"the stack is {self.status}{reason}",)
        return ()

    @property
    def agrees(self) -> bool:
        return not self.problems and all(e.agrees for e in self.endpoints)


def status(clients: Clients, stack_name: str, *, strict: bool = False) -> StackReport:
    """The stack's status, and a report for every endpoint its template declares.

    :param strict: Count a rolled-back stack as a disagreement. Default: False.
    """
    stack_status, reason = read_stack(clients, stack_name)
    declared = declared_endpoints(read_template(clients, stack_name))
    if not declared:
        raise StatusError(f"stack {stack_name} declares no {ENDPOINT_TYPE}")
    return StackReport(name=stack_name, status=stack_status, reason=reason, strict=strict,
                       endpoints=tuple(endpoint_report(clients, stack_name, endpoint)
                                       for endpoint in declared))


# --- output ----------------------------------------------------------------------------------


def render(stack: StackReport) -> str:
    lines = [f"stack {stack.name}: {stack.status}"]
    if stack.status.endswith("ROLLBACK_COMPLETE"):
        lines.append("  note: the last stack operation was rolled back, so the stack (and what "
                     "follows) describes the release before it")
    lines.extend(f"  DISAGREES: {problem}" for problem in stack.problems)
    reports = stack.endpoints
    for report in reports:
        lines.append(f"{report.logical_id}: endpoint {report.endpoint_name}, "
                     f"{report.status or 'not found'}")
        lines.append(f"  endpoint config: runs {report.running_config or '-'}, the stack "
                     f"expects {report.expected_config or 'unknown'}")
        if report.status is not None:
            pending = (f"; in progress: config {report.pending_config}"
                       if report.pending_config else "")
            lines.append(f"  last deployment: {report.last_deployment}{pending}")
        if report.failure_reason:
            lines.append(f"  failure reason: {' '.join(report.failure_reason.split())}")
        for variant in report.variants:
            stages = f" ({', '.join(variant.stages)})" if variant.stages else ""
            if variant.suspended is None:
                scaling = "no scalable target"
            else:
                scaling = (f"scales {variant.min_capacity}-{variant.max_capacity}, "
                           f"suspended: {_switches(variant.suspended)}")
            lines.append(f"  variant {variant.name}: {variant.current} instances, "
                         f"{variant.desired} desired{stages}; {scaling}")
        lines.extend(f"  DISAGREES: {problem}" for problem in report.problems)
    bad = sum(not r.agrees for r in reports)
    count = f"{len(reports)} endpoint" + ("s" if len(reports) != 1 else "")
    if bad:
        lines.append(f"{bad} of {count} disagree with the stack")
    elif stack.problems:
        lines.append(f"{count} agree with the stack, which has not settled")
    else:
        lines.append(f"{count}: all agree with the stack")
    return "\n".join(lines)


def boto3_clients(region: str | None) -> Clients:
    session = boto3_session(region, StatusError)
    return Clients(cloudformation=session.client("cloudformation"),
                   sagemaker=session.client("sagemaker"),
                   autoscaling=session.client("application-autoscaling"),
                   region=session.region_name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepgram-scaling status",
        description="After an update: for every SageMaker endpoint of a CloudFormation stack, "
                    "compare the endpoint config the stack expects with the one the endpoint "
                    "runs, and show its status, last deployment, instance counts and whether "
                    "scaling is suspended. Exit 1 when any endpoint disagrees with the stack.")
    parser.add_argument("stack", metavar="STACK_NAME",
                        help="the CloudFormation stack's name (or its ID)")
    parser.add_argument("--region", help="AWS region (default: boto3's, e.g. AWS_DEFAULT_REGION)")
    parser.add_argument("--strict", action="store_true",
                        help="also exit 1 when the stack's last operation was rolled back "
                             "(UPDATE_ROLLBACK_COMPLETE): for a pipeline that runs status "
                             "right after a release, which then did not take")
    return parser


def main(argv: Sequence[str] | None = None, *,
         make_clients: Callable[[str | None], Clients] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if make_clients is None:
        try:
            import boto3  # noqa: F401
        except ImportError:
            print("error: status needs boto3: pip install 'deepgram-scaling[client]'",
                  file=sys.stderr)
            return 2
        make_clients = boto3_clients
    try:
        report = status(make_clients(args.region), args.stack, strict=args.strict)
    except StatusError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render(report))
    return 0 if report.agrees else 1


if __name__ == "__main__":
    sys.exit(main())
