"""What the matcher and the matching page read: open items, known payers, entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incassa.ledger.models import DocumentType, ImportKind, ReceivableStatus
from incassa.payments.matching import OpenItem
from incassa.payments.models import BankEntry, BankStatement, EntryStatus, PayerAccount
from incassa.payments.selectors import (
    customer_open_items,
    entries_for_review,
    entry_counts,
    entry_suggestions,
    known_payers,
    open_items_for_matching,
    statement_history,
)
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ImportRunFactory,
    ReceivableFactory,
)

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def rossi(company):
    return CustomerFactory(company=company, code="00045", name="Rossi S.r.l.")


@pytest.fixture
def bianchi(company):
    return CustomerFactory(company=company, code="00046", name="Bianchi S.p.A.")


@pytest.fixture
def other_company():
    return CompanyFactory(code="other")


def statement(company, started: dt.datetime | None = None) -> BankStatement:
    run = ImportRunFactory(
        company=company,
        kind=ImportKind.STATEMENT,
        **({"started_at": started} if started else {}),
    )
    return BankStatement.objects.create(company=company, import_run=run, format="camt.053")


def bank_entry(company, key: str, status: str, day: dt.date, **fields) -> BankEntry:
    return BankEntry.objects.create(
        company=company,
        statement=fields.pop("statement", None) or statement(company),
        key=key,
        booking_date=day,
        amount=fields.pop("amount", Decimal("100.00")),
        status=status,
        **fields,
    )


# --------------------------------------------------------------------------------------
# open_items_for_matching
# --------------------------------------------------------------------------------------


def test_open_items_for_matching_reads_the_open_items_of_one_currency(
    company, rossi, bianchi, other_company
):
    invoice = ReceivableFactory(
        company=company,
        customer=rossi,
        document_number="FT 2026/0123",
        document_date=D(2026, 2, 28),
        due_date=D(2026, 3, 31),
        open_amount=Decimal("1220.00"),
    )
    note = ReceivableFactory(
        company=company,
        customer=bianchi,
        document_number="NC 7",
        document_type=DocumentType.CREDIT_NOTE,
        document_date=None,
        due_date=D(2026, 3, 15),
        open_amount=Decimal("-30.50"),
    )
    # Not read: closed, owing nothing, in dollars, of another company.
    ReceivableFactory(
        company=company,
        customer=rossi,
        open_amount=Decimal("0"),
        amount=Decimal("50"),
        status=ReceivableStatus.CLOSED,
        closed_on=D(2026, 3, 1),
    )
    ReceivableFactory(
        company=company, customer=rossi, open_amount=Decimal("0"), amount=Decimal("9")
    )
    dollars = ReceivableFactory(
        company=company, customer=rossi, currency="USD", open_amount=Decimal("80.00")
    )
    ReceivableFactory(company=other_company, open_amount=Decimal("1220.00"))

    items = sorted(open_items_for_matching(company), key=lambda i: i.item_id)

    assert items == [
        OpenItem(
            item_id=invoice.pk,
            customer_id=rossi.pk,
            document_number="FT 2026/0123",
            document_date=D(2026, 2, 28),
            due_date=D(2026, 3, 31),
            open_amount=Decimal("1220.00"),
        ),
        # Without a document date it is dated by its due date.
        OpenItem(
            item_id=note.pk,
            customer_id=bianchi.pk,
            document_number="NC 7",
            document_date=D(2026, 3, 15),
            due_date=D(2026, 3, 15),
            open_amount=Decimal("-30.50"),
        ),
    ]
    assert [i.item_id for i in open_items_for_matching(company, "USD")] == [dollars.pk]
    assert open_items_for_matching(company, "CHF") == []


def test_open_items_for_matching_of_some_customers(company, rossi, bianchi):
    mine = ReceivableFactory(company=company, customer=rossi)
    ReceivableFactory(company=company, customer=bianchi)

    assert [i.item_id for i in open_items_for_matching(company, customer_ids=[rossi.pk])] == [
        mine.pk
    ]
    assert open_items_for_matching(company, customer_ids=[]) == []


# --------------------------------------------------------------------------------------
# known_payers
# --------------------------------------------------------------------------------------


def test_known_payers_are_the_learned_ibans_and_every_name(company, rossi, bianchi, other_company):
    CustomerFactory(company=company, code="00047", name="")
    PayerAccount.objects.create(
        company=company, customer=rossi, iban="IT66A0306909606100000012345", name="Rossi Holding"
    )
    PayerAccount.objects.create(
        company=company, customer=bianchi, iban="IT39C0503401633000000009876", name=""
    )
    stranger = CustomerFactory(company=other_company, name="Verdi S.r.l.")
    PayerAccount.objects.create(
        company=other_company, customer=stranger, iban="IT22K0100503200000000004321"
    )

    payers = known_payers(company)

    assert dict(payers.customers_by_iban) == {
        "IT66A0306909606100000012345": rossi.pk,
        "IT39C0503401633000000009876": bianchi.pk,
    }
    # The customer without a name has none; the names its payers used count too.
    assert {k: set(v) for k, v in payers.names_by_customer.items()} == {
        rossi.pk: {"Rossi S.r.l.", "Rossi Holding"},
        bianchi.pk: {"Bianchi S.p.A."},
    }


# --------------------------------------------------------------------------------------
# The matching page's entries
# --------------------------------------------------------------------------------------


@pytest.fixture
def entries(company, other_company):
    made = {
        "old": bank_entry(company, "K1", EntryStatus.UNMATCHED, D(2026, 3, 29)),
        "new": bank_entry(company, "K2", EntryStatus.UNMATCHED, D(2026, 3, 31)),
        "proposed": bank_entry(company, "K3", EntryStatus.PROPOSED, D(2026, 3, 30)),
        "matched": bank_entry(company, "K4", EntryStatus.MATCHED, D(2026, 3, 31)),
        "ignored": bank_entry(company, "K5", EntryStatus.IGNORED, D(2026, 3, 31)),
    }
    bank_entry(other_company, "K1", EntryStatus.UNMATCHED, D(2026, 3, 31))
    return made


def test_entries_for_review_newest_first(company, entries):
    assert list(entries_for_review(company)) == [
        entries["new"],
        entries["proposed"],
        entries["old"],
    ]
    assert list(entries_for_review(company, EntryStatus.MATCHED)) == [entries["matched"]]
    # Everything of the company: the three of 31/03 newest id first, then 30/03, 29/03.
    assert list(entries_for_review(company, "all")) == [
        entries["ignored"],
        entries["matched"],
        entries["new"],
        entries["proposed"],
        entries["old"],
    ]


def test_entry_counts_per_tab(company, entries, other_company):
    # Two unmatched + one proposed = three to review.
    assert entry_counts(company) == {
        "unmatched": 2,
        "proposed": 1,
        "matched": 1,
        "ignored": 1,
        "review": 3,
    }
    assert entry_counts(CompanyFactory(code="empty")) == {
        "unmatched": 0,
        "proposed": 0,
        "matched": 0,
        "ignored": 0,
        "review": 0,
    }


def test_entry_suggestions_keep_only_readings_whose_items_are_still_open(
    company, rossi, bianchi, other_company
):
    first = ReceivableFactory(company=company, customer=rossi, open_amount=Decimal("300"))
    second = ReceivableFactory(company=company, customer=rossi, open_amount=Decimal("400"))
    paid = ReceivableFactory(
        company=company,
        customer=bianchi,
        open_amount=Decimal("0"),
        amount=Decimal("50"),
        status=ReceivableStatus.CLOSED,
        closed_on=D(2026, 3, 30),
    )
    foreign = ReceivableFactory(company=other_company, open_amount=Decimal("500.50"))
    other = ReceivableFactory(company=company, customer=bianchi, open_amount=Decimal("500.50"))
    entry = bank_entry(
        company,
        "K1",
        EntryStatus.PROPOSED,
        D(2026, 3, 31),
        amount=Decimal("500.50"),
        suggestions=[
            {
                "customer_id": rossi.pk,
                "allocations": [[first.pk, "300.00"], [second.pk, "200.50"]],
                "reason": "amount_partial",
            },
            # One of its items was paid since: the reading no longer holds.
            {
                "customer_id": bianchi.pk,
                "allocations": [[other.pk, "450.50"], [paid.pk, "50.00"]],
                "reason": "reference",
            },
            {"customer_id": None, "allocations": [[foreign.pk, "500.50"]], "reason": "x"},
            {
                "customer_id": bianchi.pk,
                "allocations": [[other.pk, "500.50"]],
                "reason": "same_amount",
            },
            {"customer_id": bianchi.pk, "allocations": [], "reason": "empty"},
        ],
    )

    views = entry_suggestions(entry)

    assert [v.index for v in views] == [0, 3]
    assert views[0].customer == rossi
    assert views[0].allocations == [(first, Decimal("300.00")), (second, Decimal("200.50"))]
    # 300,00 + 200,50 = 500,50.
    assert views[0].total == Decimal("500.50")
    assert views[0].reason == "amount_partial"
    assert (views[1].customer, views[1].total, views[1].reason) == (
        bianchi,
        Decimal("500.50"),
        "same_amount",
    )


def test_customer_open_items_oldest_due_first(company, rossi, bianchi):
    later = ReceivableFactory(
        company=company, customer=rossi, document_number="B", due_date=D(2026, 4, 10)
    )
    b = ReceivableFactory(
        company=company, customer=rossi, document_number="B", due_date=D(2026, 3, 1)
    )
    a = ReceivableFactory(
        company=company, customer=rossi, document_number="A", due_date=D(2026, 3, 1)
    )
    note = ReceivableFactory(
        company=company,
        customer=rossi,
        document_number="NC",
        due_date=D(2026, 3, 5),
        open_amount=Decimal("-20"),
        document_type=DocumentType.CREDIT_NOTE,
    )
    # Not offered: closed, owing nothing, another customer's.
    ReceivableFactory(
        company=company,
        customer=rossi,
        status=ReceivableStatus.CLOSED,
        open_amount=Decimal("0"),
        amount=Decimal("10"),
        closed_on=D(2026, 3, 2),
    )
    ReceivableFactory(
        company=company, customer=rossi, open_amount=Decimal("0"), amount=Decimal("5")
    )
    ReceivableFactory(company=company, customer=bianchi)

    assert customer_open_items(rossi) == [a, b, note, later]
    assert customer_open_items(rossi, limit=2) == [a, b]


def test_statement_history_is_the_company_s_newest_first(company, other_company):
    older = statement(company, dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC))
    newer = statement(company, dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC))
    statement(other_company)

    history = list(statement_history(company))

    assert history == [newer, older]
    assert history[0].import_run.started_at == dt.datetime(2026, 3, 31, 8, 0, tzinfo=dt.UTC)
