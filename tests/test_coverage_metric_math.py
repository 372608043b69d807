"""The exact queries of the mixed-fleet signal (``metric_math.mixed_fleet_queries``) and their
reading back from a template (``metric_math.queries_from_template``). ``make mutants`` found
the query ids, which query returns data and the template reader untested: the evaluation
tests in ``test_metric_math.py`` give the same numbers for several wrong query lists."""

from __future__ import annotations

import pytest

from deepgram_scaling.metric_math import (
    MetricQuery,
    PoolSignal,
    evaluate,
    mixed_fleet_queries,
    queries_from_template,
)


def test_capacities_give_one_utilization_per_pool_and_a_readable_max_chain():
    # given three pools with measured capacities
    pools = [PoolSignal("ml.g6.2xlarge", 8), PoolSignal("ml.g6e.2xlarge", 20),
             PoolSignal("ml.g5.2xlarge", 6.5)]

    # when the signal is built
    queries = mixed_fleet_queries(pools)

    # then each pool's concurrency is divided by its capacity, and the largest utilization is
    # taken from the right, the last step alone returning data
    assert queries == [
        MetricQuery(id="cr_g6_2xlarge", instance_type="ml.g6.2xlarge"),
        MetricQuery(id="util_g6_2xlarge", expression="cr_g6_2xlarge / 8"),
        MetricQuery(id="cr_g6e_2xlarge", instance_type="ml.g6e.2xlarge"),
        MetricQuery(id="util_g6e_2xlarge", expression="cr_g6e_2xlarge / 20"),
        MetricQuery(id="cr_g5_2xlarge", instance_type="ml.g5.2xlarge"),
        MetricQuery(id="util_g5_2xlarge", expression="cr_g5_2xlarge / 6.5"),
        MetricQuery(id="max_g6e_2xlarge_g5_2xlarge",
                    expression="IF(util_g6e_2xlarge >= util_g5_2xlarge, util_g6e_2xlarge, "
                               "util_g5_2xlarge)"),
        MetricQuery(id="fleet_utilization",
                    expression="IF(util_g6_2xlarge >= max_g6e_2xlarge_g5_2xlarge, "
                               "util_g6_2xlarge, max_g6e_2xlarge_g5_2xlarge)",
                    return_data=True),
    ]


def test_weights_without_capacities_give_a_weighted_concurrency():
    # given two pools with weights and no capacities
    pools = [PoolSignal("ml.g6.2xlarge", weight=1), PoolSignal("ml.g6e.2xlarge", weight=2.5)]

    # then the concurrencies are averaged over the pools that report
    assert mixed_fleet_queries(pools) == [
        MetricQuery(id="cr_g6_2xlarge", instance_type="ml.g6.2xlarge"),
        MetricQuery(id="cr_g6e_2xlarge", instance_type="ml.g6e.2xlarge"),
        MetricQuery(id="fleet_concurrency",
                    expression="(1 * cr_g6_2xlarge + 2.5 * cr_g6e_2xlarge) / "
                               "(1 * IF(cr_g6_2xlarge, 1, 1) + 2.5 * IF(cr_g6e_2xlarge, 1, 1))",
                    return_data=True),
    ]


def test_weights_with_capacities_give_a_weighted_utilization():
    pools = [PoolSignal("ml.g6.2xlarge", 8, weight=1), PoolSignal("ml.g6e.2xlarge", 20, weight=3)]
    queries = mixed_fleet_queries(pools)
    assert [q.id for q in queries] == ["cr_g6_2xlarge", "util_g6_2xlarge", "cr_g6e_2xlarge",
                                       "util_g6e_2xlarge", "fleet_utilization"]
    assert queries[-1] == MetricQuery(
        id="fleet_utilization",
        expression="(1 * util_g6_2xlarge + 3 * util_g6e_2xlarge) / "
                   "(1 * IF(util_g6_2xlarge, 1, 1) + 3 * IF(util_g6e_2xlarge, 1, 1))",
        return_data=True)


@pytest.mark.parametrize(("pools", "message"), [
    ([PoolSignal("ml.g6.2xlarge", 8)], "a mixed-fleet signal needs two or more pools"),
    ([PoolSignal("ml.g6.2xlarge", 8), PoolSignal("ml.g6e.2xlarge")],
     "declare a capacity on every pool, or a weight on every pool"),
])
def test_a_signal_that_cannot_be_built_says_what_is_missing(pools, message):
    with pytest.raises(ValueError) as raised:
        mixed_fleet_queries(pools)
    assert str(raised.value) == message


def as_template(queries: list[MetricQuery], *, omit_return_data: bool = False) -> list[dict]:
    """The ``CustomizedMetricSpecification.Metrics`` list the library writes for queries."""
    items: list[dict] = []
    for q in queries:
        item: dict = {"Id": q.id}
        if q.instance_type is not None:
            item["MetricStat"] = {"Metric": {
                "Namespace": "AWS/SageMaker", "MetricName": "ConcurrentRequestsPerModel",
                "Dimensions": [{"Name": "EndpointName", "Value": "Speech"},
                               {"Name": "VariantName", "Value": "AllTraffic"},
                               {"Name": "InstanceType", "Value": q.instance_type}]},
                "Stat": "Maximum"}
        else:
            item["Expression"] = q.expression
        if not (omit_return_data and q.return_data):
            item["ReturnData"] = q.return_data
        items.append(item)
    return items


def test_template_metrics_read_back_as_the_queries_that_wrote_them():
    # given the mixed-fleet queries as a template lists them (ReturnData left out where
    # CloudFormation's default, true, applies)
    written = mixed_fleet_queries([PoolSignal("ml.g6.2xlarge", 8),
                                   PoolSignal("ml.g6e.2xlarge", 20)])
    template = as_template(written, omit_return_data=True)

    # when they are read back
    read = queries_from_template(template)

    # then they are the same queries, and evaluate to the same utilization
    assert read == written
    values = {"ml.g6.2xlarge": 4.0, "ml.g6e.2xlarge": 15.0}
    assert evaluate(read, values) == evaluate(written, values) == 0.75


def test_a_metric_stat_without_an_instance_type_is_keyed_by_its_metric_name():
    # given a template query on an endpoint-wide metric, with no InstanceType dimension and
    # no Dimensions at all
    template = [
        {"Id": "invocations", "MetricStat": {"Metric": {"MetricName": "Invocations",
                                                        "Namespace": "AWS/SageMaker"},
                                             "Stat": "Sum"}, "ReturnData": False},
        {"Id": "rate", "Expression": "invocations / 60"},
    ]

    # then the stat is keyed by its metric name, and the expression returns data by default
    assert queries_from_template(template) == [
        MetricQuery(id="invocations", instance_type="Invocations", return_data=False),
        MetricQuery(id="rate", expression="invocations / 60", return_data=True),
    ]
    assert evaluate(queries_from_template(template), {"Invocations": 120.0}) == 2.0


@pytest.mark.parametrize("return_data", [{}, {"ReturnData": True}])
def test_a_single_metric_stat_returns_data_unless_the_template_says_otherwise(return_data):
    # given a one-metric specification: a MetricStat with ReturnData left out or true
    template = [{"Id": "m1", "MetricStat": {"Metric": {
        "Namespace": "AWS/SageMaker", "MetricName": "ConcurrentRequestsPerModel",
        "Dimensions": [{"Name": "InstanceType", "Value": "ml.g6.2xlarge"}]},
        "Stat": "Maximum"}, **return_data}]

    # then it is the query that returns data
    assert queries_from_template(template) == [
        MetricQuery(id="m1", instance_type="ml.g6.2xlarge", return_data=True)]
    assert evaluate(queries_from_template(template), {"ml.g6.2xlarge": 7.0}) == 7.0
