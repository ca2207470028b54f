"""The company's settings: data and letterhead, the scores' weights, the mail accounts
(the company's own with a write-only password, tested against a real SMTP server on
loopback), the calendar of days off, and who may see and change them."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.contrib.messages import get_messages
from django.urls import reverse

from incassa.comms import accounts, calendars
from incassa.comms.models import AccountKind, CompanyClosure, CompanyMailAccount
from incassa.credit.models import ScoringSettings
from incassa.ledger.models import Role
from tests.comms.conftest import Handler, RecordingController, authenticator, free_port
from tests.factories import CompanyFactory
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

SETTINGS = reverse("web:settings")


def company_data(company, **changes) -> dict:
    data = {
        "op": "company",
        "name": company.name,
        "vat_number": company.vat_number,
        "fiscal_code": company.fiscal_code,
        "iban": company.iban,
        "address": "Via Roma 1",
        "postal_code": "20121",
        "city": "Milano",
        "province": "MI",
        "country": "IT",
        "email": "crediti@acme.it",
        "sender_name": "Ufficio crediti",
        "reply_to": "",
        "pec": "acme@pec.it",
        "phone": "",
        "website": "",
        "signature": "Ufficio crediti",
        "letter_footer": "Acme Italia S.p.A. · Capitale sociale 1.000.000 €",
        "max_close_share": "0.5",
    }
    data.update(changes)
    return data


def weights(**changes) -> dict:
    # The defaults: reliability 30/20/10/15/10/5/5/5, criticality 40/10/20/20/10.
    data = {
        "op": "weights",
        "r_days_late": "30", "r_late_share": "20", "r_trend": "10", "r_overdue_share": "15",
        "r_seniority": "10", "r_incidents": "5", "r_limit_breach": "5", "r_external": "5",
        "k_days_overdue": "40", "k_amount_vs_customer": "10", "k_amount_vs_portfolio": "20",
        "k_reliability": "20", "k_seniority": "10",
        "exposure_includes_not_due": "on",
    }  # fmt: skip
    data.update(changes)
    return data


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_letterhead_is_saved(client, company):
    logged_in(client, company, Role.ADMINISTRATOR, language="en")
    response = client.post(SETTINGS, company_data(company))
    assert flashed(response) == ["The company's data are saved."]
    company.refresh_from_db()
    assert (company.city, company.pec, company.sender_name) == (
        "Milano",
        "acme@pec.it",
        "Ufficio crediti",
    )


def test_a_wrong_iban_is_refused_and_nothing_saved(client, company):
    logged_in(client, company, language="en")
    data = company_data(company, iban="IT00X0000000000000000000000", city="Torino")
    response = client.post(SETTINGS, data)
    assert response.status_code == 400
    company.refresh_from_db()
    assert company.city != "Torino"


def test_weights_are_saved_and_checked(client, company):
    logged_in(client, company, language="en")
    response = client.post(SETTINGS, weights(r_days_late="50", exposure_includes_not_due=""))
    assert flashed(response) == [
        "The weights are saved: the scores follow them from the next import."
    ]
    saved = ScoringSettings.objects.get(company=company)
    assert saved.reliability_weights["days_late"] == 50.0
    assert saved.exposure_includes_not_due is False
    # Every weight zero: refused (a score needs at least one positive weight).
    zero = {
        f"k_{n}": "0"
        for n in (
            "days_overdue",
            "amount_vs_customer",
            "amount_vs_portfolio",
            "reliability",
            "seniority",
        )
    }
    response = client.post(SETTINGS, weights(**zero))
    assert "at least one weight must be more than zero" in flashed(response)[-1]


def test_mail_accounts_are_shown_without_their_password(client, company, settings):
    settings.EMAIL_URL = "smtp+tls://crediti%40acme.it:SEGRETISSIMA@smtp.acme.it:587?rate=60"
    settings.PEC_EMAIL_URL = ""
    logged_in(client, company, Role.AUDITOR, language="en")
    html = get(client, SETTINGS)
    assert "smtp.acme.it:587" in html and "at most 60 a minute" in html
    assert "SEGRETISSIMA" not in html
    assert "formal notices are printed as registered letters" in html


@pytest.mark.parametrize(
    ("role", "read", "change"),
    [
        (Role.ADMINISTRATOR, 200, 302),
        (Role.CREDIT_MANAGER, 200, 302),
        (Role.AUDITOR, 200, 403),
        (Role.COLLECTOR, 403, 403),
        (Role.SALES_AGENT, 403, 403),
    ],
)
def test_who_may_see_and_change(client, company, role, read, change):
    logged_in(client, company, role, language="en")
    assert client.get(SETTINGS).status_code == read
    assert client.post(SETTINGS, weights()).status_code == change


# --------------------------------------------------------------------------------------
# The company's own mail accounts
# --------------------------------------------------------------------------------------

MAIL_PASSWORD = "p@ss:w0rd"  # what tests.comms.conftest.authenticator accepts for "mario"


@pytest.fixture(autouse=True)
def secrets_key(settings):
    settings.INCASSA_SECRETS_KEY = Fernet.generate_key().decode()


@pytest.fixture
def smtp_login():
    """An SMTP server on loopback that lets "mario" log in (and nobody else)."""
    handler = Handler()
    controller = RecordingController(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        server_hostname="mx.test",
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    yield controller, handler
    controller.stop()


def account_data(kind: str = "email", **changes) -> dict:
    data = {
        "op": "mail",
        "kind": kind,
        "enabled": "on",
        "host": "smtp.acme.it",
        "port": "587",
        "security": "starttls",
        "username": "crediti@acme.it",
        "new_password": "",
        "from_address": "solleciti@acme.it",
        "from_name": "Acme - Ufficio crediti",
        "reply_to": "",
        "rate_per_minute": "60",
    }
    data.update(changes)
    return {
        name if name in {"op", "kind"} else f"{kind}-{name}": value
        for name, value in data.items()
        if value is not None
    }


def test_an_account_is_saved_and_its_password_never_shown(client, company):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    response = client.post(SETTINGS, account_data(new_password="SEGRETISSIMA"))
    assert response.status_code == 302
    assert flashed(response) == ["Ordinary email: the account is saved."]
    account = CompanyMailAccount.objects.get(company=company)
    assert (account.host, account.port, account.rate_per_minute) == ("smtp.acme.it", 587, 60)
    assert account.get_password() == "SEGRETISSIMA"
    html = get(client, SETTINGS)
    assert "SEGRETISSIMA" not in html and account.password not in html
    assert re.search(r'<input type="password" name="email-new_password"(?![^>]*value=)', html)
    assert "This company's account: <code>smtp.acme.it:587</code>" in html
    # The PEC account has no password stored; the email one has.
    assert re.search(r"<dt>Password</dt>\s*<dd>set</dd>", html)
    assert re.search(r"<dt>Password</dt>\s*<dd>—</dd>", html)


def test_an_empty_password_keeps_it_and_remove_clears_it(client, company):
    logged_in(client, company, Role.ADMINISTRATOR, language="en")
    client.post(SETTINGS, account_data(new_password="SEGRETISSIMA"))
    client.post(SETTINGS, account_data(host="smtp2.acme.it"))
    account = CompanyMailAccount.objects.get()
    assert account.host == "smtp2.acme.it" and account.get_password() == "SEGRETISSIMA"
    client.post(SETTINGS, account_data(clear_password="on"))
    account.refresh_from_db()
    assert account.password == ""
    assert re.search(r"<dt>Password</dt>\s*<dd>not set</dd>", get(client, SETTINGS))


def test_wrong_account_values_are_said_and_nothing_saved(client, company):
    logged_in(client, company, language="en")
    response = client.post(SETTINGS, account_data(port="70000", new_password="SEGRETISSIMA"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is less than or equal to 65535" in html
    assert "SEGRETISSIMA" not in html  # not even rendered back after the error
    response = client.post(SETTINGS, account_data(new_password="SEGRETISSIMA", clear_password="on"))
    assert response.status_code == 400
    assert "Either enter a new password or remove it, not both." in flashed(response)
    assert not CompanyMailAccount.objects.exists()


def test_an_unreadable_password_is_said_on_the_page(client, company, settings):
    logged_in(client, company, language="en")
    client.post(SETTINGS, account_data(new_password="SEGRETISSIMA"))
    settings.INCASSA_SECRETS_KEY = Fernet.generate_key().decode()
    html = get(client, SETTINGS)
    assert "unreadable: the secrets key changed, enter it again" in html


def test_test_the_connection_logs_in(client, company, smtp_login):
    controller, handler = smtp_login
    logged_in(client, company, language="en")
    data = account_data(
        host="127.0.0.1",
        port=str(controller.port),
        security="none",
        username="mario",
        new_password=MAIL_PASSWORD,
    )
    client.post(SETTINGS, data)
    response = client.post(SETTINGS, {"op": "mail-check", "kind": "email"})
    assert response.status_code == 302
    assert flashed(response)[-1] == (
        f"Ordinary email: the connection works (smtp://mario@127.0.0.1:{controller.port}: "
        "connected, logged in as mario)."
    )
    assert handler.received == []  # nothing sent
    # A wrong password: the server's refusal, in the page's words.
    client.post(SETTINGS, {**data, "email-new_password": "sbagliata"})
    response = client.post(SETTINGS, {"op": "mail-check", "kind": "email"})
    error = flashed(response)[-1]
    assert error.startswith("Ordinary email: the connection failed: 535 ")


def test_test_the_connection_on_a_refused_port(client, company):
    logged_in(client, company, language="en")
    client.post(SETTINGS, account_data(host="127.0.0.1", port=str(free_port()), security="none"))
    response = client.post(SETTINGS, {"op": "mail-check", "kind": "email"})
    assert response.status_code == 302
    error = flashed(response)[-1]
    assert error.startswith("Ordinary email: the connection failed: smtp://")
    assert "Connection refused" in error and "Traceback" not in error


def test_test_the_connection_without_any_account(client, company, settings):
    settings.PEC_EMAIL_URL = ""
    logged_in(client, company, language="en")
    response = client.post(SETTINGS, {"op": "mail-check", "kind": "pec"})
    assert flashed(response) == [
        "PEC: the connection failed: There is no account to check: enter the server's details."
    ]


def test_an_unknown_account_or_operation_is_a_bad_request(client, company):
    logged_in(client, company, language="en")
    assert client.post(SETTINGS, {"op": "mail-check", "kind": "fax"}).status_code == 400
    assert client.post(SETTINGS, account_data(kind="fax")).status_code == 400
    assert client.post(SETTINGS, {"op": "nothing"}).status_code == 400


def test_an_auditor_reads_the_accounts_without_passwords_nor_buttons(client, company):
    accounts.mail_account_save(
        company=company,
        kind=AccountKind.PEC,
        values={"host": "smtps.pec.aruba.it", "port": 465, "security": "ssl"},
        password="SEGRETISSIMA",
    )
    logged_in(client, company, Role.AUDITOR, language="en")
    html = get(client, SETTINGS)
    assert "smtps.pec.aruba.it" in html and "SEGRETISSIMA" not in html
    assert re.search(r"<dt>Password</dt>\s*<dd>set</dd>", html)
    assert "Test the connection" not in html and "Save the account" not in html
    assert client.post(SETTINGS, {"op": "mail-check", "kind": "pec"}).status_code == 403


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 302),
        (Role.CREDIT_MANAGER, 302),
        (Role.AUDITOR, 403),
        (Role.COLLECTOR, 403),
        (Role.SALES_AGENT, 403),
    ],
)
def test_who_may_change_the_accounts_and_the_calendar(client, company, role, status):
    logged_in(client, company, role, language="en")
    assert client.post(SETTINGS, account_data()).status_code == status
    assert client.post(SETTINGS, {"op": "calendar", "subdivision": "MI"}).status_code == status
    closure = {"op": "closure-add", "starts_on": "2026-08-10", "description": "Ferie"}
    assert client.post(SETTINGS, closure).status_code == status
    changed = status == 302
    assert CompanyMailAccount.objects.exists() == changed
    assert CompanyClosure.objects.exists() == changed


def test_the_accounts_are_the_current_companys(client, company):
    other = CompanyFactory(code="other", name="Other S.p.A.")
    accounts.mail_account_save(
        company=other,
        kind=AccountKind.EMAIL,
        values={"host": "smtp.other.it", "port": 25, "security": "none"},
    )
    logged_in(client, company, language="en")
    html = get(client, SETTINGS)
    assert "smtp.other.it" not in html
    client.post(SETTINGS, account_data())
    assert CompanyMailAccount.objects.get(company=other).host == "smtp.other.it"
    assert CompanyMailAccount.objects.get(company=company).host == "smtp.acme.it"


# --------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------


@pytest.fixture
def on_26_march():
    with time_machine.travel(dt.datetime(2026, 3, 26, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_the_province_adds_its_patron_saint_to_the_coming_days_off(client, company, on_26_march):
    logged_in(client, company, language="en")
    html = get(client, SETTINGS)
    # From 26/03/2026 for 365 days: until 25/03/2027.
    assert "Days off until 25/03/2027" in html
    assert "Christmas Day" in html and "Saint Ambrose" not in html
    response = client.post(SETTINGS, {"op": "calendar", "subdivision": "MI"})
    assert flashed(response) == ["The calendar is saved."]
    html = get(client, SETTINGS)
    assert "Saint Ambrose&#x27;s Day" in html and "07/12/2026" in html
    assert "Italy and Milano, besides Saturdays and Sundays." in html
    assert client.post(SETTINGS, {"op": "calendar", "subdivision": "XX"}).status_code == 400


def test_closures_are_added_listed_and_removed(client, company, on_26_march):
    logged_in(client, company, language="en")
    response = client.post(
        SETTINGS,
        {
            "op": "closure-add",
            "starts_on": "2026-08-10",
            "ends_on": "2026-08-21",
            "description": "Chiusura estiva",
        },
    )
    assert flashed(response) == ["The closure is added."]
    html = get(client, SETTINGS)
    # Listed as a closure, and among the days off split by the Assumption (15/08).
    assert "10/08/2026 – 14/08/2026" in html and "16/08/2026 – 21/08/2026" in html
    closure = CompanyClosure.objects.get()
    response = client.post(SETTINGS, {"op": "closure-remove", "closure": closure.pk})
    assert flashed(response) == ["The closure is removed."]
    assert not CompanyClosure.objects.exists()


def test_wrong_closures_are_said(client, company):
    logged_in(client, company, language="en")
    response = client.post(
        SETTINGS,
        {
            "op": "closure-add",
            "starts_on": "2026-08-21",
            "ends_on": "2026-08-10",
            "description": "Estate",
        },
    )
    assert response.status_code == 400
    assert flashed(response) == ["A closure cannot end before it starts."]
    response = client.post(SETTINGS, {"op": "closure-add", "starts_on": "31/02/2026"})
    assert response.status_code == 400
    assert not CompanyClosure.objects.exists()


def test_another_companys_closure_is_not_found(client, company):
    other = CompanyFactory(code="other", name="Other S.p.A.")
    theirs = calendars.closure_add(
        company=other, starts_on=dt.date(2026, 8, 14), description="Ponte"
    )
    logged_in(client, company, language="en")
    response = client.post(SETTINGS, {"op": "closure-remove", "closure": theirs.pk})
    assert response.status_code == 404
    assert client.post(SETTINGS, {"op": "closure-remove", "closure": "x"}).status_code == 404
    assert CompanyClosure.objects.filter(pk=theirs.pk).exists()
    assert "Ponte" not in get(client, SETTINGS)
