"""Which scaling a real-time endpoint gets: a pure decision, tested without synthesis.

The props (pools with their declared capacities and weights, targets, step scaling) decide
one :class:`RealtimeScalingPlan`; the endpoint then only asks its :class:`EndpointScaling`
for the policies the plan lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ._validation import Problems, is_token
from .instance_pools import InstancePool
from .metric_math import MetricQuery, PoolSignal, mixed_fleet_queries, signal_kind


class ScalingKind(StrEnum):
    """What a real-time endpoint scales on (compares equal to 0.1's strings)."""

    #: The predefined high-resolution ``ConcurrentRequestsPerModel`` policy alone.
    PREDEFINED = "predefined"
    #: Metric math on the most loaded pool's utilization (capacities differ).
    POOL_UTILIZATION = "pool-utilization"
    #: AWS's weighted form over utilizations (weights and capacities on every pool).
    WEIGHTED_UTILIZATION = "weighted-utilization"
    #: AWS's weighted form over concurrencies (weights, no capacities).
    WEIGHTED_CONCURRENCY = "weighted-concurrency"
    #: Explicit step scaling instead of target tracking.
    STEP = "step"


@dataclass(frozen=True)
class RealtimeScalingPlan:
    """The policies a real-time endpoint gets.

    :param kind: What it scales on.
    :param concurrency_target: Target of the predefined high-resolution policy; None when
        there is none (step scaling, or a mixed fleet without its companion).
    :param fleet_target: Target of the metric-math policy; None when there is none.
    :param queries: The metric-math queries (empty without a metric-math policy).
    :param binding_concurrency: Concurrency per instance at which some policy starts to
        scale out: the streaming-safe removal alarm must sit below it.
    :param target_concurrency_per_instance: The concurrency target, given or derived.
    """

    kind: ScalingKind
    concurrency_target: float | None
    fleet_target: float | None
    queries: tuple[MetricQuery, ...]
    binding_concurrency: float | None
    target_concurrency_per_instance: float | None


def pool_signals(instance_pools: object) -> list[PoolSignal]:
    """Declared capacities and weights of a pool list (empty when it is malformed; the pool
    rules report that)."""
    if not isinstance(instance_pools, (list, tuple)):
        return []
    return [PoolSignal(p.instance_type, p.max_concurrency, p.weight)
            for p in instance_pools if isinstance(p, InstancePool)]


def plan_realtime_scaling(
    problems: Problems,
    *,
    signals: Sequence[PoolSignal],
    target_concurrency_per_instance: float | None,
    target_utilization: float,
    high_resolution_companion: bool,
    step_scaling: bool,
) -> RealtimeScalingPlan:
    """Decide the policies; add a problem when target tracking has no target."""
    kind = ScalingKind(signal_kind(signals)) if signals else ScalingKind.PREDEFINED
    capacities = [s.capacity for s in signals if s.capacity is not None]
    uniform = bool(signals) and len(capacities) == len(signals) and len(set(capacities)) == 1
    derivable = kind in (ScalingKind.POOL_UTILIZATION, ScalingKind.WEIGHTED_UTILIZATION) \
        or uniform
    target = target_concurrency_per_instance
    if target is None and not step_scaling and not derivable:
        problems.add("target_concurrency_per_instance is required for target tracking unless "
                     "every pool declares max_concurrency (or pass step_scaling), got None")
    binding = _binding_concurrency(kind, capacities, target, target_utilization)
    if target is None and derivable and not step_scaling:
        # Uniform declared capacity, or the companion of a mixed-fleet policy.
        target = round(target_utilization * max(capacities), 6)
    mixed = kind is not ScalingKind.PREDEFINED and len(signals) >= 2
    queries = tuple(mixed_fleet_queries(signals)) if mixed else ()
    if step_scaling:
        return RealtimeScalingPlan(ScalingKind.STEP, None, None, queries, binding, target)
    fleet_target = None
    if mixed:
        fleet_target = target if kind is ScalingKind.WEIGHTED_CONCURRENCY else target_utilization
    companion = kind is ScalingKind.PREDEFINED or high_resolution_companion
    return RealtimeScalingPlan(kind, target if companion else None, fleet_target, queries,
                               binding, target)


def _binding_concurrency(kind: ScalingKind, capacities: Sequence[float], target: float | None,
                         utilization: float) -> float | None:
    """Concurrency per instance at which some policy starts scaling out."""
    if kind in (ScalingKind.POOL_UTILIZATION, ScalingKind.WEIGHTED_UTILIZATION) and capacities:
        smallest = utilization * min(capacities)
        return smallest if target is None or is_token(target) else min(smallest, target)
    if target is None and capacities and len(set(capacities)) == 1:
        return utilization * capacities[0]
    return target
