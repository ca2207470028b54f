"""Audit entries cannot be changed or deleted, even with raw SQL: a trigger refuses every
UPDATE and DELETE on the table (PostgreSQL and SQLite). Dropping the triggers takes the
database owner's rights, as dropping the table would.

On SQLite a later migration that alters this table rebuilds it, which drops the triggers:
such a migration must run SQLITE_UP again.
"""

from django.db import migrations

TABLE = "audit_auditentry"
MESSAGE = "audit entries cannot be changed or deleted"

SQLITE_UP = [
    f"CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_entry_no_update",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete",
]
POSTGRESQL_UP = [
    "CREATE OR REPLACE FUNCTION audit_entry_immutable() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql",
    f"CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION audit_entry_immutable()",
]
POSTGRESQL_DOWN = [
    f"DROP TRIGGER IF EXISTS audit_entry_no_change ON {TABLE}",
    "DROP FUNCTION IF EXISTS audit_entry_immutable()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRESQL_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRESQL_DOWN}),
        )
    ]
