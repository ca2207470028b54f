"""The precomputed open balances: what they hold, when they are fresh, and that the pages
reading them show what the live computation shows.

The ledger (as of 31/03/2026):

    customer A  200,00 due 21/03/2026 (overdue), 100,00 due 10/04/2026 (not due),
                -30,00 credit note due 01/03/2026 (overdue)
    customer B  1.000,00 due 30/01/2026 (overdue); 999,99 closed (not counted)
    customer C  nothing open
    another company's customer: 5.000,00 overdue, not counted
"""

import datetime as dt
from decimal import Decimal

import pytest

from incassa.ledger import selectors
from incassa.ledger.balances import fresh_open_balances, open_balances_refresh
from incassa.ledger.models import (
    DocumentType,
    ImportStatus,
    OpenBalance,
    OpenByDueDate,
    ReceivableStatus,
)
from tests.factories import CustomerFactory, ImportRunFactory, ReceivableFactory

AS_OF = dt.date(2026, 3, 31)


@pytest.fixture
def ledger(company):
    a = CustomerFactory(company=company, code="A", name="Alfa S.r.l.")
    b = CustomerFactory(company=company, code="B", name="Beta S.p.A.")
    c = CustomerFactory(company=company, code="C", name="Gamma S.n.c.")
    ReceivableFactory(
        company=company, customer=a, due_date=dt.date(2026, 3, 21), open_amount=Decimal("200")
    )
    ReceivableFactory(
        company=company, customer=a, due_date=dt.date(2026, 4, 10), open_amount=Decimal("100")
    )
    ReceivableFactory(
        company=company,
        customer=a,
        due_date=dt.date(2026, 3, 1),
        open_amount=Decimal("-30"),
        document_type=DocumentType.CREDIT_NOTE,
    )
    ReceivableFactory(
        company=company, customer=b, due_date=dt.date(2026, 1, 30), open_amount=Decimal("1000")
    )
    ReceivableFactory(
        company=company,
        customer=b,
        due_date=dt.date(2026, 1, 1),
        amount=Decimal("999.99"),
        open_amount=Decimal("0"),
        status=ReceivableStatus.CLOSED,
        closed_on=dt.date(2026, 2, 1),
    )
    ReceivableFactory(open_amount=Decimal("5000"), due_date=dt.date(2026, 2, 1))
    ImportRunFactory(company=company, as_of=AS_OF)
    return {"A": a, "B": b, "C": c}


def test_the_balances_of_every_customer(company, ledger):
    # Three customers of the company, the one owing nothing included.
    assert open_balances_refresh(company=company, as_of=AS_OF) == 3
    balances = {b.code: b for b in OpenBalance.objects.filter(company=company)}
    # A: 200 + 100 - 30 = 270 open, of which 200 - 30 = 170 overdue (the 100 is due on
    # 10/04), in three items.
    assert (balances["A"].open_amount, balances["A"].overdue_amount) == (
        Decimal("270.00"),
        Decimal("170.00"),
    )
    assert balances["A"].open_items == 3
    # B: the closed invoice is not counted.
    assert (balances["B"].open_amount, balances["B"].open_items) == (Decimal("1000.00"), 1)
    assert (balances["C"].open_amount, balances["C"].overdue_amount) == (Decimal("0"), Decimal(0))
    assert OpenBalance.objects.count() == 3  # the other company's customer has none


def test_the_open_items_per_due_date(company, ledger):
    open_balances_refresh(company=company, as_of=AS_OF)
    per_day = dict(
        OpenByDueDate.objects.filter(company=company).values_list("due_date", "open_amount")
    )
    # Four open items on four days; the closed one and the other company's are left out.
    assert per_day == {
        dt.date(2026, 3, 21): Decimal("200.00"),
        dt.date(2026, 4, 10): Decimal("100.00"),
        dt.date(2026, 3, 1): Decimal("-30.00"),
        dt.date(2026, 1, 30): Decimal("1000.00"),
    }


def test_a_second_computation_replaces_the_first(company, ledger):
    open_balances_refresh(company=company, as_of=AS_OF)
    ReceivableFactory(
        company=company, customer=ledger["C"], due_date=AS_OF, open_amount=Decimal("75.25")
    )
    open_balances_refresh(company=company, as_of=AS_OF)
    # Still one row per customer; C now owes 75,25, not yet overdue (due on the day).
    assert OpenBalance.objects.filter(company=company).count() == 3
    c = OpenBalance.objects.get(customer=ledger["C"])
    assert (c.open_amount, c.overdue_amount) == (Decimal("75.25"), Decimal("0.00"))


def test_fresh_until_the_next_snapshot(company, ledger):
    assert fresh_open_balances(company) is None  # never computed
    open_balances_refresh(company=company, as_of=AS_OF)
    state = fresh_open_balances(company)
    assert state is not None and state.computed_on == AS_OF
    # A refused snapshot changes nothing; an applied one makes the sums stale.
    ImportRunFactory(company=company, status=ImportStatus.REFUSED)
    assert fresh_open_balances(company) is not None
    ImportRunFactory(company=company, as_of=AS_OF + dt.timedelta(days=1))
    assert fresh_open_balances(company) is None


def test_another_companys_snapshot_does_not_make_them_stale(company, ledger):
    open_balances_refresh(company=company, as_of=AS_OF)
    ImportRunFactory()  # another company's
    assert fresh_open_balances(company) is not None


def _customers_page(company, **filters):
    page = selectors.customer_balances(company=company, as_of=AS_OF, **filters)
    return page.count, [
        (row.customer.code, row.open_amount, row.overdue_amount, row.oldest_due_date)
        for row in page.rows
    ]


@pytest.mark.parametrize(
    "filters", [{}, {"overdue_only": True}, {"search": "alfa"}, {"page": 2, "per_page": 2}]
)
def test_the_customers_list_reads_the_same_from_the_balances(company, ledger, filters):
    live = _customers_page(company, **filters)
    open_balances_refresh(company=company, as_of=AS_OF)
    assert _customers_page(company, **filters) == live


def test_the_customers_list_order(company, ledger):
    open_balances_refresh(company=company, as_of=AS_OF)
    count, rows = _customers_page(company)
    # B (1.000,00 overdue) before A (170,00), then C owing nothing; the oldest open due
    # dates: B 30/01, A 01/03 (the credit note).
    assert count == 3
    assert rows == [
        ("B", Decimal("1000.00"), Decimal("1000.00"), dt.date(2026, 1, 30)),
        ("A", Decimal("270.00"), Decimal("170.00"), dt.date(2026, 3, 1)),
        ("C", Decimal("0"), Decimal("0"), None),
    ]


def test_the_dashboard_reads_the_same_from_the_balances(company, ledger):
    def figures():
        found = selectors.dashboard_figures(company=company, as_of=AS_OF)
        return (
            found.open_amount,
            found.overdue_amount,
            found.customers,
            [(b.key, b.amount, b.items) for b in found.aging],
            [
                (d.customer.code, d.open_amount, d.overdue_amount, d.items)
                for d in found.top_debtors
            ],
        )

    live = figures()
    open_balances_refresh(company=company, as_of=AS_OF)
    assert figures() == live
    # 270 + 1.000 open, 170 + 1.000 overdue; two customers owe something (C does not).
    assert live[:3] == (Decimal("1270.00"), Decimal("1170.00"), 2)
