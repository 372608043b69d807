"""When the simulator fires a scheduled action (``simulator/schedules.py``): the edges of the
cron fields that the run tests in ``test_simulator_mechanics.py`` do not reach: step values,
ranges that wrap around, ``W`` next to a month's start or past its end, ``L`` alone in the
day-of-week field, and an ``at()`` outside the simulated window.

Calendar used below: 2026-03-02 is a Monday; August 2026 starts on a Saturday (so the 15th
is a Saturday too); February 2026 has 28 days; 2026-03-30 is a Monday."""

from __future__ import annotations

import datetime as dt

import pytest

from deepgram_scaling.simulator.schedules import ScheduleError, fire_times, zone_of

UTC = dt.timezone.utc


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def fired(expression: str, start: dt.datetime, end: dt.datetime,
          timezone: str | None = None) -> list[dt.datetime]:
    return list(fire_times(expression, timezone, start, end))


def test_a_minute_step_from_star_fires_every_step_of_the_hour():
    # given every 15 minutes of 09:00 UTC, over one day
    # when the firings are listed, then they are the four quarter hours
    assert fired("cron(*/15 9 * * ? *)", utc(2026, 3, 2), utc(2026, 3, 3)) == [
        utc(2026, 3, 2, 9, 0), utc(2026, 3, 2, 9, 15), utc(2026, 3, 2, 9, 30),
        utc(2026, 3, 2, 9, 45)]


def test_a_minute_step_from_a_value_runs_to_the_end_of_the_field():
    # given 50/5: minute 50, then every 5 minutes to the end of the hour
    assert fired("cron(50/5 9 * * ? *)", utc(2026, 3, 2), utc(2026, 3, 3)) == [
        utc(2026, 3, 2, 9, 50), utc(2026, 3, 2, 9, 55)]


def test_a_weekday_range_wraps_around_the_end_of_the_week():
    # given FRI-MON at noon over one week from Monday 2 March
    days = [when.day for when in fired("cron(0 12 ? * FRI-MON *)", utc(2026, 3, 2),
                                       utc(2026, 3, 9))]

    # then it fires Monday, then Friday to Sunday, and not Tuesday to Thursday
    assert days == [2, 6, 7, 8]


def test_an_hour_range_wraps_around_midnight():
    # given 22-1 (22:00 to 01:00) over one day and a half
    hours = [(when.day, when.hour) for when in fired("cron(0 22-1 * * ? *)", utc(2026, 3, 2),
                                                      utc(2026, 3, 3, 12))]

    # then the firings run through midnight
    assert hours == [(2, 0), (2, 1), (2, 22), (2, 23), (3, 0), (3, 1)]


def test_w_past_the_end_of_a_short_month_never_fires_in_it():
    # given the weekday nearest the 30th, over February and March
    when = fired("cron(0 9 30W * ? *)", utc(2026, 2, 1), utc(2026, 4, 1))

    # then February (28 days) has no firing and March fires on Monday the 30th
    assert when == [utc(2026, 3, 30, 9)]


def test_w_on_a_saturday_the_first_moves_forward_to_monday():
    # given 1W in August 2026, whose 1st is a Saturday
    # then it fires on Monday the 3rd: the Friday before would leave the month
    assert fired("cron(0 9 1W * ? *)", utc(2026, 8, 1), utc(2026, 9, 1)) == [
        utc(2026, 8, 3, 9)]


def test_w_on_a_saturday_inside_the_month_moves_back_to_friday():
    # given 15W in August 2026, whose 15th is a Saturday
    assert fired("cron(0 9 15W * ? *)", utc(2026, 8, 1), utc(2026, 9, 1)) == [
        utc(2026, 8, 14, 9)]


def test_l_alone_in_the_day_of_week_is_saturday():
    # given L as the day of the week over one week from Monday 2 March
    # then it fires once, on Saturday the 7th
    assert fired("cron(0 12 ? * L *)", utc(2026, 3, 2), utc(2026, 3, 9)) == [
        utc(2026, 3, 7, 12)]


def test_at_outside_the_window_never_fires():
    # given a one-time action three days after the simulated day
    # then nothing fires, while the same action inside the window fires at its local time
    assert fired("at(2026-03-05T10:00:00)", utc(2026, 3, 2), utc(2026, 3, 3)) == []
    assert fired("at(2026-03-05T10:00:00)", utc(2026, 3, 2), utc(2026, 3, 6),
                 "Europe/Berlin") == [utc(2026, 3, 5, 9)]


def test_a_rate_fires_one_interval_after_its_anchor_within_the_window():
    # given a 6-hour rate anchored a day before the window
    anchor = utc(2026, 3, 1, 3)
    when = list(fire_times("rate(6 hours)", None, utc(2026, 3, 2), utc(2026, 3, 3),
                           anchor=anchor))

    # then it keeps the anchor's grid (03:00, 09:00, ...) inside the window
    assert when == [utc(2026, 3, 2, 3), utc(2026, 3, 2, 9), utc(2026, 3, 2, 15),
                    utc(2026, 3, 2, 21)]


def test_no_time_zone_is_utc_and_an_unknown_one_is_named():
    # given no time zone, then times are UTC
    assert zone_of(None) is UTC
    assert zone_of("") is UTC
    # given a name outside the IANA database, then the error echoes it
    with pytest.raises(ScheduleError, match=r"time zone 'Mars/Olympus' is not an IANA"):
        zone_of("Mars/Olympus")


def test_an_expression_application_auto_scaling_refuses_is_refused():
    # given a cron expression with both day fields set
    # when its firings are asked for, then the error is raised before any firing
    with pytest.raises(ScheduleError):
        fired("cron(0 9 1 * MON *)", utc(2026, 3, 2), utc(2026, 3, 3))


@pytest.mark.parametrize(("day_of_month", "month", "expected_day"), [
    ("L", 2, 28),  # the last day of a 28-day February
    ("LW", 1, 30),  # January 2026 ends on a Saturday: its last weekday is Friday the 30th
    ("31W", 5, 29),  # May 31st 2026 is a Sunday at the month's end: the Friday before
    ("1W", 2, 2),  # February 1st 2026 is a Sunday: the Monday after
])
def test_last_day_and_nearest_weekday_stay_within_the_month(day_of_month, month, expected_day):
    # given one of the day-of-month wildcards, over one month
    start, end = utc(2026, month, 1), utc(2026, month + 1, 1)

    # when the firings are listed, then there is one, on the expected day
    assert fired(f"cron(0 9 {day_of_month} * ? *)", start, end) == [
        utc(2026, month, expected_day, 9)]


@pytest.mark.parametrize(("day_of_week", "expected_day"), [
    ("6L", 27),  # the last Friday of March 2026
    ("3#2", 10),  # its second Tuesday
    ("TUE#2", 10),  # the same, by name
])
def test_last_and_nth_weekday_of_the_month(day_of_week, expected_day):
    assert fired(f"cron(0 9 ? * {day_of_week} *)", utc(2026, 3, 1), utc(2026, 4, 1)) == [
        utc(2026, 3, expected_day, 9)]


def test_a_rate_without_an_anchor_counts_from_the_start_of_the_run():
    # given a 30-minute rate over two hours, counted from the run's start
    # then it first fires one interval in, and not at the (excluded) end
    assert fired("rate(30 minutes)", utc(2026, 3, 2), utc(2026, 3, 2, 2)) == [
        utc(2026, 3, 2, 0, 30), utc(2026, 3, 2, 1), utc(2026, 3, 2, 1, 30)]
