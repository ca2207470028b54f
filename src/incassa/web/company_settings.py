"""The company's settings: its data and letterhead (what every letter and email carries),
the weights of the credit scores, and the mail accounts messages go out from.

Administrators and credit managers change them; auditors read them; the other roles do
not see them. The mail accounts are read-only here: their passwords come from the
environment (``EMAIL_URL``, ``PEC_EMAIL_URL``) and are never shown.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.comms.transport import parse_email_url
from incassa.credit import scoring
from incassa.credit import services as credit_services
from incassa.credit.selectors import COMPONENT_LABELS
from incassa.ledger.models import Company, Role
from incassa.ledger.services import COMPANY_SETTINGS_FIELDS, company_update
from incassa.web.customers import Access, _base_context, _form_errors, company_page

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


def _mail_account(url: str) -> dict[str, str]:
    """An account as it may be shown: scheme, host, port, user, rate; never its password."""
    if not url:
        return {}
    try:
        account = parse_email_url(url)
    except ValueError as exc:
        return {"problem": str(exc)}
    return {"display": account.display(), "rate": str(account.rate_per_minute or "")}


@company_page
def company_settings(request: HttpRequest, access: Access) -> HttpResponse:
    if access.role not in READING_ROLES:
        raise PermissionDenied(_("Only administrators, credit managers and auditors see this."))
    may_edit = access.role in EDITING_ROLES
    company_form = CompanyForm(instance=access.company)
    weights_form = WeightsForm(initial=_weights_initial(access.company))
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied(_("Only administrators and credit managers change settings."))
        operation = request.POST.get("op", "")
        if operation == "company":
            company_form = CompanyForm(request.POST, request.FILES, instance=access.company)
            if company_form.is_valid():
                values = {name: company_form.cleaned_data[name] for name in COMPANY_SETTINGS_FIELDS}
                try:
                    company_update(company=access.company, values=values)
                except ValidationError as exc:
                    messages.error(request, "; ".join(exc.messages))
                else:
                    messages.success(request, _("The company's data are saved."))
                    return redirect("web:settings")
            else:
                _form_errors(request, company_form)
            status = 400
        elif operation == "weights":
            weights_form = WeightsForm(request.POST)
            if weights_form.is_valid():
                data = weights_form.cleaned_data
                try:
                    credit_services.scoring_settings_update(
                        company=access.company,
                        reliability={n: data[f"r_{n}"] for n in scoring.ReliabilityWeights.names()},
                        criticality={n: data[f"k_{n}"] for n in scoring.CriticalityWeights.names()},
                        exposure_includes_not_due=data["exposure_includes_not_due"],
                    )
                except scoring.ScoringError as exc:
                    messages.error(request, str(exc))
                else:
                    messages.success(
                        request,
                        _("The weights are saved: the scores follow them from the next import."),
                    )
                    return redirect("web:settings")
            else:
                _form_errors(request, weights_form)
            status = 400
        else:
            return HttpResponseBadRequest(_("Unknown operation."))
    context = {
        **_base_context(request, access),
        "may_edit": may_edit,
        "company_form": company_form,
        "weights_form": weights_form,
        "email_account": _mail_account(settings.EMAIL_URL),
        "pec_account": _mail_account(settings.PEC_EMAIL_URL),
    }
    return render(request, "web/settings.html", context, status=status)


urlpatterns = [path("settings/", company_settings, name="settings")]
