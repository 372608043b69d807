"""Dashboard pieces: period rules and widget builders. Widgets take metrics from the
endpoints' ``metric_*`` helpers; no metric is spelled out here."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from ._validation import Problems, is_token, to_seconds

WIDGET_WIDTH = 12
WIDGET_HEIGHT = 6


def check_dashboard_period(problems: Problems, period: object, *, high_resolution: bool) -> None:
    """A dashboard period is a multiple of 60 s; a real-time endpoint, whose concurrency is
    emitted every 10 s, may also use CloudWatch's sub-minute periods of 10, 20 or 30 s."""
    if not problems.duration("period", period, minimum_s=10):
        return
    assert isinstance(period, Duration)
    seconds = to_seconds(period)
    if is_token(seconds):
        return
    if seconds % 60 and not (high_resolution and seconds in (10, 20, 30)):
        what = ("60 s, or 10, 20 or 30 s (this endpoint's signal is high resolution)"
                if high_resolution else "60 s")
        problems.add(f"period must be a multiple of {what}, got {period.to_human_string()}")


def graph(
    title: str,
    left: Sequence[cloudwatch.IMetric],
    *,
    annotations: Sequence[tuple[str, float]] = (),
    right: Sequence[cloudwatch.IMetric] = (),
) -> cloudwatch.GraphWidget:
    """A graph with horizontal lines for targets and bounds (label, value)."""
    return cloudwatch.GraphWidget(
        title=title,
        left=list(left),
        right=list(right) or None,
        left_annotations=[
            cloudwatch.HorizontalAnnotation(value=value, label=label)
            for label, value in annotations
        ] or None,
        width=WIDGET_WIDTH,
        height=WIDGET_HEIGHT,
    )
