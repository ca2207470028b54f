"""Server-rendered pages. Thin: choose the company, ask the selectors, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from incassa.credit import selectors as credit
from incassa.ledger.models import Company, Role
from incassa.ledger.selectors import (
    companies_for_user,
    customers_for_user,
    dashboard_figures,
    role_for_user,
)

SESSION_COMPANY = "incassa_company"
# A snapshot older than this many days is flagged: the figures may still show paid items.
STALE_AFTER_DAYS = 1


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


def _credit_figures(request: HttpRequest, company: Company, today) -> dict:
    role = role_for_user(user=request.user, company=company)
    customers = customers_for_user(user=request.user, company=company, role=role)
    agent_only = customers if role == Role.SALES_AGENT else None
    return {
        "critical_items": credit.most_critical_items(
            company, as_of=today, limit=10, customers=agent_only
        ),
        "open_alerts": credit.open_alerts(company).count() if role != Role.SALES_AGENT else 0,
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    company, companies = current_company(request)
    if company is None:
        return render(request, "web/no_company.html", status=403)
    today = timezone.localdate()
    figures = dashboard_figures(company=company, as_of=today)
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
            for debtor in figures.top_debtors
        ],
        "not_due_amount": figures.open_amount - figures.overdue_amount,
        **_credit_figures(request, company, today),
    }
    return render(request, "web/dashboard.html", context)
