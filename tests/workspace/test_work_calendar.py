"""Follow-ups and snoozes land on the company's working days (``comms.calendars``): one
that falls on a weekend, a public holiday or a closure moves to the next working day."""

from __future__ import annotations

import datetime as dt

import pytest

from incassa.comms import calendars
from incassa.ledger.models import Role
from incassa.workspace import work
from incassa.workspace.models import Task, TaskKind
from tests.factories import CustomerFactory, MembershipFactory, UserFactory
from tests.workspace.factories_work import TaskFactory

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def anna(company):
    user = UserFactory(username="anna")
    MembershipFactory(user=user, company=company, role=Role.COLLECTOR)
    return user


def follow_up_due(company, anna, day: dt.date) -> dt.date:
    customer = CustomerFactory(company=company)
    activity = work.activity_record(
        customer=customer,
        kind="call",
        user=anna,
        next_action="Richiamare",
        next_action_on=day,
        happened_at=dt.datetime(2026, 3, 26, 10, tzinfo=dt.UTC),
    )
    assert activity.follow_up.kind == TaskKind.FOLLOW_UP
    # The activity keeps the date agreed with the customer; the task moves.
    assert activity.next_action_on == day
    return activity.follow_up.due_on


def test_a_follow_up_on_a_working_day_stays(company, anna):
    assert follow_up_due(company, anna, D(2026, 3, 31)) == D(2026, 3, 31)  # a Tuesday


def test_a_follow_up_on_a_weekend_or_holiday_moves_to_the_next_working_day(company, anna):
    # Saturday 28/03/2026 -> Monday 30/03.
    assert follow_up_due(company, anna, D(2026, 3, 28)) == D(2026, 3, 30)
    # Friday 25/12 Christmas, 26 St Stephen, 27 Sunday -> Monday 28/12.
    assert follow_up_due(company, anna, D(2026, 12, 25)) == D(2026, 12, 28)


def test_a_follow_up_follows_the_province_and_the_closures(company, anna):
    # Monday 7/12/2026 is St Ambrose in Milan; Tuesday 8 the Immaculate Conception.
    assert follow_up_due(company, anna, D(2026, 12, 7)) == D(2026, 12, 7)
    calendars.calendar_set(company=company, subdivision="MI")
    assert follow_up_due(company, anna, D(2026, 12, 7)) == D(2026, 12, 9)
    # A closure from Monday 10 to Friday 21 August: Wednesday 12 -> Monday 24.
    calendars.closure_add(
        company=company,
        starts_on=D(2026, 8, 10),
        ends_on=D(2026, 8, 21),
        description="Chiusura estiva",
    )
    assert follow_up_due(company, anna, D(2026, 8, 12)) == D(2026, 8, 24)


def test_a_snooze_ends_on_a_working_day(company):
    task = TaskFactory(company=company)
    # Sunday 5/4/2026 is Easter, Monday 6 Easter Monday -> Tuesday 7.
    snoozed = work.task_snooze(task=task, until=D(2026, 4, 5))
    assert snoozed.snoozed_until == D(2026, 4, 7)
    assert Task.objects.get(pk=task.pk).snoozed_until == D(2026, 4, 7)
    # A working day stays, None shows the task again.
    assert work.task_snooze(task=task, until=D(2026, 4, 8)).snoozed_until == D(2026, 4, 8)
    assert work.task_snooze(task=task, until=None).snoozed_until is None
