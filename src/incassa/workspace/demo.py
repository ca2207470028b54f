"""The demo's collectors at work: portfolios, calls with what the debtors said, and what
follows (promises, disputes, repayment plans, settlements, hand-overs).

Played day by day between the demo's snapshots, right after the engine's run, through the
real services, so that the next snapshots keep or break the promises and the pages show a
team with a history: today's worklist, agreements in every state, effectiveness figures.
Deterministic: what a debtor says depends only on the engine action's position.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from incassa.core.fields import quantize_money
from incassa.dunning.models import Channel, ItemStep
from incassa.ledger.models import Company, CustomerCategory, Membership, ReceivableStatus, Role
from incassa.workspace import agreements
from incassa.workspace.models import (
    ActivityKind,
    Case,
    CaseStatus,
    Dispute,
    DisputeStatus,
    PortfolioRule,
    Reaction,
    Task,
    TaskKind,
    TaskStatus,
)
from incassa.workspace.work import WorkError, activity_record, task_done, tasks_sync_from_actions

# The collectors, and the credit manager who keeps the largest accounts herself.
TEAM = (("chiara", "Chiara", "Russo"), ("paolo", "Paolo", "Greco"))
MANAGER = "demo"  # the demo login (ledger.demo creates and resets it)
RULES = {"DIST": MANAGER, "GDO": MANAGER, "RIV": "chiara", "INST": "paolo", None: "chiara"}
# Operators are a little behind, as in the engine's demo days.
OPERATOR_DELAY = 2
# The team works the last weeks of the demo's history (enough for every state).
WORKED_DAYS = 45
# An internal answer settles a dispute after this many days.
DISPUTE_DAYS = 12
AGENCY = "Recupero Crediti Nord S.r.l."

# What the debtor says, out of twenty calls.
REACTIONS = (
    [Reaction.PROMISES_TO_PAY] * 6
    + [Reaction.UNREACHABLE] * 4
    + [Reaction.ASKS_FOR_TIME] * 3
    + [Reaction.NONE] * 3
    + [Reaction.DISPUTES, Reaction.SAYS_ALREADY_PAID, Reaction.REFUSES, Reaction.REFUSES]
)
DISPUTE_REASONS = ("quality", "quantity", "price", "not_delivered")
CONTACTS = ("Amministrazione", "Sig.ra Colombo", "Rag. Ferrara", "Titolare", "Ufficio acquisti")
OUTCOMES = {
    Reaction.PROMISES_TO_PAY: "Si impegna a pagare con bonifico",
    Reaction.UNREACHABLE: "Nessuna risposta, richiamare",
    Reaction.ASKS_FOR_TIME: "Chiede più tempo per difficoltà di cassa",
    Reaction.NONE: "Sollecitato il pagamento",
    Reaction.DISPUTES: "Contesta la fornitura",
    Reaction.SAYS_ALREADY_PAID: "Dichiara di aver già pagato: verificare",
    Reaction.REFUSES: "Rifiuta di pagare",
}
# Above these open amounts a request for time becomes a repayment plan, and a refusal a
# settlement offer (saldo e stralcio at 80%).
PLAN_FROM = Decimal("2000")
SETTLEMENT_FROM = Decimal("4000")


def demo_team_build(*, company: Company) -> None:
    """The collectors (no password: only the demo login signs in), their memberships and
    the portfolio rules by category. Idempotent."""
    users = get_user_model().objects
    people = {}
    for username, first, last in TEAM:
        user, created = users.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Membership.objects.update_or_create(
            user=user, company=company, defaults={"role": Role.COLLECTOR}
        )
        people[username] = user
    people[MANAGER], _created = users.get_or_create(username=MANAGER)
    categories = {c.code: c for c in CustomerCategory.objects.filter(company=company)}
    for code, username in RULES.items():
        category = categories.get(code) if code else None
        if code and category is None:
            continue
        PortfolioRule.objects.update_or_create(
            company=company, category=category, defaults={"operator": people[username]}
        )


def demo_work_play(
    *, company: Company, day: dt.date, today: dt.date, limit: int | None = None
) -> int:
    """The team's day (for the last ``WORKED_DAYS`` before ``today``): the calls,
    follow-ups and hand-overs due ``OPERATOR_DELAY`` days ago are done, each with what the
    debtor said, and disputes get their answer. Returns the number of calls. ``limit``
    bounds the tasks worked (the page benchmark's ledger has far more than a team does in
    a day)."""
    if day < today - dt.timedelta(days=WORKED_DAYS):
        return 0
    tasks_sync_from_actions(company=company, as_of=day)
    _resolve_disputes(company, day)
    due = (
        Task.objects.filter(
            company=company,
            status=TaskStatus.OPEN,
            due_on__lte=day - dt.timedelta(days=OPERATOR_DELAY),
        )
        .filter(
            Q(kind__in=[TaskKind.CALL, TaskKind.FOLLOW_UP, TaskKind.ESCALATION])
            | Q(kind=TaskKind.APPROVAL, source_action__channel=Channel.ESCALATION)
        )
        .select_related("customer", "assignee", "source_action")
        .order_by("due_on", "pk")
    )
    if limit is not None:
        due = due[:limit]
    done = 0
    for task in due:
        try:
            if task.kind == TaskKind.APPROVAL:  # the manager approves the hand-over
                _hand_over(task_done(task=task, user=task.assignee), day)
            elif task.kind == TaskKind.ESCALATION:
                _hand_over(task, day)
            else:
                _call(task, day)
                done += 1
        except (WorkError, agreements.AgreementError):
            # The items changed meanwhile (paid, already held): the task is simply done.
            task.refresh_from_db()
            if task.status == TaskStatus.OPEN:
                task_done(task=task, user=task.assignee, at=_at(day, task.pk))
    return done


def _resolve_disputes(company: Company, day: dt.date) -> None:
    """Disputes get an internal answer after ``DISPUTE_DAYS``: one in three is found right
    (a credit note), the others are resolved in the company's favour."""
    ripe = Dispute.objects.filter(
        company=company,
        status=DisputeStatus.OPEN,
        opened_on__lte=day - dt.timedelta(days=DISPUTE_DAYS),
    )
    for dispute in ripe:
        credit_note = dispute.pk % 3 == 0
        agreements.dispute_update(
            dispute=dispute,
            status=(
                DisputeStatus.RESOLVED_CREDIT_NOTE
                if credit_note
                else DisputeStatus.RESOLVED_IN_OUR_FAVOUR
            ),
            note="Nota di credito emessa" if credit_note else "Merce conforme all'ordine",
            today=day,
        )


def _at(day: dt.date, seed: int) -> dt.datetime:
    """A time of the working morning or afternoon, in the company's time zone."""
    minutes = 9 * 60 + (seed * 37) % (8 * 60)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=zone)


def _open_items(task: Task) -> list:
    if task.source_action_id is None:
        items = task.customer.receivables.filter(status=ReceivableStatus.OPEN)
        return list(items.order_by("due_date")[:5])
    return [
        link.receivable
        for link in ItemStep.objects.filter(action_id=task.source_action_id)
        .select_related("receivable")
        .order_by("receivable__due_date")
        if link.receivable.status == ReceivableStatus.OPEN
    ]


def _call(task: Task, day: dt.date) -> None:
    items = _open_items(task)
    seed = task.source_action_id or task.pk
    reaction = REACTIONS[seed % len(REACTIONS)] if items else Reaction.NONE
    if task.kind == TaskKind.FOLLOW_UP and reaction in {Reaction.UNREACHABLE, Reaction.NONE}:
        reaction = Reaction.PROMISES_TO_PAY if items else Reaction.NONE
    owed = quantize_money(sum((item.open_amount for item in items), Decimal(0)))
    fields: dict = {}
    if reaction == Reaction.PROMISES_TO_PAY:
        # One promise in four is for half only: the later snapshots tell kept from broken.
        amount = owed if seed % 4 else quantize_money(owed / 2)
        fields = {"promise_amount": amount, "promise_on": day + dt.timedelta(days=7 + seed % 15)}
    elif reaction == Reaction.DISPUTES:
        items = items[:1]
        fields = {"dispute_reason": DISPUTE_REASONS[seed % len(DISPUTE_REASONS)]}
    elif reaction == Reaction.UNREACHABLE and task.kind != TaskKind.FOLLOW_UP:
        fields = {"next_action": "Richiamare", "next_action_on": day + dt.timedelta(days=2)}
    elif reaction == Reaction.ASKS_FOR_TIME and owed < PLAN_FROM:
        fields = {"next_action": "Sentire per l'incasso", "next_action_on": day + dt.timedelta(7)}
    activity_record(
        customer=task.customer,
        kind=ActivityKind.CALL,
        user=task.assignee,
        items=items,
        contact_person=CONTACTS[seed % len(CONTACTS)],
        reaction=reaction,
        outcome=OUTCOMES[reaction],
        task=task,
        happened_at=_at(day, seed),
        **fields,
    )
    if reaction == Reaction.ASKS_FOR_TIME and owed >= PLAN_FROM:
        _plan(task, items, owed, day)
    elif reaction == Reaction.REFUSES and owed >= SETTLEMENT_FROM and seed % 2:
        agreements.settlement_agree(
            customer=task.customer,
            items=items,
            agreed_amount=quantize_money(owed * Decimal("0.8")),
            due_on=day + dt.timedelta(days=20),
            write_off_reason="Saldo e stralcio concordato al telefono",
            user=task.assignee,
            today=day,
        )


def _plan(task: Task, items: list, owed: Decimal, day: dt.date) -> None:
    """Three monthly instalments from a fortnight on; the last one takes the cents."""
    first = quantize_money(owed / 3)
    amounts = [first, first, owed - 2 * first]
    dates = [day + dt.timedelta(days=15 + 30 * n) for n in range(3)]
    agreements.plan_create(
        customer=task.customer,
        items=items,
        instalments=list(zip(dates, amounts, strict=True)),
        user=task.assignee,
        note="Piano concordato per difficoltà di cassa",
        today=day,
    )


def _hand_over(task: Task, day: dt.date) -> None:
    """Every other escalation goes to the agency; the others the manager keeps."""
    items = _open_items(task)
    seed = task.source_action_id or task.pk
    held = Case.objects.filter(items__in=items, status=CaseStatus.OPEN).exists()
    if items and seed % 2 and not held:
        agreements.case_open(
            customer=task.customer, items=items, agency=AGENCY, user=task.assignee, today=day
        )
    task_done(task=task, user=task.assignee, at=_at(day, seed))
