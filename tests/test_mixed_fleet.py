"""Capacity-aware scaling for mixed pools: the metric math means what it should, evaluated
with CloudWatch's documented treatment of missing values, in the pure builder and in the
synthesized template."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from hypothesis import given
from hypothesis import strategies as st

from deepgram_scaling import (
    DeepgramModel,
    DeepgramScalingConfigError,
    InstancePool,
    RealtimeDeepgramEndpoint,
)
from deepgram_scaling.metric_math import (
    RESULT_ID,
    MetricQuery,
    PoolSignal,
    evaluate,
    mixed_fleet_queries,
    queries_from_template,
    signal_kind,
)

from .conftest import PACKAGE_ARN

TYPES = ["ml.g6.2xlarge", "ml.g6e.2xlarge", "ml.g5.2xlarge", "ml.g7.2xlarge", "ml.g7e.2xlarge"]


def expression(text: str, **series: float | None) -> float | None:
    """Evaluate one expression over named time series at one timestamp."""
    queries = [MetricQuery(id=name, instance_type=name) for name in series]
    queries.append(MetricQuery(id="result", expression=text, return_data=True))
    return evaluate(queries, series)


# --- the evaluator follows CloudWatch's documented rules --------------------------------


@pytest.mark.parametrize(("text", "series", "expected"), [
    ("a + b", {"a": 2, "b": None}, 2),          # missing counts as 0 beside a value
    ("a + b", {"a": None, "b": None}, None),    # every operand missing: no value
    ("a / 4", {"a": None}, None),               # no other series: still missing
    ("a / b", {"a": 3, "b": 0}, None),          # division by zero drops the point
    ("a >= b", {"a": None, "b": 2}, 0),         # comparisons: same missing-as-0 rule
    ("IF(a, 1, 2)", {"a": None}, None),         # missing condition: no value
    ("IF(a >= b, a, b)", {"a": None, "b": 0}, 0),  # true with a missing gives 0
    ("IF(a, b, c)", {"a": 0, "b": 1, "c": None}, None),  # false with b missing drops
    ("FILL(a, 7)", {"a": None}, 7),
    ("0.5 * a + 0.5 * b", {"a": 10, "b": None}, 5),  # AWS's recipe halves with an empty pool
])
def test_documented_missing_value_rules(text, series, expected):
    assert expression(text, **series) == expected


def test_aws_recipe_halves_the_load_but_ours_does_not():
    pools = [PoolSignal("ml.g6.2xlarge", 8), PoolSignal("ml.g6e.2xlarge", 20)]
    ours = evaluate(mixed_fleet_queries(pools), {"ml.g6.2xlarge": 6, "ml.g6e.2xlarge": None})
    recipe = expression("(a / 8 + b / 20) / 2", a=6, b=None)
    assert ours == 0.75
    assert recipe == 0.375


# --- properties of the signal ------------------------------------------------------------

pool_lists = st.lists(st.tuples(st.sampled_from(TYPES), st.integers(1, 64)), min_size=2,
                      max_size=5, unique_by=lambda p: p[0])


@given(pools=pool_lists, data=st.data())
def test_signal_is_the_most_loaded_present_pool(pools, data):
    signals = [PoolSignal(t, c) for t, c in pools]
    values = {t: data.draw(st.one_of(st.none(), st.integers(0, 200).map(float)), label=t)
              for t, _ in pools}
    result = evaluate(mixed_fleet_queries(signals), values)
    present = [values[t] / c for t, c in pools if values[t] is not None]
    if not present:
        assert result is None  # no instance anywhere: no datapoint
    else:
        assert result == pytest.approx(max(present))


@given(pools=pool_lists, load=st.integers(0, 200).map(float))
def test_empty_fallback_pools_never_dilute_the_primary(pools, load):
    signals = [PoolSignal(t, c) for t, c in pools]
    only_primary = {pools[0][0]: load}  # every fallback pool empty
    assert evaluate(mixed_fleet_queries(signals), only_primary) == pytest.approx(load / pools[0][1])


@given(pools=st.lists(st.tuples(st.sampled_from(TYPES), st.integers(1, 64), st.integers(0, 5)),
                      min_size=2, max_size=5, unique_by=lambda p: p[0]).filter(
                          lambda ps: any(w for _, _, w in ps)),
       data=st.data())
def test_weighted_form_is_normalized_by_the_pools_that_report(pools, data):
    signals = [PoolSignal(t, c, w) for t, c, w in pools]
    values = {t: data.draw(st.one_of(st.none(), st.integers(0, 100).map(float)), label=t)
              for t, _, _ in pools}
    result = evaluate(mixed_fleet_queries(signals), values)
    present = [(w, values[t] / c) for t, c, w in pools if values[t] is not None]
    weight = sum(w for w, _ in present)
    if not present:
        assert result is None
    elif weight == 0:
        assert result is None  # only zero-weight pools report: division by zero drops it
    else:
        assert result == pytest.approx(sum(w * u for w, u in present) / weight)


def test_signal_kind():
    assert signal_kind([PoolSignal("ml.g6.2xlarge")]) == "predefined"
    assert signal_kind([PoolSignal("ml.g6.2xlarge", 8), PoolSignal("ml.g5.2xlarge", 8)]) == "predefined"
    assert signal_kind([PoolSignal("ml.g6.2xlarge", 8), PoolSignal("ml.g5.2xlarge", 6)]) == "pool-utilization"
    assert signal_kind([PoolSignal("ml.g6.2xlarge", 8, 1), PoolSignal("ml.g5.2xlarge", 6, 1)]) == "weighted-utilization"
    assert signal_kind([PoolSignal("ml.g6.2xlarge", None, 1), PoolSignal("ml.g5.2xlarge", None, 2)]) == "weighted-concurrency"


# --- the synthesized template ------------------------------------------------------------


def mixed_policy(template: Template, prefix: str = "Realtime") -> dict:
    found = [p["Properties"] for k, p in
             template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()
             if k.startswith(prefix) and "CustomizedMetricSpecification" in str(p)]
    assert len(found) == 1
    return found[0]


def test_example_template_metric_stats(example_template: Template):
    config = mixed_policy(example_template)["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 0.75
    assert (config["ScaleOutCooldown"], config["ScaleInCooldown"]) == (60, 300)
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    stats = [m["MetricStat"] for m in metrics if "MetricStat" in m]
    assert len(stats) == 3
    for stat in stats:
        assert stat["Metric"]["Namespace"] == "AWS/SageMaker"
        assert stat["Metric"]["MetricName"] == "ConcurrentRequestsPerModel"
        assert [d["Name"] for d in stat["Metric"]["Dimensions"]] == [
            "EndpointName", "VariantName", "InstanceType"]
        assert stat["Stat"] == "Maximum"
    assert [m["Id"] for m in metrics if m["ReturnData"]] == [RESULT_ID]
    assert {m["Id"]: m.get("Expression") for m in metrics}["util_g6e_2xlarge"] == "cr_g6e_2xlarge / 20"


@pytest.mark.parametrize(("values", "expected"), [
    ({"ml.g6.2xlarge": 6}, 0.75),                                   # fallbacks empty
    ({"ml.g6.2xlarge": None, "ml.g6e.2xlarge": 15}, 0.75),          # primary short: g6e only
    ({"ml.g6.2xlarge": 4, "ml.g6e.2xlarge": 4, "ml.g5.2xlarge": 4}, 4 / 6),  # LOR: g5 binds
    ({"ml.g6.2xlarge": 0}, 0.0),                                   # idle: a datapoint, not none
])
def test_synthesized_expression_evaluates_to_the_intended_utilization(example_template, values, expected):
    metrics = mixed_policy(example_template)["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"]["Metrics"]
    assert evaluate(queries_from_template(metrics), values) == pytest.approx(expected)


def test_mixed_fleet_keeps_a_high_resolution_companion(example_template: Template):
    policies = [p["Properties"] for k, p in
                example_template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").items()
                if k.startswith("Realtime")]
    predefined = [p for p in policies if "PredefinedMetricSpecification" in str(p)]
    assert len(predefined) == 1
    # Derived: target_utilization 0.75 x the largest declared capacity (20), so the
    # companion never outvotes the metric-math policy in the steady state.
    assert predefined[0]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 15


def test_a_companion_target_below_the_fleet_target_warns(new_stack):
    from aws_cdk.assertions import Annotations, Match

    from deepgram_scaling.realtime import LOW_COMPANION_WARNING_ID

    stack = new_stack("LowCompanion", nag=False)
    realtime(stack, MIXED, target_concurrency_per_instance=7)
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(
        r"target_concurrency_per_instance \(7\) is below target_utilization x the largest "
        r"declared capacity \(15\)"))
    assert len(warnings) == 1 and LOW_COMPANION_WARNING_ID in str(warnings[0])
    quiet = new_stack("FairCompanion", nag=False)
    realtime(quiet, MIXED, target_concurrency_per_instance=15)
    assert Annotations.from_stack(quiet).find_warning("*", Match.any_value()) == []


def realtime(stack: cdk.Stack, pools: list[InstancePool], **kwargs):
    return RealtimeDeepgramEndpoint(stack, "E", model=DeepgramModel.from_model_package(PACKAGE_ARN),
                                    instance_pools=pools, max_capacity=8, **kwargs)


MIXED = [InstancePool("ml.g6.2xlarge", max_concurrency=8),
         InstancePool("ml.g6e.2xlarge", max_concurrency=20)]


def test_companion_off_leaves_the_metric_math_policy_alone(new_stack: Callable[..., cdk.Stack]):
    stack = new_stack("Alone")
    endpoint = realtime(stack, MIXED, high_resolution_companion=False, target_utilization=0.7)
    template = Template.from_stack(stack)
    policies = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    assert len(policies) == 1
    assert endpoint.scaling_policy is None and endpoint.mixed_fleet_policy is not None
    assert endpoint.scaling_signal == "pool-utilization"
    config = mixed_policy(template, "E")["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 0.7
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    assert evaluate(queries_from_template(metrics), {"ml.g6e.2xlarge": 14}) == pytest.approx(0.7)
    from .test_compliance import cfn_lint_findings

    assert cfn_lint_findings(template.to_json()) == []


def test_companion_target_defaults_to_utilization_of_the_largest_pool(new_stack):
    endpoint = realtime(new_stack(nag=False), MIXED)
    assert endpoint.target_concurrency_per_instance == 15  # 0.75 x 20


def test_uniform_capacities_keep_the_predefined_policy(new_stack):
    stack = new_stack(nag=False)
    endpoint = realtime(stack, [InstancePool("ml.g6.2xlarge", max_concurrency=10),
                                InstancePool("ml.g6e.2xlarge", max_concurrency=10)])
    assert endpoint.scaling_signal == "predefined"
    assert endpoint.mixed_fleet_policy is None
    assert endpoint.target_concurrency_per_instance == 7.5


def test_streaming_safe_mode_disables_scale_in_on_both_policies(new_stack):
    from deepgram_scaling import StreamingSafeScaleIn

    stack = new_stack(nag=False)
    realtime(stack, MIXED, scale_in=StreamingSafeScaleIn())
    configs = [p["Properties"]["TargetTrackingScalingPolicyConfiguration"] for p in
               Template.from_stack(stack).find_resources(
                   "AWS::ApplicationAutoScaling::ScalingPolicy").values()
               if p["Properties"]["PolicyType"] == "TargetTrackingScaling"]
    assert [c["DisableScaleIn"] for c in configs] == [True, True]


def test_weighted_concurrency_uses_the_concurrency_target(new_stack):
    stack = new_stack(nag=False)
    endpoint = realtime(stack, [InstancePool("ml.g6.2xlarge", weight=1),
                                InstancePool("ml.g6e.2xlarge", weight=1)],
                        target_concurrency_per_instance=6)
    assert endpoint.scaling_signal == "weighted-concurrency"
    config = mixed_policy(Template.from_stack(stack), "E")["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 6
    metrics = config["CustomizedMetricSpecification"]["Metrics"]
    assert evaluate(queries_from_template(metrics), {"ml.g6.2xlarge": 6}) == 6  # not halved


def test_fleet_utilization_metric_helper(new_stack):
    endpoint = realtime(new_stack(nag=False), MIXED)
    metric = endpoint.metric_fleet_utilization()
    assert metric.expression.startswith("IF(util_g6_2xlarge >= util_g6e_2xlarge")
    per_pool = endpoint.metric_concurrent_requests_per_model(instance_type="ml.g6e.2xlarge")
    assert per_pool.dimensions["InstanceType"] == "ml.g6e.2xlarge"


@pytest.mark.parametrize(("pools", "kwargs", "message"), [
    (MIXED, {"target_utilization": 0}, r"target_utilization must be > 0 and <= 1, got 0"),
    (MIXED, {"target_utilization": 1.2}, r"target_utilization must be > 0 and <= 1, got 1.2"),
    ([InstancePool("ml.g6.2xlarge", max_concurrency=8), InstancePool("ml.g6e.2xlarge")], {},
     r"max_concurrency must be declared on every pool or on none, got it missing on \['ml.g6e.2xlarge'\]"),
    ([InstancePool("ml.g6.2xlarge", weight=1), InstancePool("ml.g6e.2xlarge")],
     {"target_concurrency_per_instance": 5}, r"weight must be set on every pool or on none"),
    ([InstancePool("ml.g6.2xlarge"), InstancePool("ml.g6e.2xlarge")], {},
     r"target_concurrency_per_instance is required for target tracking unless every pool declares max_concurrency"),
])
def test_invalid_mixed_fleet_props(new_stack, pools, kwargs, message):
    with pytest.raises(DeepgramScalingConfigError, match=message):
        realtime(new_stack(nag=False), pools, **kwargs)


def test_fleet_utilization_needs_declared_capacities(new_stack):
    endpoint = realtime(new_stack(nag=False), ["ml.g6.2xlarge"], target_concurrency_per_instance=7)
    with pytest.raises(DeepgramScalingConfigError, match="metric_fleet_utilization needs"):
        endpoint.metric_fleet_utilization()


def test_async_pools_with_capacities_warn_that_they_are_unused(new_stack):
    from aws_cdk.assertions import Annotations, Match

    from deepgram_scaling import AsyncDeepgramEndpoint

    from .conftest import IMAGE_URI

    stack = new_stack(nag=False)
    AsyncDeepgramEndpoint(stack, "Jobs", model=DeepgramModel.from_image(IMAGE_URI),
                          instance_pools=MIXED, max_capacity=4)
    warnings = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("only the EndpointName dimension"))
    assert len(warnings) == 1


def test_streaming_safe_low_water_comes_from_the_binding_pool(new_stack):
    # Review finding: with the target derived from the largest pool (0.75 x 20 = 15) a
    # low-water mark of 7.5 sat above the g6 pool's scale-out point (0.75 x 8 = 6), so the
    # policies fought. The removal alarm now sits below every scale-out threshold.
    from deepgram_scaling import StreamingSafeScaleIn

    stack = new_stack(nag=False)
    endpoint = realtime(stack, MIXED, scale_in=StreamingSafeScaleIn())
    assert endpoint.target_concurrency_per_instance == 15
    quiet = endpoint.scale_in_alarm.node.default_child
    assert stack.resolve(quiet.threshold) == 3  # half of 0.75 x 8
    with pytest.raises(DeepgramScalingConfigError,
                       match=r"scale_in.low_water_mark must be below the concurrency at which scaling out starts \(6 per instance\), got 7"):
        realtime(new_stack(nag=False), MIXED, scale_in=StreamingSafeScaleIn(low_water_mark=7))
