"""When Application Auto Scaling scheduled actions fire: ``cron()``, ``rate()`` and ``at()``.

An expression is first checked the way Application Auto Scaling checks it
(``schedule_expressions.py``, docs/aws-behaviour.md#schedule-expressions); a refused one
raises :class:`ScheduleError` with every problem. Then:

- ``at()`` fires once, at its local time in the action's time zone.
- ``rate()`` fires every N units from the start of the run; the time zone plays no part (it
  applies to ``at`` and ``cron`` only).
- ``cron()`` fires at each local minute its six fields allow, in the action's time zone:
  day-of-week 1-7 is Sunday-Saturday; ``L`` is the last day of the month (day-of-month) or
  Saturday (day-of-week alone), ``LW`` the last weekday of the month, ``15W`` the weekday
  nearest the 15th within the month, ``6L`` the month's last Friday, ``3#2`` its second
  Tuesday. A range whose start lies above its end wraps around (``FRI-MON``).

Times are converted to UTC with the IANA zone database (docs/aws-behaviour.md#schedule-time-zone).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import DeepgramScalingConfigError
from ..schedule_expressions import CRON_FIELDS, CronField, schedule_problems

_MINUTES, _HOURS, _DAY_OF_MONTH, _MONTH, _DAY_OF_WEEK, _YEAR = CRON_FIELDS
_DayTest = Callable[[dt.date], bool]


class ScheduleError(DeepgramScalingConfigError):
    """A schedule expression or time zone the simulator cannot run."""


def zone_of(timezone: str | None) -> dt.tzinfo:
    """The time zone of a scheduled action (UTC when none is given)."""
    if not timezone:
        return dt.timezone.utc
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"time zone {timezone!r} is not an IANA time zone name, such as "
                            "'Europe/Berlin' or 'America/New_York'") from None


def fire_times(expression: str, timezone: str | None, start: dt.datetime,
               end: dt.datetime, *, anchor: dt.datetime | None = None
               ) -> Iterator[dt.datetime]:
    """UTC times in ``[start, end)`` at which the schedule fires.

    :param anchor: Where ``rate()`` counts from (it fires one interval after it, then every
        interval). Default: ``start``.

    :raises ScheduleError: for an expression Application Auto Scaling refuses, or an unknown
        time zone.
    """
    problems = schedule_problems(expression)
    if problems:
        raise ScheduleError(problems)
    zone = zone_of(timezone)
    expression = expression.strip()
    if expression.startswith("at("):
        local = dt.datetime.fromisoformat(expression[3:-1]).replace(tzinfo=zone)
        when = local.astimezone(dt.timezone.utc)
        if start <= when < end:
            yield when
        return
    if expression.startswith("rate("):
        value, unit = expression[5:-1].split()
        every = dt.timedelta(seconds=int(value) * {"m": 60, "h": 3600, "d": 86400}[unit[0]])
        origin = start if anchor is None else anchor
        when = origin + every
        if when < start:  # the first firing at or after start
            when += every * -((origin + every - start) // every)
        while when < end:
            yield when
            when += every
        return
    yield from _cron_times(expression[5:-1].split(), zone, start, end)


def _cron_times(fields: list[str], zone: dt.tzinfo, start: dt.datetime,
                end: dt.datetime) -> Iterator[dt.datetime]:
    minutes = sorted(_values(_MINUTES, fields[0]))
    hours = sorted(_values(_HOURS, fields[1]))
    months = _values(_MONTH, fields[3])
    years = _values(_YEAR, fields[5])
    on_day = _day_of_week_test(fields[4]) if fields[2] == "?" \
        else _day_of_month_test(fields[2])
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if day.month in months and day.year in years and on_day(day):
            for hour in hours:
                for minute in minutes:
                    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    when = local.astimezone(dt.timezone.utc)
                    if start <= when < end:
                        yield when
        day += dt.timedelta(days=1)


def _values(field: CronField, text: str) -> set[int]:
    """The numbers a field of plain values, ranges, lists, ``*`` and ``/`` steps allows."""
    if text in ("*", "?"):
        return set(range(field.low, field.high + 1))
    values: set[int] = set()
    for part in text.split(","):
        part, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if part == "*":
            first, last = field.low, field.high
        elif "-" in part:
            a, b = part.split("-")
            first, last = _number(field, a), _number(field, b)
        else:
            first = _number(field, part)
            last = field.high if step_text else first
        if first <= last:
            values.update(range(first, last + 1, step))
        else:  # a range that wraps around the end of the field
            span = field.high - field.low + 1
            values.update(field.low + (first - field.low + i) % span
                          for i in range(0, last - first + span + 1, step))
    return values


def _number(field: CronField, text: str) -> int:
    number = field.value(text)
    assert number is not None  # schedule_problems has checked the field
    return number


def _sunday_first(day: dt.date) -> int:
    """Day of the week as cron numbers it: Sunday 1 ... Saturday 7."""
    return day.isoweekday() % 7 + 1


def _last_day(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: dt.date, target: int) -> int | None:
    """The day of ``day``'s month that is the weekday nearest the ``target``-th, within the
    month; None when the month is shorter than ``target``."""
    last = _last_day(day)
    if target > last:
        return None
    wanted = day.replace(day=target)
    if wanted.weekday() == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return target - 1 if target > 1 else target + 2
    if wanted.weekday() == 6:  # Sunday: the Monday after, or the Friday before at month end
        return target + 1 if target < last else target - 2
    return target


def _day_of_month_test(text: str) -> _DayTest:
    upper = text.upper()
    if upper == "L":
        return lambda day: day.day == _last_day(day)
    if upper == "LW":
        return lambda day: day.day == _nearest_weekday(day, _last_day(day))
    if upper.endswith("W"):
        target = int(upper[:-1])
        return lambda day: day.day == _nearest_weekday(day, target)
    days = _values(_DAY_OF_MONTH, text)
    return lambda day: day.day in days


def _day_of_week_test(text: str) -> _DayTest:
    upper = text.upper()
    if upper == "L":
        return lambda day: _sunday_first(day) == 7
    nth = re.fullmatch(r"(\w+)#(\d)", upper)
    if nth:
        weekday, occurrence = _number(_DAY_OF_WEEK, nth.group(1)), int(nth.group(2))
        return lambda day: (_sunday_first(day) == weekday
                            and (day.day - 1) // 7 + 1 == occurrence)
    if upper.endswith("L"):
        weekday = _number(_DAY_OF_WEEK, text[:-1])
        return lambda day: (_sunday_first(day) == weekday
                            and day.day + 7 > _last_day(day))
    weekdays = _values(_DAY_OF_WEEK, text)
    return lambda day: _sunday_first(day) in weekdays
