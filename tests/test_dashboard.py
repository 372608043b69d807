"""Dashboards: the widgets each endpoint type gets, and the period rules."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from deepgram_scaling import (
    AsyncDeepgramEndpoint,
    DeepgramModel,
    DeepgramScalingConfigError,
)

from .conftest import IMAGE_URI
from .test_scaling import realtime


def dashboard_widgets(template: Template, prefix: str) -> list[dict]:
    """The dashboard body as JSON, tokens replaced by '<ref>'."""
    (dashboard,) = [d for k, d in template.find_resources("AWS::CloudWatch::Dashboard").items()
                    if k.startswith(prefix)]
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body = "".join(p if isinstance(p, str) else "<ref>" for p in parts)
    return json.loads(body)["widgets"]


def widget_metrics(widget: dict) -> list[tuple[str, str, str]]:
    """(namespace, metric name, stat) of each line of a graph widget."""
    return [(m[0], m[1], m[-1].get("stat", "Average")) for m in widget["properties"]["metrics"]]


def test_realtime_dashboard_widgets(example_template: Template):
    widgets = dashboard_widgets(example_template, "Realtime")
    titles = [w["properties"]["title"] for w in widgets]
    assert titles == ["Mixed-fleet signal (metric-math policy)",
                      "Concurrent requests per instance (scaling signal)", "Instances",
                      "Latency (microseconds)", "Errors"]
    mixed, signal, capacity, latency, errors = widgets
    expressions = [m[0]["expression"] for m in mixed["properties"]["metrics"]
                   if isinstance(m[0], dict) and "expression" in m[0]]
    assert "IF(util_g6_2xlarge >= max_g6e_2xlarge_g5_2xlarge, util_g6_2xlarge, max_g6e_2xlarge_g5_2xlarge)" in expressions
    assert mixed["properties"]["annotations"]["horizontal"][0]["value"] == 0.75
    assert widget_metrics(signal)[0] == ("AWS/SageMaker", "ConcurrentRequestsPerModel", "Maximum")
    assert len(widget_metrics(signal)) == 4  # the variant, then one line per pool
    assert signal["properties"]["annotations"]["horizontal"] == [
        {"value": 15, "label": "target", "yAxis": "left"}]
    assert {m[1:] for m in widget_metrics(capacity)} == {("CPUUtilization", "SampleCount")}
    assert [a["label"] for a in capacity["properties"]["annotations"]["horizontal"]] == [
        "min_capacity", "max_capacity"]
    assert [(m[1], m[2]) for m in widget_metrics(latency)] == [
        ("FirstChunkLatency", "p50"), ("FirstChunkLatency", "p90"), ("FirstChunkLatency", "p99"),
        ("ModelLatency", "p50"), ("ModelLatency", "p99")]
    assert [m[1] for m in widget_metrics(errors)] == [
        "Invocation5XXErrors", "InvocationModelErrors", "MidStreamErrors"]


def test_async_dashboard_widgets(example_template: Template):
    widgets = dashboard_widgets(example_template, "Batch")
    names = [[m[1] for m in widget_metrics(w)] for w in widgets]
    assert names == [
        ["ApproximateBacklogSizePerInstance"],
        ["CPUUtilization", "CPUUtilization", "CPUUtilization"],
        ["ApproximateBacklogSize", "HasBacklogWithoutCapacity"],
        ["ApproximateAgeOfOldestRequest"],
        ["ModelLatency", "ModelLatency", "ModelLatency"],
        ["InvocationFailures", "RequestDownloadFailures", "ResponseUploadFailures",
         "NotificationFailures"],
    ]
    assert widgets[0]["properties"]["annotations"]["horizontal"][0]["value"] == 5


@pytest.mark.parametrize(("factory", "period", "ok"), [
    ("realtime", cdk.Duration.seconds(30), True),
    ("realtime", cdk.Duration.seconds(15), False),
    ("realtime", cdk.Duration.seconds(40), False),
    ("realtime", cdk.Duration.seconds(120), True),
    ("async", cdk.Duration.seconds(30), False),
    ("async", cdk.Duration.minutes(5), True),
])
def test_dashboard_period_rules(new_stack, factory, period, ok):
    stack = new_stack(nag=False)
    endpoint = realtime(stack) if factory == "realtime" else AsyncDeepgramEndpoint(
        stack, "A", model=DeepgramModel.from_image(IMAGE_URI), instance_pools=["ml.g6.2xlarge"],
        max_capacity=2)
    if ok:
        endpoint.add_dashboard(period=period)
    else:
        with pytest.raises(DeepgramScalingConfigError, match=r"period must be a multiple of"):
            endpoint.add_dashboard(period=period)


def test_async_failure_signals_are_on_the_dashboard(example_template: Template):
    (dashboard,) = [d for k, d in example_template.find_resources("AWS::CloudWatch::Dashboard")
                    .items() if k.startswith("Batch")]
    body = str(dashboard["Properties"]["DashboardBody"])
    for name in ("RequestDownloadFailures", "ResponseUploadFailures", "NotificationFailures"):
        assert name in body


def metric_periods(widgets: list[dict]) -> set[int]:
    """The period of every line (the graph's own period where a line has none)."""
    return {(m[-1] if isinstance(m[-1], dict) else {}).get("period", w["properties"].get("period", 300))
            for w in widgets for m in w["properties"]["metrics"]}


@pytest.mark.parametrize("kind", ["realtime", "async"])
def test_every_graph_uses_the_dashboards_period(new_stack, kind):
    # Given an endpoint of each type with a five-minute and a default dashboard
    stack = new_stack(nag=False)
    endpoint = realtime(stack) if kind == "realtime" else AsyncDeepgramEndpoint(
        stack, "Endpoint", model=DeepgramModel.from_image(IMAGE_URI),
        instance_pools=["ml.g6.2xlarge"], max_capacity=2)
    endpoint.add_dashboard("Slow", period=cdk.Duration.minutes(5))
    endpoint.add_dashboard("Minute")
    template = Template.from_stack(stack)
    # then every line of the first is at 300 s, and every line of the second at 60 s
    assert metric_periods(dashboard_widgets(template, "EndpointSlow")) == {300}
    assert metric_periods(dashboard_widgets(template, "EndpointMinute")) == {60}
