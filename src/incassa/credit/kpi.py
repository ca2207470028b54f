"""Credit KPIs as defined in shared/domain/kpis.md. Pure: no database, no clock.

Every function takes the figures it needs (open items, sales, settled items, the as-of date)
and returns a Decimal rounded half-up to two decimals, so that the numbers on a screen, in a
snapshot and in the JSON of ``incassa kpi`` are the same ones. Intermediate results are never
rounded: only the final figure of each KPI is, which is what a credit manager checking a KPI
by hand with a calculator does. A KPI whose denominator is zero (or meaningless, such as
negative sales) is ``None``, never zero: "no DSO" is not "a DSO of zero days".

Money is Decimal, never float; credit notes are negative amounts and count with their sign in
the receivable totals (open, overdue, aging, AR).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

#: Aging buckets by days past due at the as-of date, in display order.
AGING_BUCKETS: tuple[str, ...] = ("not_due", "1_30", "31_60", "61_90", "91_180", "over_180")
# Upper bound (inclusive) of days past due for each bucket but the last.
_BUCKET_LIMITS: tuple[tuple[int, str], ...] = (
    (0, "not_due"),
    (30, "1_30"),
    (60, "31_60"),
    (90, "61_90"),
    (180, "91_180"),
)


def _round(value: Decimal) -> Decimal:
    """Half-up to the cent, and never ``-0.00`` (which would print as a negative zero)."""
    rounded = value.quantize(CENT, ROUND_HALF_UP)
    return rounded.copy_abs() if rounded == 0 else rounded


def period_days(start: dt.date, end: dt.date) -> int:
    """Days in the period from ``start`` to ``end``, both included (Q1 2026 has 90)."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    return (end - start).days + 1


# --- open items: amounts and aging ------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """One open installment at the as-of date; a credit note has a negative amount."""

    due_date: dt.date
    open_amount: Decimal


def days_overdue(due_date: dt.date, as_of: dt.date) -> int:
    """Days past due at ``as_of``: 0 on the due date itself, negative before it."""
    return (as_of - due_date).days


def aging_bucket(days_overdue: int) -> str:
    """The bucket of an item this many days past due (0 or less is not due: an item due today
    can still be paid today without being late)."""
    for limit, bucket in _BUCKET_LIMITS:
        if days_overdue <= limit:
            return bucket
    return "over_180"


def aging(items: Iterable[OpenItem], as_of: dt.date) -> dict[str, Decimal]:
    """Open amount by bucket, in ``AGING_BUCKETS`` order, every bucket present (zero when
    empty) so that a chart or a table always has the same columns."""
    totals = dict.fromkeys(AGING_BUCKETS, Decimal(0))
    for item in items:
        totals[aging_bucket(days_overdue(item.due_date, as_of))] += item.open_amount
    return {bucket: _round(total) for bucket, total in totals.items()}


def open_amount(items: Iterable[OpenItem]) -> Decimal:
    """What customers owe: every open item, credit notes with their sign."""
    return _round(sum((item.open_amount for item in items), Decimal(0)))


def overdue_amount(items: Iterable[OpenItem], as_of: dt.date) -> Decimal:
    """What is late: items due before ``as_of`` (an item due on ``as_of`` is not late yet),
    credit notes with their sign, so an overdue credit note reduces what is really late."""
    return _round(sum((item.open_amount for item in items if item.due_date < as_of), Decimal(0)))


# --- days sales outstanding -------------------------------------------------------------------


def _days_of_sales(ar: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    # Multiply before dividing: one division, one rounding error at the 28th digit.
    if credit_sales <= 0:
        return None
    return ar * days / credit_sales


def dso_simple(ar_end: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    """AR at period end ÷ credit sales of the period x days in the period.

    ``None`` when the sales are zero, and also when they are negative (credit notes exceeding
    invoices): a number of days of sales needs sales to count in.
    """
    value = _days_of_sales(ar_end, credit_sales, days)
    return None if value is None else _round(value)


def best_possible_dso(current_ar_end: Decimal, credit_sales: Decimal, days: int) -> Decimal | None:
    """The DSO if every customer paid on the due date: not-yet-due AR at period end ÷ credit
    sales x days. ``None`` in the same cases as ``dso_simple``."""
    value = _days_of_sales(current_ar_end, credit_sales, days)
    return None if value is None else _round(value)


def _covered_days(month_start: dt.date, period_end: dt.date) -> int:
    """Days of the month up to the period end: a month the period ends in counts only the days
    whose sales it holds (1-15 March has 15 days of sales, not 31)."""
    last_day = month_start.replace(day=calendar.monthrange(month_start.year, month_start.month)[1])
    return (min(last_day, period_end) - month_start).days + 1


def dso_countback(
    ar_end: Decimal,
    monthly_sales: Sequence[tuple[dt.date, Decimal]],
    period_end: dt.date,
) -> Decimal | None:
    """DSO by the countback method, which seasonality does not distort.

    ``monthly_sales`` are (first day of the month, credit sales of the month), oldest first,
    newest last; the newest month is the one ``period_end`` falls in (or an earlier one), and
    it counts only its days up to ``period_end``. Walking back from the newest month, each
    month's sales are subtracted from the AR at period end: a month whose sales the remaining
    AR covers entirely adds all its days; the month where the AR runs out adds (remaining AR ÷
    its sales) x its days, and the walk stops.

    If the AR exceeds the sales of all the months given, the result is the sum of all their
    days: a lower bound, as the AR is older than the history passed in. Pass enough months
    (a year is the usual choice) for that not to happen.

    AR of zero or less gives 0.00 (nothing is outstanding). ``None`` when no months are given
    or their sales add up to zero or less, as for ``dso_simple``.
    """
    previous: dt.date | None = None
    for month_start, _sales in monthly_sales:
        if month_start.day != 1:
            raise ValueError(f"{month_start} is not the first day of a month")
        if month_start > period_end:
            raise ValueError(f"the month {month_start:%Y-%m} is after the period end {period_end}")
        if previous is not None and month_start <= previous:
            raise ValueError("monthly sales must be in order, oldest first, one row per month")
        previous = month_start
    if not monthly_sales or sum((sales for _, sales in monthly_sales), Decimal(0)) <= 0:
        return None
    if ar_end <= 0:
        return ZERO
    remaining = ar_end
    total = Decimal(0)
    for month_start, sales in reversed(monthly_sales):
        days = _covered_days(month_start, period_end)
        if remaining > sales:
            # The month's sales are all still unpaid (a month without sales, too): whole month.
            total += days
            remaining -= sales
        else:
            # Here 0 < remaining <= sales, so the month is covered in part (or exactly).
            total += remaining * days / sales
            break
    return _round(total)


def add(dso: Decimal | None, best: Decimal | None) -> Decimal | None:
    """Average days delinquent: DSO - best possible DSO, the days lost to late payment.

    Given the rounded DSO and best possible DSO (as ``kpi_report`` does) it is their exact
    difference, so the three figures on a screen add up.
    """
    if dso is None or best is None:
        return None
    return _round(dso - best)


def cei(
    ar_start: Decimal, credit_sales: Decimal, ar_end: Decimal, current_ar_end: Decimal
) -> Decimal | None:
    """Collection effectiveness index, in percent: what was collected ÷ what could have been.

    (AR at start + credit sales - AR at end) ÷ (AR at start + credit sales - not-yet-due AR at
    end) x 100. 100 is perfect; it exceeds 100 only when items not yet due were paid early.
    ``None`` when nothing was collectable (the denominator is zero or less).
    """
    collectable = ar_start + credit_sales - current_ar_end
    if collectable <= 0:
        return None
    collected = ar_start + credit_sales - ar_end
    return _round(collected * HUNDRED / collectable)


# --- settled items: lateness and days to pay --------------------------------------------------


@dataclass(frozen=True)
class SettledItem:
    """An installment and the day it was settled (paid in full)."""

    amount: Decimal
    document_date: dt.date | None
    due_date: dt.date
    paid_on: dt.date


def _weighted_average(pairs: Iterable[tuple[Decimal, int]]) -> Decimal | None:
    # Credit notes (amount <= 0) are not payments by the customer but offsets: weighting with a
    # negative amount would pull the average outside the range of the days observed, and
    # weights adding up to zero would divide by zero. They are left out.
    weight = Decimal(0)
    weighted = Decimal(0)
    for amount, days in pairs:
        if amount > 0:
            weight += amount
            weighted += amount * days
    if weight == 0:
        return None
    return _round(weighted / weight)


def late_share(items_due_in_period: Iterable[SettledItem]) -> Decimal | None:
    """Share of the amount due in the period that was paid after its due date, in percent.

    An item due in the period and still open at the as-of date is passed with ``paid_on`` set
    to the as-of date: it is late if the as-of date is after its due date, and not (yet) late
    otherwise. Credit notes are left out, as for the averages. ``None`` when nothing positive
    was due.
    """
    due = Decimal(0)
    late = Decimal(0)
    for item in items_due_in_period:
        if item.amount <= 0:
            continue
        due += item.amount
        if item.paid_on > item.due_date:
            late += item.amount
    if due == 0:
        return None
    return _round(late * HUNDRED / due)


def average_days_to_pay(settled: Iterable[SettledItem]) -> Decimal | None:
    """Σ amount x (payment date - document date) ÷ Σ amount over the items settled in the
    period. Items without a document date (some ERP exports omit it) are skipped rather than
    guessed. ``None`` when nothing is left to average."""
    return _weighted_average(
        (item.amount, (item.paid_on - item.document_date).days)
        for item in settled
        if item.document_date is not None
    )


def average_days_late(settled: Iterable[SettledItem]) -> Decimal | None:
    """Σ amount x max(0, payment date - due date) ÷ Σ amount over the items settled in the
    period: paying early does not offset paying late. ``None`` when nothing was settled."""
    return _weighted_average(
        (item.amount, max(0, (item.paid_on - item.due_date).days)) for item in settled
    )


# --- one scope's report -----------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(_round(value))


@dataclass(frozen=True)
class KpiReport:
    """Every KPI of one scope (a company, category, sales agent or customer) for a period
    ending on ``as_of``."""

    as_of: dt.date
    period_start: dt.date
    open_amount: Decimal
    overdue_amount: Decimal
    aging: Mapping[str, Decimal]
    dso: Decimal | None
    dso_countback: Decimal | None
    best_possible_dso: Decimal | None
    add: Decimal | None
    cei: Decimal | None
    late_share: Decimal | None
    average_days_to_pay: Decimal | None
    average_days_late: Decimal | None

    def as_json(self) -> dict:
        """JSON-ready: money and KPIs as strings with two decimals ("48.65"), never floats, so
        that no cent is lost on the way; a KPI that cannot be computed is null."""
        return {
            "as_of": self.as_of.isoformat(),
            "period_start": self.period_start.isoformat(),
            "open_amount": _text(self.open_amount),
            "overdue_amount": _text(self.overdue_amount),
            "aging": {
                bucket: _text(self.aging.get(bucket, Decimal(0))) for bucket in AGING_BUCKETS
            },
            "dso": _text(self.dso),
            "dso_countback": _text(self.dso_countback),
            "best_possible_dso": _text(self.best_possible_dso),
            "add": _text(self.add),
            "cei": _text(self.cei),
            "late_share": _text(self.late_share),
            "average_days_to_pay": _text(self.average_days_to_pay),
            "average_days_late": _text(self.average_days_late),
        }

    @classmethod
    def from_json(cls, data: Mapping) -> KpiReport:
        """The report ``as_json`` wrote (a stored snapshot): the same figures, to the cent."""

        def value(key: str) -> Decimal | None:
            return None if data.get(key) is None else Decimal(data[key])

        return cls(
            as_of=dt.date.fromisoformat(data["as_of"]),
            period_start=dt.date.fromisoformat(data["period_start"]),
            open_amount=Decimal(data["open_amount"]),
            overdue_amount=Decimal(data["overdue_amount"]),
            aging={bucket: Decimal(data["aging"][bucket]) for bucket in AGING_BUCKETS},
            dso=value("dso"),
            dso_countback=value("dso_countback"),
            best_possible_dso=value("best_possible_dso"),
            add=value("add"),
            cei=value("cei"),
            late_share=value("late_share"),
            average_days_to_pay=value("average_days_to_pay"),
            average_days_late=value("average_days_late"),
        )


def kpi_report(
    *,
    as_of: dt.date,
    period_start: dt.date,
    items: Iterable[OpenItem],
    ar_start: Decimal,
    credit_sales: Decimal,
    monthly_sales: Sequence[tuple[dt.date, Decimal]] = (),
    due_in_period: Iterable[SettledItem] = (),
    settled_in_period: Iterable[SettledItem] = (),
) -> KpiReport:
    """All the KPIs of one scope for the period from ``period_start`` to ``as_of``.

    ``items`` are the open items at ``as_of`` (the AR at period end; its not-due bucket is the
    current AR), ``ar_start`` the AR at the day before ``period_start``, ``credit_sales`` the
    invoices less credit notes issued in the period, ``monthly_sales`` the months for the
    countback (see ``dso_countback``; none gives ``None``).
    """
    items = list(items)
    days = period_days(period_start, as_of)
    buckets = aging(items, as_of)
    ar_end = open_amount(items)
    current_ar_end = buckets["not_due"]
    dso = dso_simple(ar_end, credit_sales, days)
    best = best_possible_dso(current_ar_end, credit_sales, days)
    return KpiReport(
        as_of=as_of,
        period_start=period_start,
        open_amount=ar_end,
        overdue_amount=overdue_amount(items, as_of),
        aging=buckets,
        dso=dso,
        dso_countback=dso_countback(ar_end, monthly_sales, as_of),
        best_possible_dso=best,
        add=add(dso, best),
        cei=cei(ar_start, credit_sales, ar_end, current_ar_end),
        late_share=late_share(due_in_period),
        average_days_to_pay=average_days_to_pay(settled_in_period),
        average_days_late=average_days_late(settled_in_period),
    )
