"""``/api/dunning/preview`` and ``/api/actions``: what the next runs would do, and the
engine's actions with the operators' decisions on them (approve, reject).

Administrators and credit managers decide on any action of the company, a collector on the
actions of their portfolio's customers; sales agents and auditors only read.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Query, Router

from incassa.api.auth import COMPANY_WIDE_ROLES, ApiAccess, access_of
from incassa.api.common import READ_ERRORS, WRITE_ERRORS, customer_ref, page, text, today, username
from incassa.api.errors import ApiError, not_found
from incassa.api.schemas import MAX_ID, ActionFilters, ActionOut, ActionPage, PreviewOut, RejectIn
from incassa.dunning import services as dunning
from incassa.dunning.models import Action, ActionStatus

router = Router(tags=["dunning"])


@router.get(
    "/dunning/preview", response={200: PreviewOut, **READ_ERRORS}, summary="Dunning outlook"
)
def dunning_preview(
    request: HttpRequest,
    days: int = Query(7, ge=1, le=31, description="How many days from today (1-31)."),
) -> dict[str, Any]:
    """What the next ``days`` daily runs would create, step by step and channel by channel,
    if every message went out the day it is made and nobody paid. Reads only."""
    access = access_of(request)
    access.require_role(COMPANY_WIDE_ROLES, _("Your role does not see the company's outlook."))
    start = today()
    outlook = dunning.dunning_preview(company=access.company, start=start, days=days)
    return {
        "start": start,
        "days": [
            {
                "day": day.day,
                "item_steps": day.item_steps,
                "by_step": {str(k): int(v) for k, v in day.by_step.items()},
                "by_channel": {str(k): int(v) for k, v in day.by_channel.items()},
            }
            for day in outlook
        ],
    }


def action_row(action: Action) -> dict[str, Any]:
    return {
        "id": action.pk,
        "customer": customer_ref(action.customer),
        "step": {
            "code": action.step.code,
            "name": action.step.name,
            "channel": action.step.channel,
        },
        "channel": action.channel,
        "scheduled_on": action.scheduled_on,
        "status": action.status,
        "needs_approval": action.needs_approval,
        "waiting_for_approval": action.is_waiting_for_approval,
        "item_count": action.item_count,
        "total_amount": action.total_amount,
        "note": action.note,
        "decided_by": username(action.decided_by),
        "decided_at": action.decided_at,
        "sent_at": action.sent_at,
        "done_at": action.done_at,
    }


def _actions(access: ApiAccess):
    return access.visible(Action.objects.all()).select_related("customer", "step", "decided_by")


@router.get("/actions", response={200: ActionPage, **READ_ERRORS}, summary="List actions")
def action_list(request: HttpRequest, filters: Query[ActionFilters]) -> dict[str, Any]:
    """The engine's actions the role may see, the latest day first."""
    actions = _actions(access_of(request))
    if filters.status:
        actions = actions.filter(status=filters.status)
    if filters.channel:
        actions = actions.filter(channel=filters.channel)
    if filters.date:
        actions = actions.filter(scheduled_on=filters.date)
    if filters.customer:
        actions = actions.filter(customer__code=text(filters.customer))
    if filters.waiting is True:
        actions = actions.filter(needs_approval=True, status=ActionStatus.CREATED)
    elif filters.waiting is False:
        actions = actions.exclude(needs_approval=True, status=ActionStatus.CREATED)
    meta, rows = page(actions.order_by("-scheduled_on", "customer__code", "id"), filters)
    return {**meta, "items": [action_row(action) for action in rows]}


def _decide(request: HttpRequest, action_id: int, decision: Any) -> dict[str, Any]:
    access = access_of(request)
    access.require_acting()
    action = _actions(access).filter(pk=action_id).first()
    if action is None:
        raise not_found(_("No action with this id."))
    access.require_work_on(action.customer)
    try:
        decision(action, access.user)
    except dunning.ActionStateError as exc:
        raise ApiError(409, str(exc), code="conflict") from exc
    return action_row(_actions(access).get(pk=action.pk))


@router.post(
    "/actions/{action_id}/approve",
    response={200: ActionOut, **WRITE_ERRORS},
    summary="Approve an action",
)
def action_approve(
    request: HttpRequest, action_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """An action waiting for approval may go out (409 in any other state)."""
    return _decide(
        request, action_id, lambda action, user: dunning.action_approve(action=action, user=user)
    )


@router.post(
    "/actions/{action_id}/reject",
    response={200: ActionOut, **WRITE_ERRORS},
    summary="Reject an action",
)
def action_reject(
    request: HttpRequest, payload: RejectIn, action_id: int = Path(..., ge=1, le=MAX_ID)
) -> dict[str, Any]:
    """An action not yet gone out never will; its items go on to the next step after its
    gap (409 once it went out)."""
    reason = payload.reason.replace("\x00", "").strip()
    if not reason:
        raise ApiError(
            422,
            _("Give the reason."),
            code="invalid",
            details=[{"field": "reason", "reason": _("Give the reason.")}],
        )
    return _decide(
        request,
        action_id,
        lambda action, user: dunning.action_reject(action=action, user=user, reason=reason),
    )
