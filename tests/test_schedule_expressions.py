"""Schedule expressions Application Auto Scaling accepts and refuses, without the CDK."""

from __future__ import annotations

import ast
import inspect
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deepgram_scaling import schedule_expressions
from deepgram_scaling.schedule_expressions import (
    CRON_FIELDS,
    schedule_problems,
    schedule_warnings,
)


@pytest.mark.parametrize("expression", [
    "cron(0 8 ? * MON-FRI *)",
    "cron(30 6 ? * MON *)",
    "cron(0 8 * * ? *)",
    "cron(0/15 * * * ? *)",
    "cron(*/5 9-17 ? * 2-6 *)",
    "cron(0 8 1,15 JAN-MAR ? 2026-2027)",
    "cron(0 9 L * ? *)",
    "cron(0 9 LW * ? *)",
    "cron(0 9 15W * ? *)",
    "cron(0 9 ? * 6L *)",
    "cron(0 9 ? * 3#2 *)",
    "cron(0 9 ? * mon-fri *)",
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(2 days)",
    "at(2026-03-01T08:00:00)",
    "  cron(0 8 ? * MON-FRI *)  ",
])
def test_valid_expressions_have_no_problems(expression: str) -> None:
    # given an expression AWS's syntax allows / when it is checked / then nothing is wrong
    assert schedule_problems(expression) == []


@pytest.mark.parametrize(("expression", "says"), [
    ("rate(1 hours)", r"says 'hours' for a value of 1: EventBridge wants a singular unit.*"
                      r"write 'rate\(1 hour\)' to be sure"),
    ("rate(5 hour)", r"says 'hour' for a value of 5.*'rate\(5 hours\)'"),
    ("rate(1 minutes)", r"'rate\(1 minute\)'"),
    ("cron(0 8 1W,15 * ? *)", r"'W' or 'L' inside a list in day-of-month \('1W,15'\): the "
                              r"Quartz cron rules"),
    ("cron(0 8 L,15 * ? *)", r"inside a list in day-of-month"),
    ("cron(0 8 ? * SUN,L *)", r"inside a list in day-of-week \('SUN,L'\)"),
])
def test_what_only_eventbridge_or_quartz_refuse_is_a_warning(expression: str, says: str) -> None:
    # given an expression AWS's Application Auto Scaling reference does not rule on
    # when it is checked
    problems, warnings = schedule_problems(expression), schedule_warnings(expression)
    # then it is not refused, but one warning names the doubt and the sure form
    assert problems == []
    assert len(warnings) == 1 and re.search(says, warnings[0]), warnings


@pytest.mark.parametrize("expression", [
    "rate(1 hour)", "rate(5 hours)", "cron(0 8 ? * MON,WED *)", "cron(0 8 15W * ? *)",
    "cron(0 8 ? * 6L *)", "cron(0 8 1,15 * ? *)", "cron(0 25 ? * * *)", "at(2026-03-01T08:00:00)",
])
def test_sure_or_refused_expressions_have_no_warning(expression: str) -> None:
    assert schedule_warnings(expression) == []


@pytest.mark.parametrize(("expression", "says"), [
    ("cron(0 8 * * *)", r"must have six fields.*got 5"),
    ("cron(0 8 * * ? * *)", r"must have six fields.*got 7"),
    ("cron(0 8 * * * *)", r"'\?' in exactly one of day-of-month and day-of-week"),
    ("cron(0 8 1 * MON *)", r"'\?' in exactly one of day-of-month and day-of-week"),
    ("cron(0 8 ? * ? *)", r"'\?' in exactly one"),
    ("cron(0 25 * * ? *)", r"has hours '25': 25 is out of range; valid hours: 0-23"),
    ("cron(60 8 * * ? *)", r"has minutes '60'.*valid minutes: 0-59"),
    ("cron(0 8 32 * ? *)", r"has day-of-month '32'.*1-31"),
    ("cron(0 8 0 * ? *)", r"has day-of-month '0'.*1-31"),
    ("cron(0 8 ? 13 * *)", r"has month '13'.*1-12 or JAN-DEC"),
    ("cron(0 8 ? FOO * *)", r"has month 'FOO'.*1-12 or JAN-DEC"),
    ("cron(0 8 ? * 8 *)", r"has day-of-week '8'.*1-7 or SUN-SAT"),
    ("cron(0 8 ? * 0 *)", r"has day-of-week '0'.*1-7 or SUN-SAT"),
    ("cron(0 8 * * ? 1969)", r"has year '1969'.*1970-2199"),
    ("cron(0 8 * * ? 2200)", r"has year '2200'"),
    ("cron(? 8 * * ? *)", r"'\?' only in day-of-month or day-of-week, not in minutes"),
    ("cron(0 8/0 * * ? *)", r"increment after '/' must be a positive whole number"),
    ("cron(0 8 ? * */2 *)", r"day-of-week takes no '/' increments"),
    ("cron(0 8 ? * 3#6 *)", r"'#' takes a day of the week and its occurrence 1-5"),
    ("cron(0 8 ? * 3#2,4 *)", r"only one expression in day-of-week when it uses '#'"),
    ("cron(0 8 1#2 * ? *)", r"'#' belongs to day-of-week only"),
    ("cron(0 8 32W * ? *)", r"'W' follows one day of the month"),
    ("cron(0 8 L3 * ? *)", r"'L' stands alone"),
    ("cron(0 8 ? * 9L *)", r"'L' follows one day of the week"),
    ("cron(0 8-  * * ? *)", r"has hours '8-'"),
    ("rate(0 minutes)", r"positive whole number of units, got '0'"),
    ("rate(5 weeks)", r"unit of minute\(s\), hour\(s\) or day\(s\), got 'weeks'"),
    ("rate(5minutes)", r"must be 'rate\(value unit\)'"),
    ("at(2026-02-30T08:00:00)", r"is not a date and time"),
    ("at(2026-03-01T24:00:00)", r"is not a date and time"),
    ("at(2026-03-01 08:00:00)", r"must be 'at\(yyyy-mm-ddThh:mm:ss\)'"),
    ("every weekday at 8", r"is not a schedule expression: use 'cron\("),
])
def test_invalid_expressions_are_named(expression: str, says: str) -> None:
    # given an expression Application Auto Scaling refuses
    # when it is checked
    problems = schedule_problems(expression)
    # then each problem quotes the expression and says what is valid
    assert problems, expression
    assert any(re.search(says, p) for p in problems), problems
    for problem in problems:
        assert problem.startswith(repr(expression.strip()))


def test_every_out_of_range_field_is_reported_at_once() -> None:
    # given two fields out of range / when checked / then both are named
    problems = schedule_problems("cron(61 25 * * ? *)")
    assert [p.split(" has ")[1].split(":")[0] for p in problems] == \
        ["minutes '61'", "hours '25'"]


@given(st.integers(0, 59), st.integers(0, 23), st.integers(1, 31), st.integers(1, 12),
       st.integers(1970, 2199))
def test_any_in_range_cron_is_valid(minute: int, hour: int, day: int, month: int,
                                    year: int) -> None:
    # given values inside each field's documented range / then the expression is valid
    assert schedule_problems(f"cron({minute} {hour} {day} {month} ? {year})") == []


@given(st.sampled_from(range(6)), st.integers(-5, 3000))
def test_a_value_outside_a_field_range_is_refused(index: int, value: int) -> None:
    # given one field set to a number / when checked / then it is refused exactly when it is
    # outside that field's range
    field = CRON_FIELDS[index]
    fields = ["0", "8", "*", "*", "?", "*"]
    fields[index] = str(value)
    if index in (2, 4):  # a day field given a value needs '?' in the other
        fields[6 - index] = "?"
    problems = schedule_problems(f"cron({' '.join(fields)})")
    inside = field.low <= value <= field.high
    assert (problems == []) == inside, problems


def test_the_module_does_not_import_the_cdk() -> None:
    # given the module's source / then it imports nothing from aws_cdk (the checker and the
    # simulator use it without synthesizing)
    tree = ast.parse(inspect.getsource(schedule_expressions))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("aws_cdk") for name in imported)


def test_check_warns_on_a_doubt_and_refuses_a_fault() -> None:
    # given a template whose scalable target holds one doubtful and one faulty schedule
    from deepgram_scaling.checks.rules import schedule_expression

    template = {"Resources": {"Target": {
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Properties": {"ScheduledActions": [
            {"ScheduledActionName": "Doubt", "Schedule": "rate(1 hours)"},
            {"ScheduledActionName": "Fault", "Schedule": "cron(0 25 ? * * *)"},
            {"ScheduledActionName": "Sure", "Schedule": "rate(1 hour)"}]}}}}

    # when deepgram-scaling check's rule judges it
    findings = schedule_expression(template)

    # then the doubt is a warning and the fault an error, each naming its action
    assert sorted((f.level, f.message.split(":")[0]) for f in findings) == [
        ("error", "scheduled action Fault"), ("warning", "scheduled action Doubt")]
