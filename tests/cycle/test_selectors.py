"""``cycle.selectors``: who gets the summary, the stale warning, who is due, the words for
reasons and stages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from incassa.comms.models import CompanyClosure
from incassa.cycle import selectors
from incassa.cycle.models import CycleRun, CycleSchedule, Trigger
from incassa.ledger.models import ImportKind, ImportStatus, Role
from tests.cycle.conftest import DAY, MORNING, ROME
from tests.factories import CompanyFactory, ImportRunFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def applied_snapshot(company, as_of: dt.date, *, partial: bool = False):
    return ImportRunFactory(
        company=company,
        kind=ImportKind.RECEIVABLES,
        status=ImportStatus.APPLIED,
        as_of=as_of,
        is_partial=partial,
    )


# --- recipients ---------------------------------------------------------------------------


def test_the_summary_goes_to_administrators_and_credit_managers(company):
    for username, role in [
        ("zeta-admin", Role.ADMINISTRATOR),
        ("anna-cm", Role.CREDIT_MANAGER),
        ("carlo-col", Role.COLLECTOR),
        ("sara-sa", Role.SALES_AGENT),
        ("aldo-aud", Role.AUDITOR),
    ]:
        MembershipFactory(user=UserFactory(username=username), company=company, role=role)
    MembershipFactory(
        user=UserFactory(username="gone", is_active=False), company=company, role=Role.ADMINISTRATOR
    )
    MembershipFactory(
        user=UserFactory(username="noaddress", email=""), company=company, role=Role.CREDIT_MANAGER
    )
    # A credit manager of another company only.
    MembershipFactory(user=UserFactory(username="other"), company=CompanyFactory(code="beta"),
                      role=Role.CREDIT_MANAGER)  # fmt: skip
    assert selectors.summary_recipients(company) == ["anna-cm@example.it", "zeta-admin@example.it"]


def test_the_schedule_may_name_the_recipients(company):
    schedule = CycleSchedule(
        company=company, recipients="crediti@acme.it; Capo@acme.it\ncapo@acme.it"
    )
    assert selectors.summary_recipients(company, schedule) == ["crediti@acme.it", "Capo@acme.it"]


def test_parse_recipients_names_a_wrong_address():
    with pytest.raises(ValidationError) as caught:
        selectors.parse_recipients("a@b.it, non-un-indirizzo")
    assert caught.value.messages == ["non-un-indirizzo is not an email address."]
    assert selectors.parse_recipients("") == []


# --- snapshots and the stale warning ---------------------------------------------------------


def test_only_a_full_applied_snapshot_of_the_day_counts(company):
    applied_snapshot(company, DAY, partial=True)
    ImportRunFactory(company=company, kind=ImportKind.RECEIVABLES, status=ImportStatus.REJECTED,
                     as_of=DAY)  # fmt: skip
    assert not selectors.has_snapshot(company, DAY)
    applied_snapshot(company, DAY)
    assert selectors.has_snapshot(company, DAY)


def test_stale_notice(company):
    assert selectors.stale_notice(company, DAY) is None  # no snapshot: the dashboard says so
    applied_snapshot(company, dt.date(2026, 3, 30))
    applied_snapshot(company, dt.date(2026, 3, 31))
    notice = selectors.stale_notice(company, DAY)
    assert notice == {
        "day": dt.date(2026, 3, 31),
        "sent_anyway": False,
        "text": "The last snapshot is as of 31/03/2026: today's reminders wait until a new one "
        "arrives.",
    }
    schedule = CycleSchedule.objects.create(company=company, send_when_stale=True)
    assert selectors.stale_notice(company, DAY)["text"] == (
        "The last snapshot is as of 31/03/2026: today's reminders are sent anyway."
    )
    schedule.enabled = False
    schedule.save()
    assert selectors.stale_notice(company, DAY) is None  # the cycle does not run by itself
    schedule.enabled = True
    schedule.save()
    applied_snapshot(company, DAY)
    assert selectors.stale_notice(company, DAY) is None


# --- who is due ---------------------------------------------------------------------------------


def test_companies_due(company):
    beta = CompanyFactory(code="beta")
    CycleSchedule.objects.create(company=beta, at=dt.time(8, 0))
    gamma = CompanyFactory(code="gamma")
    CycleSchedule.objects.create(company=gamma, enabled=False)
    delta = CompanyFactory(code="delta")
    CycleRun.objects.create(company=delta, day=DAY, trigger=Trigger.SCHEDULE)
    epsilon = CompanyFactory(code="epsilon")
    # A manual run does not stand for the scheduled one.
    CycleRun.objects.create(company=epsilon, day=DAY, trigger=Trigger.MANUAL)
    # At 07:00 on Wednesday 01/04/2026 in Rome: acme and epsilon (07:00), not beta (08:00),
    # gamma (off) or delta (run already).
    due = selectors.companies_due(MORNING)
    assert [(c.code, d.day) for c, d in due] == [("acme", DAY), ("epsilon", DAY)]


def test_a_closure_day_is_not_due(company):
    CompanyClosure.objects.create(
        company=company, starts_on=DAY, ends_on=DAY, description="Inventario"
    )
    decision = selectors.decision_for(company, MORNING)
    assert (decision.due, decision.reason) == (False, "not a working day: Inventario")


def test_the_patron_saints_day_of_the_companys_province(company):
    from incassa.comms.calendars import calendar_set

    # Milan's patron saint, Sant'Ambrogio, is on 7 December: Monday 07/12/2026 is a working
    # day in Italy, not in Milan.
    monday = dt.datetime(2026, 12, 7, 9, 0, tzinfo=ROME)
    assert selectors.decision_for(company, monday).due
    calendar_set(company=company, subdivision="MI")
    assert not selectors.decision_for(company, monday).due


def test_next_run_at(company):
    # Wednesday 01/04/2026 at 07:00 with nothing run yet: due, so now.
    assert selectors.next_run_at(company, MORNING) == MORNING
    CycleRun.objects.create(company=company, day=DAY, trigger=Trigger.SCHEDULE)
    assert selectors.next_run_at(company, MORNING) == dt.datetime(2026, 4, 2, 7, 0, tzinfo=ROME)


# --- words ---------------------------------------------------------------------------------------


def test_reasons_and_labels():
    assert selectors.reason_text("stale") == "No snapshot as of the day: the reminders wait."
    assert selectors.reason_text("needs:strategies") == "Not run: Strategies failed."
    assert selectors.stage_label("delivery") == "Emails and PEC"
    assert selectors.problem_lines({"problems": [{"stage": "print", "error": "no paper"}]}) == [
        "Print batch: no paper"
    ]
