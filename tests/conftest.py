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


@pytest.fixture(autouse=True)
def _mail_and_files(settings, tmp_path):
    """Messages go to the in-memory outbox, files and the delivery journal to the test's own
    directory: no test writes under ./var or reaches a mail server it did not start."""
    from incassa.comms import transport

    settings.EMAIL_URL = "memory://"
    settings.PEC_EMAIL_URL = ""
    settings.INCASSA_DELIVERY_JOURNAL = tmp_path / "delivery-journal.jsonl"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INCASSA_INBOX_DIR = tmp_path / "inbox"
    transport.MEMORY_OUTBOX.clear()
    yield
    transport.MEMORY_OUTBOX.clear()


@pytest.fixture
def sent_mail():
    """The messages the memory transport received, parsed: ``sent_mail()`` -> list."""
    from email import policy
    from email.parser import BytesParser

    from incassa.comms import transport

    def parsed() -> list:
        return [
            BytesParser(policy=policy.default).parsebytes(entry["message"])
            for entry in transport.MEMORY_OUTBOX
        ]

    return parsed
