"""The one-shot credit analysis of a prospect's portfolio: pure figures, no database.

A company that is not a user yet hands over two files and two numbers: the detail of its
overdue items today (the *scadenziario dello scaduto*), the detail of the invoices it issued in
the last four months, its turnover of the last year (VAT included) and the number of invoices
of that year. ``analyze`` turns the two frames ``ledger.parsing.read_receivables`` reads them
into (cents in ``amount_cents`` / ``open_amount_cents``) and the two numbers into an
``Analysis``: aging, concentration, days late, DSO, the share of turnover that is late, and an
estimate of what a structured reminder process would bring in earlier.

Every KPI formula comes from ``incassa.credit.kpi``; this module only chooses what to feed it
and adds what kpis.md does not define (concentration, the days-late distribution, the
estimate). Money is Decimal, rounded half-up to the cent only in the final figures; shares
are percentages with two decimals. Nothing here reads the clock: ``as_of`` is an argument.

Sign conventions follow the ledger: a credit note is a negative amount and counts with its sign
in the totals, the aging and the per-customer balances; it is left out of the weighted average
of days late (as in kpi.average_days_late) and a customer whose overdue balance is zero or less
is not a debtor for the concentration.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

from incassa.credit import kpi

__all__ = [
    "DAYS_LATE_BINS",
    "DEFAULT_INVOICED_MONTHS",
    "PARETO_MAX_POINTS",
    "REMINDER_RECOVERED_SHARE",
    "REMINDER_WINDOW_DAYS",
    "TOP_DEBTORS",
    "TOP_SHARES",
    "YEAR_DAYS",
    "Analysis",
    "Concentration",
    "DaysLateBin",
    "Debtor",
    "ReminderEstimate",
    "analyze",
]

CENT = kpi.CENT
HUNDRED = kpi.HUNDRED
YEAR_DAYS = 365

#: How many of the largest debtors are listed by name.
TOP_DEBTORS = 10
#: The shares of debtors (in percent, the largest first) whose share of the overdue is shown.
TOP_SHARES: tuple[int, ...] = (1, 5, 10, 20)
#: The Pareto curve is thinned to at most this many points (plus the origin) for the chart and
#: the JSON; a portfolio of 20,000 debtors does not need 20,000 points to draw a curve.
PARETO_MAX_POINTS = 200
#: When the invoices file has no document dates, its period is taken to be this many months
#: before the as-of date (the brief the prospect receives asks for four).
DEFAULT_INVOICED_MONTHS = 4

#: Bins of days past due for the distribution of lateness: (key, first day, last day or None).
DAYS_LATE_BINS: tuple[tuple[str, int, int | None], ...] = (
    ("1_15", 1, 15),
    ("16_30", 16, 30),
    ("31_60", 31, 60),
    ("61_90", 61, 90),
    ("91_180", 91, 180),
    ("181_365", 181, 365),
    ("over_365", 366, None),
)

# --- the estimate of a structured reminder process ----------------------------------------
#: Assumption: a structured process (a courtesy reminder a few days before the due date, a
#: reminder within a week after it, a call and a second reminder within the second month)
#: acts on the items up to this many days late; older arrears need escalation (formal notice,
#: an agency, a lawyer) and are assumed unchanged.
REMINDER_WINDOW_DAYS = 60
#: Assumption: of the amount 1 to ``REMINDER_WINDOW_DAYS`` days late, this share is late only
#: because nobody asked in time (the invoice was forgotten, not yet approved, lost in a mailbox)
#: and is paid straight away once the process asks: it leaves the overdue. A cautious round
#: figure chosen for this estimate, not a measurement of this company or a published
#: statistic; change it here to see a more or less cautious estimate.
REMINDER_RECOVERED_SHARE = Decimal("0.30")


def _money(value: Decimal) -> Decimal:
    """Half-up to the cent, never ``-0.00``."""
    rounded = value.quantize(CENT, ROUND_HALF_UP)
    return rounded.copy_abs() if rounded == 0 else rounded


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part`` as a percentage of ``whole`` (two decimals), ``None`` when ``whole`` is not
    positive."""
    if whole <= 0:
        return None
    return _money(part * HUNDRED / whole)


def _cents(value: int | None) -> Decimal:
    return Decimal(value or 0).scaleb(-2)


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(_money(value))


def _minus_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` months earlier (the month's last day when it has fewer days)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Debtor:
    """One customer's overdue balance and its share of what all debtors owe late."""

    customer_code: str
    customer_name: str
    amount: Decimal
    share: Decimal
    items: int
    max_days_late: int

    def as_json(self) -> dict:
        return {
            "customer_code": self.customer_code,
            "customer_name": self.customer_name,
            "amount": _text(self.amount),
            "share": _text(self.share),
            "items": self.items,
            "max_days_late": self.max_days_late,
        }


@dataclass(frozen=True)
class Concentration:
    """How the overdue is spread over the debtors (customers with a positive overdue balance).

    Shares are percentages of ``total``, the sum of the debtors' balances (equal to the overdue
    amount unless some customer's credit notes exceed what it owes late).
    """

    debtors: int
    total: Decimal
    top: tuple[Debtor, ...]
    top_shares: Mapping[int, Decimal]  # share of debtors (%) -> share of the overdue (%)
    pareto: tuple[tuple[Decimal, Decimal], ...]  # (share of debtors %, cumulative share %)
    debtors_for_80: int  # the fewest debtors that hold 80% of the overdue
    debtors_for_80_share: Decimal | None  # ... as a share of the debtors (%)

    def top_count(self, share: int) -> int:
        """How many debtors the largest ``share`` percent of them are: rounded up, at least
        one (the largest 20% of 4 debtors is 1 debtor, of 15 debtors 3)."""
        return _top_count(self.debtors, share)

    def as_json(self) -> dict:
        return {
            "debtors": self.debtors,
            "total": _text(self.total),
            "top": [debtor.as_json() for debtor in self.top],
            "top_shares": {str(k): _text(v) for k, v in self.top_shares.items()},
            "pareto": [[_text(x), _text(y)] for x, y in self.pareto],
            "debtors_for_80": self.debtors_for_80,
            "debtors_for_80_share": _text(self.debtors_for_80_share),
        }


@dataclass(frozen=True)
class DaysLateBin:
    """Overdue items ``low`` to ``high`` days late (``high`` None: no upper limit)."""

    key: str
    low: int
    high: int | None
    items: int
    amount: Decimal
    share: Decimal | None  # of the overdue amount, %

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "low": self.low,
            "high": self.high,
            "items": self.items,
            "amount": _text(self.amount),
            "share": _text(self.share),
        }


@dataclass(frozen=True)
class ReminderEstimate:
    """What a structured reminder process would change: an estimate, see the module constants.

    ``cash_released`` is the overdue amount brought in earlier: ``recovered_share`` of the
    amount up to ``window_days`` late. It leaves the receivables, so the DSO falls by
    ``cash_released`` ÷ daily sales days: ``dso_reduction`` x daily sales = ``cash_released``
    (up to the rounding of the two DSOs).
    """

    window_days: int
    recovered_share: Decimal  # %, the assumption
    amount_in_window: Decimal
    cash_released: Decimal
    overdue_before: Decimal
    overdue_after: Decimal
    dso_before: Decimal | None
    dso_after: Decimal | None
    dso_reduction: Decimal | None
    late_share_after: Decimal | None

    def as_json(self) -> dict:
        return {
            "window_days": self.window_days,
            "recovered_share": _text(self.recovered_share),
            "amount_in_window": _text(self.amount_in_window),
            "cash_released": _text(self.cash_released),
            "overdue_before": _text(self.overdue_before),
            "overdue_after": _text(self.overdue_after),
            "dso_before": _text(self.dso_before),
            "dso_after": _text(self.dso_after),
            "dso_reduction": _text(self.dso_reduction),
            "late_share_after": _text(self.late_share_after),
        }


@dataclass(frozen=True)
class Analysis:
    """Every figure of the report. Money in euro (Decimal, two decimals), shares in percent,
    days as Decimal with two decimals; ``None`` where a figure cannot be computed."""

    as_of: dt.date
    # The receivables file.
    open_amount: Decimal  # every row: overdue + not due
    overdue_amount: Decimal  # rows due before as_of
    not_due_amount: Decimal  # rows due on as_of or later (0 in a file of overdue items only)
    items: int
    overdue_items: int
    customers: int
    overdue_customers: int  # customers with at least one overdue row
    aging: Mapping[str, Decimal]  # kpi.AGING_BUCKETS -> amount
    aging_items: Mapping[str, int]
    concentration: Concentration
    days_late: tuple[DaysLateBin, ...]
    average_days_late: Decimal | None  # weighted by amount, overdue invoices only
    # The invoices file and the two numbers.
    invoiced_amount: Decimal
    invoiced_documents: int
    invoiced_from: dt.date
    invoiced_to: dt.date
    invoiced_days: int
    invoiced_dated: bool  # False: no document dates, the period is the default four months
    turnover: Decimal | None
    invoice_count: int | None
    average_invoice: Decimal | None
    # KPIs.
    daily_sales: Decimal | None
    sales_basis: str | None  # "turnover" | "invoiced" | None
    dso: Decimal | None
    best_possible_dso: Decimal | None
    add: Decimal | None  # days of sales overdue: the part of DSO due to late payment
    late_share: Decimal | None
    late_share_basis: str | None  # "invoiced" | "turnover" | None
    reminder: ReminderEstimate

    @property
    def has_not_due(self) -> bool:
        """Whether the receivables file also held items not yet due (then DSO is the full
        DSO; otherwise it is only its late part)."""
        return self.items > self.overdue_items

    def as_json(self) -> dict:
        """JSON-ready: money and figures as strings with two decimals, never floats."""
        return {
            "as_of": self.as_of.isoformat(),
            "open_amount": _text(self.open_amount),
            "overdue_amount": _text(self.overdue_amount),
            "not_due_amount": _text(self.not_due_amount),
            "items": self.items,
            "overdue_items": self.overdue_items,
            "customers": self.customers,
            "overdue_customers": self.overdue_customers,
            "aging": {bucket: _text(self.aging[bucket]) for bucket in kpi.AGING_BUCKETS},
            "aging_items": {bucket: self.aging_items[bucket] for bucket in kpi.AGING_BUCKETS},
            "concentration": self.concentration.as_json(),
            "days_late": [bin_.as_json() for bin_ in self.days_late],
            "average_days_late": _text(self.average_days_late),
            "invoiced_amount": _text(self.invoiced_amount),
            "invoiced_documents": self.invoiced_documents,
            "invoiced_from": self.invoiced_from.isoformat(),
            "invoiced_to": self.invoiced_to.isoformat(),
            "invoiced_days": self.invoiced_days,
            "invoiced_dated": self.invoiced_dated,
            "turnover": _text(self.turnover),
            "invoice_count": self.invoice_count,
            "average_invoice": _text(self.average_invoice),
            "daily_sales": _text(self.daily_sales),
            "sales_basis": self.sales_basis,
            "dso": _text(self.dso),
            "best_possible_dso": _text(self.best_possible_dso),
            "add": _text(self.add),
            "late_share": _text(self.late_share),
            "late_share_basis": self.late_share_basis,
            "reminder": self.reminder.as_json(),
        }


# --------------------------------------------------------------------------------------------
# The analysis
# --------------------------------------------------------------------------------------------


def _with_amount(frame: pl.DataFrame, preferred: str, fallback: str) -> pl.DataFrame:
    """The frame with an ``__cents`` column: ``preferred`` cents, else ``fallback`` cents."""
    columns = [c for c in (preferred, fallback) if c in frame.columns]
    if not columns:
        raise ValueError(f"the frame has neither {preferred} nor {fallback}")
    return frame.with_columns(pl.coalesce([pl.col(c) for c in columns]).fill_null(0).alias("__c"))


def _top_count(debtors: int, share: int) -> int:
    return max(1, math.ceil(debtors * share / 100)) if debtors else 0


def _pareto(amounts: list[Decimal], total: Decimal) -> tuple[tuple[Decimal, Decimal], ...]:
    """(share of debtors, cumulative share of the amount), the largest debtors first, from
    (0, 0) to (100, 100); thinned to ``PARETO_MAX_POINTS`` points for large portfolios."""
    n = len(amounts)
    if n == 0 or total <= 0:
        return ()
    if n <= PARETO_MAX_POINTS:
        marks = list(range(1, n + 1))
    else:
        marks = sorted({math.ceil(i * n / PARETO_MAX_POINTS) for i in range(1, PARETO_MAX_POINTS)})
        marks.append(n)
    points = [(Decimal("0.00"), Decimal("0.00"))]
    running = Decimal(0)
    done = 0
    for mark in marks:
        running += sum(amounts[done:mark], Decimal(0))
        done = mark
        points.append((_money(Decimal(mark) * HUNDRED / n), _money(running * HUNDRED / total)))
    return tuple(points)


def _concentration(overdue: pl.DataFrame, as_of: dt.date) -> Concentration:
    by_customer = (
        overdue.group_by("customer_code")
        .agg(
            pl.col("__c").sum().alias("cents"),
            pl.col("customer_name").drop_nulls().first().alias("name"),
            pl.len().alias("items"),
            pl.col("due_date").min().alias("oldest"),
        )
        .filter(pl.col("cents") > 0)
        .sort(["cents", "customer_code"], descending=[True, False])
    )
    rows = by_customer.rows(named=True)
    amounts = [_cents(row["cents"]) for row in rows]
    total = sum(amounts, Decimal(0))
    n = len(rows)
    top = tuple(
        Debtor(
            customer_code=row["customer_code"],
            customer_name=row["name"] or "",
            amount=amount,
            share=_percent(amount, total) or Decimal("0.00"),
            items=row["items"],
            max_days_late=kpi.days_overdue(row["oldest"], as_of),
        )
        for row, amount in zip(rows[:TOP_DEBTORS], amounts[:TOP_DEBTORS], strict=True)
    )
    top_shares: dict[int, Decimal] = {}
    if n:
        for share in TOP_SHARES:
            held = _percent(sum(amounts[: _top_count(n, share)], Decimal(0)), total)
            top_shares[share] = held if held is not None else Decimal("0.00")
    for_80 = 0
    running = Decimal(0)
    for amount in amounts:
        if total <= 0 or running * 100 >= total * 80:
            break
        running += amount
        for_80 += 1
    return Concentration(
        debtors=n,
        total=_money(total),
        top=top,
        top_shares=top_shares,
        pareto=_pareto(amounts, total),
        debtors_for_80=for_80,
        debtors_for_80_share=_percent(Decimal(for_80), Decimal(n)),
    )


def _days_late(overdue: pl.DataFrame, overdue_amount: Decimal) -> tuple[DaysLateBin, ...]:
    result = []
    for key, low, high in DAYS_LATE_BINS:
        within = pl.col("__days") >= low
        if high is not None:
            within = within & (pl.col("__days") <= high)
        items, cents = overdue.filter(within).select(pl.len(), pl.col("__c").sum()).row(0)
        amount = _cents(cents)
        result.append(
            DaysLateBin(
                key=key,
                low=low,
                high=high,
                items=items,
                amount=amount,
                share=_percent(amount, overdue_amount),
            )
        )
    return tuple(result)


def _invoiced_period(invoiced: pl.DataFrame, as_of: dt.date) -> tuple[dt.date, dt.date, bool]:
    """The days the invoices cover, both ends included, and whether the file was dated.

    The period is the ``DEFAULT_INVOICED_MONTHS`` months before ``as_of`` (what the prospect
    was asked for: 1 December to 31 March for an analysis as of 31 March), even when the first
    invoice of the file is a few days into it. It starts earlier when the file goes further
    back, and later, at the first invoice, when the file starts more than a month into it
    (it then covers less than was asked). A row's date is its document date, else its due
    date; it ends at ``as_of``, or at the last date when the file goes beyond it.
    """
    nominal = _minus_months(as_of, DEFAULT_INVOICED_MONTHS) + dt.timedelta(days=1)
    dates = [pl.col(name) for name in ("document_date", "due_date") if name in invoiced.columns]
    first = last = None
    if dates and invoiced.height:
        first, last = invoiced.select(
            pl.coalesce(dates).min().alias("first"), pl.coalesce(dates).max().alias("last")
        ).row(0)
    if first is None:
        return nominal, as_of, False
    if first > nominal and (first - nominal).days <= 31:
        first = nominal
    return min(first, as_of), max(last, as_of), True


def analyze(
    overdue: pl.DataFrame,
    invoiced: pl.DataFrame,
    *,
    as_of: dt.date,
    turnover: Decimal | None = None,
    invoice_count: int | None = None,
    recovered_share: Decimal = REMINDER_RECOVERED_SHARE,
) -> Analysis:
    """The analysis of a portfolio at ``as_of``.

    ``overdue`` is the receivables frame (``read_receivables(...).frame``: ``customer_code``,
    ``customer_name``, ``document_number``, ``due_date``, ``open_amount_cents`` and/or
    ``amount_cents``); each row counts for its open amount, or its amount when the open amount
    is missing. A row due on ``as_of`` or later is *not due*: the file may hold such rows
    (then the open amount exceeds the overdue and the DSO is the full DSO).

    ``invoiced`` is the invoices frame (``amount_cents``, else ``open_amount_cents``;
    ``document_date``): the invoices issued in the last months before ``as_of``, credit notes
    negative. The days they cover are the four months before ``as_of`` unless the file says
    otherwise (see ``_invoiced_period``).

    ``turnover`` is the invoiced amount of the last year (VAT included, as are receivables);
    ``invoice_count`` the number of invoices of that year.

    Daily sales are ``turnover`` ÷ 365 when it is given (a whole year is not distorted by
    seasonality), otherwise the invoices ÷ the days they cover. Then (kpi.dso_simple and
    kpi.best_possible_dso):

    - DSO = open amount ÷ daily sales; best possible DSO = not-due amount ÷ daily sales;
      ADD = DSO - best possible DSO, the days of sales that are overdue. With a file of overdue
      items only, DSO = ADD: the part of DSO due to late payment.

    - Late share of turnover = overdue ÷ the invoices of the last four months, in percent.
      kpis.md defines it as the amount paid late ÷ the amount due in a period, which needs
      payment dates a one-shot analysis does not have; the overdue stock over the recent
      invoicing is its proxy. The invoices of the period are preferred to turnover ÷ 3
      because they are the sales the present overdue mostly comes from, with this year's
      seasonality and growth, and the prospect's own file can be checked line by line; only
      when they add up to nothing does the proxy fall back to turnover x the days covered ÷
      365. Old arrears (invoices older than the period) count in the numerator, so the figure
      can exceed 100% for a portfolio with many of them.

    - Average invoice = ``turnover`` ÷ ``invoice_count`` when both are given.

    - The reminder estimate (``ReminderEstimate``): ``recovered_share`` (the assumption
      ``REMINDER_RECOVERED_SHARE``) of the amount 1 to ``REMINDER_WINDOW_DAYS`` days late is
      paid earlier; it leaves the overdue and the DSO falls by that amount ÷ daily sales.
    """
    if not Decimal(0) <= recovered_share <= 1:
        raise ValueError(f"recovered_share must be between 0 and 1, not {recovered_share}")
    if turnover is not None and turnover <= 0:
        raise ValueError(f"turnover must be positive, not {turnover}")
    if invoice_count is not None and invoice_count <= 0:
        raise ValueError(f"invoice_count must be positive, not {invoice_count}")

    if overdue.height and overdue.get_column("due_date").null_count():
        raise ValueError("every receivable needs a due date (read the file with require_due_date)")
    items = _with_amount(overdue, "open_amount_cents", "amount_cents")
    items = items.with_columns((pl.lit(as_of) - pl.col("due_date")).dt.total_days().alias("__days"))
    late = items.filter(pl.col("__days") > 0)

    # kpi's formulas are linear in the amounts: one OpenItem per due date gives the same sums
    # as one per row, for the cost of a few hundred objects instead of a million.
    by_due = items.group_by("due_date").agg(pl.col("__c").sum()).rows()
    open_items = [kpi.OpenItem(due_date=due, open_amount=_cents(cents)) for due, cents in by_due]
    buckets = kpi.aging(open_items, as_of)
    counted = items.group_by("due_date").len().rows()
    aging_items = dict.fromkeys(kpi.AGING_BUCKETS, 0)
    for due, count in counted:
        aging_items[kpi.aging_bucket(kpi.days_overdue(due, as_of))] += count
    open_total = kpi.open_amount(open_items)
    overdue_total = kpi.overdue_amount(open_items, as_of)
    not_due = buckets["not_due"]

    # Credit notes are left out of the average (kpi.average_days_late): only positive rows,
    # aggregated per due date (the same weights as row by row).
    positive = late.filter(pl.col("__c") > 0).group_by("due_date").agg(pl.col("__c").sum()).rows()
    average_days_late = kpi.average_days_late(
        kpi.SettledItem(amount=_cents(cents), document_date=None, due_date=due, paid_on=as_of)
        for due, cents in positive
    )

    sales = _with_amount(invoiced, "amount_cents", "open_amount_cents")
    invoiced_total = _money(_cents(sales.select(pl.col("__c").sum()).item()))
    keys = [c for c in ("customer_code", "document_number") if c in sales.columns]
    documents = sales.select(keys).n_unique() if keys and sales.height else sales.height
    period_from, period_to, dated = _invoiced_period(sales, as_of)
    period = kpi.period_days(period_from, period_to)

    if turnover is not None:
        basis, credit_sales, days = "turnover", turnover, YEAR_DAYS
    elif invoiced_total > 0:
        basis, credit_sales, days = "invoiced", invoiced_total, period
    else:
        basis, credit_sales, days = None, Decimal(0), YEAR_DAYS
    daily_sales = _money(credit_sales / days) if basis else None
    dso = kpi.dso_simple(open_total, credit_sales, days)
    best = kpi.best_possible_dso(not_due, credit_sales, days)
    add = kpi.add(dso, best)

    if invoiced_total > 0:
        share_basis, share_base = "invoiced", invoiced_total
    elif turnover is not None:
        share_basis, share_base = "turnover", turnover * period / YEAR_DAYS
    else:
        share_basis, share_base = None, Decimal(0)
    late_share = _percent(overdue_total, share_base)

    window_cents = late.filter(pl.col("__days") <= REMINDER_WINDOW_DAYS).get_column("__c").sum()
    in_window = max(Decimal(0), _cents(window_cents))
    released = _money(in_window * recovered_share)
    dso_after = kpi.dso_simple(open_total - released, credit_sales, days)
    reminder = ReminderEstimate(
        window_days=REMINDER_WINDOW_DAYS,
        recovered_share=_money(recovered_share * HUNDRED),
        amount_in_window=_money(in_window),
        cash_released=released,
        overdue_before=overdue_total,
        overdue_after=_money(overdue_total - released),
        dso_before=dso,
        dso_after=dso_after,
        dso_reduction=None if dso is None or dso_after is None else _money(dso - dso_after),
        late_share_after=_percent(overdue_total - released, share_base),
    )

    return Analysis(
        as_of=as_of,
        open_amount=open_total,
        overdue_amount=overdue_total,
        not_due_amount=not_due,
        items=items.height,
        overdue_items=late.height,
        customers=items.get_column("customer_code").n_unique() if items.height else 0,
        overdue_customers=late.get_column("customer_code").n_unique() if late.height else 0,
        aging=buckets,
        aging_items=aging_items,
        concentration=_concentration(late, as_of),
        days_late=_days_late(late, overdue_total),
        average_days_late=average_days_late,
        invoiced_amount=invoiced_total,
        invoiced_documents=documents,
        invoiced_from=period_from,
        invoiced_to=period_to,
        invoiced_days=period,
        invoiced_dated=dated,
        turnover=None if turnover is None else _money(turnover),
        invoice_count=invoice_count,
        average_invoice=(
            _money(turnover / invoice_count) if turnover is not None and invoice_count else None
        ),
        daily_sales=daily_sales,
        sales_basis=basis,
        dso=dso,
        best_possible_dso=best,
        add=add,
        late_share=late_share,
        late_share_basis=share_basis if late_share is not None else None,
        reminder=reminder,
    )
