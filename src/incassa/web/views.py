"""Server-rendered pages. Thin: choose the company, ask the selectors, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from incassa.credit import selectors as credit
from incassa.cycle.selectors import stale_notice
from incassa.dunning import selectors as dunning
from incassa.ledger.models import Company, Role
from incassa.ledger.selectors import (
    companies_for_user,
    customers_for_user,
    dashboard_figures,
    role_for_user,
    top_debtors,
)
from incassa.workspace.overview import agreements_overview

SESSION_COMPANY = "incassa_company"
# A snapshot older than this many days is flagged: the figures may still show paid items.
STALE_AFTER_DAYS = 1
# The trends go back this far; what the reminders brought in is measured over this period.
TREND_DAYS = 180
RESULTS_DAYS = 30
# Promises falling due within this many days are listed.
PROMISES_AHEAD_DAYS = 7


def current_company(request: HttpRequest) -> tuple[Company | None, list[Company]]:
    """The company the user is looking at, and every company they may switch to.

    ``?company=CODE`` chooses one and remembers it in the session; a code the user may not
    see is a 404, so the page does not reveal which companies exist. Without a choice, the
    remembered one (if still allowed) or the first by name.
    """
    companies = list(companies_for_user(user=request.user).order_by("name", "code"))
    by_code = {company.code: company for company in companies}
    requested = request.GET.get("company")
    if requested is not None:
        company = by_code.get(requested)
        if company is None:
            raise Http404("No such company")
        request.session[SESSION_COMPANY] = company.code
        return company, companies
    remembered = by_code.get(request.session.get(SESSION_COMPANY, ""))
    if remembered is not None:
        return remembered, companies
    return (companies[0] if companies else None), companies


def _agent_customers(request: HttpRequest, company: Company) -> tuple[str | None, Any]:
    """The user's role, and the customers a sales agent's figures narrow to (None: all)."""
    role = role_for_user(user=request.user, company=company)
    if role != Role.SALES_AGENT:
        return role, None
    return role, customers_for_user(user=request.user, company=company, role=role)


def _credit_figures(company: Company, today: dt.date, role: str | None, agent_only: Any) -> dict:
    return {
        "critical_items": credit.most_critical_items(
            company, as_of=today, limit=10, customers=agent_only
        ),
        "open_alerts": credit.open_alerts(company).count() if role != Role.SALES_AGENT else 0,
    }


def _work_figures(company: Company, today: dt.date, agent_only: Any) -> dict:
    """Today's actions per channel, what the recent ones brought in, the promises falling
    due and the open disputes (a sales agent's only for their customers)."""
    return {
        "channels_today": dunning.actions_by_channel(company=company, day=today),
        "channel_results": dunning.channel_results(
            company=company, since=today - dt.timedelta(days=RESULTS_DAYS), until=today
        ),
        "results_days": RESULTS_DAYS,
        **agreements_overview(
            company=company,
            today=today,
            ahead=PROMISES_AHEAD_DAYS,
            customers=agent_only,
        ),
    }


def _chart_data(figures: Any, trend: list, channels: list) -> dict:
    """The figures the charts draw (amounts as numbers of euros: the tables beside the
    charts show the exact amounts)."""
    return {
        "labels": {
            "open": _("Open amount"),
            "overdue": _("Overdue amount"),
            "dso": _("DSO (days)"),
            "gone_out": _("Gone out or done"),
            "waiting": _("Waiting"),
            "failed": _("Failed or rejected"),
            "cancelled": _("Cancelled"),
        },
        "trend": {
            "dates": [point.on_date.isoformat() for point in trend],
            "open": [float(point.open_amount) for point in trend],
            "overdue": [float(point.overdue_amount) for point in trend],
            "dso": [float(point.dso) if point.dso is not None else None for point in trend],
        },
        "aging": [
            {"key": bucket.key, "label": str(bucket.label), "amount": float(bucket.amount)}
            for bucket in figures.aging
        ],
        "channels": {
            "labels": [row.label for row in channels],
            "gone_out": [row.gone_out for row in channels],
            "waiting": [row.waiting for row in channels],
            "failed": [row.failed for row in channels],
            "cancelled": [row.cancelled for row in channels],
        },
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    company, companies = current_company(request)
    if company is None:
        return render(request, "web/no_company.html", status=403)
    today = timezone.localdate()
    figures = dashboard_figures(company=company, as_of=today)
    role, agent_only = _agent_customers(request, company)
    debtors = figures.top_debtors
    if agent_only is not None:  # a sales agent sees the names of their customers only
        debtors = top_debtors(company=company, as_of=today, customers=agent_only)
    snapshot_age = (today - figures.data_as_of).days if figures.data_as_of else None
    context = {
        "company": company,
        "companies": companies,
        "figures": figures,
        "today": today,
        "snapshot_age": snapshot_age,
        "snapshot_is_stale": snapshot_age is None or snapshot_age > STALE_AFTER_DAYS,
        "debtors": [
            {"debtor": debtor, "days_late": max((today - debtor.oldest_due_date).days, 0)}
            for debtor in debtors
        ],
        "not_due_amount": figures.open_amount - figures.overdue_amount,
        **_credit_figures(company, today, role, agent_only),
        **_work_figures(company, today, agent_only),
        # The daily cycle holds the reminders back while the snapshot is not today's.
        "cycle_stale": stale_notice(company, today) if role != Role.SALES_AGENT else None,
    }
    trend = credit.kpi_trend(company, since=today - dt.timedelta(days=TREND_DAYS))
    context["trend"] = trend
    context["trend_days"] = TREND_DAYS
    context["chart_data"] = _chart_data(figures, trend, context["channels_today"])
    return render(request, "web/dashboard.html", context)
