"""Signing in (throttled, with the optional second step), the account page, two-step
verification on and off, recovery codes and changing the password, through the test
client."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.urls import reverse

from incassa.audit.models import AuditAction, AuditEntry, CompanySecurity, TwoFactor
from incassa.ledger.models import Role
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
VERIFY = reverse("login_verify")
ACCOUNT = reverse("account")
SETUP = reverse("account_totp")
DASHBOARD = reverse("web:dashboard")
# 09:00:00 UTC on 01/04/2026: TOTP time step 59167800.
T0 = dt.datetime(2026, 4, 1, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def anna(company):
    user = UserFactory(username="anna")
    MembershipFactory(user=user, company=company, role=Role.COLLECTOR)
    return user


def sign_in(client, username: str, password: str = PASSWORD, next: str = "", **request):
    data = {"username": username, "password": password, **({"next": next} if next else {})}
    return client.post(LOGIN, data, **request)


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def actions() -> list[str]:
    return list(
        AuditEntry.objects.filter(action__in=[a.value for a in AuditAction])
        .exclude(action__in=["create", "update", "delete"])
        .order_by("id")
        .values_list("action", flat=True)
    )


# --------------------------------------------------------------------------------------
# Password sign-in and throttling
# --------------------------------------------------------------------------------------


def test_sign_in_with_the_password(english, anna):
    assert english.get(LOGIN).status_code == 200
    response = sign_in(english, "anna", next="/customers/")
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert signed_in(english)
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN)
    assert (entry.user_id, entry.source, entry.ip) == (anna.pk, "web", "127.0.0.1")
    assert entry.after == {"method": "password"}


def test_a_foreign_next_is_ignored(english, anna):
    response = sign_in(english, "anna", next="https://evil.example/")
    assert response["Location"] == DASHBOARD


def test_five_failures_lock_the_username_even_for_the_right_password(english, anna, now):
    for _ in range(4):
        response = sign_in(english, "anna", "wrong-password")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    # The fifth failure within 15 minutes locks until 15 minutes after it: 09:15.
    response = sign_in(english, "anna", "wrong-password")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in response.content.decode()
    # The right password is refused too, and not even checked.
    now.shift(dt.timedelta(minutes=14))
    response = sign_in(english, "anna")
    assert response.status_code == 429
    assert "Try again in 1 minute." in response.content.decode()
    assert not signed_in(english)
    assert actions() == ["login_failed"] * 5 + ["login_locked", "login_failed"]
    refused = AuditEntry.objects.filter(action="login_failed").order_by("id").last()
    assert refused.after == {"username": "anna", "reason": "locked"}
    assert refused.user_id == anna.pk  # the trail knows who; the page does not say
    # At 09:15 the lock is over; a success forgives the failures.
    now.shift(dt.timedelta(minutes=1))
    assert sign_in(english, "anna").status_code == 302
    assert signed_in(english)


def test_an_unknown_username_gets_the_same_answers(english, anna):
    for _ in range(4):
        assert sign_in(english, "nobody", "wrong-password").status_code == 200
    response = sign_in(english, "nobody", "wrong-password")
    assert response.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in response.content.decode()
    failed = AuditEntry.objects.filter(action="login_failed").first()
    assert (failed.user_id, failed.username) == (None, "nobody")


def test_five_failures_from_one_address_lock_every_username(english, anna):
    for name in ["a1", "a2", "a3", "a4", "a5"]:
        sign_in(english, name, "wrong-password")
    assert sign_in(english, "anna").status_code == 429
    # From another address anna signs in.
    assert sign_in(english, "anna", REMOTE_ADDR="192.0.2.10").status_code == 302


def test_missing_fields_are_not_failures(english, anna):
    for _ in range(6):
        assert english.post(LOGIN, {"username": "anna", "password": ""}).status_code == 200
    assert sign_in(english, "anna").status_code == 302


def test_the_admin_signs_in_through_the_same_page(english):
    response = english.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/admin/"


# --------------------------------------------------------------------------------------
# Two-step verification
# --------------------------------------------------------------------------------------


def secret_shown(html: str) -> str:
    key = re.search(r'<code class="totp-setup__secret">([A-Z2-7 ]+)</code>', html).group(1)
    return key.replace(" ", "")


def turn_on(client) -> tuple[str, list[str]]:
    html = client.get(SETUP).content.decode()
    assert "<svg" in html
    secret = secret_shown(html)
    response = client.post(SETUP, {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == ACCOUNT
    page = client.get(ACCOUNT).content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page)
    return secret, codes


def test_turn_on_then_sign_in_with_a_code(english, anna, now):
    english.force_login(anna)
    html = english.get(SETUP).content.decode()
    secret = secret_shown(html)
    assert len(secret) == 32
    # A wrong code: a message, nothing turned on.
    response = english.post(SETUP, {"code": "12345"})
    assert response["Location"] == SETUP
    assert texts(response) == ["That code is not valid. Check the phone's clock and try again."]
    assert not TwoFactor.objects.exists()
    # The same secret is shown again until it is confirmed.
    assert secret_shown(english.get(SETUP).content.decode()) == secret

    response = english.post(SETUP, {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == ACCOUNT
    page = english.get(ACCOUNT).content.decode()
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page)
    assert len(codes) == 10
    # Shown once only.
    assert "<li><code>" not in english.get(ACCOUNT).content.decode()
    assert "10 recovery codes left." in english.get(ACCOUNT).content.decode()

    english.post(reverse("logout"))
    response = sign_in(english, "anna", next="/worklist/")
    assert response["Location"] == VERIFY
    # Password right but not signed in: every page still asks to sign in.
    assert not signed_in(english)
    assert english.get(DASHBOARD)["Location"].startswith(LOGIN)
    assert "authenticator app" in english.get(VERIFY).content.decode()

    # The code that turned it on was used in this time step: the next step's code signs in.
    now.shift(dt.timedelta(seconds=30))
    response = english.post(VERIFY, {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == "/worklist/"
    assert signed_in(english)
    assert english.session["incassa_2fa_verified"] is True
    assert actions() == ["totp_enabled", "logout", "login"]
    last = AuditEntry.objects.filter(action=AuditAction.LOGIN).last()
    assert last.after == {"method": "totp"}
    assert AuditEntry.objects.filter(action=AuditAction.TOTP_ENABLED, user_id=anna.pk).exists()


def test_a_wrong_code_five_times_locks_and_sends_back_to_the_password(english, anna):
    english.force_login(anna)
    turn_on(english)
    english.post(reverse("logout"))
    sign_in(english, "anna")
    for n in range(4):
        response = english.post(VERIFY, {"code": "000000"})
        assert response["Location"] == VERIFY, n
    response = english.post(VERIFY, {"code": "000000"})
    assert response["Location"] == LOGIN
    assert texts(response)[-1] == "Too many failed sign-in attempts. Try again in 15 minutes."
    assert not signed_in(english)
    # The pending sign-in is gone: the code page sends back to the password.
    assert english.get(VERIFY)["Location"] == LOGIN


def test_a_recovery_code_signs_in_once(english, anna, now):
    english.force_login(anna)
    _, codes = turn_on(english)
    english.post(reverse("logout"))
    sign_in(english, "anna")
    response = english.post(VERIFY, {"code": codes[0]})
    assert response["Location"] == DASHBOARD
    assert texts(response)[-1] == (
        "You signed in with a recovery code, which cannot be used again. 9 left."
    )
    english.post(reverse("logout"))
    sign_in(english, "anna")
    assert english.post(VERIFY, {"code": codes[0]})["Location"] == VERIFY
    assert not signed_in(english)


def test_the_code_must_come_within_five_minutes(english, anna, now):
    english.force_login(anna)
    turn_on(english)
    english.post(reverse("logout"))
    sign_in(english, "anna")
    now.shift(dt.timedelta(minutes=5, seconds=1))
    secret = TwoFactor.objects.get().secret
    response = english.post(VERIFY, {"code": pyotp.TOTP(secret).now()})
    assert response["Location"] == LOGIN
    assert not signed_in(english)


def test_turn_off_and_new_recovery_codes_need_the_password(english, anna):
    english.force_login(anna)
    turn_on(english)
    response = english.post(reverse("account_recovery_codes"), {"password": "wrong"})
    assert texts(response) == ["Your password is not correct."]
    response = english.post(reverse("account_recovery_codes"), {"password": PASSWORD})
    assert len(re.findall(r"<li><code>", english.get(ACCOUNT).content.decode())) == 10
    response = english.post(reverse("account_totp_disable"), {"password": "wrong"})
    assert TwoFactor.objects.exists()
    response = english.post(reverse("account_totp_disable"), {"password": PASSWORD})
    assert texts(response)[-1] == "Two-step verification is off."
    assert not TwoFactor.objects.exists()
    assert actions()[-2:] == ["recovery_codes", "totp_disabled"]


def test_a_company_can_require_it_of_its_administrators(english, company):
    boss = UserFactory(username="boss")
    MembershipFactory(user=boss, company=company, role=Role.ADMINISTRATOR)
    CompanySecurity.objects.create(company=company, require_totp_for_administrators=True)
    response = sign_in(english, "boss")
    assert response["Location"] == SETUP
    # Every page leads to the set-up until it is done.
    assert english.get(DASHBOARD)["Location"] == SETUP
    assert english.get(reverse("web:customers"))["Location"] == SETUP
    secret, _ = turn_on(english)
    assert english.get(DASHBOARD).status_code == 200
    # It cannot be turned off.
    response = english.post(reverse("account_totp_disable"), {"password": PASSWORD})
    assert texts(response)[-1] == "Your account must use two-step verification."
    assert TwoFactor.objects.filter(user=boss).exists()
    assert secret


def test_the_account_page_needs_a_login(client):
    assert client.get(ACCOUNT)["Location"].startswith(LOGIN)
    assert client.get(SETUP)["Location"].startswith(LOGIN)
    assert client.post(reverse("account_totp_disable"))["Location"].startswith(LOGIN)


# --------------------------------------------------------------------------------------
# Password change
# --------------------------------------------------------------------------------------


def test_change_password_with_the_rules(english, anna):
    english.force_login(anna)
    url = reverse("password_change")
    assert english.get(url).status_code == 200
    short = {"old_password": PASSWORD, "new_password1": "Short-pw-1", "new_password2": "Short-pw-1"}
    response = english.post(url, short)
    assert response.status_code == 200
    assert "at least 12 characters" in response.content.decode()

    new = "a-much-longer-passphrase"
    data = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    response = english.post(url, data)
    assert response["Location"] == ACCOUNT
    assert texts(response) == ["Your password has been changed."]
    assert signed_in(english)  # the session stays
    anna.refresh_from_db()
    assert anna.check_password(new)
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGED, user_id=anna.pk).exists()
