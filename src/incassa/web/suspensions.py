"""Suspensions and exclusions: every customer the engine leaves alone, why, since when and
until when, and ending a suspension or including a customer again from one page.

Suspensions and exclusions are placed on the customer's page; this page is where one sees
them all. Roles that act may end and include; the others look (sales agents see their own
customers only).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from incassa.core.formatting import format_day
from incassa.dunning import services as dunning
from incassa.dunning.models import Exclusion, Suspension
from incassa.web.customers import Access, _base_context, _int_or_none, _today, company_page


@company_page
def suspension_list(request: HttpRequest, access: Access) -> HttpResponse:
    if request.method == "POST":
        return _post(request, access)
    today = _today()
    suspensions = (
        Suspension.objects.filter(customer__in=access.customers, until__gt=today)
        .select_related("customer", "created_by")
        .order_by("starts_on", "until", "id")
    )
    exclusions = (
        Exclusion.objects.filter(customer__in=access.customers)
        .select_related("customer", "created_by")
        .order_by("customer__name")
    )
    context = {
        **_base_context(request, access),
        "suspensions": list(suspensions),
        "exclusions": list(exclusions),
    }
    return render(request, "web/suspensions.html", context)


def _post(request: HttpRequest, access: Access) -> HttpResponse:
    operation = request.POST.get("op", "")
    today = _today()
    if operation == "end":
        suspension = get_object_or_404(
            Suspension.objects.filter(customer__in=access.customers),
            pk=_int_or_none(request.POST.get("suspension")),
        )
        name = suspension.customer.name
        if dunning.suspension_end(suspension=suspension, on=today) is None:
            messages.success(
                request, _("The suspension of %(name)s is cancelled.") % {"name": name}
            )
        else:
            messages.success(
                request,
                _("The suspension of %(name)s ends: the flow resumes on %(day)s.")
                % {"name": name, "day": format_day(today)},
            )
    elif operation == "include":
        exclusion = get_object_or_404(
            Exclusion.objects.filter(customer__in=access.customers),
            pk=_int_or_none(request.POST.get("exclusion")),
        )
        dunning.customer_include(customer=exclusion.customer)
        messages.success(
            request, _("%(name)s is chased again.") % {"name": exclusion.customer.name}
        )
    else:
        return HttpResponseBadRequest(_("Unknown operation."))
    return redirect("web:suspensions")


urlpatterns = [path("suspensions/", suspension_list, name="suspensions")]
