"""Read queries of the workspace: an operator's worklist, the punctuality of tasks, and what
the effectiveness statistics read (set-based: a handful of queries whatever the size)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import polars as pl
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case as SqlCase
from django.db.models import (
    CharField,
    Count,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, TruncDate, TruncWeek
from django.utils import timezone

from incassa.core import bulk
from incassa.core.fields import MoneyField, from_cents
from incassa.credit.models import ItemCriticality
from incassa.dunning.models import (
    Action,
    ActionStatus,
    CategoryStrategy,
    Channel,
    CustomerStrategy,
    ItemProgress,
    ItemStep,
    ItemStepStatus,
    Step,
    Strategy,
)
from incassa.ledger.models import (
    Company,
    Customer,
    ImportKind,
    ImportRun,
    ImportStatus,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
)
from incassa.workspace import effectiveness as eff
from incassa.workspace.models import (
    Activity,
    ActivityKind,
    Case,
    CaseOutcome,
    Dispute,
    PlanStatus,
    Promise,
    PromiseStatus,
    RepaymentPlan,
    Task,
    TaskStatus,
)
from incassa.workspace.models.agreements import DISPUTE_RESOLVED
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


# --------------------------------------------------------------------------------------
# Effectiveness: the contacts of a period and what the ledger says followed them
# --------------------------------------------------------------------------------------

# Customer ids are passed to IN lists this many at a time.
IN_CHUNK = 500
GONE_OUT = (ActionStatus.SENT, ActionStatus.DONE)


def _chunks(ids: Iterable[int], size: int = IN_CHUNK) -> Iterator[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _as_text(expression: Any) -> Cast:
    """A date or a moment as text on both databases (SQLite returns text, PostgreSQL a
    date or a datetime: raw rows need one type)."""
    return Cast(expression, output_field=CharField())


def _frame(
    queryset: QuerySet, schema: dict[str, pl.DataType], dates: Sequence[str] = ()
) -> pl.DataFrame:
    """The rows of a ``values_list`` queryset, compiled by the ORM and read raw (money in
    cents, ``dates`` as text) into a frame with ``schema``'s columns, in the queryset's
    order, without a Python object per value."""
    raw = {c: pl.Utf8 if c in dates else t for c, t in schema.items()}
    sql, params = queryset.order_by().query.sql_with_params()
    frame = bulk.fetch_frame(sql, params, raw)
    return frame.with_columns(pl.col(c).str.slice(0, 10).str.to_date("%Y-%m-%d") for c in dates)


def _local_day(column: str) -> pl.Expr:
    """The day in TIME_ZONE of a moment read as text. Django keeps moments in UTC: as
    ``YYYY-MM-DD HH:MM:SS[.ffffff]`` on SQLite, and PostgreSQL writes them out in the
    session's zone, which Django sets to UTC. (SQLite's ``TruncDate`` calls Python once per
    row: 160,000 actions took 7 s.)"""
    return (
        pl.col(column)
        .str.slice(0, 19)
        .str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC")
        .dt.convert_time_zone(settings.TIME_ZONE)
        .dt.date()
    )


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def observed_until(*, company: Company, today: dt.date) -> dt.date:
    """The day of the last snapshot applied (payments are known up to it), or ``today``
    when nothing was ever imported."""
    last = ImportRun.objects.filter(
        company=company,
        kind=ImportKind.RECEIVABLES,
        status=ImportStatus.APPLIED,
        as_of__lte=today,
    ).aggregate(last=Max("as_of"))["last"]
    return last or today


def effectiveness_actions(*, company: Company, start: dt.date, end: dt.date) -> QuerySet[Action]:
    """The engine's actions that went out from ``start`` to ``end``, by the day (in
    TIME_ZONE) they were sent (a message) or done (a call, a hand-over), else their
    scheduled day. Compared as moments, so that no function runs per row."""
    since, until = _local_midnight(start), _local_midnight(end + dt.timedelta(days=1))
    return Action.objects.filter(
        Q(sent_at__gte=since, sent_at__lt=until)
        | Q(sent_at=None, done_at__gte=since, done_at__lt=until)
        | Q(sent_at=None, done_at=None, scheduled_on__gte=start),
        company=company,
        status__in=GONE_OUT,
        scheduled_on__lte=end,
    )


def effectiveness_activities(
    *, company: Company, start: dt.date, end: dt.date
) -> QuerySet[Activity]:
    return Activity.objects.filter(
        company=company,
        happened_at__gte=_local_midnight(start),
        happened_at__lt=_local_midnight(end + dt.timedelta(days=1)),
    )


def effectiveness_inputs(
    *, company: Company, start: dt.date, end: dt.date, today: dt.date
) -> eff.Inputs:
    """Everything ``effectiveness.effectiveness`` needs for the contacts from ``start`` to
    ``end`` (both included)."""
    return _gather(company=company, start=start, end=end, today=today)[0]


def _gather(
    *, company: Company, start: dt.date, end: dt.date, today: dt.date
) -> tuple[eff.Inputs, dict[int, Decimal]]:
    """The inputs, and each customer's overdue amount today. Eleven queries whatever the
    size. Large sets are read by scans and joined in memory rather than looked up row by
    row (on SQLite, 570,000 items looked up by id took 5.5 s; the company's 1,000,000 read
    in one scan 2.7 s): the company's items in one scan, the item steps of a superset of
    the period's actions (an index-only range), the events after ``start`` within the
    company's range of item ids."""
    if end < start:
        raise ValueError("the period ends before it starts")
    actions = (
        _frame(
            effectiveness_actions(company=company, start=start, end=end)
            .annotate(
                sent=_as_text("sent_at"),
                done=_as_text("done_at"),
                scheduled=_as_text("scheduled_on"),
            )
            .values_list(
                "pk",
                "customer_id",
                "sent",
                "done",
                "scheduled",
                "step_id",
                "step__strategy_id",
                "channel",
            ),
            {
                "action_id": pl.Int64,
                "customer_id": pl.Int64,
                "sent": pl.Utf8,
                "done": pl.Utf8,
                "scheduled_on": pl.Date,
                "step_id": pl.Int64,
                "strategy_id": pl.Int64,
                "channel": pl.Utf8,
            },
            dates=["scheduled_on"],
        )
        .with_columns(
            pl.coalesce(_local_day("sent"), _local_day("done"), "scheduled_on").alias("day")
        )
        .drop("sent", "done")
    )
    links = eff.empty("action_items")
    if not actions.is_empty():
        candidates = Action.objects.filter(
            company=company,
            status__in=GONE_OUT,
            scheduled_on__gte=actions["scheduled_on"].min(),
            scheduled_on__lte=end,
        )
        links = _frame(
            ItemStep.objects.filter(action_id__in=candidates.values("pk"))
            .exclude(status__in=[ItemStepStatus.CANCELLED, ItemStepStatus.SKIPPED])
            .values_list("action_id", "receivable_id"),
            eff.SCHEMAS["action_items"],
        ).join(actions.select("action_id"), on="action_id", how="semi")
    activities = effectiveness_activities(company=company, start=start, end=end)
    activity_links = _frame(
        Activity.items.through.objects.filter(activity__in=activities.values("pk")).values_list(
            "activity_id", "receivable_id"
        ),
        eff.SCHEMAS["activity_items"],
    )
    activities = _frame(
        activities.annotate(at=_as_text("happened_at")).values_list(
            "pk", "customer_id", "at", "kind"
        ),
        {**eff.SCHEMAS["activities"], "day": pl.Utf8},
    ).with_columns(_local_day("day").alias("day"))
    every_item = _frame(
        Receivable.objects.filter(company=company)
        .annotate(
            due=_as_text("due_date"),
            owed=SqlCase(
                When(status=ReceivableStatus.CLOSED, then=Value(0)),
                default=F("open_amount"),
                output_field=MoneyField(),
            ),
        )
        .values_list("pk", "customer_id", "due", "owed"),
        eff.SCHEMAS["items"],
        dates=["due_date"],
    )
    overdue = dict(
        every_item.filter(pl.col("due_date") < today)
        .group_by("customer_id")
        .agg(pl.col("open_amount").sum())
        .iter_rows()
    )
    # The items a contact names, and those of customers with activities due before ``end``
    # (an activity that names none concerns its customer's items late on its day).
    named = pl.concat([links.select("item_id"), activity_links.select("item_id")])
    items = every_item.filter(
        pl.col("item_id").is_in(named["item_id"].implode())
        | (
            pl.col("customer_id").is_in(activities["customer_id"].implode())
            & (pl.col("due_date") < end)
        )
    )
    events = eff.empty("events")
    if not items.is_empty():
        events = _frame(
            ReceivableEvent.objects.filter(
                on_date__gt=start,
                receivable_id__gte=every_item["item_id"].min(),
                receivable_id__lte=every_item["item_id"].max(),
            )
            .annotate(on=_as_text("on_date"))
            .values_list("receivable_id", "on", "pk", "amount_before"),
            eff.SCHEMAS["events"],
            dates=["on_date"],
        ).join(items.select("item_id"), on="item_id", how="semi")
    inputs = eff.Inputs(
        observed_until=observed_until(company=company, today=today),
        actions=actions,
        action_items=links,
        activities=activities,
        activity_items=activity_links,
        items=items,
        events=events,
        finished=_finished_items(company),
        broken_promises=_frame(
            Promise.objects.filter(
                company=company,
                status=PromiseStatus.BROKEN,
                closed_on__gte=start,
                closed_on__lte=end,
            )
            .values("customer_id")
            .annotate(count=Count("pk"))
            .values_list("customer_id", "count"),
            eff.SCHEMAS["broken_promises"],
        ),
        broken_plans=_frame(
            RepaymentPlan.objects.filter(
                company=company,
                status=PlanStatus.BROKEN,
                broken_on__gte=start,
                broken_on__lte=end,
            )
            .values("customer_id")
            .annotate(count=Count("pk"))
            .values_list("customer_id", "count"),
            eff.SCHEMAS["broken_plans"],
        ),
    )
    return inputs, {customer: from_cents(cents) for customer, cents in overdue.items()}


def _last_steps(company: Company) -> dict[int, Step]:
    """Each strategy's last step, by the step's id."""
    last: dict[int, Step] = {}
    for step in Step.objects.filter(strategy__company=company).order_by("strategy_id", "position"):
        last[step.strategy_id] = step
    return {step.pk: step for step in last.values()}


def _finished_items(company: Company) -> pl.DataFrame:
    """Open items at the last step of their strategy, unless handed over to an agency (a
    case not withdrawn) or in a dispute not yet resolved."""
    last = _last_steps(company)
    handed_over = Case.items.through.objects.filter(case__company=company).exclude(
        case__outcome=CaseOutcome.WITHDRAWN
    )
    disputed = Dispute.items.through.objects.filter(dispute__company=company).exclude(
        dispute__status__in=DISPUTE_RESOLVED
    )
    frame = _frame(
        ItemProgress.objects.filter(
            step_id__in=list(last),
            receivable__company=company,
            receivable__status=ReceivableStatus.OPEN,
        )
        .exclude(receivable_id__in=handed_over.values("receivable_id"))
        .exclude(receivable_id__in=disputed.values("receivable_id"))
        .annotate(on=_as_text("reached_on"))
        .values_list("receivable__customer_id", "pk", "on", "receivable__open_amount", "step_id"),
        {
            "customer_id": pl.Int64,
            "item_id": pl.Int64,
            "reached_on": pl.Date,
            "open_amount": pl.Int64,
            "step_id": pl.Int64,
        },
        dates=["reached_on"],
    )
    escalations = [pk for pk, step in last.items() if step.channel == Channel.ESCALATION]
    return frame.with_columns(pl.col("step_id").is_in(escalations).alias("handed_over")).drop(
        "step_id"
    )


@dataclass(frozen=True)
class EffectivenessRow:
    """One line of an effectiveness table: a step, channel, activity type or strategy."""

    key: str
    label: Any  # str, or a lazily translated one
    detail: Any  # the step's strategy and channel; empty elsewhere
    figures: eff.Figures

    def as_json(self) -> dict:
        return {"key": self.key, "label": str(self.label), **self.figures.as_json()}


@dataclass(frozen=True)
class NotWorking:
    """A customer for whom the activities done are not working."""

    customer: Customer
    overdue_amount: Decimal  # today
    strategy: Strategy | None  # the one it follows now
    flag: eff.Flag

    def as_json(self) -> dict:
        return {
            "customer": self.customer.code,
            "name": self.customer.name,
            "overdue_amount": f"{self.overdue_amount:.2f}",
            "strategy": self.strategy.code if self.strategy else None,
            **self.flag.as_json(),
        }


@dataclass(frozen=True)
class EffectivenessReport:
    start: dt.date
    end: dt.date
    today: dt.date
    observed_until: dt.date
    steps: list[EffectivenessRow]
    channels: list[EffectivenessRow]
    activity_kinds: list[EffectivenessRow]
    strategies: list[EffectivenessRow]
    actions: eff.Figures  # every action of the period
    activities: eff.Figures  # every activity of the period
    not_working: list[NotWorking]  # the first ones when the report was asked for a few
    not_working_total: int | None = None  # how many there are (None: all are listed)

    @property
    def not_working_count(self) -> int:
        return len(self.not_working) if self.not_working_total is None else self.not_working_total

    def as_json(self) -> dict:
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "observed_until": self.observed_until.isoformat(),
            "horizons": list(eff.HORIZONS),
            "actions": self.actions.as_json(),
            "activities": self.activities.as_json(),
            **{
                name: [row.as_json() for row in getattr(self, name)]
                for name in ("steps", "channels", "activity_kinds", "strategies")
            },
            "not_working": [entry.as_json() for entry in self.not_working],
        }


def effectiveness_report(
    *, company: Company, start: dt.date, end: dt.date, today: dt.date
) -> EffectivenessReport:
    """The effectiveness of the contacts from ``start`` to ``end`` and the customers for
    whom they are not working, labelled and ordered for a page or a command (computed now:
    seconds on a million items; pages read it stored, see ``report_snapshots``)."""
    data = effectiveness_data(company=company, start=start, end=end, today=today)
    return effectiveness_report_from(company=company, data=data)


def effectiveness_data(
    *, company: Company, start: dt.date, end: dt.date, today: dt.date, keep: int | None = None
) -> dict:
    """The figures computed now, as JSON (what a stored report keeps: Decimals as strings,
    shares as exact floats, groups by their ids): every table, the totals, and the
    customers for whom it is not working in the order shown (the first ``keep`` of them,
    and how many there are)."""
    inputs, overdue = _gather(company=company, start=start, end=end, today=today)
    result = eff.effectiveness(inputs, today=today)
    entries = _not_working_order(company, result.flags, overdue)
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "today": today.isoformat(),
        "observed_until": result.observed_until.isoformat(),
        "tables": {
            dimension: [[key, _figures_json(figures)] for key, figures in groups.items()]
            for dimension, groups in result.tables.items()
        },
        "totals": {source: _figures_json(figures) for source, figures in result.totals.items()},
        "not_working": entries if keep is None else entries[:keep],
        "not_working_total": len(entries),
    }


def _figures_json(figures: eff.Figures) -> dict:
    return {
        "contacts": figures.contacts,
        "amount": f"{figures.amount:.2f}",
        "shares": [[days, share] for days, share in figures.shares.items()],
        "followed": [[days, count] for days, count in figures.followed.items()],
        "median_days": figures.median_days,
        "paid_items": figures.paid_items,
        "open_items": figures.open_items,
    }


def _figures_from(data: dict) -> eff.Figures:
    return eff.Figures(
        contacts=data["contacts"],
        amount=Decimal(data["amount"]),
        shares={int(days): share for days, share in data["shares"]},
        followed={int(days): count for days, count in data["followed"]},
        median_days=data["median_days"],
        paid_items=data["paid_items"],
        open_items=data["open_items"],
    )


def _not_working_order(
    company: Company, flags: list[eff.Flag], overdue: dict[int, Decimal]
) -> list[dict]:
    """The flagged customers of the company, the largest overdue amount first, as JSON with
    their overdue amount today. One query per IN_CHUNK customers."""
    codes: dict[int, str] = {}
    for chunk in _chunks(flag.customer_id for flag in flags):
        codes.update(
            Customer.objects.filter(company=company, pk__in=chunk).values_list("pk", "code")
        )
    entries = [
        (overdue.get(flag.customer_id, Decimal("0.00")), flag)
        for flag in flags
        if flag.customer_id in codes
    ]
    entries.sort(key=lambda e: (-e[0], -e[1].finished_amount, codes[e[1].customer_id]))
    return [
        {
            "customer_id": flag.customer_id,
            "overdue_amount": f"{amount:.2f}",
            "finished_items": flag.finished_items,
            "finished_amount": f"{flag.finished_amount:.2f}",
            "finished_days": flag.finished_days,
            "handed_over_step": flag.handed_over_step,
            "broken_promises": flag.broken_promises,
            "broken_plans": flag.broken_plans,
            "fruitless_contacts": flag.fruitless_contacts,
            "spoken": flag.spoken,
            "suggestion": flag.suggestion,
        }
        for amount, flag in entries
    ]


def effectiveness_report_from(
    *, company: Company, data: dict, limit: int | None = None
) -> EffectivenessReport:
    """The report ``effectiveness_data`` computed (now, or stored), labelled in the current
    language with the strategies and customers as they are now; only the first ``limit``
    customers where it is not working are read (all when None). A handful of queries."""
    tables = {
        dimension: {key: _figures_from(figures) for key, figures in rows}
        for dimension, rows in data["tables"].items()
    }
    steps = {
        step.pk: step
        for step in Step.objects.filter(strategy__company=company).select_related("strategy")
    }
    strategies = {step.strategy_id: step.strategy for step in steps.values()}
    step_rows = sorted(
        (
            EffectivenessRow(
                key=str(pk),
                label=steps[pk].name,
                detail=f"{steps[pk].strategy.name} · {steps[pk].get_channel_display()}",
                figures=figures,
            )
            for pk, figures in tables.get(eff.Dimension.STEP, {}).items()
            if pk in steps  # a step deleted since the report was computed
        ),
        key=lambda row: (steps[int(row.key)].strategy.code, steps[int(row.key)].position),
    )
    entries = data["not_working"] if limit is None else data["not_working"][:limit]
    not_working = _not_working(company, entries)
    total = data.get("not_working_total", len(data["not_working"]))
    return EffectivenessReport(
        start=dt.date.fromisoformat(data["from"]),
        end=dt.date.fromisoformat(data["to"]),
        today=dt.date.fromisoformat(data["today"]),
        observed_until=dt.date.fromisoformat(data["observed_until"]),
        steps=step_rows,
        channels=_choice_rows(Channel, tables.get(eff.Dimension.CHANNEL, {})),
        activity_kinds=_choice_rows(ActivityKind, tables.get(eff.Dimension.ACTIVITY_KIND, {})),
        strategies=sorted(
            (
                EffectivenessRow(key=str(pk), label=strategies[pk].name, detail="", figures=figures)
                for pk, figures in tables.get(eff.Dimension.STRATEGY, {}).items()
                if pk in strategies
            ),
            key=lambda row: strategies[int(row.key)].code,
        ),
        actions=_figures_from(data["totals"][eff.ACTION]),
        activities=_figures_from(data["totals"][eff.ACTIVITY]),
        not_working=not_working,
        not_working_total=None if len(not_working) == total else total,
    )


def _choice_rows(choices: Any, figures: dict[Any, eff.Figures]) -> list[EffectivenessRow]:
    """Rows in the order of the choices (an unknown value, from older data, last)."""
    order = {value: position for position, value in enumerate(choices.values)}
    labels = dict(choices.choices)
    return [
        EffectivenessRow(key=key, label=labels.get(key, key), detail="", figures=figures[key])
        for key in sorted(figures, key=lambda k: (order.get(k, len(order)), k))
    ]


def _not_working(company: Company, entries: list[dict]) -> list[NotWorking]:
    """The customers of ``entries`` (JSON, in their order) with the strategy they follow
    now. Two queries per IN_CHUNK customers, and two more."""
    ids = [entry["customer_id"] for entry in entries]
    customers: dict[int, Customer] = {}
    own: dict[int, Strategy] = {}
    for chunk in _chunks(ids):
        customers.update(
            Customer.objects.filter(company=company, pk__in=chunk).in_bulk(field_name="pk")
        )
        own.update(
            (row.customer_id, row.strategy)
            for row in CustomerStrategy.objects.filter(customer_id__in=chunk).select_related(
                "strategy"
            )
        )
    categories = {c.category_id for c in customers.values() if c.category_id is not None}
    by_category = {
        row.category_id: row.strategy
        for row in CategoryStrategy.objects.filter(category_id__in=categories).select_related(
            "strategy"
        )
    }
    default = Strategy.objects.filter(company=company, is_default=True).first() if ids else None
    result = []
    for entry in entries:
        customer = customers.get(entry["customer_id"])
        if customer is None:  # deleted since the report was computed
            continue
        flag = eff.Flag(
            customer_id=customer.pk,
            finished_items=entry["finished_items"],
            finished_amount=Decimal(entry["finished_amount"]),
            finished_days=entry["finished_days"],
            handed_over_step=entry["handed_over_step"],
            broken_promises=entry["broken_promises"],
            broken_plans=entry["broken_plans"],
            fruitless_contacts=entry["fruitless_contacts"],
            spoken=entry["spoken"],
            suggestion=entry["suggestion"],
        )
        result.append(
            NotWorking(
                customer=customer,
                overdue_amount=Decimal(entry["overdue_amount"]),
                strategy=own.get(customer.pk) or by_category.get(customer.category_id) or default,
                flag=flag,
            )
        )
    return result
