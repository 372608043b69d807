"""Which schedule expressions Application Auto Scaling accepts: ``at()``, ``rate()``, ``cron()``.

Pure functions, no CDK: the constructs, the simulator and ``deepgram-scaling check`` share
them (docs/aws-behaviour.md#schedule-expressions).

Application Auto Scaling's cron has six fields, ``minutes hours day-of-month month
day-of-week year``, with the ranges and wildcards of EventBridge's cron reference:

============  ================  ==================
field         values            wildcards
============  ================  ==================
minutes       0-59              ``, - * /``
hours         0-23              ``, - * /``
day-of-month  1-31              ``, - * ? / L W``
month         1-12 or JAN-DEC   ``, - * /``
day-of-week   1-7 or SUN-SAT    ``, - * ? L #``
year          1970-2199         ``, - * /``
============  ================  ==================

Exactly one of day-of-month and day-of-week is ``?``. ``rate(value unit)`` takes a positive
whole value and a unit of minute(s), hour(s) or day(s). ``at(yyyy-mm-ddThh:mm:ss)`` is one
instant.

:func:`schedule_problems` refuses what a source says Application Auto Scaling rejects;
:func:`schedule_warnings` names what only EventBridge's or Quartz's rules question, unconfirmed
for Application Auto Scaling: a singular unit above 1 or a plural one for 1 in ``rate()``
(EventBridge's rule), and ``W`` or ``L`` inside a list (Quartz's rule).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

__all__ = ["CRON_FIELDS", "CronField", "schedule_problems", "schedule_warnings"]


@dataclasses.dataclass(frozen=True)
class CronField:
    """One field of a cron expression: its name, range, names and the wildcards it takes."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    #: Wildcards beyond ``, - *`` that the field takes.
    extra: str = ""

    def value(self, text: str) -> int | None:
        """The number a single value stands for, or None when it is not one."""
        upper = text.upper()
        if upper in self.names:
            return self.low + self.names.index(upper)
        return int(text) if text.isdigit() else None

    @property
    def valid(self) -> str:
        """The values the field takes, as the messages say them."""
        names = f" or {self.names[0]}-{self.names[-1]}" if self.names else ""
        return f"{self.low}-{self.high}{names}"


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

#: The six fields, in order (docs/aws-behaviour.md#schedule-expressions).
CRON_FIELDS: tuple[CronField, ...] = (
    CronField("minutes", 0, 59, extra="/"),
    CronField("hours", 0, 23, extra="/"),
    CronField("day-of-month", 1, 31, extra="?/LW"),
    CronField("month", 1, 12, _MONTHS, extra="/"),
    CronField("day-of-week", 1, 7, _DAYS, extra="?L#"),
    CronField("year", 1970, 2199, extra="/"),
)

_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_RATE = re.compile(r"rate\((\S+) (\S+)\)")
_UNITS = ("minute", "hour", "day")
_VALID = ("'cron(minutes hours day-of-month month day-of-week year)', "
          "'rate(N minutes|hours|days)' or 'at(yyyy-mm-ddThh:mm:ss)'")


def schedule_problems(expression: str) -> list[str]:
    """What Application Auto Scaling would refuse in a schedule expression.

    :param expression: ``cron(...)``, ``rate(...)`` or ``at(...)``, as given to
        ``PutScheduledAction``'s ``Schedule``.
    :returns: One lowercase sentence per problem, each quoting the expression and saying
        what is valid; empty when the expression is valid.
    """
    text = expression.strip()
    if text.startswith("cron(") and text.endswith(")"):
        return _cron_problems(text)
    if text.startswith("rate(") and text.endswith(")"):
        return _rate_problems(text)
    if text.startswith("at(") and text.endswith(")"):
        return _at_problems(text)
    return [f"{text!r} is not a schedule expression: use {_VALID}"]


def _at_problems(text: str) -> list[str]:
    match = _AT.fullmatch(text)
    if not match:
        return [f"{text!r} must be 'at(yyyy-mm-ddThh:mm:ss)', such as 'at(2026-03-01T08:00:00)'"]
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        dt.datetime(year, month, day, hour, minute, second)
    except ValueError as error:
        return [f"{text!r} is not a date and time ({error}): use 'at(yyyy-mm-ddThh:mm:ss)' "
                "with a real calendar date and a time from 00:00:00 to 23:59:59"]
    return []


def _rate_problems(text: str) -> list[str]:
    match = _RATE.fullmatch(text)
    if not match:
        return [f"{text!r} must be 'rate(value unit)' with one space, such as "
                "'rate(5 minutes)' or 'rate(1 hour)'"]
    value, unit = match.groups()
    if not value.isdigit() or int(value) < 1:
        return [f"{text!r} must have a positive whole number of units, got {value!r}"]
    wanted = unit if unit in _UNITS else unit[:-1] if unit.endswith("s") else unit
    if wanted not in _UNITS:
        return [f"{text!r} must have a unit of minute(s), hour(s) or day(s), got {unit!r}"]
    return []


def schedule_warnings(expression: str) -> list[str]:
    """What Application Auto Scaling may refuse in an expression :func:`schedule_problems`
    accepts: rules of EventBridge or Quartz that no Application Auto Scaling source states
    (docs/aws-behaviour.md#schedule-expressions).

    :param expression: As for :func:`schedule_problems`.
    :returns: One lowercase sentence per doubt, each quoting the expression and saying what
        is certain to be accepted; empty when there is none (or the expression is invalid).
    """
    text = expression.strip()
    if schedule_problems(text):
        return []
    if text.startswith("rate("):
        match = _RATE.fullmatch(text)
        assert match is not None  # schedule_problems has checked it
        value, unit = match.groups()
        base = unit.removesuffix("s")
        right = base if int(value) == 1 else f"{base}s"
        if unit != right:
            return [f"{text!r} says {unit!r} for a value of {value}: EventBridge wants a "
                    "singular unit for 1 and a plural one above, and Application Auto "
                    "Scaling's reference does not say whether it does too; write "
                    f"'rate({value} {right})' to be sure"]
        return []
    if not text.startswith("cron("):
        return []
    fields = text[len("cron("):-1].split()
    warnings = []
    # Day-of-month: 15W, L, LW; day-of-week: L, 6L (no day name ends in L).
    for field, value, marked in ((CRON_FIELDS[2], fields[2], ("W", "L")),
                                 (CRON_FIELDS[4], fields[4], ("L",))):
        parts = value.upper().split(",")
        if len(parts) > 1 and any(part.endswith(marked) for part in parts):
            warnings.append(
                f"{text!r} has 'W' or 'L' inside a list in {field.name} ({value!r}): the "
                "Quartz cron rules AWS's cron follows allow them only on a single day, and "
                "no AWS page says whether Application Auto Scaling accepts the list; use a "
                "separate scheduled action per day to be sure")
    return warnings


def _cron_problems(text: str) -> list[str]:
    fields = text[len("cron("):-1].split()
    if len(fields) != len(CRON_FIELDS):
        return [f"{text!r} must have six fields, minutes hours day-of-month month "
                f"day-of-week year (such as 'cron(0 8 ? * MON-FRI *)'), got {len(fields)}"]
    problems: list[str] = []
    for field, value in zip(CRON_FIELDS, fields, strict=True):
        problems.extend(_field_problems(text, field, value))
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        problems.append(
            f"{text!r} must have '?' in exactly one of day-of-month and day-of-week (the "
            f"other gives the days), got {day_of_month!r} and {day_of_week!r}; for every day "
            "use '* ... ?', such as 'cron(0 8 * * ? *)'")
    return problems


def _field_problems(text: str, field: CronField, value: str) -> list[str]:
    if value in ("*", "?"):
        if value == "?" and "?" not in field.extra:
            return [f"{text!r} may use '?' only in day-of-month or day-of-week, not in "
                    f"{field.name}"]
        return []
    if "#" in value and "," in value:
        return [f"{text!r} may have only one expression in day-of-week when it uses '#', "
                f"got {value!r}"]
    problems: list[str] = []
    for part in value.split(","):
        problem = _part_problem(field, part)
        if problem:
            problems.append(f"{text!r} has {field.name} {part!r}: {problem}")
    return problems


def _part_problem(field: CronField, part: str) -> str | None:
    """What is wrong with one comma-separated part of a field, or None."""
    plain = f"valid {field.name}: {field.valid}, ranges a-b, lists a,b and '*'"
    if "/" in part:
        if "/" not in field.extra:
            return f"{field.name} takes no '/' increments; {plain}"
        start, _, step = part.partition("/")
        if not step.isdigit() or int(step) < 1:
            return "the increment after '/' must be a positive whole number"
        if start == "*":
            return None
        return _range_problem(field, start, plain)
    if "L" in part.upper() and field.name == "day-of-month":
        if part.upper() in ("L", "LW"):
            return None
        return f"'L' stands alone ('L', last day of the month, or 'LW', last weekday); {plain}"
    if field.name == "day-of-month" and part.upper().endswith("W"):
        day = field.value(part[:-1])
        if day is None or not field.low <= day <= field.high:
            return f"'W' follows one day of the month (such as '15W'); {plain}"
        return None
    if field.name == "day-of-week" and part.upper().endswith("L") and part.upper() != "L":
        day = field.value(part[:-1])
        if day is None or not field.low <= day <= field.high:
            return f"'L' follows one day of the week (such as '6L', last Friday); {plain}"
        return None
    if field.name == "day-of-week" and part.upper() == "L":
        return None
    if "#" in part:
        if "#" not in field.extra:
            return f"'#' belongs to day-of-week only; {plain}"
        day_text, _, nth = part.partition("#")
        day = field.value(day_text)
        if day is None or not field.low <= day <= field.high or not nth.isdigit() \
                or not 1 <= int(nth) <= 5:
            return "'#' takes a day of the week and its occurrence 1-5 in the month (such as " \
                   "'3#2', the second Tuesday)"
        return None
    return _range_problem(field, part, plain)


def _range_problem(field: CronField, part: str, plain: str) -> str | None:
    ends = part.split("-")
    if len(ends) > 2 or not all(ends):
        return plain
    for end in ends:
        number = field.value(end)
        if number is None:
            return plain
        if not field.low <= number <= field.high:
            return f"{end} is out of range; {plain}"
    return None
