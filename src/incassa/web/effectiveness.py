"""Effectiveness: which steps, channels, activity types and strategies bring money in, and
the customers for whom what is done is not working, with what to do instead.

Thin like the other pages: parse the period, ask ``workspace.report_snapshots`` for the
stored report (computed after the day's key figures are kept, seconds on a million items),
render it with the moment it was computed. The page measures the company's collection
process, so every role sees it but sales agents, who see only their own customers (403 for
them). Administrators and credit managers may recompute it now: a background job whose page
leads back here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from incassa.credit.report_snapshots import is_stale
from incassa.jobs.models import JobKind
from incassa.jobs.services import job_start
from incassa.ledger.models import Role
from incassa.web.customers import (
    Access,
    DateInput,
    _base_context,
    _form_errors,
    _today,
    company_page,
)
from incassa.workspace import effectiveness as eff
from incassa.workspace.report_snapshots import effectiveness_figures

# The longest list of customers a page shows; the command lists them all.
NOT_WORKING_SHOWN = 100
# Who may recompute the stored figures now (seconds of work on a large ledger).
RECOMPUTING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})


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


def period(
    request: HttpRequest, today: dt.date, params: Any = None
) -> tuple[dt.date, dt.date] | None:
    """The period asked for (``from``, ``to`` of ``params``, the query by default), None
    when none is (the default period, as last computed); a mistake is a message and the
    default period."""
    params = request.GET if params is None else params
    if not params.get("from") and not params.get("to"):
        return None
    form = PeriodForm({"start": params.get("from", ""), "end": params.get("to", "")})
    default_start, default_end = eff.default_period(today)
    if not form.is_valid():
        _form_errors(request, form)
        return None
    end = form.cleaned_data["end"] or default_end
    start = form.cleaned_data["start"] or end - (default_end - default_start)
    if end < start:  # only a start after today's default end
        messages.error(request, _("The period ends before it starts."))
        return None
    return start, end


@company_page
def effectiveness(request: HttpRequest, access: Access) -> HttpResponse:
    if access.is_sales_agent:
        raise PermissionDenied(_("The effectiveness of collections is not shown to sales agents."))
    today = _today()
    if request.method == "POST":
        return _recompute(request, access, today)
    asked = period(request, today)
    start, end = asked if asked else (None, None)
    stored = effectiveness_figures(
        company=access.company, today=today, start=start, end=end, limit=NOT_WORKING_SHOWN
    )
    report = stored.report
    shown = report.not_working[:NOT_WORKING_SHOWN]
    context = {
        **_base_context(request, access),
        "report": report,
        "start": report.start,
        "end": report.end,
        "asked": asked,
        "snapshot": stored.snapshot,
        "stale": is_stale(stored.snapshot, today=today),
        "may_recompute": access.role in RECOMPUTING_ROLES,
        "recompute_fields": (
            [("from", asked[0].isoformat()), ("to", asked[1].isoformat())] if asked else []
        ),
        "horizons": eff.HORIZONS,
        "tables": [
            ("steps", _("By step"), _("Step"), report.steps),
            ("channels", _("By channel"), _("Channel"), report.channels),
            ("strategies", _("By strategy"), _("Strategy"), report.strategies),
            ("activity-kinds", _("By activity type"), _("Activity"), report.activity_kinds),
        ],
        "not_working": [(entry, eff.SUGGESTION_LABELS[entry.flag.suggestion]) for entry in shown],
        "not_working_hidden": report.not_working_count - len(shown),
        "grace_days": eff.FINISHED_GRACE_DAYS,
        "fruitless_min": eff.FRUITLESS_CONTACTS_MIN,
        "promises_min": eff.BROKEN_PROMISES_MIN,
        "longest": eff.LONGEST,
        "default_days": eff.DEFAULT_PERIOD_DAYS,
    }
    return render(request, "web/effectiveness.html", context)


def _recompute(request: HttpRequest, access: Access, today: dt.date) -> HttpResponse:
    """Compute the figures of the period shown (the default one when none was asked for)
    again now, as of today, then show them."""
    if access.role not in RECOMPUTING_ROLES:
        raise PermissionDenied(
            _("Only administrators and credit managers recompute the effectiveness.")
        )
    asked = period(request, today, request.POST)
    start, end = asked if asked else (None, None)
    url = reverse("web:effectiveness")
    if asked:
        url += "?" + urlencode({"from": asked[0].isoformat(), "to": asked[1].isoformat()})
    # Seconds on a large ledger: a background job, whose page leads back here.
    job = job_start(
        company=access.company,
        user=request.user,
        kind=JobKind.EFFECTIVENESS_RECOMPUTE,
        title=_("Effectiveness recomputed"),
        function="incassa.jobs.services.effectiveness_recompute_job",
        kwargs={
            "today": today.isoformat(),
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        },
        back_url=url,
    )
    return redirect("web:job", pk=job.pk)


urlpatterns = [path("effectiveness/", effectiveness, name="effectiveness")]
