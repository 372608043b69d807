"""_validation, pure: the Problems collector, its typed checks, and token detection."""

from __future__ import annotations

import math

import aws_cdk as cdk
import pytest

from deepgram_scaling import DeepgramScalingConfigError
from deepgram_scaling._validation import Problems, fmt, is_token, seconds_of


def messages(problems: Problems) -> list[str]:
    with pytest.raises(DeepgramScalingConfigError) as info:
        problems.raise_if_any()
    return list(info.value.problems)


def test_problems_collect_then_raise_once_with_the_construct_path():
    problems = Problems("Speech/Streaming")
    assert not problems and len(problems) == 0
    problems.raise_if_any()  # nothing yet: no error
    problems.add("a must be 1, got 2")
    other = Problems()
    other.add("b must be 3, got 4")
    problems.extend(other)
    assert len(problems) == 2 and problems
    assert messages(problems) == ["Speech/Streaming: a must be 1, got 2",
                                  "Speech/Streaming: b must be 3, got 4"]
    assert messages(other) == ["b must be 3, got 4"]


def test_rules_run_in_order_and_raise_once():
    seen: list[str] = []

    def first(problems: Problems) -> None:
        seen.append("first")
        problems.add("first")

    def second(problems: Problems) -> None:
        seen.append("second")

    with pytest.raises(DeepgramScalingConfigError) as info:
        Problems().run(first, second)
    assert seen == ["first", "second"] and list(info.value.problems) == ["first"]
    Problems().run(second)  # clean: no error


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    ("3", {}, "n must be a number, got '3'"),
    (True, {"integer": True}, "n must be a whole number, got True"),
    (None, {}, "n must be a number, got None"),
    (math.nan, {}, "n must be a finite number, got nan"),
    (math.inf, {"integer": True}, "n must be a whole number, got inf"),
    (1.5, {"integer": True}, "n must be a whole number, got 1.5"),
    (0, {"minimum": 1}, "n must be >= 1, got 0"),
    (1, {"minimum": 1, "exclusive_minimum": True}, "n must be > 1, got 1"),
    (0, {"minimum": 0, "maximum": 1, "exclusive_minimum": True}, "n must be > 0 and <= 1, got 0"),
    (7, {"minimum": 1, "maximum": 5}, "n must be between 1 and 5, got 7"),
    (0.5, {"minimum": 1, "maximum": 5}, "n must be between 1 and 5, got 0.5"),
    (6, {"maximum": 5}, "n must be <= 5, got 6"),
    (6, {"maximum": 5.5}, "n must be <= 5.5, got 6"),
    (9, {"maximum": 5, "why": "(the limit)"}, "n must be <= 5 (the limit), got 9"),
])
def test_number_checks_name_the_prop_echo_the_value_and_give_the_range(value, kwargs, message):
    problems = Problems()
    assert problems.number("n", value, **kwargs) is False
    assert messages(problems) == [message]


@pytest.mark.parametrize(("value", "kwargs"), [
    (1, {"minimum": 1}), (5, {"minimum": 1, "maximum": 5}), (0.1, {"minimum": 0, "exclusive_minimum": True}),
    (3, {"integer": True}), (3.0, {"integer": True}), (-2.5, {}),
])
def test_numbers_in_range_pass(value, kwargs):
    problems = Problems()
    assert problems.number("n", value, **kwargs) is True
    assert not problems


@pytest.mark.parametrize(("value", "kwargs", "message"), [
    (60, {}, "d must be an aws_cdk.Duration, got 60"),
    (cdk.Duration.millis(1500), {}, "d must be a whole number of seconds, got 1 second 500 millis"),
    (cdk.Duration.seconds(30), {"minimum_s": 60}, "d must be >= 60 seconds, got 30 seconds"),
    (cdk.Duration.hours(2), {"minimum_s": 60, "maximum_s": 3600, "why": "(API)"},
     "d must be between 60 and 3600 seconds (API), got 2 hours"),
])
def test_duration_checks(value, kwargs, message):
    problems = Problems()
    assert problems.duration("d", value, **kwargs) is False
    assert messages(problems) == [message]


def test_durations_in_range_and_tokens_pass():
    problems = Problems()
    assert problems.duration("d", cdk.Duration.seconds(60), minimum_s=60, maximum_s=60)
    assert problems.duration("d", cdk.Duration.seconds(0))
    token = cdk.Token.as_number(cdk.Fn.ref("Seconds"))
    assert problems.duration("d", cdk.Duration.seconds(token), minimum_s=60)
    assert problems.number("n", token, minimum=1, integer=True)
    assert not problems


def test_tokens_are_recognised_without_mistaking_plain_values():
    assert is_token(cdk.Fn.ref("Name"))
    assert is_token(cdk.Token.as_number(cdk.Fn.ref("Count")))
    assert is_token(cdk.Token.as_list(cdk.Fn.ref("Subnets")))
    assert is_token(cdk.Fn.ref("Name").__class__) is False
    for plain in (None, True, 0, 7, -3.5, math.nan, math.inf, "Token", "plain", ["a"], {"a": 1}):
        assert is_token(plain) is False, plain


def test_values_are_echoed_as_the_user_wrote_them():
    assert fmt(cdk.Duration.minutes(2)) == "2 minutes"
    assert fmt("x") == "'x'" and fmt(3) == "3"
    assert fmt(cdk.Duration.seconds(cdk.Token.as_number(cdk.Fn.ref("S")))) == "<token>"
    assert seconds_of(cdk.Duration.minutes(2)) == 120
