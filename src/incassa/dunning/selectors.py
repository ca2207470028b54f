"""Read queries over dunning: the history of items and what a run decided."""

from __future__ import annotations

from typing import Any

import polars as pl

from incassa.core.fields import from_cents
from incassa.dunning.models import Action, ActionStatus, ItemStep, Step
from incassa.ledger.models import Company, Customer, Receivable


def item_history(
    *,
    company: Company,
    customer_code: str | None = None,
    document: str | None = None,
    receivable: Receivable | None = None,
) -> list[dict[str, Any]]:
    """Every step each item reached, oldest first, as plain JSON-ready values."""
    steps = ItemStep.objects.filter(receivable__company=company).select_related(
        "receivable__customer", "step", "action"
    )
    if customer_code:
        steps = steps.filter(receivable__customer__code=customer_code)
    if document:
        steps = steps.filter(receivable__document_number=document)
    if receivable is not None:
        steps = steps.filter(receivable=receivable)
    steps = steps.order_by(
        "receivable__customer__code",
        "receivable__document_number",
        "receivable__due_date",
        "reached_on",
        "id",
    )
    return [
        {
            "customer": s.receivable.customer.code,
            "document": s.receivable.document_number,
            "due_date": s.receivable.due_date.isoformat(),
            "step": s.step.code,
            "step_name": s.step.name,
            "channel": s.action.channel if s.action else s.step.channel,
            "date": s.reached_on.isoformat(),
            "status": s.status,
            "days_overdue": s.days_overdue,
            "open_amount": f"{s.open_amount:.2f}",
            "action": s.action_id,
            "note": s.note,
        }
        for s in steps
    ]


def describe_decisions(*, company: Company, decisions: pl.DataFrame, limit: int = 50) -> list[str]:
    """One line per action a (dry) run would create: customer, step, channel, items."""
    if decisions.is_empty():
        return []
    grouped = (
        decisions.group_by("customer_id", "step_id", "channel", "is_skipped", "note")
        .agg(pl.len().alias("items"), pl.col("open_amount").sum().alias("amount"))
        .sort("customer_id", "step_id")
    )
    shown = grouped.head(limit)
    customers = dict(
        Customer.objects.filter(pk__in=shown["customer_id"].to_list()).values_list("id", "code")
    )
    steps = dict(Step.objects.filter(pk__in=shown["step_id"].to_list()).values_list("id", "code"))
    lines = []
    for customer_id, step_id, channel, skipped, note, items, amount in shown.iter_rows():
        what = "skipped" if skipped else channel
        lines.append(
            f"{customers.get(customer_id, customer_id)}: {steps.get(step_id, step_id)} "
            f"({what}) {items} item(s), {from_cents(amount):.2f}" + (f" — {note}" if note else "")
        )
    if grouped.height > limit:
        lines.append(f"... and {grouped.height - limit} more")
    return lines


def actions_waiting_for_approval(*, company: Company):
    return Action.objects.filter(
        company=company, needs_approval=True, status=ActionStatus.CREATED
    ).select_related("customer", "step")
