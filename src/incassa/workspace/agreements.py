"""Agreements with debtors and hand-over, as operations that change state (one transaction
each), and their automatic review after every import.

Holds: a promise holds its items (``HoldKind.PROMISE``) until the day after its date plus
``PROMISE_GRACE_DAYS``; a dispute (``DISPUTE``) and a plan (``PLAN``) until they end; a
settlement and a hand-over case hold with ``MANUAL`` holds. Every hold an agreement placed
is linked to it (``holds``) so that ending the agreement releases exactly those.

Payments: what a customer paid towards an agreement is the decrease of its items' open
amounts since the agreement was made (``baseline``, cents per item), read from the ledger as
it stood on a given day (``open_amounts_on``: today's open amount, unless an import changed
it after that day, in which case the open amount before that change). An item whose open
amount grew counts as zero paid, never as a negative payment.

Interest of a repayment plan (``plan_schedule``): each instalment first pays the simple
interest accrued on the principal still owed since the previous instalment (or since the
plan's creation), ``owed * rate / 100 * days / 365`` rounded to the cent, and the rest of it
repays principal. The instalments are valid when they repay the items' open amount exactly,
allowing one cent of rounding per instalment (absorbed by the last instalment's principal).
Instalments are matched against their principal, because that is what the ledger's open
amounts show.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incassa.core.fields import from_cents, quantize_money, to_cents
from incassa.core.users import recorded_user
from incassa.dunning.models import Hold, HoldKind
from incassa.ledger.models import Company, Customer, Receivable, ReceivableEvent, ReceivableStatus
from incassa.workspace.models import (
    Case,
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

logger = logging.getLogger(__name__)

PROMISE_GRACE_DAYS = 3
HANDED_OVER = "handed over"
WRITTEN_OFF = "written off: settlement"


class AgreementError(Exception):
    """A user error: the agreement cannot be made or changed this way; the message says why."""


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _today(today: dt.date | None) -> dt.date:
    return today if today is not None else timezone.localdate()


def _checked_items(customer: Customer, items: Iterable[Receivable]) -> list[Receivable]:
    """The items, fresh from the database, all open and all of ``customer``."""
    ids = sorted({item.pk for item in items})
    if not ids:
        raise AgreementError(_("Choose at least one item."))
    found = list(Receivable.objects.filter(pk__in=ids).order_by("due_date", "document_number"))
    if any(item.customer_id != customer.pk for item in found) or len(found) != len(ids):
        raise AgreementError(_("Every item must belong to customer %s.") % customer)
    closed = [str(item) for item in found if item.status != ReceivableStatus.OPEN]
    if closed:
        raise AgreementError(_("These items are already closed: %s.") % ", ".join(closed))
    return found


def _baseline(items: Sequence[Receivable]) -> dict[str, int]:
    return {str(item.pk): to_cents(item.open_amount) for item in items}


def _place_holds(
    agreement: Any,
    items: Iterable[Receivable],
    *,
    kind: str,
    starts_on: dt.date,
    until: dt.date | None = None,
    reason: str = "",
    user: Any = None,
) -> list[Hold]:
    holds = Hold.objects.bulk_create(
        Hold(
            receivable=item,
            kind=kind,
            starts_on=starts_on,
            until=until,
            reason=reason,
            created_by=recorded_user(user),
        )
        for item in items
    )
    agreement.holds.add(*holds)
    return holds


def _cancel(
    agreement: Any, *, active: str, cancelled: str, refusal: str, today: dt.date, note: str = ""
) -> Any:
    """Withdraw a promise, plan or settlement still in force (``active``): it closes today
    as ``cancelled`` and its holds are released; in any other state ``refusal`` is raised."""
    with transaction.atomic():
        agreement = type(agreement).objects.select_for_update().get(pk=agreement.pk)
        if agreement.status != active:
            raise AgreementError(refusal % agreement.get_status_display())
        agreement.status = cancelled
        agreement.closed_on = today
        fields = ["status", "closed_on"]
        if note:
            agreement.note = f"{agreement.note}\n{note}".strip()
            fields.append("note")
        agreement.save(update_fields=fields)
        _release_holds(agreement, today)
    return agreement


def _release_holds(agreement: Any, on: dt.date) -> int:
    """Release the agreement's holds still in force on ``on`` (a hold that already ended
    keeps its end)."""
    return (
        agreement.holds.filter(released_on__isnull=True)
        .exclude(until__lte=on)
        .update(released_on=on)
    )


def open_amounts_on(item_ids: Iterable[int], day: dt.date) -> dict[int, int]:
    """Each item's open amount in cents as the ledger stood on ``day``: its open amount now
    (zero when closed), unless an event after ``day`` changed it, in which case the amount
    before the first such change (zero if it did not exist yet)."""
    ids = list(item_ids)
    amounts = {
        pk: 0 if status == ReceivableStatus.CLOSED else to_cents(open_amount)
        for pk, open_amount, status in Receivable.objects.filter(pk__in=ids).values_list(
            "pk", "open_amount", "status"
        )
    }
    changed: set[int] = set()
    later = (
        ReceivableEvent.objects.filter(receivable_id__in=ids, on_date__gt=day)
        .order_by("receivable_id", "on_date", "id")
        .values_list("receivable_id", "amount_before")
    )
    for receivable_id, before in later:
        if receivable_id not in changed:
            changed.add(receivable_id)
            amounts[receivable_id] = 0 if before is None else to_cents(before)
    return amounts


def paid_since(baseline: dict[str, int], day: dt.date) -> tuple[int, bool]:
    """(cents paid since the baseline as of ``day``, whether every item was closed then)."""
    now = open_amounts_on([int(pk) for pk in baseline], day)
    paid = sum(max(cents - now.get(int(pk), 0), 0) for pk, cents in baseline.items())
    return paid, all(now.get(int(pk), 0) == 0 for pk in baseline)


# --------------------------------------------------------------------------------------
# Promises
# --------------------------------------------------------------------------------------


def promise_deadline(promised_on: dt.date) -> dt.date:
    """The last day whose snapshot can still show the promised payment."""
    return promised_on + dt.timedelta(days=PROMISE_GRACE_DAYS)


def promise_record(
    *,
    customer: Customer,
    items: Iterable[Receivable],
    amount: Decimal,
    promised_on: dt.date,
    user: Any = None,
    note: str = "",
    today: dt.date | None = None,
) -> Promise:
    """Record a promise to pay ``amount`` of ``items`` by ``promised_on``; the items are held
    until ``promised_on`` + PROMISE_GRACE_DAYS (the flow resumes the day after)."""
    today = _today(today)
    amount = quantize_money(Decimal(amount))
    with transaction.atomic():
        found = _checked_items(customer, items)
        if amount <= 0:
            raise AgreementError(_("The promised amount must be more than zero."))
        owed = sum((item.open_amount for item in found), Decimal(0))
        if amount > owed:
            raise AgreementError(
                _("The promised amount %(amount)s is more than the items' open amount %(owed)s.")
                % {"amount": amount, "owed": owed}
            )
        if promised_on < today:
            raise AgreementError(_("The promised date cannot be in the past."))
        promise = Promise.objects.create(
            company_id=customer.company_id,
            customer=customer,
            amount=amount,
            promised_on=promised_on,
            baseline=_baseline(found),
            recorded_on=today,
            recorded_by=recorded_user(user),
            note=note,
        )
        promise.items.set(found)
        _place_holds(
            promise,
            found,
            kind=HoldKind.PROMISE,
            starts_on=today,
            until=promise_deadline(promised_on) + dt.timedelta(days=1),
            reason=_("promise #%(pk)s to pay by %(day)s")
            % {"pk": promise.pk, "day": f"{promised_on:%d/%m/%Y}"},
            user=user,
        )
    return promise


def promise_cancel(
    *, promise: Promise, user: Any = None, note: str = "", today: dt.date | None = None
) -> Promise:
    """Withdraw an open promise (e.g. recorded by mistake); its holds are released."""
    return _cancel(
        promise,
        active=PromiseStatus.OPEN,
        cancelled=PromiseStatus.CANCELLED,
        refusal=_("Only an open promise can be cancelled; this one is %s."),
        today=_today(today),
        note=note,
    )


# --------------------------------------------------------------------------------------
# Disputes
# --------------------------------------------------------------------------------------


def dispute_open(
    *,
    customer: Customer,
    items: Iterable[Receivable],
    reason: str,
    description: str = "",
    owner: Any = None,
    deadline: dt.date | None = None,
    user: Any = None,
    today: dt.date | None = None,
) -> Dispute:
    """Open a dispute on ``items``; they are held (``DISPUTE``) until it is resolved."""
    today = _today(today)
    if reason not in DisputeReason.values:
        raise AgreementError(_("Unknown reason for a dispute: %s.") % reason)
    with transaction.atomic():
        found = _checked_items(customer, items)
        dispute = Dispute.objects.create(
            company_id=customer.company_id,
            customer=customer,
            reason=reason,
            description=description,
            owner=recorded_user(owner),
            deadline=deadline,
            opened_on=today,
            opened_by=recorded_user(user),
        )
        dispute.items.set(found)
        _place_holds(
            dispute,
            found,
            kind=HoldKind.DISPUTE,
            starts_on=today,
            reason=_("dispute #%s") % dispute.pk,
            user=user,
        )
    return dispute


def dispute_update(
    *, dispute: Dispute, status: str, note: str = "", today: dt.date | None = None
) -> Dispute:
    """Move a dispute to ``status``; a resolution (credit note or in our favour) records
    ``note`` as the resolution and releases the holds, so the flow resumes on what is
    still open."""
    today = _today(today)
    if status not in DisputeStatus.values:
        raise AgreementError(_("Unknown status for a dispute: %s.") % status)
    with transaction.atomic():
        dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if dispute.is_resolved:
            raise AgreementError(_("This dispute is already resolved."))
        if status == dispute.status:
            raise AgreementError(
                _("The dispute is already %s.") % dispute.get_status_display().lower()
            )
        dispute.status = status
        if status in DISPUTE_RESOLVED:
            dispute.resolved_on = today
            dispute.resolution = note
            _release_holds(dispute, today)
        elif note:
            dispute.description = f"{dispute.description}\n{note}".strip()
        dispute.save(update_fields=["status", "resolved_on", "resolution", "description"])
    return dispute


def dispute_change(
    *,
    dispute: Dispute,
    status: str,
    owner: Any,
    deadline: dt.date | None,
    note: str = "",
    today: dt.date | None = None,
) -> Dispute:
    """Change what an operator may change on an open dispute at once: its owner, its
    deadline (not in the past), its status (through ``dispute_update``, which resolves it)
    and a note added to its description."""
    today = _today(today)
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        if locked.is_resolved:
            raise AgreementError(_("This dispute is already resolved."))
        changes: dict[str, Any] = {}
        if (owner.pk if owner else None) != locked.owner_id:
            changes["owner"] = owner
        if deadline != locked.deadline:
            if deadline is not None and deadline < today:
                raise AgreementError(_("The deadline cannot be in the past."))
            changes["deadline"] = deadline
        if status == locked.status and not changes and not note:
            raise AgreementError(_("Nothing to change."))
        if changes:
            Dispute.objects.filter(pk=locked.pk).update(**changes)
        if status != locked.status:
            dispute_update(dispute=locked, status=status, note=note, today=today)
        elif note:
            description = f"{locked.description}\n{note}".strip()
            Dispute.objects.filter(pk=locked.pk).update(description=description)
    locked.refresh_from_db()
    return locked


# --------------------------------------------------------------------------------------
# Repayment plans
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledInstalment:
    due_on: dt.date
    amount: Decimal
    interest: Decimal
    principal: Decimal


def plan_schedule(
    *,
    principal: Decimal,
    instalments: Sequence[tuple[dt.date, Decimal]],
    annual_interest_rate: Decimal | None,
    start: dt.date,
) -> list[ScheduledInstalment]:
    """Split each instalment into interest and principal (see the module's docstring), or
    raise AgreementError when the instalments do not repay ``principal``."""
    if not instalments:
        raise AgreementError(_("A plan needs at least one instalment."))
    ordered = sorted((day, quantize_money(Decimal(amount))) for day, amount in instalments)
    days = [day for day, _amount in ordered]
    if len(set(days)) != len(days):
        raise AgreementError(_("Two instalments fall on the same day."))
    if days[0] <= start:
        raise AgreementError(_("The first instalment must fall after the plan's start."))
    if any(amount <= 0 for _day, amount in ordered):
        raise AgreementError(_("Every instalment must be more than zero."))
    rate = Decimal(annual_interest_rate or 0)
    if rate < 0:
        raise AgreementError(_("The interest rate cannot be negative."))

    schedule: list[ScheduledInstalment] = []
    owed, previous = principal, start
    for day, amount in ordered:
        interest = quantize_money(owed * rate / 100 * (day - previous).days / 365)
        schedule.append(ScheduledInstalment(day, amount, interest, amount - interest))
        owed -= amount - interest
        previous = day
    tolerance = Decimal("0.01") * len(ordered) if rate else Decimal(0)
    if abs(owed) > tolerance:
        raise AgreementError(
            _("The instalments leave %(owed)s of the %(principal)s owed unpaid%(interest)s.")
            % {
                "owed": quantize_money(owed),
                "principal": principal,
                "interest": _(" (after interest)") if rate else "",
            }
            if owed > 0
            else _("The instalments pay %(over)s more than the %(principal)s owed%(interest)s.")
            % {
                "over": quantize_money(-owed),
                "principal": principal,
                "interest": _(" (after interest)") if rate else "",
            }
        )
    if owed:  # rounding: the last instalment repays the few cents left
        last = schedule[-1]
        schedule[-1] = ScheduledInstalment(
            last.due_on, last.amount, last.interest - owed, last.principal + owed
        )
    return schedule


def plan_create(
    *,
    customer: Customer,
    items: Iterable[Receivable],
    instalments: Sequence[tuple[dt.date, Decimal]],
    annual_interest_rate: Decimal | None = None,
    grace_days: int = 10,
    user: Any = None,
    note: str = "",
    today: dt.date | None = None,
) -> RepaymentPlan:
    """A repayment plan of ``items`` in ``instalments`` (date, amount) that must repay the
    items' open amount, plus interest when a rate is given; the items are held (``PLAN``)
    while the plan is active."""
    today = _today(today)
    if grace_days < 0:
        raise AgreementError(_("The grace period cannot be negative."))
    with transaction.atomic():
        found = _checked_items(customer, items)
        principal = sum((item.open_amount for item in found), Decimal(0))
        schedule = plan_schedule(
            principal=principal,
            instalments=instalments,
            annual_interest_rate=annual_interest_rate,
            start=today,
        )
        plan = RepaymentPlan.objects.create(
            company_id=customer.company_id,
            customer=customer,
            total=sum((s.amount for s in schedule), Decimal(0)),
            principal=principal,
            annual_interest_rate=annual_interest_rate,
            grace_days=grace_days,
            baseline=_baseline(found),
            created_on=today,
            created_by=recorded_user(user),
            note=note,
        )
        plan.items.set(found)
        Instalment.objects.bulk_create(
            Instalment(
                plan=plan,
                number=number,
                due_on=s.due_on,
                amount=s.amount,
                principal=s.principal,
            )
            for number, s in enumerate(schedule, start=1)
        )
        _place_holds(
            plan,
            found,
            kind=HoldKind.PLAN,
            starts_on=today,
            reason=_("repayment plan #%s") % plan.pk,
            user=user,
        )
    return plan


def plan_cancel(*, plan: RepaymentPlan, today: dt.date | None = None) -> RepaymentPlan:
    """Withdraw an active plan; its holds are released."""
    return _cancel(
        plan,
        active=PlanStatus.ACTIVE,
        cancelled=PlanStatus.CANCELLED,
        refusal=_("Only an active plan can be cancelled; this one is %s."),
        today=_today(today),
    )


# --------------------------------------------------------------------------------------
# Settlements
# --------------------------------------------------------------------------------------


def settlement_agree(
    *,
    customer: Customer,
    items: Iterable[Receivable],
    agreed_amount: Decimal,
    due_on: dt.date,
    write_off_reason: str,
    user: Any = None,
    note: str = "",
    today: dt.date | None = None,
) -> Settlement:
    """Saldo e stralcio: the customer pays ``agreed_amount`` (less than the items' open
    amount) by ``due_on`` and the rest is written off. The items are held (``MANUAL``)
    until then."""
    today = _today(today)
    agreed_amount = quantize_money(Decimal(agreed_amount))
    if not write_off_reason.strip():
        raise AgreementError(_("Give the reason for writing the rest off."))
    with transaction.atomic():
        found = _checked_items(customer, items)
        owed = sum((item.open_amount for item in found), Decimal(0))
        if not 0 < agreed_amount < owed:
            raise AgreementError(
                _("The agreed amount must be more than zero and less than the open %s.") % owed
            )
        if due_on < today:
            raise AgreementError(_("The payment date cannot be in the past."))
        settlement = Settlement.objects.create(
            company_id=customer.company_id,
            customer=customer,
            open_amount=owed,
            agreed_amount=agreed_amount,
            agreed_on=today,
            due_on=due_on,
            baseline=_baseline(found),
            write_off_reason=write_off_reason,
            created_by=recorded_user(user),
            note=note,
        )
        settlement.items.set(found)
        _place_holds(
            settlement,
            found,
            kind=HoldKind.MANUAL,
            starts_on=today,
            reason=_("settlement #%s") % settlement.pk,
            user=user,
        )
    return settlement


def settlement_cancel(*, settlement: Settlement, today: dt.date | None = None) -> Settlement:
    return _cancel(
        settlement,
        active=SettlementStatus.AGREED,
        cancelled=SettlementStatus.CANCELLED,
        refusal=_("Only an agreed settlement can be cancelled; this one is %s."),
        today=_today(today),
    )


# --------------------------------------------------------------------------------------
# Hand-over cases
# --------------------------------------------------------------------------------------


def case_open(
    *,
    customer: Customer,
    items: Iterable[Receivable],
    agency: str,
    kind: str = "agency",
    reference: str = "",
    note: str = "",
    user: Any = None,
    today: dt.date | None = None,
) -> Case:
    """Hand ``items`` over to an agency or a lawyer: they leave the automatic flow (a
    ``MANUAL`` hold "handed over") while the case is open. ``reference`` is the agency's
    file number."""
    today = _today(today)
    if not agency.strip():
        raise AgreementError(_("Name the agency or lawyer."))
    with transaction.atomic():
        found = _checked_items(customer, items)
        open_case = Case.objects.filter(items__in=found, status=CaseStatus.OPEN).first()
        if open_case is not None:
            agency = open_case.agency.rstrip(".")
            raise AgreementError(_("Some items are already handed over to %s.") % agency)
        case = Case.objects.create(
            company_id=customer.company_id,
            customer=customer,
            agency=agency,
            kind=kind,
            reference=reference.strip(),
            note=note.strip(),
            handed_over_on=today,
            handed_over_amount=sum((item.open_amount for item in found), Decimal(0)),
            created_by=recorded_user(user),
        )
        case.items.set(found)
        _place_holds(
            case, found, kind=HoldKind.MANUAL, starts_on=today, reason=HANDED_OVER, user=user
        )
    return case


def case_close(
    *,
    case: Case,
    outcome: str,
    outcome_text: str = "",
    recovered_amount: Decimal | None = None,
    today: dt.date | None = None,
) -> Case:
    """Close a case with its outcome. Only a withdrawn case gives its items back to the
    automatic flow; the others stay held (what the agency could not recover is not chased
    again by reminders)."""
    today = _today(today)
    if outcome not in CaseOutcome.values:
        raise AgreementError(_("Unknown outcome: %s.") % outcome)
    if recovered_amount is not None and recovered_amount < 0:
        raise AgreementError(_("The recovered amount cannot be negative."))
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        if case.status != CaseStatus.OPEN:
            raise AgreementError(_("This case is already closed."))
        case.status = CaseStatus.CLOSED
        case.outcome = outcome
        case.outcome_text = outcome_text
        case.recovered_amount = recovered_amount
        case.closed_on = today
        case.save(
            update_fields=["status", "outcome", "outcome_text", "recovered_amount", "closed_on"]
        )
        if outcome == CaseOutcome.WITHDRAWN:
            _release_holds(case, today)
    return case


# --------------------------------------------------------------------------------------
# The review after each import
# --------------------------------------------------------------------------------------


@dataclass
class ReviewResult:
    as_of: dt.date
    promises_kept: list[int] = field(default_factory=list)
    promises_broken: list[int] = field(default_factory=list)
    instalments_paid: list[int] = field(default_factory=list)
    instalments_late: list[int] = field(default_factory=list)
    instalments_missed: list[int] = field(default_factory=list)
    plans_completed: list[int] = field(default_factory=list)
    plans_broken: list[int] = field(default_factory=list)
    settlements_paid: list[int] = field(default_factory=list)
    settlements_failed: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def agreements_review(*, company: Company, as_of: dt.date) -> ReviewResult:
    """Decide, from the ledger as of ``as_of``, which promises were kept or broken, which
    instalments are paid, late or missed, which plans are completed or broken and which
    settlements are paid or failed. Running it twice for a day changes nothing more."""
    result = ReviewResult(as_of=as_of)
    with transaction.atomic():
        for promise in Promise.objects.select_for_update().filter(
            company=company, status=PromiseStatus.OPEN, recorded_on__lte=as_of
        ):
            _review_promise(promise, as_of, result)
        for plan in RepaymentPlan.objects.select_for_update().filter(
            company=company, status=PlanStatus.ACTIVE, created_on__lte=as_of
        ):
            _review_plan(plan, as_of, result)
        for settlement in Settlement.objects.select_for_update().filter(
            company=company, status=SettlementStatus.AGREED, agreed_on__lte=as_of
        ):
            _review_settlement(settlement, as_of, result)
    return result


def _review_promise(promise: Promise, as_of: dt.date, result: ReviewResult) -> None:
    deadline = promise_deadline(promise.promised_on)
    paid, all_closed = paid_since(promise.baseline, min(as_of, deadline))
    if all_closed or paid >= to_cents(promise.amount):
        promise.status = PromiseStatus.KEPT
        result.promises_kept.append(promise.pk)
    elif as_of > deadline:
        promise.status = PromiseStatus.BROKEN
        result.promises_broken.append(promise.pk)
    else:
        return
    promise.closed_on = as_of
    promise.save(update_fields=["status", "closed_on"])
    _release_holds(promise, as_of)


def _review_plan(plan: RepaymentPlan, as_of: dt.date, result: ReviewResult) -> None:
    paid, all_closed = paid_since(plan.baseline, as_of)
    instalments = list(plan.instalments.order_by("number"))
    before = 0  # the principal of the earlier instalments, in cents
    for instalment in instalments:
        principal = to_cents(instalment.principal)
        allocated = min(max(paid - before, 0), principal)
        before += principal
        if all_closed or allocated >= principal:
            status, paid_amount = InstalmentStatus.PAID, instalment.amount
        else:
            paid_amount = from_cents(allocated)
            if as_of <= instalment.due_on:
                status = InstalmentStatus.DUE
            elif as_of <= instalment.due_on + dt.timedelta(days=plan.grace_days):
                status = InstalmentStatus.LATE
            else:
                status = InstalmentStatus.MISSED
        if (status, paid_amount) != (instalment.status, instalment.paid_amount):
            instalment.status, instalment.paid_amount = status, paid_amount
            {
                InstalmentStatus.PAID: result.instalments_paid,
                InstalmentStatus.LATE: result.instalments_late,
                InstalmentStatus.MISSED: result.instalments_missed,
            }.get(status, []).append(instalment.pk)
    Instalment.objects.bulk_update(instalments, ["status", "paid_amount"])

    statuses = {i.status for i in instalments}
    if statuses == {InstalmentStatus.PAID}:
        plan.status = PlanStatus.COMPLETED
        result.plans_completed.append(plan.pk)
    elif InstalmentStatus.MISSED in statuses:
        plan.status = PlanStatus.BROKEN
        plan.broken_on = as_of
        result.plans_broken.append(plan.pk)
    else:
        return
    plan.closed_on = as_of
    plan.save(update_fields=["status", "closed_on", "broken_on"])
    _release_holds(plan, as_of)


def _review_settlement(settlement: Settlement, as_of: dt.date, result: ReviewResult) -> None:
    paid, all_closed = paid_since(settlement.baseline, min(as_of, settlement.due_on))
    if all_closed or paid >= to_cents(settlement.agreed_amount):
        settlement.status = SettlementStatus.PAID
        settlement.written_off_amount = settlement.open_amount - settlement.agreed_amount
        result.settlements_paid.append(settlement.pk)
        _release_holds(settlement, as_of)
        still_open = settlement.items.filter(status=ReceivableStatus.OPEN)
        _place_holds(
            settlement, still_open, kind=HoldKind.MANUAL, starts_on=as_of, reason=WRITTEN_OFF
        )
    elif as_of > settlement.due_on:
        settlement.status = SettlementStatus.FAILED
        result.settlements_failed.append(settlement.pk)
        _release_holds(settlement, as_of)
    else:
        return
    settlement.closed_on = as_of
    settlement.save(update_fields=["status", "closed_on", "written_off_amount"])
