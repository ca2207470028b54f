"""Credit KPIs, against the worked example of shared/domain/kpis.md and figures computed by hand."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.credit.kpi import (
    AGING_BUCKETS,
    KpiReport,
    OpenItem,
    SettledItem,
    add,
    aging,
    aging_bucket,
    average_days_late,
    average_days_to_pay,
    best_possible_dso,
    cei,
    dso_countback,
    dso_simple,
    kpi_report,
    late_share,
    open_amount,
    overdue_amount,
    period_days,
)

D = Decimal
AS_OF = dt.date(2026, 3, 31)

# The worked example of kpis.md: Q1 2026.
Q1_SALES = [
    (dt.date(2026, 1, 1), D("100000.00")),
    (dt.date(2026, 2, 1), D("120000.00")),
    (dt.date(2026, 3, 1), D("150000.00")),
]
Q1_CREDIT_SALES = D("370000.00")
AR_START = D("180000.00")  # at 31/12/2025
AR_END = D("200000.00")  # at 31/03/2026
CURRENT_AR_END = D("110000.00")  # of which not yet due


def due_days_ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


# --- the worked example -----------------------------------------------------------------------


def test_q1_has_90_days():
    # 31 (January) + 28 (February) + 31 (March), both ends included.
    assert period_days(dt.date(2026, 1, 1), AS_OF) == 90
    assert period_days(AS_OF, AS_OF) == 1


def test_period_days_rejects_an_end_before_the_start():
    with pytest.raises(ValueError, match="before it starts"):
        period_days(AS_OF, dt.date(2026, 1, 1))


def test_dso_simple_of_the_worked_example():
    # 200,000 ÷ 370,000 x 90 = 48.6486... -> 48.65
    assert dso_simple(AR_END, Q1_CREDIT_SALES, 90) == D("48.65")


def test_dso_countback_of_the_worked_example():
    # March: 200,000 > 150,000, so all of March's 31 days; 50,000 left.
    # February: 50,000 <= 120,000, so 50,000 ÷ 120,000 x 28 = 11.6666...; the walk stops.
    # 31 + 11.6666... = 42.6666... -> 42.67
    assert dso_countback(AR_END, Q1_SALES, AS_OF) == D("42.67")


def test_best_possible_dso_of_the_worked_example():
    # 110,000 ÷ 370,000 x 90 = 26.7567... -> 26.76
    assert best_possible_dso(CURRENT_AR_END, Q1_CREDIT_SALES, 90) == D("26.76")


def test_add_of_the_worked_example():
    # 48.65 - 26.76 = 21.89 (unrounded: 48.6486 - 26.7568 = 21.8919 -> 21.89 too)
    assert add(D("48.65"), D("26.76")) == D("21.89")


def test_cei_of_the_worked_example():
    # (180,000 + 370,000 - 200,000) ÷ (180,000 + 370,000 - 110,000) x 100
    # = 350,000 ÷ 440,000 x 100 = 79.5454...% -> 79.55
    assert cei(AR_START, Q1_CREDIT_SALES, AR_END, CURRENT_AR_END) == D("79.55")


def test_the_report_of_the_worked_example():
    items = [
        # 110,000 not yet due at 31/03 ...
        OpenItem(due_date=dt.date(2026, 4, 30), open_amount=D("60000.00")),
        OpenItem(due_date=AS_OF, open_amount=D("50000.00")),  # due today: not late yet
        # ... and 90,000 overdue: 31 and 45 days.
        OpenItem(due_date=dt.date(2026, 2, 28), open_amount=D("70000.00")),
        OpenItem(due_date=dt.date(2026, 2, 14), open_amount=D("20000.00")),
    ]
    report = kpi_report(
        as_of=AS_OF,
        period_start=dt.date(2026, 1, 1),
        items=items,
        ar_start=AR_START,
        credit_sales=Q1_CREDIT_SALES,
        monthly_sales=Q1_SALES,
    )
    data = report.as_json()
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "as_of": "2026-03-31",
        "period_start": "2026-01-01",
        "open_amount": "200000.00",
        "overdue_amount": "90000.00",
        "aging": {
            "not_due": "110000.00",
            "1_30": "0.00",
            "31_60": "90000.00",
            "61_90": "0.00",
            "91_180": "0.00",
            "over_180": "0.00",
        },
        "dso": "48.65",
        "dso_countback": "42.67",
        "best_possible_dso": "26.76",
        "add": "21.89",
        "cei": "79.55",
        # Nothing due or settled was passed in: no figures, not zeros.
        "late_share": None,
        "average_days_to_pay": None,
        "average_days_late": None,
    }
    assert list(data["aging"]) == list(AGING_BUCKETS)


def test_as_json_prints_two_decimals_and_no_negative_zero():
    report = KpiReport(
        as_of=AS_OF,
        period_start=dt.date(2026, 1, 1),
        open_amount=D("1234.5"),
        overdue_amount=D("-0.001"),
        aging={"not_due": D("7")},
        dso=D("48.6486"),
        dso_countback=None,
        best_possible_dso=D("0"),
        add=None,
        cei=D("100"),
        late_share=D("12.345"),
        average_days_to_pay=None,
        average_days_late=None,
    )
    data = report.as_json()
    assert data["open_amount"] == "1234.50"
    assert data["overdue_amount"] == "0.00"
    assert data["aging"] == {
        "not_due": "7.00",
        "1_30": "0.00",
        "31_60": "0.00",
        "61_90": "0.00",
        "91_180": "0.00",
        "over_180": "0.00",
    }
    assert data["dso"] == "48.65"
    assert data["dso_countback"] is None
    assert data["best_possible_dso"] == "0.00"
    assert data["cei"] == "100.00"
    assert data["late_share"] == "12.35"  # half-up, not half-even


# --- aging and open amounts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-10, "not_due"),  # due in ten days
        (0, "not_due"),  # due today: can still be paid on time
        (1, "1_30"),  # the first day late
        (30, "1_30"),  # the last day of the first bucket
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "91_180"),
        (180, "91_180"),
        (181, "over_180"),  # the first day past six months
        (3650, "over_180"),
    ],
)
def test_aging_bucket_boundaries(days, bucket):
    assert aging_bucket(days) == bucket


def test_aging_of_a_portfolio_with_every_boundary():
    # One item per boundary, each amount a different power of ten so that a misplaced item
    # shows in the digits of the wrong bucket.
    items = [
        OpenItem(due_date=due_days_ago(0), open_amount=D("1.00")),  # due today: not due
        OpenItem(due_date=due_days_ago(-5), open_amount=D("2.00")),  # due in 5 days: not due
        OpenItem(due_date=due_days_ago(1), open_amount=D("10.00")),  # 1 day late: 1-30
        OpenItem(due_date=due_days_ago(30), open_amount=D("20.00")),  # 30 days: still 1-30
        OpenItem(due_date=due_days_ago(31), open_amount=D("100.00")),  # 31: 31-60
        OpenItem(due_date=due_days_ago(60), open_amount=D("200.00")),  # 60: still 31-60
        OpenItem(due_date=due_days_ago(61), open_amount=D("1000.00")),  # 61: 61-90
        OpenItem(due_date=due_days_ago(90), open_amount=D("2000.00")),  # 90: still 61-90
        OpenItem(due_date=due_days_ago(91), open_amount=D("10000.00")),  # 91: 91-180
        OpenItem(due_date=due_days_ago(180), open_amount=D("20000.00")),  # 180: still 91-180
        OpenItem(due_date=due_days_ago(181), open_amount=D("100000.00")),  # 181: over 180
    ]
    assert aging(items, AS_OF) == {
        "not_due": D("3.00"),
        "1_30": D("30.00"),
        "31_60": D("300.00"),
        "61_90": D("3000.00"),
        "91_180": D("30000.00"),
        "over_180": D("100000.00"),
    }
    assert open_amount(items) == D("133333.00")
    # Everything but the two not-due items (the one due today is not late).
    assert overdue_amount(items, AS_OF) == D("133330.00")


def test_aging_of_nothing_has_every_bucket_at_zero():
    assert aging([], AS_OF) == dict.fromkeys(AGING_BUCKETS, D("0.00"))
    assert list(aging([], AS_OF)) == list(AGING_BUCKETS)
    assert open_amount([]) == D("0.00")
    assert overdue_amount([], AS_OF) == D("0.00")


def test_a_credit_note_counts_with_its_sign():
    items = [
        OpenItem(due_date=due_days_ago(40), open_amount=D("1220.00")),  # invoice, 31-60
        OpenItem(due_date=due_days_ago(35), open_amount=D("-244.00")),  # its credit note, 31-60
        OpenItem(due_date=due_days_ago(-30), open_amount=D("500.00")),  # not due
    ]
    # 1220 - 244 = 976 late; 976 + 500 = 1476 open.
    assert overdue_amount(items, AS_OF) == D("976.00")
    assert open_amount(items) == D("1476.00")
    assert aging(items, AS_OF)["31_60"] == D("976.00")


# --- DSO edge cases ---------------------------------------------------------------------------


def test_no_sales_no_dso():
    assert dso_simple(D("1000.00"), D("0.00"), 90) is None
    assert best_possible_dso(D("1000.00"), D("0.00"), 90) is None
    # Credit notes exceeding invoices: no sales to count days of.
    assert dso_simple(D("1000.00"), D("-10.00"), 90) is None
    assert dso_countback(D("1000.00"), [], AS_OF) is None
    assert dso_countback(D("1000.00"), [(dt.date(2026, 3, 1), D("0.00"))], AS_OF) is None
    assert add(None, D("10.00")) is None
    assert add(D("10.00"), None) is None


def test_no_ar_is_zero_days():
    assert dso_simple(D("0.00"), Q1_CREDIT_SALES, 90) == D("0.00")
    assert dso_countback(D("0.00"), Q1_SALES, AS_OF) == D("0.00")
    assert dso_countback(D("-50.00"), Q1_SALES, AS_OF) == D("0.00")


def test_countback_when_the_ar_exceeds_every_month_given():
    # 500,000 > 370,000: every month is whole, 31 + 28 + 31 = 90 days (a lower bound).
    assert dso_countback(D("500000.00"), Q1_SALES, AS_OF) == D("90.00")


def test_countback_when_the_ar_is_exactly_the_newest_month():
    # 150,000 = March's sales: March whole, 31 days, and nothing of February.
    assert dso_countback(D("150000.00"), Q1_SALES, AS_OF) == D("31.00")


def test_countback_skips_a_month_without_sales_as_a_whole_month():
    months = [(dt.date(2026, 1, 1), D("1000.00")), (dt.date(2026, 2, 1), D("0.00"))]
    # February sold nothing, so the AR is older: 28 days; then 500 ÷ 1000 x 31 = 15.5.
    assert dso_countback(D("500.00"), months, dt.date(2026, 2, 28)) == D("43.50")


def test_countback_counts_only_the_elapsed_days_of_the_last_month():
    months = [(dt.date(2026, 2, 1), D("12000.00")), (dt.date(2026, 3, 1), D("30000.00"))]
    # The period ends on 15/03: March holds 15 days of sales. 15,000 ÷ 30,000 x 15 = 7.5.
    assert dso_countback(D("15000.00"), months, dt.date(2026, 3, 15)) == D("7.50")
    # 36,000: March whole (15 days), 6,000 ÷ 12,000 x 28 = 14 more.
    assert dso_countback(D("36000.00"), months, dt.date(2026, 3, 15)) == D("29.00")


@pytest.mark.parametrize(
    ("months", "message"),
    [
        ([(dt.date(2026, 3, 2), D("1"))], "first day"),
        ([(dt.date(2026, 4, 1), D("1"))], "after the period end"),
        ([(dt.date(2026, 3, 1), D("1")), (dt.date(2026, 2, 1), D("1"))], "oldest first"),
        ([(dt.date(2026, 3, 1), D("1")), (dt.date(2026, 3, 1), D("1"))], "oldest first"),
    ],
)
def test_countback_rejects_months_it_cannot_walk(months, message):
    with pytest.raises(ValueError, match=message):
        dso_countback(D("100.00"), months, AS_OF)


def test_cei_is_none_when_nothing_was_collectable():
    assert cei(D("0.00"), D("0.00"), D("0.00"), D("0.00")) is None
    assert cei(D("100.00"), D("0.00"), D("100.00"), D("100.00")) is None


def test_cei_is_100_when_all_that_was_due_was_collected():
    # 1000 at start + 5000 sold; 2000 left at the end, all of it not yet due.
    assert cei(D("1000.00"), D("5000.00"), D("2000.00"), D("2000.00")) == D("100.00")


# --- settled items ----------------------------------------------------------------------------

SETTLED = [
    # 10/01 -> 09/02 is 30 days to pay, paid on the due date: 0 days late.
    SettledItem(
        amount=D("1000.00"),
        document_date=dt.date(2026, 1, 10),
        due_date=dt.date(2026, 2, 9),
        paid_on=dt.date(2026, 2, 9),
    ),
    # 15/01 -> 16/03 is 16 + 28 + 16 = 60 days to pay; due 14/02, so 14 + 16 = 30 days late.
    SettledItem(
        amount=D("2000.00"),
        document_date=dt.date(2026, 1, 15),
        due_date=dt.date(2026, 2, 14),
        paid_on=dt.date(2026, 3, 16),
    ),
    # 01/02 -> 25/02 is 24 days to pay; due 03/03, paid 6 days early: 0 days late, not -6.
    SettledItem(
        amount=D("500.00"),
        document_date=dt.date(2026, 2, 1),
        due_date=dt.date(2026, 3, 3),
        paid_on=dt.date(2026, 2, 25),
    ),
]


def test_average_days_to_pay_by_hand():
    # (1000 x 30 + 2000 x 60 + 500 x 24) ÷ 3500 = 162,000 ÷ 3500 = 46.2857... -> 46.29
    assert average_days_to_pay(SETTLED) == D("46.29")


def test_average_days_late_by_hand():
    # (1000 x 0 + 2000 x 30 + 500 x 0) ÷ 3500 = 60,000 ÷ 3500 = 17.1428... -> 17.14
    assert average_days_late(SETTLED) == D("17.14")


def test_late_share_by_hand():
    # Only the 2000 was paid after its due date: 2000 ÷ 3500 x 100 = 57.1428...% -> 57.14
    assert late_share(SETTLED) == D("57.14")


def test_an_item_without_document_date_counts_for_lateness_only():
    undated = SettledItem(
        amount=D("3500.00"),
        document_date=None,
        due_date=dt.date(2026, 3, 1),
        paid_on=dt.date(2026, 3, 11),  # 10 days late
    )
    # Days to pay: unchanged, the undated item is skipped.
    assert average_days_to_pay([*SETTLED, undated]) == D("46.29")
    # Days late: (60,000 + 3500 x 10) ÷ 7000 = 95,000 ÷ 7000 = 13.5714... -> 13.57
    assert average_days_late([*SETTLED, undated]) == D("13.57")
    assert average_days_to_pay([undated]) is None


def test_credit_notes_are_left_out_of_the_payment_figures():
    credit_note = SettledItem(
        amount=D("-1000.00"),
        document_date=dt.date(2026, 1, 20),
        due_date=dt.date(2026, 1, 20),
        paid_on=dt.date(2026, 3, 31),
    )
    assert average_days_to_pay([*SETTLED, credit_note]) == D("46.29")
    assert average_days_late([*SETTLED, credit_note]) == D("17.14")
    assert late_share([*SETTLED, credit_note]) == D("57.14")
    assert late_share([credit_note]) is None


def test_nothing_settled_no_figures():
    assert late_share([]) is None
    assert average_days_to_pay([]) is None
    assert average_days_late([]) is None


# --- properties -------------------------------------------------------------------------------

cents = st.integers(-(10**9), 10**9).map(lambda c: D(c) / 100)
positive_cents = st.integers(1, 10**9).map(lambda c: D(c) / 100)
open_items = st.lists(
    st.builds(
        OpenItem,
        due_date=st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)),
        open_amount=cents,
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(items=open_items)
def test_aging_buckets_add_up_to_the_open_amount(items):
    buckets = aging(items, AS_OF)
    assert list(buckets) == list(AGING_BUCKETS)
    assert sum(buckets.values()) == open_amount(items)
    # Everything not in "not_due" is overdue.
    assert buckets["not_due"] + overdue_amount(items, AS_OF) == open_amount(items)


@settings(max_examples=200, deadline=None)
@given(
    ar=st.tuples(cents, cents).map(sorted),
    sales=positive_cents,
    days=st.integers(1, 366),
)
def test_dso_simple_grows_with_the_ar(ar, sales, days):
    lower, higher = ar
    assert dso_simple(lower, sales, days) <= dso_simple(higher, sales, days)


months_with_sales = st.lists(cents, min_size=1, max_size=24).map(
    lambda amounts: [
        (dt.date(2024 + i // 12, i % 12 + 1, 1), amount) for i, amount in enumerate(amounts)
    ]
)


def covered_days(months, period_end):
    return (period_end - months[0][0]).days + 1


def end_of_last_month(months):
    last = months[-1][0]
    return (last.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


@settings(max_examples=200, deadline=None)
@given(months=months_with_sales, ar_end=cents)
def test_countback_stays_within_the_months_given(months, ar_end):
    # Each month adds at most its own days (the partly covered one remaining ÷ sales ≤ 1 of
    # them), so the countback never exceeds the days of the months given, whatever the AR; it
    # is the whole span only when the AR is not covered before the oldest month.
    period_end = end_of_last_month(months)
    result = dso_countback(ar_end, months, period_end)
    if sum(amount for _, amount in months) <= 0:
        assert result is None
    else:
        assert D(0) <= result <= covered_days(months, period_end)


@settings(max_examples=200, deadline=None)
@given(
    months=st.lists(positive_cents, min_size=1, max_size=24).map(
        lambda amounts: [
            (dt.date(2024 + i // 12, i % 12 + 1, 1), amount) for i, amount in enumerate(amounts)
        ]
    ),
    ar=st.tuples(cents, cents).map(sorted),
)
def test_countback_grows_with_the_ar(months, ar):
    period_end = end_of_last_month(months)
    lower, higher = ar
    assert dso_countback(lower, months, period_end) <= dso_countback(higher, months, period_end)


@settings(max_examples=200, deadline=None)
@given(sales=positive_cents, share=st.integers(1, 100), day=st.integers(1, 31))
def test_countback_of_one_month_is_the_simple_dso(sales, share, day):
    # With one month whose sales cover the AR, both methods are AR ÷ sales x days.
    ar_end = (sales * share / 100).quantize(D("0.01"))
    if ar_end <= 0:
        return
    month = dt.date(2026, 3, 1)
    period_end = month.replace(day=day)
    assert dso_countback(ar_end, [(month, sales)], period_end) == dso_simple(ar_end, sales, day)


@settings(max_examples=200, deadline=None)
@given(ar_start=cents, sales=cents, current=cents, overdue=st.integers(0, 10**9))
def test_cei_is_at_most_100_when_the_end_ar_includes_the_current_ar(
    ar_start, sales, current, overdue
):
    # CEI = (X - ar_end) ÷ (X - current) with X = ar_start + sales: when ar_end ≥ current and
    # the denominator is positive, the numerator is at most the denominator.
    ar_end = current + D(overdue) / 100
    result = cei(ar_start, sales, ar_end, current)
    if ar_start + sales - current <= 0:
        assert result is None
    else:
        assert result <= 100
        if overdue == 0:
            assert result == 100


settled_items = st.lists(
    st.builds(
        SettledItem,
        amount=cents,
        document_date=st.one_of(st.none(), st.dates(dt.date(2025, 1, 1), dt.date(2025, 12, 31))),
        due_date=st.dates(dt.date(2025, 1, 1), dt.date(2026, 12, 31)),
        paid_on=st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(items=settled_items)
def test_payment_figures_stay_within_what_was_observed(items):
    paid = [item for item in items if item.amount > 0]
    late = [max(0, (item.paid_on - item.due_date).days) for item in paid]
    to_pay = [(i.paid_on - i.document_date).days for i in paid if i.document_date is not None]
    share = late_share(items)
    days_late = average_days_late(items)
    days_to_pay = average_days_to_pay(items)
    if not paid:
        assert share is None
        assert days_late is None
    else:
        assert 0 <= share <= 100
        # A weighted average lies between the smallest and the largest value averaged.
        assert min(late) <= days_late <= max(late)
        if max(late) == 0:
            assert share == 0
            assert days_late == 0
    if not to_pay:
        assert days_to_pay is None
    else:
        assert min(to_pay) <= days_to_pay <= max(to_pay)
