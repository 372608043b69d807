"""Property-based tests over the constructs' whole argument space (hypothesis).

Valid arguments: every generated stack synthesizes, passes cfn-lint in-process and keeps the
invariants. Invalid arguments: every one raises DeepgramScalingConfigError naming the prop,
never a TypeError, KeyError or jsii error. Budget: each valid example puts three endpoints
in one stack, so one synthesis and one lint cover three configurations.
"""

from __future__ import annotations

import os
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deepgram_scaling import (
    NOVA_3,
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
    RealtimeDeepgramEndpoint,
    StreamingSafeScaleIn,
)

from .conftest import IMAGE_URI, PACKAGE_ARN, cdk_context
from .test_async import ASYNC_METRICS
from .test_compliance import cfn_lint_findings

TYPES = list(NOVA_3.supported_instance_types)
#: Valid-stack examples per run (each synthesizes and lints three endpoints, about 1.6 s).
#: A deeper run: DEEPGRAM_SCALING_EXAMPLES=100 make unit
VALID_EXAMPLES = int(os.environ.get("DEEPGRAM_SCALING_EXAMPLES", "5"))
seconds = st.integers(min_value=0, max_value=3600).map(cdk.Duration.seconds)


@st.composite
def realtime_config(draw: st.DrawFn) -> dict[str, Any]:
    minimum = draw(st.integers(1, 5))
    target = draw(st.floats(0.5, 200, allow_nan=False))
    return {
        "kind": "realtime",
        "instance_pools": draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=5,
                                        unique=True)),
        "min_capacity": minimum,
        "max_capacity": minimum + draw(st.integers(0, 995)),
        "target_concurrency_per_instance": target,
        "scale_out_cooldown": draw(seconds),
        "scale_in_cooldown": draw(seconds),
        "scale_in": draw(st.one_of(st.none(), st.builds(
            StreamingSafeScaleIn,
            quiet_period=st.integers(1, 240).map(cdk.Duration.minutes),
            low_water_mark=st.one_of(st.none(), st.floats(0.01, 0.99).map(lambda f: f * target)),
        ))),
        "schedule_floor": draw(st.one_of(st.none(), st.tuples(st.integers(0, 23),
                                                               st.integers(0, 59)))),
    }


@st.composite
def async_config(draw: st.DrawFn) -> dict[str, Any]:
    minimum = draw(st.integers(0, 3))
    return {
        "kind": "async",
        "instance_pools": draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=5,
                                        unique=True)),
        "min_capacity": minimum,
        "max_capacity": max(1, minimum) + draw(st.integers(0, 995)),
        "target_backlog_per_instance": draw(st.floats(0.1, 1000, allow_nan=False)),
        "max_concurrent_invocations_per_instance": draw(st.integers(1, 1000)),
        "scale_out_cooldown": draw(seconds),
        "scale_in_cooldown": draw(seconds),
        "schedule_floor": None,
    }


def build(stack: cdk.Stack, name: str, config: dict[str, Any]) -> None:
    config = dict(config)
    kind, floor = config.pop("kind"), config.pop("schedule_floor")
    if kind == "realtime":
        endpoint: Any = RealtimeDeepgramEndpoint(
            stack, name, model=DeepgramModel.from_model_package(PACKAGE_ARN, product=NOVA_3),
            **config)
    else:
        endpoint = AsyncDeepgramEndpoint(stack, name, model=DeepgramModel.from_image(IMAGE_URI),
                                         **config)
    if floor is not None:
        hour, minute = floor
        endpoint.scale_on_schedule("Floor", schedule=f"cron({minute} {hour} ? * MON-FRI *)",
                                   min_capacity=config["min_capacity"])


def check_invariants(template: dict[str, Any], kinds: dict[str, str]) -> None:
    resources = template["Resources"]
    targets = {k: r["Properties"] for k, r in resources.items()
               if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"}
    for target_id, target in targets.items():
        assert target["MinCapacity"] <= target["MaxCapacity"]
        owner = next(name for name in kinds if target_id.startswith(name))
        endpoint_ref = target["ResourceId"]["Fn::Join"][1][1]["Fn::GetAtt"][0]
        assert endpoint_ref.startswith(owner)
        assert target["ResourceId"]["Fn::Join"][1][2] == "/variant/AllTraffic"
    for policy_id, policy in resources.items():
        if policy["Type"] != "AWS::ApplicationAutoScaling::ScalingPolicy":
            continue
        owner = next(name for name in kinds if policy_id.startswith(name))
        target_ref = policy["Properties"]["ScalingTargetId"]["Ref"]
        assert target_ref.startswith(owner) and target_ref in targets
        spec = policy["Properties"].get("TargetTrackingScalingPolicyConfiguration", {})
        if kinds[owner] == "async":
            assert "PredefinedMetricSpecification" not in spec
            if "CustomizedMetricSpecification" in spec:
                assert spec["CustomizedMetricSpecification"]["MetricName"] in ASYNC_METRICS
    for alarm_id, alarm in resources.items():
        if alarm["Type"] == "AWS::CloudWatch::Alarm":
            owner = next(name for name in kinds if alarm_id.startswith(name))
            if kinds[owner] == "async":
                assert alarm["Properties"]["MetricName"] in ASYNC_METRICS


def by_type(resources: dict[str, Any], owner: str, resource_type: str) -> dict[str, Any]:
    return {k: r["Properties"] for k, r in resources.items()
            if r["Type"] == resource_type and k.startswith(owner)}


def alarm_on(resources: dict[str, Any], policy_id: str) -> dict[str, Any]:
    (alarm,) = [r["Properties"] for r in resources.values()
                if r["Type"] == "AWS::CloudWatch::Alarm"
                and r["Properties"].get("AlarmActions") == [{"Ref": policy_id}]]
    return alarm


def check_outputs_follow_inputs(template: dict[str, Any], configs: dict[str, dict[str, Any]]
                                ) -> None:
    """Each endpoint's resources carry the values its arguments asked for."""
    resources = template["Resources"]
    for owner, config in configs.items():
        (target,) = by_type(resources, owner, "AWS::ApplicationAutoScaling::ScalableTarget").values()
        assert (target["MinCapacity"], target["MaxCapacity"]) == (
            config["min_capacity"], config["max_capacity"])
        policies = by_type(resources, owner, "AWS::ApplicationAutoScaling::ScalingPolicy")
        (tracking,) = [p["TargetTrackingScalingPolicyConfiguration"] for p in policies.values()
                       if p["PolicyType"] == "TargetTrackingScaling"]
        steps = {k: p["StepScalingPolicyConfiguration"] for k, p in policies.items()
                 if p["PolicyType"] == "StepScaling"}
        # target and cooldowns come from the props
        wanted = config.get("target_concurrency_per_instance",
                            config.get("target_backlog_per_instance"))
        assert tracking["TargetValue"] == pytest.approx(wanted)
        assert (tracking["ScaleOutCooldown"], tracking["ScaleInCooldown"]) == (
            config["scale_out_cooldown"].to_seconds(), config["scale_in_cooldown"].to_seconds())
        if config["kind"] == "realtime":
            scale_in = config["scale_in"]
            # DisableScaleIn is set exactly when streaming-safe scale-in is
            assert tracking.get("DisableScaleIn") == (True if scale_in else None)
            assert len(steps) == (1 if scale_in else 0)
            for step_id, step in steps.items():
                quiet = alarm_on(resources, step_id)
                minutes = scale_in.quiet_period.to_minutes()
                low = scale_in.low_water_mark if scale_in.low_water_mark is not None \
                    else wanted / 2
                assert quiet["Threshold"] == pytest.approx(low)
                # the removal alarm sits below every scale-out threshold
                assert quiet["Threshold"] < tracking["TargetValue"]
                assert (quiet["EvaluationPeriods"], step["Cooldown"]) == (minutes, minutes * 60)
        else:
            # a wake-up exists exactly when the floor is 0
            assert len(steps) == (1 if config["min_capacity"] == 0 else 0)
            for step_id, step in steps.items():
                assert step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0,
                                                    "ScalingAdjustment": 1}]
                assert alarm_on(resources, step_id)["MetricName"] == "HasBacklogWithoutCapacity"


def check_acknowledgements(stack: cdk.Stack, names: list[str]) -> None:
    """Every cdk-nag acknowledgement sits on one resource, never on a stack or an endpoint
    (which would hide the user's own resources from the packs); the NVMe KMS one sits on
    each endpoint's config."""
    nvme = []
    for construct in stack.node.find_all():
        acknowledged = [m.data for m in construct.node.metadata
                        if m.type == "aws:cdk:acknowledged-rules"]
        if not acknowledged:
            continue
        assert construct is not stack and construct.node.id not in names, construct.node.path
        resource = construct if isinstance(construct, cdk.CfnResource) \
            else construct.node.default_child
        assert isinstance(resource, cdk.CfnResource), construct.node.path
        if any("SageMakerEndpointConfigurationKMSKeyConfigured" in str(d) for d in acknowledged):
            nvme.append(resource.cfn_resource_type)
            assert construct.node.path.endswith("/EndpointConfig")
    assert nvme == ["AWS::SageMaker::EndpointConfig"] * len(names)


@settings(max_examples=VALID_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(configs=st.lists(st.one_of(realtime_config(), async_config()), min_size=3, max_size=3))
def test_valid_arguments_synthesize_lint_clean_and_keep_invariants(configs, tmp_path_factory):
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path_factory.mktemp("prop")))
    stack = cdk.Stack(app, "Generated")
    kinds = {}
    for index, config in enumerate(configs):
        name = f"E{index}x"
        build(stack, name, config)
        kinds[name] = config["kind"]
    template = Template.from_stack(stack).to_json()
    check_invariants(template, kinds)
    check_outputs_follow_inputs(template, {f"E{i}x": c for i, c in enumerate(configs)})
    check_acknowledgements(stack, list(kinds))
    assert cfn_lint_findings(template) == []


# --- invalid arguments -------------------------------------------------------------------

not_a_number = st.one_of(st.text(max_size=5), st.none(), st.lists(st.integers(), max_size=2),
                         st.just(float("nan")), st.just(float("inf")), st.booleans())
BAD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "min_capacity": st.one_of(st.integers(max_value=0), st.floats(0.1, 0.9), not_a_number),
    "max_capacity": st.one_of(st.integers(max_value=0), not_a_number),
    "target_concurrency_per_instance": st.one_of(st.floats(max_value=0, allow_nan=False),
                                                 not_a_number.filter(lambda v: v is not None)),
    "instance_pools": st.one_of(
        st.just([]), st.text(max_size=8), st.integers(),
        st.lists(st.sampled_from(TYPES), min_size=6, max_size=8, unique=True),
        st.lists(st.text(max_size=10), min_size=1, max_size=3),
        st.lists(st.sampled_from(["ml.m5.xlarge", "ml.c5.2xlarge", "ml.t3.medium"]), min_size=1,
                 max_size=2),
    ),
    "scale_in_cooldown": st.one_of(st.integers(-5, 5), not_a_number,
                                   st.integers(1, 999).map(cdk.Duration.millis)),
    "scale_out_cooldown": st.one_of(st.integers(-5, 5), not_a_number),
    "provision_timeout": st.one_of(st.integers(0, 299).map(cdk.Duration.seconds),
                                   st.integers(3601, 10_000).map(cdk.Duration.seconds)),
    "initial_instance_count": st.one_of(st.integers(max_value=0), st.integers(1001, 5000)),
    "model": st.one_of(st.text(max_size=5), st.none(), st.integers()),
    "alarms": st.one_of(st.text(max_size=3), st.integers(), st.dictionaries(st.text(max_size=3), st.none())),
    "scale_in": st.one_of(st.text(max_size=3), st.integers(),
                          st.builds(StreamingSafeScaleIn, low_water_mark=st.floats(7, 1000))),
}
ASYNC_BAD: dict[str, st.SearchStrategy[Any]] = {
    "min_capacity": st.one_of(st.integers(max_value=-1), not_a_number),
    "target_backlog_per_instance": st.one_of(st.floats(max_value=0, allow_nan=False), not_a_number),
    "max_concurrent_invocations_per_instance": st.one_of(st.integers(max_value=0),
                                                         st.integers(min_value=1001),
                                                         not_a_number),
    "result_expiration": st.one_of(st.integers(0, 23).map(cdk.Duration.hours),
                                   not_a_number.filter(lambda v: v is not None)),
    "input_prefix": st.one_of(st.just(""), st.just("/in/"), st.just("in"), st.integers()),
}


def expect_config_error(construct: Any, props: dict[str, Any], prop: str, value: Any) -> None:
    """Building with ``prop=value`` raises the library's error, naming the prop."""
    stack = cdk.Stack(cdk.App(context=cdk_context()), "Bad")
    try:
        construct(stack, "E", **{**props, prop: value})
    except DeepgramScalingConfigError as err:
        named = prop.split("_cooldown")[0]
        assert named in str(err) or prop in str(err), (prop, str(err))
    else:
        raise AssertionError(f"{prop}={value!r} was accepted")


def bad_case(table: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.sampled_from(sorted(table)).flatmap(lambda p: st.tuples(st.just(p), table[p]))


@settings(max_examples=120, deadline=None)
@given(bad_case(BAD_VALUES))
def test_invalid_realtime_arguments_raise_the_config_error(case):
    expect_config_error(RealtimeDeepgramEndpoint,
                        {"model": DeepgramModel.from_model_package(PACKAGE_ARN),
                         "instance_pools": ["ml.g6.2xlarge"], "max_capacity": 1000,
                         "target_concurrency_per_instance": 7}, *case)


@settings(max_examples=60, deadline=None)
@given(bad_case(ASYNC_BAD))
def test_invalid_async_arguments_raise_the_config_error(case):
    expect_config_error(AsyncDeepgramEndpoint,
                        {"model": DeepgramModel.from_image(IMAGE_URI),
                         "instance_pools": ["ml.g6.2xlarge"], "max_capacity": 4}, *case)
