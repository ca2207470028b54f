"""``incassa api-token create|list|revoke``."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from incassa.api.models import ApiToken
from incassa.api.services import key_hash
from incassa.ledger.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("api_token", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def robot(company):
    user = UserFactory(username="erp")
    MembershipFactory(user=user, company=company, role=Role.AUDITOR)
    return user


def test_create_prints_the_key_once(client, robot):
    payload = json.loads(run("create", "--user", "erp", "--name", "ERP", "--json"))
    token = ApiToken.objects.get()
    assert payload["prefix"] == token.prefix
    assert (payload["company"], payload["role"]) == ("acme", "auditor")
    assert token.key_hash == key_hash(payload["key"])
    # The key works at once.
    response = client.get("/api/customers", HTTP_AUTHORIZATION=f"Bearer {payload['key']}")
    assert response.status_code == 200
    text = run("create", "--user", "erp", "--name", "Other", "--expires", "2099-12-31")
    assert "shown only now" in text and "inc_" in text
    assert ApiToken.objects.get(name="Other").expires_on == dt.date(2099, 12, 31)


def test_create_refuses_unknown_users_and_non_members(company):
    with pytest.raises(CommandError, match="no user"):
        run("create", "--user", "ghost", "--name", "x")
    UserFactory(username="outsider")
    with pytest.raises(CommandError, match="no role"):
        run("create", "--user", "outsider", "--name", "x")


def test_list_and_revoke(client, robot):
    key = json.loads(run("create", "--user", "erp", "--name", "ERP", "--json"))["key"]
    token = ApiToken.objects.get()
    listing = run("list")
    assert token.prefix in listing and "auditor" in listing and "active" in listing
    assert key not in listing
    # Revoking by the whole key pasted (its prefix is read from it).
    assert "revoked" in run("revoke", key)
    assert ApiToken.objects.get().revoked_at is not None
    assert "revoked" in run("list", "--user", "erp")
    response = client.get("/api/customers", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401
    with pytest.raises(CommandError, match="no token"):
        run("revoke", "inc_ZZZZZZZZ")
    assert "revoked" in run("revoke", str(token.pk))  # by id; twice is harmless
