"""The team page: each operator's portfolio with its figures, the rules that give a
category's customers (or every customer) to an operator, the customers given by hand, and
how punctual each operator was week by week.

Every role that may see the whole company looks; administrators and credit managers change
the portfolios (a collector's or an auditor's POST is a 403); sales agents, who see only
their own customers, are refused the page. Thin like the other pages: the
``workspace.portfolios`` selectors say what to show and its services (with
``work.customer_assign`` for one customer) change it. A category, an assignment or a
customer of another company is a 404 or a message, never a change.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from incassa.core.formatting import format_day, format_number
from incassa.ledger.models import CustomerCategory, Role, SalesAgent
from incassa.web.customers import (
    Access,
    _base_context,
    _form_errors,
    _int_or_none,
    _today,
    company_page,
)
from incassa.workspace import portfolios
from incassa.workspace.models import CustomerAssignment
from incassa.workspace.selectors import punctuality
from incassa.workspace.work import WorkError, customer_assign

# Sales agents see only their own customers: a page about everybody's is not for them.
VIEW_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.AUDITOR})
# Who looks after which customers is a manager's decision.
MANAGE_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
PUNCTUALITY_WEEKS = 8  # shown unless a range is chosen
WEEKS_OFFERED = 52  # how far back the range can start
ASSIGNMENTS_PER_PAGE = 50
ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

OPERATOR_ERRORS = {
    "required": gettext_lazy("Choose the operator."),
    "invalid_choice": gettext_lazy("Choose a colleague who works on collections."),
}


def _operator_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=gettext_lazy("Operator"),
        queryset=get_user_model().objects.none(),
        error_messages=OPERATOR_ERRORS,
    )


class _CompanyForm(forms.Form):
    """A form whose choices are those of one company."""

    def __init__(self, *args: Any, access: Access, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access = access
        if "operator" in self.fields:
            self.fields["operator"].queryset = portfolios.acting_members(access.company)


class RuleForm(_CompanyForm):
    operator = _operator_field()


class AssignForm(_CompanyForm):
    code = forms.CharField(label=gettext_lazy("Customer code"), max_length=60, strip=True)
    operator = _operator_field()

    def clean_code(self) -> Any:
        code = self.cleaned_data["code"]
        customer = self.access.customers.filter(code=code).first()
        if customer is None:
            raise ValidationError(_("No customer has the code %(code)s.") % {"code": code})
        return customer


class BulkAssignForm(_CompanyForm):
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"), queryset=CustomerCategory.objects.none(), required=False
    )
    sales_agent = forms.ModelChoiceField(
        label=gettext_lazy("Sales agent"), queryset=SalesAgent.objects.none(), required=False
    )
    only = forms.ChoiceField(
        label=gettext_lazy("Which customers"),
        required=False,
        choices=[
            (portfolios.Only.ALL, gettext_lazy("All of them")),
            (portfolios.Only.NOBODYS, gettext_lazy("Those nobody looks after")),
            (portfolios.Only.NOT_BY_HAND, gettext_lazy("Those not assigned by hand")),
        ],
    )
    operator = _operator_field()

    def __init__(self, *args: Any, access: Access, **kwargs: Any) -> None:
        super().__init__(*args, access=access, **kwargs)
        self.fields["category"].queryset = CustomerCategory.objects.filter(company=access.company)
        self.fields["sales_agent"].queryset = SalesAgent.objects.filter(company=access.company)


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


@company_page
def team(request: HttpRequest, access: Access) -> HttpResponse:
    if access.role not in VIEW_ROLES:
        raise PermissionDenied(_("Your role may not see the team."))
    if request.method == "POST":
        if access.role not in MANAGE_ROLES:
            raise PermissionDenied(_("Only administrators and credit managers change portfolios."))
        return _team_post(request, access)
    today = _today()
    operators = list(portfolios.acting_members(access.company))
    rows = portfolios.operator_portfolios(company=access.company, today=today, operators=operators)
    rules = portfolios.category_rules(access.company)
    search = request.GET.get("q", "").strip()[:100]
    assignments = Paginator(
        portfolios.hand_assignments(access.company, search=search), ASSIGNMENTS_PER_PAGE
    ).get_page(_int_or_none(request.GET.get("page")) or 1)
    context = {
        **_base_context(request, access),
        "can_manage": access.role in MANAGE_ROLES,
        "portfolios": rows,
        "portfolio_totals": portfolios.portfolio_totals(rows),
        "rules": rules,
        "operators": operators,
        "assignments": assignments,
        "search": search,
        "categories": [entry.category for entry in rules if entry.category is not None],
        "agents": SalesAgent.objects.filter(company=access.company).order_by("name"),
        "bulk_choices": BulkAssignForm.base_fields["only"].choices,
        **_punctuality_context(request, access, today, operators),
    }
    return render(request, "web/team.html", context)


def _week_value(monday: dt.date) -> str:
    year, week, _weekday = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _parse_week(value: str | None) -> dt.date | None:
    """The Monday of an ISO week written ``2026-W14``, or None."""
    match = ISO_WEEK.match(value or "")
    if match is None:
        return None
    try:
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        return None


def _punctuality_context(
    request: HttpRequest, access: Access, today: dt.date, operators: list[Any]
) -> dict[str, Any]:
    """The chosen range of ISO weeks (the last eight by default, at most a year) and each
    operator's punctuality in it. A task counts once its day is over: today's are still on
    time, so the range ends yesterday."""
    this_week = today - dt.timedelta(days=today.weekday())
    oldest = this_week - dt.timedelta(weeks=WEEKS_OFFERED - 1)
    last = _parse_week(request.GET.get("to")) or this_week
    first = _parse_week(request.GET.get("from")) or last - dt.timedelta(weeks=PUNCTUALITY_WEEKS - 1)
    first, last = sorted((first, last))
    last = min(max(last, oldest), this_week)
    first = min(max(first, oldest), last)
    weeks = portfolios.mondays(first, last)
    end = min(last + dt.timedelta(days=6), today - dt.timedelta(days=1))
    entries = punctuality(company=access.company, start=first, end=end) if end >= first else []
    return {
        "punctuality": portfolios.punctuality_table(entries, weeks, operators),
        "week_range": {"from": _week_value(first), "to": _week_value(last)},
        "week_choices": [
            (
                _week_value(monday),
                _("Week %(week)s, %(year)s (from %(monday)s)")
                % {
                    "week": monday.isocalendar()[1],
                    "year": monday.isocalendar()[0],
                    "monday": format_day(monday),
                },
            )
            for monday in reversed(portfolios.mondays(oldest, this_week))
        ],
        "week_headers": [(monday, monday.isocalendar()[1]) for monday in weeks],
    }


# --------------------------------------------------------------------------------------
# Changes
# --------------------------------------------------------------------------------------


def _team_post(request: HttpRequest, access: Access) -> HttpResponse:
    handlers = {
        "rule": (_set_rule, "rules"),
        "rule_remove": (_remove_rule, "rules"),
        "assign": (_assign, "assignments"),
        "unassign": (_unassign, "assignments"),
        "bulk": (_bulk_assign, "assignments"),
    }
    handler, anchor = handlers.get(request.POST.get("op", ""), (None, ""))
    if handler is None:
        return HttpResponseBadRequest(_("Unknown operation."))
    try:
        handler(request, access)
    except WorkError as exc:
        messages.error(request, str(exc))
    return redirect(f"{reverse('web:team')}#{anchor}")


def _name(user: Any) -> str:
    return portfolios.display_name(user)


def _category(request: HttpRequest, access: Access) -> CustomerCategory | None:
    """The category a rule is about (none: the company default); another company's is a
    404."""
    category_id = request.POST.get("category", "")
    if not category_id:
        return None
    return get_object_or_404(
        CustomerCategory.objects.filter(company=access.company), pk=_int_or_none(category_id)
    )


def _set_rule(request: HttpRequest, access: Access) -> None:
    """Set or change the operator of a category, or the company default."""
    category = _category(request, access)
    form = RuleForm(request.POST, access=access)
    if not form.is_valid():
        _form_errors(request, form)
        return
    operator = form.cleaned_data["operator"]
    portfolios.portfolio_rule_set(company=access.company, category=category, operator=operator)
    if category is None:
        text = _("Customers without a rule of their category now go to %(name)s.")
    else:
        text = _("The customers of %(category)s now go to %(name)s.")
    messages.success(request, text % {"category": category, "name": _name(operator)})


def _remove_rule(request: HttpRequest, access: Access) -> None:
    category = _category(request, access)
    if not portfolios.portfolio_rule_remove(company=access.company, category=category):
        messages.info(request, _("There was no rule: nothing changed."))
    elif category is None:
        messages.success(request, _("There is no default operator any more."))
    else:
        messages.success(
            request,
            _("The rule of %(category)s is removed: its customers go to the default.")
            % {"category": category},
        )


def _assign(request: HttpRequest, access: Access) -> None:
    form = AssignForm(request.POST, access=access)
    if not form.is_valid():
        _form_errors(request, form)
        return
    customer, operator = form.cleaned_data["code"], form.cleaned_data["operator"]
    customer_assign(customer=customer, operator=operator)
    messages.success(
        request,
        _("%(customer)s is now assigned by hand to %(name)s.")
        % {"customer": customer.name or customer.code, "name": _name(operator)},
    )


def _unassign(request: HttpRequest, access: Access) -> None:
    assignment = get_object_or_404(
        CustomerAssignment.objects.filter(company=access.company).select_related("customer"),
        pk=_int_or_none(request.POST.get("assignment")),
    )
    customer = assignment.customer
    customer_assign(customer=customer, operator=None)
    messages.success(
        request,
        _("%(customer)s goes back to the rule of its category.")
        % {"customer": customer.name or customer.code},
    )


def _bulk_assign(request: HttpRequest, access: Access) -> None:
    form = BulkAssignForm(request.POST, access=access)
    if not form.is_valid():
        _form_errors(request, form)
        return
    data = form.cleaned_data
    count = portfolios.customers_bulk_assign(
        company=access.company,
        operator=data["operator"],
        category=data["category"],
        sales_agent=data["sales_agent"],
        only=data["only"] or portfolios.Only.ALL,
    )
    if count == 0:
        messages.info(request, _("No customer matches: nothing changed."))
        return
    messages.success(
        request,
        ngettext(
            "%(count)s customer is now assigned by hand to %(name)s.",
            "%(count)s customers are now assigned by hand to %(name)s.",
            count,
        )
        % {"count": format_number(count), "name": _name(data["operator"])},
    )


urlpatterns = [path("team/", team, name="team")]
