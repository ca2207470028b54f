"""A company's own mail accounts: stored with an encrypted password, chosen over the
installation's (EMAIL_URL, PEC_EMAIL_URL), each company's messages through its own server,
checked by logging in, and kept out of the audit trail's values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from email import policy
from email.parser import BytesParser

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from incassa.audit.models import AuditEntry
from incassa.comms import accounts, services, transport
from incassa.comms.models import (
    AccountKind,
    CompanyMailAccount,
    Medium,
    Message,
    MessageStatus,
    Security,
)
from tests.comms.conftest import authenticator, free_port
from tests.factories import CompanyFactory, CustomerFactory, ReceivableFactory, action_with_items

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 26)
NOW = timezone.make_aware(dt.datetime(2026, 3, 26, 9, 0))
PASSWORD = "p@ss:w0rd"  # what tests.comms.conftest.authenticator accepts for "mario"


@pytest.fixture(autouse=True)
def english():
    """The messages are checked in English."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def secrets_key(settings):
    settings.INCASSA_SECRETS_KEY = Fernet.generate_key().decode()


def own_account(company, kind=AccountKind.EMAIL, **values) -> CompanyMailAccount:
    password = values.pop("password", "")
    fields = {
        "host": "127.0.0.1",
        "port": 25,
        "security": Security.NONE,
        "username": "",
        "enabled": True,
    }
    fields.update(values)
    return accounts.mail_account_save(company=company, kind=kind, values=fields, password=password)


def reminder_for(company, code="001", email="amm@rossi.it"):
    """A pre-due email for one item of 100.00 due on 31/03/2026."""
    customer = CustomerFactory(company=company, code=code, emails=email)
    item = ReceivableFactory(
        company=company,
        customer=customer,
        due_date=dt.date(2026, 3, 31),
        open_amount=Decimal("100.00"),
    )
    return action_with_items(company, customer, "pre-due", [item], day=TODAY)


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


# --------------------------------------------------------------------------------------
# The model and its password
# --------------------------------------------------------------------------------------


def test_the_password_is_stored_encrypted(company):
    account = own_account(company, username="mario", password=PASSWORD)
    stored = CompanyMailAccount.objects.values_list("password", flat=True).get()
    assert PASSWORD not in stored and stored
    assert account.get_password() == PASSWORD
    assert PASSWORD not in str(account) and PASSWORD not in repr(account)
    assert accounts.password_state(account) == "set"


def test_an_empty_password_keeps_the_stored_one_and_clear_removes_it(company):
    own_account(company, username="mario", password=PASSWORD)
    kept = own_account(company, username="mario", host="smtp.acme.it")
    assert kept.get_password() == PASSWORD and kept.host == "smtp.acme.it"
    assert CompanyMailAccount.objects.count() == 1  # one account per company and kind
    cleared = accounts.mail_account_save(
        company=company, kind=AccountKind.EMAIL, values={}, clear_password=True
    )
    assert cleared.password == "" and accounts.password_state(cleared) == "not set"


def test_wrong_values_are_refused(company):
    with pytest.raises(ValidationError) as excinfo:
        own_account(company, port=70000, from_address="not an address")
    assert set(excinfo.value.message_dict) == {"port", "from_address"}
    assert not CompanyMailAccount.objects.exists()


def test_a_rotated_key_makes_the_password_unreadable_in_plain_words(company, settings):
    account = own_account(company, username="mario", password=PASSWORD)
    settings.INCASSA_SECRETS_KEY = Fernet.generate_key().decode()
    account.refresh_from_db()
    assert accounts.password_state(account) == "unreadable"
    with pytest.raises(accounts.AccountError, match="Enter the password again"):
        accounts.account_for(company, "default")


def test_the_audit_trail_records_that_the_password_changed_not_its_value(company):
    account = own_account(company, username="mario", password=PASSWORD)
    ciphertext = account.password
    accounts.mail_account_save(
        company=company, kind=AccountKind.EMAIL, values={}, password="nuova-segreta"
    )
    entries = list(AuditEntry.objects.filter(object_type="comms.companymailaccount").order_by("id"))
    assert [e.action for e in entries] == ["create", "update"]
    created, changed = entries
    assert created.after["password"] == "***" and created.after["host"] == "127.0.0.1"
    assert changed.before == {"password": "***"} and changed.after == {"password": "***"}
    for entry in entries:
        text = f"{entry.before} {entry.after}"
        assert PASSWORD not in text and "nuova-segreta" not in text and ciphertext not in text
    assert created.company_id == company.pk


# --------------------------------------------------------------------------------------
# Which account
# --------------------------------------------------------------------------------------


def test_the_companys_enabled_account_wins_over_the_environment(company, settings):
    settings.EMAIL_URL = "smtp://env.example.it:25"
    assert accounts.account_for(company, "default").host == "env.example.it"
    own_account(company, host="smtp.acme.it", port=587, security=Security.STARTTLS)
    mine = accounts.account_for(company, "default")
    assert (mine.scheme, mine.host, mine.port) == ("smtp+tls", "smtp.acme.it", 587)
    # Turned off: the installation's again.
    own_account(company, host="smtp.acme.it", enabled=False)
    assert accounts.account_for(company, "default").host == "env.example.it"
    # Another company is not touched by this one's account.
    other = CompanyFactory(code="other")
    assert accounts.account_for(other, "default").host == "env.example.it"


def test_security_gives_the_transports_scheme(company):
    for security, scheme in [
        (Security.STARTTLS, "smtp+tls"),
        (Security.SSL_TLS, "smtps"),
        (Security.NONE, "smtp"),
    ]:
        own_account(company, security=security)
        assert accounts.account_for(company, "default").scheme == scheme


def test_a_pec_account_of_the_company_makes_formal_notices_go_by_pec(company, settings):
    settings.PEC_EMAIL_URL = ""
    assert not accounts.has_account(company, "pec")
    own_account(company, AccountKind.PEC, host="smtps.pec.aruba.it", port=465)
    assert accounts.has_account(company, "pec")
    assert not accounts.has_account(CompanyFactory(code="other"), "pec")


def test_sender_and_reply_to(company):
    company.email, company.sender_name, company.reply_to = "crediti@acme.it", "Acme", ""
    company.pec = "acme@pec.it"
    company.save()
    # Without an own account: the company's data, as before.
    assert accounts.sender_for(company, Medium.EMAIL) == accounts.Sender(
        "Acme", "crediti@acme.it", "crediti@acme.it"
    )
    own_account(
        company,
        from_address="solleciti@acme.it",
        from_name="Acme - Ufficio crediti",
        reply_to="risposte@acme.it",
    )
    assert accounts.sender_for(company, Medium.EMAIL) == accounts.Sender(
        "Acme - Ufficio crediti", "solleciti@acme.it", "risposte@acme.it"
    )
    # A PEC account without a sender address sends as the company's PEC; no reply-to.
    own_account(company, AccountKind.PEC, username="acme@pec.it")
    assert accounts.sender_for(company, Medium.PEC) == accounts.Sender("Acme", "acme@pec.it", "")


# --------------------------------------------------------------------------------------
# Delivery through each company's own account
# --------------------------------------------------------------------------------------


def test_two_companies_messages_go_through_their_own_servers(smtp_server, settings):
    settings.EMAIL_URL = "memory://"  # the installation's account
    server_a, received_a = smtp_server(authenticator=authenticator, auth_require_tls=False)
    server_b, received_b = smtp_server()
    acme = CompanyFactory(code="acme", email="crediti@acme.it")
    beta = CompanyFactory(code="beta", email="crediti@beta.it")
    gamma = CompanyFactory(code="gamma", email="crediti@gamma.it")
    own_account(
        acme,
        port=server_a.port,
        username="mario",
        password=PASSWORD,
        from_address="solleciti@acme.it",
    )
    own_account(beta, port=server_b.port)
    for company in (acme, beta, gamma):
        reminder_for(company)
        result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
        assert (result.sent, result.failed, result.errors) == (1, 0, [])

    # Acme's went through server A, logged in as mario, from its account's address.
    (a,) = received_a.received
    assert a.auth == "mario" and a.mail_from == "solleciti@acme.it"
    assert parse(a.content)["From"].addresses[0].addr_spec == "solleciti@acme.it"
    # Beta's through server B, from the company's own address (the account sets none).
    (b,) = received_b.received
    assert b.auth is None and b.mail_from == "crediti@beta.it"
    # Gamma has no account: the installation's (the memory outbox).
    (g,) = transport.MEMORY_OUTBOX
    assert g["sender"] == "crediti@gamma.it"
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 3


def test_the_formal_notice_goes_by_the_companys_own_pec(company, smtp_server, settings):
    settings.PEC_EMAIL_URL = ""
    server, received = smtp_server()
    own_account(company, AccountKind.PEC, port=server.port, from_address="acme@pec.acme.it")
    customer = CustomerFactory(company=company, code="001", pec="rossi@pec.rossi.it")
    item = ReceivableFactory(
        company=company,
        customer=customer,
        due_date=dt.date(2026, 1, 31),
        open_amount=Decimal("500.00"),
    )
    action_with_items(company, customer, "formal-notice", [item], day=TODAY, approved=True)
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert result.sent == 1
    (pec,) = received.received
    assert pec.mail_from == "acme@pec.acme.it" and pec.rcpt_tos == ["rossi@pec.rossi.it"]
    assert Message.objects.get().medium == Medium.PEC
    assert transport.MEMORY_OUTBOX == []  # nothing through the installation's account


def test_an_unreadable_password_keeps_the_messages_queued_and_says_why(company, settings):
    own_account(company, port=free_port(), username="mario", password=PASSWORD)
    reminder_for(company)
    settings.INCASSA_SECRETS_KEY = Fernet.generate_key().decode()
    result = services.outbox_deliver(company=company, today=TODAY, now=NOW)
    assert (result.prepared, result.sent, result.failed) == (1, 0, 0)
    assert "Enter the password again" in result.errors[0]
    # Not sent from another account instead, and still waiting to go.
    assert transport.MEMORY_OUTBOX == []
    assert Message.objects.get().status == MessageStatus.QUEUED


# --------------------------------------------------------------------------------------
# Checking the connection
# --------------------------------------------------------------------------------------


def test_check_logs_in(company, smtp_server):
    server, received = smtp_server(authenticator=authenticator, auth_require_tls=False)
    own_account(company, port=server.port, username="mario", password=PASSWORD)
    checked = accounts.mail_account_check(company=company, kind=AccountKind.EMAIL)
    assert checked == f"smtp://mario@127.0.0.1:{server.port}: connected, logged in as mario"
    assert received.received == []  # nothing sent


def test_check_reports_the_servers_refusal(company, smtp_server):
    server, _ = smtp_server(authenticator=authenticator, auth_require_tls=False)
    own_account(company, port=server.port, username="mario", password="sbagliata")
    with pytest.raises(accounts.AccountError, match=r"^535 "):
        accounts.mail_account_check(company=company, kind=AccountKind.EMAIL)


def test_check_a_disabled_account_before_turning_it_on(company, smtp_server):
    server, _ = smtp_server()
    own_account(company, port=server.port, enabled=False)
    assert "connected" in accounts.mail_account_check(company=company, kind=AccountKind.EMAIL)


def test_check_the_installations_account_or_say_there_is_none(company, settings):
    settings.EMAIL_URL = "memory://"
    checked = accounts.mail_account_check(company=company, kind=AccountKind.EMAIL)
    assert checked == "memory://: nothing to connect to"
    settings.PEC_EMAIL_URL = ""
    with pytest.raises(accounts.AccountError, match="no account to check"):
        accounts.mail_account_check(company=company, kind=AccountKind.PEC)
