"""The working calendar: weekends, Italy's public holidays (with a province's patron saint),
the company's closures, and moving dates to working days."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incassa.core.calendar import (
    CalendarError,
    Closure,
    Kind,
    Period,
    WorkingCalendar,
    subdivisions,
)

D = dt.date
ITALY = WorkingCalendar()
MILAN = WorkingCalendar(subdivision="MI")
AUGUST = Closure(D(2026, 8, 10), D(2026, 8, 21), "Chiusura estiva")
ACME = WorkingCalendar(
    subdivision="MI", closures=[AUGUST, Closure(D(2026, 12, 24), D(2026, 12, 24))]
)


def test_the_weekdays_of_the_examples():
    # Checked by hand against a 2026 calendar: 24/12 Thursday, 25 Friday, 26 Saturday,
    # 27 Sunday, 28 Monday; 7/12 Monday (St Ambrose), 8/12 Tuesday.
    # (weekday(): Monday 0 ... Sunday 6)
    assert [D(2026, 12, d).weekday() for d in (24, 25, 26, 27, 28)] == [3, 4, 5, 6, 0]
    assert D(2026, 12, 7).weekday() == 0 and D(2026, 12, 8).weekday() == 1


def test_christmas_eve_plus_one_working_day_is_the_monday_after():
    # Thu 24/12 + 1: Fri 25 Christmas, Sat 26 St Stephen (and Saturday), Sun 27: Mon 28.
    assert ITALY.add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 28)
    # + 2: Tue 29.
    assert ITALY.add_working_days(D(2026, 12, 24), 2) == D(2026, 12, 29)
    # Back from Mon 28 by one: Thu 24 (25, 26, 27 are not working days).
    assert ITALY.add_working_days(D(2026, 12, 28), -1) == D(2026, 12, 24)


def test_national_holidays_and_weekends():
    assert not ITALY.is_working_day(D(2026, 1, 1))  # New Year's Day, a Thursday
    assert not ITALY.is_working_day(D(2026, 4, 6))  # Easter Monday 2026 (Easter 5 April)
    assert not ITALY.is_working_day(D(2026, 6, 2))  # Republic Day, a Tuesday
    assert not ITALY.is_working_day(D(2026, 3, 28))  # a Saturday
    assert ITALY.is_working_day(D(2026, 3, 26))  # a Thursday like any other
    assert ITALY.holiday(D(2026, 3, 26)) is None


def test_a_province_adds_its_patron_saint():
    # 7 December, St Ambrose: a holiday in Milan only.
    st_ambrose = D(2026, 12, 7)
    assert ITALY.is_working_day(st_ambrose)
    assert not MILAN.is_working_day(st_ambrose)
    assert MILAN.reason(st_ambrose)[0] == Kind.HOLIDAY
    # Rome: 29 June, Saints Peter and Paul (a Monday in 2026).
    rome = WorkingCalendar(subdivision="RM")
    assert not rome.is_working_day(D(2026, 6, 29)) and MILAN.is_working_day(D(2026, 6, 29))
    # Friday 4 December + 1 in Milan: Mon 7 St Ambrose, Tue 8 Immaculate Conception -> Wed 9.
    assert MILAN.add_working_days(D(2026, 12, 4), 1) == D(2026, 12, 9)


def test_the_companys_closures():
    assert not ACME.is_working_day(D(2026, 8, 10)) and not ACME.is_working_day(D(2026, 8, 21))
    assert ACME.is_working_day(D(2026, 8, 24))  # the Monday after the closure
    assert ACME.reason(D(2026, 8, 12)) == (Kind.CLOSURE, "Chiusura estiva")
    # A holiday inside a closure is said as the holiday: 15/08 Assumption.
    assert ACME.reason(D(2026, 8, 15))[0] == Kind.HOLIDAY
    # Friday 7 August + 1: the closure runs Mon 10 to Fri 21, then Sat, Sun -> Mon 24.
    assert ACME.add_working_days(D(2026, 8, 7), 1) == D(2026, 8, 24)
    # With 24/12 closed too, Wednesday 23/12 + 1 is Monday 28.
    assert ACME.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 28)


def test_next_and_previous_working_day():
    assert ITALY.next_working_day(D(2026, 3, 26)) == D(2026, 3, 26)  # already one
    assert ITALY.next_working_day(D(2026, 3, 28)) == D(2026, 3, 30)  # Sat -> Mon
    assert ITALY.previous_working_day(D(2026, 3, 29)) == D(2026, 3, 27)  # Sun -> Fri
    assert ITALY.add_working_days(D(2026, 3, 28), 0) == D(2026, 3, 30)
    # Saturday + 1: the first working day after it, Monday 30 (not Tuesday).
    assert ITALY.add_working_days(D(2026, 3, 28), 1) == D(2026, 3, 30)


def test_working_days_between():
    # March 2026 has 31 days; 1 March is a Sunday, so the weekend days are 1, 7, 8, 14, 15,
    # 21, 22, 28, 29 (9 of them) and there is no holiday: 31 - 9 = 22 working days.
    assert ITALY.working_days_between(D(2026, 3, 1), D(2026, 3, 31)) == 22
    assert ITALY.working_days_between(D(2026, 3, 31), D(2026, 3, 1)) == 0


def test_non_working_periods_join_a_closure_and_skip_plain_weekends():
    periods = ACME.non_working_periods(D(2026, 8, 1), D(2026, 8, 31))
    # The closure is split by the Assumption (15/08) into 10-14 and 16-21.
    assert periods == [
        Period(D(2026, 8, 10), D(2026, 8, 14), Kind.CLOSURE, "Chiusura estiva"),
        Period(D(2026, 8, 15), D(2026, 8, 15), Kind.HOLIDAY, ACME.holiday(D(2026, 8, 15))),
        Period(D(2026, 8, 16), D(2026, 8, 21), Kind.CLOSURE, "Chiusura estiva"),
    ]
    assert periods[0].days == 5 and periods[2].days == 6


def test_holiday_names_follow_the_language():
    italian = WorkingCalendar(language="it")
    english = WorkingCalendar(language="en")
    assert italian.holiday(D(2026, 12, 25)) == "Natale"
    assert english.holiday(D(2026, 12, 25)) == "Christmas Day"
    # A language the package does not have: the country's own names.
    assert WorkingCalendar(language="de").holiday(D(2026, 12, 25))


def test_subdivisions_have_names():
    names = subdivisions("IT")
    assert names["MI"] == "Milano" and names["RM"] == "Roma"
    assert names["Forli"] == "Forlì"
    assert len(names) >= 107  # the provinces, plus a few cities


def test_mistakes_are_calendar_errors():
    with pytest.raises(CalendarError, match="unknown subdivision"):
        WorkingCalendar(subdivision="XX")
    with pytest.raises(CalendarError, match="ends"):
        Closure(D(2026, 8, 21), D(2026, 8, 10))
    with pytest.raises(CalendarError, match="weekend"):
        WorkingCalendar(weekend=range(7))
    closed = WorkingCalendar(closures=[Closure(D(2026, 1, 1), D(2040, 1, 1))])
    with pytest.raises(CalendarError, match="no working day"):
        closed.next_working_day(D(2026, 1, 1))


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

days = st.dates(min_value=D(2020, 1, 1), max_value=D(2035, 12, 31))
calendars = st.sampled_from([ITALY, MILAN, ACME])


@given(calendar=calendars, day=days)
def test_next_working_day_is_the_first_working_day_from_day(calendar, day):
    found = calendar.next_working_day(day)
    assert found >= day
    assert calendar.is_working_day(found)
    between = (day + dt.timedelta(days=n) for n in range((found - day).days))
    assert not any(calendar.is_working_day(d) for d in between)
    assert calendar.previous_working_day(day) <= day


@given(calendar=calendars, day=days, n=st.integers(min_value=1, max_value=40))
def test_add_working_days_counts_exactly_n(calendar, day, n):
    later = calendar.add_working_days(day, n)
    assert later > day and calendar.is_working_day(later)
    # Exactly n working days in (day, later].
    assert calendar.working_days_between(day + dt.timedelta(days=1), later) == n
    earlier = calendar.add_working_days(day, -n)
    assert earlier < day and calendar.is_working_day(earlier)
    assert calendar.working_days_between(earlier, day - dt.timedelta(days=1)) == n


@given(
    calendar=calendars,
    day=days,
    a=st.integers(min_value=1, max_value=20),
    b=st.integers(min_value=1, max_value=20),
)
def test_add_working_days_adds_up(calendar, day, a, b):
    assert calendar.add_working_days(calendar.add_working_days(day, a), b) == (
        calendar.add_working_days(day, a + b)
    )


@given(calendar=calendars, day=days, n=st.integers(min_value=1, max_value=40))
def test_back_and_forth_from_a_working_day_returns_to_it(calendar, day, n):
    start = calendar.next_working_day(day)
    assert calendar.add_working_days(calendar.add_working_days(start, n), -n) == start
