"""Statutory interest, against examples worked out by hand from the published rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incassa.comms.interest import Kind, MissingRate, RateTable, late_interest

D = Decimal
# ECB main refinancing rate on the first day of each half-year (shared/domain/interest-rates.md).
RATES = RateTable(
    ecb={
        dt.date(2015, 1, 1): D("0.05"),
        dt.date(2015, 7, 1): D("0.05"),
        dt.date(2023, 7, 1): D("4.00"),
        dt.date(2024, 1, 1): D("4.50"),
        dt.date(2024, 7, 1): D("4.25"),
        dt.date(2025, 1, 1): D("3.15"),
        dt.date(2025, 7, 1): D("2.15"),
        dt.date(2026, 1, 1): D("2.15"),
    },
    legal={2024: D("2.50"), 2025: D("2.00"), 2026: D("1.60")},
)


def test_the_worked_example_of_the_rates_file():
    result = late_interest(
        amount=D("1000.00"), due=dt.date(2025, 1, 31), until=dt.date(2025, 12, 31), rates=RATES
    )
    # 01/02-30/06: 150 days at 3.15 + 8 = 11.15%: 1000 x 11.15 x 150 / 36500 = 45.8219 -> 45.82
    # 01/07-31/12: 184 days at 2.15 + 8 = 10.15%: 1000 x 10.15 x 184 / 36500 = 51.1671 -> 51.17
    assert [(p.days, p.rate, p.interest) for p in result.periods] == [
        (150, D("11.15"), D("45.82")),
        (184, D("10.15"), D("51.17")),
    ]
    assert result.interest == D("96.99")
    assert result.compensation == D("40.00")
    assert result.total == D("136.99")


def test_leap_year_is_365_days_unless_chosen():
    # 2024 H1 rate 4.50 + 8 = 12.50%; from 01/01/2024 to 29/02/2024: 60 days.
    # 365 rule: 10000 x 12.5 x 60 / 36500 = 205.4794 -> 205.48
    # 366 rule: 10000 x 12.5 x 60 / 36600 = 204.9180 -> 204.92
    common = {
        "amount": D("10000.00"),
        "due": dt.date(2023, 12, 31),
        "until": dt.date(2024, 2, 29),
        "rates": RATES,
    }
    assert late_interest(**common).interest == D("205.48")
    assert late_interest(**common, leap_366=True).interest == D("204.92")


def test_food_products_and_contracts_before_2013():
    # 2015 H2: ECB 0.05. From 01/07/2015 to 10/07/2015, food: 8 + 2 until 03/07, 8 + 4 after.
    # 01/07-03/07: 3 days at 10.05%: 1000 x 10.05 x 3 / 36500 = 0.8260 -> 0.83
    # 04/07-10/07: 7 days at 12.05%: 1000 x 12.05 x 7 / 36500 = 2.3110 -> 2.31
    food = late_interest(
        amount=D("1000.00"),
        due=dt.date(2015, 6, 30),
        until=dt.date(2015, 7, 10),
        rates=RATES,
        kind=Kind.FOOD,
    )
    assert [(p.days, p.rate, p.interest) for p in food.periods] == [
        (3, D("10.05"), D("0.83")),
        (7, D("12.05"), D("2.31")),
    ]
    # Before 2013: 7 points. 2025 H2, 184 days at 2.15 + 7 = 9.15%:
    # 1000 x 9.15 x 184 / 36500 = 46.1260 -> 46.13
    old = late_interest(
        amount=D("1000.00"),
        due=dt.date(2025, 6, 30),
        until=dt.date(2025, 12, 31),
        rates=RATES,
        contract_before_2013=True,
    )
    assert old.interest == D("46.13")


def test_legal_rate_by_calendar_year_without_compensation():
    # 01/07/2025-31/12/2025: 184 days at 2.00%: 1000 x 2 x 184 / 36500 = 10.0822 -> 10.08
    # 01/01/2026-31/03/2026: 90 days at 1.60%: 1000 x 1.6 x 90 / 36500 = 3.9452 -> 3.95
    result = late_interest(
        amount=D("1000.00"),
        due=dt.date(2025, 6, 30),
        until=dt.date(2026, 3, 31),
        rates=RATES,
        kind=Kind.LEGAL,
    )
    assert [p.interest for p in result.periods] == [D("10.08"), D("3.95")]
    assert result.compensation == D("0.00")


def test_a_partial_payment_closes_a_period():
    # 2025 H1 at 11.15%. 1000 due 31/01, 400 paid on 30/04, calculated to 30/06.
    # 01/02-30/04: 89 days on 1000: 1000 x 11.15 x 89 / 36500 = 27.1877 -> 27.19
    # 01/05-30/06: 61 days on 600: 600 x 11.15 x 61 / 36500 = 11.1806 -> 11.18
    result = late_interest(
        amount=D("1000.00"),
        due=dt.date(2025, 1, 31),
        until=dt.date(2025, 6, 30),
        rates=RATES,
        payments=[(dt.date(2025, 4, 30), D("400.00"))],
    )
    assert [(p.days, p.principal, p.interest) for p in result.periods] == [
        (89, D("1000.00"), D("27.19")),
        (61, D("600.00"), D("11.18")),
    ]


def test_nothing_before_the_day_after_the_due_date():
    result = late_interest(
        amount=D("1000.00"), due=dt.date(2025, 3, 31), until=dt.date(2025, 3, 31), rates=RATES
    )
    assert (result.periods, result.interest, result.compensation) == ((), D("0.00"), D("0.00"))


def test_a_missing_half_year_is_named():
    with pytest.raises(MissingRate, match="2026 H2"):
        late_interest(
            amount=D("1.00"), due=dt.date(2026, 6, 30), until=dt.date(2026, 7, 5), rates=RATES
        )


@given(
    st.integers(min_value=0, max_value=10**9).map(lambda c: D(c) / 100),
    st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 6, 1)),
    st.integers(min_value=0, max_value=600),
)
def test_properties(amount, due, length):
    until = min(due + dt.timedelta(days=length), dt.date(2026, 6, 30))
    result = late_interest(amount=amount, due=due, until=until, rates=RATES)
    # The periods cover every day from the day after the due date to the last day, once.
    assert sum(p.days for p in result.periods) == max((until - due).days, 0)
    # Each period is rounded to the cent and the total is the sum of the rounded periods.
    assert result.interest == sum((p.interest for p in result.periods), D("0.00"))
    assert all(p.interest == p.interest.quantize(D("0.01")) for p in result.periods)
    # One more day never lowers the interest.
    if until < dt.date(2026, 6, 30):
        longer = late_interest(
            amount=amount, due=due, until=until + dt.timedelta(days=1), rates=RATES
        )
        assert longer.interest >= result.interest
