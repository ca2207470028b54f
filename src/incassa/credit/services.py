"""Credit health that changes state: the daily recomputation of every customer's reliability
and every open item's criticality (set-based: a few queries and bulk writes for a million
items), the alerts it raises, the block that tells sales to stop, external events, and the
daily KPI snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from incassa.core import bulk
from incassa.core.users import recorded_user
from incassa.credit import scoring, selectors
from incassa.credit.models import (
    DEFAULT_PENALTY,
    AlertKind,
    CreditAlert,
    CreditEvent,
    CustomerCredit,
    ItemCriticality,
    KpiSnapshot,
    ScoreHistory,
    ScoringSettings,
)
from incassa.ledger.balances import open_balances_refresh
from incassa.ledger.models import Company, Customer

CLASS_ORDER = "ABCDE"


@dataclass
class ScoreResult:
    customers: int = 0
    items: int = 0
    alerts: int = 0
    by_class: dict[str, int] | None = None

    def as_dict(self) -> dict:
        return {
            "customers": self.customers,
            "items": self.items,
            "alerts": self.alerts,
            "by_class": self.by_class or {},
        }


def _table(model: type) -> str:
    return model._meta.db_table


def weights_for(
    company: Company,
) -> tuple[scoring.ReliabilityWeights, scoring.CriticalityWeights, bool]:
    found = ScoringSettings.objects.filter(company=company).first()
    if found is None:
        return scoring.ReliabilityWeights(), scoring.CriticalityWeights(), True
    return (
        scoring.ReliabilityWeights.from_dict(found.reliability_weights or {}),
        scoring.CriticalityWeights.from_dict(found.criticality_weights or {}),
        found.exposure_includes_not_due,
    )


def customer_inputs(company: Company, *, as_of: dt.date, items: pl.DataFrame) -> pl.DataFrame:
    """One row per customer with the reliability inputs (``scoring.CUSTOMER_SCHEMA``) plus
    its credit limit and exposure, in cents."""
    _weights, _criticality, includes_not_due = weights_for(company)
    since = as_of - dt.timedelta(days=selectors.HISTORY_DAYS)
    recent_from = as_of - dt.timedelta(days=selectors.RECENT_DAYS)
    settled = selectors.settled_items(company, since=since, until=as_of).with_columns(
        (pl.col("closed_on") - pl.col("due_date")).dt.total_days().clip(0).alias("days_late"),
        (pl.col("closed_on") > recent_from).alias("recent"),
        pl.col("amount").cast(pl.Float64),
    )
    amount, late = pl.col("amount"), pl.col("days_late")

    def weighted(condition: pl.Expr) -> pl.Expr:
        total = amount.filter(condition).sum()
        return pl.when(total > 0).then((amount * late).filter(condition).sum() / total)

    history = settled.group_by("customer_id").agg(
        ((amount * late).sum() / amount.sum()).alias("avg_days_late"),
        (amount.filter(late > 0).sum() / amount.sum()).alias("late_share"),
        weighted(pl.col("recent")).alias("recent_days_late"),
        weighted(~pl.col("recent")).alias("older_days_late"),
    )
    balances = items.group_by("customer_id").agg(
        pl.col("open_amount").sum().alias("open_cents"),
        pl.col("open_amount").filter(pl.col("due_date") < as_of).sum().alias("overdue_cents"),
    )
    frame = (
        selectors.customers(company)
        .join(history, on="customer_id", how="left")
        .join(balances, on="customer_id", how="left")
        .join(selectors.external_penalties(company, as_of=as_of), on="customer_id", how="left")
        .join(selectors.disputes(company, as_of=as_of), on="customer_id", how="left")
        .join(selectors.broken_promises(company, as_of=as_of), on="customer_id", how="left")
        .with_columns(
            pl.col("open_cents").fill_null(0),
            pl.col("overdue_cents").fill_null(0),
        )
        .with_columns(
            (pl.col("open_cents") if includes_not_due else pl.col("overdue_cents")).alias(
                "exposure"
            )
        )
    )
    return frame.with_columns(
        (pl.col("open_cents") / 100).alias("open_amount"),
        (pl.col("overdue_cents") / 100).alias("overdue_amount"),
        (pl.lit(as_of) - pl.col("since")).dt.total_days().cast(pl.Int32).alias("customer_days"),
        pl.col("broken_promises").fill_null(0).cast(pl.Int32),
        pl.col("disputes").fill_null(0).cast(pl.Int32),
        (pl.col("credit_limit").is_not_null() & (pl.col("exposure") > pl.col("credit_limit")))
        .fill_null(False)
        .alias("limit_breach"),
        pl.col("external_penalty").fill_null(0.0),
    )


def scores_recompute(*, company: Company, as_of: dt.date) -> ScoreResult:
    """Score every customer and every open item of ``company`` as of ``as_of``, keep the
    day's scores for their trend, and raise the alerts: exposure over the credit limit, a
    class that worsened. The customers' open balances are computed again first, committed
    on their own (a second or two at a million items; they do not depend on the scores):
    after a snapshot the dashboard and the long lists read them again at once rather than
    computing live for as long as the scores take. The scores are one transaction."""
    # The customers' sums the long lists rank by change with the same snapshots.
    open_balances_refresh(company=company, as_of=as_of)
    reliability_weights, criticality_weights, _ = weights_for(company)
    items = selectors.open_items(company)
    inputs = customer_inputs(company, as_of=as_of, items=items)
    reliability = scoring.reliability(
        inputs.select(list(scoring.CUSTOMER_SCHEMA)), reliability_weights
    )
    item_inputs = items.select(
        "receivable_id",
        "customer_id",
        (pl.lit(as_of) - pl.col("due_date")).dt.total_days().cast(pl.Int32).alias("days_overdue"),
        (pl.col("open_amount") / 100).alias("open_amount"),
    )
    criticality = scoring.criticality(
        item_inputs,
        reliability.select("customer_id", "score"),
        inputs.select("customer_id", "customer_days", "open_amount"),
        criticality_weights,
    )
    standing = inputs.join(reliability, on="customer_id", how="left").sort("customer_id")
    component_columns = [c for c in reliability.columns if c.startswith("c_")]
    input_columns = [c for c in scoring.CUSTOMER_SCHEMA if c != "customer_id"]
    standing = standing.with_columns(
        pl.struct(
            pl.struct(
                [
                    pl.col(c).round(4) if inputs.schema[c].is_float() else pl.col(c)
                    for c in input_columns
                ]
            ).alias("inputs"),
            pl.struct([pl.col(c).round(1) for c in component_columns]).alias("components"),
        )
        .struct.json_encode()
        .alias("components_json")
    )
    result = ScoreResult(customers=standing.height, items=criticality.height)
    with transaction.atomic():
        previous = dict(
            CustomerCredit.objects.filter(customer__company=company).values_list(
                "customer_id", "credit_class"
            )
        )
        blocks = {
            row[0]: row[1:]
            for row in CustomerCredit.objects.filter(
                customer__company=company, blocked=True
            ).values_list("customer_id", "blocked", "blocked_reason", "blocked_at")
        }
        _replace_standing(company, standing, blocks, as_of)
        _replace_history(company, standing, as_of)
        _replace_criticality(company, criticality, as_of)
        result.alerts = _raise_alerts(company, standing, previous, as_of)
    result.by_class = {
        row["klass"]: row["len"]
        for row in standing.group_by("klass").len().sort("klass").iter_rows(named=True)
        if row["klass"]
    }
    return result


def _company_customers_sql() -> str:
    return f"SELECT id FROM {_table(Customer)} WHERE company_id = %s"


def _replace_standing(
    company: Company, standing: pl.DataFrame, blocks: dict[int, tuple], as_of: dt.date
) -> None:
    others = CustomerCredit.objects.exclude(customer__company=company).exists()
    with connection.cursor() as cursor:
        if others:
            cursor.execute(
                f"DELETE FROM {_table(CustomerCredit)} WHERE customer_id IN "
                f"({_company_customers_sql()})",
                [company.pk],
            )
        else:  # the only company: SQLite empties a table at once without a WHERE
            cursor.execute(f"DELETE FROM {_table(CustomerCredit)}")
    columns = [
        "customer_id",
        "computed_on",
        "score",
        "credit_class",
        "components",
        "exposure",
        "blocked",
        "blocked_reason",
        "blocked_at",
    ]
    day = as_of.isoformat()

    def rows():
        for customer_id, score, klass, components, exposure in bulk.frame_rows(
            standing, ["customer_id", "score", "klass", "components_json", "exposure"]
        ):
            blocked, reason, at = blocks.get(customer_id, (False, "", None))
            yield (customer_id, day, score, klass, components, exposure, blocked, reason, at)

    bulk.insert_rows(_table(CustomerCredit), columns, rows(), expected=standing.height)


def _replace_history(company: Company, standing: pl.DataFrame, as_of: dt.date) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_table(ScoreHistory)} WHERE on_date = %s AND customer_id IN "
            f"({_company_customers_sql()})",
            [as_of.isoformat(), company.pk],
        )
    bulk.insert_rows(
        _table(ScoreHistory),
        ["customer_id", "score", "credit_class"],
        bulk.frame_rows(standing, ["customer_id", "score", "klass"]),
        constants={"on_date": as_of.isoformat()},
    )


def _replace_criticality(company: Company, criticality: pl.DataFrame, as_of: dt.date) -> None:
    others = ItemCriticality.objects.exclude(company=company).exists()
    with connection.cursor() as cursor:
        if others:
            cursor.execute(
                f"DELETE FROM {_table(ItemCriticality)} WHERE company_id = %s", [company.pk]
            )
        else:  # the only company: SQLite empties a table at once without a WHERE
            cursor.execute(f"DELETE FROM {_table(ItemCriticality)}")
    # In key order: appending to the primary key's B-tree, not inserting all over it.
    criticality = criticality.sort("receivable_id")
    bulk.insert_rows(
        _table(ItemCriticality),
        ["receivable_id", "score"],
        bulk.frame_rows(criticality, ["receivable_id", "criticality"]),
        expected=criticality.height,
        constants={"company_id": company.pk, "computed_on": as_of.isoformat()},
    )


def _raise_alerts(
    company: Company, standing: pl.DataFrame, previous: dict[int, str], as_of: dt.date
) -> int:
    alerts: list[CreditAlert] = []
    for customer_id, klass, breach, exposure, limit in standing.select(
        "customer_id", "klass", "limit_breach", "exposure", "credit_limit"
    ).iter_rows():
        before = previous.get(customer_id)
        if before and klass and CLASS_ORDER.index(klass) > CLASS_ORDER.index(before):
            alerts.append(
                CreditAlert(
                    company=company,
                    customer_id=customer_id,
                    kind=AlertKind.CLASS_WORSENED,
                    on_date=as_of,
                    message=f"class {before} -> {klass}",
                )
            )
        if breach:
            alerts.append(
                CreditAlert(
                    company=company,
                    customer_id=customer_id,
                    kind=AlertKind.LIMIT_EXCEEDED,
                    on_date=as_of,
                    message=f"exposure {exposure / 100:.2f} over the limit {limit / 100:.2f}",
                )
            )
    raised = set(
        CreditAlert.objects.filter(company=company, on_date=as_of).values_list(
            "customer_id", "kind"
        )
    )
    fresh = [a for a in alerts if (a.customer_id, a.kind) not in raised]
    CreditAlert.objects.bulk_create(fresh, batch_size=5000)
    return len(fresh)


# --------------------------------------------------------------------------------------
# Blocks, events, alerts
# --------------------------------------------------------------------------------------


def customer_block(*, customer: Customer, reason: str, user: Any = None) -> CustomerCredit:
    """Tell sales to stop: no new orders on credit until the block is lifted."""
    with transaction.atomic():
        credit = _standing_for(customer)
        credit.blocked, credit.blocked_reason = True, reason[:300]
        credit.blocked_at = timezone.now()
        credit.save(update_fields=["blocked", "blocked_reason", "blocked_at"])
    return credit


def customer_unblock(*, customer: Customer) -> CustomerCredit:
    with transaction.atomic():
        credit = _standing_for(customer)
        credit.blocked, credit.blocked_reason, credit.blocked_at = False, "", None
        credit.save(update_fields=["blocked", "blocked_reason", "blocked_at"])
    return credit


def _standing_for(customer: Customer) -> CustomerCredit:
    credit = CustomerCredit.objects.select_for_update().filter(customer=customer).first()
    if credit is None:
        credit = CustomerCredit.objects.create(
            customer=customer,
            computed_on=timezone.localdate(),
            score=50,
            credit_class="C",
            components={},
        )
    return credit


def credit_event_record(
    *,
    customer: Customer,
    kind: str,
    on_date: dt.date,
    penalty: int | None = None,
    description: str = "",
    rating: str = "",
    source: str = "",
    user: Any = None,
) -> CreditEvent:
    event = CreditEvent(
        customer=customer,
        kind=kind,
        on_date=on_date,
        penalty=DEFAULT_PENALTY.get(kind, 0) if penalty is None else penalty,
        description=description[:300],
        rating=rating[:20],
        source=source[:100],
        created_by=recorded_user(user),
    )
    event.full_clean(exclude=["created_by"])
    event.save()
    return event


def alert_acknowledge(*, alert: CreditAlert, user: Any = None) -> CreditAlert:
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = recorded_user(user)
    alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert


# --------------------------------------------------------------------------------------
# KPI snapshots
# --------------------------------------------------------------------------------------


def kpi_snapshot_take(
    *, company: Company, as_of: dt.date, scopes: bool = False
) -> list[KpiSnapshot]:
    """Keep the day's key figures of the company (and, with ``scopes``, of each category
    and sales agent: a second or so each on a million items, so not after every import);
    the same figures are what the reports page shows (``report_snapshots``), and the other
    reports computed ahead follow (``kpi_snapshot_taken``)."""
    from incassa.credit import kpis, report_snapshots
    from incassa.credit.signals import kpi_snapshot_taken

    chosen = list(kpis.scopes_of(company)) if scopes else [kpis.Scope()]
    results = [kpis.kpi_report(company=company, as_of=as_of, scope=scope) for scope in chosen]
    snapshots = []
    with transaction.atomic():
        for result in results:
            snapshot, _created = KpiSnapshot.objects.update_or_create(
                company=company,
                scope=result.scope.key,
                on_date=as_of,
                defaults={"figures": result.report.as_json()},
            )
            snapshots.append(snapshot)
            report_snapshots.kpi_store(company=company, result=result)
    kpi_snapshot_taken.send(sender=KpiSnapshot, company=company, as_of=as_of)
    return snapshots


def scoring_settings_update(
    *,
    company: Company,
    reliability: dict[str, Any],
    criticality: dict[str, Any],
    exposure_includes_not_due: bool,
) -> ScoringSettings:
    """Save a company's weights after checking them (``scoring.ScoringError`` otherwise);
    the scores follow them from the next computation (after an import, or ``incassa
    scores``)."""
    reliability_weights = scoring.ReliabilityWeights.from_dict(reliability).as_dict()
    criticality_weights = scoring.CriticalityWeights.from_dict(criticality).as_dict()
    with transaction.atomic():
        found, _created = ScoringSettings.objects.select_for_update().get_or_create(company=company)
        found.reliability_weights = reliability_weights
        found.criticality_weights = criticality_weights
        found.exposure_includes_not_due = exposure_includes_not_due
        found.save()
    return found
