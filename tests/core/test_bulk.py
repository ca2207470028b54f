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


def test_large_load_rebuilds_the_indexes_and_keeps_them(monkeypatch):
    """A load large against its table drops the secondary indexes and builds them again."""
    monkeypatch.setattr(bulk, "REBUILD_MIN_ROWS", 1)
    company = CompanyFactory()
    table = SalesAgent._meta.db_table
    before = sorted(name for name, _sql in bulk._secondary_indexes(table))
    with transaction.atomic():
        first = bulk.reserve_ids(SalesAgent, 2)
        bulk.insert_rows(
            table,
            ["id", "name", "email"],
            [(first, "A", ""), (first + 1, "B", "")],
            expected=2,
            constants={"company_id": company.pk},
        )
    assert sorted(name for name, _sql in bulk._secondary_indexes(table)) == before
    assert list(SalesAgent.objects.order_by("id").values_list("name", "company_id")) == [
        ("A", company.pk),
        ("B", company.pk),
    ]


def test_constants_must_be_plain_values():
    with pytest.raises(TypeError):
        bulk._literal(1.5)
    # A quote inside a constant is escaped, not closing the string.
    assert bulk._literal("l'Aquila") == "'l''Aquila'"


def test_uniform_columns_become_constants():
    import polars as pl

    frame = pl.DataFrame({"a": [1, 2], "currency": ["EUR", "EUR"], "kind": ["x", "y"]})
    columns, constants = bulk.uniform_columns(
        frame, ["a", "currency", "kind"], ["currency", "kind"]
    )
    # Only the currency is the same on every row.
    assert (columns, constants) == (["a", "kind"], {"currency": "EUR"})
