"""The admin reads the trail but cannot change it, even as a superuser; it resets a user's
second factor and shows who is locked out."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import time_machine
from django.urls import reverse

from incassa.audit import totp
from incassa.audit.models import AuditAction, AuditEntry, LoginFailure, TwoFactor
from incassa.audit.recording import record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(company):
    return record(action=AuditAction.ENGINE_RUN, company=company, after={"actions": 2})


def test_superusers_read_but_never_add_change_or_delete(admin_client, entry):
    changelist = reverse("admin:audit_auditentry_changelist")
    html = admin_client.get(changelist).content.decode()
    assert admin_client.get(changelist).status_code == 200
    assert "delete_selected" not in html
    assert admin_client.get(reverse("admin:audit_auditentry_add")).status_code == 403
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    page = admin_client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # read-only view
    assert admin_client.post(change, {"action": "login"}).status_code == 403
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == AuditAction.ENGINE_RUN


def test_reset_a_users_second_factor(admin_client, admin_user):
    user = UserFactory(username="lost-phone")
    secret = totp.new_secret()
    moment = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        totp.confirm(user=user, secret=secret, code=pyotp.TOTP(secret).at(moment))
    factor = TwoFactor.objects.get(user=user)
    changelist = reverse("admin:audit_twofactor_changelist")
    assert secret not in admin_client.get(changelist).content.decode()
    response = admin_client.post(
        changelist, {"action": "reset", "_selected_action": [factor.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not TwoFactor.objects.filter(user=user).exists()
    assert not user.recovery_codes.exists()
    reset = AuditEntry.objects.get(action=AuditAction.TOTP_RESET)
    assert (reset.object_id, reset.user_id, reset.after) == (
        str(user.pk),
        admin_user.pk,
        {"by": admin_user.pk},
    )


def test_deleting_failures_unlocks(admin_client):
    failure = LoginFailure.objects.create(username="anna", ip="192.0.2.1")
    delete = reverse("admin:audit_loginfailure_delete", args=[failure.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not LoginFailure.objects.exists()
