"""The agreements at a glance, for the dashboard: the promises falling due and the open
disputes. Two small queries on indexed states, whatever the size of the ledger."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Min, QuerySet, Sum

from incassa.ledger.models import Company, Customer
from incassa.workspace.models import Dispute, Promise, PromiseStatus
from incassa.workspace.models.agreements import DISPUTE_RESOLVED

PROMISES_SHOWN = 10


def agreements_overview(
    *,
    company: Company,
    today: dt.date,
    ahead: int,
    customers: QuerySet[Customer] | None = None,
) -> dict[str, Any]:
    """Open promises due from today to ``ahead`` days on (late ones first) and the open
    disputes with their amount and the earliest deadline; ``customers`` narrows both (a
    sales agent's)."""
    promises = Promise.objects.filter(
        company=company,
        status=PromiseStatus.OPEN,
        promised_on__lte=today + dt.timedelta(days=ahead),
    )
    disputes = Dispute.objects.filter(company=company).exclude(status__in=DISPUTE_RESOLVED)
    if customers is not None:
        promises = promises.filter(customer__in=customers)
        disputes = disputes.filter(customer__in=customers)
    totals = disputes.aggregate(
        count=Count("id", distinct=True),
        amount=Sum("items__open_amount"),
        first_deadline=Min("deadline"),
    )
    late_deadlines = disputes.filter(deadline__lt=today).count()
    return {
        "promises_due": list(
            promises.select_related("customer").order_by("promised_on", "id")[:PROMISES_SHOWN]
        ),
        "promises_due_count": promises.count(),
        "disputes_open": totals["count"] or 0,
        "disputes_amount": totals["amount"],
        "disputes_first_deadline": totals["first_deadline"],
        "disputes_late": late_deadlines,
    }
