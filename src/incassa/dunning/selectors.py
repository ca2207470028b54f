"""Read queries over dunning: the history of items and what a run decided."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.db.models import Case, Count, F, Q, Sum, When

from incassa.core.fields import MoneyField, from_cents
from incassa.dunning.models import (
    Action,
    ActionStatus,
    CategoryStrategy,
    Channel,
    CustomerStrategy,
    Exclusion,
    Hold,
    ItemProgress,
    ItemStep,
    ItemStepStatus,
    Step,
    Strategy,
    Suspension,
)
from incassa.ledger.models import (
    Company,
    Customer,
    EventKind,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
)


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


# --------------------------------------------------------------------------------------
# A customer's and an item's dunning situation, for the pages
# --------------------------------------------------------------------------------------


class StrategySource:
    CUSTOMER = "customer"  # the customer's own override
    CATEGORY = "category"  # its category's
    DEFAULT = "default"  # the company's default


@dataclass(frozen=True, slots=True)
class DunningProfile:
    """How ``customer`` is chased: the strategy it follows and why, and what holds it."""

    strategy: Strategy | None
    strategy_source: str | None  # a StrategySource, None without any strategy
    exclusion: Exclusion | None
    suspension: Suspension | None  # the one in force on ``as_of`` that ends last
    upcoming_suspensions: list[Suspension]


def customer_dunning_profile(*, customer: Customer, as_of: dt.date) -> DunningProfile:
    """The strategy ``customer`` follows (its own, its category's or the company's default,
    as the engine chooses it) and its exclusion and suspensions on ``as_of``."""
    strategy, source = None, None
    own = CustomerStrategy.objects.filter(customer=customer).select_related("strategy").first()
    if own is not None:
        strategy, source = own.strategy, StrategySource.CUSTOMER
    elif customer.category_id is not None and (
        by_category := CategoryStrategy.objects.filter(category_id=customer.category_id)
        .select_related("strategy")
        .first()
    ):
        strategy, source = by_category.strategy, StrategySource.CATEGORY
    else:
        strategy = Strategy.objects.filter(company_id=customer.company_id, is_default=True).first()
        source = StrategySource.DEFAULT if strategy is not None else None
    suspensions = list(
        Suspension.objects.filter(customer=customer, until__gt=as_of).order_by("starts_on", "id")
    )
    current = [s for s in suspensions if s.is_active(as_of)]
    return DunningProfile(
        strategy=strategy,
        strategy_source=source,
        exclusion=Exclusion.objects.filter(customer=customer).first(),
        suspension=max(current, key=lambda s: s.until) if current else None,
        upcoming_suspensions=[s for s in suspensions if s.starts_on > as_of],
    )


def active_holds(*, receivable_ids: list[int], as_of: dt.date) -> dict[int, list[Hold]]:
    """The holds in force on ``as_of`` of the items ``receivable_ids``, per item id."""
    holds = (
        Hold.objects.filter(receivable_id__in=receivable_ids, starts_on__lte=as_of)
        .exclude(released_on__lte=as_of)
        .exclude(until__lte=as_of)
        .order_by("starts_on", "id")
    )
    found: dict[int, list[Hold]] = {}
    for hold in holds:
        found.setdefault(hold.receivable_id, []).append(hold)
    return found


@dataclass(frozen=True, slots=True)
class ItemState:
    """An item with where it stands in the flow on ``as_of``."""

    receivable: Receivable
    days_overdue: int
    step: Step | None  # the last step it reached
    step_reached_on: dt.date | None
    step_status: str | None  # an ItemStepStatus
    holds: list[Hold] = field(default_factory=list)  # in force on ``as_of``

    @property
    def step_status_label(self) -> str:
        return ItemStepStatus(self.step_status).label if self.step_status else ""

    @property
    def is_overdue(self) -> bool:
        return self.receivable.is_open and self.days_overdue > 0


def item_states(*, receivables: list[Receivable], as_of: dt.date) -> list[ItemState]:
    """``receivables`` with their current step, its status and their active holds: three
    queries whatever their number."""
    ids = [r.pk for r in receivables]
    progress = {
        p.receivable_id: p
        for p in ItemProgress.objects.filter(receivable_id__in=ids).select_related("step")
    }
    reached = {
        (receivable_id, step_id): status
        for receivable_id, step_id, status in ItemStep.objects.filter(
            receivable_id__in=[p.receivable_id for p in progress.values()]
        ).values_list("receivable_id", "step_id", "status")
    }
    holds = active_holds(receivable_ids=ids, as_of=as_of)
    states = []
    for receivable in receivables:
        current = progress.get(receivable.pk)
        states.append(
            ItemState(
                receivable=receivable,
                days_overdue=receivable.days_overdue(as_of),
                step=current.step if current else None,
                step_reached_on=current.reached_on if current else None,
                step_status=reached.get((receivable.pk, current.step_id)) if current else None,
                holds=holds.get(receivable.pk, []),
            )
        )
    return states


def customer_open_items(*, customer: Customer, as_of: dt.date) -> list[ItemState]:
    """The open items of ``customer``, oldest due date first, with their dunning state."""
    receivables = list(
        Receivable.objects.filter(
            company_id=customer.company_id, customer=customer, status=ReceivableStatus.OPEN
        ).order_by("due_date", "document_number", "id")
    )
    return item_states(receivables=receivables, as_of=as_of)


def customer_pending_actions(*, customer: Customer) -> list[Action]:
    """The actions of ``customer`` not yet gone out: waiting for approval, approved, or to
    be done by an operator; oldest first."""
    return list(
        Action.objects.filter(
            customer=customer, status__in=[ActionStatus.CREATED, ActionStatus.APPROVED]
        )
        .select_related("step")
        .order_by("scheduled_on", "id")
    )


class TimelineKind:
    STEP = "step"
    EVENT = "event"
    HOLD_PLACED = "hold_placed"
    HOLD_RELEASED = "hold_released"


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of an item's or a customer's story: a step reached, a change to an item,
    a hold placed or released."""

    on: dt.date
    kind: str  # a TimelineKind
    receivable: Receivable
    label: str  # the step's name, the event's or the hold's kind
    status: str = ""  # a step's ItemStepStatus, an event's EventKind
    status_label: str = ""
    channel: str = ""
    channel_label: str = ""
    note: str = ""
    days_overdue: int | None = None
    open_amount: Decimal | None = None
    amount_before: Decimal | None = None
    amount_after: Decimal | None = None
    until: dt.date | None = None
    order: tuple = ()  # breaks ties between entries of the same day


def dunning_timeline(
    *, customer: Customer | None = None, receivable: Receivable | None = None
) -> list[TimelineEntry]:
    """Every step the items of ``customer`` (or one ``receivable``) reached, every change
    the imports made to them and every hold, newest first: four queries.

    Entries of one day are shown in the order they happened: the item's change (from the
    morning's import), holds, then the engine's step.
    """
    if receivable is not None:
        scope = Q(receivable=receivable)
    elif customer is not None:
        scope = Q(receivable__customer=customer)
    else:
        raise TypeError("dunning_timeline needs a customer or a receivable")
    entries: list[TimelineEntry] = []
    for event in ReceivableEvent.objects.filter(scope).select_related("receivable"):
        entries.append(
            TimelineEntry(
                on=event.on_date,
                kind=TimelineKind.EVENT,
                receivable=event.receivable,
                label=EventKind(event.kind).label,
                status=event.kind,
                status_label=EventKind(event.kind).label,
                amount_before=event.amount_before,
                amount_after=event.amount_after,
                order=(0, event.pk),
            )
        )
    for hold in Hold.objects.filter(scope).select_related("receivable"):
        common = {"receivable": hold.receivable, "label": hold.get_kind_display()}
        entries.append(
            TimelineEntry(
                on=hold.starts_on,
                kind=TimelineKind.HOLD_PLACED,
                status=hold.kind,
                note=hold.reason,
                until=hold.until,
                order=(1, hold.pk),
                **common,
            )
        )
        if hold.released_on is not None:
            entries.append(
                TimelineEntry(
                    on=hold.released_on,
                    kind=TimelineKind.HOLD_RELEASED,
                    status=hold.kind,
                    order=(2, hold.pk),
                    **common,
                )
            )
    for item_step in ItemStep.objects.filter(scope).select_related("receivable", "step", "action"):
        action = item_step.action
        channel = action.channel if action else item_step.step.channel
        # The engine's note on the item (why it was skipped) and the operator's on the action
        # (why it was rejected).
        notes = [n for n in (item_step.note, action.note if action else "") if n]
        entries.append(
            TimelineEntry(
                on=item_step.reached_on,
                kind=TimelineKind.STEP,
                receivable=item_step.receivable,
                label=item_step.step.name,
                status=item_step.status,
                status_label=ItemStepStatus(item_step.status).label,
                channel=channel,
                channel_label=Channel(channel).label,
                note=" — ".join(dict.fromkeys(notes)),
                days_overdue=item_step.days_overdue,
                open_amount=item_step.open_amount,
                order=(3, item_step.pk),
            )
        )
    entries.sort(key=lambda e: (e.on, e.order), reverse=True)
    return entries


# --------------------------------------------------------------------------------------
# The day's actions and what the recent ones brought in, for the dashboard
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelDay:
    """A channel's actions of one day, by where they stand."""

    channel: str
    label: str
    waiting: int  # created, waiting for approval or to go out
    gone_out: int  # sent or done
    failed: int  # failed or rejected
    cancelled: int

    @property
    def total(self) -> int:
        return self.waiting + self.gone_out + self.failed + self.cancelled


@dataclass(frozen=True, slots=True)
class ChannelResult:
    """What the actions of a channel that went out in a period were about, and how much
    of it has been paid since."""

    channel: str
    label: str
    actions: int
    reminded: Decimal  # the items' open amount when each action was decided
    collected: Decimal  # how far those amounts have fallen since

    @property
    def collected_share(self) -> Decimal | None:
        if self.reminded <= 0:
            return None
        return (self.collected * 100 / self.reminded).quantize(Decimal("0.1"))


_STATE_OF = {
    ActionStatus.CREATED: "waiting",
    ActionStatus.APPROVED: "waiting",
    ActionStatus.SENDING: "waiting",
    ActionStatus.SENT: "gone_out",
    ActionStatus.DONE: "gone_out",
    ActionStatus.FAILED: "failed",
    ActionStatus.REJECTED: "failed",
    ActionStatus.CANCELLED: "cancelled",
}


def actions_by_channel(*, company: Company, day: dt.date) -> list[ChannelDay]:
    """The actions scheduled on ``day`` per channel and state: one grouped query."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        Action.objects.filter(company=company, scheduled_on=day)
        .values_list("channel", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for channel, status, n in rows:
        states = counts.setdefault(channel, dict.fromkeys(set(_STATE_OF.values()), 0))
        states[_STATE_OF.get(status, "waiting")] += n
    labels = dict(Channel.choices)
    return [
        ChannelDay(channel=channel, label=str(labels.get(channel, channel)), **counts[channel])
        for channel in Channel.values
        if channel in counts
    ]


def channel_results(*, company: Company, since: dt.date, until: dt.date) -> list[ChannelResult]:
    """Per channel, the actions that went out between ``since`` and ``until`` and how much
    of the amount they reminded has been paid since (a closed item counts in full): one
    grouped query through the actions' index."""
    still_open = Case(
        When(receivable__status=ReceivableStatus.OPEN, then=F("receivable__open_amount")),
        default=0,
        output_field=MoneyField(),
    )
    rows = (
        ItemStep.objects.filter(
            action__company=company,
            action__status__in=[ActionStatus.SENT, ActionStatus.DONE],
            action__scheduled_on__gte=since,
            action__scheduled_on__lte=until,
        )
        .values_list("action__channel")
        .annotate(
            actions=Count("action_id", distinct=True),
            reminded=Sum("open_amount"),
            remaining=Sum(still_open),
        )
        .order_by()
    )
    labels = dict(Channel.choices)
    results = {}
    for channel, actions, reminded, remaining in rows:
        reminded = reminded if isinstance(reminded, Decimal) else from_cents(int(reminded or 0))
        remaining = remaining if isinstance(remaining, Decimal) else from_cents(int(remaining or 0))
        results[channel] = ChannelResult(
            channel=channel,
            label=str(labels.get(channel, channel)),
            actions=actions,
            reminded=reminded,
            collected=max(reminded - remaining, Decimal(0)),
        )
    return [results[channel] for channel in Channel.values if channel in results]
