"""Communications that change state: templates and their versions, writing each action's
message, delivering emails and PEC from the outbox, and the daily print batch of letters.

The pipeline has two halves so that a crash in either loses nothing and sends nothing
twice. *Preparing* writes the message once, exactly as it will go out (text, HTML, PDF, raw
email with its Message-ID), in one transaction per action. *Delivering* claims a batch of
prepared messages under a lease (several workers may deliver the same outbox at once: each
sends only what it claimed), sends those same bytes, writes a ``DeliveryReceipt`` of the
server's acceptance in its own transaction and only then records the message as sent. A
message whose worker died is claimed again when its lease ends, and its receipt (or the
local ``transport.DeliveryJournal``) is looked up before anything is sent again. Letters are
prepared when the day's print batch is made, and go out when the batch is marked posted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from jinja2 import TemplateError

from incassa.audit import recording as audit_recording
from incassa.comms import accounts, documents, mime, rendering, selectors, transport
from incassa.comms.defaults import default_templates
from incassa.comms.interest import RateTable
from incassa.comms.models import (
    ELECTRONIC_MEDIA,
    DeliveryReceipt,
    Medium,
    Message,
    MessageItem,
    MessageStatus,
    MessageTemplate,
    PrintBatch,
    TemplateKind,
    TemplateVersion,
)
from incassa.core import bulk
from incassa.core.users import recorded_user
from incassa.dunning.engine import NOTE_NO_EMAIL
from incassa.dunning.models import (
    Action,
    ActionStatus,
    Channel,
    ItemStep,
    ItemStepStatus,
    Step,
)
from incassa.dunning.services import action_status_set, actions_status_set
from incassa.ledger.models import Company, Customer, Receivable, ReceivableStatus

logger = logging.getLogger(__name__)

MESSAGE_CHANNELS = (Channel.EMAIL, Channel.AGENT_EMAIL, Channel.LETTER, Channel.REGISTERED_LETTER)


class CommsError(Exception):
    """A user error: the message says what to do."""


class TemplateInvalid(CommsError):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


# --------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------


def templates_install_defaults(*, company: Company, overwrite: bool = False) -> int:
    """Install the shipped texts; existing templates are kept unless ``overwrite``, which
    makes the shipped text a new version (the old one stays in the history)."""
    installed = 0
    with transaction.atomic():
        for default in default_templates():
            template = MessageTemplate.objects.filter(
                company=company, code=default.code, kind=default.kind, language=default.language
            ).first()
            if template is None:
                template = MessageTemplate.objects.create(
                    company=company,
                    code=default.code,
                    kind=default.kind,
                    language=default.language,
                    name=default.name,
                    subject=default.subject,
                    body=default.body,
                    version=1,
                )
                TemplateVersion.objects.create(
                    template=template, number=1, subject=default.subject, body=default.body
                )
                installed += 1
            elif overwrite and (template.subject, template.body) != (
                default.subject,
                default.body,
            ):
                template_update(template=template, subject=default.subject, body=default.body)
                installed += 1
    return installed


def template_update(
    *, template: MessageTemplate, subject: str, body: str, name: str | None = None, user: Any = None
) -> MessageTemplate:
    """Save a new text as the next version, after checking that it renders. Line endings
    and surrounding blank space do not make a new version."""
    subject, body = normalized_text(subject, body)
    errors = rendering.template_errors(subject, body, language=template.language)
    if errors:
        raise TemplateInvalid(errors)
    with transaction.atomic():
        template = MessageTemplate.objects.select_for_update().get(pk=template.pk)
        if name is not None:
            template.name = name
        if (template.subject, template.body) != (subject, body):
            template.version += 1
            template.subject, template.body = subject, body
            TemplateVersion.objects.create(
                template=template,
                number=template.version,
                subject=subject,
                body=body,
                created_by=recorded_user(user),
            )
        template.updated_by = recorded_user(user)
        template.save()
    return template


def normalized_text(subject: str, body: str) -> tuple[str, str]:
    """A template's text as it is stored (and as the shipped defaults are)."""
    return subject.strip(), body.replace("\r\n", "\n").strip() + "\n"


def _current_version(template: MessageTemplate) -> TemplateVersion:
    version = template.versions.filter(number=template.version).first()
    if version is None:  # a template created outside the services: start its history
        version = TemplateVersion.objects.create(
            template=template, number=template.version, subject=template.subject, body=template.body
        )
    return version


# --------------------------------------------------------------------------------------
# Preparing messages
# --------------------------------------------------------------------------------------


@dataclass
class Draft:
    """A message rendered but not stored: what previews show and preparing stores."""

    medium: str
    language: str
    subject: str
    text: str
    html: str
    recipients: list[str]
    pdf: bytes | None
    pdf_name: str
    facts: rendering.MessageFacts
    template: MessageTemplate | None
    receivable_ids: list[int] = field(default_factory=list)


def company_letterhead(company: Company) -> documents.Letterhead:
    logo, mime = None, "image/png"
    if company.logo:
        try:
            with company.logo.open("rb") as handle:
                logo = handle.read()
        except OSError:
            logo = None
        name = company.logo.name.lower()
        mime = (
            "image/svg+xml"
            if name.endswith(".svg")
            else "image/jpeg"
            if name.endswith((".jpg", ".jpeg"))
            else "image/png"
        )
    return documents.Letterhead(
        company=_party_of_company(company),
        logo=logo,
        logo_mime=mime,
        footer=company.letter_footer,
        iban=company.iban,
        website=company.website,
    )


def _party_of_company(company: Company) -> documents.Party:
    city = selectors.city_line(company)
    return documents.Party(
        name=company.name,
        address_lines=tuple(p for p in (company.address, city) if p),
        vat_number=company.vat_number,
        fiscal_code=company.fiscal_code,
        email=company.email,
        pec=company.pec,
        phone=company.phone,
    )


def _party_of_customer(customer: Customer) -> documents.Party:
    city = selectors.city_line(customer)
    lines = [customer.address, city]
    if customer.country and customer.country.upper() not in {"IT", ""}:
        lines.append(customer.country.upper())
    return documents.Party(
        name=customer.name or customer.code,
        address_lines=tuple(p for p in lines if p),
        vat_number=customer.vat_number,
        fiscal_code=customer.fiscal_code,
        email=", ".join(customer.email_list),
        pec=customer.pec,
    )


def _payment(company: Company, facts: rendering.MessageFacts) -> documents.Payment | None:
    if not company.iban or facts.amount_to_pay <= 0:
        return None
    return documents.Payment(
        beneficiary=company.name,
        iban=company.iban,
        amount=facts.amount_to_pay,
        remittance=facts.remittance,
    )


def _medium(action: Action, customer: Customer) -> tuple[str, list[str], str]:
    """How an action's message goes out, to whom, and why it differs from its channel."""
    if action.channel == Channel.EMAIL:
        if customer.email_list:
            return Medium.EMAIL, customer.email_list, ""
        return Medium.LETTER, [], NOTE_NO_EMAIL
    if action.channel == Channel.AGENT_EMAIL:
        agent = customer.sales_agent
        return Medium.EMAIL, [agent.email] if agent and agent.email else [], ""
    if action.channel == Channel.REGISTERED_LETTER:
        if customer.pec and accounts.has_account(action.company, "pec"):
            return Medium.PEC, [customer.pec], ""
        return Medium.REGISTERED_LETTER, [], ""
    return Medium.LETTER, [], ""


def _template_code(action: Action) -> str:
    return action.step.template_code or action.step.code


def draft(
    *,
    company: Company,
    customer: Customer,
    receivables: list[Receivable],
    medium: str,
    template: MessageTemplate | None,
    today: dt.date,
    language: str,
    recipients: list[str],
    step_name: str = "",
    operator: str = "",
    reference_number: int = 0,
    claims_interest: bool = False,
    letter_template: MessageTemplate | None = None,
    with_pdf: bool = True,
    letterhead: documents.Letterhead | None = None,
    rates: RateTable | None = None,
) -> Draft:
    """Render a message (and its PDF, unless ``with_pdf`` is False: a preview that only
    links to the PDF spares the rendering) without storing anything. ``letterhead`` and
    ``rates``, when given, spare reading them again for every message of a run."""
    if template is None:
        raise CommsError(_("No template for this step: install the default texts."))
    facts = selectors.message_facts(
        company=company,
        customer=customer,
        receivables=receivables,
        language=language,
        today=today,
        step_name=step_name,
        operator=operator,
        reference_number=reference_number,
        claims_interest=claims_interest,
        rates=rates,
    )
    try:
        rendered = rendering.render(template.subject, template.body, facts)
    except TemplateError as exc:
        raise CommsError(
            _("The template %(name)s does not render: %(error)s") % {"name": template, "error": exc}
        ) from exc
    letterhead = letterhead or company_letterhead(company)
    payment = _payment(company, facts)
    with translation.override(language):
        if medium in ELECTRONIC_MEDIA and medium != Medium.PEC:
            pdf = with_pdf and documents.render_statement(
                documents.Statement(
                    language=language,
                    letterhead=letterhead,
                    recipient=_party_of_customer(customer),
                    date=today,
                    items=_document_items(facts),
                    compensation=facts.compensation if claims_interest else None,
                    payment=payment,
                    reference=facts.payment_reference,
                )
            )
            pdf_name = _("statement") + f"-{customer.code}-{today:%Y%m%d}.pdf"
        else:
            body_source = letter_template or template
            if body_source is not template:
                try:
                    letter_text = rendering.render(body_source.subject, body_source.body, facts)
                except TemplateError as exc:
                    raise CommsError(str(exc)) from exc
            else:
                letter_text = rendered
            pdf = with_pdf and documents.render_letter(
                documents.Letter(
                    language=language,
                    letterhead=letterhead,
                    recipient=_party_of_customer(customer),
                    date=today,
                    place=company.city,
                    subject=letter_text.subject,
                    body_html=letter_text.html,
                    signature=company.signature or company.name,
                    payment=payment,
                    registered=medium == Medium.REGISTERED_LETTER,
                    reference=facts.payment_reference,
                )
            )
            pdf_name = _("letter") + f"-{customer.code}-{today:%Y%m%d}.pdf"
    return Draft(
        medium=medium,
        language=language,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        recipients=recipients,
        pdf=pdf or None,
        pdf_name=pdf_name,
        facts=facts,
        template=template,
        receivable_ids=[r.pk for r in receivables],
    )


def _document_items(facts: rendering.MessageFacts) -> tuple[documents.DocumentItem, ...]:
    return tuple(
        documents.DocumentItem(
            document_number=i.document_number,
            document_date=i.document_date,
            due_date=i.due_date,
            open_amount=i.open_amount,
            days_overdue=max(i.days_overdue, 0),
            interest=i.interest if i.days_overdue > 0 else None,
        )
        for i in facts.items
    )


def _listed_receivables(action: Action) -> list[Receivable]:
    return [
        s.receivable
        for s in ItemStep.objects.filter(action=action)
        .exclude(status__in=[ItemStepStatus.CANCELLED, ItemStepStatus.SKIPPED])
        .filter(receivable__status=ReceivableStatus.OPEN)
        .select_related("receivable")
        .order_by("receivable__due_date", "receivable__document_number")
    ]


def _ready_actions() -> Q:
    return (
        Q(status=ActionStatus.APPROVED)
        | Q(status=ActionStatus.CREATED, needs_approval=False)
        | Q(status=ActionStatus.SENDING)
    )


class Preparation:
    """What every message of one company's preparation run shares, read once for the run
    rather than once per message: the interest rates, the letterhead, the templates and
    their current versions, the senders. A run lasts minutes at most, so a template edited
    meanwhile is picked up by the next run."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self.rates = selectors.rate_table()
        self._letterhead: documents.Letterhead | None = None
        self._templates: dict[tuple[str, str, str], MessageTemplate | None] = {}
        self._versions: dict[int, TemplateVersion] = {}
        self._senders: dict[str, accounts.Sender] = {}

    @property
    def letterhead(self) -> documents.Letterhead:
        if self._letterhead is None:
            self._letterhead = company_letterhead(self.company)
        return self._letterhead

    def template(self, code: str, kind: str, language: str) -> MessageTemplate | None:
        key = (code, kind, language)
        if key not in self._templates:
            self._templates[key] = selectors.template_for(
                company=self.company, code=code, kind=kind, language=language
            )
        return self._templates[key]

    def version(self, template: MessageTemplate) -> TemplateVersion:
        if template.pk not in self._versions:
            self._versions[template.pk] = _current_version(template)
        return self._versions[template.pk]

    def sender(self, medium: str) -> accounts.Sender:
        if medium not in self._senders:
            self._senders[medium] = accounts.sender_for(self.company, medium)
        return self._senders[medium]


def _actions_with_their_parties() -> Any:
    """Actions with what their message needs: customer, agent, company, step."""
    return Action.objects.select_related("customer", "customer__sales_agent", "company", "step")


def _with_live_message(action_ids: list[int]) -> set[int]:
    """Those of the actions that have a message not cancelled: theirs is written."""
    return set(
        Message.objects.filter(action__in=action_ids)
        .exclude(status=MessageStatus.CANCELLED)
        .values_list("action_id", flat=True)
    )


def _locked_actions(skip_locked: bool) -> Any:
    """Actions locked for writing their messages, with what a message needs; with
    ``skip_locked`` (where the database has it) those another worker holds are left out."""
    actions = _actions_with_their_parties()
    if skip_locked and connection.features.has_select_for_update_skip_locked:
        return actions.select_for_update(of=("self",), skip_locked=True)
    return actions.select_for_update(of=("self",))


class ActionBusy(Exception):
    """Another worker is writing this action's message right now (``skip_locked``)."""


def message_prepare(
    *,
    action: Action,
    today: dt.date,
    user: Any = None,
    run: Preparation | None = None,
    skip_locked: bool = False,
) -> Message | None:
    """Write the message of an action once, exactly as it will go out. Returns the live
    message (an existing one is returned unchanged), or None when the action has nothing
    left to say (its items were paid: it is cancelled) or cannot reach anyone. ``run``
    shares what a batch of messages of one company reads once. With ``skip_locked`` (on
    PostgreSQL) an action another worker is preparing raises ``ActionBusy`` instead of
    waiting for it, so that workers sharing an outbox do not queue behind each other."""
    with transaction.atomic():
        found = _locked_actions(skip_locked).filter(pk=action.pk).first()
        if found is None:
            if Action.objects.filter(pk=action.pk).exists():
                raise ActionBusy(action.pk)
            raise Action.DoesNotExist(action.pk)
        action = found
        live = action.messages.exclude(status=MessageStatus.CANCELLED).first()
        if live is not None:
            return live
        if run is None or run.company.pk != action.company_id:
            run = Preparation(action.company)
        plan = _plan(action, _listed_receivables(action), run)
        if plan is None:
            return None
        message = Message(
            company=action.company,
            customer=action.customer,
            action=action,
            medium=plan.medium,
            language=plan.language,
            created_by=recorded_user(user),
        )
        message.save()  # the primary key numbers the payment reference
        result = _draft_of(plan, message.pk, today=today, user=user, run=run)
        _store(message, result, action=action, run=run)
    return message


@dataclass
class _Plan:
    """What an action's message will be, decided before anything is written."""

    action: Action
    receivables: list[Receivable]
    medium: str
    recipients: list[str]
    language: str
    template: MessageTemplate | None
    letter_template: MessageTemplate | None


def _plan(action: Action, receivables: list[Receivable], run: Preparation) -> _Plan | None:
    """Decide an action's message (inside its transaction, the action locked). None when
    there is nothing to write: the action is cancelled when its items were paid or nobody
    can be reached; an email step for a customer without an address becomes a letter."""
    if action.status not in {
        ActionStatus.CREATED,
        ActionStatus.APPROVED,
        ActionStatus.SENDING,
    } or (action.needs_approval and action.status == ActionStatus.CREATED):
        return None
    if not receivables:
        action_status_set(
            action, ActionStatus.CANCELLED, note="nothing left to ask: its items were paid"
        )
        return None
    customer = action.customer
    medium, recipients, note = _medium(action, customer)
    if medium in ELECTRONIC_MEDIA and not recipients:
        action_status_set(action, ActionStatus.CANCELLED, note="no recipient address")
        return None
    if note:
        action.channel = Channel.LETTER
        action.note = note[:300]
        action.save(update_fields=["channel", "note"])
    language = (
        settings.LANGUAGE_CODE
        if action.channel == Channel.AGENT_EMAIL
        else selectors.customer_language(customer)
    )
    kind = TemplateKind.EMAIL if medium in ELECTRONIC_MEDIA else TemplateKind.LETTER
    code = _template_code(action)
    return _Plan(
        action=action,
        receivables=receivables,
        medium=medium,
        recipients=recipients,
        language=language,
        template=run.template(code, kind, language),
        letter_template=(
            run.template(code, TemplateKind.LETTER, language) if medium == Medium.PEC else None
        ),
    )


def _draft_of(
    plan: _Plan, reference_number: int, *, today: dt.date, user: Any, run: Preparation
) -> Draft:
    action = plan.action
    return draft(
        company=action.company,
        customer=action.customer,
        receivables=plan.receivables,
        medium=plan.medium,
        template=plan.template,
        today=today,
        language=plan.language,
        recipients=plan.recipients,
        step_name=action.step.name,
        operator=_operator_name(user),
        reference_number=reference_number,
        claims_interest=action.channel == Channel.REGISTERED_LETTER,
        letter_template=plan.letter_template,
        letterhead=run.letterhead,
        rates=run.rates,
    )


def _operator_name(user: Any) -> str:
    if not getattr(user, "pk", None):
        return ""
    return user.get_full_name() or user.get_username()


def message_id_for(message: Message) -> str:
    return f"<incassa-{message.uuid.hex}@{settings.INCASSA_MAIL_DOMAIN}>"


def _sender(company: Company, medium: str, run: Preparation | None = None) -> str:
    """The From of a message: the company's own account's sender, else as before."""
    sender = run.sender(medium) if run else accounts.sender_for(company, medium)
    return formataddr((sender.name, sender.address)) if sender.name else sender.address


def _store(
    message: Message, result: Draft, *, action: Action | None, run: Preparation | None = None
) -> None:
    items = _fill(message, result, action=action, run=run or Preparation(message.company))
    message.save()
    MessageItem.objects.bulk_create(items)


def _fill(
    message: Message, result: Draft, *, action: Action | None, run: Preparation
) -> list[MessageItem]:
    """Complete a message from its draft, its files written; the lines to store with it."""
    facts = result.facts
    message.template_version = run.version(result.template) if result.template else None
    message.subject = result.subject[:500]
    message.body_text = result.text
    message.body_html = result.html
    message.recipients = ",".join(result.recipients)
    message.item_count = len(facts.items)
    message.total_amount = facts.total_open
    message.interest = facts.total_interest
    message.compensation = facts.compensation
    message.payment_reference = facts.payment_reference
    message.note = (action.note if action else "")[:300]
    if result.pdf is not None:
        message.document.save(result.pdf_name, ContentFile(result.pdf), save=False)
        message.document_sha256 = hashlib.sha256(result.pdf).hexdigest()
        message.pages = documents.page_count(result.pdf)
    if result.medium in ELECTRONIC_MEDIA:
        company = message.company
        message.message_id = message_id_for(message)
        message.sender = _sender(company, result.medium, run)
        message.reply_to = run.sender(result.medium).reply_to
        raw = mime.email_bytes(
            subject=message.subject,
            sender=message.sender,
            recipients=result.recipients,
            reply_to=message.reply_to,
            headers={
                "Message-ID": message.message_id,
                "X-Incassa-Reference": facts.payment_reference,
            },
            text=result.text,
            html=rendering.email_document(
                result.html, language=result.language, title=result.subject
            ),
            attachment=(
                (result.pdf_name, result.pdf, "application/pdf") if result.pdf is not None else None
            ),
            date=formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
        )
        message.raw.save(f"{message.uuid.hex}.eml", ContentFile(raw), save=False)
        message.status = MessageStatus.QUEUED
    else:
        message.status = MessageStatus.TO_PRINT
    return [
        MessageItem(
            message=message,
            receivable_id=receivable_id,
            open_amount=item.open_amount,
            days_overdue=item.days_overdue,
            interest=item.interest,
        )
        for receivable_id, item in zip(result.receivable_ids, facts.items, strict=True)
    ]


@dataclass
class PrepareResult:
    prepared: int = 0
    cancelled: int = 0
    busy: int = 0  # being prepared by another worker
    errors: list[str] = field(default_factory=list)


def _unprepared_actions(
    company: Company, today: dt.date, shard: tuple[int, int] | None = None
) -> Any:
    actions = (
        Action.objects.filter(
            company=company, channel__in=MESSAGE_CHANNELS, scheduled_on__lte=today
        )
        .filter(_ready_actions())
        .exclude(messages__status__in=_LIVE_STATUSES)
        .select_related("customer", "customer__sales_agent")
        .order_by("id")
    )
    if shard is not None and shard[1] > 1:
        number, shards = shard
        actions = actions.alias(shard=F("id") % shards).filter(shard=number)
    return actions


def messages_prepare(
    *,
    company: Company,
    today: dt.date,
    paper: bool,
    user: Any = None,
    shard: tuple[int, int] | None = None,
    skip_locked: bool = False,
) -> PrepareResult:
    """Prepare the ready actions' messages: the electronic ones (``paper=False``, before a
    delivery) or the letters (``paper=True``, before a print batch). One transaction per
    action: an error in one template does not hold back the rest.

    ``shard`` ``(n, of)`` takes only the actions whose id leaves ``n`` divided by ``of``:
    workers sharing a day's outbox each prepare their own part. ``skip_locked`` passes
    over an action another worker is preparing."""
    result = PrepareResult()
    pec_ready = accounts.has_account(company, "pec")
    run = Preparation(company)
    chosen = [
        action
        for action in _unprepared_actions(company, today, shard)
        if (_medium_quick(action, pec_ready)[0] in ELECTRONIC_MEDIA) != paper
    ]
    for start in range(0, len(chosen), PREPARE_CHUNK):
        chunk = chosen[start : start + PREPARE_CHUNK]
        try:
            _prepare_chunk(chunk, today=today, user=user, run=run, result=result, skip=skip_locked)
        except Exception:
            # The chunk's transaction is undone: its actions are prepared one by one, so
            # that one customer's problem does not hold back the others.
            logger.exception("preparing messages %s..%s", chunk[0].pk, chunk[-1].pk)
            for action in chunk:
                _prepare_alone(action, today=today, user=user, run=run, result=result)
    return result


# Messages written per transaction: a handful of queries for all of them.
PREPARE_CHUNK = 100


def _prepare_alone(
    action: Action, *, today: dt.date, user: Any, run: Preparation, result: PrepareResult
) -> None:
    try:
        message = message_prepare(action=action, today=today, user=user, run=run)
    except ActionBusy:
        result.busy += 1
        return
    except Exception as exc:  # one customer's problem must not hold back the others
        logger.exception("preparing the message of action %s", action.pk)
        result.errors.append(f"{action.customer.code}: {exc}")
        return
    if message is None:
        result.cancelled += 1
    else:
        result.prepared += 1


def _message_ids(count: int) -> list[int]:
    """``count`` primary keys for new messages: their payment references are numbered by
    them before they are stored. Taken from the sequence, so nobody else can use them
    (on SQLite in a transaction of its own, the AUTOINCREMENT's counter moved past them)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [Message._meta.db_table, count],
            )
            return [row[0] for row in cursor.fetchall()]
    table = Message._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        first = bulk.reserve_ids(Message, count)
        cursor.execute(
            "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + count - 1, table]
        )
        if cursor.rowcount == 0:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                [table, first + count - 1],
            )
    return list(range(first, first + count))


def _prepare_chunk(
    actions: list[Action],
    *,
    today: dt.date,
    user: Any,
    run: Preparation,
    result: PrepareResult,
    skip: bool,
) -> None:
    """Write the messages of a few actions with a handful of queries for all of them: the
    actions read again, their live messages, their items; then each message rendered; then
    one insert of the messages and one of their lines. An action whose message does not
    render is left out and reported; the others are written.

    On PostgreSQL all of it is one transaction, the actions locked (rows: nobody else
    waits). On SQLite a transaction holds the whole database's write lock, so the messages
    are rendered before it, and the short transaction that stores them first checks that
    nothing changed meanwhile: an action whose status moved, or that got a message from
    somebody else, is dropped (and counted busy). The web's writes never wait for a
    rendering."""
    if connection.vendor == "postgresql":
        with transaction.atomic():
            plans = _chunk_plans(_locked_actions(skip), actions, run=run, result=result)
            messages, lines = _render_chunk(plans, today=today, user=user, run=run, result=result)
            Message.objects.bulk_create(messages)
            MessageItem.objects.bulk_create(lines)
        result.prepared += len(messages)
        return
    plans = _chunk_plans(_actions_with_their_parties(), actions, run=run, result=result)
    status = {plan.action.pk: plan.action.status for plan in plans}
    messages, lines = _render_chunk(plans, today=today, user=user, run=run, result=result)
    if not messages:
        return
    with transaction.atomic():
        current = dict(Action.objects.filter(pk__in=list(status)).values_list("pk", "status"))
        taken = _with_live_message(list(status))
        kept = [
            m
            for m in messages
            if current.get(m.action_id) == status[m.action_id] and m.action_id not in taken
        ]
        stored = {m.pk for m in kept}
        Message.objects.bulk_create(kept)
        MessageItem.objects.bulk_create([line for line in lines if line.message_id in stored])
    result.prepared += len(kept)
    for message in messages:
        if message.pk not in stored:
            result.busy += 1
            _delete_files(message)


def _chunk_plans(
    queryset: Any, actions: list[Action], *, run: Preparation, result: PrepareResult
) -> list[_Plan]:
    """The plans of a chunk's actions, read again with their live messages and items."""
    fresh = {action.pk: action for action in queryset.filter(pk__in=[a.pk for a in actions])}
    result.busy += len(actions) - len(fresh)
    live = _with_live_message(list(fresh))
    listed: dict[int, list[Receivable]] = {pk: [] for pk in fresh}
    for step in (
        ItemStep.objects.filter(action__in=list(fresh))
        .exclude(status__in=[ItemStepStatus.CANCELLED, ItemStepStatus.SKIPPED])
        .filter(receivable__status=ReceivableStatus.OPEN)
        .select_related("receivable")
        .order_by("receivable__due_date", "receivable__document_number")
    ):
        listed[step.action_id].append(step.receivable)
    plans = []
    for action in actions:
        action = fresh.get(action.pk)
        if action is None or action.pk in live:
            continue
        plan = _plan(action, listed[action.pk], run)
        if plan is None:
            result.cancelled += 1
        else:
            plans.append(plan)
    return plans


def _render_chunk(
    plans: list[_Plan], *, today: dt.date, user: Any, run: Preparation, result: PrepareResult
) -> tuple[list[Message], list[MessageItem]]:
    """The chunk's messages and their lines, rendered and their files written."""
    if not plans:
        return [], []
    messages, lines = [], []
    for plan, pk in zip(plans, _message_ids(len(plans)), strict=True):
        action = plan.action
        message = Message(
            pk=pk,
            company=action.company,
            customer=action.customer,
            action=action,
            medium=plan.medium,
            language=plan.language,
            created_by=recorded_user(user),
        )
        try:
            drafted = _draft_of(plan, pk, today=today, user=user, run=run)
            lines += _fill(message, drafted, action=action, run=run)
        except Exception as exc:
            logger.exception("preparing the message of action %s", action.pk)
            result.errors.append(f"{action.customer.code}: {exc}")
            _delete_files(message)
            continue
        messages.append(message)
    return messages, lines


def _delete_files(message: Message) -> None:
    """The files of a message that is not stored after all."""
    for stored in (message.document, message.raw):
        if stored:
            stored.delete(save=False)


_LIVE_STATUSES = [s for s in MessageStatus.values if s != MessageStatus.CANCELLED]


def _medium_quick(action: Action, pec_ready: bool) -> tuple[str, list[str], str]:
    customer = action.customer
    if action.channel == Channel.REGISTERED_LETTER:
        if customer.pec and pec_ready:
            return Medium.PEC, [customer.pec], ""
        return Medium.REGISTERED_LETTER, [], ""
    return _medium(action, customer)


# --------------------------------------------------------------------------------------
# Delivering emails and PEC
# --------------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    prepared: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    withdrawn: int = 0
    duplicates_avoided: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "prepared": self.prepared,
            "sent": self.sent,
            "failed": self.failed,
            "retried": self.retried,
            "deferred": self.deferred,
            "withdrawn": self.withdrawn,
            "duplicates_avoided": self.duplicates_avoided,
            "errors": self.errors,
        }


def worker_id() -> str:
    """Who claims a message: ``host:pid:thread``. Unique among the workers alive at one
    time, and tells a person (or a test) which process to look at."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def _setting(name: str, default: str) -> str:
    """A delivery setting: Django's setting when there is one, else the environment's."""
    value = getattr(settings, name, None)
    return str(value) if value not in (None, "") else os.environ.get(name, default)


def delivery_lease() -> dt.timedelta:
    """How long a claimed message belongs to its worker (``INCASSA_DELIVERY_LEASE_SECONDS``,
    5 minutes): much longer than one message's send, so that only a dead worker loses it."""
    return dt.timedelta(seconds=float(_setting("INCASSA_DELIVERY_LEASE_SECONDS", "300")))


def delivery_batch_size() -> int:
    """How many messages one claim takes (``INCASSA_DELIVERY_BATCH``, 50): a claim, the
    check of its items and the marking of what was sent are a few queries per batch."""
    return max(1, int(_setting("INCASSA_DELIVERY_BATCH", "50")))


@dataclass(frozen=True)
class Claim:
    """One claim round of one worker: the messages it took share its lease. Every write the
    delivery makes afterwards is conditional on the claim still holding (``held``): a worker
    whose lease ran out, and whose message another worker took, changes nothing."""

    worker: str
    until: dt.datetime
    lease: dt.timedelta

    def held(self) -> Q:
        return Q(status=MessageStatus.SENDING, claimed_by=self.worker, claimed_until=self.until)

    def has_time_for_another(self) -> bool:
        """A message is started only while half the lease is left, so that its send (at most
        a rate-limit wait and a few SMTP timeouts) ends well inside the lease."""
        return timezone.now() + self.lease / 2 <= self.until


def outbox_deliver(
    *,
    company: Company,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    shard: tuple[int, int] | None = None,
) -> DeliveryResult:
    """Prepare the day's electronic messages and send every one that is due.

    Safe to run in several processes (or threads) at once for the same company: each claims
    batches of due messages under a lease and sends only what it claimed, so every message
    goes out once (docs/communications.md, "Delivery guarantees"). Run it outside a
    transaction: claims and receipts must commit as they happen to be seen by the others.
    ``shard`` (see ``messages_prepare``) spreads the writing of the messages over workers;
    each sends whatever is ready, whoever wrote it.
    """
    today = today or timezone.localdate()
    now = now or timezone.now()
    result = DeliveryResult()
    prepared = messages_prepare(
        company=company, today=today, paper=False, shard=shard, skip_locked=True
    )
    result.prepared = prepared.prepared
    result.errors.extend(prepared.errors)
    worker = worker_id()
    journal = local_journal()
    transports: dict[str, Any] = {}
    tried: set[int] = set()
    try:
        # A message withdrawn because its items changed is rewritten at once: a later round
        # claims and sends the new one.
        while True:
            claim, batch = _claim_batch(company, now=now, worker=worker, exclude=tried)
            if not batch:
                break
            unfinished = [pk for pk, _medium in batch]
            changed = _items_changed(unfinished)
            read = Message.objects.select_related("action", "customer").in_bulk(unfinished)
            accepted: list[_Accepted] = []
            try:
                for index, (pk, medium) in enumerate(batch):
                    if index and not claim.has_time_for_another():
                        break  # the rest goes back, and a new round claims it afresh
                    tried.add(pk)
                    sender = _transport_for(company, medium, transports, journal, result)
                    if sender is None:
                        continue  # no usable account: handed back, waiting in the queue
                    _deliver_one(
                        pk,
                        sender,
                        claim=claim,
                        now=now,
                        today=today,
                        result=result,
                        changed=changed,
                        accepted=accepted,
                        message=read.get(pk),
                    )
                    unfinished.remove(pk)
            finally:
                # Also on an exception: what the server accepted is marked sent (its
                # receipts are written already), and what this worker no longer handles is
                # handed back at once rather than when the lease ends. Even the message it
                # was sending: whoever takes it looks for its receipt (and the local
                # journal) first, as after the lease; handing it back sooner risks nothing.
                try:
                    finished = [item.message.pk for item in accepted]
                    _sent(accepted, claim=claim, result=result)
                    # A sent message is never due again: only what stayed claimable needs
                    # leaving out of the next rounds (a query's list of ids stays short).
                    tried.difference_update(finished)
                except BaseException:
                    unfinished.extend(item.message.pk for item in accepted)
                    raise
                finally:
                    _release(unfinished, claim)
    finally:
        for sender in transports.values():
            if sender is not None:
                sender.__exit__(None, None, None)
    result.deferred = Message.objects.filter(
        company=company, status=MessageStatus.QUEUED, next_attempt_at__gt=now
    ).count()
    return result


def outbox_pending(company: Company, *, today: dt.date, now: dt.datetime | None = None) -> int:
    """What the day's delivery still has to do: electronic messages not yet written, due
    messages waiting, messages being sent. Zero once every worker sharing it is done."""
    now = now or timezone.now()
    pec_ready = accounts.has_account(company, "pec")
    unwritten = sum(
        1
        for action in _unprepared_actions(company, today)
        if _medium_quick(action, pec_ready)[0] in ELECTRONIC_MEDIA
    )
    waiting = (
        Message.objects.filter(company=company, medium__in=list(ELECTRONIC_MEDIA))
        .filter(
            Q(status=MessageStatus.QUEUED)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            | Q(status=MessageStatus.SENDING)
        )
        .count()
    )
    return unwritten + waiting


def local_journal() -> transport.DeliveryJournal | None:
    """The local journal file (``INCASSA_DELIVERY_JOURNAL``), a second record beside the
    receipts: it still knows an acceptance when the database could not be written. Empty:
    none (the receipts alone)."""
    path = getattr(settings, "INCASSA_DELIVERY_JOURNAL", None)
    if path is None or str(path).strip() in {"", "."}:
        return None
    return transport.DeliveryJournal(path)


def _due(company: Company, *, now: dt.datetime, clock: dt.datetime) -> Any:
    """The messages a worker may claim: queued ones whose time has come, and those still
    ``sending`` whose lease has ended (their worker died) or that have none (claimed before
    leases existed)."""
    return Message.objects.filter(company=company, medium__in=list(ELECTRONIC_MEDIA)).filter(
        Q(status=MessageStatus.QUEUED)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        | Q(status=MessageStatus.SENDING)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=clock))
    )


def _claim_batch(
    company: Company, *, now: dt.datetime, worker: str, exclude: set[int]
) -> tuple[Claim, list[tuple[int, str]]]:
    """Claim up to a batch of due messages for ``worker`` in one short transaction: they
    become ``sending`` under its lease. Returns the claim and the (id, medium) it took.

    On PostgreSQL the candidates are selected ``FOR UPDATE SKIP LOCKED``: concurrent workers
    each lock a different batch instead of queueing behind the first, and a row another
    claim has just taken is skipped, never taken twice. SQLite has no row locks, but its
    IMMEDIATE transaction holds the database's write lock from the first statement, so
    claims are serialised. In both, the UPDATE repeats the due condition, so that it only
    takes rows that are still free."""
    clock = timezone.now()
    lease = delivery_lease()
    claim = Claim(worker=worker, until=clock + lease, lease=lease)
    due = _due(company, now=now, clock=clock)
    if exclude:
        due = due.exclude(pk__in=exclude)
    with transaction.atomic():
        candidates = due.order_by("id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[: delivery_batch_size()])
        if not ids:
            return claim, []
        due.filter(pk__in=ids).update(
            status=MessageStatus.SENDING, claimed_by=worker, claimed_until=claim.until
        )
        batch = list(
            Message.objects.filter(claim.held(), pk__in=ids)
            .order_by("id")
            .values_list("id", "medium")
        )
    return claim, batch


def _release(pks: list[int], claim: Claim) -> None:
    """Hand messages this worker claimed but did not finish back to the queue."""
    if not pks:
        return
    try:
        with transaction.atomic():
            Message.objects.filter(claim.held(), pk__in=pks).update(
                status=MessageStatus.QUEUED, claimed_until=None
            )
    except Exception:  # the database is gone: the lease ends by itself
        logger.exception(
            "could not hand back messages %s; they are taken again after %s", pks, claim.until
        )


def _still_held(pk: int, claim: Claim) -> bool:
    """Inside a transaction: lock the message if the claim still holds it."""
    return (
        Message.objects.select_for_update()
        .filter(claim.held(), pk=pk)
        .values_list("pk", flat=True)
        .first()
        is not None
    )


def _transport_for(
    company: Company,
    medium: str,
    transports: dict[str, Any],
    journal: transport.DeliveryJournal | None,
    result: DeliveryResult,
) -> Any:
    """One open transport per account for the whole delivery (and its rate limit): the
    company's own account when it has one in use, else the installation's. A message whose
    account cannot be used stays queued, and the result says why."""
    account_name = "pec" if medium == Medium.PEC else "default"
    if account_name not in transports:
        try:
            account = accounts.account_for(company, account_name)
        except accounts.AccountError as exc:
            result.errors.append(
                _("the %(name)s mail account cannot be used: %(error)s")
                % {"name": account_name, "error": exc}
            )
            transports[account_name] = None
            return None
        if account is None:
            result.errors.append(_("no %(name)s mail account configured") % {"name": account_name})
            transports[account_name] = None
        else:
            slow = account.timeout * 4 > delivery_lease().total_seconds() / 2
            if slow and account.scheme not in ("memory", "file"):
                logger.warning(
                    "%s: a timeout of %s s is long for a delivery lease of %s: a slow server "
                    "could outlast the lease and have the message sent twice",
                    account,
                    account.timeout,
                    delivery_lease(),
                )
            transports[account_name] = transport.open_transport(
                account, journal=journal
            ).__enter__()
    return transports[account_name]


def _begin(
    pk: int, claim: Claim, message: Message | None = None
) -> tuple[Message | None, str | None]:
    """Count the attempt and mark the action sending. Returns the message (None when the
    claim no longer holds it) and, when a receipt says the server already accepted it, the
    server's answer then. ``message``, read with its batch, saves reading it again: only
    its claim holder changes it, but its action is read afresh (it may have been cancelled
    meanwhile).

    Plain SQL: the outbox's own moves are summarised by the ``message_sent`` audit entry
    (audit.recording.PERSON_ONLY_MODELS), and a few statements per message cost less than
    building them with the ORM."""
    moment = connection.ops.adapt_datetimefield_value
    with transaction.atomic(), connection.cursor() as cursor:
        # The claim is checked by the update itself: it changes the row (and, on
        # PostgreSQL, locks it) only while this worker's lease still holds it.
        cursor.execute(
            f"UPDATE {Message._meta.db_table} SET attempts = attempts + 1 "
            "WHERE id = %s AND status = %s AND claimed_by = %s AND claimed_until = %s",
            [pk, MessageStatus.SENDING, claim.worker, moment(claim.until)],
        )
        if cursor.rowcount != 1:
            return None, None
        cursor.execute(
            f"SELECT response FROM {DeliveryReceipt._meta.db_table} WHERE message_id = %s",
            [pk],
        )
        receipt = cursor.fetchone()
        if message is None:
            message = Message.objects.select_related("action", "customer").get(pk=pk)
        else:
            message.attempts += 1
            if message.action_id is not None:
                cursor.execute(
                    f"SELECT status FROM {Action._meta.db_table} WHERE id = %s",
                    [message.action_id],
                )
                message.action.status = cursor.fetchone()[0]
        action = message.action
        if action is not None and action.status in {ActionStatus.CREATED, ActionStatus.APPROVED}:
            action.status = ActionStatus.SENDING
            action.attempts = message.attempts
            cursor.execute(
                f"UPDATE {Action._meta.db_table} SET status = %s, attempts = %s WHERE id = %s",
                [action.status, action.attempts, action.pk],
            )
    return message, receipt[0] if receipt else None


def _items_changed(pks: list[int]) -> set[int]:
    """The messages of a batch whose items changed since they were written (one was paid,
    or its open amount moved): a reminder for something already paid must not go out. Two
    queries for the whole batch."""
    listed: dict[int, dict[int, Any]] = {pk: {} for pk in pks}
    for message_id, receivable_id, amount in MessageItem.objects.filter(
        message_id__in=pks
    ).values_list("message_id", "receivable_id", "open_amount"):
        listed[message_id][receivable_id] = amount
    receivables = {pk for items in listed.values() for pk in items}
    current = dict(
        Receivable.objects.filter(pk__in=receivables, status=ReceivableStatus.OPEN).values_list(
            "id", "open_amount"
        )
    )
    return {
        pk
        for pk, items in listed.items()
        if {r: current[r] for r in items if r in current} != items
    }


def _still_wanted(message: Message, changed: set[int] | None = None) -> bool:
    """The action may have been cancelled or rejected (``_begin`` has just read it), or an
    item paid, since the message was written."""
    action = message.action
    if action is None:
        return True
    if action.status in {ActionStatus.CANCELLED, ActionStatus.REJECTED}:
        return False
    if changed is None:
        changed = _items_changed([message.pk])
    return message.pk not in changed


@dataclass(frozen=True)
class _Accepted:
    """A message the server accepted (its receipt committed), to be marked sent."""

    message: Message
    response: str
    at: dt.datetime
    duplicate: bool


def _deliver_one(
    pk: int,
    sender: Any,
    *,
    claim: Claim,
    now: dt.datetime,
    today: dt.date,
    result: DeliveryResult,
    changed: set[int] | None = None,
    accepted: list[_Accepted] | None = None,
    message: Message | None = None,
) -> None:
    """Send one claimed message (``message``: as its batch read it). What the server
    accepted is added to ``accepted``, which the caller marks sent with the rest of its
    batch (one transaction for the batch); the receipt, committed before, is what
    guarantees it is never sent again. Without ``accepted`` it is marked sent at once."""
    message, receipt = _begin(pk, claim, message)
    if message is None:
        return
    if message.attempts > 1:
        result.retried += 1
    done = accepted if accepted is not None else []
    if receipt is not None:
        # A worker died after the server accepted the message and before it could say so:
        # the receipt it left is enough, nothing is sent again.
        done.append(_Accepted(message, receipt, timezone.now(), duplicate=True))
    else:
        journalled = sender.journal.accepted(message.message_id) if sender.journal else None
        if journalled is None and not _still_wanted(message, changed):
            _withdraw(message, claim=claim, today=today, result=result)
            return
        try:
            with message.raw.open("rb") as handle:
                raw = handle.read()
            response = sender.send(
                sender=_envelope_address(message.sender),
                recipients=message.recipient_list,
                message=raw,
                message_id=message.message_id,
            )
        except transport.DeliveryError as exc:
            _failed(message, exc, claim=claim, now=now, result=result)
            return
        _record_receipt(message, response, claim)
        done.append(
            _Accepted(message, response, timezone.now(), duplicate=sender.last_was_duplicate)
        )
    if accepted is None:
        _sent(done, claim=claim, result=result)


def _record_receipt(message: Message, response: str, claim: Claim) -> None:
    """The shared journal: the server's acceptance, committed on its own before the message
    is marked sent, so that a worker killed in between leaves a receipt any other worker
    finds. (A plain insert: the receipt is no change a person made, and the message's
    ``message_sent`` audit entry already records the acceptance.)"""
    moment = connection.ops.adapt_datetimefield_value
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {DeliveryReceipt._meta.db_table} "
                "(message_id, accepted_at, response, worker) VALUES (%s, %s, %s, %s)",
                [message.pk, moment(timezone.now()), response[:2000], claim.worker],
            )
    except IntegrityError:
        # Only when this worker's lease ran out mid-send and another sent it too.
        logger.error(
            "message %s (%s) was accepted twice: %s already has a receipt",
            message.pk,
            message.message_id,
            claim.worker,
        )


def _sent(accepted: list[_Accepted], *, claim: Claim, result: DeliveryResult) -> None:
    """Mark accepted messages sent, with their actions and item steps and their audit
    entries, in one transaction: a handful of statements for a batch instead of a handful
    per message. A message whose lease this worker lost is left to the worker that took
    it, which finds its receipt."""
    if not accepted:
        return
    with transaction.atomic():
        held = set(
            Message.objects.select_for_update()
            .filter(claim.held(), pk__in=[a.message.pk for a in accepted])
            .values_list("pk", flat=True)
        )
        sent: list[_Accepted] = []
        for item in accepted:
            if item.message.pk not in held:
                logger.warning(
                    "message %s was sent after its lease ended (%s): another worker records it",
                    item.message.pk,
                    claim.until,
                )
                continue
            message = item.message
            message.status = MessageStatus.SENT
            message.sent_at = item.at
            message.last_response = item.response[:2000]
            message.next_attempt_at = None
            message.claimed_until = None
            sent.append(item)
        messages = [item.message for item in sent]
        # One prepared statement run for every row (a bulk_update's CASE per column costs
        # more to build than to run).
        moment = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Message._meta.db_table} SET status = %s, sent_at = %s, "
                "last_response = %s, next_attempt_at = NULL, claimed_until = NULL "
                "WHERE id = %s",
                [(m.status, moment(m.sent_at), m.last_response, m.pk) for m in messages],
            )
        actions = []
        for message in messages:
            if message.action is not None:
                message.action.sent_at = message.sent_at
                message.action.last_error = ""
                actions.append(message.action)
        actions_status_set(actions, ActionStatus.SENT, ["sent_at", "last_error"])
        audit_recording.messages_sent(messages)
    accepted.clear()
    for item in sent:
        result.sent += 1
        if item.duplicate:
            result.duplicates_avoided += 1


def _envelope_address(sender: str) -> str:
    return parseaddr(sender)[1]


def _withdraw(message: Message, *, claim: Claim, today: dt.date, result: DeliveryResult) -> None:
    """Drop a message whose items changed; its action gets a fresh one (or is cancelled
    when nothing is left), so the customer hears only about what is still open."""
    with transaction.atomic():
        if not _still_held(message.pk, claim):
            return
        message.status = MessageStatus.CANCELLED
        message.note = "withdrawn before sending: its items changed"
        message.claimed_until = None
        message.save(update_fields=["status", "note", "claimed_until"])
        action = message.action
        if action is not None and action.status == ActionStatus.SENDING:
            action.status = ActionStatus.APPROVED if action.needs_approval else ActionStatus.CREATED
            action.save(update_fields=["status"])
    result.withdrawn += 1
    if message.action is not None:
        try:
            message_prepare(action=message.action, today=today)
        except CommsError as exc:
            result.errors.append(str(exc))


def _failed(
    message: Message,
    exc: transport.DeliveryError,
    *,
    claim: Claim,
    now: dt.datetime,
    result: DeliveryResult,
) -> None:
    answer = exc.response
    if exc.code and not answer.startswith(str(exc.code)):
        answer = f"{exc.code} {answer}"
    final = exc.permanent or message.attempts >= settings.INCASSA_MAX_DELIVERY_ATTEMPTS
    with transaction.atomic():
        if not _still_held(message.pk, claim):
            return
        message.last_response = answer[:2000]
        message.claimed_until = None
        if final:
            message.status = MessageStatus.FAILED
            message.next_attempt_at = None
        else:
            message.status = MessageStatus.QUEUED
            delay = settings.INCASSA_RETRY_BACKOFF_SECONDS * 2 ** (message.attempts - 1)
            message.next_attempt_at = now + dt.timedelta(seconds=delay)
        message.save(update_fields=["status", "last_response", "next_attempt_at", "claimed_until"])
        action = message.action
        if action is not None:
            if final:
                action_status_set(action, ActionStatus.FAILED, last_error=answer[:2000])
            else:
                action.status = (
                    ActionStatus.APPROVED if action.needs_approval else ActionStatus.CREATED
                )
                action.last_error = answer[:2000]
                action.save(update_fields=["status", "last_error"])
    if final:
        result.failed += 1
    result.errors.append(f"{message.customer_id}/{message.pk}: {answer}")


def message_retry(*, message: Message, user: Any = None) -> Message:
    """Queue a failed message again (after fixing the address, say)."""
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status != MessageStatus.FAILED:
            raise CommsError(_("Only a failed message can be sent again."))
        message.status = MessageStatus.QUEUED
        message.attempts = 0
        message.next_attempt_at = None
        message.save(update_fields=["status", "attempts", "next_attempt_at"])
        if message.action is not None:
            action_status_set(
                message.action,
                ActionStatus.APPROVED if message.action.needs_approval else ActionStatus.CREATED,
            )
    return message


# --------------------------------------------------------------------------------------
# Letters: the daily print batch
# --------------------------------------------------------------------------------------


def print_batch_create(*, company: Company, day: dt.date, user: Any = None) -> PrintBatch:
    """Prepare the day's letters and merge them, behind a cover list for the post room,
    into one PDF. Registered letters come first, then by postal code."""
    prepared = messages_prepare(company=company, today=day, paper=True, user=user)
    if prepared.errors:
        raise CommsError("; ".join(prepared.errors))
    with transaction.atomic():
        letters = list(
            Message.objects.select_for_update(of=("self",))
            .filter(company=company, status=MessageStatus.TO_PRINT, print_batch__isnull=True)
            .select_related("customer")
        )
        if not letters:
            raise CommsError(_("There are no letters to print."))
        letters.sort(
            key=lambda m: (
                m.medium != Medium.REGISTERED_LETTER,
                m.customer.postal_code,
                m.customer.code,
            )
        )
        pdfs = []
        for message in letters:
            with message.document.open("rb") as handle:
                pdfs.append(handle.read())
        letterhead = company_letterhead(company)
        language = settings.LANGUAGE_CODE
        cover = documents.render_cover(
            [
                documents.CoverEntry(
                    position=n,
                    recipient=_party_of_customer(m.customer),
                    subject=m.subject,
                    pages=m.pages,
                    registered=m.medium == Medium.REGISTERED_LETTER,
                )
                for n, m in enumerate(letters, start=1)
            ],
            language=language,
            letterhead=letterhead,
            day=day,
        )
        merged = documents.merge_print_batch(cover, pdfs)
        batch = PrintBatch(
            company=company,
            day=day,
            letters=len(letters),
            registered=sum(m.medium == Medium.REGISTERED_LETTER for m in letters),
            pages=documents.page_count(merged),
            created_by=recorded_user(user),
        )
        batch.save()
        batch.document.save(f"letters-{day:%Y%m%d}-{batch.pk}.pdf", ContentFile(merged))
        Message.objects.filter(pk__in=[m.pk for m in letters]).update(
            status=MessageStatus.PRINTED, print_batch=batch
        )
    return batch


def print_batch_mark_posted(
    *, batch: PrintBatch, user: Any = None, registered_numbers: dict[int, str] | None = None
) -> PrintBatch:
    """The post room sent the batch: its letters have gone out (their items move on)."""
    with transaction.atomic():
        batch = PrintBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.posted_at is not None:
            raise CommsError(_("This batch is already marked as posted."))
        now = timezone.now()
        for message in batch.messages.select_related("action").filter(status=MessageStatus.PRINTED):
            message.status = MessageStatus.POSTED
            message.sent_at = now
            number = (registered_numbers or {}).get(message.pk)
            if number:
                message.registered_number = number.strip()[:40]
            message.save(update_fields=["status", "sent_at", "registered_number"])
            action = message.action
            if action is not None and action.status in {
                ActionStatus.CREATED,
                ActionStatus.APPROVED,
            }:
                action_status_set(
                    action, ActionStatus.SENT, sent_at=now, done_by=recorded_user(user)
                )
        batch.posted_at = now
        batch.posted_by = recorded_user(user)
        batch.save(update_fields=["posted_at", "posted_by"])
    return batch


def message_registered_number_set(*, message: Message, number: str) -> Message:
    if message.medium != Medium.REGISTERED_LETTER:
        raise CommsError(_("Only a registered letter has a registered mail number."))
    message.registered_number = number.strip()[:40]
    message.save(update_fields=["registered_number"])
    return message


# --------------------------------------------------------------------------------------
# Previews
# --------------------------------------------------------------------------------------


def template_preview(
    *,
    template: MessageTemplate,
    customer: Customer,
    today: dt.date,
    subject: str | None = None,
    body: str | None = None,
    user: Any = None,
    with_pdf: bool = True,
) -> Draft:
    """What a template (or an unsaved text for it) would send to a real customer today,
    listing the customer's open items that are late (or, if none is, those still open)."""
    receivables = selectors.open_overdue_receivables(customer, today=today) or list(
        Receivable.objects.filter(customer=customer, status=ReceivableStatus.OPEN).order_by(
            "due_date", "document_number"
        )[:20]
    )
    if not receivables:
        raise CommsError(_("This customer has no open items to show."))
    unsaved = MessageTemplate(
        company=template.company,
        code=template.code,
        kind=template.kind,
        language=template.language,
        name=template.name,
        subject=template.subject if subject is None else subject,
        body=template.body if body is None else body,
        version=template.version,
    )
    errors = rendering.template_errors(unsaved.subject, unsaved.body, language=unsaved.language)
    if errors:
        raise TemplateInvalid(errors)
    formal = (
        Step.objects.filter(strategy__company=template.company, channel=Channel.REGISTERED_LETTER)
        .filter(Q(template_code=template.code) | Q(template_code="", code=template.code))
        .exists()
    )
    medium = Medium.EMAIL if template.kind == TemplateKind.EMAIL else Medium.LETTER
    if formal and medium == Medium.LETTER:
        medium = Medium.REGISTERED_LETTER
    return draft(
        company=template.company,
        customer=customer,
        receivables=receivables,
        medium=medium,
        template=unsaved,
        today=today,
        language=template.language,
        recipients=customer.email_list,
        step_name=template.name,
        operator=_operator_name(user),
        reference_number=0,
        claims_interest=formal,
        with_pdf=with_pdf,
    )
