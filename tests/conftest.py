"""Fixtures shared by every test: a company, a credit manager of it, and their logged-in client."""

from __future__ import annotations

import pytest

from incassa.ledger.models import Role
from tests.factories import CompanyFactory, MembershipFactory, UserFactory


@pytest.fixture
def company(db):
    return CompanyFactory(code="acme", name="Acme Italia S.p.A.")


@pytest.fixture
def user_with_membership(company):
    """A user who is the credit manager of ``company`` (and of no other company)."""
    user = UserFactory(username="manager")
    MembershipFactory(user=user, company=company, role=Role.CREDIT_MANAGER)
    return user


@pytest.fixture
def client_logged_in(client, user_with_membership):
    client.force_login(user_with_membership)
    return client
