"""What the effectiveness statistics read from the database: the period's contacts, their
items and the items' history, the sequences finished, broken promises and plans, and the
report assembled from them. Set-based: the number of queries does not grow with the data.

The scenario (today 30/04/2026, period 01/02 to 30/04, last snapshot 28/04), company acme
with the shipped ``standard`` strategy:

  Alfa: F1 1.000,00 due 01/01, paid on 06/02; F2 500,00 due 01/01, still open
  Beta: G1 200,00 due 01/02, still open; G2 300,00 due 01/03 (not late on 10/02)

  action 1: first reminder (letter) to Alfa for F1 and F2, sent 31/01 at 23:30 UTC, which
            is 01/02 00:30 in Rome: in the period
  action 2: courtesy call to Alfa for F2, done on 03/02
  action 3: second call to Alfa, still waiting (not gone out): not a contact
  action 4: pre-due email to Alfa sent on 10/01: before the period
  activity 1: a call to Beta on 10/02, naming no item: it concerns G1 (late that day)
  activity 2: an email to Alfa on 12/02 naming F2
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incassa.dunning.models import (
    ActionStatus,
    CategoryStrategy,
    ItemProgress,
    ItemStep,
    ItemStepStatus,
    Step,
    Strategy,
)
from incassa.ledger.models import EventKind, ImportStatus, ReceivableStatus
from incassa.workspace import effectiveness as eff
from incassa.workspace.models import (
    Activity,
    ActivityKind,
    Case,
    CaseOutcome,
    CaseStatus,
    Dispute,
    DisputeReason,
    DisputeStatus,
    PlanStatus,
    Promise,
    PromiseStatus,
    RepaymentPlan,
)
from incassa.workspace.selectors import (
    effectiveness_inputs,
    effectiveness_report,
    observed_until,
)
from tests.factories import (
    CustomerCategoryFactory,
    CustomerFactory,
    ImportRunFactory,
    ReceivableEventFactory,
    ReceivableFactory,
    action_with_items,
)

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 4, 30)
START = D(2026, 2, 1)


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def gone_out(action, status: str, when: dt.datetime) -> None:
    field = "sent_at" if status == ActionStatus.SENT else "done_at"
    action.status = status
    setattr(action, field, when)
    action.save()
    ItemStep.objects.filter(action=action).update(status=status)


def item(company, customer, document: str, amount: str, due: dt.date, paid_on=None):
    """An item first seen on 01/01 (its creation event), closed on ``paid_on`` if given."""
    receivable = ReceivableFactory(
        company=company,
        customer=customer,
        document_number=document,
        amount=Decimal(amount),
        open_amount=Decimal("0.00") if paid_on else Decimal(amount),
        status=ReceivableStatus.CLOSED if paid_on else ReceivableStatus.OPEN,
        closed_on=paid_on,
        due_date=due,
        first_seen_on=D(2026, 1, 1),
    )
    ReceivableEventFactory(
        receivable=receivable, on_date=D(2026, 1, 1), amount_after=Decimal(amount)
    )
    if paid_on:
        ReceivableEventFactory(
            receivable=receivable,
            kind=EventKind.CLOSED,
            on_date=paid_on,
            amount_before=Decimal(amount),
            amount_after=Decimal("0.00"),
        )
    return receivable


@pytest.fixture
def scenario(company):
    alfa = CustomerFactory(company=company, code="ALFA", name="Alfa S.r.l.")
    beta = CustomerFactory(company=company, code="BETA", name="Beta S.p.A.")
    f1 = item(company, alfa, "F1", "1000.00", D(2026, 1, 1), paid_on=D(2026, 2, 6))
    f2 = item(company, alfa, "F2", "500.00", D(2026, 1, 1))
    g1 = item(company, beta, "G1", "200.00", D(2026, 2, 1))
    g2 = item(company, beta, "G2", "300.00", D(2026, 3, 1))

    a1 = action_with_items(company, alfa, "first-reminder", [f1, f2], day=D(2026, 1, 30))
    gone_out(a1, ActionStatus.SENT, dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC))
    a2 = action_with_items(company, alfa, "courtesy-call", [f2], day=D(2026, 2, 3))
    gone_out(a2, ActionStatus.DONE, at(D(2026, 2, 3)))
    action_with_items(company, alfa, "second-call", [f2], day=D(2026, 2, 20))  # waiting
    a4 = action_with_items(company, alfa, "pre-due", [f2], day=D(2026, 1, 10))
    gone_out(a4, ActionStatus.SENT, at(D(2026, 1, 10)))

    call = Activity.objects.create(
        company=company, customer=beta, kind=ActivityKind.CALL, happened_at=at(D(2026, 2, 10))
    )
    email = Activity.objects.create(
        company=company, customer=alfa, kind=ActivityKind.EMAIL, happened_at=at(D(2026, 2, 12))
    )
    email.items.set([f2])

    ImportRunFactory(company=company, as_of=D(2026, 4, 28))
    ImportRunFactory(company=company, as_of=D(2026, 4, 29), status=ImportStatus.REJECTED)
    ImportRunFactory(company=company, as_of=D(2026, 5, 5))  # after today: not yet
    return {
        "alfa": alfa,
        "beta": beta,
        "items": {"F1": f1, "F2": f2, "G1": g1, "G2": g2},
        "actions": (a1, a2),
        "activities": (call, email),
    }


def inputs(company, start=START, end=TODAY):
    return effectiveness_inputs(company=company, start=start, end=end, today=TODAY)


def test_the_contacts_of_the_period_and_their_items(company, scenario):
    data = inputs(company)
    a1, a2 = scenario["actions"]
    step = {s.code: s for s in Step.objects.filter(strategy__company=company)}
    items = scenario["items"]
    assert sorted(data.actions.iter_rows()) == [
        # sent 23:30 UTC on 31/01 is 01/02 in Rome
        (
            a1.pk,
            scenario["alfa"].pk,
            D(2026, 2, 1),
            step["first-reminder"].pk,
            step["first-reminder"].strategy_id,
            "letter",
        ),
        (
            a2.pk,
            scenario["alfa"].pk,
            D(2026, 2, 3),
            step["courtesy-call"].pk,
            step["courtesy-call"].strategy_id,
            "call",
        ),
    ]
    assert sorted(data.action_items.iter_rows()) == sorted(
        [(a1.pk, items["F1"].pk), (a1.pk, items["F2"].pk), (a2.pk, items["F2"].pk)]
    )
    call, email = scenario["activities"]
    assert sorted(data.activities.iter_rows()) == [
        (call.pk, scenario["beta"].pk, D(2026, 2, 10), "call"),
        (email.pk, scenario["alfa"].pk, D(2026, 2, 12), "email"),
    ]
    assert data.activity_items.rows() == [(email.pk, items["F2"].pk)]
    # The items named, and Beta's (it had an activity): F1 closed, so zero now.
    assert sorted(data.items.iter_rows()) == sorted(
        [
            (items["F1"].pk, scenario["alfa"].pk, D(2026, 1, 1), 0),
            (items["F2"].pk, scenario["alfa"].pk, D(2026, 1, 1), 50_000),
            (items["G1"].pk, scenario["beta"].pk, D(2026, 2, 1), 20_000),
            (items["G2"].pk, scenario["beta"].pk, D(2026, 3, 1), 30_000),
        ]
    )
    # Only the events after the period's start matter: F1's closing.
    assert [(r[0], r[1], r[3]) for r in data.events.iter_rows()] == [
        (items["F1"].pk, D(2026, 2, 6), 100_000)
    ]
    assert data.observed_until == D(2026, 4, 28)


def test_a_cancelled_or_skipped_item_step_is_not_a_contacts_item(company, scenario):
    a1, _ = scenario["actions"]
    ItemStep.objects.filter(action=a1, receivable=scenario["items"]["F1"]).update(
        status=ItemStepStatus.CANCELLED
    )
    links = inputs(company).action_items
    assert (a1.pk, scenario["items"]["F1"].pk) not in links.rows()


def test_the_period_bounds_are_days_in_rome(company, scenario):
    # From 02/02: action 1 (01/02 in Rome) is out, action 2 (03/02) in.
    data = inputs(company, start=D(2026, 2, 2), end=D(2026, 2, 10))
    assert data.actions["action_id"].to_list() == [scenario["actions"][1].pk]
    assert data.activities["kind"].to_list() == ["call"]  # 10/02 included, 12/02 not


def test_a_period_ending_before_it_starts_is_refused(company):
    with pytest.raises(ValueError, match="ends before it starts"):
        inputs(company, start=TODAY, end=START)


def test_without_imports_payments_are_known_up_to_today(company):
    assert observed_until(company=company, today=TODAY) == TODAY


def _standard_last_step(company) -> Step:
    return Step.objects.filter(strategy__company=company).order_by("-position").first()


def test_finished_sequences_leave_out_handed_over_and_disputed_items(company, scenario):
    beta = scenario["beta"]
    last = _standard_last_step(company)  # the hand-over step of ``standard``
    g1, g2 = scenario["items"]["G1"], scenario["items"]["G2"]
    h1 = item(company, beta, "H1", "50.00", D(2026, 1, 1))
    h2 = item(company, beta, "H2", "60.00", D(2026, 1, 1))
    h3 = item(company, beta, "H3", "70.00", D(2026, 1, 1))
    paid = item(company, beta, "H4", "80.00", D(2026, 1, 1), paid_on=D(2026, 3, 1))
    earlier = Step.objects.get(strategy=last.strategy, code="final-call")
    for receivable, step in [(g1, last), (g2, earlier), (h1, last), (h2, last), (h3, last)]:
        ItemProgress.objects.create(receivable=receivable, step=step, reached_on=D(2026, 3, 1))
    ItemProgress.objects.create(receivable=paid, step=last, reached_on=D(2026, 3, 1))
    case = Case.objects.create(
        company=company,
        customer=beta,
        agency="Recuperi S.r.l.",
        handed_over_on=D(2026, 3, 5),
        handed_over_amount=Decimal("60.00"),
    )
    case.items.set([h1])
    withdrawn = Case.objects.create(
        company=company,
        customer=beta,
        agency="Altra S.r.l.",
        handed_over_on=D(2026, 3, 5),
        handed_over_amount=Decimal("70.00"),
        status=CaseStatus.CLOSED,
        outcome=CaseOutcome.WITHDRAWN,
    )
    withdrawn.items.set([h3])
    dispute = Dispute.objects.create(
        company=company, customer=beta, reason=DisputeReason.PRICE, opened_on=D(2026, 3, 2)
    )
    dispute.items.set([h2])
    resolved = Dispute.objects.create(
        company=company,
        customer=beta,
        reason=DisputeReason.PRICE,
        opened_on=D(2026, 3, 2),
        status=DisputeStatus.RESOLVED_IN_OUR_FAVOUR,
    )
    resolved.items.set([g1])

    finished = inputs(company).finished
    # G1 (its dispute is resolved) and H3 (its case withdrawn); not G2 (an earlier step),
    # H1 (handed over), H2 (disputed) nor H4 (paid).
    assert sorted(finished.iter_rows()) == sorted(
        [
            (beta.pk, g1.pk, D(2026, 3, 1), 20_000, True),
            (beta.pk, h3.pk, D(2026, 3, 1), 7_000, True),
        ]
    )


def test_broken_promises_and_plans_of_the_period(company, scenario):
    beta = scenario["beta"]
    for closed_on, status in [
        (D(2026, 3, 15), PromiseStatus.BROKEN),
        (D(2026, 4, 30), PromiseStatus.BROKEN),
        (D(2026, 1, 15), PromiseStatus.BROKEN),  # before the period
        (D(2026, 3, 15), PromiseStatus.KEPT),
    ]:
        Promise.objects.create(
            company=company,
            customer=beta,
            amount=Decimal("100.00"),
            promised_on=closed_on,
            recorded_on=D(2026, 1, 2),
            status=status,
            closed_on=closed_on,
        )
    RepaymentPlan.objects.create(
        company=company,
        customer=beta,
        total=Decimal("200.00"),
        principal=Decimal("200.00"),
        created_on=D(2026, 2, 1),
        status=PlanStatus.BROKEN,
        broken_on=D(2026, 3, 20),
    )
    data = inputs(company)
    assert data.broken_promises.rows() == [(beta.pk, 2)]
    assert data.broken_plans.rows() == [(beta.pk, 1)]


def test_the_number_of_queries_does_not_grow_with_the_data(company, scenario):
    with CaptureQueriesContext(connection) as few:
        inputs(company)
    # Ten more customers, each with a sent action, an activity and a broken promise.
    for n in range(10):
        customer = CustomerFactory(company=company)
        receivable = item(company, customer, f"X{n}", "10.00", D(2026, 1, 1))
        action = action_with_items(company, customer, "first-reminder", [receivable], day=START)
        gone_out(action, ActionStatus.SENT, at(START))
        Activity.objects.create(
            company=company, customer=customer, kind=ActivityKind.VISIT, happened_at=at(START)
        )
        Promise.objects.create(
            company=company,
            customer=customer,
            amount=Decimal("1.00"),
            promised_on=START,
            recorded_on=START,
            status=PromiseStatus.BROKEN,
            closed_on=D(2026, 3, 1),
        )
    with CaptureQueriesContext(connection) as many:
        data = inputs(company)
    assert data.actions.height == 12
    assert len(many) == len(few) <= 12


def test_the_report_labels_orders_and_lists(company, scenario):
    report = effectiveness_report(company=company, start=START, end=TODAY, today=TODAY)
    # Steps in the strategy's order: courtesy call (position 30) before first reminder (40).
    assert [row.figures.contacts for row in report.steps] == [1, 1]
    assert str(report.steps[0].label) == str(
        Step.objects.get(strategy__company=company, code="courtesy-call").name
    )
    assert [row.key for row in report.channels] == ["call", "letter"]  # the choices' order
    # First reminder on 01/02: F1 1.000 + F2 500 open; F1 paid on 06/02 (5 days after).
    letter = report.channels[1].figures
    assert letter.amount == Decimal("1500.00")
    assert letter.share(7) == pytest.approx(1000 / 1500)
    assert (letter.median_days, letter.paid_items, letter.open_items) == (5.0, 1, 1)
    assert [row.label for row in report.strategies] == [
        Strategy.objects.get(company=company, code="standard").name
    ]
    assert report.actions.contacts == 2 and report.actions.amount == Decimal("2000.00")
    # Activities: the call concerns G1 (200 late on 10/02), the email F2 (500).
    assert [row.key for row in report.activity_kinds] == ["call", "email"]
    assert report.activities.amount == Decimal("700.00")
    assert report.observed_until == D(2026, 4, 28)
    assert report.not_working == []
    data = report.as_json()
    assert data["from"] == "2026-02-01" and data["observed_until"] == "2026-04-28"
    assert data["channels"][1]["share_7"] == pytest.approx(0.6667)
    assert data["channels"][1]["amount"] == "1500.00"


def test_not_working_customers_with_what_they_owe_and_their_strategy(company, scenario):
    alfa = scenario["alfa"]
    last = _standard_last_step(company)
    ItemProgress.objects.create(
        receivable=scenario["items"]["G1"], step=last, reached_on=D(2026, 3, 1)
    )
    # Alfa's category follows a strategy of its own: the list says which.
    category = CustomerCategoryFactory(company=company)
    strict = Strategy.objects.create(company=company, code="strict", name="Rigorosa")
    CategoryStrategy.objects.create(category=category, strategy=strict)
    alfa.category = category
    alfa.save()
    for closed_on in (D(2026, 3, 1), D(2026, 4, 1)):
        Promise.objects.create(
            company=company,
            customer=alfa,
            amount=Decimal("100.00"),
            promised_on=closed_on,
            recorded_on=D(2026, 2, 20),
            status=PromiseStatus.BROKEN,
            closed_on=closed_on,
        )
    report = effectiveness_report(company=company, start=START, end=TODAY, today=TODAY)
    entries = {entry.customer.code: entry for entry in report.not_working}
    assert list(entries) == ["BETA", "ALFA"]  # 500 overdue today (G1 + G2), then 500 (F2)
    beta_entry, alfa_entry = entries["BETA"], entries["ALFA"]
    # G1 reached the hand-over step on 01/03, 60 days ago, and still owes 200.
    assert beta_entry.flag.finished_items == 1
    assert beta_entry.flag.finished_days == 60
    assert beta_entry.flag.suggestion == eff.Suggestion.HAND_OVER
    assert beta_entry.overdue_amount == Decimal("500.00")
    assert beta_entry.strategy.code == "standard"  # the company's default
    assert alfa_entry.flag.broken_promises == 2
    assert alfa_entry.flag.suggestion == eff.Suggestion.PLAN_OR_NOTICE
    assert alfa_entry.strategy == strict
    assert alfa_entry.as_json()["customer"] == "ALFA"
    assert alfa_entry.as_json()["overdue_amount"] == "500.00"
