"""``/api/customers``: the customers the role may see with what they owe, one customer with
its totals, credit standing and dunning situation, and its items."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from ninja import Query, Router

from incassa.api.auth import access_of
from incassa.api.common import READ_ERRORS, page, text, today, visible_customer
from incassa.api.items import items_page
from incassa.api.schemas import CustomerDetail, CustomerFilters, CustomerPage, ItemFilters, ItemPage
from incassa.core.fields import MoneyField
from incassa.credit import selectors as credit
from incassa.credit.models import CustomerCredit
from incassa.dunning.selectors import customer_dunning_profile
from incassa.ledger.models import Customer, ReceivableStatus
from incassa.ledger.selectors import customer_totals

router = Router(tags=["customers"])

ORDERINGS = {
    "code": ("code",),
    "name": ("name", "code"),
    "-overdue": ("-overdue_amount", "-open_amount", "code"),
    "-open": ("-open_amount", "-overdue_amount", "code"),
}


def _search(customers: QuerySet[Customer], search: str) -> QuerySet[Customer]:
    """Part of the code, the name or the VAT number (with or without ``IT``), as the
    customers page searches."""
    search = " ".join(search.split())
    if not search:
        return customers
    vat = search.replace(" ", "").upper()
    if vat.startswith("IT") and vat[2:].isdigit():
        vat = vat[2:]
    return customers.filter(
        Q(code__icontains=search) | Q(name__icontains=search) | Q(vat_number__icontains=vat)
    )


def filtered_customers(customers: QuerySet[Customer], filters: CustomerFilters) -> QuerySet:
    customers = _search(customers, text(filters.q))
    if filters.category:
        customers = customers.filter(category__code=text(filters.category))
    if filters.agent is not None:
        customers = customers.filter(sales_agent_id=filters.agent)
    if filters.credit_class:
        customers = customers.filter(credit__credit_class=filters.credit_class)
    if filters.blocked is True:
        customers = customers.filter(credit__blocked=True)
    elif filters.blocked is False:
        customers = customers.exclude(credit__blocked=True)
    is_open = Q(receivables__status=ReceivableStatus.OPEN)
    customers = customers.annotate(
        open_amount=Coalesce(
            Sum("receivables__open_amount", filter=is_open), Value(0), output_field=MoneyField()
        ),
        overdue_amount=Coalesce(
            Sum("receivables__open_amount", filter=is_open & Q(receivables__due_date__lt=today())),
            Value(0),
            output_field=MoneyField(),
        ),
    )
    if filters.overdue is True:
        customers = customers.filter(overdue_amount__gt=0)
    elif filters.overdue is False:
        customers = customers.filter(overdue_amount=0)
    return customers.select_related("category", "sales_agent").order_by(*ORDERINGS[filters.order])


def _standing(customer: Customer, standings: dict[int, CustomerCredit]) -> CustomerCredit | None:
    return standings.get(customer.pk)


def customer_row(customer: Customer, standing: CustomerCredit | None) -> dict[str, Any]:
    return {
        "code": customer.code,
        "name": customer.name,
        "vat_number": customer.vat_number,
        "fiscal_code": customer.fiscal_code,
        "city": customer.city,
        "province": customer.province,
        "country": customer.country,
        "category": (
            {"code": customer.category.code, "name": customer.category.name}
            if customer.category
            else None
        ),
        "sales_agent": (
            {"id": customer.sales_agent.pk, "name": customer.sales_agent.name}
            if customer.sales_agent
            else None
        ),
        "credit_limit": customer.credit_limit,
        "open_amount": getattr(customer, "open_amount", Decimal("0.00")),
        "overdue_amount": getattr(customer, "overdue_amount", Decimal("0.00")),
        "credit_class": standing.credit_class if standing else None,
        "blocked": bool(standing and standing.blocked),
    }


@router.get("/customers", response={200: CustomerPage, **READ_ERRORS}, summary="List customers")
def customer_list(request: HttpRequest, filters: Query[CustomerFilters]) -> dict[str, Any]:
    """The customers the role may see (a sales agent: their own), with their open and
    overdue amounts today."""
    access = access_of(request)
    meta, rows = page(filtered_customers(access.customers, filters), filters)
    standings = credit.standings([customer.pk for customer in rows])
    return {
        **meta,
        "items": [customer_row(customer, _standing(customer, standings)) for customer in rows],
    }


# Registered before the customer itself: a code may hold a slash, and ``{code}/items``
# must not be read as a customer whose code ends in "/items".
@router.get(
    "/customers/{anytext:code}/items",
    response={200: ItemPage, **READ_ERRORS},
    summary="A customer's items",
)
def customer_items(request: HttpRequest, code: str, filters: Query[ItemFilters]) -> dict:
    access = access_of(request)
    customer = visible_customer(access, code)
    return items_page(access.receivables().filter(customer=customer), filters)


@router.get(
    "/customers/{anytext:code}", response={200: CustomerDetail, **READ_ERRORS}, summary="A customer"
)
def customer_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    """The customer with what it owes today, its credit standing (score, class, exposure
    against its limit, block) and how the dunning flow treats it."""
    customer = visible_customer(access_of(request), code)
    day = today()
    totals = customer_totals(customer=customer, as_of=day)
    standing = credit.customer_credit(customer)
    profile = customer_dunning_profile(customer=customer, as_of=day)
    row = customer_row(customer, standing)
    row.update(open_amount=totals.open_amount, overdue_amount=totals.overdue_amount)
    utilisation = None
    if standing is not None and customer.credit_limit:
        utilisation = round(standing.exposure * 100 / customer.credit_limit, 1)
    return {
        **row,
        "emails": customer.email_list,
        "pec": customer.pec,
        "phone": customer.phone,
        "address": customer.address,
        "postal_code": customer.postal_code,
        "language": customer.language,
        "payment_terms": customer.payment_terms,
        "customer_since": customer.customer_since,
        "totals": {
            "open_amount": totals.open_amount,
            "open_items": totals.open_items,
            "overdue_amount": totals.overdue_amount,
            "overdue_items": totals.overdue_items,
            "oldest_due_date": totals.oldest_due_date,
        },
        "credit": (
            {
                "computed_on": standing.computed_on,
                "score": standing.score,
                "credit_class": standing.credit_class,
                "exposure": standing.exposure,
                "utilisation": utilisation,
                "blocked": standing.blocked,
                "blocked_reason": standing.blocked_reason,
            }
            if standing
            else None
        ),
        "dunning": {
            "strategy": profile.strategy.code if profile.strategy else None,
            "excluded": profile.exclusion is not None,
            "suspended_until": profile.suspension.until if profile.suspension else None,
        },
    }
