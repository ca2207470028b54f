"""A company's calendar from the database: Italy by default, its province's patron saint,
its closures; and the checks on changing them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from incassa.comms import calendars
from incassa.comms.models import CompanyCalendar, CompanyClosure
from incassa.core.calendar import Kind
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture(autouse=True)
def english():
    """The messages are checked in English."""
    with translation.override("en"):
        yield


def test_a_new_company_has_italys_national_holidays(company):
    calendar = calendars.company_calendar(company)
    assert (calendar.country, calendar.subdivision, calendar.closures) == ("IT", "", ())
    assert not calendar.is_working_day(D(2026, 12, 8))  # Immaculate Conception
    assert calendar.is_working_day(D(2026, 12, 7))  # St Ambrose: Milan only
    assert not CompanyCalendar.objects.exists()  # nothing written by reading


def test_the_province_and_the_closures_count(company):
    calendars.calendar_set(company=company, subdivision="MI")
    calendars.closure_add(
        company=company,
        starts_on=D(2026, 8, 10),
        ends_on=D(2026, 8, 21),
        description="Chiusura estiva",
    )
    calendars.closure_add(company=company, starts_on=D(2026, 12, 24), description="Vigilia")
    calendar = calendars.company_calendar(company, language="en")
    assert calendar.holiday(D(2026, 12, 7)) == "Saint Ambrose's Day"
    assert calendar.reason(D(2026, 8, 12)) == (Kind.CLOSURE, "Chiusura estiva")
    assert calendar.reason(D(2026, 12, 24)) == (Kind.CLOSURE, "Vigilia")  # one day
    # Wed 23/12 + 1 working day: 24 closed, 25 and 26 holidays, 27 Sunday -> Mon 28.
    assert calendar.add_working_days(D(2026, 12, 23), 1) == D(2026, 12, 28)
    # Another company keeps the national calendar.
    other = calendars.company_calendar(CompanyFactory(code="other"))
    assert other.is_working_day(D(2026, 12, 7)) and other.is_working_day(D(2026, 8, 12))


def test_the_province_is_checked_and_can_be_removed(company):
    with pytest.raises(ValidationError, match="Unknown province: XX"):
        calendars.calendar_set(company=company, subdivision="XX")
    calendars.calendar_set(company=company, subdivision="RM")
    calendars.calendar_set(company=company, subdivision="")
    assert CompanyCalendar.objects.get().subdivision == ""


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "description", "error"),
    [
        (D(2026, 8, 21), D(2026, 8, 10), "Estate", "cannot end before it starts"),
        (D(2026, 8, 10), D(2026, 8, 21), "  ", "Say what the closure is"),
        # 1/1 to 31/12: 365 days, more than the 92 a closure may last.
        (D(2026, 1, 1), D(2026, 12, 31), "Anno", "at most 92 days"),
    ],
)
def test_wrong_closures_are_refused(company, starts_on, ends_on, description, error):
    with pytest.raises(ValidationError, match=error):
        calendars.closure_add(
            company=company, starts_on=starts_on, ends_on=ends_on, description=description
        )
    assert not CompanyClosure.objects.exists()


def test_a_closure_is_removed(company):
    closure = calendars.closure_add(company=company, starts_on=D(2026, 8, 14), description="Ponte")
    assert str(closure) == "14/08/2026 Ponte"
    calendars.closure_remove(closure=closure)
    assert calendars.company_calendar(company).closures == ()
