"""Portfolios: who looks after which customers, how much that is, and the changes a credit
manager makes to them (a category's rule, the company default, hand assignments, a bulk
assignment of every customer of a filter).

Reads are set-based: figures are grouped by ``operator_expression`` (the hand assignment,
else the category's rule, else the company default) in a fixed number of queries, however
many customers and operators there are. Changes are one transaction each and give
customers only to the company's acting members (administrators, credit managers,
collectors): they are the ones with a worklist. A single customer is given by hand with
``work.customer_assign`` (``operator=None`` takes the assignment away).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from incassa.core.fields import MoneyField
from incassa.ledger.balances import fresh_open_balances
from incassa.ledger.models import (
    Company,
    Customer,
    CustomerCategory,
    Membership,
    Receivable,
    ReceivableStatus,
    SalesAgent,
)
from incassa.ledger.selectors import ACTING_ROLES
from incassa.workspace.models import CustomerAssignment, PortfolioRule, Task, TaskStatus
from incassa.workspace.selectors import Punctuality
from incassa.workspace.work import WorkError, operator_expression

User = get_user_model()
ZERO = Decimal("0.00")
BULK_BATCH = 500


class PortfolioError(WorkError):
    """A user error in a portfolio change: the message says what is wrong."""


# --------------------------------------------------------------------------------------
# Who may have a portfolio
# --------------------------------------------------------------------------------------


def acting_members(company: Company) -> QuerySet:
    """The company's members who may act on collections: those customers and tasks go to."""
    return (
        User.objects.filter(memberships__company=company, memberships__role__in=ACTING_ROLES)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def is_acting_member(company: Company, user: Any) -> bool:
    return Membership.objects.filter(company=company, user=user, role__in=ACTING_ROLES).exists()


def _check_operator(company: Company, operator: Any) -> None:
    if not is_acting_member(company, operator):
        raise PortfolioError(
            _("%(user)s does not work on collections for %(company)s.")
            % {"user": display_name(operator), "company": company}
        )


def display_name(user: Any) -> str:
    return user.get_full_name() or user.get_username()


# --------------------------------------------------------------------------------------
# Figures per operator
# --------------------------------------------------------------------------------------


@dataclass
class OperatorPortfolio:
    """One operator's share of the company (``operator`` None: nobody's)."""

    operator: Any
    is_acting: bool = True
    customers: int = 0
    open_amount: Decimal = ZERO
    overdue_amount: Decimal = ZERO
    tasks_today: int = 0  # open tasks due today
    tasks_late: int = 0  # open tasks due before today (snoozed ones too: still late)


def operator_portfolios(
    *, company: Company, today: dt.date, operators: Iterable[Any] | None = None
) -> list[OperatorPortfolio]:
    """Every acting member's portfolio (also an empty one), then any other user who still has
    customers or tasks (a former collector), then what nobody looks after.

    A task belongs to its assignee, or when it has none to its customer's operator, as on
    the worklist. Three queries, plus one for the users who are no longer acting: the
    customers with their open and overdue amounts grouped by operator (each customer's
    sums read from the covering index of its open items), the open tasks due by today
    grouped the same way, and the acting members (unless given as ``operators``).

    The sums come from the precomputed open balances while they are fresh (overdue as of
    their computation), grouped by hand assignment and category in one join: 0.1 s on
    SQLite with 100,000 customers. Live, each customer's sums are read from the covering
    index of its open items: 1.1-1.5 s with 990,000 open items.
    """
    if fresh_open_balances(company) is not None:
        by_customer = _portfolio_sums_from_balances(company)
    else:
        by_customer = _portfolio_sums_live(company, today)
    by_task = (
        Task.objects.filter(company=company, status=TaskStatus.OPEN, due_on__lte=today)
        .annotate(
            operator_id=Coalesce(
                F("assignee_id"), operator_expression(company), output_field=IntegerField()
            )
        )
        .values("operator_id")
        .annotate(
            today=Count("id", filter=Q(due_on=today)),
            late=Count("id", filter=Q(due_on__lt=today)),
        )
        .order_by()
    )
    return _portfolio_rows(company, operators, by_customer, by_task)


def _portfolio_sums_from_balances(company: Company) -> list[dict[str, Any]]:
    """The customers and their precomputed open balances grouped by hand assignment and
    category in one join (a few dozen groups), each group then given its operator as
    ``operator_expression`` would: the hand assignment, the category's rule, the default."""
    rules = dict(
        PortfolioRule.objects.filter(company=company).values_list("category_id", "operator_id")
    )
    groups = (
        Customer.objects.filter(company=company)
        .values("assignment__operator_id", "category_id")
        .annotate(
            customers=Count("id"),
            open_amount=Sum("open_balance__open_amount"),
            overdue_amount=Sum("open_balance__overdue_amount"),
        )
        .order_by()
    )
    return [
        {
            **group,
            "operator_id": group["assignment__operator_id"]
            or rules.get(group["category_id"])
            or rules.get(None),
        }
        for group in groups
    ]


def _portfolio_sums_live(company: Company, today: dt.date) -> Any:
    open_items = Receivable.objects.filter(
        company=company, customer_id=OuterRef("pk"), status=ReceivableStatus.OPEN
    ).values("customer_id")
    open_sum = open_items.annotate(total=Sum("open_amount")).values("total")
    overdue_sum = (
        open_items.filter(due_date__lt=today).annotate(total=Sum("open_amount")).values("total")
    )
    by_customer = (
        Customer.objects.filter(company=company)
        .annotate(operator_id=operator_expression(company, ""))
        .values("operator_id")
        .annotate(
            customers=Count("id"),
            open_amount=Sum(Subquery(open_sum, output_field=MoneyField())),
            overdue_amount=Sum(Subquery(overdue_sum, output_field=MoneyField())),
        )
        .order_by()
    )
    return by_customer


def _portfolio_rows(
    company: Company, operators: Iterable[Any] | None, by_customer: Any, by_task: Any
) -> list[OperatorPortfolio]:
    rows: dict[int | None, OperatorPortfolio] = {
        user.pk: OperatorPortfolio(operator=user)
        for user in (acting_members(company) if operators is None else operators)
    }

    def row(operator_id: int | None) -> OperatorPortfolio:
        if operator_id not in rows:
            rows[operator_id] = OperatorPortfolio(operator=None, is_acting=False)
        return rows[operator_id]

    for figures in by_customer:
        entry = row(figures["operator_id"])
        entry.customers += figures["customers"]
        entry.open_amount += figures["open_amount"] or ZERO
        entry.overdue_amount += figures["overdue_amount"] or ZERO
    for figures in by_task:
        entry = row(figures["operator_id"])
        entry.tasks_today = figures["today"]
        entry.tasks_late = figures["late"]

    former = [pk for pk, entry in rows.items() if pk is not None and entry.operator is None]
    if former:
        for pk, user in User.objects.in_bulk(former).items():
            rows[pk].operator = user
    nobody = rows.pop(None, None)
    acting = [entry for entry in rows.values() if entry.is_acting]
    others = sorted(
        (entry for entry in rows.values() if not entry.is_acting and entry.operator is not None),
        key=lambda entry: display_name(entry.operator).lower(),
    )
    return [*acting, *others, *([nobody] if nobody is not None else [])]


def portfolio_totals(rows: Iterable[OperatorPortfolio]) -> OperatorPortfolio:
    """The sum of the rows: the whole company."""
    total = OperatorPortfolio(operator=None, is_acting=False)
    for entry in rows:
        total.customers += entry.customers
        total.open_amount += entry.open_amount
        total.overdue_amount += entry.overdue_amount
        total.tasks_today += entry.tasks_today
        total.tasks_late += entry.tasks_late
    return total


# --------------------------------------------------------------------------------------
# Rules per category
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategoryRule:
    category: CustomerCategory | None  # None: the company default
    rule: PortfolioRule | None


def category_rules(company: Company) -> list[CategoryRule]:
    """The company default first, then every category with its rule (or none). Two
    queries."""
    rules = {
        rule.category_id: rule
        for rule in PortfolioRule.objects.filter(company=company).select_related("operator")
    }
    categories = CustomerCategory.objects.filter(company=company).order_by("code")
    return [
        CategoryRule(category=None, rule=rules.get(None)),
        *(CategoryRule(category=category, rule=rules.get(category.pk)) for category in categories),
    ]


def _check_category(company: Company, category: CustomerCategory | None) -> None:
    if category is not None and category.company_id != company.pk:
        raise PortfolioError(_("The category belongs to another company."))


def portfolio_rule_set(
    *, company: Company, category: CustomerCategory | None, operator: Any
) -> PortfolioRule:
    """Give every customer of ``category`` (None: every customer whose category has no rule)
    to ``operator``, replacing the rule there was."""
    _check_category(company, category)
    with transaction.atomic():
        _check_operator(company, operator)
        rule = (
            PortfolioRule.objects.select_for_update()
            .filter(company=company, category=category)
            .first()
        )
        if rule is None:
            return PortfolioRule.objects.create(
                company=company, category=category, operator=operator
            )
        rule.operator = operator
        rule.save(update_fields=["operator"])
        return rule


def portfolio_rule_remove(*, company: Company, category: CustomerCategory | None) -> bool:
    """Take the rule away: the category's customers go to the company default (the
    default's, to nobody). True when there was a rule."""
    _check_category(company, category)
    with transaction.atomic():
        deleted, _by_model = PortfolioRule.objects.filter(
            company=company, category=category
        ).delete()
        return deleted > 0


# --------------------------------------------------------------------------------------
# Hand assignments
# --------------------------------------------------------------------------------------


def hand_assignments(company: Company, *, search: str = "") -> QuerySet[CustomerAssignment]:
    """The customers given by hand, by customer code; ``search`` matches part of the
    customer's code or name or of the operator's name or username."""
    assignments = CustomerAssignment.objects.filter(company=company).select_related(
        "customer", "operator"
    )
    for word in search.split():
        assignments = assignments.filter(
            Q(customer__code__icontains=word)
            | Q(customer__name__icontains=word)
            | Q(operator__username__icontains=word)
            | Q(operator__first_name__icontains=word)
            | Q(operator__last_name__icontains=word)
        )
    return assignments.order_by("customer__code", "pk")


class Only:
    """Which of the filtered customers a bulk assignment takes."""

    ALL = ""
    NOBODYS = "nobody"  # no hand assignment and no rule: nobody looks after them
    NOT_BY_HAND = "not_by_hand"  # not assigned by hand (a rule may cover them)


def customers_bulk_assign(
    *,
    company: Company,
    operator: Any,
    category: CustomerCategory | None = None,
    sales_agent: SalesAgent | None = None,
    only: str = Only.ALL,
) -> int:
    """Give by hand to ``operator`` every customer of ``category`` and/or ``sales_agent``,
    or every one that nobody looks after or that is not assigned by hand. Returns how many.

    Set-based: the customers are chosen by one query, their existing assignments moved by
    one UPDATE and the missing ones inserted in batches."""
    if only not in {Only.ALL, Only.NOBODYS, Only.NOT_BY_HAND}:
        raise PortfolioError(_("Unknown choice of customers."))
    if category is None and sales_agent is None and only == Only.ALL:
        raise PortfolioError(
            _(
                "Choose a category, a sales agent or the customers not yet assigned: for "
                "every customer, set the company default instead."
            )
        )
    _check_category(company, category)
    if sales_agent is not None and sales_agent.company_id != company.pk:
        raise PortfolioError(_("The sales agent belongs to another company."))
    with transaction.atomic():
        _check_operator(company, operator)
        customers = Customer.objects.filter(company=company)
        if category is not None:
            customers = customers.filter(category=category)
        if sales_agent is not None:
            customers = customers.filter(sales_agent=sales_agent)
        if only == Only.NOBODYS:
            customers = customers.annotate(operator_id=operator_expression(company, "")).filter(
                operator_id__isnull=True
            )
        elif only == Only.NOT_BY_HAND:
            customers = customers.filter(assignment__isnull=True)
        chosen = customers.values("pk")
        # Customers that nobody looks after, or not assigned by hand, have no assignment to
        # move: the UPDATE leaves them as they are and the insert gives them theirs.
        moved = CustomerAssignment.objects.filter(customer__in=chosen).update(
            operator=operator, company=company
        )
        missing = customers.exclude(
            Exists(CustomerAssignment.objects.filter(customer_id=OuterRef("pk")))
        ).values_list("pk", flat=True)
        created = CustomerAssignment.objects.bulk_create(
            [
                CustomerAssignment(company=company, customer_id=pk, operator=operator)
                for pk in missing.order_by("pk")
            ],
            batch_size=BULK_BATCH,
        )
        return moved + len(created)


# --------------------------------------------------------------------------------------
# Punctuality per operator and week
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PunctualityCell:
    planned: int
    done_on_time: int

    @property
    def share(self) -> float:
        return self.done_on_time / self.planned if self.planned else 0.0


@dataclass
class PunctualityRow:
    operator: Any  # a user, or None for the tasks nobody was given
    cells: list[PunctualityCell | None] = field(default_factory=list)  # one per week
    total: PunctualityCell = PunctualityCell(0, 0)


@dataclass(frozen=True)
class PunctualityTable:
    weeks: list[dt.date]  # the Mondays, oldest first
    rows: list[PunctualityRow]
    totals: list[PunctualityCell | None]  # every operator, per week
    total: PunctualityCell


def mondays(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays of the ISO weeks from ``first``'s to ``last``'s, both included."""
    start = first - dt.timedelta(days=first.weekday())
    end = last - dt.timedelta(days=last.weekday())
    return [start + dt.timedelta(weeks=n) for n in range((end - start).days // 7 + 1)]


def punctuality_table(
    entries: Iterable[Punctuality], weeks: list[dt.date], operators: Iterable[Any] = ()
) -> PunctualityTable:
    """``punctuality``'s rows as a table: an operator per row (every one of ``operators``,
    then the others who had tasks, then the tasks nobody was given), a week per column
    (None where nothing was planned), with the totals per operator and per week."""
    column = {week: n for n, week in enumerate(weeks)}
    cells: dict[int | None, dict[int, PunctualityCell]] = {}
    users: dict[int | None, Any] = {}
    for user in operators:
        cells.setdefault(user.pk, {})
        users[user.pk] = user
    for entry in entries:
        if entry.week_start not in column:
            continue
        key = entry.operator.pk if entry.operator is not None else None
        users.setdefault(key, entry.operator)
        cells.setdefault(key, {})[column[entry.week_start]] = PunctualityCell(
            entry.planned, entry.done_on_time
        )
    keys = [key for key in cells if key is not None]
    if None in cells:
        keys.append(None)
    rows = []
    for key in keys:
        by_week = cells[key]
        rows.append(
            PunctualityRow(
                operator=users[key],
                cells=[by_week.get(n) for n in range(len(weeks))],
                total=_sum_cells(by_week.values()),
            )
        )
    totals = []
    for n in range(len(weeks)):
        in_week = [cells[key][n] for key in keys if n in cells[key]]
        totals.append(_sum_cells(in_week) if in_week else None)
    return PunctualityTable(
        weeks=weeks,
        rows=rows,
        totals=totals,
        total=_sum_cells(row.total for row in rows),
    )


def _sum_cells(cells: Iterable[PunctualityCell]) -> PunctualityCell:
    planned = done = 0
    for cell in cells:
        planned += cell.planned
        done += cell.done_on_time
    return PunctualityCell(planned, done)
