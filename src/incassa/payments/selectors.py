"""Reading what the matcher and the matching page need: open items, known payers, entries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from django.db.models import Count, QuerySet

from incassa.core import bulk
from incassa.core.fields import from_cents
from incassa.ledger.models import Company, Customer, Receivable, ReceivableStatus
from incassa.payments.matching import KnownPayers, OpenItem
from incassa.payments.models import BankEntry, BankStatement, EntryStatus, PayerAccount

REVIEW_STATUSES = (EntryStatus.UNMATCHED, EntryStatus.PROPOSED)


def open_items_for_matching(
    company: Company, currency: str = "EUR", customer_ids: Iterable[int] | None = None
) -> list[OpenItem]:
    """The company's open items in ``currency`` as the matcher reads them: one query, read a
    hundred thousand rows at a time (a million items are a few seconds, never a query each)."""
    sql = (
        "SELECT id, customer_id, document_number, document_date, due_date, open_amount "
        f"FROM {Receivable._meta.db_table} WHERE company_id = %s AND status = %s "
        "AND currency = %s AND open_amount <> 0"
    )
    params: list = [company.pk, ReceivableStatus.OPEN.value, currency]
    if customer_ids is not None:
        ids = sorted(set(customer_ids))
        if not ids:
            return []
        sql += f" AND customer_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    frame = bulk.fetch_frame(
        sql,
        params,
        {
            "id": pl.Int64,
            "customer_id": pl.Int64,
            "document_number": pl.Utf8,
            "document_date": pl.Date,
            "due_date": pl.Date,
            "open_amount": pl.Int64,
        },
    )
    return [
        OpenItem(
            item_id=pk,
            customer_id=customer_id,
            document_number=number,
            # Items without a document date are dated by their due date: the matcher only
            # uses the year, to tell "123/2026" from "123/2025".
            document_date=document_date or due_date,
            due_date=due_date,
            open_amount=from_cents(cents),
        )
        for pk, customer_id, number, document_date, due_date, cents in frame.iter_rows()
    ]


def known_payers(company: Company) -> KnownPayers:
    """IBANs learned from confirmed matches, and every customer's name (and the names its
    payers used), for the matcher's "who paid" rules."""
    by_iban: dict[str, Hashable] = {}
    names: dict[Hashable, set[str]] = defaultdict(set)
    for iban, customer_id, name in PayerAccount.objects.filter(company=company).values_list(
        "iban", "customer_id", "name"
    ):
        by_iban[iban] = customer_id
        if name:
            names[customer_id].add(name)
    for customer_id, name in Customer.objects.filter(company=company).values_list("id", "name"):
        if name:
            names[customer_id].add(name)
    return KnownPayers(customers_by_iban=by_iban, names_by_customer=names)


def entries_for_review(company: Company, status: str = "review") -> QuerySet[BankEntry]:
    """The company's entries in a page's tab: ``review`` (what waits for a person), a
    status, or ``all``."""
    entries = BankEntry.objects.filter(company=company).select_related("customer", "statement")
    if status == "review":
        entries = entries.filter(status__in=REVIEW_STATUSES)
    elif status != "all":
        entries = entries.filter(status=status)
    return entries.order_by("-booking_date", "-id")


def entry_counts(company: Company) -> dict[str, int]:
    counts = {s.value: 0 for s in EntryStatus}
    for status, number in _grouped(company):
        counts[status] = number
    counts["review"] = counts[EntryStatus.UNMATCHED] + counts[EntryStatus.PROPOSED]
    return counts


def _grouped(company: Company) -> list[tuple[str, int]]:
    return list(
        BankEntry.objects.filter(company=company)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )


@dataclass(frozen=True)
class Candidate:
    """An open item offered on the matching page, with what a suggestion would pay of it."""

    item: Receivable
    suggested: Decimal | None


@dataclass(frozen=True)
class SuggestionView:
    """One of the matcher's readings, resolved to customer and items for the page."""

    index: int
    customer: Customer | None
    allocations: list[tuple[Receivable, Decimal]]
    reason: str

    @property
    def total(self) -> Decimal:
        return sum((amount for _item, amount in self.allocations), Decimal("0.00"))


def entry_suggestions(entry: BankEntry) -> list[SuggestionView]:
    """The entry's stored suggestions whose items are still open, best first."""
    item_ids = {a[0] for s in entry.suggestions for a in s.get("allocations", [])}
    items = {
        r.pk: r
        for r in Receivable.objects.filter(
            company_id=entry.company_id, pk__in=item_ids, status=ReceivableStatus.OPEN
        ).select_related("customer")
    }
    views = []
    for index, suggestion in enumerate(entry.suggestions):
        allocations = [
            (items[item_id], Decimal(amount))
            for item_id, amount in suggestion.get("allocations", [])
            if item_id in items
        ]
        if not allocations or len(allocations) != len(suggestion.get("allocations", [])):
            continue  # an item was paid or closed since: the reading no longer holds
        views.append(
            SuggestionView(
                index=index,
                customer=allocations[0][0].customer,
                allocations=allocations,
                reason=suggestion.get("reason", ""),
            )
        )
    return views


def customer_open_items(customer: Customer, limit: int = 200) -> list[Receivable]:
    """A customer's open items, oldest due first: what a payment may be split across."""
    return list(
        Receivable.objects.filter(
            company_id=customer.company_id, customer=customer, status=ReceivableStatus.OPEN
        )
        .exclude(open_amount=0)
        .order_by("due_date", "document_number", "id")[:limit]
    )


def statement_history(company: Company) -> QuerySet[BankStatement]:
    return BankStatement.objects.filter(company=company).select_related("import_run")
