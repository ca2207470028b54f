"""Ledger read queries, checked against figures worked out by hand.

The portfolio (as of 31/03/2026, days past due in brackets):

    customer A  invoice        100,00  due 10/04/2026  (-10)  not due
                invoice        250,50  due 21/03/2026  (10)   1-30
                credit note    -30,00  due 01/03/2026  (30)   1-30
    customer B  invoice      1.000,00  due 30/01/2026  (60)   31-60
                invoice  500,00 of which 200,00 still open,
                                       due 31/12/2025  (90)   61-90
                invoice        400,00  due 01/09/2025  (211)  over 180
    customer C  invoice         75,25  due 31/03/2026  (0)    not due
                invoice        999,99  due 01/01/2026         closed: not counted
    another company's customer: invoice 5.000,00, not counted
"""

import datetime as dt
from decimal import Decimal

import pytest

from incassa.ledger import selectors
from incassa.ledger.models import (
    DocumentType,
    ImportKind,
    ImportStatus,
    Receivable,
    ReceivableStatus,
)
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ImportRunFactory,
    MembershipFactory,
    ReceivableFactory,
    UserFactory,
)

AS_OF = dt.date(2026, 3, 31)


def days_ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


@pytest.fixture
def portfolio(company):
    a = CustomerFactory(company=company, code="A", name="Alfa S.r.l.")
    b = CustomerFactory(company=company, code="B", name="Beta S.p.A.")
    c = CustomerFactory(company=company, code="C", name="Gamma S.n.c.")
    ReceivableFactory(
        company=company, customer=a, due_date=days_ago(-10), open_amount=Decimal("100.00")
    )
    ReceivableFactory(
        company=company, customer=a, due_date=days_ago(10), open_amount=Decimal("250.50")
    )
    ReceivableFactory(
        company=company,
        customer=a,
        due_date=days_ago(30),
        open_amount=Decimal("-30.00"),
        document_type=DocumentType.CREDIT_NOTE,
    )
    ReceivableFactory(
        company=company, customer=b, due_date=days_ago(60), open_amount=Decimal("1000.00")
    )
    ReceivableFactory(
        company=company,
        customer=b,
        due_date=days_ago(90),
        amount=Decimal("500.00"),
        open_amount=Decimal("200.00"),
    )
    ReceivableFactory(
        company=company, customer=b, due_date=dt.date(2025, 9, 1), open_amount=Decimal("400.00")
    )
    ReceivableFactory(company=company, customer=c, due_date=AS_OF, open_amount=Decimal("75.25"))
    ReceivableFactory(
        company=company,
        customer=c,
        due_date=dt.date(2026, 1, 1),
        open_amount=Decimal("0.00"),
        amount=Decimal("999.99"),
        status=ReceivableStatus.CLOSED,
        closed_on=dt.date(2026, 2, 1),
    )
    ReceivableFactory(open_amount=Decimal("5000.00"), due_date=days_ago(45))  # another company
    return {"A": a, "B": b, "C": c}


def test_ledger_summary(company, portfolio):
    summary = selectors.ledger_summary(company=company)
    # 3 (A) + 3 (B) + 1 (C): the closed item and the other company's are not counted.
    assert summary.open_items == 7
    # 100,00 + 250,50 - 30,00 (credit note) + 1.000,00 + 200,00 (what is left of 500,00)
    # + 400,00 + 75,25 = 1.995,75
    assert summary.open_amount == Decimal("1995.75")
    assert summary.customers == 3


def test_ledger_summary_of_an_empty_company(company):
    summary = selectors.ledger_summary(company=company)
    assert (summary.open_items, summary.open_amount, summary.customers) == (0, Decimal("0"), 0)
    assert isinstance(summary.open_amount, Decimal)


def test_dashboard_totals(company, portfolio):
    figures = selectors.dashboard_figures(company=company, as_of=AS_OF)
    assert figures.open_amount == Decimal("1995.75")
    assert figures.open_items == 7
    assert figures.customers == 3
    # Due before 31/03/2026: 250,50 - 30,00 + 1.000,00 + 200,00 + 400,00 = 1.820,50;
    # the item due on 31/03 itself is not overdue yet.
    assert figures.overdue_amount == Decimal("1820.50")
    assert figures.overdue_items == 5
    # 1.820,50 / 1.995,75 = 91,22% -> 91,2
    assert figures.overdue_share == Decimal("91.2")


def test_dashboard_aging(company, portfolio):
    figures = selectors.dashboard_figures(company=company, as_of=AS_OF)
    buckets = {b.key: (b.amount, b.items) for b in figures.aging}
    assert list(buckets) == ["not_due", "1_30", "31_60", "61_90", "91_180", "over_180"]
    assert buckets == {
        "not_due": (Decimal("175.25"), 2),  # 100,00 (-10 days) + 75,25 (0 days)
        "1_30": (Decimal("220.50"), 2),  # 250,50 (10 days) - 30,00 (credit note, 30 days)
        "31_60": (Decimal("1000.00"), 1),  # 60 days
        "61_90": (Decimal("200.00"), 1),  # 90 days, the open part of 500,00
        "91_180": (Decimal("0.00"), 0),
        "over_180": (Decimal("400.00"), 1),  # 211 days
    }
    # The buckets add up to the open amount and the overdue ones to the overdue amount.
    assert sum(b.amount for b in figures.aging) == figures.open_amount
    assert sum(b.amount for b in figures.aging if b.is_overdue) == figures.overdue_amount
    shares = {b.key: b.share for b in figures.aging}
    assert shares["not_due"] == Decimal("8.8")  # 175,25 / 1.995,75 = 8,78%
    assert shares["31_60"] == Decimal("50.1")  # 1.000,00 / 1.995,75 = 50,11%


def test_dashboard_top_debtors(company, portfolio):
    figures = selectors.dashboard_figures(company=company, as_of=AS_OF)
    rows = [
        (d.customer.code, d.open_amount, d.overdue_amount, d.oldest_due_date, d.items)
        for d in figures.top_debtors
    ]
    assert rows == [
        # 1.000,00 + 200,00 + 400,00, all overdue
        ("B", Decimal("1600.00"), Decimal("1600.00"), dt.date(2025, 9, 1), 3),
        # 100,00 + 250,50 - 30,00; overdue 250,50 - 30,00; the credit note is the oldest
        ("A", Decimal("320.50"), Decimal("220.50"), days_ago(30), 3),
        # due today: nothing overdue
        ("C", Decimal("75.25"), Decimal("0.00"), AS_OF, 1),
    ]


def test_top_debtors_are_at_most_ten(company):
    for n in range(12):
        ReceivableFactory(company=company, open_amount=Decimal(100 + n))
    debtors = selectors.top_debtors(company=company, as_of=AS_OF)
    assert len(debtors) == 10
    assert [d.open_amount for d in debtors] == [Decimal(111 - n) for n in range(10)]


def test_dashboard_of_an_empty_company(company):
    figures = selectors.dashboard_figures(company=company, as_of=AS_OF)
    assert figures.open_amount == Decimal("0")
    assert figures.overdue_share == Decimal("0")
    assert [b.items for b in figures.aging] == [0] * 6
    assert figures.top_debtors == []
    assert figures.last_import is None
    assert figures.data_as_of is None


def test_dashboard_runs_a_fixed_number_of_queries(company, portfolio, django_assert_num_queries):
    # whether the open balances are fresh, aging per due date, distinct customers, debtor
    # ranking, debtor details, debtor names, last import: seven, however many items there are.
    with django_assert_num_queries(7):
        selectors.dashboard_figures(company=company, as_of=AS_OF)
    for _ in range(20):
        ReceivableFactory(company=company, due_date=days_ago(100))
    with django_assert_num_queries(7):
        selectors.dashboard_figures(company=company, as_of=AS_OF)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-1, "not_due"),
        (0, "not_due"),
        (1, "1_30"),
        (30, "1_30"),
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "91_180"),
        (180, "91_180"),
        (181, "over_180"),
        (1000, "over_180"),
    ],
)
def test_aging_bucket_edges(company, days, bucket):
    ReceivableFactory(company=company, due_date=days_ago(days), open_amount=Decimal("10.00"))
    figures = selectors.dashboard_figures(company=company, as_of=AS_OF)
    found = {b.key: (b.amount, b.items) for b in figures.aging if b.items}
    assert found == {bucket: (Decimal("10.00"), 1)}
    assert figures.overdue_items == (1 if days > 0 else 0)
    # The pure lookup and the database filter agree with the aggregate.
    spec = selectors.AGING_BUCKETS[selectors.bucket_index(days)]
    assert spec.key == bucket
    assert Receivable.objects.filter(spec.due_date_filter(AS_OF), company=company).count() == 1


def test_last_applied_import_is_the_latest_applied_snapshot(company):
    ImportRunFactory(company=company, as_of=dt.date(2026, 3, 30))
    latest = ImportRunFactory(company=company, as_of=dt.date(2026, 3, 31))
    # Not snapshots that were not applied, nor the issued-invoices import, nor other companies.
    ImportRunFactory(company=company, as_of=dt.date(2026, 4, 2), status=ImportStatus.REJECTED)
    ImportRunFactory(company=company, as_of=dt.date(2026, 4, 3), kind=ImportKind.INVOICES)
    ImportRunFactory(as_of=dt.date(2026, 4, 4))
    figures = selectors.dashboard_figures(company=company, as_of=AS_OF)
    assert figures.last_import == latest
    assert figures.data_as_of == dt.date(2026, 3, 31)


def test_companies_for_user(company):
    other = CompanyFactory()
    member = UserFactory()
    MembershipFactory(user=member, company=company)
    assert list(selectors.companies_for_user(user=member)) == [company]
    superuser = UserFactory(is_superuser=True)
    assert set(selectors.companies_for_user(user=superuser)) == {company, other}
    assert list(selectors.companies_for_user(user=UserFactory())) == []
    member.is_active = False
    assert list(selectors.companies_for_user(user=member)) == []
