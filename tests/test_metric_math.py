"""The mixed-fleet metric math, pure: the evaluator follows CloudWatch's documented
missing-value rules, and the signal means what it should."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepgram_scaling.metric_math import (
    MetricQuery,
    PoolSignal,
    evaluate,
    mixed_fleet_queries,
    signal_kind,
)

TYPES = ["ml.g6.2xlarge", "ml.g6e.2xlarge", "ml.g5.2xlarge", "ml.g7.2xlarge", "ml.g7e.2xlarge"]


def expression(text: str, **series: float | None) -> float | None:
    """Evaluate one expression over named time series at one timestamp."""
    queries = [MetricQuery(id=name, instance_type=name) for name in series]
    queries.append(MetricQuery(id="result", expression=text, return_data=True))
    return evaluate(queries, series)


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
