"""Token authentication: every way a request can fail to authenticate is a 401 in the one
error format; a valid token acts with its user's current role in its company."""

from __future__ import annotations

import datetime as dt

import pytest

from incassa.api.models import ApiToken
from incassa.api.services import api_token_create, api_token_revoke
from incassa.ledger.models import Membership, Role
from tests.api.conftest import NOW

pytestmark = pytest.mark.django_db

URL = "/api/customers"


def assert_401(response, message_part: str = "") -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["code"] == "unauthenticated"
    assert error["details"] == []
    assert message_part in error["message"]


def test_no_header(client, world):
    assert_401(client.get(URL), "Bearer")


def test_another_scheme(client, world):
    key = world.keys[Role.CREDIT_MANAGER]
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Token {key}"), "Bearer")


@pytest.mark.parametrize(
    "key",
    [
        "nonsense",
        "inc_AAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",  # well formed, unknown
        "",
    ],
)
def test_a_wrong_key(client, world, key):
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}"))


def test_the_right_prefix_with_a_wrong_secret(client, world):
    key = world.keys[Role.CREDIT_MANAGER]
    tampered = key[:-1] + ("x" if key[-1] != "x" else "y")
    # The messages are in Italian, the default language.
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {tampered}"), "non è valido")


def test_a_revoked_token(client, world):
    api_token_revoke(token=ApiToken.objects.get(user=world.users[Role.CREDIT_MANAGER]))
    assert_401(client.get(URL, **world.headers(Role.CREDIT_MANAGER)), "revocato")


def test_an_expired_token(client, world):
    user = world.users[Role.AUDITOR]
    token, key = api_token_create(
        user=user, company=world.company, name="short", expires_on=dt.date(2026, 4, 1)
    )
    # Today (01/04) is its last day: it works.
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_on=dt.date(2026, 3, 31))
    assert_401(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key}"), "scaduto")


def test_a_user_no_longer_member_or_active(client, world):
    Membership.objects.filter(user=world.users[Role.AUDITOR]).delete()
    assert_401(client.get(URL, **world.headers(Role.AUDITOR)))
    manager = world.users[Role.CREDIT_MANAGER]
    manager.is_active = False
    manager.save()
    assert_401(client.get(URL, **world.headers(Role.CREDIT_MANAGER)))


def test_a_valid_token_records_its_use_and_takes_the_current_role(client, world):
    response = client.get(URL, **world.headers(Role.COLLECTOR))
    assert response.status_code == 200
    token = ApiToken.objects.get(user=world.users[Role.COLLECTOR])
    assert token.last_used_at == NOW
    # Made an auditor: the same token may no longer record activities.
    Membership.objects.filter(user=world.users[Role.COLLECTOR]).update(role=Role.AUDITOR)
    response = client.post(
        "/api/activities",
        data={"customer": "001", "kind": "note"},
        content_type="application/json",
        **world.headers(Role.COLLECTOR),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_token_acts_only_in_its_own_company(client, world):
    """Beta's manager's token sees Beta's three customers, never Acme's (same codes)."""
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {world.other_key}")
    assert response.json()["count"] == 3
    f1_of_acme = world.item("F1").pk
    response = client.get(
        f"/api/items/{f1_of_acme}", HTTP_AUTHORIZATION=f"Bearer {world.other_key}"
    )
    assert response.status_code == 404
