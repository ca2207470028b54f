"""Making, checking and revoking tokens: only the key's hash is stored."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine

from incassa.api import services
from incassa.api.models import ApiToken
from incassa.ledger.models import Role
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def member(company):
    user = UserFactory(username="erp-robot")
    MembershipFactory(user=user, company=company, role=Role.COLLECTOR)
    return user


def test_the_key_is_shown_once_and_only_its_hash_is_kept(company, member):
    token, key = services.api_token_create(user=member, company=company, name=" ERP sync ")
    # inc_ + 8 characters of prefix + _ + 40 of secret.
    assert key.startswith(token.prefix + "_")
    assert len(token.prefix) == 12 and len(key) == 12 + 1 + 40
    assert token.name == "ERP sync"
    stored = ApiToken.objects.get()
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {getattr(stored, f.attname) for f in ApiToken._meta.fields}
    assert services.key_matches(stored, key)
    assert not services.key_matches(stored, key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_two_tokens_have_different_keys_and_prefixes(company, member):
    first, first_key = services.api_token_create(user=member, company=company, name="a")
    second, second_key = services.api_token_create(user=member, company=company, name="b")
    assert first.prefix != second.prefix and first_key != second_key


@pytest.mark.parametrize(
    ("key", "prefix"),
    [
        ("inc_AbCd1234_secret", "inc_AbCd1234"),
        ("inc_AbCd123_secret", None),  # 7 characters of prefix
        ("inc_AbCd1234_", None),  # no secret
        ("inc_AbCd1234", None),
        ("xyz_AbCd1234_secret", None),
        ("", None),
    ],
)
def test_key_prefix(key, prefix):
    assert services.key_prefix(key) == prefix


def test_only_a_member_gets_a_token(company):
    outsider = UserFactory(username="outsider")
    MembershipFactory(user=outsider, company=CompanyFactory(code="elsewhere"))
    with pytest.raises(services.TokenError, match="no role in acme"):
        services.api_token_create(user=outsider, company=company, name="x")
    assert not ApiToken.objects.exists()


def test_a_token_needs_a_name_and_a_future_expiry(company, member):
    with pytest.raises(services.TokenError, match="name"):
        services.api_token_create(user=member, company=company, name="  ")
    with pytest.raises(services.TokenError, match="past"):
        services.api_token_create(
            user=member, company=company, name="x", expires_on=dt.date(2026, 3, 31)
        )
    # Today is allowed: the token works through its expiry day.
    token, _key = services.api_token_create(
        user=member, company=company, name="x", expires_on=dt.date(2026, 4, 1)
    )
    assert token.expires_on == dt.date(2026, 4, 1)


def test_revoking_twice_keeps_the_first_time(company, member):
    token, _key = services.api_token_create(user=member, company=company, name="x")
    services.api_token_revoke(token=token)
    assert ApiToken.objects.get().revoked_at == NOW
    later = NOW + dt.timedelta(hours=1)
    services.api_token_revoke(token=token, at=later)
    assert ApiToken.objects.get().revoked_at == NOW


def test_use_is_recorded_at_most_once_a_minute(company, member):
    token, _key = services.api_token_create(user=member, company=company, name="x")
    services.api_token_touch(token=token, at=NOW)
    services.api_token_touch(token=token, at=NOW + dt.timedelta(seconds=59))
    assert ApiToken.objects.get().last_used_at == NOW  # 59 s later: not written again
    services.api_token_touch(token=token, at=NOW + dt.timedelta(seconds=60))
    assert ApiToken.objects.get().last_used_at == NOW + dt.timedelta(seconds=60)


def test_tokens_listed_by_company_and_user(company, member):
    other = CompanyFactory(code="other")
    MembershipFactory(user=member, company=other)
    services.api_token_create(user=member, company=company, name="a")
    services.api_token_create(user=member, company=other, name="b")
    assert [t.name for t in services.tokens_listed(company=company)] == ["a"]
    assert sorted(t.name for t in services.tokens_listed(user=member)) == ["a", "b"]
