"""The KPIs of a company, a category, a sales agent or a customer, for any as-of date, from
the ledger (reading only; the formulas are in the pure ``kpi`` module).

Every figure is gathered in SQL, aggregated by date: the formulas are amount-weighted and
bucket by dates, so items sharing their dates can be summed first without changing any
result, and a million items become a few thousand rows. The open amount on a past date is
rebuilt from the items' events (the last event of each item on or before that date), so
DSO and CEI at any date use the ledger as it was then.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from incassa.core import bulk
from incassa.core.fields import CENT
from incassa.credit import kpi
from incassa.ledger.models import (
    Company,
    Customer,
    CustomerCategory,
    ImportKind,
    ImportRun,
    ImportStatus,
    IssuedInvoice,
    Receivable,
    ReceivableEvent,
    SalesAgent,
)

COUNTBACK_MONTHS = 12


@dataclass(frozen=True)
class Scope:
    """Whose figures: the whole company, or one category, sales agent or customer."""

    kind: str = "company"  # company | category | agent | customer
    id: int | None = None

    @property
    def key(self) -> str:
        return self.kind if self.id is None else f"{self.kind}:{self.id}"

    def customers_sql(self) -> tuple[str, list]:
        """A condition on ``customer_id`` (empty for the whole company)."""
        table = Customer._meta.db_table
        if self.kind == "company":
            return "", []
        if self.kind == "customer":
            return " AND customer_id = %s", [self.id]
        column = {"category": "category_id", "agent": "sales_agent_id"}[self.kind]
        return f" AND customer_id IN (SELECT id FROM {table} WHERE {column} = %s)", [self.id]


def _t(model: type) -> str:
    return model._meta.db_table


def _money(cents: int | None) -> Decimal:
    return (Decimal(cents or 0) * CENT).quantize(CENT)


def _date(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value  # type: ignore[return-value]
    return dt.date.fromisoformat(str(value)[:10])


def default_period_start(as_of: dt.date) -> dt.date:
    """The three months ending on ``as_of``: 31/03 -> 01/01, 30/04 -> 01/02, 15/03 -> 16/12."""
    return as_of + dt.timedelta(days=1) - relativedelta(months=3)


def open_by_due_date(company: Company, scope: Scope, on: dt.date) -> list[kpi.OpenItem]:
    """The items open at the end of ``on``, summed by due date: from the items themselves
    on or after the last snapshot, else rebuilt from their events."""
    condition, params = scope.customers_sql()
    if on >= (_last_snapshot(company) or dt.date.max):
        rows = bulk.fetch_rows(
            f"SELECT CAST(due_date AS TEXT), SUM(open_amount) FROM {_t(Receivable)} "
            f"WHERE company_id = %s AND status = 'open'{condition} GROUP BY due_date",
            [company.pk, *params],
        )
        return [kpi.OpenItem(due_date=_date(d), open_amount=_money(c)) for d, c in rows]
    if not _ledger_known_on(company, on):
        return []
    rows = bulk.fetch_rows(
        f"SELECT CAST(r.due_date AS TEXT), SUM(e.amount_after) "
        f"FROM {_t(ReceivableEvent)} e "
        f"JOIN (SELECT receivable_id, MAX(id) AS last_id FROM {_t(ReceivableEvent)} "
        f"      WHERE on_date <= %s AND receivable_id IN "
        f"      (SELECT id FROM {_t(Receivable)} WHERE company_id = %s{condition}) "
        f"      GROUP BY receivable_id) l ON e.id = l.last_id "
        f"JOIN {_t(Receivable)} r ON r.id = e.receivable_id "
        f"WHERE e.amount_after <> 0 GROUP BY r.due_date",
        [on.isoformat(), company.pk, *params],
    )
    return [kpi.OpenItem(due_date=_date(d), open_amount=_money(c)) for d, c in rows]


def sales_source(company: Company, *, start: dt.date, until: dt.date) -> str:
    """Where the credit sales come from, the same for every scope of the company: the
    issued-invoices import when it holds documents of the period, else the ledger's own
    documents (which miss invoices paid before they ever appeared in a snapshot)."""
    invoiced = IssuedInvoice.objects.filter(
        company=company, document_date__gte=start, document_date__lte=until
    ).exists()
    return "invoices" if invoiced else "ledger"


def monthly_sales(
    company: Company, scope: Scope, *, since: dt.date, until: dt.date, source: str
) -> dict[dt.date, Decimal]:
    """Credit sales by month (first day -> amount) issued in [since, until], every month
    present (a month without sales is a zero, not a gap)."""
    condition, params = scope.customers_sql()
    model = IssuedInvoice if source == "invoices" else Receivable
    rows = bulk.fetch_rows(
        f"SELECT CAST(document_date AS TEXT), SUM(amount) FROM {_t(model)} "
        f"WHERE company_id = %s AND document_date >= %s AND document_date <= %s{condition} "
        f"GROUP BY document_date",
        [company.pk, since.isoformat(), until.isoformat(), *params],
    )
    months: dict[dt.date, Decimal] = {}
    month = since.replace(day=1)
    while month <= until:
        months[month] = Decimal("0.00")
        month += relativedelta(months=1)
    for day, cents in rows:
        first = _date(day).replace(day=1)
        months[first] += _money(cents)
    return months


def payments(
    company: Company, scope: Scope, *, start: dt.date, as_of: dt.date
) -> tuple[list[kpi.SettledItem], list[kpi.SettledItem]]:
    """(items due in the period, paid or not: an unpaid one counts as paid on ``as_of``;
    items paid in the period), summed by their dates."""
    condition, params = scope.customers_sql()
    due_rows = bulk.fetch_rows(
        f"SELECT CAST(document_date AS TEXT), CAST(due_date AS TEXT), "
        f"CAST(CASE WHEN closed_on IS NULL OR closed_on > %s THEN %s ELSE closed_on END AS TEXT), "
        f"SUM(amount) FROM {_t(Receivable)} "
        f"WHERE company_id = %s AND due_date >= %s AND due_date <= %s AND amount > 0{condition} "
        f"GROUP BY 1, 2, 3",
        [as_of.isoformat(), as_of.isoformat(), company.pk, start.isoformat(), as_of.isoformat(),
         *params],
    )  # fmt: skip
    paid_rows = bulk.fetch_rows(
        f"SELECT CAST(document_date AS TEXT), CAST(due_date AS TEXT), CAST(closed_on AS TEXT), "
        f"SUM(amount) FROM {_t(Receivable)} "
        f"WHERE company_id = %s AND status = 'closed' AND closed_on >= %s AND closed_on <= %s "
        f"AND amount > 0{condition} GROUP BY 1, 2, 3",
        [company.pk, start.isoformat(), as_of.isoformat(), *params],
    )

    def settled(rows: list[tuple]) -> list[kpi.SettledItem]:
        return [
            kpi.SettledItem(
                amount=_money(c), document_date=_date(d), due_date=_date(u), paid_on=_date(p)
            )
            for d, u, p, c in rows
        ]

    return settled(due_rows), settled(paid_rows)


@dataclass(frozen=True)
class ScopedReport:
    scope: Scope
    report: kpi.KpiReport
    sales_source: str

    def as_json(self) -> dict:
        return {**self.report.as_json(), "scope": self.scope.key, "sales_source": self.sales_source}

    @classmethod
    def from_json(cls, data: dict) -> ScopedReport:
        kind, _sep, ident = data["scope"].partition(":")
        return cls(
            scope=Scope(kind, int(ident) if ident else None),
            report=kpi.KpiReport.from_json(data),
            sales_source=data["sales_source"],
        )


def kpi_report(
    *,
    company: Company,
    as_of: dt.date,
    period_start: dt.date | None = None,
    scope: Scope | None = None,
) -> ScopedReport:
    scope = scope or Scope()
    start = period_start or default_period_start(as_of)
    if start > as_of:
        raise ValueError("the period must start on or before the as-of date")
    countback_from = as_of.replace(day=1) - relativedelta(months=COUNTBACK_MONTHS - 1)
    source = sales_source(company, start=start, until=as_of)
    months = monthly_sales(
        company, scope, since=min(start, countback_from), until=as_of, source=source
    )
    condition, params = scope.customers_sql()
    model = IssuedInvoice if source == "invoices" else Receivable
    credit_sales = _money(
        bulk.fetch_rows(
            f"SELECT SUM(amount) FROM {_t(model)} WHERE company_id = %s "
            f"AND document_date >= %s AND document_date <= %s{condition}",
            [company.pk, start.isoformat(), as_of.isoformat(), *params],
        )[0][0]
    )
    monthly = sorted((m, a) for m, a in months.items() if m >= countback_from)
    due, settled = payments(company, scope, start=start, as_of=as_of)
    ar_start = sum(
        (i.open_amount for i in open_by_due_date(company, scope, start - dt.timedelta(days=1))),
        Decimal("0.00"),
    )
    report = kpi.kpi_report(
        as_of=as_of,
        period_start=start,
        items=open_by_due_date(company, scope, as_of),
        ar_start=ar_start,
        credit_sales=credit_sales,
        monthly_sales=monthly,
        due_in_period=due,
        settled_in_period=settled,
    )
    if not _ledger_known_on(company, start - dt.timedelta(days=1)):
        # The ledger starts inside the period: the open amount at its start is unknown, and
        # taking it as zero would make CEI meaningless (negative).
        report = dataclasses.replace(report, cei=None)
    return ScopedReport(scope=scope, report=report, sales_source=source)


def _last_snapshot(company: Company) -> dt.date | None:
    return (
        ImportRun.objects.filter(
            company=company, kind=ImportKind.RECEIVABLES, status=ImportStatus.APPLIED
        )
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )


def _ledger_known_on(company: Company, day: dt.date) -> bool:
    return ImportRun.objects.filter(
        company=company, kind=ImportKind.RECEIVABLES, status=ImportStatus.APPLIED, as_of__lte=day
    ).exists()


def reports_by_scope(*, company: Company, as_of: dt.date) -> Iterator[tuple[str, kpi.KpiReport]]:
    """The company's figures, then each category's and each sales agent's."""
    for scope in scopes_of(company):
        yield scope.key, kpi_report(company=company, as_of=as_of, scope=scope).report


def scopes_of(company: Company) -> Iterator[Scope]:
    """The company, then each of its categories and sales agents."""
    yield Scope()
    for category_id in CustomerCategory.objects.filter(company=company).values_list(
        "id", flat=True
    ):
        yield Scope("category", category_id)
    for agent_id in SalesAgent.objects.filter(company=company).values_list("id", flat=True):
        yield Scope("agent", agent_id)
