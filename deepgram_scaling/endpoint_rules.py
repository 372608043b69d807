"""The props both endpoint types share, and the named rules over them.

Each rule is a plain function that adds what it finds to a :class:`Problems`; each endpoint
type lists its rules in one place and runs them once, at the top of its constructor, before
any resource exists. Option objects (``AlarmOptions``, ``StepScalingOptions``, ...) check
themselves when they are made.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms

from ._validation import Problems, fmt, is_token
from .errors import DeepgramScalingConfigError
from .instance_pools import PROVISION_TIMEOUT_RANGE_S, InstancePool, check_pools, coerce_pools
from .model_source import DeepgramModel

Rule = Callable[[Problems], None]

_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
#: API ranges of the variant's timeouts (docs/aws-behaviour.md#container-timeouts).
MODEL_DOWNLOAD_TIMEOUT_RANGE_S = (60, 3600)
STARTUP_HEALTH_CHECK_TIMEOUT_RANGE_S = (60, 3600)


@dataclass(frozen=True)
class SharedProps:
    """What every endpoint is made of, as its constructor received it."""

    model: DeepgramModel
    #: None when the list itself was malformed (already reported).
    instance_pools: tuple[InstancePool, ...] | None
    min_capacity: int
    max_capacity: int
    initial_instance_count: int | None
    role: Any
    kms_key: kms.IKey | None
    provision_timeout: Duration
    inference_ami_version: str
    model_data_download_timeout: Duration
    container_startup_health_check_timeout: Duration
    endpoint_name: str | None
    alarm_topic: Any
    vpc: ec2.IVpc | None
    vpc_subnets: ec2.SubnetSelection | None
    security_groups: Sequence[ec2.ISecurityGroup] | None
    scale_out_cooldown: Duration
    scale_in_cooldown: Duration
    deployment: Any = None
    rollback_alarms: Any = None
    rollback_alarm_options: Any = None
    suspend_scaling: bool = False


def shared_props(arguments: Mapping[str, Any], problems: Problems) -> SharedProps:
    """The shared props from a constructor's own arguments, by name (``locals()``): every
    endpoint type names them alike. A malformed pool list is reported to ``problems``."""
    values: dict[str, Any] = {f.name: arguments.get(f.name) for f in fields(SharedProps)}
    values["instance_pools"] = pools_of(problems, arguments["instance_pools"])
    values["suspend_scaling"] = arguments.get("suspend_scaling", False)
    return SharedProps(**values)


def pools_of(problems: Problems, value: object) -> tuple[InstancePool, ...] | None:
    """The pool list, or None with the problem recorded."""
    try:
        return coerce_pools(value)
    except DeepgramScalingConfigError as err:
        for problem in err.problems:
            problems.add(problem)
        return None


def shared_rules(props: SharedProps, *, min_capacity_floor: int,
                 stack_region: str | None = None) -> list[Rule]:
    """The rules every endpoint type runs over its shared props; ``stack_region`` is the
    region of the stack the endpoint is built in (a token when it is environment-agnostic)."""
    return [
        lambda p: check_model(p, props.model),
        lambda p: check_model_region(p, props.model, stack_region),
        lambda p: check_pool_list(p, props),
        lambda p: check_capacities(p, props, floor=min_capacity_floor),
        lambda p: check_timeouts(p, props),
        lambda p: check_endpoint_name(p, props.endpoint_name),
        lambda p: check_network(p, props),
        lambda p: check_cooldowns(p, props),
        lambda p: check_alarm_topic(p, props.alarm_topic),
        lambda p: check_deployment(p, props),
    ]


def check_model(problems: Problems, model: object) -> None:
    if not isinstance(model, DeepgramModel):
        problems.add("model must be a DeepgramModel (DeepgramModel.from_model_package or "
                     f"DeepgramModel.from_image), got {fmt(model)}")


def check_model_region(problems: Problems, model: object, stack_region: str | None) -> None:
    """A model's image or package must be in the stack's region
    (docs/aws-behaviour.md#model-region)."""
    if isinstance(model, DeepgramModel) and stack_region is not None:
        for problem in model.region_problems(stack_region):
            problems.add(problem)


def check_pool_list(problems: Problems, props: SharedProps) -> None:
    if props.instance_pools is None:
        return
    product = props.model.product if isinstance(props.model, DeepgramModel) else None
    check_pools(problems, props.instance_pools, product=product,
                encrypted_volume=props.kms_key is not None)


def check_capacities(problems: Problems, props: SharedProps, *, floor: int) -> None:
    low, high, initial = props.min_capacity, props.max_capacity, props.initial_instance_count
    why = ("for a real-time endpoint (a single-model real-time endpoint cannot scale to zero; "
           "use AsyncDeepgramEndpoint for scale-to-zero)" if floor == 1 else "")
    low_ok = problems.number("min_capacity", low, minimum=floor, integer=True, why=why)
    high_ok = problems.number("max_capacity", high, minimum=1, integer=True)
    if low_ok and high_ok and not is_token(low) and not is_token(high) and high < low:
        problems.add(f"max_capacity must be >= min_capacity ({low}), got {high}")
    if initial is not None and problems.number(
        "initial_instance_count", initial, minimum=1, integer=True,
        why="(CreateEndpointConfig needs at least one instance)",
    ) and high_ok and not is_token(initial) and not is_token(high) and initial > high:
        problems.add(f"initial_instance_count must be <= max_capacity ({high}), got {initial}")


def check_timeouts(problems: Problems, props: SharedProps) -> None:
    low, high = PROVISION_TIMEOUT_RANGE_S
    problems.duration("provision_timeout", props.provision_timeout, minimum_s=low,
                      maximum_s=high,
                      why="(the API's range for VariantInstanceProvisionTimeoutInSeconds)")
    low, high = MODEL_DOWNLOAD_TIMEOUT_RANGE_S
    problems.duration("model_data_download_timeout", props.model_data_download_timeout,
                      minimum_s=low, maximum_s=high)
    low, high = STARTUP_HEALTH_CHECK_TIMEOUT_RANGE_S
    problems.duration("container_startup_health_check_timeout",
                      props.container_startup_health_check_timeout, minimum_s=low,
                      maximum_s=high)


def check_endpoint_name(problems: Problems, name: object) -> None:
    if name is not None and not is_token(name) and (
            not isinstance(name, str) or not _ENDPOINT_NAME.fullmatch(name)):
        problems.add("endpoint_name must be 1-63 letters, digits and hyphens, starting and "
                     f"ending with a letter or digit, got {fmt(name)}")


def check_network(problems: Problems, props: SharedProps) -> None:
    groups = props.security_groups
    if props.vpc is None and (props.vpc_subnets is not None or groups is not None):
        problems.add("vpc_subnets and security_groups need vpc, got vpc=None with "
                     f"{'vpc_subnets' if props.vpc_subnets else 'security_groups'}")
    if groups is not None and (isinstance(groups, (str, bytes))
                               or not isinstance(groups, Sequence)
                               or not 1 <= len(groups) <= 5):
        problems.add("security_groups must be a list of 1 to 5 security groups (SageMaker's "
                     f"limit), got {fmt(groups)}")


def check_cooldowns(problems: Problems, props: SharedProps) -> None:
    problems.duration("scale_out_cooldown", props.scale_out_cooldown, minimum_s=0)
    problems.duration("scale_in_cooldown", props.scale_in_cooldown, minimum_s=0)


def check_alarm_topic(problems: Problems, topic: Any) -> None:
    """CloudWatch alarms cannot use the AWS-managed ``aws/sns`` key
    (docs/aws-behaviour.md#alarm-topic-policy)."""
    alias = getattr(getattr(topic, "master_key", None), "alias_name", None)
    if isinstance(alias, str) and alias == "alias/aws/sns":
        problems.add("alarm_topic is encrypted with the AWS-managed key alias/aws/sns, which "
                     "CloudWatch alarms cannot use; encrypt it with a customer-managed key, "
                     "got alias/aws/sns")


def check_deployment(problems: Problems, props: SharedProps) -> None:
    """Guardrails as SageMaker allows them (docs/aws-behaviour.md#deployment-guardrails)."""
    from .deployment import MAX_ROLLBACK_ALARMS, DeploymentStrategy, stepped_update_floor_problem

    strategy, alarms = props.deployment, props.rollback_alarms
    if not isinstance(props.suspend_scaling, bool):
        problems.add(f"suspend_scaling must be True or False, got {fmt(props.suspend_scaling)}")
    if strategy is None:
        if alarms is not None:
            problems.add("rollback_alarms apply to a deployment strategy; pass deployment= "
                         "too, got rollback_alarms without deployment")
        if props.rollback_alarm_options is not None:
            problems.add("rollback_alarm_options apply to a deployment strategy; pass "
                         "deployment= too, got rollback_alarm_options without deployment")
        return
    if not isinstance(strategy, DeploymentStrategy):
        problems.add(f"deployment must be a DeploymentStrategy, got {fmt(strategy)}")
        return
    strategy.check(problems, max_capacity=props.max_capacity)
    floor = stepped_update_floor_problem(strategy, props.min_capacity)
    if floor is not None:
        problems.add(floor)
    if alarms is not None and props.rollback_alarm_options is not None:
        problems.add("rollback_alarm_options shape the default rollback alarms, which "
                     "rollback_alarms replaces; pass one of them, got both")
    if strategy.has_guardrails and isinstance(props.model, DeepgramModel) \
            and props.model.is_marketplace:
        problems.add(
            "deployment: SageMaker excludes Marketplace containers from deployment guardrails "
            "(it falls back to all-at-once blue/green with no baking period), so only "
            f"DeploymentStrategy.all_at_once() applies to a model package, got "
            f"{strategy.kind.value.lower()}")
    if props.rollback_alarm_options is not None and isinstance(props.model, DeepgramModel) \
            and props.model.is_marketplace:
        problems.add("rollback_alarm_options have no effect on a Marketplace package: "
                     "SageMaker applies no guardrail there, so nothing would roll back; drop "
                     "them, got rollback_alarm_options")
    if alarms is None:
        return
    if isinstance(props.model, DeepgramModel) and props.model.is_marketplace:
        problems.add("rollback_alarms have no effect on a Marketplace package: SageMaker "
                     "applies no guardrail there, so nothing would roll back; drop them, got "
                     f"{len(alarms) if isinstance(alarms, Sequence) else fmt(alarms)} alarm(s)")
        return
    if isinstance(alarms, (str, bytes)) or not isinstance(alarms, Sequence) \
            or not 1 <= len(alarms) <= MAX_ROLLBACK_ALARMS:
        problems.add(f"rollback_alarms must be a list of 1 to {MAX_ROLLBACK_ALARMS} alarms "
                     f"(the API's limit), got {fmt(alarms)}")
        return
    for index, alarm in enumerate(alarms):
        if not hasattr(alarm, "alarm_arn") or getattr(alarm, "alarm_name", None) is None:
            problems.add(f"rollback_alarms[{index}] must be a cloudwatch.IAlarm, got {fmt(alarm)}")


def check_option_type(problems: Problems, prop: str, value: object, expected: type,
                      *, optional: bool = True) -> None:
    """An option object must be of its class (it checked its own fields when made)."""
    if (value is None and optional) or isinstance(value, expected):
        return
    problems.add(f"{prop} must be an instance of {expected.__name__}, got {fmt(value)}")
