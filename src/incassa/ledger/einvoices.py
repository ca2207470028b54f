"""Importing the e-invoices (FatturaPA) a company issued: customers and open items.

``fatturapa.read_einvoices`` says what each file holds; this service decides what becomes of
it, all or nothing in one transaction:

- the **customer** is found by VAT number, then fiscal code, then by the code an earlier
  e-invoice gave it (its VAT id or fiscal code); a new buyer becomes a customer with that code.
  What the invoice says of the buyer (name, address, PEC, recipient code) is written over what
  was stored: the e-invoice is the legal document;
- every **installment** (DettaglioPagamento) is an open item due on its date; without a date,
  by the customer's payment terms, else on the invoice date. A credit note's items are
  negative. Installments of one invoice due the same day are one item;
- an item the ledger already has under the same natural key (customer, number, due date) --
  because the ERP's snapshot listed it first -- is the **same item**: it is linked, not
  duplicated, and its amounts are left as the ledger knows them;
- an invoice already imported (same type, number and date) is **skipped**: importing the same
  file twice changes nothing.

A file is refused when it cannot be read (see ``fatturapa``), when the company did not issue it
(the seller's VAT number is not the company's), or when it is a document that is not a claim on
a customer (self-billing, TD16-TD29). Unless ``skip_invalid``, one refused file refuses the
batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from incassa.core import bulk
from incassa.core.fields import CENT
from incassa.core.users import recorded_user
from incassa.ledger import fatturapa
from incassa.ledger.models import (
    Company,
    Customer,
    DocumentType,
    EInvoice,
    EInvoiceInstallment,
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
from incassa.ledger.terms import parse_payment_terms

__all__ = ["EInvoiceImportResult", "EInvoiceOutcome", "einvoices_import", "read_paths"]

# Documents that are a claim on the customer (or reduce one). Self-billing and the other
# "integrazione" documents are the buyer's own paperwork, never owed to the company.
RECEIVABLE_TYPES = {
    "TD01": DocumentType.INVOICE,
    "TD02": DocumentType.INVOICE,
    "TD03": DocumentType.INVOICE,
    "TD04": DocumentType.CREDIT_NOTE,
    "TD05": DocumentType.DEBIT_NOTE,
    "TD06": DocumentType.INVOICE,
    "TD24": DocumentType.INVOICE,
    "TD25": DocumentType.INVOICE,
}
NO_RECIPIENT_CODE = "0000000"
MAX_REPORTED = 1000


@dataclass
class EInvoiceOutcome:
    """What became of one document, or of one file that gave none."""

    file: str
    number: str = ""
    date: dt.date | None = None
    document_type: str = ""
    customer_code: str = ""
    customer_name: str = ""
    total: Decimal | None = None
    items: int = 0
    status: str = ""  # imported, already imported, linked, rejected
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "number": self.number,
            "date": self.date.isoformat() if self.date else "",
            "document_type": self.document_type,
            "customer_code": self.customer_code,
            "customer_name": self.customer_name,
            "total": f"{self.total:.2f}" if self.total is not None else "",
            "items": self.items,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass
class EInvoiceImportResult:
    import_run: ImportRun
    outcomes: list[EInvoiceOutcome] = field(default_factory=list)

    @property
    def rejected(self) -> list[EInvoiceOutcome]:
        return [o for o in self.outcomes if o.status == "rejected"]


def read_paths(paths: Iterable[str | Path]) -> list[tuple[str, bytes | int]]:
    """The files named on a command line, folders read for their XML, P7M and ZIP files.

    A file larger than any e-invoice or archive may be is not read: its size stands in for
    its bytes, and the import refuses it saying so.
    """
    files: list[tuple[str, bytes | int]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            members = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.name.lower().endswith((".xml", ".p7m", ".zip"))
            )
        else:
            members = [path]
        for member in members:
            size = member.stat().st_size
            limit = max(fatturapa.MAX_FILE_BYTES, fatturapa.MAX_ZIP_TOTAL_BYTES)
            if size > limit:
                files.append((member.name, size))
                continue
            files.append((member.name, member.read_bytes()))
    return files


def _compact(value: str) -> str:
    return "".join(value.split()).upper()


def _vat_key(country: str, number: str) -> str:
    """Italian VAT numbers compare without their ``IT``; foreign ones with their country."""
    number = _compact(number)
    country = _compact(country)
    if number[:2].isalpha():
        country, number = number[:2], number[2:]
    return number if country in ("", "IT") else f"{country}{number}"


def _customer_keys(customer: Customer) -> list[str]:
    keys = []
    if customer.vat_number:
        keys.append("vat:" + _vat_key("", customer.vat_number))
    if customer.fiscal_code:
        keys.append("cf:" + _compact(customer.fiscal_code))
    return keys


def _buyer_keys(buyer: fatturapa.Party) -> list[str]:
    keys = []
    if buyer.vat_number:
        keys.append("vat:" + _vat_key(buyer.vat_country, buyer.vat_number))
    if buyer.fiscal_code:
        keys.append("cf:" + _compact(buyer.fiscal_code))
    return keys


def _buyer_code(buyer: fatturapa.Party) -> str:
    return (buyer.vat_id or buyer.fiscal_code or "").upper()[:60]


def _buyer_name(buyer: fatturapa.Party) -> str:
    return (buyer.name or f"{buyer.last_name} {buyer.first_name}".strip())[:200]


def _seller_problem(company: Company, invoice: fatturapa.EInvoice) -> str:
    """Why the company cannot have issued ``invoice``; "" when it may have."""
    if not company.vat_number:
        return ""
    ours = _vat_key("", company.vat_number)
    seller = invoice.seller
    theirs = _vat_key(seller.vat_country, seller.vat_number) if seller.vat_number else ""
    if theirs == ours:
        return ""
    return (
        f"issued by {seller.name or _buyer_name(seller) or 'another company'} "
        f"(VAT {seller.vat_id or '-'}), not by {company.name} (VAT {company.vat_number}): "
        "only the company's own invoices are its receivables"
    )


def _document_problem(invoice: fatturapa.EInvoice) -> str:
    if invoice.document_type not in RECEIVABLE_TYPES:
        return (
            f"document type {invoice.document_type} ({invoice.document_type_label}) is not a "
            "claim on a customer"
        )
    if not _buyer_code(invoice.buyer):
        return "the buyer has neither a VAT number nor a fiscal code"
    return ""


def einvoices_import(
    *,
    company: Company,
    files: Sequence[tuple[str, bytes | int]],
    skip_invalid: bool = False,
    user: Any = None,
    source: str = "",
    today: dt.date | None = None,
) -> EInvoiceImportResult:
    """Import ``files`` (name, bytes): XML, signed P7M or ZIP archives of them.

    Raises ``ImportRejected`` (nothing applied, the run records why) when a file or document
    is refused and ``skip_invalid`` is not given, or when nothing at all could be read.
    """
    today = today or timezone.localdate()
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode())
        digest.update(data if isinstance(data, bytes) else str(data).encode())
    names = ", ".join(name for name, _data in files)
    run = ImportRun(
        company=company,
        kind=ImportKind.EINVOICES,
        file_name=names if len(names) <= 500 else names[:497] + "...",
        checksum=digest.hexdigest(),
        as_of=today,
        status=ImportStatus.FAILED,
        imported_by=recorded_user(user),
        source=source[:200],
        started_at=timezone.now(),
    )
    result = EInvoiceImportResult(import_run=run)
    invoices: list[tuple[str, fatturapa.EInvoice]] = []
    for name, data in files:
        if isinstance(data, int):
            limit = max(fatturapa.MAX_FILE_BYTES, fatturapa.MAX_ZIP_TOTAL_BYTES)
            result.outcomes.append(
                EInvoiceOutcome(
                    file=name,
                    status="rejected",
                    reason=f"the file is {data:,} bytes, over the {limit:,} bytes accepted",
                )
            )
            continue
        if not data:
            result.outcomes.append(
                EInvoiceOutcome(file=name, status="rejected", reason="the file is empty")
            )
            continue
        for read in fatturapa.read_einvoices(name, data):
            if not read.ok:
                result.outcomes.append(
                    EInvoiceOutcome(file=read.name, status="rejected", reason=read.error)
                )
                continue
            for invoice in read.invoices:
                problem = _seller_problem(company, invoice) or _document_problem(invoice)
                if problem:
                    result.outcomes.append(_outcome(read.name, invoice, "rejected", problem))
                else:
                    invoices.append((read.name, invoice))

    rejected = result.rejected
    run.rows_read = len(invoices) + len(rejected)
    run.rows_rejected = len(rejected)
    if rejected and (not skip_invalid or not invoices):
        _reject(run, result)
    try:
        with transaction.atomic():
            _apply(company, run, invoices, result, today)
            run.status = ImportStatus.APPLIED
            run.finished_at = timezone.now()
            run.report = _report(result)
            run.message = (
                f"{len(rejected)} file(s) or document(s) skipped: see the report"
                if rejected
                else ""
            )
            run.save()
            if run.created:
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


def _outcome(
    file: str, invoice: fatturapa.EInvoice, status: str, reason: str = ""
) -> EInvoiceOutcome:
    return EInvoiceOutcome(
        file=file,
        number=invoice.number,
        date=invoice.date,
        document_type=invoice.document_type,
        customer_code=_buyer_code(invoice.buyer),
        customer_name=_buyer_name(invoice.buyer),
        total=invoice.total,
        status=status,
        reason=reason,
    )


def _report(result: EInvoiceImportResult) -> dict[str, Any]:
    rejected = result.rejected
    return {
        "documents": [o.as_dict() for o in result.outcomes[:MAX_REPORTED]],
        "documents_total": len(result.outcomes),
        "errors_total": len(rejected),
        # The shape of the other imports' reports, so that the import page lists them alike.
        "errors": [
            {
                "row": i,
                "column": o.file,
                "value": o.number,
                "reason": o.reason,
            }
            for i, o in enumerate(rejected[:MAX_REPORTED], 1)
        ],
    }


def _reject(run: ImportRun, result: EInvoiceImportResult) -> None:
    count = len(result.rejected)
    run.status = ImportStatus.REJECTED
    run.message = (
        f"{count} file(s) or document(s) refused: nothing was imported "
        "(remove them, or use --skip-invalid to import the others)"
        if run.rows_read > count
        else f"{count} file(s) or document(s) refused: nothing could be imported"
    )
    run.report = _report(result)
    run.finished_at = timezone.now()
    run.save()
    raise ImportRejected(run.message, run)


# --------------------------------------------------------------------------------------
# Applying
# --------------------------------------------------------------------------------------


def _apply(
    company: Company,
    run: ImportRun,
    invoices: list[tuple[str, fatturapa.EInvoice]],
    result: EInvoiceImportResult,
    today: dt.date,
) -> None:
    bulk.lock_for_writing(Receivable)
    run.save()
    fresh = _drop_known(company, invoices, result)
    customers = _customers_for(company, [invoice for _file, invoice in fresh], run)

    # One planned item per (customer, number, due date): installments due the same day add up.
    planned: dict[tuple[int, str, dt.date], dict[str, Any]] = {}
    installments: list[tuple[fatturapa.EInvoice, int, fatturapa.Installment, dt.date, str]] = []
    for _file, invoice in fresh:
        customer = customers[_buyer_code(invoice.buyer)]
        for position, installment, due, due_source in _schedule(invoice, customer):
            key = (customer.pk, invoice.number[:60], due)
            entry = planned.setdefault(
                key,
                {
                    "amount": Decimal("0.00"),
                    "document_date": invoice.date,
                    "document_type": RECEIVABLE_TYPES[invoice.document_type],
                    "currency": invoice.currency or "EUR",
                },
            )
            entry["amount"] += installment.amount.quantize(CENT)
            installments.append((invoice, position, installment, due, due_source))

    existing = _existing_items(company, planned)
    new_items = [
        Receivable(
            company=company,
            customer_id=customer_id,
            document_number=number,
            document_date=values["document_date"],
            due_date=due,
            document_type=values["document_type"],
            amount=values["amount"],
            open_amount=values["amount"],
            currency=values["currency"],
            status=ReceivableStatus.OPEN if values["amount"] else ReceivableStatus.CLOSED,
            closed_on=None if values["amount"] else today,
            first_seen_on=today,
            last_changed_on=today,
        )
        for (customer_id, number, due), values in planned.items()
        if (customer_id, number, due) not in existing
    ]
    Receivable.objects.bulk_create(new_items, batch_size=500)
    created = {(r.customer_id, r.document_number, r.due_date): r.pk for r in new_items}
    if not all(created.values()):  # backends that do not return ids from bulk inserts
        created = _existing_items(company, {key: {} for key in created})
    ReceivableEvent.objects.bulk_create(
        [
            ReceivableEvent(
                receivable_id=created[(r.customer_id, r.document_number, r.due_date)],
                kind=EventKind.CREATED,
                on_date=today,
                amount_before=None,
                amount_after=r.open_amount,
                import_run=run,
            )
            for r in new_items
        ],
        batch_size=500,
    )
    item_ids = {**existing, **created}

    documents = {}
    for file, invoice in fresh:
        customer = customers[_buyer_code(invoice.buyer)]
        documents[id(invoice)] = EInvoice(
            company=company,
            customer=customer,
            import_run=run,
            document_type=invoice.document_type,
            number=invoice.number[:60],
            date=invoice.date,
            total=invoice.total,
            currency=invoice.currency or "EUR",
            transmission_format=invoice.transmission_format,
            file_name=file[:500],
            body_index=invoice.body_index,
            payment_terms=(invoice.payment_terms or "")[:4],
        )
    EInvoice.objects.bulk_create(documents.values(), batch_size=500)
    if documents and not all(d.pk for d in documents.values()):
        ids = {
            (d.document_type, d.number, d.date): d.pk
            for d in EInvoice.objects.filter(company=company, import_run=run)
        }
        for document in documents.values():
            document.pk = ids[(document.document_type, document.number, document.date)]
    EInvoiceInstallment.objects.bulk_create(
        [
            EInvoiceInstallment(
                einvoice=documents[id(invoice)],
                receivable_id=item_ids[
                    (customers[_buyer_code(invoice.buyer)].pk, invoice.number[:60], due)
                ],
                position=position,
                amount=installment.amount.quantize(CENT),
                due_date=due,
                due_date_source=due_source,
                payment_method=installment.method[:4],
                iban=installment.iban[:34],
                bic=installment.bic[:11],
                # An item the ledger had before its e-invoice came from a snapshot: the ERP
                # lists it already, and a snapshot without it means it was paid.
                erp_listed_on=today
                if (customers[_buyer_code(invoice.buyer)].pk, invoice.number[:60], due) in existing
                else None,
            )
            for invoice, position, installment, due, due_source in installments
        ],
        batch_size=500,
    )

    for file, invoice in fresh:
        customer = customers[_buyer_code(invoice.buyer)]
        keys = {
            (customer.pk, invoice.number[:60], due)
            for _i, _p, _inst, due, _s in installments
            if _i is invoice
        }
        linked = bool(keys & set(existing))
        outcome = _outcome(file, invoice, "linked" if linked else "imported")
        outcome.customer_code = customer.code
        outcome.customer_name = customer.name
        outcome.items = len(keys)
        result.outcomes.append(outcome)
    run.created = len(new_items)
    run.unchanged = len(existing) + sum(
        1 for o in result.outcomes if o.status == "already imported"
    )


def _drop_known(
    company: Company,
    invoices: list[tuple[str, fatturapa.EInvoice]],
    result: EInvoiceImportResult,
) -> list[tuple[str, fatturapa.EInvoice]]:
    """The documents not imported before (nor earlier in this batch)."""
    numbers = {invoice.number[:60] for _file, invoice in invoices}
    known = set(
        EInvoice.objects.filter(company=company, number__in=numbers).values_list(
            "document_type", "number", "date"
        )
    )
    fresh = []
    for file, invoice in invoices:
        key = (invoice.document_type, invoice.number[:60], invoice.date)
        if key in known:
            result.outcomes.append(
                _outcome(file, invoice, "already imported", "imported before: nothing changed")
            )
            continue
        known.add(key)
        fresh.append((file, invoice))
    return fresh


def _customers_for(
    company: Company, invoices: list[fatturapa.EInvoice], run: ImportRun
) -> dict[str, Customer]:
    """Buyer code -> customer, created or brought up to date from the invoices' buyers."""
    # What the invoices say of each buyer, oldest first: a later invoice's value replaces an
    # earlier one, but a value it leaves out does not blank it (as when imported one by one).
    buyers: dict[str, dict[str, str]] = {}
    parties: dict[str, fatturapa.Party] = {}
    for invoice in sorted(invoices, key=lambda i: (i.date, i.number)):
        code = _buyer_code(invoice.buyer)
        merged = buyers.setdefault(code, {})
        for name, value in _buyer_values(invoice).items():
            if value:
                merged[name] = value
        parties[code] = invoice.buyer
    if not buyers:
        return {}
    by_key: dict[str, Customer] = {}
    by_code: dict[str, Customer] = {}
    wanted_codes = set(buyers)
    candidates = Customer.objects.filter(company=company).exclude(vat_number="", fiscal_code="")
    for customer in candidates.iterator(chunk_size=5000):
        for key in _customer_keys(customer):
            by_key.setdefault(key, customer)
    for customer in Customer.objects.filter(company=company, code__in=wanted_codes):
        by_code[customer.code] = customer

    found: dict[str, Customer] = {}
    to_create: list[Customer] = []
    to_update: list[Customer] = []
    fields = ["name", "address", "postal_code", "city", "province", "country", "pec",
              "recipient_code", "vat_number", "fiscal_code"]  # fmt: skip
    for code, values in buyers.items():
        buyer = parties[code]
        customer = next(
            (by_key[k] for k in _buyer_keys(buyer) if k in by_key), None
        ) or by_code.get(code)
        if customer is None:
            values = {name: values.get(name, "") for name in fields}
            values["country"] = values["country"] or "IT"
            customer = Customer(
                company=company,
                code=code,
                language="it" if values["country"] in ("IT", "SM", "VA") else "en",
                **values,
            )
            to_create.append(customer)
        else:
            changed = False
            for name, value in values.items():
                # Identifiers are filled in, never replaced; the rest follows the invoice.
                keep = name in ("vat_number", "fiscal_code") and getattr(customer, name)
                if value and not keep and getattr(customer, name) != value:
                    setattr(customer, name, value)
                    changed = True
            if changed:
                to_update.append(customer)
        found[code] = customer
    Customer.objects.bulk_create(to_create, batch_size=500)
    if to_create and not all(c.pk for c in to_create):
        ids = dict(
            Customer.objects.filter(
                company=company, code__in=[c.code for c in to_create]
            ).values_list("code", "id")
        )
        for customer in to_create:
            customer.pk = ids[customer.code]
    if to_update:
        now = timezone.now()
        for customer in to_update:
            customer.updated_at = now
        Customer.objects.bulk_update(to_update, [*fields, "updated_at"], batch_size=500)
    run.customers_created = len(to_create)
    run.updated = len({c.pk for c in to_update})
    return found


def _buyer_values(invoice: fatturapa.EInvoice) -> dict[str, str]:
    """The customer's fields as one invoice gives them ("" where it says nothing)."""
    buyer = invoice.buyer
    return {
        "name": _buyer_name(buyer),
        "address": buyer.address[:200],
        "postal_code": buyer.postal_code[:10],
        "city": buyer.city[:100],
        "province": buyer.province[:2].upper(),
        "country": buyer.country[:2].upper(),
        "pec": invoice.recipient_pec[:254],
        "recipient_code": (
            "" if invoice.recipient_code in ("", NO_RECIPIENT_CODE) else invoice.recipient_code[:7]
        ),
        "vat_number": (buyer.vat_id if buyer.vat_country != "IT" else buyer.vat_number)[:20],
        "fiscal_code": buyer.fiscal_code[:16],
    }


def _schedule(
    invoice: fatturapa.EInvoice, customer: Customer
) -> Iterable[tuple[int, fatturapa.Installment, dt.date, str]]:
    """Each installment with its due date and where the date came from."""
    installments = invoice.installments or (
        fatturapa.Installment(amount=invoice.total, method="", due_date=None, due_date_source=""),
    )
    terms = parse_payment_terms(customer.payment_terms)
    for position, installment in enumerate(installments, 1):
        if installment.due_date is not None:
            yield position, installment, installment.due_date, installment.due_date_source
        elif terms is not None:
            yield position, installment, terms.due_date(invoice.date), "customer"
        else:
            yield position, installment, invoice.date, "invoice"


def _existing_items(
    company: Company, keys: dict[tuple[int, str, dt.date], Any]
) -> dict[tuple[int, str, dt.date], int]:
    """The ledger's ids of the items with these natural keys."""
    if not keys:
        return {}
    customers = {customer_id for customer_id, _n, _d in keys}
    numbers = {number for _c, number, _d in keys}
    found = {}
    rows = Receivable.objects.filter(
        company=company, customer_id__in=customers, document_number__in=numbers
    ).values_list("customer_id", "document_number", "due_date", "id")
    for customer_id, number, due, pk in rows:
        if (customer_id, number, due) in keys:
            found[(customer_id, number, due)] = pk
    return found
