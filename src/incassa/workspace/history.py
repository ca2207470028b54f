"""The whole story of a customer, or of one item, as one list newest first: what the imports
changed (a fall of the open amount is a payment), the dunning steps and holds, every message
as it went out, every activity, and the life of every promise, dispute, repayment plan,
settlement and hand-over case.

Each source is read with one query whatever the number of entries (the dunning part reuses
``dunning_timeline``'s three); on a customer's history the items each message, activity
and agreement concerns come from one more query, a union of their item tables. Labels and
texts are written in the active language, so the caller chooses it (the request's, or the
dossier's).

Entries of one day keep the order things happen in: the morning's import, holds, the
engine's steps, messages, activities, then agreements made and agreements ending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import CharField, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from incassa.comms.models import Medium, Message, MessageItem, MessageStatus
from incassa.core.formatting import format_day, format_money, format_number
from incassa.dunning.selectors import TimelineEntry, TimelineKind, dunning_timeline
from incassa.ledger.models import Customer, EventKind, Receivable
from incassa.workspace.models import (
    Activity,
    Case,
    CaseKind,
    CaseOutcome,
    CaseStatus,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Instalment,
    InstalmentStatus,
    PlanStatus,
    Promise,
    PromiseStatus,
    RepaymentPlan,
    Settlement,
    SettlementStatus,
)
from incassa.workspace.models.agreements import DISPUTE_RESOLVED
from incassa.workspace.models.work import ActivityKind, Direction, Reaction

__all__ = [
    "GROUPS",
    "GROUP_LABELS",
    "History",
    "HistoryEntry",
    "HistoryGroup",
    "HistoryKind",
    "customer_history",
    "item_history",
]


class HistoryGroup:
    """What the filters of a history choose among."""

    LEDGER = "ledger"  # the imports: new items, payments, closings
    COMMUNICATIONS = "communications"
    ACTIVITIES = "activities"
    AGREEMENTS = "agreements"  # promises, disputes, plans, settlements, cases
    DUNNING = "dunning"  # the engine's steps and the holds


GROUPS = (
    HistoryGroup.LEDGER,
    HistoryGroup.COMMUNICATIONS,
    HistoryGroup.ACTIVITIES,
    HistoryGroup.AGREEMENTS,
    HistoryGroup.DUNNING,
)

GROUP_LABELS = {
    HistoryGroup.LEDGER: gettext_lazy("Payments and imports"),
    HistoryGroup.COMMUNICATIONS: gettext_lazy("Communications"),
    HistoryGroup.ACTIVITIES: gettext_lazy("Activities"),
    HistoryGroup.AGREEMENTS: gettext_lazy("Agreements"),
    HistoryGroup.DUNNING: gettext_lazy("Dunning"),
}


class HistoryKind:
    ITEM_CREATED = "item_created"
    PAYMENT = "payment"  # the open amount fell
    AMOUNT_INCREASED = "amount_increased"
    ITEM_CLOSED = "item_closed"  # gone from the snapshot or settled: paid
    ITEM_REOPENED = "item_reopened"
    STEP = "step"
    HOLD_PLACED = "hold_placed"
    HOLD_RELEASED = "hold_released"
    MESSAGE = "message"
    ACTIVITY = "activity"
    PROMISE = "promise"
    PROMISE_CLOSED = "promise_closed"
    DISPUTE = "dispute"
    DISPUTE_RESOLVED = "dispute_resolved"
    PLAN = "plan"
    INSTALMENT = "instalment"
    PLAN_CLOSED = "plan_closed"
    SETTLEMENT = "settlement"
    SETTLEMENT_CLOSED = "settlement_closed"
    CASE = "case"
    CASE_CLOSED = "case_closed"


# The order of the entries of one day (see the module's docstring).
_RANK = {
    HistoryKind.ITEM_CREATED: 0,
    HistoryKind.PAYMENT: 0,
    HistoryKind.AMOUNT_INCREASED: 0,
    HistoryKind.ITEM_CLOSED: 0,
    HistoryKind.ITEM_REOPENED: 0,
    HistoryKind.HOLD_PLACED: 1,
    HistoryKind.HOLD_RELEASED: 2,
    HistoryKind.STEP: 3,
    HistoryKind.MESSAGE: 4,
    HistoryKind.ACTIVITY: 5,
    HistoryKind.PROMISE: 6,
    HistoryKind.DISPUTE: 6,
    HistoryKind.PLAN: 6,
    HistoryKind.SETTLEMENT: 6,
    HistoryKind.CASE: 6,
    HistoryKind.INSTALMENT: 7,
    HistoryKind.PROMISE_CLOSED: 8,
    HistoryKind.DISPUTE_RESOLVED: 8,
    HistoryKind.PLAN_CLOSED: 8,
    HistoryKind.SETTLEMENT_CLOSED: 8,
    HistoryKind.CASE_CLOSED: 8,
}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One thing that happened, ready to show: a title, a line saying what it was, the
    items it concerns and its amount (what was paid, promised, listed, handed over...)."""

    on: dt.date
    kind: str  # a HistoryKind
    group: str  # a HistoryGroup
    title: str
    items: tuple[Receivable, ...] = ()
    amount: Decimal | None = None
    currency: str = "EUR"
    status: str = ""  # the state it reached (a step's, a message's, a promise's...)
    status_label: str = ""
    text: str = ""  # what it was: amounts before and after, a subject, an outcome...
    note: str = ""  # free text written by someone: notes, reasons, resolutions
    operator: str = ""  # who did or recorded it
    at: dt.datetime | None = None  # the moment, when known (messages, activities)
    message_id: int | None = None  # a message whose PDF can be downloaded
    case_id: int | None = None  # a hand-over case, whose dossier can be downloaded
    order: tuple = field(default=(), compare=False)

    @property
    def sort_key(self) -> tuple:
        moment = self.at.timestamp() if self.at is not None else 0.0
        return (self.on, _RANK[self.kind], moment, self.order)


@dataclass(frozen=True)
class History:
    """The entries (newest first, at most ``limit``), how many there are in all for the
    chosen groups, and how many each group has."""

    entries: list[HistoryEntry]
    total: int
    counts: dict[str, int]

    def __iter__(self) -> Iterator[HistoryEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)


def customer_history(
    customer: Customer, *, groups: Collection[str] | None = None, limit: int | None = None
) -> History:
    """Everything that happened to ``customer`` and its items, newest first: thirteen
    queries at most however long the story (``groups``: only those; ``limit``: the newest
    ones; ``total`` counts them all)."""
    receivables = {r.pk: r for r in Receivable.objects.filter(customer=customer)}
    links = _item_links(customer, receivables)
    entries = _dunning_entries(dunning_timeline(customer=customer))
    entries += _message_entries(
        Message.objects.filter(customer=customer).exclude(status=MessageStatus.CANCELLED),
        links,
    )
    scope = Q(customer=customer)
    entries += _activity_entries(scope, links)
    entries += _agreement_entries(scope, links)
    return _history(entries, groups, limit)


def item_history(
    receivable: Receivable, *, groups: Collection[str] | None = None, limit: int | None = None
) -> History:
    """Everything that happened to one item, newest first: eleven queries at most. The
    messages show the open amount they listed for this item."""
    entries = _dunning_entries(dunning_timeline(receivable=receivable))
    entries += _listed_message_entries(receivable)
    scope = Q(items=receivable)
    links = _OnlyItem(receivable)
    entries += _activity_entries(scope, links)
    entries += _agreement_entries(scope, links)
    return _history(entries, groups, limit)


def _history(
    entries: list[HistoryEntry], groups: Collection[str] | None, limit: int | None
) -> History:
    counts = dict.fromkeys(GROUPS, 0)
    for entry in entries:
        counts[entry.group] += 1
    if groups is not None:
        entries = [e for e in entries if e.group in groups]
    entries.sort(key=lambda e: e.sort_key, reverse=True)
    total = len(entries)
    return History(
        entries=entries if limit is None else entries[:limit], total=total, counts=counts
    )


# --------------------------------------------------------------------------------------
# Which items each message, activity and agreement concerns
# --------------------------------------------------------------------------------------


class _Links:
    """The items of each (source, id), e.g. ``("promise", 7)``."""

    def __init__(self, found: dict[tuple[str, int], tuple[Receivable, ...]]) -> None:
        self.found = found

    def __call__(self, source: str, pk: int) -> tuple[Receivable, ...]:
        return self.found.get((source, pk), ())


class _OnlyItem(_Links):
    """An item's history: every entry concerns that item."""

    def __init__(self, receivable: Receivable) -> None:
        super().__init__({})
        self.receivable = receivable

    def __call__(self, source: str, pk: int) -> tuple[Receivable, ...]:
        return (self.receivable,)


def _item_links(customer: Customer, receivables: dict[int, Receivable]) -> _Links:
    """The items of the customer's messages, activities and agreements: one query, the union
    of their item tables."""
    # (source, its rows); each table names its owner ``<source>_id``.
    tables: list[tuple[str, Any]] = [
        ("message", MessageItem.objects.filter(message__customer=customer)),
        ("activity", Activity.items.through.objects.filter(activity__customer=customer)),
        ("promise", Promise.items.through.objects.filter(promise__customer=customer)),
        ("dispute", Dispute.items.through.objects.filter(dispute__customer=customer)),
        (
            "repaymentplan",
            RepaymentPlan.items.through.objects.filter(repaymentplan__customer=customer),
        ),
        ("settlement", Settlement.items.through.objects.filter(settlement__customer=customer)),
        ("case", Case.items.through.objects.filter(case__customer=customer)),
    ]
    queries = [
        # The literal last: Django writes annotations after the fields in every SELECT.
        rows.order_by()
        .annotate(source=Value(source, output_field=CharField()))
        .values_list(f"{source}_id", "receivable_id", "source")
        for source, rows in tables
    ]
    found: dict[tuple[str, int], list[Receivable]] = {}
    for owner_id, receivable_id, source in queries[0].union(*queries[1:], all=True):
        if receivable_id in receivables:
            found.setdefault((source, owner_id), []).append(receivables[receivable_id])
    return _Links(
        {
            key: tuple(sorted(items, key=lambda r: (r.due_date, r.document_number, r.pk)))
            for key, items in found.items()
        }
    )


# --------------------------------------------------------------------------------------
# The sources
# --------------------------------------------------------------------------------------


def _user_name(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _from_to(before: Decimal | None, after: Decimal | None, currency: str) -> str:
    return _("open amount from %(before)s to %(after)s") % {
        "before": format_money(before or Decimal(0), currency),
        "after": format_money(after or Decimal(0), currency),
    }


def _dunning_entries(timeline: list[TimelineEntry]) -> list[HistoryEntry]:
    """The imports' changes, the engine's steps and the holds, from the dunning timeline."""
    entries = []
    for t in timeline:
        item = t.receivable
        common: dict[str, Any] = {
            "on": t.on,
            "items": (item,),
            "currency": item.currency,
            "order": t.order,
        }
        if t.kind == TimelineKind.EVENT:
            entries.append(_event_entry(t, common))
        elif t.kind == TimelineKind.STEP:
            days = t.days_overdue or 0
            overdue = ngettext("%(days)s day overdue", "%(days)s days overdue", days) % {
                "days": days
            }
            entries.append(
                HistoryEntry(
                    kind=HistoryKind.STEP,
                    group=HistoryGroup.DUNNING,
                    title=t.label,
                    amount=t.open_amount,
                    status=t.status,
                    status_label=t.status_label,
                    text=f"{t.channel_label} · {overdue}",
                    note=t.note,
                    **common,
                )
            )
        elif t.kind == TimelineKind.HOLD_PLACED:
            until = (
                _("until %(date)s") % {"date": format_day(t.until)}
                if t.until
                else _("until released")
            )
            entries.append(
                HistoryEntry(
                    kind=HistoryKind.HOLD_PLACED,
                    group=HistoryGroup.DUNNING,
                    title=_("Hold: %(kind)s") % {"kind": t.label},
                    status="hold",
                    text=until,
                    note=t.note,
                    **common,
                )
            )
        else:
            entries.append(
                HistoryEntry(
                    kind=HistoryKind.HOLD_RELEASED,
                    group=HistoryGroup.DUNNING,
                    title=_("Hold released: %(kind)s") % {"kind": t.label},
                    status="hold",
                    **common,
                )
            )
    return entries


def _event_entry(t: TimelineEntry, common: dict[str, Any]) -> HistoryEntry:
    """A change an import made to an item; a fall of its open amount is a payment."""
    before, after = t.amount_before, t.amount_after
    currency = common["currency"]
    ledger = {"group": HistoryGroup.LEDGER, "status": t.status, **common}
    if t.status == EventKind.CREATED:
        return HistoryEntry(
            kind=HistoryKind.ITEM_CREATED, title=_("New item"), amount=after, **ledger
        )
    if t.status == EventKind.REOPENED:
        return HistoryEntry(
            kind=HistoryKind.ITEM_REOPENED,
            title=_("Item reopened"),
            amount=after,
            text=_from_to(before, after, currency),
            **ledger,
        )
    if t.status == EventKind.CLOSED:
        return HistoryEntry(
            kind=HistoryKind.ITEM_CLOSED,
            title=_("Closed: paid"),
            amount=(before or Decimal(0)) - (after or Decimal(0)),
            text=_from_to(before, after, currency),
            **ledger,
        )
    change = (after or Decimal(0)) - (before or Decimal(0))
    return HistoryEntry(
        kind=HistoryKind.PAYMENT if change < 0 else HistoryKind.AMOUNT_INCREASED,
        title=_("Payment") if change < 0 else _("Open amount increased"),
        amount=abs(change),
        text=_from_to(before, after, currency),
        **ledger,
    )


def _message_entry(
    message: Message, items: tuple[Receivable, ...], amount: Decimal
) -> HistoryEntry:
    moment = _local(message.sent_at or message.created_at)
    text = message.subject
    if message.registered_number:
        text = f"{text} · {_('No.')} {message.registered_number}"
    note = message.last_response if message.status == MessageStatus.FAILED else message.note
    return HistoryEntry(
        on=moment.date(),
        at=moment,
        kind=HistoryKind.MESSAGE,
        group=HistoryGroup.COMMUNICATIONS,
        title=Medium(message.medium).label if message.medium in Medium.values else message.medium,
        items=items,
        amount=amount,
        status=message.status,
        status_label=MessageStatus(message.status).label,
        text=text,
        note=note,
        message_id=message.pk if message.document else None,
        order=(message.pk,),
    )


def _message_entries(messages: Any, links: _Links) -> list[HistoryEntry]:
    return [
        _message_entry(message, links("message", message.pk), message.total_amount)
        for message in messages
    ]


def _listed_message_entries(receivable: Receivable) -> list[HistoryEntry]:
    """The messages that listed one item, with the open amount they showed for it."""
    listed = (
        MessageItem.objects.filter(receivable=receivable)
        .exclude(message__status=MessageStatus.CANCELLED)
        .select_related("message")
    )
    return [_message_entry(row.message, (receivable,), row.open_amount) for row in listed]


def _activity_entries(scope: Q, links: _Links) -> list[HistoryEntry]:
    entries = []
    for activity in Activity.objects.filter(scope).select_related("operator"):
        moment = _local(activity.happened_at)
        parts = [Direction(activity.direction).label]
        if activity.contact_person:
            parts.append(activity.contact_person)
        if activity.outcome:
            parts.append(activity.outcome)
        if activity.next_action or activity.next_action_on:
            parts.append(
                _("next action: %(action)s %(date)s")
                % {
                    "action": activity.next_action or "—",
                    "date": format_day(activity.next_action_on),
                }
            )
        entries.append(
            HistoryEntry(
                on=moment.date(),
                at=moment,
                kind=HistoryKind.ACTIVITY,
                group=HistoryGroup.ACTIVITIES,
                title=ActivityKind(activity.kind).label,
                items=links("activity", activity.pk),
                status=activity.reaction if activity.reaction != Reaction.NONE else "",
                status_label=(
                    Reaction(activity.reaction).label if activity.reaction != Reaction.NONE else ""
                ),
                text=" · ".join(p.strip() for p in parts),
                note=activity.notes,
                operator=_user_name(activity.operator),
                order=(activity.pk,),
            )
        )
    return entries


def _agreement_entries(scope: Q, links: _Links) -> list[HistoryEntry]:
    """Promises, disputes, plans with their instalments, settlements and cases: one query
    each (the instalments only when there are plans)."""
    entries = _promise_entries(Promise.objects.filter(scope).select_related("recorded_by"), links)
    entries += _dispute_entries(Dispute.objects.filter(scope).select_related("opened_by"), links)
    plans = list(RepaymentPlan.objects.filter(scope).select_related("created_by"))
    entries += _plan_entries(plans, links)
    entries += _settlement_entries(
        Settlement.objects.filter(scope).select_related("created_by"), links
    )
    entries += _case_entries(Case.objects.filter(scope).select_related("created_by"), links)
    return entries


def _agreement(
    kind: str,
    on: dt.date,
    title: str,
    items: tuple[Receivable, ...],
    order: int,
    **fields: Any,
) -> HistoryEntry:
    currency = items[0].currency if items else "EUR"
    return HistoryEntry(
        on=on,
        kind=kind,
        group=HistoryGroup.AGREEMENTS,
        title=title,
        items=items,
        currency=currency,
        order=(order,),
        **fields,
    )


def _promise_entries(promises: Any, links: _Links) -> list[HistoryEntry]:
    entries = []
    for promise in promises:
        items = links("promise", promise.pk)
        promised = _("%(amount)s promised by %(date)s") % {
            "amount": format_money(promise.amount),
            "date": format_day(promise.promised_on),
        }
        entries.append(
            _agreement(
                HistoryKind.PROMISE,
                promise.recorded_on,
                _("Promise to pay"),
                items,
                promise.pk,
                amount=promise.amount,
                text=promised,
                note=promise.note,
                operator=_user_name(promise.recorded_by),
            )
        )
        if promise.status != PromiseStatus.OPEN and promise.closed_on:
            entries.append(
                _agreement(
                    HistoryKind.PROMISE_CLOSED,
                    promise.closed_on,
                    {
                        PromiseStatus.KEPT: _("Promise kept"),
                        PromiseStatus.BROKEN: _("Promise broken"),
                    }.get(promise.status, _("Promise cancelled")),
                    items,
                    promise.pk,
                    amount=promise.amount,
                    status=promise.status,
                    status_label=PromiseStatus(promise.status).label,
                    text=promised,
                )
            )
    return entries


def _dispute_entries(disputes: Any, links: _Links) -> list[HistoryEntry]:
    entries = []
    for dispute in disputes:
        items = links("dispute", dispute.pk)
        reason = DisputeReason(dispute.reason).label
        # Only the opening and the resolution are dated; a state in between is the
        # dispute's current one, shown on its opening.
        waiting = dispute.status not in DISPUTE_RESOLVED and dispute.status != DisputeStatus.OPEN
        entries.append(
            _agreement(
                HistoryKind.DISPUTE,
                dispute.opened_on,
                _("Dispute opened"),
                items,
                dispute.pk,
                status=dispute.status if waiting else "",
                status_label=DisputeStatus(dispute.status).label if waiting else "",
                text=reason,
                note=dispute.description,
                operator=_user_name(dispute.opened_by),
            )
        )
        if dispute.status in DISPUTE_RESOLVED and dispute.resolved_on:
            entries.append(
                _agreement(
                    HistoryKind.DISPUTE_RESOLVED,
                    dispute.resolved_on,
                    _("Dispute resolved"),
                    items,
                    dispute.pk,
                    status=dispute.status,
                    status_label=DisputeStatus(dispute.status).label,
                    text=reason,
                    note=dispute.resolution,
                )
            )
    return entries


def _plan_entries(plans: list[RepaymentPlan], links: _Links) -> list[HistoryEntry]:
    if not plans:
        return []
    instalments: dict[int, list[Instalment]] = {}
    for instalment in Instalment.objects.filter(plan__in=plans).order_by("plan", "number"):
        instalments.setdefault(instalment.plan_id, []).append(instalment)
    entries = []
    for plan in plans:
        items = links("repaymentplan", plan.pk)
        schedule = instalments.get(plan.pk, [])
        text = ngettext(
            "%(count)s instalment repaying %(principal)s",
            "%(count)s instalments repaying %(principal)s",
            len(schedule),
        ) % {"count": len(schedule), "principal": format_money(plan.principal)}
        if plan.annual_interest_rate:
            text += " · " + _("interest %(rate)s%% a year") % {
                "rate": format_number(plan.annual_interest_rate.normalize())
            }
        entries.append(
            _agreement(
                HistoryKind.PLAN,
                plan.created_on,
                _("Repayment plan"),
                items,
                plan.pk,
                amount=plan.total,
                text=text,
                note=plan.note,
                operator=_user_name(plan.created_by),
            )
        )
        for instalment in schedule:
            if instalment.status == InstalmentStatus.DUE:
                continue  # nothing happened yet
            paid = ""
            if instalment.status != InstalmentStatus.PAID and instalment.paid_amount:
                paid = _("%(paid)s paid") % {"paid": format_money(instalment.paid_amount)}
            entries.append(
                _agreement(
                    HistoryKind.INSTALMENT,
                    instalment.due_on,
                    _("Instalment %(number)s of %(count)s")
                    % {"number": instalment.number, "count": len(schedule)},
                    items,
                    instalment.pk,
                    amount=instalment.amount,
                    status=instalment.status,
                    status_label=InstalmentStatus(instalment.status).label,
                    text=paid,
                )
            )
        if plan.status != PlanStatus.ACTIVE and plan.closed_on:
            entries.append(
                _agreement(
                    HistoryKind.PLAN_CLOSED,
                    plan.closed_on,
                    {
                        PlanStatus.COMPLETED: _("Repayment plan completed"),
                        PlanStatus.BROKEN: _("Repayment plan broken"),
                    }.get(plan.status, _("Repayment plan cancelled")),
                    items,
                    plan.pk,
                    amount=plan.total,
                    status=plan.status,
                    status_label=PlanStatus(plan.status).label,
                )
            )
    return entries


def _settlement_entries(settlements: Any, links: _Links) -> list[HistoryEntry]:
    entries = []
    for settlement in settlements:
        items = links("settlement", settlement.pk)
        entries.append(
            _agreement(
                HistoryKind.SETTLEMENT,
                settlement.agreed_on,
                _("Settlement"),
                items,
                settlement.pk,
                amount=settlement.agreed_amount,
                text=_("%(agreed)s instead of %(open)s, by %(date)s")
                % {
                    "agreed": format_money(settlement.agreed_amount),
                    "open": format_money(settlement.open_amount),
                    "date": format_day(settlement.due_on),
                },
                note="\n".join(p for p in (settlement.write_off_reason, settlement.note) if p),
                operator=_user_name(settlement.created_by),
            )
        )
        if settlement.status != SettlementStatus.AGREED and settlement.closed_on:
            written_off = ""
            if settlement.status == SettlementStatus.PAID and settlement.written_off_amount:
                written_off = _("%(amount)s written off") % {
                    "amount": format_money(settlement.written_off_amount)
                }
            entries.append(
                _agreement(
                    HistoryKind.SETTLEMENT_CLOSED,
                    settlement.closed_on,
                    {
                        SettlementStatus.PAID: _("Settlement paid"),
                        SettlementStatus.FAILED: _("Settlement failed"),
                    }.get(settlement.status, _("Settlement cancelled")),
                    items,
                    settlement.pk,
                    amount=settlement.agreed_amount,
                    status=settlement.status,
                    status_label=SettlementStatus(settlement.status).label,
                    text=written_off,
                )
            )
    return entries


def _case_entries(cases: Any, links: _Links) -> list[HistoryEntry]:
    entries = []
    for case in cases:
        items = links("case", case.pk)
        entries.append(
            _agreement(
                HistoryKind.CASE,
                case.handed_over_on,
                _("Handed over"),
                items,
                case.pk,
                amount=case.handed_over_amount,
                text=f"{CaseKind(case.kind).label}: {case.agency}",
                operator=_user_name(case.created_by),
                case_id=case.pk,
            )
        )
        if case.status == CaseStatus.CLOSED and case.closed_on:
            recovered = ""
            if case.recovered_amount is not None:
                recovered = _("%(amount)s recovered") % {
                    "amount": format_money(case.recovered_amount)
                }
            entries.append(
                _agreement(
                    HistoryKind.CASE_CLOSED,
                    case.closed_on,
                    _("Hand-over closed"),
                    items,
                    case.pk,
                    amount=case.recovered_amount,
                    status=case.outcome,
                    status_label=CaseOutcome(case.outcome).label if case.outcome else "",
                    text=" · ".join(p for p in (case.agency, recovered) if p),
                    note=case.outcome_text,
                    case_id=case.pk,
                )
            )
    return entries
