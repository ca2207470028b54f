"""Operations on payments: importing a statement, matching its credits, booking them.

Booking a payment changes the ledger the way a snapshot would: the item's open amount goes
down, it closes when nothing is left (on the day the bank booked the payment, so the
customer's payment history and the promises see the right date), every change is a
``ReceivableEvent``, and what was still to go out for a closed item is cancelled
(``payments_booked``). The item is also watched (``ledger.BankPaidItem``) until an ERP
snapshot agrees, so that a snapshot that is behind the bank never reopens it.

Every operation is one transaction; the items it changes are locked first (row locks on
PostgreSQL, the database's write lock on SQLite), so two people confirming the same payment,
or a confirmation and an import, cannot both book it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incassa.core import bulk
from incassa.core.users import recorded_user
from incassa.ledger.models import (
    BankPaidItem,
    BankPaidStatus,
    Company,
    Customer,
    EventKind,
    ImportKind,
    ImportRun,
    ImportStatus,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
)
from incassa.ledger.services import ImportRejected
from incassa.ledger.signals import ledger_changed
from incassa.payments import matching, statements, statements_csv
from incassa.payments.models import (
    BankEntry,
    BankStatement,
    EntryStatus,
    PayerAccount,
    PaymentAllocation,
)
from incassa.payments.selectors import known_payers, open_items_for_matching
from incassa.payments.signals import payments_booked

ZERO = Decimal("0.00")
KEY_LENGTH = BankEntry._meta.get_field("key").max_length
MATCH_FIELDS = [
    "confidence", "reasons", "suggestions", "customer", "status", "is_automatic", "matched_at",
]  # fmt: skip
WATCH_FIELDS = [
    "paid_amount", "paid_on", "status", "erp_open_amount", "flagged_on", "flagged_by_import",
    "settled_on", "checked_at", "checked_by",
]  # fmt: skip
MAX_REPORTED_ERRORS = 1000


class PaymentError(Exception):
    """An operation a person asked for that cannot be done; the message says why."""


@dataclass
class StatementImportResult:
    import_run: ImportRun
    statements: list[BankStatement] = field(default_factory=list)
    new_credits: int = 0
    known_credits: int = 0
    debits: int = 0
    pending: int = 0
    matched: int = 0
    proposed: int = 0
    unmatched: int = 0
    items_closed: int = 0
    items_reduced: int = 0
    amount_booked: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        return {
            "import_id": self.import_run.pk,
            "status": self.import_run.status,
            "file": self.import_run.file_name,
            "statements": len(self.statements),
            "new_credits": self.new_credits,
            "known_credits": self.known_credits,
            "debits_skipped": self.debits,
            "pending_skipped": self.pending,
            "matched": self.matched,
            "proposed": self.proposed,
            "unmatched": self.unmatched,
            "items_closed": self.items_closed,
            "items_reduced": self.items_reduced,
            "amount_booked": f"{self.amount_booked:.2f}",
        }


def is_structured_statement(data: bytes) -> bool:
    """Whether a file is camt XML or MT940 (read as such), rather than a CSV export (which
    needs its columns checked): the one rule the import and the upload page both follow."""
    head = data[:8192].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"<", b"\xff\xfe", b"\xfe\xff", b"{1:")) or bool(
        re.search(rb"(?m)^:20:", head)
    )


def read_statement_file(
    name: str,
    data: bytes,
    *,
    mapping: Mapping[str, str] | None = None,
    account_iban: str = "",
) -> tuple[list[statements.Statement], list[Any]]:
    """The statements in a file and, for a CSV export, its rejected rows.

    camt (XML) and MT940 (``:20:`` fields) are recognised by their content; anything else is
    read as a CSV export with the column mapping. Raises ``StatementError`` for a file that
    cannot be read.
    """
    if is_structured_statement(data):
        return statements.read_statements(name, data), []
    read = statements_csv.read_csv_statement(name, data, mapping=mapping, account_iban=account_iban)
    return ([read.statement] if read.statement is not None else []), list(read.errors)


def statement_import(
    *,
    company: Company,
    name: str,
    data: bytes,
    mapping: Mapping[str, str] | None = None,
    account_iban: str = "",
    skip_invalid: bool = False,
    user: Any = None,
    source: str = "",
    today: dt.date | None = None,
) -> StatementImportResult:
    """Import a statement file: keep its new credits, match them, book the sure matches.

    Entries already imported (same key) are skipped, so the same file, or two overlapping
    statements, book nothing twice. Raises ``ImportRejected`` (nothing applied) for a file
    that cannot be read, or with rejected CSV rows unless ``skip_invalid``.
    """
    today = today or timezone.localdate()
    run = ImportRun(
        company=company,
        kind=ImportKind.STATEMENT,
        file_name=Path(name).name[:500],
        checksum=hashlib.sha256(data).hexdigest(),
        as_of=today,
        status=ImportStatus.FAILED,
        imported_by=recorded_user(user),
        source=source[:200],
        started_at=timezone.now(),
    )
    try:
        read, row_errors = read_statement_file(
            name, data, mapping=mapping, account_iban=account_iban
        )
    except statements.StatementError as exc:
        _reject(run, str(exc), [])
    if row_errors and (not skip_invalid or not read):
        _reject(
            run,
            f"{len(row_errors)} problem(s) in the file: nothing was imported "
            "(fix the file, or use --skip-invalid to import the valid rows)",
            row_errors,
        )
    if not read:
        _reject(run, f"{name}: the file contains no statement", [])

    result = StatementImportResult(import_run=run)
    try:
        with transaction.atomic():
            bulk.lock_for_writing(Receivable)
            run.save()
            entries = _store_entries(company, run, read, result)
            if entries:
                _match_and_book(company, run, entries, result, user=None)
            run.status = ImportStatus.APPLIED
            run.rows_read = sum(len(s.entries) for s in read)
            run.rows_rejected = len({e.row for e in row_errors})
            run.created = result.new_credits
            run.unchanged = result.known_credits
            run.closed = result.items_closed
            run.updated = result.items_reduced
            run.report = {
                **result.as_dict(),
                "errors_total": len(row_errors),
                "errors": [_error_dict(e) for e in row_errors[:MAX_REPORTED_ERRORS]],
            }
            run.finished_at = timezone.now()
            run.save()
            ledger_changed.send(sender=ImportRun, company=company, as_of=today)
    except Exception as exc:
        run.pk = None
        run.status = ImportStatus.FAILED
        run.message = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.report = {}
        run.save()
        raise
    return result


def _error_dict(error: Any) -> dict[str, Any]:
    return {"row": error.row, "column": error.column, "value": error.value, "reason": error.reason}


def _reject(run: ImportRun, message: str, errors: Sequence[Any]) -> None:
    run.status = ImportStatus.REJECTED
    run.message = message[:2000]
    run.rows_rejected = len({e.row for e in errors})
    run.report = {
        "errors_total": len(errors),
        "errors": [_error_dict(e) for e in list(errors)[:MAX_REPORTED_ERRORS]],
    }
    run.finished_at = timezone.now()
    run.save()
    raise ImportRejected(message, run, errors)


def stored_key(key: str) -> str:
    """The entry key as stored (200 characters at most): a longer one keeps its start and
    ends with a hash of the whole, so two long keys sharing their start stay apart."""
    if len(key) <= KEY_LENGTH:
        return key
    return f"{key[: KEY_LENGTH - 41]}#{hashlib.sha256(key.encode()).hexdigest()[:40]}"


def _store_entries(
    company: Company,
    run: ImportRun,
    read: list[statements.Statement],
    result: StatementImportResult,
) -> list[BankEntry]:
    """Save the statements and their credits not imported before; return the new entries."""
    credits = []
    for statement in read:
        for entry in statement.entries:
            if not entry.credit:
                result.debits += 1
            elif entry.status in ("PDNG", "INFO"):
                result.pending += 1  # not booked yet: the next statement books it
            else:
                credits.append((statement, entry))
    keys = [stored_key(entry.entry_key) for _s, entry in credits]
    known = set()
    for start in range(0, len(keys), 1000):
        known.update(
            BankEntry.objects.filter(
                company=company, key__in=keys[start : start + 1000]
            ).values_list("key", flat=True)
        )
    result.known_credits = sum(1 for key in keys if key in known)

    stored: dict[int, BankStatement] = {}
    for statement in read:
        stored[id(statement)] = BankStatement.objects.create(
            company=company,
            import_run=run,
            format=statement.format,
            statement_id=statement.statement_id[:200],
            account=(statement.account_iban or statement.account_id)[:60],
            currency=statement.currency or "EUR",
            opening_balance=statement.opening_balance,
            closing_balance=statement.closing_balance,
            opening_date=statement.opening_date,
            closing_date=statement.closing_date,
            entries_read=len(statement.entries),
            credits_new=sum(1 for s, e in credits if s is statement and e.entry_key not in known),
            credits_known=sum(1 for s, e in credits if s is statement and e.entry_key in known),
        )
        result.statements.append(stored[id(statement)])
    new = [
        BankEntry(
            company=company,
            statement=stored[id(statement)],
            key=stored_key(entry.entry_key),
            booking_date=entry.booking_date or entry.value_date or run.as_of,
            value_date=entry.value_date,
            amount=entry.amount,
            currency=entry.currency or statement.currency or "EUR",
            payer_name=entry.counterparty_name[:200],
            payer_iban=matching.normalise_iban(entry.counterparty_iban)[:40],
            remittance=" ".join(part for part in (entry.remittance, entry.additional_info) if part),
            references="\n".join(entry.references),
            end_to_end_id=entry.end_to_end_id[:100],
            bank_reference=entry.bank_reference[:100],
        )
        for statement, entry in credits
        if stored_key(entry.entry_key) not in known
    ]
    # Two entries of one file with one key cannot happen (the reader numbers repeats).
    BankEntry.objects.bulk_create(new, batch_size=1000)
    if new and not all(e.pk for e in new):
        ids = dict(
            BankEntry.objects.filter(company=company, key__in=[e.key for e in new]).values_list(
                "key", "id"
            )
        )
        for entry in new:
            entry.pk = ids[entry.key]
    result.new_credits = len(new)
    return new


# --------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------


def _credit(entry: BankEntry) -> matching.Credit:
    return matching.Credit(
        key=str(entry.pk),
        amount=entry.unallocated_amount,
        booking_date=entry.booking_date,
        payer_name=entry.payer_name,
        payer_iban=entry.payer_iban,
        remittance=entry.remittance,
        references=tuple(entry.reference_list),
    )


def _suggestions(match: matching.Match, booked: bool) -> list[dict[str, Any]]:
    """The readings a person may pick: the matcher's own (when it is not booked) first, then
    its alternatives. Item ids and amounts as text, for JSON."""
    readings = []
    if match.allocations and not booked:
        readings.append(
            {
                "customer_id": match.customer_id,
                "allocations": [[a.item_id, f"{a.amount:.2f}"] for a in match.allocations],
                "reason": match.reasons[-1].code if match.reasons else "",
            }
        )
    for suggestion in match.suggestions:
        readings.append(
            {
                "customer_id": suggestion.customer_id,
                "allocations": [[a.item_id, f"{a.amount:.2f}"] for a in suggestion.allocations],
                "reason": suggestion.reason,
            }
        )
    return readings


def _match_and_book(
    company: Company,
    run: ImportRun | None,
    entries: list[BankEntry],
    result: StatementImportResult | None,
    user: Any,
) -> tuple[int, int, int]:
    """Match ``entries`` against the open items; book the sure ones, propose the rest.
    Returns (booked, proposed, unmatched)."""
    payers = known_payers(company)
    # A person undid these matches: the matcher's reading is proposed again, never booked.
    undone = set(
        PaymentAllocation.objects.filter(
            entry__in=[e.pk for e in entries], reversed_at__isnull=False
        ).values_list("entry_id", flat=True)
    )
    by_currency: dict[str, list[BankEntry]] = defaultdict(list)
    for entry in entries:
        by_currency[entry.currency].append(entry)
    to_book: list[tuple[BankEntry, list[tuple[int, Decimal]]]] = []
    now = timezone.now()
    booked = proposed = unmatched = 0
    for currency, group in by_currency.items():
        items = open_items_for_matching(company, currency)
        matches = matching.match_batch([_credit(e) for e in group], items, payers)
        for entry, match in zip(group, matches, strict=True):
            entry.confidence = int(match.confidence)
            entry.reasons = [{"code": r.code, "text": r.text} for r in match.reasons]
            sure = match.confidence == matching.Confidence.HIGH and entry.pk not in undone
            entry.suggestions = _suggestions(match, booked=sure and bool(match.allocations))
            entry.customer_id = match.customer_id
            if sure and match.allocations:
                to_book.append((entry, [(a.item_id, a.amount) for a in match.allocations]))
                entry.status = EntryStatus.MATCHED
                entry.is_automatic = True
                entry.matched_at = now
                booked += 1
            elif entry.suggestions:
                entry.status = EntryStatus.PROPOSED
                proposed += 1
            else:
                entry.status = EntryStatus.UNMATCHED
                unmatched += 1
    BankEntry.objects.bulk_update(
        entries,
        MATCH_FIELDS,
        batch_size=1000,
    )
    closed, reduced, amount = _book(
        company, to_book, user=user, automatic=True, run=run, today=run.as_of if run else None
    )
    if result is not None:
        result.matched, result.proposed, result.unmatched = booked, proposed, unmatched
        result.items_closed, result.items_reduced, result.amount_booked = closed, reduced, amount
    return booked, proposed, unmatched


def entries_rematch(*, company: Company, user: Any = None) -> tuple[int, int, int]:
    """Read again every entry that waits for a person: new items (e-invoices, a snapshot)
    or a payer learned since may make it sure. Returns (booked, proposed, unmatched)."""
    with transaction.atomic():
        bulk.lock_for_writing(Receivable)
        entries = list(
            BankEntry.objects.select_for_update().filter(
                company=company, status__in=[EntryStatus.UNMATCHED, EntryStatus.PROPOSED]
            )
        )
        if not entries:
            return 0, 0, 0
        counts = _match_and_book(company, None, entries, None, user)
        if counts[0]:
            ledger_changed.send(sender=BankEntry, company=company, as_of=timezone.localdate())
        return counts


# --------------------------------------------------------------------------------------
# Booking and undoing
# --------------------------------------------------------------------------------------


def _book(
    company: Company,
    plan: Sequence[tuple[BankEntry, Sequence[tuple[int, Decimal]]]],
    *,
    user: Any,
    automatic: bool,
    run: ImportRun | None,
    today: dt.date | None = None,
) -> tuple[int, int, Decimal]:
    """Set ``plan``'s amounts against its items, set-based. Returns (items closed, items
    reduced, amount booked). Raises ``PaymentError`` when an item is no longer open or
    owes less than asked (nothing is booked then)."""
    if not plan:
        return 0, 0, ZERO
    ids = sorted({item_id for _e, allocations in plan for item_id, _a in allocations})
    items: dict[int, Receivable] = {}
    for start in range(0, len(ids), 1000):
        for item in Receivable.objects.select_for_update().filter(
            company=company, pk__in=ids[start : start + 1000]
        ):
            items[item.pk] = item
    today = today or timezone.localdate()
    allocations: list[PaymentAllocation] = []
    events: list[ReceivableEvent] = []
    paid: dict[int, tuple[Decimal, dt.date]] = {}
    changed: dict[int, Receivable] = {}
    closed = 0
    total = ZERO
    for entry, parts in plan:
        entry_total = ZERO
        for item_id, amount in parts:
            item = items.get(item_id)
            if item is None or item.status != ReceivableStatus.OPEN:
                raise PaymentError(
                    _("Item %(item)s is no longer open: it was paid or closed meanwhile.")
                    % {"item": item.document_number if item else item_id}
                )
            if item.currency != entry.currency:
                raise PaymentError(
                    _("Item %(item)s is in %(item_currency)s, the payment in %(currency)s.")
                    % {
                        "item": item.document_number,
                        "item_currency": item.currency,
                        "currency": entry.currency,
                    }
                )
            before = item.open_amount
            if amount == 0 or (amount > 0) != (before > 0) or abs(amount) > abs(before):
                raise PaymentError(
                    _("Item %(item)s owes %(open)s: %(amount)s cannot be set against it.")
                    % {"item": item.document_number, "open": before, "amount": amount}
                )
            after = before - amount
            item.open_amount = after
            item.last_changed_on = today
            if after == 0:
                item.status = ReceivableStatus.CLOSED
                item.closed_on = entry.booking_date
                closed += 1
            changed[item.pk] = item
            events.append(
                ReceivableEvent(
                    receivable_id=item.pk,
                    kind=EventKind.CLOSED if after == 0 else EventKind.AMOUNT_CHANGED,
                    on_date=entry.booking_date,
                    amount_before=before,
                    amount_after=after,
                    import_run=run or entry.statement.import_run,
                )
            )
            allocations.append(
                PaymentAllocation(
                    entry=entry,
                    receivable_id=item.pk,
                    amount=amount,
                    open_amount_before=before,
                    is_automatic=automatic,
                    created_by=recorded_user(user),
                )
            )
            sum_before, day_before = paid.get(item.pk, (ZERO, entry.booking_date))
            paid[item.pk] = (sum_before + amount, max(day_before, entry.booking_date))
            entry_total += amount
        if entry_total > entry.unallocated_amount:
            raise PaymentError(
                _("The items add up to %(total)s, more than the %(left)s left of the payment.")
                % {"total": entry_total, "left": entry.unallocated_amount}
            )
        entry.allocated_amount += entry_total
        total += entry_total
    Receivable.objects.bulk_update(
        changed.values(), ["open_amount", "status", "closed_on", "last_changed_on"], batch_size=1000
    )
    ReceivableEvent.objects.bulk_create(events, batch_size=1000)
    PaymentAllocation.objects.bulk_create(allocations, batch_size=1000)
    BankEntry.objects.bulk_update([e for e, _p in plan], ["allocated_amount"], batch_size=1000)
    _watch_bank_paid(company, paid)
    # Reviewed as of the last day the bank reported: a promise due later is not judged yet.
    last_day = max(entry.booking_date for entry, _p in plan)
    payments_booked.send(sender=BankEntry, company=company, on_date=last_day, closed=closed)
    return closed, len(changed) - closed, total


def _watch_bank_paid(company: Company, paid: Mapping[int, tuple[Decimal, dt.date]]) -> None:
    """Watch the items until an ERP snapshot agrees with what the bank paid."""
    existing = {
        w.receivable_id: w
        for w in BankPaidItem.objects.select_for_update().filter(receivable_id__in=list(paid))
    }
    create, update = [], []
    for item_id, (amount, day) in paid.items():
        watch = existing.get(item_id)
        if watch is None:
            create.append(
                BankPaidItem(
                    receivable_id=item_id, company=company, paid_amount=amount, paid_on=day
                )
            )
            continue
        if watch.status in (BankPaidStatus.BOOKED, BankPaidStatus.REVERSED):
            # A new payment after the ERP caught up: a new watch, the old story kept in events.
            watch.paid_amount = ZERO
            watch.erp_open_amount = None
            watch.flagged_on = None
            watch.flagged_by_import = None
            watch.settled_on = None
            watch.checked_at = None
            watch.checked_by = None
        watch.paid_amount += amount
        watch.paid_on = max(watch.paid_on, day)
        watch.status = (
            BankPaidStatus.WAITING
            if watch.status != BankPaidStatus.DIFFERS
            else (BankPaidStatus.DIFFERS)
        )
        update.append(watch)
    BankPaidItem.objects.bulk_create(create, batch_size=1000)
    BankPaidItem.objects.bulk_update(
        update,
        WATCH_FIELDS,
        batch_size=1000,
    )


def _locked_entry(entry: BankEntry) -> BankEntry:
    return (
        BankEntry.objects.select_for_update()
        .select_related("statement__import_run")
        .get(pk=entry.pk)
    )


def _learn_payer(entry: BankEntry, customer_id: int) -> None:
    """Remember that this IBAN pays for this customer, unless it is known for another."""
    if entry.payer_iban:
        PayerAccount.objects.get_or_create(
            company_id=entry.company_id,
            iban=entry.payer_iban,
            defaults={"customer_id": customer_id, "name": entry.payer_name[:200]},
        )


def entry_allocate(
    *,
    entry: BankEntry,
    allocations: Sequence[tuple[int, Decimal]],
    user: Any = None,
    note: str = "",
) -> BankEntry:
    """Book a payment against the items a person chose, with the amounts they chose
    (confirming a suggestion, or splitting a payment). What is left stays on account."""
    parts = [(int(item_id), Decimal(amount)) for item_id, amount in allocations if amount]
    if not parts:
        raise PaymentError(_("Choose at least one item and an amount."))
    if len({item_id for item_id, _a in parts}) != len(parts):
        raise PaymentError(_("Each item may be chosen once."))
    with transaction.atomic():
        bulk.lock_for_writing(Receivable)
        entry = _locked_entry(entry)
        if entry.status == EntryStatus.IGNORED:
            raise PaymentError(_("This payment was set aside: take it back first."))
        if entry.unallocated_amount <= 0:
            raise PaymentError(_("This payment is already wholly matched."))
        _book(entry.company, [(entry, parts)], user=user, automatic=False, run=None)
        customers = set(
            Receivable.objects.filter(pk__in=[i for i, _a in parts]).values_list(
                "customer_id", flat=True
            )
        )
        if len(customers) == 1:
            entry.customer_id = customers.pop()
            _learn_payer(entry, entry.customer_id)
        entry.status = EntryStatus.MATCHED
        entry.is_automatic = False
        entry.matched_at = timezone.now()
        entry.matched_by = recorded_user(user)
        if note:
            entry.note = note[:2000]
        entry.save()
        ledger_changed.send(sender=BankEntry, company=entry.company, as_of=timezone.localdate())
    return entry


def entry_assign(*, entry: BankEntry, customer: Customer, user: Any = None) -> BankEntry:
    """Book a payment against a customer's items, oldest due first (the usual rule when a
    customer pays without saying what for), its open credit notes netted first; what is
    left stays on account."""
    if customer.company_id != entry.company_id:
        raise PaymentError(_("This customer is not of the payment's company."))
    items = list(
        Receivable.objects.filter(
            company_id=entry.company_id,
            customer=customer,
            status=ReceivableStatus.OPEN,
            currency=entry.currency,
        )
        .exclude(open_amount=0)
        .order_by("due_date", "document_number", "id")
    )
    credit_notes = [(i.pk, i.open_amount) for i in items if i.open_amount < 0]
    available = entry.unallocated_amount - sum((a for _i, a in credit_notes), ZERO)
    invoices: list[tuple[int, Decimal]] = []
    for item in items:
        if item.open_amount > 0 and available > 0:
            amount = min(item.open_amount, available)
            invoices.append((item.pk, amount))
            available -= amount
    parts = credit_notes + invoices
    if sum((a for _i, a in parts), ZERO) <= 0:
        parts = invoices  # the credit notes outweigh what is owed: leave them be
    if not parts:
        with transaction.atomic():
            entry = _locked_entry(entry)
            if entry.status == EntryStatus.IGNORED:
                raise PaymentError(_("This payment was set aside: take it back first."))
            entry.customer = customer
            entry.status = EntryStatus.MATCHED
            entry.matched_at = timezone.now()
            entry.matched_by = recorded_user(user)
            entry.save()
            _learn_payer(entry, customer.pk)
        return entry
    entry = entry_allocate(entry=entry, allocations=parts, user=user)
    if entry.customer_id != customer.pk:
        entry.customer = customer
        entry.save(update_fields=["customer"])
    return entry


def entry_ignore(*, entry: BankEntry, user: Any = None, note: str = "") -> BankEntry:
    """Set a credit aside as not a customer's payment (a refund, a transfer between the
    company's own accounts, a grant...): it leaves the matching page."""
    with transaction.atomic():
        entry = _locked_entry(entry)
        if entry.allocations.filter(reversed_at__isnull=True).exists():
            raise PaymentError(_("This payment is matched: undo the match first."))
        entry.status = EntryStatus.IGNORED
        entry.matched_by = recorded_user(user)
        entry.matched_at = timezone.now()
        entry.note = note[:2000]
        entry.save()
    return entry


def entry_undo(*, entry: BankEntry, user: Any = None) -> BankEntry:
    """Take back a payment's match (or its setting aside): the items owe again what it
    paid, and it waits on the matching page again."""
    today = timezone.localdate()
    with transaction.atomic():
        bulk.lock_for_writing(Receivable)
        entry = _locked_entry(entry)
        active = list(entry.allocations.select_for_update().filter(reversed_at__isnull=True))
        item_ids = [a.receivable_id for a in active]
        items = {r.pk: r for r in Receivable.objects.select_for_update().filter(pk__in=item_ids)}
        watches = {
            w.receivable_id: w
            for w in BankPaidItem.objects.select_for_update().filter(receivable_id__in=item_ids)
        }
        events = []
        now = timezone.now()
        reopened = 0
        for allocation in active:
            item = items[allocation.receivable_id]
            watch = watches.get(item.pk)
            if watch is not None and watch.status == BankPaidStatus.BOOKED:
                raise PaymentError(
                    _(
                        "The ERP has booked item %(item)s since: correct it in the ERP, the "
                        "next snapshot brings the change."
                    )
                    % {"item": item.document_number}
                )
            before = item.open_amount
            item.open_amount = before + allocation.amount
            item.last_changed_on = today
            kind = EventKind.AMOUNT_CHANGED
            if item.status == ReceivableStatus.CLOSED:
                item.status = ReceivableStatus.OPEN
                item.closed_on = None
                kind = EventKind.REOPENED
                reopened += 1
            events.append(
                ReceivableEvent(
                    receivable_id=item.pk,
                    kind=kind,
                    on_date=today,
                    amount_before=before,
                    amount_after=item.open_amount,
                    import_run=entry.statement.import_run,
                )
            )
            allocation.reversed_at = now
            allocation.reversed_by = recorded_user(user)
            if watch is not None:
                watch.paid_amount -= allocation.amount
                if watch.paid_amount <= 0:
                    watch.status = BankPaidStatus.REVERSED
                    watch.paid_amount = ZERO
        Receivable.objects.bulk_update(
            items.values(), ["open_amount", "status", "closed_on", "last_changed_on"]
        )
        ReceivableEvent.objects.bulk_create(events)
        PaymentAllocation.objects.bulk_update(active, ["reversed_at", "reversed_by"])
        BankPaidItem.objects.bulk_update(watches.values(), ["paid_amount", "status"])
        entry.allocated_amount = ZERO
        entry.status = EntryStatus.PROPOSED if entry.suggestions else EntryStatus.UNMATCHED
        entry.is_automatic = False
        entry.matched_at = None
        entry.matched_by = None
        entry.save()
        if active:
            ledger_changed.send(sender=BankEntry, company=entry.company, as_of=today)
    return entry


def bank_paid_check(*, watch: BankPaidItem, user: Any = None, note: str = "") -> BankPaidItem:
    """An accountant looked at an item the ERP still shows open: who, when and what they
    noted (booking it in the ERP is theirs; the next snapshot then agrees)."""
    with transaction.atomic():
        watch = BankPaidItem.objects.select_for_update().get(pk=watch.pk)
        watch.checked_at = timezone.now()
        watch.checked_by = recorded_user(user)
        watch.note = note[:2000]
        watch.save(update_fields=["checked_at", "checked_by", "note"])
    return watch
