"""The company's settings: its data and letterhead (what every letter and email carries),
the weights of the credit scores, the mail accounts messages go out from, and the calendar
of the days it works.

Administrators and credit managers change them; auditors read them; the other roles do
not see them. A company's own mail account (ordinary email, PEC) wins over the
installation's (``EMAIL_URL``, ``PEC_EMAIL_URL``); its password is write-only here and the
"Test the connection" button logs in to the server without sending anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.comms.accounts import (
    ACCOUNT_FIELDS,
    NAME_FOR_KIND,
    AccountError,
    environment_display,
    mail_account_check,
    mail_account_save,
    password_state,
    stored_account,
)
from incassa.comms.calendars import (
    calendar_set,
    calendar_settings,
    closure_add,
    closure_remove,
    company_calendar,
)
from incassa.comms.models import AccountKind, CompanyClosure, CompanyMailAccount
from incassa.core.calendar import subdivisions
from incassa.credit import scoring
from incassa.credit import services as credit_services
from incassa.credit.selectors import COMPONENT_LABELS
from incassa.ledger.models import Company, Role
from incassa.ledger.services import COMPANY_SETTINGS_FIELDS, company_update
from incassa.web.customers import (
    Access,
    DateInput,
    _base_context,
    _form_errors,
    _int_or_none,
    _today,
    company_page,
)

EDITING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
READING_ROLES = EDITING_ROLES | {Role.AUDITOR}

CRITICALITY_LABELS = {
    "days_overdue": gettext_lazy("Days overdue"),
    "amount_vs_customer": gettext_lazy("Amount against the customer's open amount"),
    "amount_vs_portfolio": gettext_lazy("Amount against the portfolio's"),
    "reliability": gettext_lazy("The customer's reliability"),
    "seniority": gettext_lazy("Days as a customer"),
}


class CompanyForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = COMPANY_SETTINGS_FIELDS
        localized_fields = ("max_close_share",)
        widgets = {
            "signature": forms.Textarea(attrs={"rows": 3}),
            "letter_footer": forms.Textarea(attrs={"rows": 3}),
        }


class WeightsForm(forms.Form):
    """One number per component of each score, and whether exposure counts what is not due."""

    exposure_includes_not_due = forms.BooleanField(
        label=gettext_lazy("Exposure includes items not yet due"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in scoring.ReliabilityWeights.names():
            self.fields[f"r_{name}"] = forms.FloatField(
                label=COMPONENT_LABELS.get(name, name), min_value=0, localize=True
            )
        for name in scoring.CriticalityWeights.names():
            self.fields[f"k_{name}"] = forms.FloatField(
                label=CRITICALITY_LABELS.get(name, name), min_value=0, localize=True
            )

    def reliability_fields(self) -> list[Any]:
        return [self[f"r_{name}"] for name in scoring.ReliabilityWeights.names()]

    def criticality_fields(self) -> list[Any]:
        return [self[f"k_{name}"] for name in scoring.CriticalityWeights.names()]


def _weights_initial(company: Company) -> dict[str, Any]:
    reliability, criticality, includes_not_due = credit_services.weights_for(company)
    initial: dict[str, Any] = {"exposure_includes_not_due": includes_not_due}
    initial.update({f"r_{k}": v for k, v in reliability.as_dict().items()})
    initial.update({f"k_{k}": v for k, v in criticality.as_dict().items()})
    return initial


# What an operation of the page gets (the forms it leaves to show again) and returns: a
# redirect when it is done, None to show the page again with its form's errors.
Page = dict[str, Any]
Outcome = HttpResponse | None


def _submitted(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], None],
    done: str,
    refusals: tuple[type[Exception], ...] = (ValidationError,),
) -> Outcome:
    """What every form of the page does with its POST: a valid form is saved, and the page
    comes back with ``done``; a form error or a refusal of the service (its message) shows
    the page again with the form (None)."""
    if not form.is_valid():
        _form_errors(request, form)
        return None
    try:
        save(form.cleaned_data)
    except refusals as exc:
        reasons = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
        messages.error(request, "; ".join(reasons))
        return None
    messages.success(request, done)
    return redirect("web:settings")


# --------------------------------------------------------------------------------------
# Mail accounts
# --------------------------------------------------------------------------------------


class BadOperation(Exception):
    """The form posted no known operation (or no known account)."""


ACCOUNT_KINDS = (AccountKind.EMAIL, AccountKind.PEC)
PASSWORD_STATES = {
    "set": gettext_lazy("set"),
    "not set": gettext_lazy("not set"),
    "unreadable": gettext_lazy("unreadable: the secrets key changed, enter it again"),
}


class MailAccountForm(forms.ModelForm):
    """One of the company's accounts. The password is write-only: never rendered back (not
    even after an error); empty keeps the stored one; "remove" deletes it."""

    new_password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Leave empty to keep the stored password."),
    )
    clear_password = forms.BooleanField(
        label=gettext_lazy("Remove the stored password (a server that needs no login)"),
        required=False,
    )

    class Meta:
        model = CompanyMailAccount
        fields = ACCOUNT_FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("new_password") and data.get("clear_password"):
            raise ValidationError(_("Either enter a new password or remove it, not both."))
        return data


def _account_context(company: Company, kind: str, form: MailAccountForm | None) -> dict[str, Any]:
    stored = stored_account(company, kind)
    state = password_state(stored)
    return {
        "kind": kind,
        "label": AccountKind(kind).label,
        "form": form or MailAccountForm(instance=stored, prefix=kind),
        "stored": stored,
        "in_use": "own" if stored is not None and stored.enabled else "environment",
        "password_state": state,
        "password_label": PASSWORD_STATES[state],
        "environment": environment_display(NAME_FOR_KIND[kind]),
    }


def _kind(request: HttpRequest) -> str:
    kind = request.POST.get("kind", "")
    if kind not in ACCOUNT_KINDS:
        raise BadOperation
    return kind


def _save_account(request: HttpRequest, access: Access, page: Page) -> Outcome:
    kind = _kind(request)
    stored = stored_account(access.company, kind)
    form = MailAccountForm(request.POST, instance=stored, prefix=kind)
    page["account_forms"][kind] = form
    return _submitted(
        request,
        form,
        lambda data: mail_account_save(
            company=access.company,
            kind=kind,
            values={name: data[name] for name in ACCOUNT_FIELDS},
            password=data["new_password"],
            clear_password=data["clear_password"],
            user=request.user,
        ),
        _("%(account)s: the account is saved.") % {"account": AccountKind(kind).label},
    )


def _check_account(request: HttpRequest, access: Access, page: Page) -> Outcome:
    kind = _kind(request)
    label = AccountKind(kind).label
    try:
        checked = mail_account_check(company=access.company, kind=kind)
    except AccountError as exc:
        messages.error(
            request,
            _("%(account)s: the connection failed: %(error)s") % {"account": label, "error": exc},
        )
    else:
        messages.success(
            request,
            _("%(account)s: the connection works (%(detail)s).")
            % {"account": label, "detail": checked},
        )
    return redirect("web:settings")


# --------------------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------------------

# The coming days whose holidays and closures the page lists.
CALENDAR_DAYS_SHOWN = 365


class CalendarForm(forms.Form):
    subdivision = forms.ChoiceField(
        label=gettext_lazy("Province"),
        required=False,
        help_text=gettext_lazy("Adds the patron saint's day of the place, e.g. Milan 7 December."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subdivision"].choices = [
            ("", _("None: national holidays only")),
            *((code, f"{name} ({code})") for code, name in subdivisions("IT").items()),
        ]


class ClosureForm(forms.Form):
    starts_on = forms.DateField(label=gettext_lazy("From"), widget=DateInput())
    ends_on = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Empty: one day."),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200)


def _set_calendar(request: HttpRequest, access: Access, page: Page) -> Outcome:
    form = page["calendar_form"] = CalendarForm(request.POST)
    return _submitted(
        request,
        form,
        lambda data: calendar_set(
            company=access.company, subdivision=data["subdivision"], user=request.user
        ),
        _("The calendar is saved."),
    )


def _add_closure(request: HttpRequest, access: Access, page: Page) -> Outcome:
    form = page["closure_form"] = ClosureForm(request.POST)
    return _submitted(
        request,
        form,
        lambda data: closure_add(
            company=access.company,
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
            description=data["description"],
            user=request.user,
        ),
        _("The closure is added."),
    )


def _remove_closure(request: HttpRequest, access: Access, page: Page) -> Outcome:
    pk = _int_or_none(request.POST.get("closure"))
    closure = get_object_or_404(CompanyClosure, pk=pk or 0, company=access.company)
    closure_remove(closure=closure, user=request.user)
    messages.success(request, _("The closure is removed."))
    return redirect("web:settings")


def _calendar_context(company: Company, today: dt.date) -> dict[str, Any]:
    calendar = company_calendar(company)
    chosen = calendar_settings(company)
    last = today + dt.timedelta(days=CALENDAR_DAYS_SHOWN - 1)
    return {
        "province": subdivisions("IT").get(chosen.subdivision, ""),
        "closures": list(CompanyClosure.objects.filter(company=company).order_by("starts_on")),
        "non_working": calendar.non_working_periods(today, last),
        "shown_until": last,
    }


# --------------------------------------------------------------------------------------
# The page
# --------------------------------------------------------------------------------------


def _save_company(request: HttpRequest, access: Access, page: Page) -> Outcome:
    form = page["company_form"] = CompanyForm(request.POST, request.FILES, instance=access.company)
    return _submitted(
        request,
        form,
        lambda data: company_update(
            company=access.company,
            values={name: data[name] for name in COMPANY_SETTINGS_FIELDS},
        ),
        _("The company's data are saved."),
    )


def _save_weights(request: HttpRequest, access: Access, page: Page) -> Outcome:
    form = page["weights_form"] = WeightsForm(request.POST)
    return _submitted(
        request,
        form,
        lambda data: credit_services.scoring_settings_update(
            company=access.company,
            reliability={n: data[f"r_{n}"] for n in scoring.ReliabilityWeights.names()},
            criticality={n: data[f"k_{n}"] for n in scoring.CriticalityWeights.names()},
            exposure_includes_not_due=data["exposure_includes_not_due"],
        ),
        _("The weights are saved: the scores follow them from the next import."),
        refusals=(scoring.ScoringError,),
    )


# Each operation returns a redirect when it is done, or None to show the page again (with
# its form's errors, status 400).
OPERATIONS: dict[str, Callable[[HttpRequest, Access, Page], Outcome]] = {
    "company": _save_company,
    "weights": _save_weights,
    "mail": _save_account,
    "mail-check": _check_account,
    "calendar": _set_calendar,
    "closure-add": _add_closure,
    "closure-remove": _remove_closure,
}


@company_page
def company_settings(request: HttpRequest, access: Access) -> HttpResponse:
    if access.role not in READING_ROLES:
        raise PermissionDenied(_("Only administrators, credit managers and auditors see this."))
    may_edit = access.role in EDITING_ROLES
    page: Page = {"account_forms": {}}
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Only administrators and credit managers change settings."))
        operation = OPERATIONS.get(request.POST.get("op", ""))
        if operation is None:
            return HttpResponseBadRequest(_("Unknown operation."))
        try:
            response = operation(request, access, page)
        except BadOperation:
            return HttpResponseBadRequest(_("Unknown operation."))
        if response is not None:
            return response
        status = 400
    company = access.company
    context = {
        **_base_context(request, access),
        "may_edit": may_edit,
        "company_form": page.get("company_form") or CompanyForm(instance=company),
        "weights_form": page.get("weights_form") or WeightsForm(initial=_weights_initial(company)),
        "mail_accounts": [
            _account_context(company, kind, page["account_forms"].get(kind))
            for kind in ACCOUNT_KINDS
        ],
        "calendar_form": page.get("calendar_form")
        or CalendarForm(initial={"subdivision": calendar_settings(company).subdivision}),
        "closure_form": page.get("closure_form") or ClosureForm(),
        **_calendar_context(company, _today()),
    }
    return render(request, "web/settings.html", context, status=status)


urlpatterns = [path("settings/", company_settings, name="settings")]
