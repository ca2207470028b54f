"""The bulk writers, on whichever database the suite runs against (SQLite or PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import transaction

from incassa.core import bulk
from incassa.ledger.models import SalesAgent
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def test_insert_update_and_reserve_ids():
    company = CompanyFactory()
    table = SalesAgent._meta.db_table
    with transaction.atomic():
        first = bulk.reserve_ids(SalesAgent, 3)
        written = bulk.insert_rows(
            table,
            ["id", "company_id", "name", "email"],
            ((first + i, company.pk, f"Agent {i}", "") for i in range(3)),
        )
    assert written == 3
    assert list(SalesAgent.objects.order_by("id").values_list("id", "name")) == [
        (first, "Agent 0"),
        (first + 1, "Agent 1"),
        (first + 2, "Agent 2"),
    ]
    with transaction.atomic():
        bulk.update_rows(table, ["email"], [("a@x.it", first), ("c@x.it", first + 2)])
    assert list(SalesAgent.objects.order_by("id").values_list("email", flat=True)) == [
        "a@x.it",
        "",
        "c@x.it",
    ]
    # The ORM keeps working after ids were reserved by hand: the next id is past the block.
    agent = SalesAgent.objects.create(company=company, name="Later")
    assert agent.pk > first + 2


def test_chunked_splits_without_losing_rows():
    chunks = list(bulk.chunked(((i,) for i in range(7)), size=3))
    assert [len(c) for c in chunks] == [3, 3, 1]
