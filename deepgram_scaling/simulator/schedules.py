"""When Application Auto Scaling scheduled actions fire: ``cron()``, ``rate()`` and ``at()``.

Cron has six fields, ``minutes hours day-of-month month day-of-week year``; day-of-week is
1-7 with 1 = Sunday, or ``SUN``-``SAT``; ``?`` means any; lists, ranges and ``/step`` are
supported. ``L`` and ``#`` are not, and are refused with the expression.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from ..errors import DeepgramScalingConfigError

_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}


class ScheduleError(DeepgramScalingConfigError):
    """A schedule expression the simulator does not read."""


def _field(text: str, low: int, high: int, names: dict[str, int], expression: str) -> set[int]:
    if text in ("*", "?"):
        return set(range(low, high + 1))
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = names.get(a) or int(a), names.get(b) or int(b)
        else:
            if not (part in names or part.isdigit()):
                raise ScheduleError(f"unsupported cron field {text!r} in {expression!r}")
            start = end = names.get(part) or int(part)
            if "/" in text:
                end = high
        values.update(range(start, end + 1, step))
    return values


def fire_times(expression: str, timezone: str | None, start: dt.datetime,
               end: dt.datetime) -> Iterator[dt.datetime]:
    """UTC times in ``[start, end)`` at which the schedule fires."""
    zone = ZoneInfo(timezone) if timezone else dt.timezone.utc
    expression = expression.strip()
    at = re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", expression)
    if at:
        local = dt.datetime.fromisoformat(at.group(1)).replace(tzinfo=zone)
        when = local.astimezone(dt.timezone.utc)
        if start <= when < end:
            yield when
        return
    rate = re.fullmatch(r"rate\((\d+) (minutes?|hours?|days?)\)", expression)
    if rate:
        unit = {"m": 60, "h": 3600, "d": 86400}[rate.group(2)[0]]
        every = dt.timedelta(seconds=int(rate.group(1)) * unit)
        when = start + every
        while when < end:
            yield when
            when += every
        return
    cron = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expression)
    if not cron:
        raise ScheduleError(f"cannot read schedule {expression!r}")
    if any(c in expression for c in "L#W"):
        raise ScheduleError(f"cron features L, W and # are not simulated: {expression!r}")
    minutes = _field(cron.group(1), 0, 59, {}, expression)
    hours = _field(cron.group(2), 0, 23, {}, expression)
    days = _field(cron.group(3), 1, 31, {}, expression)
    months = _field(cron.group(4), 1, 12, _MONTHS, expression)
    weekdays = _field(cron.group(5), 1, 7, _DAYS, expression)
    years = _field(cron.group(6), 1970, 2199, {}, expression)
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        sunday_first = (day.isoweekday() % 7) + 1  # Sunday=1 ... Saturday=7
        if (day.month in months and day.day in days and sunday_first in weekdays
                and day.year in years):
            for hour in sorted(hours):
                for minute in sorted(minutes):
                    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                    when = local.astimezone(dt.timezone.utc)
                    if start <= when < end:
                        yield when
        day += dt.timedelta(days=1)
