"""Read queries of the workspace: an operator's worklist and the punctuality of tasks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate, TruncWeek

from incassa.core.fields import MoneyField
from incassa.credit.models import ItemCriticality
from incassa.ledger.models import Company, Customer, Receivable, ReceivableStatus
from incassa.workspace.models import Task, TaskStatus
from incassa.workspace.work import operator_expression


@dataclass(frozen=True)
class WorkItem:
    task: Task
    customer: Customer
    criticality: Decimal | None  # the customer's most critical open item
    overdue_amount: Decimal
    is_overdue: bool


def worklist(*, company: Company, user: Any, today: dt.date) -> list[WorkItem]:
    """What ``user`` has to do today: their open tasks due by today and not snoozed past
    it, and the unassigned ones of their portfolio; the customers with the most critical
    item first, then the largest overdue amount. One query."""
    criticality = (
        ItemCriticality.objects.filter(
            receivable__customer_id=OuterRef("customer_id"),
            receivable__status=ReceivableStatus.OPEN,
        )
        .values("receivable__customer_id")
        .annotate(top=Max("score"))
        .values("top")
    )
    overdue = (
        Receivable.objects.filter(
            customer_id=OuterRef("customer_id"),
            status=ReceivableStatus.OPEN,
            due_date__lt=today,
        )
        .values("customer_id")
        .annotate(total=Sum("open_amount"))
        .values("total")
    )
    tasks = (
        Task.objects.filter(company=company, status=TaskStatus.OPEN, due_on__lte=today)
        .filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today))
        .annotate(portfolio_operator=operator_expression(company))
        .filter(Q(assignee=user) | Q(assignee__isnull=True, portfolio_operator=user.pk))
        .annotate(
            criticality=Subquery(criticality),
            overdue_amount=Subquery(overdue, output_field=MoneyField()),
        )
        .select_related("customer", "assignee", "source_action")
        .order_by(
            F("criticality").desc(nulls_last=True),
            F("overdue_amount").desc(nulls_last=True),
            "due_on",
            "id",
        )
    )
    return [
        WorkItem(
            task=task,
            customer=task.customer,
            criticality=task.criticality,
            overdue_amount=task.overdue_amount or Decimal("0.00"),
            is_overdue=task.is_overdue(today),
        )
        for task in tasks
    ]


class Punctuality(NamedTuple):
    operator: Any  # a user, or None for tasks nobody was given
    week_start: dt.date  # the Monday of the ISO week
    planned: int  # tasks due in the week (cancelled ones do not count)
    done_on_time: int  # of which done on or before their date
    share: float  # done_on_time / planned


def punctuality(*, company: Company, start: dt.date, end: dt.date) -> list[Punctuality]:
    """Per operator and ISO week, the share of the tasks due between ``start`` and ``end``
    (both included) that were done on or before their date. Two queries."""
    rows = list(
        Task.objects.filter(company=company, due_on__gte=start, due_on__lte=end)
        .exclude(status=TaskStatus.CANCELLED)
        .annotate(week=TruncWeek("due_on"), done_on=TruncDate("done_at"))
        .values("assignee_id", "week")
        .annotate(
            planned=Count("id"),
            on_time=Count("id", filter=Q(status=TaskStatus.DONE, done_on__lte=F("due_on"))),
        )
        .order_by("week", "assignee_id")
    )
    ids = {row["assignee_id"] for row in rows if row["assignee_id"]}
    users = get_user_model().objects.in_bulk(ids) if ids else {}
    return [
        Punctuality(
            operator=users.get(row["assignee_id"]),
            week_start=_as_date(row["week"]),
            planned=row["planned"],
            done_on_time=row["on_time"],
            share=row["on_time"] / row["planned"],
        )
        for row in rows
    ]


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
