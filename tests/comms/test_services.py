"""Communications end to end: what each action writes, what reaches a real SMTP server, what
a crash or a failure does, and the print batch of letters."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
from decimal import Decimal
from email import policy
from email.parser import BytesParser

import pytest
from django.db import DatabaseError
from django.utils import timezone
from stdnum import iso11649

from incassa.comms import documents, services, transport
from incassa.comms.models import (
    DeliveryReceipt,
    Medium,
    Message,
    MessageStatus,
    MessageTemplate,
    PrintBatch,
)
from incassa.dunning.models import (
    Action,
    ActionStatus,
    ItemStep,
    ItemStepStatus,
)
from incassa.ledger.models import Receivable, ReceivableStatus
from tests.factories import CustomerFactory, ReceivableFactory, SalesAgentFactory, action_with_items

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 26)
NOW = timezone.make_aware(dt.datetime(2026, 3, 26, 9, 0))


def action_for(*args, **kwargs):
    kwargs.setdefault("day", TODAY)
    return action_with_items(*args, **kwargs)


@pytest.fixture
def rossi(company):
    company.email = "crediti@acme.it"
    company.sender_name = "Acme - Ufficio crediti"
    company.reply_to = "solleciti@acme.it"
    company.save()
    return CustomerFactory(
        company=company, code="001", name="Rossi S.r.l.", emails="amm@rossi.it, cfo@rossi.it"
    )


@pytest.fixture
def reminder(company, rossi):
    """The pre-due email for two items due on 31/03/2026."""
    items = [
        ReceivableFactory(
            company=company,
            customer=rossi,
            document_number="FT-1",
            due_date=dt.date(2026, 3, 31),
            open_amount=Decimal("1234.56"),
        ),
        ReceivableFactory(
            company=company,
            customer=rossi,
            document_number="FT-2",
            due_date=dt.date(2026, 3, 31),
            open_amount=Decimal("100.00"),
        ),
    ]
    return action_for(company, rossi, "pre-due", items)


@pytest.fixture
def smtp(settings, smtp_server):
    """A real SMTP server on loopback, configured as the default account."""
    controller, handler = smtp_server()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{controller.port}?timeout=10"
    return handler


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


# --------------------------------------------------------------------------------------
# What arrives
# --------------------------------------------------------------------------------------


def test_the_email_that_reaches_the_server(reminder, company, smtp):
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert (result.prepared, result.sent, result.failed) == (1, 1, 0)

    (received,) = smtp.received
    assert received.mail_from == "crediti@acme.it"
    assert sorted(received.rcpt_tos) == ["amm@rossi.it", "cfo@rossi.it"]
    email = parse(received.content)
    message = Message.objects.get()
    assert email["Message-ID"] == message.message_id
    assert email["Reply-To"] == "solleciti@acme.it"
    assert email["From"] == "Acme - Ufficio crediti <crediti@acme.it>"
    assert email["X-Incassa-Reference"] == message.payment_reference
    # Italian customer: Italian subject; two items falling due.
    assert email["Subject"] == "Promemoria: 2 scadenze in arrivo - Acme Italia S.p.A."

    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    for body in (text, html):
        assert "FT-1" in body and "FT-2" in body
        assert "1.234,56\xa0€" in body
        assert "31/03/2026" in body
        # 1.234,56 + 100,00 = 1.334,56
        assert "1.334,56\xa0€" in body
    assert "IT60 X054 2811 1010 0000 0123 456" in text
    assert "<table" in html and "<p>" in html

    (attachment,) = list(email.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    assert pdf == message.document.read()
    statement = documents.pdf_text(pdf)
    assert "Rossi S.r.l." in statement and "FT-1" in statement and "1.334,56" in statement

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.last_response.startswith("250")
    assert message.template_version.template.code == "pre-due"
    assert message.template_version.number == 1
    # What went out is kept exactly: the stored raw email is the one the server got.
    assert parse(message.raw.read())["Message-ID"] == email["Message-ID"]
    reminder.refresh_from_db()
    assert reminder.status == ActionStatus.SENT
    assert set(ItemStep.objects.values_list("status", flat=True)) == {ItemStepStatus.SENT}


def test_english_customers_get_english(company, rossi, sent_mail):
    rossi.language = "en"
    rossi.save()
    item = ReceivableFactory(company=company, customer=rossi, due_date=dt.date(2026, 3, 31))
    action_for(company, rossi, "pre-due", [item])
    services.outbox_deliver(company=company, today=TODAY, now=NOW)
    (email,) = sent_mail()
    assert email["Subject"].startswith("Reminder: 1 payment falling due")
    assert "Dear Rossi S.r.l." in email.get_body(("plain",)).get_content()


def test_the_agent_notice_goes_to_the_agent(company, rossi, sent_mail):
    rossi.sales_agent = SalesAgentFactory(company=company, name="Mario", email="mario@agenti.it")
    rossi.save()
    item = ReceivableFactory(company=company, customer=rossi, due_date=dt.date(2026, 3, 20))
    action_for(company, rossi, "agent-notice", [item])
    services.outbox_deliver(company=company, today=TODAY, now=NOW)
    (email,) = sent_mail()
    assert email["To"] == "mario@agenti.it"
    assert "Rossi S.r.l." in email["Subject"]


def test_a_changed_template_is_a_new_version_and_the_message_records_it(reminder, company):
    template = MessageTemplate.objects.get(
        company=company, code="pre-due", kind="email", language="it"
    )
    services.template_update(
        template=template, subject="Scadenze {{ customer.code }}", body="{{ items_table }}"
    )
    services.outbox_deliver(company=company, today=TODAY, now=NOW)
    message = Message.objects.get()
    assert message.subject == "Scadenze 001"
    assert message.template_version.number == 2
    assert template.versions.count() == 2


def test_a_template_that_does_not_render_is_refused(company):
    template = MessageTemplate.objects.filter(company=company).first()
    with pytest.raises(services.TemplateInvalid) as excinfo:
        services.template_update(
            template=template, subject="ok", body="{{ customer.name }\n{{ unknown_thing }}"
        )
    assert excinfo.value.errors
    template.refresh_from_db()
    assert template.version == 1


def test_a_new_company_gets_every_default_text(company):
    # 4 message steps: pre-due, agent-notice, first-reminder, formal-notice; every one has
    # an email text, all but the agent notice a letter text: 7 per language, 2 languages.
    assert MessageTemplate.objects.filter(company=company).count() == 14


# --------------------------------------------------------------------------------------
# Failures, retries, crashes
# --------------------------------------------------------------------------------------


def test_a_temporary_failure_is_retried_with_backoff(reminder, company, smtp, settings):
    settings.INCASSA_RETRY_BACKOFF_SECONDS = 300
    smtp.data_reply = "451 4.3.0 try again later"
    first = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert (first.sent, first.failed) == (0, 0)
    message = Message.objects.get()
    assert message.status == MessageStatus.QUEUED
    assert "451" in message.last_response and "try again later" in message.last_response
    # First retry 5 minutes after the first attempt.
    assert message.next_attempt_at == NOW + dt.timedelta(seconds=300)

    smtp.data_reply = None
    early = services.outbox_deliver(company=company, today=TODAY, now=NOW + dt.timedelta(minutes=4))
    assert (early.sent, early.deferred) == (0, 1)
    on_time = services.outbox_deliver(
        company=company, today=TODAY, now=NOW + dt.timedelta(minutes=5)
    )
    assert (on_time.sent, on_time.retried) == (1, 1)
    assert len(smtp.received) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)


def test_the_backoff_doubles_and_the_last_attempt_is_final(reminder, company, smtp, settings):
    settings.INCASSA_RETRY_BACKOFF_SECONDS = 60
    settings.INCASSA_MAX_DELIVERY_ATTEMPTS = 3
    smtp.data_reply = "421 4.7.0 busy"
    now = NOW
    waits = []
    for _attempt in range(3):
        services.outbox_deliver(company=company, today=TODAY, now=now)
        message = Message.objects.get()
        if message.next_attempt_at:
            waits.append((message.next_attempt_at - now).total_seconds())
            now = message.next_attempt_at
    # 60 s, then 120 s; the third failure is final.
    assert waits == [60, 120]
    assert message.status == MessageStatus.FAILED
    reminder.refresh_from_db()
    assert reminder.status == ActionStatus.FAILED
    assert "421" in reminder.last_error


def test_a_permanent_failure_fails_at_once_with_the_servers_answer(reminder, company, smtp):
    smtp.data_reply = "550 5.1.1 mailbox unavailable"
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert result.failed == 1
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.last_response == "550 5.1.1 mailbox unavailable"
    assert message.attempts == 1
    # Fixing the cause and retrying sends it.
    smtp.data_reply = None
    services.message_retry(message=message)
    assert services.outbox_deliver(company=company, today=TODAY, now=NOW).sent == 1
    assert len(smtp.received) == 1


def test_a_crash_after_the_server_accepted_never_sends_twice(reminder, company, smtp, monkeypatch):
    real = services.actions_status_set

    def crash(*args, **kwargs):
        raise RuntimeError("power cut after the server said 250")

    # Marking the batch sent fails: the receipt was committed before, on its own.
    monkeypatch.setattr(services, "actions_status_set", crash)
    with pytest.raises(RuntimeError):
        services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert len(smtp.received) == 1
    message = Message.objects.get()
    # The message was never marked sent: the failed delivery handed it back to the queue...
    assert message.status == MessageStatus.QUEUED
    # ...but the server's acceptance was committed on its own before.
    assert message.receipt.response.startswith("250")

    monkeypatch.setattr(services, "actions_status_set", real)
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    # The retry finds the receipt and sends nothing.
    assert (result.sent, result.duplicates_avoided) == (1, 1)
    assert len(smtp.received) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.last_response.startswith("250")


def test_a_crash_before_sending_sends_the_same_bytes_later(reminder, company, smtp):
    # A delivery claimed the message and died before talking to the server.
    services.messages_prepare(company=company, today=TODAY, paper=False)
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING, attempts=1)
    services.outbox_deliver(company=company, today=TODAY, now=NOW)
    (received,) = smtp.received
    assert parse(received.content)["Message-ID"] == message.message_id
    assert Message.objects.count() == 1


def test_a_message_whose_item_was_paid_is_rewritten(reminder, company, sent_mail):
    services.messages_prepare(company=company, today=TODAY, paper=False)
    first = Message.objects.get()
    assert first.item_count == 2
    # FT-2 is paid before the delivery runs.
    Receivable.objects.filter(document_number="FT-2").update(status=ReceivableStatus.CLOSED)
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert (result.withdrawn, result.sent) == (1, 1)
    first.refresh_from_db()
    assert first.status == MessageStatus.CANCELLED
    (email,) = sent_mail()
    text = email.get_body(("plain",)).get_content()
    assert "FT-1" in text and "FT-2" not in text


def test_a_rejected_action_never_goes_out(reminder, company, sent_mail):
    services.messages_prepare(company=company, today=TODAY, paper=False)
    Action.objects.filter(pk=reminder.pk).update(status=ActionStatus.REJECTED)
    services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert sent_mail() == []
    assert Message.objects.get().status == MessageStatus.CANCELLED


# --------------------------------------------------------------------------------------
# Several workers: claims, leases, receipts (with real processes: test_delivery_workers.py)
# --------------------------------------------------------------------------------------

OTHER = "other-host:4242:1"


@pytest.fixture
def three_emails(company):
    """Three queued emails, to three customers, prepared as a delivery would."""
    for n in range(1, 4):
        customer = CustomerFactory(company=company, code=f"00{n}", emails=f"amm@c{n}.it")
        item = ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 31))
        action_for(company, customer, "pre-due", [item])
    services.messages_prepare(company=company, today=TODAY, paper=False)
    return list(Message.objects.order_by("id"))


def test_the_worker_id_names_host_process_and_thread():
    assert services.worker_id() == f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def test_claims_take_a_batch_and_never_a_message_already_claimed(company, three_emails, settings):
    settings.INCASSA_DELIVERY_BATCH = 2
    first, batch = services._claim_batch(company, now=NOW, worker="a:1:1", exclude=set())
    # A batch is 2 messages: the first two of the three, by id.
    assert [pk for pk, _medium in batch] == [m.pk for m in three_emails[:2]]
    second, batch = services._claim_batch(company, now=NOW, worker="b:2:2", exclude=set())
    assert [pk for pk, _medium in batch] == [three_emails[2].pk]
    assert services._claim_batch(company, now=NOW, worker="c:3:3", exclude=set())[1] == []
    claimed = list(
        Message.objects.order_by("id").values_list("status", "claimed_by", "claimed_until")
    )
    assert claimed == [
        (MessageStatus.SENDING, "a:1:1", first.until),
        (MessageStatus.SENDING, "a:1:1", first.until),
        (MessageStatus.SENDING, "b:2:2", second.until),
    ]
    # The default lease: 5 minutes from the claim.
    assert first.lease == dt.timedelta(minutes=5)


def test_another_workers_live_lease_is_respected_an_ended_one_is_not(reminder, company, smtp):
    services.messages_prepare(company=company, today=TODAY, paper=False)
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING,
        claimed_by=OTHER,
        claimed_until=timezone.now() + dt.timedelta(minutes=5),
    )
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert result.sent == 0 and smtp.received == []
    message.refresh_from_db()
    assert (message.status, message.claimed_by) == (MessageStatus.SENDING, OTHER)

    # The other worker died: once its lease has ended, the message is taken and sent once.
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert result.sent == 1 and len(smtp.received) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert (message.claimed_by, message.claimed_until) == (services.worker_id(), None)
    assert message.receipt.worker == services.worker_id()
    assert message.receipt.response == message.last_response


def test_a_dead_workers_receipt_is_enough_to_record_the_message_as_sent(reminder, company, smtp):
    services.messages_prepare(company=company, today=TODAY, paper=False)
    message = Message.objects.get()
    # A worker on another machine: the server accepted the message, the receipt was
    # committed, and the worker was killed before it could mark the message sent.
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING,
        attempts=1,
        claimed_by=OTHER,
        claimed_until=timezone.now() - dt.timedelta(seconds=1),
    )
    DeliveryReceipt.objects.create(message=message, response="250 2.0.0 queued as 77", worker=OTHER)

    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert (result.sent, result.duplicates_avoided, result.retried) == (1, 1, 1)
    assert smtp.received == []
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.last_response == "250 2.0.0 queued as 77"
    # Claimed by the dead worker, then by this one.
    assert message.attempts == 2
    reminder.refresh_from_db()
    assert reminder.status == ActionStatus.SENT


def test_the_local_journal_covers_a_receipt_the_database_refused(
    reminder, company, smtp, monkeypatch
):
    def database_gone(*args, **kwargs):
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "_record_receipt", database_gone)  # its insert fails
    with pytest.raises(DatabaseError):
        services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert len(smtp.received) == 1
    message = Message.objects.get()
    assert message.status == MessageStatus.QUEUED
    assert not DeliveryReceipt.objects.exists()

    monkeypatch.undo()
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    # The journal file on this machine knew: not sent again, and the receipt is written now.
    assert (result.sent, result.duplicates_avoided) == (1, 1)
    assert len(smtp.received) == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.receipt.response.startswith("250")


def test_a_worker_whose_lease_ended_changes_nothing(reminder, company, smtp, settings):
    services.messages_prepare(company=company, today=TODAY, paper=False)
    settings.INCASSA_DELIVERY_LEASE_SECONDS = 0
    late, batch = services._claim_batch(company, now=NOW, worker="late:1:1", exclude=set())
    settings.INCASSA_DELIVERY_LEASE_SECONDS = 300
    _taker, taken = services._claim_batch(company, now=NOW, worker="taker:2:2", exclude=set())
    assert taken == batch  # the late worker's lease has ended: the message is taken over

    # The late worker wakes up: it can neither start the message nor hand it back.
    ((pk, _medium),) = batch
    account = transport.configured_account()
    with transport.open_transport(account) as sender:
        services._deliver_one(
            pk, sender, claim=late, now=NOW, today=TODAY, result=services.DeliveryResult()
        )
    services._release([pk], late)
    assert smtp.received == []
    message = Message.objects.get()
    assert (message.status, message.claimed_by, message.attempts) == (
        MessageStatus.SENDING,
        "taker:2:2",
        0,
    )


def test_a_lease_running_short_hands_back_the_rest_of_the_batch(
    company, three_emails, sent_mail, settings, monkeypatch
):
    # A 1 ms lease: after the first message of a batch, less than half of it is left.
    settings.INCASSA_DELIVERY_LEASE_SECONDS = 0.001
    claim_batch = services._claim_batch
    sizes = []

    def counting(*args, **kwargs):
        claim, batch = claim_batch(*args, **kwargs)
        sizes.append(len(batch))
        return claim, batch

    monkeypatch.setattr(services, "_claim_batch", counting)
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    # Each round sends one message and hands the others back: 3 claimed, then 2, then 1,
    # then none left.
    assert sizes == [3, 2, 1, 0]
    assert result.sent == 3
    assert sorted(email["Message-ID"] for email in sent_mail()) == sorted(
        m.message_id for m in three_emails
    )
    assert set(Message.objects.values_list("status", "attempts")) == {(MessageStatus.SENT, 1)}


# --------------------------------------------------------------------------------------
# Letters
# --------------------------------------------------------------------------------------


def test_a_customer_without_email_gets_a_letter_and_the_action_says_so(company, rossi):
    rossi.emails = ""
    rossi.address, rossi.postal_code, rossi.city = "Via Verdi 2", "10121", "Torino"
    rossi.save()
    item = ReceivableFactory(
        company=company, customer=rossi, document_number="FT-9", due_date=dt.date(2026, 3, 31)
    )
    action = action_for(company, rossi, "pre-due", [item])
    assert services.outbox_deliver(company=company, today=TODAY, now=NOW).prepared == 0
    batch = services.print_batch_create(company=company, day=TODAY)
    action.refresh_from_db()
    assert action.channel == "letter"
    assert "no email" in action.note
    message = Message.objects.get()
    assert (message.medium, message.status) == (Medium.LETTER, MessageStatus.PRINTED)
    text = documents.pdf_text(batch.document.read())
    assert "Rossi S.r.l." in text and "Via Verdi 2" in text and "FT-9" in text


def test_the_print_batch_and_posting(company, rossi):
    others = [
        CustomerFactory(company=company, code=f"00{n}", name=f"Cliente {n}", postal_code=cap)
        for n, cap in ((2, "50100"), (3, "00100"))
    ]
    for customer in [rossi, *others]:
        item = ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 1))
        action_for(company, customer, "first-reminder", [item])
    batch = services.print_batch_create(company=company, day=TODAY)
    assert (batch.letters, batch.registered) == (3, 0)
    letters = list(Message.objects.filter(print_batch=batch))
    # The merged PDF is the cover list followed by every letter.
    cover_pages = batch.pages - sum(m.pages for m in letters)
    assert cover_pages >= 1
    assert documents.page_count(batch.document.read()) == batch.pages
    with pytest.raises(services.CommsError):
        services.print_batch_create(company=company, day=TODAY)  # nothing left to print

    services.print_batch_mark_posted(batch=batch)
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.POSTED}
    assert set(Action.objects.values_list("status", flat=True)) == {ActionStatus.SENT}
    with pytest.raises(services.CommsError):
        services.print_batch_mark_posted(batch=PrintBatch.objects.get())


def test_the_formal_notice_claims_interest_and_compensation(company, rossi):
    """EUR 1,000.00 due 31/01/2025, notice dated 31/12/2025 (shared/domain/interest-rates.md):
    01/02-30/06/2025, 150 days at 11.15% = 45.82; 01/07-31/12/2025, 184 days at 10.15% =
    51.17; interest 96.99, compensation 40.00 (one invoice), total 1,136.99."""
    rossi.emails = ""
    rossi.address, rossi.postal_code, rossi.city = "Via Verdi 2", "10121", "Torino"
    rossi.save()
    day = dt.date(2025, 12, 31)
    item = ReceivableFactory(
        company=company,
        customer=rossi,
        document_number="FT-2025/7",
        due_date=dt.date(2025, 1, 31),
        open_amount=Decimal("1000.00"),
    )
    action = action_for(company, rossi, "formal-notice", [item], day=day)
    # Waiting for approval: not printed.
    with pytest.raises(services.CommsError):
        services.print_batch_create(company=company, day=day)
    Action.objects.filter(pk=action.pk).update(status=ActionStatus.APPROVED)
    batch = services.print_batch_create(company=company, day=day)
    assert batch.registered == 1
    message = Message.objects.get()
    assert message.medium == Medium.REGISTERED_LETTER
    assert (message.interest, message.compensation) == (Decimal("96.99"), Decimal("40.00"))
    text = documents.pdf_text(message.document.read())
    assert "Diffida ad adempiere" in text
    assert "96,99" in text and "40,00" in text and "1.136,99" in text
    assert "D.Lgs. 9 ottobre 2002, n. 231" in text
    assert "15 (quindici) giorni" in text
    # The payment reference is a valid ISO 11649 creditor reference.
    assert iso11649.is_valid(message.payment_reference)

    services.message_registered_number_set(message=message, number=" 15123456789-0 ")
    message.refresh_from_db()
    assert message.registered_number == "15123456789-0"


def test_the_formal_notice_goes_by_pec_when_the_customer_has_one(company, rossi, settings):
    settings.PEC_EMAIL_URL = "memory://?from=acme@pec.acme.it"
    rossi.pec = "rossi@pec.rossi.it"
    rossi.save()
    item = ReceivableFactory(
        company=company,
        customer=rossi,
        due_date=dt.date(2026, 1, 31),
        open_amount=Decimal("500.00"),
    )
    action_for(company, rossi, "formal-notice", [item], approved=True)
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert result.sent == 1
    from incassa.comms.transport import MEMORY_OUTBOX

    (entry,) = MEMORY_OUTBOX
    assert entry["recipients"] == ["rossi@pec.rossi.it"]
    assert entry["sender"] == "acme@pec.acme.it"
    email = parse(entry["message"])
    (attachment,) = list(email.iter_attachments())
    assert "Diffida ad adempiere" in documents.pdf_text(attachment.get_content())
    assert Message.objects.get().medium == Medium.PEC


def test_preview_on_a_real_customer_changes_nothing(company, rossi):
    ReceivableFactory(company=company, customer=rossi, due_date=dt.date(2026, 3, 1))
    template = MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="letter", language="it"
    )
    draft = services.template_preview(
        template=template, customer=rossi, today=TODAY, body="Prova {{ total.open }}"
    )
    assert draft.text == "Prova 100,00\xa0€\n"
    assert draft.pdf.startswith(b"%PDF")
    assert Message.objects.count() == 0


# --------------------------------------------------------------------------------------
# Sharing a day's outbox among workers
# --------------------------------------------------------------------------------------


@pytest.fixture
def five_actions(company):
    """Five pre-due email actions, one per customer, not yet written."""
    actions = []
    for n in range(1, 6):
        customer = CustomerFactory(company=company, code=f"S{n}", emails=f"amm@s{n}.it")
        item = ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 31))
        actions.append(action_for(company, customer, "pre-due", [item]))
    return actions


def test_shards_split_the_writing_of_the_messages_without_overlap(company, five_actions):
    first = services.messages_prepare(company=company, today=TODAY, paper=False, shard=(0, 2))
    second = services.messages_prepare(company=company, today=TODAY, paper=False, shard=(1, 2))
    # Shard 0 of 2 takes the actions with an even id, shard 1 the odd ones: 5 in all.
    evens = sum(1 for a in five_actions if a.pk % 2 == 0)
    assert (first.prepared, second.prepared) == (evens, 5 - evens)
    assert Message.objects.count() == 5
    assert set(Message.objects.values_list("action_id", flat=True)) == {a.pk for a in five_actions}


def test_outbox_pending_counts_what_is_left_to_write_and_to_send(company, five_actions, smtp):
    # Five actions, none written: five to do.
    assert services.outbox_pending(company, today=TODAY, now=NOW) == 5
    services.messages_prepare(company=company, today=TODAY, paper=False, shard=(0, 5))
    # Written or not, each is still to send: still five.
    assert services.outbox_pending(company, today=TODAY, now=NOW) == 5
    assert services.outbox_deliver(company=company, today=TODAY, now=NOW).sent == 5
    assert services.outbox_pending(company, today=TODAY, now=NOW) == 0


def test_a_batch_is_marked_sent_with_its_actions_steps_and_audit_entries(
    company, three_emails, smtp
):
    from incassa.audit.models import AuditEntry

    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert (result.sent, result.duplicates_avoided) == (3, 0)
    assert set(Message.objects.values_list("status", "attempts")) == {(MessageStatus.SENT, 1)}
    assert set(Action.objects.values_list("status", flat=True)) == {ActionStatus.SENT}
    assert set(ItemStep.objects.values_list("status", flat=True)) == {ItemStepStatus.SENT}
    for message in Message.objects.all():
        assert message.action.sent_at == message.sent_at
        assert message.last_response.startswith("250")
    # One message_sent entry per message, as saving them one by one wrote.
    entries = AuditEntry.objects.filter(action="message_sent").order_by("object_id")
    assert [e.object_id for e in entries] == sorted(str(m.pk) for m in three_emails)
    assert all(e.after["status"] == MessageStatus.SENT for e in entries)
    assert all(e.company_id == company.pk for e in entries)


def test_a_message_whose_item_was_paid_in_the_batch_is_withdrawn(company, three_emails, smtp):
    paid = three_emails[1].items.get().receivable
    Receivable.objects.filter(pk=paid.pk).update(status=ReceivableStatus.CLOSED)
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    # The other two go out; the paid one's message is withdrawn and its action cancelled
    # (nothing is left to ask).
    assert (result.sent, result.withdrawn) == (2, 1)
    assert len(smtp.received) == 2
    three_emails[1].refresh_from_db()
    assert three_emails[1].status == MessageStatus.CANCELLED


# --------------------------------------------------------------------------------------
# Writing a chunk of messages
# --------------------------------------------------------------------------------------


@pytest.mark.skipif(
    "os.environ.get('DATABASE_URL', '').startswith('postgres')",
    reason="PostgreSQL renders with the actions locked: nobody can change them meanwhile",
)
def test_an_action_cancelled_while_its_message_was_rendered_is_not_written(
    company, five_actions, monkeypatch
):
    # SQLite renders a chunk before taking the write lock. Somebody cancels the second
    # action meanwhile: its message is dropped with its files, the four others are stored.
    draft_of = services._draft_of
    cancelled = five_actions[1]

    def draft_and_cancel(plan, *args, **kwargs):
        if plan.action.pk == cancelled.pk:
            Action.objects.filter(pk=cancelled.pk).update(status=ActionStatus.CANCELLED)
        return draft_of(plan, *args, **kwargs)

    monkeypatch.setattr(services, "_draft_of", draft_and_cancel)
    result = services.messages_prepare(company=company, today=TODAY, paper=False)

    assert (result.prepared, result.busy, result.errors) == (4, 1, [])
    written = list(Message.objects.all())
    assert {m.action_id for m in written} == {a.pk for a in five_actions} - {cancelled.pk}
    # Each stored message has its email and its PDF on disk, and nothing else is there.
    folder = os.path.dirname(written[0].raw.path)
    expected = {os.path.basename(f.path) for m in written for f in (m.raw, m.document)}
    assert set(os.listdir(folder)) == expected


def test_reserved_message_ids_are_never_given_again(company, rossi):
    reserved = services._message_ids(3)
    assert reserved == list(range(reserved[0], reserved[0] + 3))
    later = Message.objects.create(company=company, customer=rossi, medium=Medium.EMAIL)
    assert later.pk > reserved[-1]
