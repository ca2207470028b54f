"""``/api/promises`` and ``/api/disputes``: promises to pay and disputes, listed, made, and
(disputes) moved on.

Making one goes through the web page's own form (``web.agreements.PromiseForm`` and
``DisputeForm``: the same checks, the same messages) and the workspace's services, which
hold the items in the dunning flow until the agreement ends. A dispute's status changes
through ``workspace.agreements.dispute_update``: a resolved status records the note as
the resolution and releases the holds.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Status

from incassa.api.auth import ApiAccess, access_of
from incassa.api.common import (
    READ_ERRORS,
    WRITE_ERRORS,
    customer_ref,
    page,
    text,
    today,
    username,
    visible_customer,
)
from incassa.api.errors import ApiError, form_details, invalid, not_found
from incassa.api.schemas import (
    MAX_ID,
    DisputeFilters,
    DisputeIn,
    DisputeOut,
    DisputePage,
    DisputePatch,
    PromiseFilters,
    PromiseIn,
    PromiseOut,
    PromisePage,
)
from incassa.web.agreements import DisputeForm, PromiseForm, operators
from incassa.workspace.agreements import (
    AgreementError,
    dispute_open,
    dispute_update,
    promise_record,
)
from incassa.workspace.models import Dispute, Promise
from incassa.workspace.models.agreements import DISPUTE_RESOLVED

router = Router(tags=["agreements"])
User = get_user_model()


def _agreement_error(exc: AgreementError) -> ApiError:
    return invalid(str(exc), [{"field": None, "reason": str(exc)}])


# --------------------------------------------------------------------------------------
# Promises
# --------------------------------------------------------------------------------------


def promise_row(promise: Promise) -> dict[str, Any]:
    return {
        "id": promise.pk,
        "customer": customer_ref(promise.customer),
        "items": sorted(item.pk for item in promise.items.all()),
        "amount": promise.amount,
        "promised_on": promise.promised_on,
        "status": promise.status,
        "recorded_on": promise.recorded_on,
        "recorded_by": username(promise.recorded_by),
        "closed_on": promise.closed_on,
        "note": promise.note,
    }


def _promises(access: ApiAccess):
    return (
        access.visible(Promise.objects.all())
        .select_related("customer", "recorded_by")
        .prefetch_related("items")
    )


@router.get("/promises", response={200: PromisePage, **READ_ERRORS}, summary="List promises")
def promise_list(request: HttpRequest, filters: Query[PromiseFilters]) -> dict[str, Any]:
    """The promises to pay on the customers the role may see, the latest date first."""
    promises = _promises(access_of(request))
    if filters.customer:
        promises = promises.filter(customer__code=text(filters.customer))
    if filters.status:
        promises = promises.filter(status=filters.status)
    meta, rows = page(promises.order_by("-promised_on", "-id"), filters)
    return {**meta, "items": [promise_row(promise) for promise in rows]}


@router.post("/promises", response={201: PromiseOut, **WRITE_ERRORS}, summary="Record a promise")
def promise_create(request: HttpRequest, payload: PromiseIn) -> Status:
    """The customer promised to pay ``amount`` (empty: all) of open items by
    ``promised_on`` (today or later); the items are held until three days after it."""
    access = access_of(request)
    access.require_acting()
    customer = visible_customer(access, payload.customer)
    access.require_work_on(customer)
    form = PromiseForm(
        {
            "items": payload.items,
            "amount": payload.amount,
            "promised_on": payload.promised_on,
            "note": payload.note,
        },
        customer=customer,
    )
    if not form.is_valid():
        raise invalid(_("The promise is not valid."), form_details(form))
    data = form.cleaned_data
    try:
        promise = promise_record(
            customer=customer,
            items=list(data["items"]),
            amount=data["amount"] or form.owed(),
            promised_on=data["promised_on"],
            user=access.user,
            note=data["note"],
        )
    except AgreementError as exc:
        raise _agreement_error(exc) from exc
    return Status(201, promise_row(_promises(access).get(pk=promise.pk)))


# --------------------------------------------------------------------------------------
# Disputes
# --------------------------------------------------------------------------------------


def dispute_row(dispute: Dispute) -> dict[str, Any]:
    return {
        "id": dispute.pk,
        "customer": customer_ref(dispute.customer),
        "items": sorted(item.pk for item in dispute.items.all()),
        "reason": dispute.reason,
        "description": dispute.description,
        "owner": username(dispute.owner),
        "status": dispute.status,
        "deadline": dispute.deadline,
        "opened_on": dispute.opened_on,
        "opened_by": username(dispute.opened_by),
        "resolved_on": dispute.resolved_on,
        "resolution": dispute.resolution,
    }


def _disputes(access: ApiAccess):
    return (
        access.visible(Dispute.objects.all())
        .select_related("customer", "owner", "opened_by")
        .prefetch_related("items")
    )


@router.get("/disputes", response={200: DisputePage, **READ_ERRORS}, summary="List disputes")
def dispute_list(request: HttpRequest, filters: Query[DisputeFilters]) -> dict[str, Any]:
    """The disputes on the customers the role may see, the latest opened first."""
    disputes = _disputes(access_of(request))
    if filters.customer:
        disputes = disputes.filter(customer__code=text(filters.customer))
    if filters.status:
        disputes = disputes.filter(status=filters.status)
    if filters.open is True:
        disputes = disputes.exclude(status__in=DISPUTE_RESOLVED)
    elif filters.open is False:
        disputes = disputes.filter(status__in=DISPUTE_RESOLVED)
    meta, rows = page(disputes.order_by("-opened_on", "-id"), filters)
    return {**meta, "items": [dispute_row(dispute) for dispute in rows]}


def _owner(access: ApiAccess, name: str | None, field: str = "owner") -> Any:
    """The acting member of the company called ``name`` (None: nobody)."""
    if name is None:
        return None
    owner = operators(access).filter(username=text(name)).first()
    if owner is None:
        message = _("No operator of this company has this username.")
        raise invalid(message, [{"field": field, "reason": message}])
    return owner


@router.post("/disputes", response={201: DisputeOut, **WRITE_ERRORS}, summary="Open a dispute")
def dispute_create(request: HttpRequest, payload: DisputeIn) -> Status:
    """The customer contests open items: they are held until the dispute is resolved. The
    owner (an operator's username) is you when not given."""
    access = access_of(request)
    access.require_acting()
    customer = visible_customer(access, payload.customer)
    access.require_work_on(customer)
    owner = _owner(access, payload.owner) if payload.owner else access.user
    form = DisputeForm(
        {
            "items": payload.items,
            "reason": payload.reason,
            "owner": owner.pk if owner is not None else None,
            "deadline": payload.deadline,
            "note": payload.note,
        },
        customer=customer,
    )
    form.fields["owner"].queryset = operators(access, also=getattr(owner, "pk", None))
    if not form.is_valid():
        raise invalid(_("The dispute is not valid."), form_details(form))
    data = form.cleaned_data
    try:
        dispute = dispute_open(
            customer=customer,
            items=list(data["items"]),
            reason=data["reason"],
            description=data["note"],
            owner=data["owner"],
            deadline=data["deadline"],
            user=access.user,
        )
    except AgreementError as exc:
        raise _agreement_error(exc) from exc
    return Status(201, dispute_row(_disputes(access).get(pk=dispute.pk)))


@router.patch(
    "/disputes/{dispute_id}", response={200: DisputeOut, **WRITE_ERRORS}, summary="Change a dispute"
)
def dispute_change(
    request: HttpRequest, payload: DisputePatch, dispute_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """Move a dispute on: its status (a resolved one records ``note`` as the resolution and
    releases the holds), owner, deadline, or a note added to its description. Only the
    fields sent change; a resolved dispute no longer does (409)."""
    access = access_of(request)
    access.require_acting()
    dispute = _disputes(access).filter(pk=dispute_id).first()
    if dispute is None:
        raise not_found(_("No dispute with this id."))
    access.require_work_on(dispute.customer)
    sent = payload.model_fields_set
    note = (payload.note or "").replace("\x00", "").strip()
    changes: dict[str, Any] = {}
    if "owner" in sent:
        owner = _owner(access, payload.owner)
        if (owner.pk if owner else None) != dispute.owner_id:
            changes["owner"] = owner
    if "deadline" in sent and payload.deadline != dispute.deadline:
        if payload.deadline is not None and payload.deadline < today():
            message = _("The deadline cannot be in the past.")
            raise invalid(message, [{"field": "deadline", "reason": message}])
        changes["deadline"] = payload.deadline
    status = payload.status if "status" in sent else None
    try:
        with transaction.atomic():
            locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
            if locked.is_resolved:
                raise ApiError(409, _("This dispute is already resolved."), code="conflict")
            if (status is None or status == locked.status) and not changes and not note:
                message = _("Nothing to change.")
                raise invalid(message, [{"field": None, "reason": message}])
            if changes:
                Dispute.objects.filter(pk=locked.pk).update(**changes)
            if status is not None and status != locked.status:
                dispute_update(dispute=locked, status=status, note=note)
            elif note:
                description = f"{locked.description}\n{note}".strip()
                Dispute.objects.filter(pk=locked.pk).update(description=description)
    except AgreementError as exc:
        raise _agreement_error(exc) from exc
    return dispute_row(_disputes(access).get(pk=dispute.pk))
