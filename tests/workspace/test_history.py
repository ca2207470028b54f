"""The customer's and the item's history: every kind of entry with its date and amount, the
order of a day, the filters, the limit and the number of queries.

The story (``story`` fixture), built by the real imports and services, in 2026:
  02/03 import: R01 Rossi owes F1 due 01/02 1.000,00, F2 due 01/03 500,00, F3 due 15/03
        300,00 (and Z99, another customer, Z1 200,00)
  05/03 promise of 200,00 on F2 by 10/03 (F2 held until 14/03)
  06/03 a call about F1 (10:00 in Rome), outcome "Richiamare"
  09/03 an email listing F1 (1.000,00) and F2 (500,00): 1.500,00, sent; another, cancelled
  10/03 import: F1 1.000,00 -> 600,00, a payment of 400,00
  11/03 dispute on F3 (quality): F3 held
  12/03 repayment plan of F1's 600,00 in two instalments of 300,00 (31/03, 30/04): F1 held
  15/03 review: the promise is broken (nothing paid by 10/03 + 3 days)
  16/03 F1 reaches the first reminder (the engine's step, open 600,00)
  20/03 the dispute is resolved with a credit note (hold released); the import closes F3
        (300,00 paid)
  25/03 import: F3 back (reopened, 300,00), F2 500,00 -> 550,00 (50,00 more)
  31/03 import: F1 600,00 -> 300,00 (a payment of 300,00); the review: instalment 1 paid
  01/04 settlement of F2: 400,00 instead of 550,00 by 15/04 (F2 held)
  02/04 F3 handed over to Recuperi S.r.l. (300,00; F3 held)
  05/04 the settlement is cancelled (its hold released)
  10/04 the case closes: partly recovered, 100,00
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.utils import translation

from incassa.comms.models import Message, MessageItem
from incassa.dunning.services import strategy_install_standard
from incassa.ledger.models import Customer, Receivable
from incassa.ledger.services import receivables_import
from incassa.workspace.agreements import (
    agreements_review,
    case_close,
    case_open,
    dispute_open,
    dispute_update,
    plan_create,
    promise_record,
    settlement_agree,
    settlement_cancel,
)
from incassa.workspace.history import (
    GROUPS,
    HistoryGroup,
    HistoryKind,
    customer_history,
    item_history,
)
from incassa.workspace.models import Activity, CaseOutcome, DisputeStatus
from incassa.workspace.work import activity_record
from tests.factories import UserFactory, action_with_items

pytestmark = pytest.mark.django_db

K = HistoryKind
HEADER = "Codice cliente;Ragione sociale;Email;Numero documento;Data scadenza;Importo"


def d(day: str) -> dt.date:
    return dt.datetime.strptime(day, "%d/%m/%Y").date()


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def load(tmp_path: Path, company, on: dt.date, f1: str, f2: str, f3: str | None) -> None:
    rows = [
        f"R01;Rossi S.r.l.;amm@rossi.it;F1;01/02/2026;{f1}",
        f"R01;Rossi S.r.l.;amm@rossi.it;F2;01/03/2026;{f2}",
        "Z99;Zeta S.p.A.;z@zeta.it;Z1;01/03/2026;200,00",
    ]
    if f3 is not None:
        rows.append(f"R01;Rossi S.r.l.;amm@rossi.it;F3;15/03/2026;{f3}")
    path = tmp_path / f"{on}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    receivables_import(company=company, path=path, as_of=on, force=True)


def item(number: str) -> Receivable:
    return Receivable.objects.get(document_number=number)


def sent_email(company, customer, items, *, sent_at: dt.datetime, status: str = "sent"):
    """An email as comms stores it: the items it listed with the open amounts it showed."""
    message = Message.objects.create(
        company=company,
        customer=customer,
        medium="email",
        status=status,
        language="it",
        subject="Sollecito di pagamento",
        body_text="Gentile cliente...",
        recipients="amm@rossi.it",
        total_amount=sum((r.open_amount for r in items), Decimal(0)),
        item_count=len(items),
        sent_at=sent_at if status == "sent" else None,
    )
    message.document.save("sollecito.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    MessageItem.objects.bulk_create(
        MessageItem(message=message, receivable=r, open_amount=r.open_amount, days_overdue=0)
        for r in items
    )
    return message


@pytest.fixture
def operator(company):
    return UserFactory(username="operatore", first_name="Maria", last_name="Bianchi")


@pytest.fixture
def story(tmp_path, company, operator):
    strategy_install_standard(company=company)
    load(tmp_path, company, d("02/03/2026"), "1.000,00", "500,00", "300,00")
    rossi = Customer.objects.get(code="R01")
    zeta = Customer.objects.get(code="Z99")
    promise_record(
        customer=rossi,
        items=[item("F2")],
        amount=Decimal("200.00"),
        promised_on=d("10/03/2026"),
        user=operator,
        today=d("05/03/2026"),
    )
    activity_record(
        customer=rossi,
        kind="call",
        user=operator,
        items=[item("F1")],
        contact_person="Sig. Rossi",
        outcome="Richiamare",
        notes="Chiede l'estratto conto",
        happened_at=dt.datetime(2026, 3, 6, 9, 0, tzinfo=dt.UTC),  # 10:00 in Rome
    )
    activity_record(  # another customer's: never in Rossi's history
        customer=zeta,
        kind="note",
        user=operator,
        happened_at=dt.datetime(2026, 3, 6, tzinfo=dt.UTC),
    )
    sent_email(
        company, rossi, [item("F1"), item("F2")], sent_at=dt.datetime(2026, 3, 9, 8, tzinfo=dt.UTC)
    )
    sent_email(company, rossi, [item("F1")], sent_at=None, status="cancelled")
    load(tmp_path, company, d("10/03/2026"), "600,00", "500,00", "300,00")
    dispute = dispute_open(
        customer=rossi,
        items=[item("F3")],
        reason="quality",
        description="Merce difettosa",
        user=operator,
        today=d("11/03/2026"),
    )
    plan_create(
        customer=rossi,
        items=[item("F1")],
        instalments=[(d("31/03/2026"), Decimal("300.00")), (d("30/04/2026"), Decimal("300.00"))],
        user=operator,
        today=d("12/03/2026"),
    )
    agreements_review(company=company, as_of=d("15/03/2026"))
    action_with_items(company, rossi, "first-reminder", [item("F1")], day=d("16/03/2026"))
    dispute_update(
        dispute=dispute,
        status=DisputeStatus.RESOLVED_CREDIT_NOTE,
        note="Nota di credito NC-5",
        today=d("20/03/2026"),
    )
    load(tmp_path, company, d("20/03/2026"), "600,00", "500,00", None)
    load(tmp_path, company, d("25/03/2026"), "600,00", "550,00", "300,00")
    load(tmp_path, company, d("31/03/2026"), "300,00", "550,00", "300,00")
    agreements_review(company=company, as_of=d("31/03/2026"))
    settlement = settlement_agree(
        customer=rossi,
        items=[item("F2")],
        agreed_amount=Decimal("400.00"),
        due_on=d("15/04/2026"),
        write_off_reason="Accordo transattivo",
        user=operator,
        today=d("01/04/2026"),
    )
    case = case_open(
        customer=rossi,
        items=[item("F3")],
        agency="Recuperi S.r.l.",
        user=operator,
        today=d("02/04/2026"),
    )
    settlement_cancel(settlement=settlement, today=d("05/04/2026"))
    case_close(
        case=case,
        outcome=CaseOutcome.PARTLY_RECOVERED,
        outcome_text="Incassati 100 euro",
        recovered_amount=Decimal("100.00"),
        today=d("10/04/2026"),
    )
    return rossi


def rows(history) -> list[tuple]:
    return [(e.on, e.kind, tuple(r.document_number for r in e.items), e.amount) for e in history]


# Every entry of Rossi's story, newest first (entries of one day: agreements ending,
# instalments, agreements made, activities, messages, steps, holds released, holds placed,
# the import's changes; see the module's docstring of incassa.workspace.history).
EXPECTED = [
    (d("10/04/2026"), K.CASE_CLOSED, ("F3",), Decimal("100.00")),
    (d("05/04/2026"), K.SETTLEMENT_CLOSED, ("F2",), Decimal("400.00")),
    (d("05/04/2026"), K.HOLD_RELEASED, ("F2",), None),
    (d("02/04/2026"), K.CASE, ("F3",), Decimal("300.00")),
    (d("02/04/2026"), K.HOLD_PLACED, ("F3",), None),
    (d("01/04/2026"), K.SETTLEMENT, ("F2",), Decimal("400.00")),
    (d("01/04/2026"), K.HOLD_PLACED, ("F2",), None),
    # 600,00 - 300,00 paid; the first instalment (principal 300,00) is covered.
    (d("31/03/2026"), K.INSTALMENT, ("F1",), Decimal("300.00")),
    (d("31/03/2026"), K.PAYMENT, ("F1",), Decimal("300.00")),
    # Two changes of the same import: compared as a set below.
    (d("25/03/2026"), K.ITEM_REOPENED, ("F3",), Decimal("300.00")),
    (d("25/03/2026"), K.AMOUNT_INCREASED, ("F2",), Decimal("50.00")),  # 550,00 - 500,00
    (d("20/03/2026"), K.DISPUTE_RESOLVED, ("F3",), None),
    (d("20/03/2026"), K.HOLD_RELEASED, ("F3",), None),
    (d("20/03/2026"), K.ITEM_CLOSED, ("F3",), Decimal("300.00")),  # 300,00 open, then none
    (d("16/03/2026"), K.STEP, ("F1",), Decimal("600.00")),
    (d("15/03/2026"), K.PROMISE_CLOSED, ("F2",), Decimal("200.00")),
    (d("12/03/2026"), K.PLAN, ("F1",), Decimal("600.00")),  # 2 x 300,00, no interest
    (d("12/03/2026"), K.HOLD_PLACED, ("F1",), None),
    (d("11/03/2026"), K.DISPUTE, ("F3",), None),
    (d("11/03/2026"), K.HOLD_PLACED, ("F3",), None),
    (d("10/03/2026"), K.PAYMENT, ("F1",), Decimal("400.00")),  # 1.000,00 - 600,00
    (d("09/03/2026"), K.MESSAGE, ("F1", "F2"), Decimal("1500.00")),  # 1.000,00 + 500,00
    (d("06/03/2026"), K.ACTIVITY, ("F1",), None),
    (d("05/03/2026"), K.PROMISE, ("F2",), Decimal("200.00")),
    (d("05/03/2026"), K.HOLD_PLACED, ("F2",), None),
    # Three items created by the first import.
    (d("02/03/2026"), K.ITEM_CREATED, ("F1",), Decimal("1000.00")),
    (d("02/03/2026"), K.ITEM_CREATED, ("F2",), Decimal("500.00")),
    (d("02/03/2026"), K.ITEM_CREATED, ("F3",), Decimal("300.00")),
]


def by_day(found: list[tuple]) -> list[tuple]:
    """Entries of one day and one rank whose order the import decides, in a fixed order."""
    return sorted(found, key=lambda row: (row[0], row[1], row[2]), reverse=True)


def test_every_entry_of_the_customer_with_its_date_and_amount(story):
    history = customer_history(story)
    found = rows(history)
    assert len(found) == history.total == 28
    assert by_day(found) == by_day(EXPECTED)
    # The order of the days, and within a day the order things happen in.
    assert found[:9] == EXPECTED[:9]
    assert set(found[9:11]) == set(EXPECTED[9:11])  # one import's two changes
    assert found[11:25] == EXPECTED[11:25]
    assert set(found[25:]) == set(EXPECTED[25:])


def test_the_customers_history_leaves_out_other_customers_and_cancelled_messages(story):
    history = customer_history(story)
    assert all(r.customer_id == story.pk for e in history for r in e.items)
    assert sum(1 for e in history if e.kind == K.ACTIVITY) == 1  # not Zeta's note
    assert sum(1 for e in history if e.kind == K.MESSAGE) == 1  # not the cancelled one


def entry(history, kind: str, on: str | None = None):
    (found,) = [e for e in history if e.kind == kind and (on is None or e.on == d(on))]
    return found


def test_what_each_entry_says(story):
    history = customer_history(story)
    payment = entry(history, K.PAYMENT, "10/03/2026")
    assert payment.title == "Payment"
    assert payment.group == HistoryGroup.LEDGER
    assert payment.text == "open amount from €1,000.00 to €600.00"
    closed = entry(history, K.ITEM_CLOSED)
    assert (closed.title, closed.text) == ("Closed: paid", "open amount from €300.00 to €0.00")

    message = entry(history, K.MESSAGE)
    assert message.title == "Email"
    assert message.text == "Sollecito di pagamento"
    assert (message.status, message.status_label) == ("sent", "Sent")
    # Sent at 08:00 UTC, 09:00 in Rome; its PDF can be downloaded.
    assert (message.at.hour, message.at.date()) == (9, d("09/03/2026"))
    assert message.message_id == Message.objects.get(status="sent").pk
    assert message.group == HistoryGroup.COMMUNICATIONS

    call = entry(history, K.ACTIVITY)
    assert call.title == "Call"
    assert call.text == "Outbound · Sig. Rossi · Richiamare"
    assert call.note == "Chiede l'estratto conto"
    assert call.operator == "Maria Bianchi"
    assert call.at.hour == 10  # 09:00 UTC in Rome

    broken = entry(history, K.PROMISE_CLOSED)
    assert (broken.title, broken.status, broken.status_label) == (
        "Promise broken",
        "broken",
        "Broken",
    )
    assert broken.text == "€200.00 promised by 10/03/2026"
    assert entry(history, K.PROMISE).operator == "Maria Bianchi"

    opened = entry(history, K.DISPUTE)
    assert (opened.title, opened.text, opened.note) == (
        "Dispute opened",
        "Quality",
        "Merce difettosa",
    )
    resolved = entry(history, K.DISPUTE_RESOLVED)
    assert resolved.status_label == "Resolved with a credit note"
    assert resolved.note == "Nota di credito NC-5"

    plan = entry(history, K.PLAN)
    assert plan.text == "2 instalments repaying €600.00"
    instalment = entry(history, K.INSTALMENT)
    assert (instalment.title, instalment.status) == ("Instalment 1 of 2", "paid")

    settlement = entry(history, K.SETTLEMENT)
    assert settlement.text == "€400.00 instead of €550.00, by 15/04/2026"
    assert settlement.note == "Accordo transattivo"
    assert entry(history, K.SETTLEMENT_CLOSED).title == "Settlement cancelled"

    case = entry(history, K.CASE)
    assert case.text == "Collection agency: Recuperi S.r.l."
    assert case.case_id is not None
    closed_case = entry(history, K.CASE_CLOSED)
    assert closed_case.status_label == "Partly recovered"
    assert closed_case.text == "Recuperi S.r.l. · €100.00 recovered"
    assert closed_case.note == "Incassati 100 euro"

    step = entry(history, K.STEP)
    assert step.group == HistoryGroup.DUNNING
    # 16/03 is 43 days after F1's due date (01/02): 27 days of February + 16.
    assert step.text.endswith("43 days overdue")
    hold = entry(history, K.HOLD_PLACED, "11/03/2026")
    assert hold.title == "Hold: Dispute"
    assert hold.text == "until released"


def test_the_items_history(story):
    f3 = customer_history(story)  # (the customer's, for comparison)
    history = item_history(item("F3"))
    assert rows(history) == [row for row in rows(f3) if row[2] == ("F3",)]
    assert len(history) == 10
    f1 = rows(item_history(item("F1")))
    assert [row[1] for row in f1] == [
        K.INSTALMENT,
        K.PAYMENT,
        K.STEP,
        K.PLAN,
        K.HOLD_PLACED,
        K.PAYMENT,
        K.MESSAGE,
        K.ACTIVITY,
        K.ITEM_CREATED,
    ]
    # The message shows the open amount it listed for F1 alone, not its total.
    assert f1[6] == (d("09/03/2026"), K.MESSAGE, ("F1",), Decimal("1000.00"))


def test_the_filters_count_each_group(story):
    history = customer_history(story)
    # Imports: 3 created, 2 payments, 1 closed, 1 reopened, 1 increase. Agreements: promise
    # 2, dispute 2, plan 1 + its paid instalment, settlement 2, case 2. Dunning: 5 holds
    # placed, 2 released, 1 step.
    assert history.counts == {
        HistoryGroup.LEDGER: 8,
        HistoryGroup.COMMUNICATIONS: 1,
        HistoryGroup.ACTIVITIES: 1,
        HistoryGroup.AGREEMENTS: 10,
        HistoryGroup.DUNNING: 8,
    }
    assert sum(history.counts.values()) == 28
    payments = customer_history(story, groups={HistoryGroup.LEDGER})
    assert payments.total == len(payments) == 8
    assert {e.group for e in payments} == {HistoryGroup.LEDGER}
    assert payments.counts == history.counts  # the filters still show every group's count
    assert customer_history(story, groups=set(GROUPS)).total == 28


def test_the_limit_keeps_the_newest_and_the_total(story):
    history = customer_history(story, limit=3)
    assert history.total == 28
    assert rows(history) == EXPECTED[:3]
    assert rows(customer_history(story, groups={HistoryGroup.AGREEMENTS}, limit=2)) == [
        EXPECTED[0],
        EXPECTED[1],
    ]


def test_an_empty_history(company):
    from tests.factories import ReceivableFactory

    receivable = ReceivableFactory(company=company)
    assert customer_history(receivable.customer).entries == []
    history = item_history(receivable)
    assert (bool(history), history.total) == (False, 0)


def test_a_bounded_number_of_queries(story, operator, django_assert_max_num_queries):
    # The customer: its items, the union of the item tables, the dunning timeline's events,
    # holds and steps, then messages, activities, promises, disputes, plans, instalments,
    # settlements and cases.
    with django_assert_max_num_queries(13):
        assert customer_history(story).total == 28
    # The same with more of everything.
    for minute in range(5):
        Activity.objects.create(
            company=story.company,
            customer=story,
            kind="note",
            happened_at=dt.datetime(2026, 4, 11, 8, minute, tzinfo=dt.UTC),
            operator=operator,
        ).items.set([item("F1"), item("F2")])
    with django_assert_max_num_queries(13):
        assert customer_history(story).total == 33
    # An item: the dunning timeline's three, the messages that listed it, activities,
    # promises, disputes, plans, instalments, settlements and cases.
    f1 = item("F1")
    with django_assert_max_num_queries(11):
        assert item_history(f1).total == 14
