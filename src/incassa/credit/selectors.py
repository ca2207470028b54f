"""Reading for credit health: the inputs of the scores gathered set-based from the ledger
(one query per table, never one per customer), a customer's standing, and the alerts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from incassa.core import bulk
from incassa.core.formatting import format_number
from incassa.credit.models import (
    CreditAlert,
    CreditEvent,
    CustomerCredit,
    ItemCriticality,
    ScoreHistory,
)
from incassa.ledger.models import Company, Customer, Receivable

HISTORY_DAYS = 365  # settled items considered for the customer's own history
RECENT_DAYS = 90  # the "recent" part of the trend
EVENT_DAYS = 730  # external events older than this no longer count


def _table(model: type) -> str:
    return model._meta.db_table


def _dates(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).str.slice(0, 10).str.to_date("%Y-%m-%d") for c in columns)


def open_items(company: Company) -> pl.DataFrame:
    """Every open item: receivable_id, customer_id, due_date, open_amount (cents)."""
    frame = bulk.fetch_frame(
        f"SELECT id, customer_id, CAST(due_date AS TEXT), open_amount "
        f"FROM {_table(Receivable)} WHERE company_id = %s AND status = 'open'",
        [company.pk],
        {
            "receivable_id": pl.Int64,
            "customer_id": pl.Int64,
            "due_date": pl.Utf8,
            "open_amount": pl.Int64,
        },
    )
    return _dates(frame, "due_date")


def settled_items(company: Company, *, since: dt.date, until: dt.date) -> pl.DataFrame:
    """Items paid (closed) in (since, until]: customer_id, amount (cents), due_date,
    closed_on. Credit notes are offsets, not payments: left out."""
    frame = bulk.fetch_frame(
        f"SELECT customer_id, amount, CAST(due_date AS TEXT), CAST(closed_on AS TEXT) "
        f"FROM {_table(Receivable)} WHERE company_id = %s AND status = 'closed' "
        f"AND closed_on > %s AND closed_on <= %s AND amount > 0 "
        f"AND document_type <> 'credit_note'",
        [company.pk, since.isoformat(), until.isoformat()],
        {
            "customer_id": pl.Int64,
            "amount": pl.Int64,
            "due_date": pl.Utf8,
            "closed_on": pl.Utf8,
        },
    )
    return _dates(frame, "due_date", "closed_on")


def customers(company: Company) -> pl.DataFrame:
    """customer_id, since (customer_since or the first item seen), credit_limit (cents)."""
    frame = bulk.fetch_frame(
        f"SELECT c.id, CAST(COALESCE(c.customer_since, MIN(r.first_seen_on)) AS TEXT), "
        f"c.credit_limit FROM {_table(Customer)} c "
        f"LEFT JOIN {_table(Receivable)} r ON r.customer_id = c.id "
        f"WHERE c.company_id = %s GROUP BY c.id, c.customer_since, c.credit_limit",
        [company.pk],
        {"customer_id": pl.Int64, "since": pl.Utf8, "credit_limit": pl.Int64},
    )
    return _dates(frame, "since")


def external_penalties(company: Company, *, as_of: dt.date) -> pl.DataFrame:
    """The worst penalty of each customer's external events still in force."""
    return bulk.fetch_frame(
        f"SELECT e.customer_id, MAX(e.penalty) FROM {_table(CreditEvent)} e "
        f"JOIN {_table(Customer)} c ON c.id = e.customer_id "
        f"WHERE c.company_id = %s AND e.on_date > %s AND e.on_date <= %s "
        f"GROUP BY e.customer_id",
        [
            company.pk,
            (as_of - dt.timedelta(days=EVENT_DAYS)).isoformat(),
            as_of.isoformat(),
        ],
        {"customer_id": pl.Int64, "external_penalty": pl.Float64},
    )


def disputes(company: Company, *, as_of: dt.date) -> pl.DataFrame:
    """Disputes opened in the last year: one per customer and day on which its items were
    put on a dispute hold (a dispute over three invoices is one dispute, not three)."""
    from incassa.dunning.models import Hold, HoldKind

    return bulk.fetch_frame(
        f"SELECT r.customer_id, COUNT(DISTINCT h.starts_on) FROM {_table(Hold)} h "
        f"JOIN {_table(Receivable)} r ON r.id = h.receivable_id "
        f"WHERE r.company_id = %s AND h.kind = %s AND h.starts_on > %s AND h.starts_on <= %s "
        f"GROUP BY r.customer_id",
        [
            company.pk,
            HoldKind.DISPUTE.value,
            (as_of - dt.timedelta(days=HISTORY_DAYS)).isoformat(),
            as_of.isoformat(),
        ],
        {"customer_id": pl.Int64, "disputes": pl.Int32},
    )


def broken_promises(company: Company, *, as_of: dt.date) -> pl.DataFrame:
    """Promises to pay broken in the last year, per customer (the collector workspace
    records them; an installation without it has none)."""
    from django.apps import apps

    if not apps.is_installed("incassa.workspace"):
        return pl.DataFrame(schema={"customer_id": pl.Int64, "broken_promises": pl.Int32})
    promise = apps.get_model("workspace", "Promise")
    return bulk.fetch_frame(
        f"SELECT customer_id, COUNT(*) FROM {_table(promise)} "
        f"WHERE company_id = %s AND status = 'broken' AND closed_on > %s AND closed_on <= %s "
        f"GROUP BY customer_id",
        [
            company.pk,
            (as_of - dt.timedelta(days=HISTORY_DAYS)).isoformat(),
            as_of.isoformat(),
        ],
        {"customer_id": pl.Int64, "broken_promises": pl.Int32},
    )


def customer_credit(customer: Customer) -> CustomerCredit | None:
    return CustomerCredit.objects.filter(customer=customer).first()


def score_trend(customer: Customer, *, limit: int = 90) -> list[ScoreHistory]:
    return list(ScoreHistory.objects.filter(customer=customer).order_by("-on_date")[:limit])[::-1]


def open_alerts(company: Company) -> QuerySet[CreditAlert]:
    return CreditAlert.objects.filter(company=company, acknowledged_at__isnull=True).select_related(
        "customer"
    )


def standings(customer_ids: list[int]) -> dict[int, CustomerCredit]:
    """The credit standing of a page of customers, by id."""
    return CustomerCredit.objects.in_bulk(customer_ids)


def customers_in_class(company: Company, *, credit_class: str = "", blocked: bool = False):
    """The customers of a class (or blocked ones), for narrowing a list. Read from the
    credit standing's own indexes (class; the few blocked ones): a join from the company's
    customers would look up every one of them."""
    credits = CustomerCredit.objects.all()
    if credit_class:
        credits = credits.filter(credit_class=credit_class)
    if blocked:
        credits = credits.filter(blocked=True)
    return Customer.objects.filter(company=company, pk__in=credits.values("customer_id"))


@dataclass(frozen=True)
class CriticalItem:
    receivable: Receivable
    criticality: Decimal
    days_overdue: int


def most_critical_items(
    company: Company, *, as_of: dt.date, limit: int = 10, customers: QuerySet | None = None
) -> list[CriticalItem]:
    """The open items to work on first, by criticality (the index ``criticality_rank``)."""
    ranked = ItemCriticality.objects.filter(company=company).order_by("-score")
    if customers is not None:
        ranked = ranked.filter(receivable__customer__in=customers)
    rows = list(ranked.select_related("receivable", "receivable__customer")[:limit])
    return [
        CriticalItem(
            receivable=row.receivable,
            criticality=row.score,
            days_overdue=(as_of - row.receivable.due_date).days,
        )
        for row in rows
    ]


COMPONENT_LABELS = {
    "days_late": _("Days late on payments (12 months)"),
    "late_share": _("Share paid late"),
    "trend": _("Trend (last 3 months)"),
    "overdue_share": _("Share of the open amount overdue"),
    "seniority": _("Days as a customer"),
    "incidents": _("Broken promises and disputes"),
    "limit_breach": _("Over the credit limit"),
    "external": _("External events (penalty)"),
}


@dataclass(frozen=True)
class ExplainedComponent:
    name: str
    label: str
    value: object
    score: float
    weight: float
    contribution: float

    @property
    def value_display(self) -> str:
        """The input as a person reads it: yes/no, a number, or a dash when unknown."""
        if self.value is None:
            return "—"
        if isinstance(self.value, bool):
            return str(_("yes") if self.value else _("no"))
        if isinstance(self.value, int | float | Decimal):
            return format_number(round(Decimal(str(self.value)), 2))
        return str(self.value)


def explanation(credit: CustomerCredit, company: Company) -> list[ExplainedComponent]:
    """Why the customer has its score: each component's input, sub-score, weight and
    contribution, from the stored components."""
    from incassa.credit.scoring import describe
    from incassa.credit.services import weights_for

    weights, _criticality, _includes = weights_for(company)
    stored = credit.components or {}
    row = {**stored.get("inputs", {}), **stored.get("components", {})}
    if not row:
        return []
    return [
        ExplainedComponent(
            name=c.name,
            label=str(COMPONENT_LABELS.get(c.name, c.name)),
            value=c.value,
            score=c.score,
            weight=c.weight,
            contribution=c.contribution,
        )
        for c in describe(row, weights)
    ]


# --------------------------------------------------------------------------------------
# Trends for the dashboard
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiPoint:
    """The company's key figures on a day, as its daily snapshot kept them."""

    on_date: dt.date
    open_amount: Decimal
    overdue_amount: Decimal
    dso: Decimal | None


def kpi_trend(company: Company, *, since: dt.date, scope: str = "company") -> list[KpiPoint]:
    """The snapshots from ``since`` on, oldest first: one query on the snapshots' index,
    never a recomputation of the past."""
    from incassa.credit.models import KpiSnapshot

    def amount(value: str | None) -> Decimal | None:
        return Decimal(value) if value not in (None, "") else None

    rows = (
        KpiSnapshot.objects.filter(company=company, scope=scope, on_date__gte=since)
        .order_by("on_date")
        .values_list("on_date", "figures")
    )
    return [
        KpiPoint(
            on_date=on_date,
            open_amount=amount(figures.get("open_amount")) or Decimal(0),
            overdue_amount=amount(figures.get("overdue_amount")) or Decimal(0),
            dso=amount(figures.get("dso")),
        )
        for on_date, figures in rows
    ]
