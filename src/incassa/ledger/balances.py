"""Each customer's open and overdue amount, computed once per snapshot for the long lists.

``open_balances_refresh`` rewrites a company's ``OpenBalance`` rows with one grouped
statement over the covering index of the open items (under a second for a million items);
it runs after every applied snapshot and every computation of the scores, in the
transaction of its caller or its own. ``fresh_open_balances`` tells the pages whether the
rows still describe the ledger (no newer snapshot since), so that a page never ranks by
figures older than the last import: when they are stale it computes live, as before.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from incassa.ledger.models import (
    Company,
    Customer,
    ImportKind,
    ImportRun,
    ImportStatus,
    OpenBalance,
    OpenBalanceState,
    OpenByDueDate,
    Receivable,
    ReceivableStatus,
)

LEDGER_KINDS = (ImportKind.RECEIVABLES, ImportKind.EINVOICES, ImportKind.STATEMENT)


def _latest_snapshot(company: Company) -> QuerySet[ImportRun]:
    """The id of the latest applied import that changed open items (a receivables snapshot,
    e-invoices, a bank statement), as a one-row queryset."""
    return (
        ImportRun.objects.filter(
            company=company, kind__in=LEDGER_KINDS, status=ImportStatus.APPLIED
        )
        .order_by("-id")
        .values_list("id", flat=True)[:1]
    )


def open_balances_refresh(*, company: Company, as_of: dt.date) -> int:
    """Compute every customer's open and overdue (due before ``as_of``) amount and open
    items again, customers owing nothing with zeros, and the open items per due date.
    Returns the number of customers."""
    table = connection.ops.quote_name
    balance, customer = table(OpenBalance._meta.db_table), table(Customer._meta.db_table)
    receivable, by_due = table(Receivable._meta.db_table), table(OpenByDueDate._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {balance} WHERE company_id = %s", [company.pk])
        cursor.execute(
            f"INSERT INTO {balance} "
            "(customer_id, company_id, code, open_amount, overdue_amount, open_items) "
            "SELECT c.id, c.company_id, c.code, COALESCE(t.open_amount, 0), "
            "COALESCE(t.overdue_amount, 0), COALESCE(t.items, 0) "
            f"FROM {customer} c LEFT JOIN ("
            "SELECT r.customer_id, SUM(r.open_amount) AS open_amount, "
            "SUM(CASE WHEN r.due_date < %s THEN r.open_amount ELSE 0 END) AS overdue_amount, "
            f"COUNT(*) AS items FROM {receivable} r "
            "WHERE r.company_id = %s AND r.status = %s GROUP BY r.customer_id"
            ") t ON t.customer_id = c.id WHERE c.company_id = %s",
            [as_of, company.pk, ReceivableStatus.OPEN, company.pk],
        )
        count = cursor.rowcount
        cursor.execute(f"DELETE FROM {by_due} WHERE company_id = %s", [company.pk])
        cursor.execute(
            f"INSERT INTO {by_due} (company_id, due_date, open_amount, open_items) "
            "SELECT company_id, due_date, SUM(open_amount), COUNT(*) "
            f"FROM {receivable} WHERE company_id = %s AND status = %s "
            "GROUP BY company_id, due_date",
            [company.pk, ReceivableStatus.OPEN],
        )
        OpenBalanceState.objects.update_or_create(
            company=company,
            defaults={
                "import_run_id": _latest_snapshot(company).first(),
                "computed_on": as_of,
                "computed_at": timezone.now(),
            },
        )
    return count


def fresh_open_balances(company: Company) -> OpenBalanceState | None:
    """The state of ``company``'s open balances if no snapshot was applied since they were
    computed, else None: the caller then computes live. One query."""
    latest = Subquery(_latest_snapshot(company))
    return OpenBalanceState.objects.filter(company=company, import_run_id=latest).first()
