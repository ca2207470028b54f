"""``cycle.schedule``: whether a company's cycle is due at an instant. Pure: no database.

Calendar facts used below: 01/04/2026 is a Wednesday, 04/04 a Saturday, 06/04/2026 is
Easter Monday (Pasquetta, a public holiday in Italy), 25/04 Liberation Day (a Saturday in
2026). Europe/Rome is UTC+1 in winter and UTC+2 from 29/03/2026 (clocks go from 02:00 to
03:00) to 25/10/2026 (from 03:00 back to 02:00).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.core.calendar import WorkingCalendar
from incassa.cycle.schedule import (
    Schedule,
    ScheduleError,
    decide,
    is_due,
    local_day,
    next_run,
    parse_weekdays,
)

UTC = dt.UTC
ROME = ZoneInfo("Europe/Rome")
WORKDAYS = frozenset(range(5))
DEFAULT = Schedule(at=dt.time(7, 0), time_zone="Europe/Rome", weekdays=WORKDAYS)
ITALY = WorkingCalendar(country="IT")


def italian_holiday(day: dt.date) -> str | None:
    return ITALY.holiday(day)


def rome(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ROME)


# --- single cases worked out by hand ------------------------------------------------------


def test_due_from_the_time_on_for_the_rest_of_the_day():
    # Wednesday 01/04/2026: 06:59 in Rome is before 07:00; 07:00 and 23:59 are not.
    assert not is_due(rome(2026, 4, 1, 6, 59), DEFAULT)
    assert is_due(rome(2026, 4, 1, 7, 0), DEFAULT)
    assert is_due(rome(2026, 4, 1, 23, 59), DEFAULT)


def test_the_time_is_the_schedules_wall_clock_not_utc():
    # 05:00 UTC on 01/04/2026 is 07:00 in Rome (UTC+2 in summer): due. 04:59 UTC is not.
    assert is_due(dt.datetime(2026, 4, 1, 5, 0, tzinfo=UTC), DEFAULT)
    assert not is_due(dt.datetime(2026, 4, 1, 4, 59, tzinfo=UTC), DEFAULT)
    # In winter Rome is UTC+1: 07:00 in Rome on 14/01/2026 (a Wednesday) is 06:00 UTC.
    assert is_due(dt.datetime(2026, 1, 14, 6, 0, tzinfo=UTC), DEFAULT)
    assert not is_due(dt.datetime(2026, 1, 14, 5, 59, tzinfo=UTC), DEFAULT)


def test_the_local_day_is_the_schedules():
    # 23:30 UTC on Tuesday 31/03 is already 01:30 on Wednesday 01/04 in Rome, and still
    # 19:30 on Tuesday in New York (UTC-4 in summer).
    instant = dt.datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    assert local_day(instant, DEFAULT) == dt.date(2026, 4, 1)
    new_york = Schedule(at=dt.time(7, 0), time_zone="America/New_York", weekdays=WORKDAYS)
    assert local_day(instant, new_york) == dt.date(2026, 3, 31)
    assert decide(instant, new_york).day == dt.date(2026, 3, 31)


def test_weekends_and_chosen_weekdays():
    saturday = rome(2026, 4, 4, 9, 0)
    assert not is_due(saturday, DEFAULT)
    assert decide(saturday, DEFAULT).reason == "not on Sat"
    with_saturday = Schedule(
        at=dt.time(7, 0), time_zone="Europe/Rome", weekdays=frozenset({*WORKDAYS, 5})
    )
    assert is_due(saturday, with_saturday)


def test_holidays_are_skipped_unless_told_otherwise():
    easter_monday = rome(2026, 4, 6, 8, 0)
    decision = decide(easter_monday, DEFAULT, closed=italian_holiday)
    assert not decision.due
    assert decision.reason.startswith("not a working day: ")
    keeps_working = Schedule(
        at=dt.time(7, 0), time_zone="Europe/Rome", weekdays=WORKDAYS, skip_non_working=False
    )
    assert is_due(easter_monday, keeps_working, closed=italian_holiday)


def test_a_day_with_its_run_is_not_due_again():
    assert not is_due(rome(2026, 4, 1, 8, 0), DEFAULT, has_run=True)
    assert decide(rome(2026, 4, 1, 8, 0), DEFAULT, has_run=True).reason == "already run"


def test_disabled_is_never_due():
    off = Schedule(at=dt.time(7, 0), time_zone="Europe/Rome", weekdays=WORKDAYS, enabled=False)
    assert not is_due(rome(2026, 4, 1, 8, 0), off)
    assert next_run(rome(2026, 4, 1, 8, 0), off) is None


def test_the_night_the_clocks_go_forward():
    # Sunday 29/03/2026 Rome skips 02:00-03:00; a schedule at 02:30 (every day) is due from
    # 03:00 (01:00 UTC), the first instant whose wall clock is past 02:30.
    at_night = Schedule(at=dt.time(2, 30), time_zone="Europe/Rome", weekdays=frozenset(range(7)))
    assert not is_due(dt.datetime(2026, 3, 29, 0, 59, tzinfo=UTC), at_night)  # 01:59 CET
    assert is_due(dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), at_night)  # 03:00 CEST
    start = next_run(dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC), at_night, has_run=True)
    assert start == dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC)


def test_the_night_the_clocks_go_back():
    # Sunday 25/10/2026 Rome lives 02:00-03:00 twice; 02:30 is due the first time (00:30
    # UTC), and with its run done, not the second time (01:30 UTC).
    at_night = Schedule(at=dt.time(2, 30), time_zone="Europe/Rome", weekdays=frozenset(range(7)))
    assert is_due(dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC), at_night)
    assert not is_due(dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC), at_night, has_run=True)


def test_next_run():
    # Thursday 02/04/2026 at 18:00 after its run: Friday 03/04 at 07:00 (05:00 UTC).
    assert next_run(rome(2026, 4, 2, 18, 0), DEFAULT, has_run=True) == rome(2026, 4, 3, 7, 0)
    # Friday 03/04 after its run: Saturday and Sunday are not scheduled, Monday 06/04 is
    # Easter Monday: Tuesday 07/04 at 07:00.
    assert next_run(rome(2026, 4, 3, 9, 0), DEFAULT, closed=italian_holiday, has_run=True) == (
        rome(2026, 4, 7, 7, 0)
    )
    # Before 07:00 on a working day: that day.
    assert next_run(rome(2026, 4, 1, 5, 0), DEFAULT) == rome(2026, 4, 1, 7, 0)


def test_invalid_schedules():
    with pytest.raises(ScheduleError):
        Schedule(at=dt.time(7, 0), time_zone="Europe/Atlantis", weekdays=WORKDAYS)
    with pytest.raises(ScheduleError):
        Schedule(at=dt.time(7, 0), time_zone="Europe/Rome", weekdays=frozenset())
    with pytest.raises(ValueError):
        is_due(dt.datetime(2026, 4, 1, 7, 0), DEFAULT)  # naive: which 07:00?


def test_parse_weekdays():
    assert parse_weekdays(["4", "0", "2", "0"]) == "024"
    with pytest.raises(ScheduleError):
        parse_weekdays([])
    with pytest.raises(ScheduleError):
        parse_weekdays(["7"])


# --- properties ---------------------------------------------------------------------------

ZONES = st.sampled_from(
    [
        "Europe/Rome",
        "UTC",
        "America/New_York",
        "Asia/Kolkata",
        "Pacific/Auckland",
        "Australia/Lord_Howe",
        "America/St_Johns",
    ]
)
INSTANTS = st.datetimes(
    min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2030, 12, 31), timezones=st.just(UTC)
)
TIMES = st.times()
WEEKDAY_SETS = st.frozensets(st.integers(0, 6), min_size=1)


@st.composite
def schedules(draw) -> Schedule:
    return Schedule(
        at=draw(TIMES),
        time_zone=draw(ZONES),
        weekdays=draw(WEEKDAY_SETS),
        skip_non_working=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(instant=INSTANTS, schedule=schedules())
def test_due_means_every_condition_holds_where_the_schedule_lives(instant, schedule):
    local = instant.astimezone(ZoneInfo(schedule.time_zone))
    due = is_due(instant, schedule, closed=italian_holiday)
    expected = (
        local.weekday() in schedule.weekdays
        and local.time().replace(tzinfo=None) >= schedule.at
        and not (schedule.skip_non_working and italian_holiday(local.date()))
    )
    assert due == expected


@settings(max_examples=200, deadline=None)
@given(instant=INSTANTS, schedule=schedules(), minutes=st.integers(1, 24 * 60))
def test_once_due_it_stays_due_for_the_rest_of_the_local_day(instant, schedule, minutes):
    later = instant + dt.timedelta(minutes=minutes)
    zone = ZoneInfo(schedule.time_zone)
    if later.astimezone(zone).date() != instant.astimezone(zone).date():
        return
    if is_due(instant, schedule, closed=italian_holiday):
        assert is_due(later, schedule, closed=italian_holiday)


@settings(max_examples=200, deadline=None)
@given(instant=INSTANTS, schedule=schedules())
def test_never_on_a_weekend_with_monday_to_friday(instant, schedule):
    weekdays_only = Schedule(
        at=schedule.at, time_zone=schedule.time_zone, weekdays=WORKDAYS, skip_non_working=True
    )
    local = instant.astimezone(ZoneInfo(schedule.time_zone))
    if local.weekday() >= 5 or italian_holiday(local.date()):
        assert not is_due(instant, weekdays_only, closed=italian_holiday)


@settings(max_examples=150, deadline=None)
@given(instant=INSTANTS, schedule=schedules())
def test_next_run_is_a_due_instant_not_before_now(instant, schedule):
    start = next_run(instant, schedule, closed=italian_holiday, has_run=True)
    assert start is not None
    assert start > instant
    # At that instant the cycle is due (once the day's run is not there yet) and a minute
    # before it was not (or it was another local day).
    assert is_due(start, schedule, closed=italian_holiday)
    before = start - dt.timedelta(minutes=1)
    zone = ZoneInfo(schedule.time_zone)
    if before > instant and before.astimezone(zone).date() == start.astimezone(zone).date():
        assert not is_due(before, schedule, closed=italian_holiday)
