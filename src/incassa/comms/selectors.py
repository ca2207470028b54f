"""Reading for communications: the rate table in the calculator's form, and everything a
message says (the facts the sandboxed templates see), gathered from the database."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from django.conf import settings
from django.db.models import Count
from django.utils import translation
from django.utils.translation import gettext as _
from stdnum.iso7064 import mod_97_10

from incassa.comms.interest import (
    COMPENSATION_PER_INVOICE,
    Kind,
    MissingRate,
    RateTable,
    late_interest,
)
from incassa.comms.models import (
    InterestRate,
    Message,
    MessageTemplate,
    RateKind,
    TemplateKind,
    current_half_year,
)
from incassa.comms.rendering import ItemFigures, MessageFacts
from incassa.ledger.models import (
    Company,
    Customer,
    DocumentType,
    Receivable,
    ReceivableStatus,
)


def rate_table() -> RateTable:
    ecb, legal = {}, {}
    for kind, starts_on, rate in InterestRate.objects.values_list("kind", "starts_on", "rate"):
        if kind == RateKind.ECB:
            ecb[starts_on] = rate
        else:
            legal[starts_on.year] = rate
    return RateTable(ecb=ecb, legal=legal)


def missing_rates(*, today: dt.date) -> list[str]:
    """What the table lacks for ``today``: the current half-year's ECB rate, the year's
    legal rate."""
    missing = []
    half = current_half_year(today)
    if not InterestRate.objects.filter(kind=RateKind.ECB, starts_on=half).exists():
        missing.append(f"ECB rate for {half.year} H{1 if half.month == 1 else 2}")
    if not InterestRate.objects.filter(
        kind=RateKind.LEGAL, starts_on=dt.date(today.year, 1, 1)
    ).exists():
        missing.append(f"legal rate for {today.year}")
    return missing


# --------------------------------------------------------------------------------------
# What a message says
# --------------------------------------------------------------------------------------


def rates_covered_until(rates: RateTable, kind: str) -> dt.date | None:
    """The last day the table has a rate for (the end of its last half-year or year)."""
    if kind == Kind.LEGAL:
        if not rates.legal:
            return None
        return dt.date(max(rates.legal), 12, 31)
    if not rates.ecb:
        return None
    last = max(rates.ecb)
    return dt.date(last.year, 6, 30) if last.month == 1 else dt.date(last.year, 12, 31)


def item_interest(
    receivables: list[Receivable], *, kind: str, today: dt.date, rates: RateTable
) -> tuple[dict[int, Decimal], dt.date, bool]:
    """Statutory interest so far on each overdue item, computed up to today or, when the
    table lacks the current rate, up to the last day it covers (``provisional``)."""
    covered = rates_covered_until(rates, kind)
    until = today if covered is None or covered >= today else covered
    provisional = until < today
    interest: dict[int, Decimal] = {}
    for r in receivables:
        if r.open_amount <= 0 or r.due_date >= until:
            interest[r.pk] = Decimal("0.00")
            continue
        try:
            interest[r.pk] = late_interest(
                amount=r.open_amount, due=r.due_date, until=until, rates=rates, kind=kind
            ).interest
        except MissingRate:
            interest[r.pk] = Decimal("0.00")
            provisional = True
    return interest, until, provisional


def invoices_owed_compensation(receivables: list[Receivable], *, kind: str) -> int:
    """Art. 6 compensation is due once per late invoice (not per installment), never for
    consumers."""
    if kind == Kind.LEGAL:
        return 0
    return len(
        {
            r.document_number
            for r in receivables
            if r.open_amount > 0 and r.document_type != DocumentType.CREDIT_NOTE
        }
    )


def city_line(party: Company | Customer) -> str:
    """``40138 Bologna BO``: the postal code, city and province of an address."""
    return " ".join(p for p in (party.postal_code, party.city, party.province) if p)


def company_facts(company: Company) -> dict[str, str]:
    return {
        "name": company.name,
        "address": ", ".join(p for p in (company.address, city_line(company)) if p),
        "street": company.address,
        "city": company.city,
        "vat_number": company.vat_number,
        "fiscal_code": company.fiscal_code,
        "iban": company.iban,
        "email": company.email,
        "pec": company.pec,
        "phone": company.phone,
        "website": company.website,
        "signature": company.signature,
    }


def customer_facts(customer: Customer) -> dict[str, str]:
    return {
        "code": customer.code,
        "name": customer.name or customer.code,
        "vat_number": customer.vat_number,
        "fiscal_code": customer.fiscal_code,
        "address": ", ".join(p for p in (customer.address, city_line(customer)) if p),
        "email": ", ".join(customer.email_list),
        "pec": customer.pec,
        "phone": customer.phone,
    }


def payment_reference(customer: Customer, number: int) -> str:
    """An ISO 11649 creditor reference (RF...) naming the customer and the message, that the
    bank statement brings back for matching."""
    code = re.sub(r"[^A-Z0-9]", "", customer.code.upper())[:10]
    body = f"{code}{number:08d}"
    check = mod_97_10.calc_check_digits(body + "RF")
    return f"RF{check}{body}"


def remittance_text(documents: list[str], reference: str, *, language: str) -> str:
    """The payment reason naming the invoices, within the 140 characters of a SEPA
    transfer."""
    with translation.override(language):
        prefix = _("Invoices") if len(documents) > 1 else _("Invoice")
        suffix = f" {_('ref.')} {reference}" if reference else ""
        listed = list(documents)
        while listed:
            more = len(documents) - len(listed)
            extra = (" " + _("and %(count)d more") % {"count": more}) if more else ""
            text = f"{prefix} {', '.join(listed)}{extra}{suffix}"
            if len(text) <= 140:
                return text
            listed.pop()
        return f"{prefix} {len(documents)}{suffix}"[:140]


def message_facts(
    *,
    company: Company,
    customer: Customer,
    receivables: list[Receivable],
    language: str,
    today: dt.date,
    step_name: str = "",
    operator: str = "",
    reference_number: int = 0,
    claims_interest: bool = False,
    rates: RateTable | None = None,
) -> MessageFacts:
    rates = rates if rates is not None else rate_table()
    kind = customer.interest_kind or Kind.COMMERCIAL
    interest, until, provisional = item_interest(receivables, kind=kind, today=today, rates=rates)
    late = [r for r in receivables if r.due_date < today]
    compensation = COMPENSATION_PER_INVOICE * invoices_owed_compensation(late, kind=kind)
    try:
        rate = (
            rates.legal_on(until)
            if kind == Kind.LEGAL
            else rates.ecb_on(until) + Decimal(8) + (Decimal(4) if kind == Kind.FOOD else 0)
        )
    except MissingRate:
        rate = None
    agent = customer.sales_agent
    reference = payment_reference(customer, reference_number) if reference_number else ""
    return MessageFacts(
        language=language,
        today=today,
        company=company_facts(company),
        customer=customer_facts(customer),
        agent={"name": agent.name if agent else "", "email": agent.email if agent else ""},
        items=tuple(
            ItemFigures(
                document_number=r.document_number,
                document_date=r.document_date,
                due_date=r.due_date,
                open_amount=r.open_amount,
                days_overdue=(today - r.due_date).days,
                interest=interest.get(r.pk, Decimal("0.00")),
            )
            for r in receivables
        ),
        step_name=step_name,
        operator=operator,
        currency=receivables[0].currency if receivables else "EUR",
        compensation=compensation,
        interest_until=until,
        interest_rate=rate,
        interest_provisional=provisional,
        interest_kind=kind,
        claims_interest=claims_interest,
        payment_reference=reference,
        remittance=remittance_text(
            list(dict.fromkeys(r.document_number for r in receivables)),
            reference,
            language=language,
        ),
    )


def customer_language(customer: Customer) -> str:
    languages = {code for code, _name in settings.LANGUAGES}
    if customer.language in languages:
        return customer.language
    return "it" if (customer.country or "IT").upper() in {"IT", "SM", "VA"} else "en"


def template_for(
    *, company: Company, code: str, kind: str, language: str
) -> MessageTemplate | None:
    """The template for a step, kind and language; failing that the other kind in the same
    language (an email step's text printed as a letter), then Italian."""
    candidates = MessageTemplate.objects.filter(company=company, code=code)
    other = TemplateKind.LETTER if kind == TemplateKind.EMAIL else TemplateKind.EMAIL
    for want_kind, want_language in (
        (kind, language),
        (other, language),
        (kind, "it"),
        (other, "it"),
    ):
        found = candidates.filter(kind=want_kind, language=want_language).first()
        if found is not None:
            return found
    return None


def open_overdue_receivables(customer: Customer, *, today: dt.date) -> list[Receivable]:
    return list(
        Receivable.objects.filter(customer=customer, status=ReceivableStatus.OPEN)
        .filter(due_date__lt=today)
        .order_by("due_date", "document_number")
    )


def customer_messages(*, customer: Customer, limit: int = 20) -> list[Message]:
    """What the customer was sent (or is about to be), newest first."""
    return list(
        Message.objects.filter(customer=customer)
        .select_related("template_version__template")
        .order_by("-created_at", "-id")[:limit]
    )


def preview_customers(company_id: int, *, limit: int = 30) -> list[Customer]:
    """The customers most worth previewing on: those with the most open amount."""
    ids = (
        Receivable.objects.filter(company_id=company_id, status=ReceivableStatus.OPEN)
        .values("customer_id")
        .order_by()
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("customer_id", flat=True)[:limit]
    )
    customers = Customer.objects.in_bulk(list(ids))
    return [customers[i] for i in ids if i in customers]
