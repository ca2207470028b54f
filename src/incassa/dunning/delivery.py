"""Delivery of the outbox: the emails that the engine's actions ask for.

The engine only writes actions; this separate step sends them, so that a crash in either
never sends twice or loses one. Each action is claimed in its own short transaction
(``created``/``approved`` -> ``sending``), sent, then marked ``sent``. An action found in
``sending`` by a later delivery crashed between the claim and the mark: it is sent again
with the *same* Message-ID (derived from the action's UUID), which mail servers and clients
use to recognise a duplicate. Letters, calls and tasks are done by people and marked done
(or posted) by an operator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incassa.core.formatting import format_day, format_money
from incassa.dunning.models import Action, ActionStatus, Channel, ItemStep, ItemStepStatus
from incassa.dunning.services import _set_status
from incassa.ledger.models import Company

EMAIL_CHANNELS = (Channel.EMAIL, Channel.AGENT_EMAIL)
MAX_ATTEMPTS = 5


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "retried": self.retried}


def _ready() -> Q:
    return (
        Q(status=ActionStatus.APPROVED)
        | Q(status=ActionStatus.CREATED, needs_approval=False)
        | Q(status=ActionStatus.SENDING)
    )


def outbox_deliver(*, company: Company, as_of: dt.date | None = None) -> DeliveryResult:
    """Send every email action of ``company`` that is ready (up to ``as_of``)."""
    result = DeliveryResult()
    pending = Action.objects.filter(company=company, channel__in=EMAIL_CHANNELS).filter(_ready())
    if as_of is not None:
        pending = pending.filter(scheduled_on__lte=as_of)
    for action_id in list(pending.order_by("id").values_list("id", flat=True)):
        action = _claim(action_id)
        if action is None:
            continue
        if action.attempts > 1:
            result.retried += 1
        try:
            message = build_message(action)
            if message is None:
                _cancel_empty(action)
                continue
            message.send(fail_silently=False)
        except Exception as exc:  # the server's answer is kept on the action
            _failed(action, exc)
            result.failed += 1
            result.errors.append(f"action {action.pk}: {exc}")
            continue
        with transaction.atomic():
            _set_status(action, ActionStatus.SENT, sent_at=timezone.now(), last_error="")
        result.sent += 1
    return result


def _claim(action_id: int) -> Action | None:
    with transaction.atomic():
        action = (
            Action.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=action_id)
            .filter(_ready())
            .select_related("customer", "customer__sales_agent", "company", "step")
            .first()
        )
        if action is None:
            return None
        action.status = ActionStatus.SENDING
        action.attempts += 1
        action.save(update_fields=["status", "attempts"])
    return action


def _failed(action: Action, exc: Exception) -> None:
    with transaction.atomic():
        if action.attempts >= MAX_ATTEMPTS:
            _set_status(action, ActionStatus.FAILED, last_error=str(exc)[:2000])
        else:
            # Back to ready: the next delivery retries it.
            action.status = ActionStatus.APPROVED if action.needs_approval else ActionStatus.CREATED
            action.last_error = str(exc)[:2000]
            action.save(update_fields=["status", "last_error"])


def _cancel_empty(action: Action) -> None:
    with transaction.atomic():
        _set_status(action, ActionStatus.CANCELLED)


def message_id(action: Action) -> str:
    return f"<incassa-action-{action.uuid.hex}@{settings.INCASSA_MAIL_DOMAIN}>"


def build_message(action: Action) -> EmailMessage | None:
    """The email of an action, listing its items that are still open; None when none is."""
    steps = (
        ItemStep.objects.filter(action=action)
        .exclude(status=ItemStepStatus.CANCELLED)
        .filter(receivable__status="open")
        .select_related("receivable")
        .order_by("receivable__due_date", "receivable__document_number")
    )
    items = [s.receivable for s in steps]
    if not items:
        return None
    customer = action.customer
    company = action.company
    if action.channel == Channel.AGENT_EMAIL:
        agent = customer.sales_agent
        recipients = [agent.email] if agent and agent.email else []
        language = settings.LANGUAGE_CODE
    else:
        recipients = customer.email_list
        language = customer.language or settings.LANGUAGE_CODE
    if not recipients:
        raise ValueError("no recipient address")
    with translation.override(language):
        lines = [
            f"- {r.document_number} {format_day(r.document_date)}: "
            + _("due %(due)s, open %(amount)s")
            % {"due": format_day(r.due_date), "amount": format_money(r.open_amount, r.currency)}
            for r in items
        ]
        total = format_money(sum((r.open_amount for r in items), Decimal(0)))
        if action.channel == Channel.AGENT_EMAIL:
            subject = _("Late payments of your customer %(customer)s") % {"customer": customer}
            intro = _("These items of your customer %(customer)s are past their due date:") % {
                "customer": customer
            }
            outro = _("Total overdue: %(total)s.") % {"total": total}
        else:
            subject = _("Payment reminder from %(company)s") % {"company": company.name}
            intro = _("Dear %(customer)s,\nour records show these items as still open:") % {
                "customer": customer.name or customer.code
            }
            outro = _(
                "Total: %(total)s. If you have already paid, please ignore this message "
                "and accept our thanks; otherwise please arrange payment%(iban)s."
            ) % {
                "total": total,
                "iban": (_(" to IBAN %(iban)s") % {"iban": company.iban}) if company.iban else "",
            }
        body = "\n".join([intro, "", *lines, "", outro, "", company.name])
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=company.email or settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=[company.email] if company.email else None,
        headers={"Message-ID": message_id(action)},
    )
