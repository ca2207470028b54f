"""``/api/items``: the receivable items (one installment each), filtered and ordered, and
one item with where it stands in the dunning flow."""

from __future__ import annotations

from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router

from incassa.api.auth import ApiAccess, access_of
from incassa.api.common import READ_ERRORS, customer_ref, page, text, today
from incassa.api.errors import not_found
from incassa.api.schemas import MAX_ID, AllItemFilters, ItemDetail, ItemFilters, ItemPage
from incassa.dunning.selectors import item_states
from incassa.ledger.models import Receivable, ReceivableStatus

router = Router(tags=["items"])

ORDERINGS = {
    "due_date": ("due_date", "document_number", "id"),
    "-due_date": ("-due_date", "-document_number", "-id"),
    "-amount": ("-open_amount", "due_date", "id"),
    "amount": ("open_amount", "due_date", "id"),
    "-criticality": (F("criticality__score").desc(nulls_last=True), "due_date", "id"),
}


def filtered_items(items: QuerySet[Receivable], filters: ItemFilters) -> QuerySet[Receivable]:
    """``items`` narrowed by the filters and ordered as asked."""
    overdue = Q(status=ReceivableStatus.OPEN, due_date__lt=today())
    if filters.status:
        items = items.filter(status=filters.status)
    if filters.overdue is True:
        items = items.filter(overdue)
    elif filters.overdue is False:
        items = items.exclude(overdue)
    if filters.due_from:
        items = items.filter(due_date__gte=filters.due_from)
    if filters.due_to:
        items = items.filter(due_date__lte=filters.due_to)
    if filters.min_amount is not None:
        items = items.filter(open_amount__gte=filters.min_amount)
    return items.select_related("customer", "criticality").order_by(*ORDERINGS[filters.order])


def item_row(item: Receivable) -> dict[str, Any]:
    criticality = getattr(item, "criticality", None) if _has_criticality(item) else None
    return {
        "id": item.pk,
        "customer": customer_ref(item.customer),
        "document_number": item.document_number,
        "document_type": item.document_type,
        "document_date": item.document_date,
        "due_date": item.due_date,
        "amount": item.amount,
        "open_amount": item.open_amount,
        "currency": item.currency,
        "status": item.status,
        "closed_on": item.closed_on,
        "days_overdue": item.days_overdue(today()),
        "criticality": criticality.score if criticality is not None else None,
    }


def _has_criticality(item: Receivable) -> bool:
    try:
        item.criticality  # noqa: B018 - a reverse one-to-one raises when there is none
    except Receivable.criticality.RelatedObjectDoesNotExist:
        return False
    return True


def items_page(items: QuerySet[Receivable], filters: ItemFilters) -> dict[str, Any]:
    meta, rows = page(filtered_items(items, filters), filters)
    return {**meta, "items": [item_row(item) for item in rows]}


@router.get("/items", response={200: ItemPage, **READ_ERRORS}, summary="List items")
def item_list(request: HttpRequest, filters: Query[AllItemFilters]) -> dict[str, Any]:
    """The items the role may see; ``customer`` keeps one customer's."""
    access = access_of(request)
    items = access.receivables()
    if filters.customer:
        items = items.filter(customer__code=text(filters.customer))
    return items_page(items, filters)


def visible_item(access: ApiAccess, item_id: int) -> Receivable:
    item = access.receivables().select_related("customer", "criticality").filter(pk=item_id).first()
    if item is None:
        raise not_found(_("No item with this id."))
    return item


@router.get("/items/{item_id}", response={200: ItemDetail, **READ_ERRORS}, summary="An item")
def item_detail(request: HttpRequest, item_id: int = Path(..., ge=1, le=MAX_ID)) -> dict:
    """The item with its current dunning step and the holds in force today."""
    item = visible_item(access_of(request), item_id)
    (state,) = item_states(receivables=[item], as_of=today())
    step = state.step
    return {
        **item_row(item),
        "step": {"code": step.code, "name": step.name, "channel": step.channel} if step else None,
        "step_reached_on": state.step_reached_on,
        "step_status": state.step_status,
        "holds": [
            {
                "id": hold.pk,
                "kind": hold.kind,
                "starts_on": hold.starts_on,
                "until": hold.until,
                "reason": hold.reason,
            }
            for hold in state.holds
        ],
    }
