"""Delivery of the outbox: exactly once, through crashes on either side of the send."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from incassa.dunning import delivery
from incassa.dunning.models import Action, ActionStatus, ItemStep, ItemStepStatus
from incassa.dunning.services import dunning_run
from incassa.ledger.services import receivables_import

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 26)  # five days before the due date: the pre-due email


@pytest.fixture
def outbox(tmp_path, company):
    company.email = "crediti@acme.it"
    company.iban = "IT60X0542811101000000123456"
    company.save()
    path = tmp_path / "s.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Email;Numero documento;Data scadenza;Importo\n"
        "001;Rossi S.r.l.;amm@rossi.it; FT-1;31/03/2026;1.234,56\n"
        "001;Rossi S.r.l.;amm@rossi.it; FT-2;31/03/2026;100,00\n",
        encoding="utf-8",
    )
    receivables_import(company=company, path=path, as_of=AS_OF)
    dunning_run(company=company, as_of=AS_OF)
    return Action.objects.get()


def test_the_email_lists_the_items_in_the_customers_language(outbox, company):
    result = delivery.outbox_deliver(company=company)
    assert (result.sent, result.failed) == (1, 0)
    message = mail.outbox[0]
    assert message.to == ["amm@rossi.it"]
    assert message.from_email == "crediti@acme.it"
    assert message.reply_to == ["crediti@acme.it"]
    assert message.extra_headers["Message-ID"] == delivery.message_id(outbox)
    # Italian customer: Italian text, amounts and dates.
    assert "Promemoria di pagamento" in message.subject
    assert "FT-1" in message.body and "FT-2" in message.body
    assert "1.234,56\xa0€" in message.body
    assert "31/03/2026" in message.body
    # 1.234,56 + 100,00 = 1.334,56 in total.
    assert "1.334,56\xa0€" in message.body
    assert "IT60X0542811101000000123456" in message.body
    outbox.refresh_from_db()
    assert outbox.status == ActionStatus.SENT
    assert set(ItemStep.objects.values_list("status", flat=True)) == {ItemStepStatus.SENT}


def test_a_server_error_is_retried_and_sent_once(outbox, company, monkeypatch):
    real_send = EmailMessage.send
    calls = {"n": 0}

    def flaky(self, fail_silently=False):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("421 try again later")
        return real_send(self, fail_silently)

    monkeypatch.setattr(EmailMessage, "send", flaky)
    first = delivery.outbox_deliver(company=company)
    assert (first.sent, first.failed) == (0, 1)
    outbox.refresh_from_db()
    assert outbox.status == ActionStatus.CREATED
    assert "421" in outbox.last_error
    second = delivery.outbox_deliver(company=company)
    assert (second.sent, second.retried) == (1, 1)
    third = delivery.outbox_deliver(company=company)
    assert third.sent == 0
    assert len(mail.outbox) == 1


def test_a_crash_after_the_claim_resends_with_the_same_message_id(outbox, company):
    # What a process killed between the claim and the mark leaves behind.
    Action.objects.filter(pk=outbox.pk).update(status=ActionStatus.SENDING, attempts=1)
    result = delivery.outbox_deliver(company=company)
    assert result.sent == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == delivery.message_id(outbox)


def test_a_crash_between_the_run_and_the_delivery_loses_nothing(outbox, company):
    # The run committed its outbox; the delivery never started. Running the day again
    # creates nothing new, and the next delivery sends the one message.
    assert dunning_run(company=company, as_of=AS_OF).actions == 0
    delivery.outbox_deliver(company=company)
    delivery.outbox_deliver(company=company)
    assert len(mail.outbox) == 1


def test_permanent_failure_after_the_last_attempt(outbox, company, monkeypatch):
    def broken(self, fail_silently=False):
        raise OSError("550 mailbox unavailable")

    monkeypatch.setattr(EmailMessage, "send", broken)
    for _ in range(delivery.MAX_ATTEMPTS):
        delivery.outbox_deliver(company=company)
    outbox.refresh_from_db()
    assert outbox.status == ActionStatus.FAILED
    assert outbox.attempts == delivery.MAX_ATTEMPTS
    assert "550" in outbox.last_error


def test_items_paid_before_delivery_are_not_listed(outbox, company, tmp_path):
    path = tmp_path / "paid.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Email;Numero documento;Data scadenza;Importo\n"
        "001;Rossi S.r.l.;amm@rossi.it; FT-1;31/03/2026;1.234,56\n",
        encoding="utf-8",
    )
    # FT-2 paid: closing 1 of 2 open items is 50%, within the default limit.
    receivables_import(company=company, path=path, as_of=AS_OF + dt.timedelta(days=1))
    delivery.outbox_deliver(company=company)
    body = mail.outbox[0].body
    assert "FT-1" in body
    assert "FT-2" not in body
