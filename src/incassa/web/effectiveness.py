"""Effectiveness: which steps, channels, activity types and strategies bring money in, and
the customers for whom what is done is not working, with what to do instead.

Thin like the other pages: parse the period, ask ``workspace.selectors.effectiveness_report``,
render. The page measures the company's collection process, so every role sees it but
sales agents, who see only their own customers (403 for them). It only reads.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from incassa.web.customers import (
    Access,
    DateInput,
    _base_context,
    _form_errors,
    _today,
    company_page,
)
from incassa.workspace import effectiveness as eff
from incassa.workspace.selectors import effectiveness_report

# The longest list of customers a page shows; the command lists them all.
NOT_WORKING_SHOWN = 100


class PeriodForm(forms.Form):
    start = forms.DateField(
        label=pgettext_lazy("period", "From"), required=False, widget=DateInput()
    )
    end = forms.DateField(label=pgettext_lazy("period", "To"), required=False, widget=DateInput())

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise ValidationError(_("The period ends before it starts."))
        return data


def period(request: HttpRequest, today: dt.date) -> tuple[dt.date, dt.date]:
    """The period asked for (``from``, ``to``), else the last ``DEFAULT_PERIOD_DAYS`` days;
    a mistake is a message and the default period."""
    form = PeriodForm({"start": request.GET.get("from", ""), "end": request.GET.get("to", "")})
    default_start, default_end = eff.default_period(today)
    if not form.is_valid():
        _form_errors(request, form)
        return default_start, default_end
    end = form.cleaned_data["end"] or default_end
    start = form.cleaned_data["start"] or end - (default_end - default_start)
    if end < start:  # only a start after today's default end
        messages.error(request, _("The period ends before it starts."))
        return default_start, default_end
    return start, end


@company_page
def effectiveness(request: HttpRequest, access: Access) -> HttpResponse:
    if access.is_sales_agent:
        raise PermissionDenied(_("The effectiveness of collections is not shown to sales agents."))
    if request.method == "POST":
        return HttpResponseNotAllowed(["GET", "HEAD"])
    today = _today()
    start, end = period(request, today)
    report = effectiveness_report(company=access.company, start=start, end=end, today=today)
    shown = report.not_working[:NOT_WORKING_SHOWN]
    context = {
        **_base_context(request, access),
        "report": report,
        "start": start,
        "end": end,
        "horizons": eff.HORIZONS,
        "tables": [
            ("steps", _("By step"), _("Step"), report.steps),
            ("channels", _("By channel"), _("Channel"), report.channels),
            ("strategies", _("By strategy"), _("Strategy"), report.strategies),
            ("activity-kinds", _("By activity type"), _("Activity"), report.activity_kinds),
        ],
        "not_working": [(entry, eff.SUGGESTION_LABELS[entry.flag.suggestion]) for entry in shown],
        "not_working_hidden": len(report.not_working) - len(shown),
        "grace_days": eff.FINISHED_GRACE_DAYS,
        "fruitless_min": eff.FRUITLESS_CONTACTS_MIN,
        "promises_min": eff.BROKEN_PROMISES_MIN,
        "longest": eff.LONGEST,
        "default_days": eff.DEFAULT_PERIOD_DAYS,
    }
    return render(request, "web/effectiveness.html", context)


urlpatterns = [path("effectiveness/", effectiveness, name="effectiveness")]
