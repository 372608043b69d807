"""The dashboard period rule (deepgram_scaling.dashboard.check_dashboard_period): a multiple
of 60 s, or 10, 20 or 30 s for a high-resolution signal; one problem per bad period."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import Duration

from deepgram_scaling._validation import Problems
from deepgram_scaling.dashboard import check_dashboard_period
from deepgram_scaling.errors import DeepgramScalingConfigError


def _messages(period: object, *, high_resolution: bool) -> list[str]:
    problems = Problems()
    check_dashboard_period(problems, period, high_resolution=high_resolution)
    if not problems:
        return []
    with pytest.raises(DeepgramScalingConfigError) as error:
        problems.raise_if_any()
    return [str(error.value)]


@pytest.mark.parametrize(("seconds", "high_resolution"), [(60, False), (300, False),
                                                          (10, True), (30, True)])
def test_a_minute_multiple_or_a_sub_minute_period_on_a_fast_signal_passes(seconds,
                                                                           high_resolution):
    assert _messages(Duration.seconds(seconds), high_resolution=high_resolution) == []


def test_a_sub_minute_period_on_a_per_minute_signal_is_refused_with_what_is_valid():
    (message,) = _messages(Duration.seconds(30), high_resolution=False)
    assert "period must be a multiple of 60 s, got 30 seconds" in message
    (message,) = _messages(Duration.seconds(45), high_resolution=True)
    assert "period must be a multiple of 60 s, or 10, 20 or 30 s" in message


def test_a_period_that_is_not_a_duration_is_one_problem_not_two():
    # Given a plain number where a Duration is expected
    (message,) = _messages(60, high_resolution=False)
    # Then the duration check reports it, and the period rule adds nothing more
    assert "period" in message and "multiple of" not in message


def test_a_period_known_only_at_deploy_time_is_not_checked():
    # Given a Duration from a parameter (a token)
    stack = cdk.Stack(cdk.App(), "Periods")
    seconds = cdk.CfnParameter(stack, "PeriodSeconds", type="Number").value_as_number
    # Then the rule leaves it to CloudWatch
    assert _messages(Duration.seconds(seconds), high_resolution=False) == []
