"""Nobody can change or delete an audit entry: not the ORM, not raw SQL."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from incassa.audit.models import AuditAction, AuditEntry, AuditImmutable
from incassa.audit.recording import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(company) -> AuditEntry:
    return record(action=AuditAction.ENGINE_RUN, company=company, after={"actions": 3})


def test_an_entry_cannot_be_saved_again(entry):
    entry.after = {"actions": 0}
    with pytest.raises(AuditImmutable):
        entry.save()
    entry.refresh_from_db()
    assert entry.after == {"actions": 3}


def test_an_entry_cannot_be_deleted(entry):
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(action="login")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.bulk_update([entry], ["action"])
    assert AuditEntry.objects.filter(pk=entry.pk, action=AuditAction.ENGINE_RUN).exists()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET action = 'login' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
)
def test_raw_sql_cannot_change_or_delete_an_entry(entry, statement):
    # The database's trigger refuses it (SQLite: RAISE(ABORT), PostgreSQL: an exception).
    refused = pytest.raises(DatabaseError, match="audit entries cannot be changed or deleted")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk, action=AuditAction.ENGINE_RUN).exists()


def test_entries_outlive_their_company_and_user(company, django_user_model):
    user = django_user_model.objects.create_user(username="leaving", password="x" * 16)
    entry = record(action=AuditAction.LOGIN, user=user, company=company)
    user_id, company_id = user.pk, company.pk
    user.delete()
    # Deleting the company is itself recorded, in the trail that outlives it.
    company.delete()
    entry.refresh_from_db()
    assert (entry.user_id, entry.username, entry.company_id) == (user_id, "leaving", company_id)
    assert AuditEntry.objects.filter(
        action="delete", object_type="ledger.company", object_id=str(company_id)
    ).exists()
