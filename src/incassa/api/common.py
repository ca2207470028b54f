"""What the routers share: today's date, pages, the error answers each operation documents,
and turning models into the schemas' dictionaries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.urls import register_converter
from django.urls.converters import PathConverter
from django.utils import timezone
from django.utils.translation import gettext as _

from incassa.api.auth import ApiAccess
from incassa.api.errors import not_found
from incassa.api.schemas import ErrorOut, PageParams
from incassa.ledger.models import Customer


class AnyTextConverter(PathConverter):
    """Any text, slashes and line breaks included: customer codes come from the ERP, and
    an address no route takes must still reach the API's 404 in its error format (Django's
    ``path`` converter stops at a line break)."""

    regex = r"[\s\S]+"


register_converter(AnyTextConverter, "anytext")

# The errors every authenticated operation may answer, documented in the schema.
READ_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, Any] = {**READ_ERRORS, 409: ErrorOut}


def today() -> dt.date:
    return timezone.localdate()


def page(queryset: QuerySet, params: PageParams) -> tuple[dict[str, int], list[Any]]:
    """The count of everything ``queryset`` holds and the rows of the asked page."""
    meta = {"count": queryset.count(), "limit": params.limit, "offset": params.offset}
    return meta, list(queryset[params.offset : params.offset + params.limit])


def username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def customer_ref(customer: Customer) -> dict[str, str]:
    return {"code": customer.code, "name": customer.name}


def text(value: str | None) -> str:
    """A text from a query string, without NUL characters (PostgreSQL refuses them)."""
    return (value or "").replace("\x00", "").strip()


def visible_customer(access: ApiAccess, code: str) -> Customer:
    """The customer of the token's company with ``code`` that the role may see, else 404."""
    customer = (
        access.customers.select_related("category", "sales_agent").filter(code=text(code)).first()
    )
    if customer is None:
        raise not_found(_("No customer with this code."))
    return customer
