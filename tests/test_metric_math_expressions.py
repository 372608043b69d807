"""The metric-math subset the simulator and the checks evaluate (deepgram_scaling.metric_math):
negation, a missing operand, and each expression outside the subset, refused by name."""

from __future__ import annotations

import pytest

from deepgram_scaling.metric_math import MetricMathError, MetricQuery, evaluate

POOL = "ml.g6.2xlarge"


def _value(expression: str, pool_value: float | None) -> float | None:
    return evaluate([MetricQuery(id="m1", instance_type=POOL),
                     MetricQuery(id="e1", expression=expression, return_data=True)],
                    {POOL: pool_value})


def test_a_minus_sign_negates_a_value_and_leaves_no_data_as_no_data():
    # Given a negated query, with a datapoint and without one
    # Then it is the negative of the datapoint, and still no datapoint without one
    assert _value("-m1 + 10", 4.0) == 6.0
    assert _value("--m1", 4.0) == 4.0
    assert _value("-m1", None) is None


def test_a_constant_with_a_series_that_published_nothing_has_no_value():
    # Given a series with no datapoint, combined with a constant
    # Then the result has no datapoint (only two series stand in 0 for a missing one)
    assert _value("m1 * 2", None) is None
    assert _value("2 * m1", None) is None


@pytest.mark.parametrize(("expression", "message"), [
    ("m1 $ 2", r"cannot read ' \$ 2'"),
    ("(m1 + 2", r"expected \), got None"),
    ("m1 2", r"unexpected '2'"),
    ("m9 / 2", r"unknown query id or function 'm9'"),
    ("IF(m1)", r"IF takes 2 or 3 arguments"),
    ("FILL(m1, 0, 1)", r"FILL takes 2 arguments"),
], ids=["character", "unclosed", "two-values", "unknown-id", "if-arity", "fill-arity"])
def test_an_expression_outside_the_subset_is_refused_with_what_is_wrong(expression, message):
    with pytest.raises(MetricMathError, match=message):
        _value(expression, 1.0)


def test_queries_where_none_returns_data_are_refused():
    with pytest.raises(MetricMathError, match="no query returns data"):
        evaluate([MetricQuery(id="m1", instance_type=POOL)], {POOL: 1.0})
