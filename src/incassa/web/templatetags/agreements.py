"""Template helpers of the agreements' pages: the tag class of a status, and a customer's
open agreements of every kind (for the customer's page)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from incassa.ledger.models import Customer
from incassa.workspace.models import (
    Case,
    CaseStatus,
    Dispute,
    PlanStatus,
    Promise,
    PromiseStatus,
    RepaymentPlan,
    Settlement,
    SettlementStatus,
)
from incassa.workspace.models.agreements import DISPUTE_RESOLVED

register = template.Library()

# The status of an agreement or instalment -> the existing ``tag--*`` style that reads the
# same: blue while it runs, amber while it waits, green when it ended well, red when badly,
# grey when withdrawn.
STATUS_TAGS = {
    "open": "created",
    "active": "created",
    "agreed": "created",
    "due": "created",
    "waiting_customer": "hold",
    "waiting_internal": "hold",
    "late": "hold",
    "kept": "done",
    "completed": "done",
    "paid": "done",
    "resolved_credit_note": "done",
    "resolved_in_our_favour": "done",
    "broken": "failed",
    "failed": "failed",
    "missed": "failed",
    "cancelled": "cancelled",
    "closed": "cancelled",
}


@register.filter
def agreement_tag(status: str) -> str:
    """The ``tag--`` modifier for an agreement's or instalment's status."""
    return STATUS_TAGS.get(status, "event")


@register.inclusion_tag("web/agreements/_customer_agreements.html", takes_context=True)
def customer_agreements(context: template.Context, customer: Customer) -> dict[str, Any]:
    """The customer's agreements still in force, every kind: one query each."""
    return {
        "customer": customer,
        "today": context.get("today") or timezone.localdate(),
        "promises": list(
            Promise.objects.filter(customer=customer, status=PromiseStatus.OPEN).order_by(
                "promised_on", "id"
            )
        ),
        "disputes": list(
            Dispute.objects.filter(customer=customer)
            .exclude(status__in=DISPUTE_RESOLVED)
            .select_related("owner")
            .order_by("opened_on", "id")
        ),
        "plans": list(
            RepaymentPlan.objects.filter(customer=customer, status=PlanStatus.ACTIVE).order_by(
                "created_on", "id"
            )
        ),
        "settlements": list(
            Settlement.objects.filter(customer=customer, status=SettlementStatus.AGREED).order_by(
                "due_on", "id"
            )
        ),
        "cases": list(
            Case.objects.filter(customer=customer, status=CaseStatus.OPEN).order_by(
                "handed_over_on", "id"
            )
        ),
    }
