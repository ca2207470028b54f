"""The dossier handed to a collection agency or a lawyer with a case: the customer's data,
the case, its items (due date, amount, open amount, days overdue, statutory interest when
the rate table allows it) with their totals, and the chronology of what was done (every
activity and every communication, the agreements, and the payments and changes of the
case's items), as a CSV for the agency's systems and as a PDF on the company's letterhead.

The CSV is what Italian Excel opens without asking: UTF-8 with a BOM, ``;`` between cells,
amounts as ``1.234,56`` and dates as ``31/03/2026``; every text cell goes through
``neutralize_formula`` (a customer named ``=HYPERLINK(...)`` stays text). It is made of
sections (the case, the customer, the items, the chronology), each a title row, then its
rows, then a blank row; the chronology has one row per record with its type.

Texts are in ``language`` (the company's: Italian for an Italian company); the chronology
is told oldest first, as a dossier reads.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from incassa.comms import documents
from incassa.comms.selectors import city_line, item_interest, rate_table, rates_covered_until
from incassa.comms.services import company_letterhead
from incassa.core.exports import neutralize_formula
from incassa.core.formatting import current_locale, format_day, format_money
from incassa.ledger.models import Company, Customer, Receivable
from incassa.workspace.history import (
    GROUP_LABELS,
    HistoryEntry,
    HistoryGroup,
    customer_history,
)
from incassa.workspace.models import Case, CaseKind, CaseOutcome, CaseStatus

__all__ = ["Dossier", "DossierItem", "dossier", "dossier_csv", "dossier_filename", "dossier_pdf"]

# What the agency is told: what was done and said, agreed and paid; not the engine's
# internal steps and holds (the communications they produced are here).
CHRONOLOGY_GROUPS = frozenset(
    {
        HistoryGroup.LEDGER,
        HistoryGroup.COMMUNICATIONS,
        HistoryGroup.ACTIVITIES,
        HistoryGroup.AGREEMENTS,
    }
)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class DossierItem:
    receivable: Receivable
    days_overdue: int | None  # None when closed or not yet due
    interest: Decimal | None  # None when the rate table cannot tell


@dataclass(frozen=True)
class Dossier:
    case: Case
    customer: Customer
    company: Company
    today: dt.date
    language: str
    items: list[DossierItem]
    amount_total: Decimal
    open_total: Decimal
    interest_total: Decimal | None
    interest_until: dt.date | None
    interest_provisional: bool
    chronology: list[HistoryEntry]  # oldest first


def _language(company: Company, language: str | None) -> str:
    if language:
        return language
    return "it" if (company.country or "IT").upper() in {"IT", "SM", "VA"} else "en"


def dossier(case: Case, *, today: dt.date | None = None, language: str | None = None) -> Dossier:
    """Everything the dossier shows, read once: the case's items with their interest to
    ``today``, and the customer's chronology in ``language``."""
    today = today or timezone.localdate()
    customer = Customer.objects.select_related("company", "category", "sales_agent").get(
        pk=case.customer_id
    )
    company = customer.company
    language = _language(company, language)
    receivables = list(case.items.order_by("due_date", "document_number", "id"))
    rates = rate_table()
    kind = customer.interest_kind or "commercial"
    computable = rates_covered_until(rates, kind) is not None
    interest, until, provisional = item_interest(receivables, kind=kind, today=today, rates=rates)
    items = [
        DossierItem(
            receivable=r,
            days_overdue=(
                r.days_overdue(today) if r.is_open and r.days_overdue(today) > 0 else None
            ),
            interest=(interest.get(r.pk, ZERO) if r.is_open else ZERO) if computable else None,
        )
        for r in receivables
    ]
    case_items = {r.pk for r in receivables}
    with translation.override(language):
        history = customer_history(customer, groups=CHRONOLOGY_GROUPS)
    chronology = [
        entry
        for entry in reversed(history.entries)
        # The imports' changes of the case's items only; everything else the customer was
        # told or agreed to, whatever its items.
        if entry.group != HistoryGroup.LEDGER or any(r.pk in case_items for r in entry.items)
    ]
    return Dossier(
        case=case,
        customer=customer,
        company=company,
        today=today,
        language=language,
        items=items,
        amount_total=sum((r.amount for r in receivables), ZERO),
        open_total=sum((r.open_amount for r in receivables if r.is_open), ZERO),
        interest_total=(
            sum((i.interest for i in items if i.interest is not None), ZERO) if computable else None
        ),
        interest_until=until if computable else None,
        interest_provisional=computable and provisional,
        chronology=chronology,
    )


def dossier_filename(case: Case, extension: str) -> str:
    """``dossier-R01-7.pdf``: the customer's code kept to what every file system accepts."""
    code = "".join(c if c.isalnum() or c in "-_" else "-" for c in case.customer.code)
    return f"dossier-{code.strip('-') or 'cliente'}-{case.pk}.{extension}"


# --------------------------------------------------------------------------------------
# What both formats say
# --------------------------------------------------------------------------------------


def _user_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _case_facts(d: Dossier) -> list[tuple[str, str]]:
    case = d.case
    facts = [
        (_("Case no."), str(case.pk)),
        (_("Agency or lawyer"), case.agency),
        (_("Kind"), str(CaseKind(case.kind).label)),
        (_("Handed over on"), format_day(case.handed_over_on)),
        (_("Amount handed over"), format_money(case.handed_over_amount)),
        (_("Status"), str(CaseStatus(case.status).label)),
    ]
    if case.outcome:
        facts.append((_("Outcome"), str(CaseOutcome(case.outcome).label)))
    if case.recovered_amount is not None:
        facts.append((_("Recovered"), format_money(case.recovered_amount)))
    if case.closed_on:
        facts.append((_("Closed on"), format_day(case.closed_on)))
    if case.outcome_text:
        facts.append((_("Outcome notes"), case.outcome_text))
    if case.created_by_id:
        facts.append((_("Handed over by"), _user_name(case.created_by)))
    return facts


def _customer_facts(d: Dossier) -> list[tuple[str, str]]:
    c = d.customer
    facts = [
        (_("Customer code"), c.code),
        (_("Company name"), c.name),
        (capfirst(_("VAT number")), c.vat_number),
        (_("Fiscal code"), c.fiscal_code),
        (_("Address"), ", ".join(p for p in (c.address, city_line(c)) if p)),
        (_("Country"), c.country),
        (_("Emails"), ", ".join(c.email_list)),
        (_("PEC"), c.pec),
        (_("Phone"), c.phone),
        (_("Category"), str(c.category) if c.category else ""),
        (_("Sales agent"), str(c.sales_agent) if c.sales_agent else ""),
        (_("Payment terms"), c.payment_terms),
        (_("Credit limit"), format_money(c.credit_limit) if c.credit_limit else ""),
        (_("Customer since"), format_day(c.customer_since)),
    ]
    return [(label, value) for label, value in facts if value]


def _items_label(entry: HistoryEntry) -> str:
    return ", ".join(r.document_number for r in entry.items)


def _entry_time(entry: HistoryEntry) -> str:
    return f"{entry.at:%H:%M}" if entry.at is not None else ""


# --------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------


def _number(value: Decimal | None, language: str) -> str:
    """``1.234,56`` in Italian: a number Italian Excel reads as one, without a symbol."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0.00", locale=current_locale(language))


def dossier_csv(case: Case, *, today: dt.date | None = None, language: str | None = None) -> bytes:
    """The dossier as CSV sections (see the module's docstring)."""
    d = dossier(case, today=today, language=language)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")

    def row(*cells: Any) -> None:
        writer.writerow(["" if c is None else neutralize_formula(str(c)) for c in cells])

    with translation.override(d.language):
        row(_("Dossier for the collection agency"), d.company.name, format_day(d.today))
        row()
        row(_("Case"))
        for label, value in _case_facts(d):
            row(label, value)
        row()
        row(_("Customer"))
        for label, value in _customer_facts(d):
            row(label, value)
        row()
        row(_("Items"))
        row(
            _("Document"),
            _("Document type"),
            _("Document date"),
            _("Due date"),
            _("Currency"),
            _("Amount"),
            _("Open amount"),
            _("Days overdue"),
            _("Interest"),
        )
        for item in d.items:
            r = item.receivable
            row(
                r.document_number,
                r.get_document_type_display(),
                format_day(r.document_date),
                format_day(r.due_date),
                r.currency,
                _number(r.amount, d.language),
                _number(r.open_amount if r.is_open else ZERO, d.language),
                item.days_overdue if item.days_overdue is not None else "",
                _number(item.interest, d.language),
            )
        row(
            _("Total"),
            "",
            "",
            "",
            "",
            _number(d.amount_total, d.language),
            _number(d.open_total, d.language),
            "",
            _number(d.interest_total, d.language),
        )
        if d.interest_until is not None:
            row(_interest_note(d))
        row()
        row(_("Chronology"))
        row(
            _("Date"),
            _("Time"),
            _("Record type"),
            _("What"),
            _("Items"),
            _("Amount"),
            _("Status"),
            _("Description"),
            _("Operator"),
            _("Notes"),
        )
        for entry in d.chronology:
            row(
                format_day(entry.on),
                _entry_time(entry),
                GROUP_LABELS[entry.group],
                entry.title,
                _items_label(entry),
                _number(entry.amount, d.language),
                entry.status_label,
                entry.text,
                entry.operator,
                entry.note,
            )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _interest_note(d: Dossier) -> str:
    note = _("Statutory interest computed until %(date)s.") % {"date": format_day(d.interest_until)}
    if d.interest_provisional:
        note += " " + _("Provisional: the rate table lacks the current rate.")
    return note


# --------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------


def dossier_pdf(case: Case, *, today: dt.date | None = None, language: str | None = None) -> bytes:
    """The dossier as an A4 PDF on the company's letterhead, addressed to the agency."""
    d = dossier(case, today=today, language=language)
    with translation.override(d.language):
        title = _("Dossier for the collection agency")
        context = {
            **documents.common_context(d.language, company_letterhead(d.company), title),
            "dossier": d,
            "recipient": {"party": documents.Party(name=d.case.agency), "lines": []},
            "address_prefix": "Spett.le" if d.language == "it" else "",
            "place": d.company.city,
            "day": format_day(d.today),
            "reference": _("Case no. %(number)s") % {"number": d.case.pk},
            "case_facts": _case_facts(d),
            "customer_facts": _customer_facts(d),
            "items": [
                {
                    "number": i.receivable.document_number,
                    "type": i.receivable.get_document_type_display(),
                    "date": format_day(i.receivable.document_date),
                    "due": format_day(i.receivable.due_date),
                    "amount": format_money(i.receivable.amount, i.receivable.currency),
                    "open": format_money(
                        i.receivable.open_amount if i.receivable.is_open else ZERO,
                        i.receivable.currency,
                    ),
                    "days": i.days_overdue or "",
                    "interest": format_money(i.interest),
                }
                for i in d.items
            ],
            "show_interest": d.interest_total is not None,
            "amount_total": format_money(d.amount_total),
            "open_total": format_money(d.open_total),
            "interest_total": format_money(d.interest_total),
            "interest_note": _interest_note(d) if d.interest_until is not None else "",
            "chronology": [
                {
                    "entry": entry,
                    "day": format_day(entry.on),
                    "time": _entry_time(entry),
                    "type": GROUP_LABELS[entry.group],
                    "items": _items_label(entry),
                    "amount": format_money(entry.amount, entry.currency),
                }
                for entry in d.chronology
            ],
        }
        html = render_to_string("workspace/dossier.html", context)
    return documents.write_pdf(html)
