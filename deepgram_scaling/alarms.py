"""Alarm options shared by both endpoint types, and the code that wires one alarm."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from ._validation import Problems


@dataclass(frozen=True, kw_only=True)
class AlarmOptions:
    """How one alarm evaluates its metric. Pass ``None`` instead to switch the alarm off.

    :param threshold: The value compared with the metric. Default: None, the alarm's own
        default (see the endpoint's alarm options).
    :param period: Length of one datapoint. Default: per alarm, usually 1 minute.
    :param evaluation_periods: Datapoints looked at. Default: per alarm.
    :param datapoints_to_alarm: Breaching datapoints, among them, that raise the alarm.
        Default: equal to ``evaluation_periods``.
    """

    threshold: float | None = None
    period: Duration = Duration.minutes(1)
    evaluation_periods: int = 3
    datapoints_to_alarm: int | None = None

    def check(self, problems: Problems, prop: str) -> None:
        if self.threshold is not None:
            problems.number(f"{prop}.threshold", self.threshold)
        period_ok = problems.duration(f"{prop}.period", self.period, minimum_s=60,
                                      why="(the endpoint metrics are published per minute)")
        if period_ok:
            seconds = self.period.to_seconds(integral=False)
            if isinstance(seconds, (int, float)) and seconds % 60:
                period_ok = False
                problems.add(f"{prop}.period must be a multiple of 60 seconds (the endpoint "
                             f"metrics are published per minute), got "
                             f"{self.period.to_human_string()}")
        if problems.number(f"{prop}.evaluation_periods", self.evaluation_periods, minimum=1,
                           integer=True) and period_ok:
            seconds = self.period.to_seconds(integral=False)
            if isinstance(seconds, (int, float)) and seconds * self.evaluation_periods > 86_400:
                problems.add(f"{prop}: evaluation_periods x period must be at most one day "
                             f"(CloudWatch's limit), got {self.evaluation_periods} x "
                             f"{self.period.to_human_string()}")
        if self.datapoints_to_alarm is not None:
            problems.number(
                f"{prop}.datapoints_to_alarm", self.datapoints_to_alarm, minimum=1,
                maximum=self.evaluation_periods, integer=True,
                why="(no more than evaluation_periods)",
            )


def create_alarm(
    scope: Construct,
    construct_id: str,
    *,
    metric: cloudwatch.IMetric,
    options: AlarmOptions,
    default_threshold: float,
    comparison: cloudwatch.ComparisonOperator,
    description: str,
    topic: sns.ITopic | None,
    treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
) -> cloudwatch.Alarm:
    """One alarm from its options; notifies ``topic`` on ALARM and OK when given.

    ``default_threshold`` applies when ``options.threshold`` is None.
    """
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric.with_(period=options.period) if isinstance(metric, cloudwatch.Metric)
        else metric,
        threshold=options.threshold if options.threshold is not None else default_threshold,
        evaluation_periods=options.evaluation_periods,
        datapoints_to_alarm=options.datapoints_to_alarm or options.evaluation_periods,
        comparison_operator=comparison,
        treat_missing_data=treat_missing_data,
        alarm_description=description,
    )
    if topic is not None:
        alarm.add_alarm_action(cw_actions.SnsAction(topic))
        alarm.add_ok_action(cw_actions.SnsAction(topic))
    return alarm
