"""Reports: the key figures of credit (DSO, best possible DSO, ADD, CEI, late share, days to
pay and late, aging) for any date and period, for the company or one category, sales agent
or customer, computed the same way as ``incassa kpi`` and exported to CSV or Excel.

A sales agent sees the figures of their own customers only (their agent scope).

The figures aggregate the whole ledger (seconds on a million items), so they are computed
ahead and stored (``credit.report_snapshots``): the company's for the default period after
each import's KPI snapshot, which the page shows when asked for no date; any other date,
period or scope the first time it is asked for. The page says when they were computed;
administrators and credit managers may recompute them now: a background job
(``incassa.jobs``) whose page follows it and leads back to the report.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.core.exports import rows_to_csv, rows_to_xlsx
from incassa.credit.kpis import Scope, default_period_start
from incassa.credit.report_snapshots import is_stale, kpi_figures, kpi_preset_as_of
from incassa.jobs.models import JobKind
from incassa.jobs.services import job_start
from incassa.ledger.models import Customer, CustomerCategory, Role, SalesAgent
from incassa.ledger.selectors import AGING_BUCKETS as BUCKET_SPECS
from incassa.web.customers import Access, DateInput, _base_context, _today, company_page

# Who may recompute the stored figures now (seconds of work on a large ledger).
RECOMPUTING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})

# What each figure means, in one line (docs/kpis.md has the definitions in full).
KPI_ROWS = (
    ("dso", gettext_lazy("DSO"), gettext_lazy("Days of sales the open amount stands for"), "days"),
    (
        "dso_countback",
        gettext_lazy("DSO (countback)"),
        gettext_lazy("The same, counting back month by month through the sales"),
        "days",
    ),
    (
        "best_possible_dso",
        gettext_lazy("Best possible DSO"),
        gettext_lazy("The DSO if every customer paid on the due date"),
        "days",
    ),
    (
        "add",
        gettext_lazy("ADD"),
        gettext_lazy("Average days delinquent: DSO less best possible DSO"),
        "days",
    ),
    (
        "cei",
        gettext_lazy("CEI"),
        gettext_lazy("Collection effectiveness: the share of what could be collected that was"),
        "percent",
    ),
    (
        "late_share",
        gettext_lazy("Paid late"),
        gettext_lazy("Share of the amount settled in the period that was paid late"),
        "percent",
    ),
    (
        "average_days_to_pay",
        gettext_lazy("Days to pay"),
        gettext_lazy("Average days from the document to the payment"),
        "days",
    ),
    (
        "average_days_late",
        gettext_lazy("Days late"),
        gettext_lazy("Average days from the due date to the payment"),
        "days",
    ),
)


class ReportForm(forms.Form):
    as_of = forms.DateField(label=gettext_lazy("As of"), widget=DateInput(), required=False)
    start = forms.DateField(label=gettext_lazy("Period from"), widget=DateInput(), required=False)
    scope = forms.ChoiceField(label=gettext_lazy("For"), required=False)

    def __init__(self, *args: Any, access: Access, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        company = access.company
        choices: list[tuple[str, Any]] = [("company", _("The whole company"))]
        if not access.is_sales_agent:
            categories = CustomerCategory.objects.filter(company=company).order_by("name")
            agents = SalesAgent.objects.filter(company=company).order_by("name")
            choices += [
                (_("Categories"), [(f"category:{c.pk}", c.name) for c in categories]),
                (_("Sales agents"), [(f"agent:{a.pk}", a.name) for a in agents]),
            ]
        else:
            choices = [("mine", _("My customers"))]
        self.fields["scope"].choices = choices


def _scope(access: Access, value: str, request: HttpRequest) -> tuple[Scope, str]:
    """The scope asked for, as the user may see it: a sales agent always gets their own."""
    company = access.company
    if access.is_sales_agent:
        agent = SalesAgent.objects.filter(company=company, user=request.user).first()
        if agent is None:
            return Scope("agent", -1), ""
        return Scope("agent", agent.pk), agent.name
    kind, _sep, ident = value.partition(":")
    if kind == "category" and ident.isdigit():
        found = CustomerCategory.objects.filter(company=company, pk=int(ident)).first()
        if found:
            return Scope("category", found.pk), found.name
    if kind == "agent" and ident.isdigit():
        found = SalesAgent.objects.filter(company=company, pk=int(ident)).first()
        if found:
            return Scope("agent", found.pk), found.name
    if kind == "customer":
        found = Customer.objects.filter(company=company, code=ident).first()
        if found:
            return Scope("customer", found.pk), found.name
    return Scope(), company.name


def _asked(
    request: HttpRequest, access: Access, params: Any, today: dt.date
) -> tuple[ReportForm, dt.date, dt.date, Scope, str]:
    """The form, and the date, period start and scope it asks for: by default the day of
    the newest figures computed ahead (today when there are none) and its default period."""
    form = ReportForm(params or None, access=access)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    as_of = data.get("as_of")
    if as_of is None:
        as_of = kpi_preset_as_of(company=access.company, today=today) or today
    as_of = min(as_of, today)
    start = data.get("start") or default_period_start(as_of)
    scope, scope_name = _scope(access, data.get("scope") or params.get("scope", ""), request)
    return form, as_of, start, scope, scope_name


@company_page
def report(request: HttpRequest, access: Access) -> HttpResponse:
    today = _today()
    if request.method == "POST":
        return _recompute(request, access, today)
    form, as_of, start, scope, scope_name = _asked(request, access, request.GET, today)
    context: dict[str, Any] = {
        **_base_context(request, access),
        "form": form,
        "as_of": as_of,
        "start": start,
        "scope_name": scope_name,
    }
    if start > as_of:
        context["problem"] = _("The period must start on or before the date of the report.")
        return render(request, "web/reports.html", context)
    stored = kpi_figures(company=access.company, as_of=as_of, period_start=start, scope=scope)
    result = stored.result
    figures = result.report
    rows = [(key, label, hint, unit, getattr(figures, key)) for key, label, hint, unit in KPI_ROWS]
    aging = [(spec.key, spec.label, figures.aging.get(spec.key)) for spec in BUCKET_SPECS]
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        return _export(export, access, as_of, start, scope_name, figures, rows, aging)
    context.update(
        {
            "figures": figures,
            "rows": rows,
            "aging": aging,
            "sales_source": result.sales_source,
            "query": request.GET.urlencode(),
            "snapshot": stored.snapshot,
            "stale": is_stale(stored.snapshot, today=today),
            "may_recompute": access.role in RECOMPUTING_ROLES,
            "recompute_action": request.get_full_path(),
            "recompute_fields": [
                ("as_of", as_of.isoformat()),
                ("start", start.isoformat()),
                ("scope", request.GET.get("scope", "")),
            ],
        }
    )
    return render(request, "web/reports.html", context)


def _recompute(request: HttpRequest, access: Access, today: dt.date) -> HttpResponse:
    """Compute the figures shown (date, period and scope in the form's fields) again, in
    a job whose page leads back to the report as it was asked for (its query)."""
    if access.role not in RECOMPUTING_ROLES:
        raise PermissionDenied(_("Only administrators and credit managers recompute the figures."))
    _form, as_of, start, scope, _name = _asked(request, access, request.POST, today)
    if start > as_of:
        messages.error(request, _("The period must start on or before the date of the report."))
        return redirect(request.get_full_path())
    job = job_start(
        company=access.company,
        user=request.user,
        kind=JobKind.REPORT_RECOMPUTE,
        title=_("Credit report as of %(date)s recomputed") % {"date": f"{as_of:%d/%m/%Y}"},
        function="incassa.jobs.services.report_recompute_job",
        kwargs={
            "as_of": as_of.isoformat(),
            "period_start": start.isoformat(),
            "scope_kind": scope.kind,
            "scope_id": scope.id,
        },
        back_url=request.get_full_path(),
    )
    return redirect("web:job", pk=job.pk)


def _export(kind, access, as_of, start, scope_name, figures, rows, aging) -> HttpResponse:
    headers = [_("Figure"), _("Value"), _("Unit")]
    table: list[list[Any]] = [
        [_("Company"), access.company.name, ""],
        [_("For"), scope_name, ""],
        [_("As of"), as_of, ""],
        [_("Period from"), start, ""],
        [_("Open amount"), figures.open_amount, "EUR"],
        [_("Overdue amount"), figures.overdue_amount, "EUR"],
        *([str(label), value, "EUR"] for _key, label, value in aging),
        *(
            [str(label), value, _("days") if unit == "days" else "%"]
            for _key, label, _hint, unit, value in rows
        ),
    ]
    name = f"kpi-{as_of:%Y%m%d}"
    if kind == "xlsx":
        data = rows_to_xlsx(headers, table, sheet="KPI")
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data = rows_to_csv(headers, table)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    return response


urlpatterns = [path("reports/", report, name="reports")]
