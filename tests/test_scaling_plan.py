"""Which scaling a real-time endpoint gets: the pure plan, every kind and every derived
target, without synthesizing."""

from __future__ import annotations

import pytest

from deepgram_scaling import DeepgramScalingConfigError, InstancePool
from deepgram_scaling._validation import Problems
from deepgram_scaling.metric_math import PoolSignal, mixed_fleet_queries
from deepgram_scaling.scaling_plan import (
    RealtimeScalingPlan,
    ScalingKind,
    plan_realtime_scaling,
    pool_signals,
)

G6, G6E = "ml.g6.2xlarge", "ml.g6e.2xlarge"


def messages(problems: Problems) -> list[str]:
    with pytest.raises(DeepgramScalingConfigError) as info:
        problems.raise_if_any()
    return list(info.value.problems)


def plan(signals: list[PoolSignal], *, target: float | None = None, utilization: float = 0.75,
         companion: bool = True, steps: bool = False) -> tuple[RealtimeScalingPlan, Problems]:
    problems = Problems()
    found = plan_realtime_scaling(problems, signals=signals, target_concurrency_per_instance=target,
                                  target_utilization=utilization,
                                  high_resolution_companion=companion, step_scaling=steps)
    return found, problems


def test_one_pool_with_a_target_is_the_predefined_policy_alone():
    found, problems = plan([PoolSignal(G6)], target=7)
    assert not problems
    assert found == RealtimeScalingPlan(ScalingKind.PREDEFINED, 7, None, (), 7, 7)


def test_without_a_target_or_capacities_target_tracking_is_refused():
    found, problems = plan([PoolSignal(G6), PoolSignal(G6E)])
    assert messages(problems) == [
        "target_concurrency_per_instance is required for target tracking unless every pool "
        "declares max_concurrency (or pass step_scaling), got None"]
    assert (found.kind, found.concurrency_target, found.binding_concurrency) == (
        ScalingKind.PREDEFINED, None, None)


@pytest.mark.parametrize("signals", [[PoolSignal(G6, 10)], [PoolSignal(G6, 10), PoolSignal(G6E, 10)]])
def test_a_uniform_declared_capacity_derives_the_target(signals):
    found, problems = plan(signals, utilization=0.8)
    assert not problems
    assert found == RealtimeScalingPlan(ScalingKind.PREDEFINED, 8, None, (), 8, 8)


def test_a_given_target_wins_over_a_uniform_capacity():
    found, _ = plan([PoolSignal(G6, 10), PoolSignal(G6E, 10)], target=5)
    assert (found.concurrency_target, found.binding_concurrency) == (5, 5)


def test_different_capacities_scale_on_the_most_loaded_pool_with_a_companion():
    signals = [PoolSignal(G6, 8), PoolSignal(G6E, 20)]
    found, problems = plan(signals)
    assert not problems
    # companion: 0.75 x the largest capacity (20); scale-out starts at 0.75 x 8 on the g6 pool
    assert found == RealtimeScalingPlan(ScalingKind.POOL_UTILIZATION, 15, 0.75,
                                        tuple(mixed_fleet_queries(signals)), 6, 15)


def test_a_given_target_below_the_smallest_pool_binds():
    found, _ = plan([PoolSignal(G6, 8), PoolSignal(G6E, 20)], target=4)
    assert (found.concurrency_target, found.fleet_target, found.binding_concurrency) == (4, 0.75, 4)


def test_without_the_companion_only_the_metric_math_policy_remains():
    found, _ = plan([PoolSignal(G6, 8), PoolSignal(G6E, 20)], companion=False, utilization=0.7)
    assert (found.kind, found.concurrency_target, found.fleet_target) == (
        ScalingKind.POOL_UTILIZATION, None, 0.7)
    assert found.binding_concurrency == pytest.approx(5.6)


def test_weights_with_capacities_are_the_weighted_utilization():
    signals = [PoolSignal(G6, 8, 1), PoolSignal(G6E, 20, 3)]
    found, _ = plan(signals)
    assert found == RealtimeScalingPlan(ScalingKind.WEIGHTED_UTILIZATION, 15, 0.75,
                                        tuple(mixed_fleet_queries(signals)), 6, 15)


def test_weights_without_capacities_track_the_concurrency_target():
    signals = [PoolSignal(G6, None, 1), PoolSignal(G6E, None, 2)]
    found, problems = plan(signals, target=6)
    assert not problems
    assert found == RealtimeScalingPlan(ScalingKind.WEIGHTED_CONCURRENCY, 6, 6,
                                        tuple(mixed_fleet_queries(signals)), 6, 6)
    _, problems = plan(signals)
    assert len(problems) == 1  # no capacity to derive a target from


def test_step_scaling_needs_no_target_and_keeps_the_binding_concurrency():
    found, problems = plan([PoolSignal(G6, 8), PoolSignal(G6E, 20)], steps=True)
    assert not problems
    assert (found.kind, found.concurrency_target, found.fleet_target,
            found.binding_concurrency, found.target_concurrency_per_instance) == (
        ScalingKind.STEP, None, None, 6, None)
    assert len(found.queries) > 0  # the fleet signal stays available for dashboards
    found, problems = plan([PoolSignal(G6)], steps=True)
    assert not problems and found == RealtimeScalingPlan(ScalingKind.STEP, None, None, (), None,
                                                         None)


def test_kinds_compare_equal_to_the_strings_of_0_1():
    assert [k.value for k in ScalingKind] == [
        "predefined", "pool-utilization", "weighted-utilization", "weighted-concurrency", "step"]
    assert ScalingKind.POOL_UTILIZATION == "pool-utilization"


def test_pool_signals_read_declared_capacities_and_weights():
    assert pool_signals([InstancePool(G6, max_concurrency=8, weight=2), InstancePool(G6E)]) == [
        PoolSignal(G6, 8, 2), PoolSignal(G6E, None, None)]
    assert pool_signals("ml.g6.2xlarge") == []
    assert pool_signals([InstancePool(G6), "ml.g6e.2xlarge"]) == [PoolSignal(G6, None, None)]


def test_a_derived_target_is_rounded_to_six_places_not_to_whole_streams():
    # 0.7 x 3 is 2.0999999999999996 in binary; the template shows 2.1, and 7.5 stays 7.5
    assert plan([PoolSignal(G6, 3)], utilization=0.7)[0].concurrency_target == 2.1
    assert plan([PoolSignal(G6, 10)])[0].concurrency_target == 7.5
