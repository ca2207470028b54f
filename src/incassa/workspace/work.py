"""The operators' work as operations that change state: portfolios, tasks (synchronised
from the engine's actions or created by hand) and activities with their consequences.

Each public function is one transaction. ``tasks_sync_from_actions`` is set-based: a fixed
number of queries however many actions there are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from incassa.comms.calendars import company_calendar
from incassa.core.users import recorded_user
from incassa.dunning import services as dunning
from incassa.dunning.models import Action, ActionStatus, Channel, Hold, HoldKind
from incassa.ledger.models import Company, Customer, Membership, Receivable
from incassa.workspace.models import (
    Activity,
    CustomerAssignment,
    PortfolioRule,
    Reaction,
    Task,
    TaskKind,
    TaskStatus,
)

User = get_user_model()

VERIFICATION_REASON = "customer says already paid"

# The task an action not yet waiting for approval asks of an operator, by channel; emails
# go out by themselves and need none.
KIND_FOR_CHANNEL = {
    Channel.CALL: TaskKind.CALL,
    Channel.ESCALATION: TaskKind.ESCALATION,
    Channel.TASK: TaskKind.MANUAL,
    Channel.LETTER: TaskKind.LETTER,
    Channel.REGISTERED_LETTER: TaskKind.LETTER,
}
OPERATOR_CHANNELS = (Channel.CALL, Channel.ESCALATION, Channel.TASK)
# Once an action reaches one of these, nobody has anything left to do for it.
CLOSED_ACTION = (
    ActionStatus.CANCELLED,
    ActionStatus.REJECTED,
    ActionStatus.SENT,
    ActionStatus.DONE,
    ActionStatus.FAILED,
)
PENDING_ACTION = (ActionStatus.CREATED, ActionStatus.APPROVED)


class WorkError(Exception):
    """A user error: the message says what is wrong."""


# --------------------------------------------------------------------------------------
# Portfolios
# --------------------------------------------------------------------------------------


def operator_expression(company: Company, customer_ref: str = "customer") -> Coalesce:
    """SQL for the operator of the customer at ``customer_ref`` (a path from the queried
    model): the hand assignment, else its category's rule, else the company's default."""
    prefix = f"{customer_ref}__" if customer_ref else ""
    assigned = CustomerAssignment.objects.filter(
        customer_id=OuterRef(f"{prefix}id" if prefix else "pk")
    ).values("operator_id")[:1]
    by_category = PortfolioRule.objects.filter(
        company=company, category_id=OuterRef(f"{prefix}category_id")
    ).values("operator_id")[:1]
    default = PortfolioRule.objects.filter(company=company, category__isnull=True).values(
        "operator_id"
    )[:1]
    return Coalesce(Subquery(assigned), Subquery(by_category), Subquery(default))


def operator_for(customer: Customer) -> Any:
    """The operator who looks after ``customer``, or None."""
    operator_id = (
        Customer.objects.filter(pk=customer.pk)
        .annotate(operator_id=operator_expression(customer.company, ""))
        .values_list("operator_id", flat=True)
        .first()
    )
    return User.objects.filter(pk=operator_id).first() if operator_id else None


def customer_assign(*, customer: Customer, operator: Any) -> CustomerAssignment:
    """Give ``customer`` to ``operator`` by hand (None: back to the category's rule)."""
    with transaction.atomic():
        if operator is None:
            CustomerAssignment.objects.filter(customer=customer).delete()
            return None
        _check_member(customer.company, operator)
        assignment, _created = CustomerAssignment.objects.update_or_create(
            customer=customer, defaults={"company": customer.company, "operator": operator}
        )
        return assignment


def _check_member(company: Company, user: Any) -> None:
    if not Membership.objects.filter(company=company, user=user).exists():
        raise WorkError(
            _("%(user)s does not work for %(company)s.") % {"user": user, "company": company}
        )


# --------------------------------------------------------------------------------------
# Tasks from the engine
# --------------------------------------------------------------------------------------


def _unsynced_actions(company: Company, as_of: dt.date) -> Any:
    waiting = Q(needs_approval=True, status=ActionStatus.CREATED)
    return (
        Action.objects.filter(company=company, status__in=PENDING_ACTION, scheduled_on__lte=as_of)
        .filter(waiting | Q(channel__in=list(KIND_FOR_CHANNEL)))
        .exclude(Exists(Task.objects.filter(source_action=OuterRef("pk"))))
    )


def _sync_needed(company: Company, as_of: dt.date) -> bool:
    """Whether ``tasks_sync_from_actions`` has anything to write (three reads)."""
    open_tasks = Task.objects.filter(
        company=company, status=TaskStatus.OPEN, source_action__isnull=False
    )
    if open_tasks.filter(source_action__status__in=CLOSED_ACTION).exists():
        return True
    decided = open_tasks.filter(kind=TaskKind.APPROVAL).exclude(
        source_action__needs_approval=True, source_action__status=ActionStatus.CREATED
    )
    return decided.exists() or _unsynced_actions(company, as_of).exists()


def tasks_sync_from_actions(*, company: Company, as_of: dt.date) -> int:
    """Make the tasks the engine's actions up to ``as_of`` ask of operators and close those
    whose action no longer needs anyone. Returns how many tasks were created.

    An action waiting for approval gives an approval task; once approved (here or
    elsewhere) the same task becomes the call, hand-over or letter to post, or is
    cancelled for an email, which goes out by itself."""
    if not _sync_needed(company, as_of):
        # Read-only when nothing changed: the worklist's page asks on every view, and a
        # write would wait for the database behind the daily cycle on SQLite.
        return 0
    with transaction.atomic():
        open_tasks = Task.objects.filter(
            company=company, status=TaskStatus.OPEN, source_action__isnull=False
        )
        open_tasks.filter(source_action__status__in=CLOSED_ACTION).update(
            status=TaskStatus.CANCELLED
        )
        decided = open_tasks.filter(kind=TaskKind.APPROVAL).exclude(
            source_action__needs_approval=True, source_action__status=ActionStatus.CREATED
        )
        for channel, kind in KIND_FOR_CHANNEL.items():
            decided.filter(source_action__channel=channel).update(kind=kind)
        decided.update(status=TaskStatus.CANCELLED)  # what is left: approved emails

        actions = (
            _unsynced_actions(company, as_of)
            .annotate(operator_id=operator_expression(company), step_name=F("step__name"))
            .values(
                "id",
                "customer_id",
                "channel",
                "needs_approval",
                "status",
                "scheduled_on",
                "operator_id",
                "step_name",
            )
            .order_by("id")
        )
        tasks = []
        for action in actions:
            is_waiting = action["needs_approval"] and action["status"] == ActionStatus.CREATED
            kind = TaskKind.APPROVAL if is_waiting else KIND_FOR_CHANNEL[action["channel"]]
            tasks.append(
                Task(
                    company=company,
                    customer_id=action["customer_id"],
                    assignee_id=action["operator_id"],
                    kind=kind,
                    title=action["step_name"][:200],
                    due_on=action["scheduled_on"],
                    source_action_id=action["id"],
                )
            )
        Task.objects.bulk_create(tasks, batch_size=500)
        return len(tasks)


# --------------------------------------------------------------------------------------
# Tasks by operators
# --------------------------------------------------------------------------------------


def _locked_open(task: Task) -> Task:
    task = (
        Task.objects.select_for_update(of=("self",)).select_related("source_action").get(pk=task.pk)
    )
    if task.status != TaskStatus.OPEN:
        raise WorkError(_("This task is already closed."))
    return task


def task_create_manual(
    *,
    customer: Customer,
    title: str,
    due_on: dt.date,
    user: Any = None,
    assignee: Any = None,
    kind: str = TaskKind.MANUAL,
    note: str = "",
) -> Task:
    """A task made by hand; it goes to the customer's operator unless ``assignee``."""
    if not title.strip():
        raise WorkError(_("Say what there is to do."))
    with transaction.atomic():
        if assignee is None:
            assignee = operator_for(customer)
        else:
            _check_member(customer.company, assignee)
        return Task.objects.create(
            company=customer.company,
            customer=customer,
            assignee=assignee,
            kind=kind,
            title=title.strip()[:200],
            due_on=due_on,
            note=note,
            created_by=recorded_user(user),
        )


def task_reassign(*, task: Task, assignee: Any, user: Any = None) -> Task:
    """Give the task to ``assignee`` (None: back to the pool of its portfolio)."""
    with transaction.atomic():
        task = _locked_open(task)
        if assignee is not None:
            _check_member(task.company, assignee)
        task.assignee = assignee
        task.save(update_fields=["assignee"])
        return task


def task_snooze(*, task: Task, until: dt.date | None, user: Any = None) -> Task:
    """Hide the task from the worklist until ``until`` (None: show it again); a day the
    company does not work moves to its next working day. Its due date does not move: done
    after it, it is still late."""
    with transaction.atomic():
        task = _locked_open(task)
        if until is not None:
            until = company_calendar(task.company).next_working_day(until)
        task.snoozed_until = until
        task.save(update_fields=["snoozed_until"])
        return task


def task_done(*, task: Task, user: Any, at: dt.datetime | None = None, note: str = "") -> Task:
    """The operator did it. A call or hand-over marks its engine action done too; an
    approval approves its action, and when that action is a call, hand-over or letter the
    task stays open as that work."""
    with transaction.atomic():
        task = _locked_open(task)
        action = task.source_action
        try:
            if action is not None and task.kind == TaskKind.APPROVAL:
                if action.is_waiting_for_approval:
                    dunning.action_approve(action=action, user=user)
                if action.channel in KIND_FOR_CHANNEL:
                    task.kind = KIND_FOR_CHANNEL[action.channel]
                    task.save(update_fields=["kind"])
                    return task
            elif (
                action is not None
                and action.channel in OPERATOR_CHANNELS
                and action.status in PENDING_ACTION
            ):
                dunning.action_mark_done(action=action, user=user)
        except dunning.ActionStateError as exc:
            raise WorkError(str(exc)) from exc
        task.status = TaskStatus.DONE
        task.done_at = at or timezone.now()
        task.done_by = recorded_user(user)
        fields = ["status", "done_at", "done_by"]
        if note:
            task.note = f"{task.note}\n{note}".strip()
            fields.append("note")
        task.save(update_fields=fields)
        return task


def task_cancel(*, task: Task, user: Any = None, note: str = "") -> Task:
    with transaction.atomic():
        task = _locked_open(task)
        task.status = TaskStatus.CANCELLED
        task.note = f"{task.note}\n{note}".strip() if note else task.note
        task.save(update_fields=["status", "note"])
        return task


# --------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------


def activity_record(
    *,
    customer: Customer,
    kind: str,
    user: Any,
    items: Iterable[Receivable] = (),
    contact_person: str = "",
    direction: str = "outbound",
    reaction: str = Reaction.NONE,
    outcome: str = "",
    notes: str = "",
    next_action: str = "",
    next_action_on: dt.date | None = None,
    task: Task | None = None,
    promise_amount: Decimal | None = None,
    promise_on: dt.date | None = None,
    dispute_reason: str | None = None,
    happened_at: dt.datetime | None = None,
) -> Activity:
    """Record a contact and what follows from it: the task it completes, the follow-up
    task of its next action, and what the debtor's reaction puts in motion (a verification
    hold, a promise, a dispute)."""
    items = list(items)
    if any(item.customer_id != customer.pk for item in items):
        raise WorkError(_("Every item must belong to the customer."))
    if task is not None and task.customer_id != customer.pk:
        raise WorkError(_("The task is for another customer."))
    needs_items = {Reaction.SAYS_ALREADY_PAID, Reaction.PROMISES_TO_PAY, Reaction.DISPUTES}
    if reaction in needs_items and not items:
        raise WorkError(_("Choose the items the customer's answer is about."))
    if reaction == Reaction.PROMISES_TO_PAY and (promise_amount is None or promise_on is None):
        raise WorkError(_("A promise needs its amount and date."))
    if next_action_on is None and next_action.strip():
        raise WorkError(_("Give the date of the next action."))
    happened_at = happened_at or timezone.now()
    day = timezone.localdate(happened_at)

    with transaction.atomic():
        if task is not None:
            task = task_done(task=task, user=user, at=happened_at)
        follow_up = None
        if next_action_on is not None:
            follow_up = Task.objects.create(
                company=customer.company,
                customer=customer,
                assignee=recorded_user(user) or operator_for(customer),
                kind=TaskKind.FOLLOW_UP,
                title=(next_action.strip() or _("Follow up"))[:200],
                # Nobody works on a holiday: the task is due on the next working day.
                due_on=company_calendar(customer.company).next_working_day(next_action_on),
                created_by=recorded_user(user),
            )
        activity = Activity.objects.create(
            company=customer.company,
            customer=customer,
            kind=kind,
            happened_at=happened_at,
            operator=recorded_user(user),
            contact_person=contact_person,
            direction=direction,
            reaction=reaction,
            outcome=outcome,
            notes=notes,
            next_action=next_action,
            next_action_on=next_action_on,
            task=task,
            follow_up=follow_up,
        )
        if items:
            activity.items.set(items)

        if reaction == Reaction.SAYS_ALREADY_PAID:
            _hold_for_verification(items, day=day, user=user)
        elif reaction in {Reaction.PROMISES_TO_PAY, Reaction.DISPUTES}:
            from incassa.workspace import agreements

            try:
                if reaction == Reaction.PROMISES_TO_PAY:
                    agreements.promise_record(
                        customer=customer,
                        items=items,
                        amount=promise_amount,
                        promised_on=promise_on,
                        user=user,
                        note=outcome or notes,
                        today=day,
                    )
                else:
                    agreements.dispute_open(
                        customer=customer,
                        items=items,
                        reason=dispute_reason or "other",
                        description=notes,
                        owner=user,
                        user=user,
                        today=day,
                    )
            except agreements.AgreementError as exc:
                raise WorkError(str(exc)) from exc
        return activity


def _hold_for_verification(items: list[Receivable], *, day: dt.date, user: Any) -> None:
    """Keep the items out of the flow until someone checks the payment; an item already
    held for verification is not held twice."""
    held = set(
        Hold.objects.filter(
            receivable__in=items, kind=HoldKind.VERIFICATION, released_on__isnull=True
        )
        .filter(Q(until__isnull=True) | Q(until__gt=day))
        .values_list("receivable_id", flat=True)
    )
    for item in items:
        if item.pk not in held:
            dunning.hold_place(
                receivable=item,
                kind=HoldKind.VERIFICATION,
                starts_on=day,
                reason=VERIFICATION_REASON,
                user=user,
            )
