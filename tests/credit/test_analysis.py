"""The one-shot credit analysis on a small portfolio worked out by hand, and its invariants.

No database: ``analyze`` is pure. The portfolio, as of 31/03/2026 (days late in brackets):

    customer  due date    days  open amount
    A         21/03/2026   10     1,000.00
    A         14/02/2026   45     3,000.00   (14 days left in February 2026 + 31)
    A         31/03/2026    0       600.00   due today: not yet due
    B         01/03/2026   30     2,000.00
    B         11/03/2026   20      -500.00   a credit note
    B         01/12/2025  120     1,500.00   (30 + 31 + 28 + 31)
    C         01/09/2025  211     2,500.00   (30 + 31 + 30 + 31 + 31 + 28 + 30)
    D         26/03/2026    5       500.00
    D         30/04/2026  -30     4,000.00   not yet due

    open  = 1,000 + 3,000 + 600 + 2,000 - 500 + 1,500 + 2,500 + 500 + 4,000 = 14,600.00
    not due = 600 + 4,000 = 4,600.00; overdue = 14,600 - 4,600 = 10,000.00

The invoices of the last four months: 6,000 (05/12/2025) + 9,000 + 7,500 + 8,000 and a credit
note of -500 (25/03/2026) = 30,000.00, over 01/12/2025-31/03/2026 = 31 + 31 + 28 + 31 = 121 days.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.credit import kpi
from incassa.credit.analysis import (
    DAYS_LATE_BINS,
    REMINDER_RECOVERED_SHARE,
    REMINDER_WINDOW_DAYS,
    analyze,
)

D = Decimal
AS_OF = dt.date(2026, 3, 31)


def day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%d/%m/%Y").date()


def receivables(rows: list[tuple]) -> pl.DataFrame:
    """(customer, due date, open cents[, amount cents]) -> the frame read_receivables gives."""
    return pl.DataFrame(
        {
            "row": list(range(2, len(rows) + 2)),
            "customer_code": [r[0] for r in rows],
            "customer_name": [f"{r[0]} S.r.l." for r in rows],
            "document_number": [f"F{i}" for i in range(len(rows))],
            "due_date": [r[1] for r in rows],
            "amount_cents": [r[3] if len(r) > 3 else r[2] for r in rows],
            "open_amount_cents": [r[2] for r in rows],
        },
        schema_overrides={"due_date": pl.Date, "amount_cents": pl.Int64,
                          "open_amount_cents": pl.Int64},
    )  # fmt: skip


PORTFOLIO = receivables(
    [
        ("A", day("21/03/2026"), 100_000),
        ("A", day("14/02/2026"), 300_000),
        ("A", day("31/03/2026"), 60_000),
        ("B", day("01/03/2026"), 200_000),
        ("B", day("11/03/2026"), -50_000),
        ("B", day("01/12/2025"), 150_000),
        ("C", day("01/09/2025"), 250_000),
        ("D", day("26/03/2026"), 50_000),
        ("D", day("30/04/2026"), 400_000),
    ]
)

INVOICES = pl.DataFrame(
    {
        "customer_code": ["A", "B", "C", "D", "B"],
        "document_number": ["1", "2", "3", "4", "NC1"],
        "document_date": [
            day("05/12/2025"), day("15/01/2026"), day("10/02/2026"), day("20/03/2026"),
            day("25/03/2026"),
        ],
        "due_date": [None] * 5,
        "amount_cents": [600_000, 900_000, 750_000, 800_000, -50_000],
        "open_amount_cents": [None] * 5,
    },
    schema_overrides={"due_date": pl.Date, "open_amount_cents": pl.Int64},
)  # fmt: skip


@pytest.fixture(scope="module")
def with_turnover():
    # Turnover 73,000.00 a year: 200.00 of sales a day.
    return analyze(PORTFOLIO, INVOICES, as_of=AS_OF, turnover=D("73000.00"), invoice_count=100)


@pytest.fixture(scope="module")
def without_turnover():
    return analyze(PORTFOLIO, INVOICES, as_of=AS_OF, turnover=None, invoice_count=None)


def test_totals_and_counts(with_turnover):
    a = with_turnover
    assert (a.open_amount, a.overdue_amount, a.not_due_amount) == (
        D("14600.00"),
        D("10000.00"),
        D("4600.00"),
    )
    assert (a.items, a.overdue_items) == (9, 7)
    assert (a.customers, a.overdue_customers) == (4, 4)
    assert a.has_not_due


def test_aging(with_turnover):
    # 1-30: 1,000 (10 days) + 2,000 (30) - 500 (20) + 500 (5) = 3,000; 31-60: 3,000 (45);
    # 91-180: 1,500 (120); over 180: 2,500 (211); not due: 600 (today) + 4,000 = 4,600.
    assert with_turnover.aging == {
        "not_due": D("4600.00"),
        "1_30": D("3000.00"),
        "31_60": D("3000.00"),
        "61_90": D("0.00"),
        "91_180": D("1500.00"),
        "over_180": D("2500.00"),
    }
    assert with_turnover.aging_items == {
        "not_due": 2, "1_30": 4, "31_60": 1, "61_90": 0, "91_180": 1, "over_180": 1,
    }  # fmt: skip


def test_concentration(with_turnover):
    c = with_turnover.concentration
    # A 1,000 + 3,000 = 4,000; B 2,000 - 500 + 1,500 = 3,000; C 2,500; D 500 (the not-due
    # rows are not overdue). Of 10,000: 40%, 30%, 25%, 5%.
    assert (c.debtors, c.total) == (4, D("10000.00"))
    assert [(d.customer_code, d.amount, d.share) for d in c.top] == [
        ("A", D("4000.00"), D("40.00")),
        ("B", D("3000.00"), D("30.00")),
        ("C", D("2500.00"), D("25.00")),
        ("D", D("500.00"), D("5.00")),
    ]
    assert [(d.customer_name, d.items, d.max_days_late) for d in c.top] == [
        ("A S.r.l.", 2, 45),
        ("B S.r.l.", 3, 120),
        ("C S.r.l.", 1, 211),
        ("D S.r.l.", 1, 5),
    ]
    # With 4 debtors the top 1%, 5%, 10% and 20% are all one debtor (rounded up): A.
    assert c.top_shares == {1: D("40.00"), 5: D("40.00"), 10: D("40.00"), 20: D("40.00")}
    assert c.pareto == (
        (D("0.00"), D("0.00")),
        (D("25.00"), D("40.00")),
        (D("50.00"), D("70.00")),
        (D("75.00"), D("95.00")),
        (D("100.00"), D("100.00")),
    )
    # 4,000 + 3,000 = 7,000 < 8,000; + 2,500 = 9,500: three debtors hold 80%.
    assert (c.debtors_for_80, c.debtors_for_80_share) == (3, D("75.00"))


def test_days_late_distribution(with_turnover):
    bins = {b.key: (b.items, b.amount, b.share) for b in with_turnover.days_late}
    assert bins == {
        "1_15": (2, D("1500.00"), D("15.00")),  # 1,000 (10 days) + 500 (5)
        "16_30": (2, D("1500.00"), D("15.00")),  # 2,000 (30) - 500 (20)
        "31_60": (1, D("3000.00"), D("30.00")),
        "61_90": (0, D("0.00"), D("0.00")),
        "91_180": (1, D("1500.00"), D("15.00")),
        "181_365": (1, D("2500.00"), D("25.00")),
        "over_365": (0, D("0.00"), D("0.00")),
    }
    assert [b.key for b in with_turnover.days_late] == [key for key, _, _ in DAYS_LATE_BINS]


def test_average_days_late_leaves_credit_notes_out(with_turnover):
    # (1,000x10 + 3,000x45 + 2,000x30 + 1,500x120 + 2,500x211 + 500x5) / 10,500
    # = (10,000 + 135,000 + 60,000 + 180,000 + 527,500 + 2,500) / 10,500 = 915,000 / 10,500
    # = 87.142857...
    assert with_turnover.average_days_late == D("87.14")


def test_invoices_period(with_turnover):
    a = with_turnover
    assert (a.invoiced_amount, a.invoiced_documents) == (D("30000.00"), 5)
    # The four months before 31/03 start on 01/12; the first invoice (05/12) is inside them.
    assert (a.invoiced_from, a.invoiced_to, a.invoiced_days) == (
        dt.date(2025, 12, 1),
        AS_OF,
        121,
    )
    assert a.invoiced_dated


def test_dso_on_turnover(with_turnover):
    a = with_turnover
    assert (a.sales_basis, a.daily_sales) == ("turnover", D("200.00"))  # 73,000 / 365
    assert a.dso == D("73.00")  # 14,600 / 200
    assert a.best_possible_dso == D("23.00")  # 4,600 / 200
    assert a.add == D("50.00")  # 10,000 / 200 = 73 - 23
    assert a.average_invoice == D("730.00")  # 73,000 / 100


def test_dso_on_the_invoices_without_turnover(without_turnover):
    a = without_turnover
    # 30,000 / 121 = 247.933...
    assert (a.sales_basis, a.daily_sales) == ("invoiced", D("247.93"))
    assert a.dso == D("58.89")  # 14,600 x 121 / 30,000 = 58.886...
    assert a.best_possible_dso == D("18.55")  # 4,600 x 121 / 30,000 = 18.553...
    assert a.add == D("40.34")  # 58.89 - 18.55
    assert a.average_invoice is None


def test_late_share_is_overdue_over_the_invoices_of_the_period(with_turnover, without_turnover):
    # 10,000 / 30,000 = 33.33%, with or without the turnover.
    assert with_turnover.late_share == without_turnover.late_share == D("33.33")
    assert with_turnover.late_share_basis == "invoiced"


def test_late_share_falls_back_on_turnover_when_the_invoices_add_up_to_nothing():
    empty = INVOICES.with_columns(pl.lit(0, pl.Int64).alias("amount_cents"))
    a = analyze(PORTFOLIO, empty, as_of=AS_OF, turnover=D("73000.00"), invoice_count=None)
    # 73,000 x 121 / 365 = 24,200 invoiced in the period: 10,000 / 24,200 = 41.32%.
    assert (a.late_share, a.late_share_basis) == (D("41.32"), "turnover")
    none = analyze(PORTFOLIO, empty, as_of=AS_OF, turnover=None, invoice_count=None)
    assert (none.late_share, none.late_share_basis, none.dso, none.daily_sales) == (
        None,
        None,
        None,
        None,
    )


def test_reminder_estimate(with_turnover):
    estimate = with_turnover.reminder
    assert (60, D("0.30")) == (REMINDER_WINDOW_DAYS, REMINDER_RECOVERED_SHARE)
    # Up to 60 days late: 1,000 + 3,000 + 2,000 - 500 + 500 = 6,000; 30% = 1,800 paid earlier.
    assert estimate.amount_in_window == D("6000.00")
    assert (estimate.recovered_share, estimate.cash_released) == (D("30.00"), D("1800.00"))
    assert (estimate.overdue_before, estimate.overdue_after) == (D("10000.00"), D("8200.00"))
    # DSO (14,600 - 1,800) / 200 = 64: nine days less, and 9 x 200 = 1,800 released.
    assert (estimate.dso_before, estimate.dso_after, estimate.dso_reduction) == (
        D("73.00"),
        D("64.00"),
        D("9.00"),
    )
    assert estimate.dso_reduction * with_turnover.daily_sales == estimate.cash_released
    assert estimate.late_share_after == D("27.33")  # 8,200 / 30,000


def test_reminder_estimate_on_the_invoices(without_turnover):
    estimate = without_turnover.reminder
    # 12,800 x 121 / 30,000 = 51.626...: 58.89 - 51.63 = 7.26 days (1,800 / 247.93 = 7.26).
    assert (estimate.dso_after, estimate.dso_reduction) == (D("51.63"), D("7.26"))


def test_recovered_share_is_a_parameter():
    a = analyze(PORTFOLIO, INVOICES, as_of=AS_OF, turnover=D("73000.00"), recovered_share=D("0.5"))
    assert a.reminder.cash_released == D("3000.00")  # 6,000 x 50%
    with pytest.raises(ValueError, match="between 0 and 1"):
        analyze(PORTFOLIO, INVOICES, as_of=AS_OF, recovered_share=D("1.5"))


def test_open_amount_missing_falls_back_on_the_amount():
    frame = receivables([("A", day("01/03/2026"), None, 12_345), ("A", day("01/03/2026"), 100)])
    a = analyze(frame, INVOICES, as_of=AS_OF)
    assert a.overdue_amount == D("124.45")  # 123.45 (the amount) + 1.00


def test_a_file_of_overdue_items_only_gives_the_late_part_of_dso():
    overdue_only = PORTFOLIO.filter(pl.col("due_date") < AS_OF)
    a = analyze(overdue_only, INVOICES, as_of=AS_OF, turnover=D("73000.00"))
    assert not a.has_not_due
    assert (a.dso, a.best_possible_dso, a.add) == (D("50.00"), D("0.00"), D("50.00"))


def test_period_without_document_dates_is_the_default_four_months():
    undated = INVOICES.with_columns(pl.lit(None, pl.Date).alias("document_date"))
    a = analyze(PORTFOLIO, undated, as_of=AS_OF)
    assert (a.invoiced_from, a.invoiced_days, a.invoiced_dated) == (
        dt.date(2025, 12, 1),
        121,
        False,
    )


def test_period_starts_at_the_first_invoice_when_the_file_covers_less_or_more():
    # Invoices from 15/01 only: more than a month into the four months, the period is shorter.
    late = INVOICES.filter(pl.col("document_date") >= day("15/01/2026"))
    assert analyze(PORTFOLIO, late, as_of=AS_OF).invoiced_from == day("15/01/2026")
    # An invoice of 01/10/2025: the file goes back six months, and so does the period.
    first = INVOICES.head(1).with_columns(document_date=pl.lit(day("01/10/2025")))
    early = pl.concat([INVOICES, first])
    # 31 (October) + 30 + 31 + 31 + 28 + 31 (March) = 182 days.
    assert analyze(PORTFOLIO, early, as_of=AS_OF).invoiced_days == 182


def test_nothing_overdue():
    nothing = PORTFOLIO.filter(pl.col("due_date") >= AS_OF)
    a = analyze(nothing, INVOICES, as_of=AS_OF, turnover=D("73000.00"))
    assert (a.overdue_amount, a.overdue_items, a.concentration.debtors) == (D("0.00"), 0, 0)
    assert a.concentration.pareto == ()
    assert a.average_days_late is None
    assert a.reminder.cash_released == D("0.00")


def test_invalid_numbers_are_refused():
    with pytest.raises(ValueError, match="turnover"):
        analyze(PORTFOLIO, INVOICES, as_of=AS_OF, turnover=D("0"))
    with pytest.raises(ValueError, match="invoice_count"):
        analyze(PORTFOLIO, INVOICES, as_of=AS_OF, invoice_count=0)


def test_json_has_money_as_strings(with_turnover):
    data = json.loads(json.dumps(with_turnover.as_json()))
    assert data["overdue_amount"] == "10000.00"
    assert data["aging"]["over_180"] == "2500.00"
    assert data["concentration"]["top"][0] == {
        "customer_code": "A",
        "customer_name": "A S.r.l.",
        "amount": "4000.00",
        "share": "40.00",
        "items": 2,
        "max_days_late": 45,
    }
    assert data["concentration"]["top_shares"]["20"] == "40.00"
    assert data["concentration"]["pareto"][-1] == ["100.00", "100.00"]
    assert data["reminder"]["cash_released"] == "1800.00"
    assert data["dso"] == "73.00"
    assert data["invoiced_from"] == "2025-12-01"


# --- invariants -------------------------------------------------------------------------------

ITEMS = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C", "D", "E", "F", "G"]),
        st.integers(min_value=-60, max_value=500),  # days late (negative: not yet due)
        st.integers(min_value=-200_000, max_value=5_000_000),  # cents
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ITEMS)
def test_invariants(items):
    frame = receivables(
        [(code, AS_OF - dt.timedelta(days=days), cents) for code, days, cents in items]
    )
    a = analyze(frame, INVOICES, as_of=AS_OF, turnover=D("100000.00"))
    # The aging adds up to the open amount, the distribution of days late to the overdue.
    assert sum(a.aging.values(), D(0)) == a.open_amount
    assert sum((b.amount for b in a.days_late), D(0)) == a.overdue_amount
    assert a.open_amount == a.overdue_amount + a.not_due_amount
    assert a.aging["not_due"] == a.not_due_amount
    # Shares of the debtors are percentages; the largest ones hold the most.
    c = a.concentration
    for debtor in c.top:
        assert D(0) <= debtor.share <= D(100)  # 0.00 when a cent among thousands
    assert [d.amount for d in c.top] == sorted((d.amount for d in c.top), reverse=True)
    shares = [c.top_shares[k] for k in sorted(c.top_shares)]
    assert all(D(0) <= s <= D(100) for s in shares)
    assert shares == sorted(shares)
    # The Pareto curve rises from (0, 0) to (100, 100), concave: each point is above the
    # diagonal.
    if c.debtors:
        assert c.pareto[0] == (D("0.00"), D("0.00"))
        assert c.pareto[-1] == (D("100.00"), D("100.00"))
        xs = [x for x, _ in c.pareto]
        ys = [y for _, y in c.pareto]
        assert xs == sorted(xs) and ys == sorted(ys)
        assert all(D(0) <= v <= D(100) for v in xs + ys)
        assert all(y >= x - D("0.01") for x, y in c.pareto)
        assert 1 <= c.debtors_for_80 <= c.debtors
    else:
        assert c.pareto == ()
    # The estimate never releases more than is overdue in its window, nor makes DSO rise.
    estimate = a.reminder
    assert D(0) <= estimate.cash_released <= estimate.amount_in_window
    if estimate.dso_reduction is not None:
        assert estimate.dso_reduction >= 0
    # The aging is kpi.aging's: the same buckets, always all present.
    assert tuple(a.aging) == kpi.AGING_BUCKETS


def test_large_portfolio_pareto_is_thinned():
    rows = [(f"C{i:05d}", day("01/03/2026"), 100 + i) for i in range(1000)]
    a = analyze(receivables(rows), INVOICES, as_of=AS_OF)
    assert len(a.concentration.pareto) <= 201
    assert a.concentration.pareto[-1] == (D("100.00"), D("100.00"))
    assert len(a.concentration.top) == 10
