"""``/api/activities``: contacts with customers, listed and recorded.

Recording goes through the customer page's own form (``web.customers.ActivityForm``: the
same checks, the same messages) and ``workspace.work.activity_record``, so a promise or a
dispute the debtor's answer asks for is made, and the next action becomes a task, exactly
as on the page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from incassa.api.auth import ApiAccess, access_of
from incassa.api.common import (
    READ_ERRORS,
    WRITE_ERRORS,
    customer_ref,
    page,
    text,
    username,
    visible_customer,
)
from incassa.api.errors import form_details, invalid
from incassa.api.schemas import ActivityFilters, ActivityIn, ActivityOut, ActivityPage
from incassa.web.customers import ActivityForm
from incassa.workspace.models import Activity
from incassa.workspace.work import WorkError, activity_record

router = Router(tags=["activities"])


def activity_row(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "customer": customer_ref(activity.customer),
        "kind": activity.kind,
        "happened_at": activity.happened_at,
        "operator": username(activity.operator),
        "contact_person": activity.contact_person,
        "direction": activity.direction,
        "reaction": activity.reaction,
        "outcome": activity.outcome,
        "notes": activity.notes,
        "next_action": activity.next_action,
        "next_action_on": activity.next_action_on,
        "items": sorted(item.pk for item in activity.items.all()),
    }


def _activities(access: ApiAccess):
    return (
        access.visible(Activity.objects.all())
        .select_related("customer", "operator")
        .prefetch_related("items")
    )


@router.get("/activities", response={200: ActivityPage, **READ_ERRORS}, summary="List activities")
def activity_list(request: HttpRequest, filters: Query[ActivityFilters]) -> dict[str, Any]:
    """The activities on the customers the role may see, the latest first."""
    activities = _activities(access_of(request))
    if filters.customer:
        activities = activities.filter(customer__code=text(filters.customer))
    if filters.kind:
        activities = activities.filter(kind=filters.kind)
    if filters.date_from:
        activities = activities.filter(happened_at__date__gte=filters.date_from)
    if filters.date_to:
        activities = activities.filter(happened_at__date__lte=filters.date_to)
    meta, rows = page(activities.order_by("-happened_at", "-id"), filters)
    return {**meta, "items": [activity_row(activity) for activity in rows]}


@router.post(
    "/activities", response={201: ActivityOut, **WRITE_ERRORS}, summary="Record an activity"
)
def activity_create(request: HttpRequest, payload: ActivityIn) -> Status:
    """Record a contact with a customer of your portfolio (a collector) or of the company
    (administrators, credit managers). A promise (``promises_to_pay``) needs items, amount
    and date; ``disputes`` and ``says_already_paid`` need items; a next action needs its
    date."""
    access = access_of(request)
    access.require_acting()
    customer = visible_customer(access, payload.customer)
    access.require_work_on(customer)
    data = payload.dict()
    data.pop("customer")
    data["dispute_reason"] = data["dispute_reason"] or ""
    form = ActivityForm(data, customer=customer)
    if not form.is_valid():
        raise invalid(_("The activity is not valid."), form_details(form))
    cleaned = form.cleaned_data
    try:
        activity = activity_record(
            customer=customer,
            user=access.user,
            kind=cleaned["kind"],
            items=cleaned["items"],
            contact_person=cleaned["contact_person"],
            direction=cleaned["direction"],
            reaction=cleaned["reaction"],
            outcome=cleaned["outcome"],
            notes=cleaned["notes"],
            next_action=cleaned["next_action"],
            next_action_on=cleaned["next_action_on"],
            promise_amount=cleaned["promise_amount"],
            promise_on=cleaned["promise_on"],
            dispute_reason=cleaned["dispute_reason"] or None,
        )
    except WorkError as exc:
        raise invalid(str(exc), [{"field": None, "reason": str(exc)}]) from exc
    return Status(201, activity_row(_activities(access).get(pk=activity.pk)))
