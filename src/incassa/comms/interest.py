"""Statutory late-payment interest, as Italian law computes it. Pure: no database, no clock.

Commercial transactions (D.Lgs. 231/2002 as amended by D.Lgs. 192/2012): from the day after
the due date to the day of payment or calculation, inclusive; simple interest at the ECB
main refinancing rate in force on 1 January or 1 July of each half-year plus 8 points
(7 for contracts concluded before 2013; agricultural and food products 2 more points, 4 more
from 4 July 2015); each period's interest rounded to the cent, the total being the sum of
the rounded periods; plus EUR 40 of fixed compensation per invoice (art. 6). The legal rate
of art. 1284 c.c. (consumers, non-commercial debts) changes by calendar year. The
denominator is 365 days, also in leap years, unless the 366 rule is chosen.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")
COMPENSATION_PER_INVOICE = Decimal("40.00")
FOOD_SURCHARGE_CHANGE = dt.date(2015, 7, 4)


class Kind(StrEnum):
    COMMERCIAL = "commercial"
    FOOD = "food"
    LEGAL = "legal"


class MissingRate(Exception):
    """No rate is known for a half-year (or year) the calculation needs."""

    def __init__(self, period_start: dt.date, kind: str) -> None:
        label = (
            f"{period_start.year}"
            if kind == Kind.LEGAL
            else f"{period_start.year} H{1 if period_start.month < 7 else 2}"
        )
        super().__init__(f"no {'legal' if kind == Kind.LEGAL else 'ECB'} rate for {label}")
        self.period_start = period_start


@dataclass(frozen=True)
class RateTable:
    """ECB main refinancing rates by the first day of their half-year, and legal rates by
    year, in percent."""

    ecb: Mapping[dt.date, Decimal]
    legal: Mapping[int, Decimal]

    def ecb_on(self, day: dt.date) -> Decimal:
        start = half_year_start(day)
        try:
            return self.ecb[start]
        except KeyError:
            raise MissingRate(start, Kind.COMMERCIAL) from None

    def legal_on(self, day: dt.date) -> Decimal:
        try:
            return self.legal[day.year]
        except KeyError:
            raise MissingRate(dt.date(day.year, 1, 1), Kind.LEGAL) from None


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    principal: Decimal
    rate: Decimal  # percent a year
    days: int
    interest: Decimal


@dataclass(frozen=True)
class Interest:
    periods: tuple[Period, ...]
    interest: Decimal
    compensation: Decimal

    @property
    def total(self) -> Decimal:
        return self.interest + self.compensation


def half_year_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 1 if day.month < 7 else 7, 1)


def _boundaries(kind: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """Days from which the rate (or the denominator) may change, within (start, end]."""
    days: set[dt.date] = set()
    for year in range(start.year, end.year + 1):
        days.add(dt.date(year, 1, 1))
        if kind != Kind.LEGAL:
            days.add(dt.date(year, 7, 1))
    if kind == Kind.FOOD:
        days.add(FOOD_SURCHARGE_CHANGE)
    return sorted(d for d in days if start < d <= end)


def _rate(kind: str, day: dt.date, rates: RateTable, points: Decimal) -> Decimal:
    if kind == Kind.LEGAL:
        return rates.legal_on(day)
    rate = rates.ecb_on(day) + points
    if kind == Kind.FOOD:
        rate += Decimal(4) if day >= FOOD_SURCHARGE_CHANGE else Decimal(2)
    return rate


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def late_interest(
    *,
    amount: Decimal,
    due: dt.date,
    until: dt.date,
    rates: RateTable,
    kind: str = Kind.COMMERCIAL,
    payments: Iterable[tuple[dt.date, Decimal]] = (),
    contract_before_2013: bool = False,
    leap_366: bool = False,
    invoices: int = 1,
) -> Interest:
    """Interest on ``amount`` due on ``due``, from the next day to ``until`` inclusive.

    ``payments`` (date, amount) reduce the principal from the day after each payment, which
    closes a period. The compensation applies to commercial and food debts only.
    """
    if amount < 0:
        raise ValueError("the amount must not be negative")
    points = Decimal(7) if contract_before_2013 else Decimal(8)
    start = due + dt.timedelta(days=1)
    cuts = set(_boundaries(kind, start, until))
    reductions: dict[dt.date, Decimal] = {}
    for paid_on, paid in payments:
        if paid_on >= start and paid_on < until:
            day_after = paid_on + dt.timedelta(days=1)
            cuts.add(day_after)
            reductions[day_after] = reductions.get(day_after, Decimal(0)) + paid
        elif paid_on < start:
            amount -= paid
    principal = max(amount, Decimal(0))
    periods: list[Period] = []
    edges = [start, *sorted(cuts), until + dt.timedelta(days=1)]
    for begin, following in itertools.pairwise(edges):
        principal = max(principal - reductions.get(begin, Decimal(0)), Decimal(0))
        end = following - dt.timedelta(days=1)
        days = (following - begin).days
        if days <= 0:
            continue
        rate = _rate(kind, begin, rates, points)
        year_days = 366 if leap_366 and _is_leap(begin.year) else 365
        raw = principal * rate * days / (Decimal(100) * year_days)
        periods.append(Period(begin, end, principal, rate, days, raw.quantize(CENT, ROUND_HALF_UP)))
    total = sum((p.interest for p in periods), Decimal("0.00"))
    compensation = (
        COMPENSATION_PER_INVOICE * invoices
        if kind != Kind.LEGAL and until > due and invoices > 0
        else Decimal("0.00")
    )
    return Interest(periods=tuple(periods), interest=total, compensation=compensation)
