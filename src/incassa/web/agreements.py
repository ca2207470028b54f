"""The agreements' pages: the list of a company's promises, disputes, repayment plans,
settlements and hand-over cases; each one's page with what may be done to it in its state;
and making a new one from a customer's open items.

Thin like the other pages: ``company_page`` chooses the company and the role, the
workspace's agreement services change state (and place or release the holds), the pages
only parse and show. An agreement of another company, or of a customer a sales agent does
not follow, is a 404; read-only roles see the pages without the forms and their POSTs are
refused (403). A user's mistake is never an error page: the creation form comes back
(status 200) saying what is wrong; an action on an agreement's page redirects back to the
page with a message.

The creation URL is ``agreements/new/<kind>/<code>/`` rather than under
``customers/<code>/``: customer codes may hold a slash, so the customer's page takes every
path below ``customers/`` for its code.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from incassa.core.fields import AmountFormField, MoneyField, from_cents, quantize_money
from incassa.dunning.selectors import customer_open_items
from incassa.ledger.models import Customer, Membership, Receivable, ReceivableStatus
from incassa.ledger.selectors import ACTING_ROLES
from incassa.web.customers import (
    Access,
    DateInput,
    _base_context,
    _form_errors,
    _int_or_none,
    _today,
    company_page,
)
from incassa.workspace.agreements import (
    AgreementError,
    ScheduledInstalment,
    case_close,
    case_open,
    dispute_change,
    dispute_open,
    dispute_update,
    paid_since,
    plan_cancel,
    plan_create,
    plan_schedule,
    promise_cancel,
    promise_deadline,
    promise_record,
    settlement_agree,
    settlement_cancel,
)
from incassa.workspace.models import (
    Case,
    CaseKind,
    CaseOutcome,
    CaseStatus,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Instalment,
    InstalmentStatus,
    PlanStatus,
    Promise,
    PromiseStatus,
    RepaymentPlan,
    Settlement,
    SettlementStatus,
)
from incassa.workspace.models.agreements import DISPUTE_RESOLVED

User = get_user_model()

PER_PAGE = 50
DISPUTE_OPEN_STATUSES = tuple(s for s in DisputeStatus.values if s not in DISPUTE_RESOLVED)


def operators(access: Access, also: int | None = None) -> QuerySet:
    """The company's members who may act (those a dispute can be given to), and the user
    ``also`` whoever they are (a dispute's owner who no longer acts stays choosable, so
    that saving its form does not take the dispute away from them by accident)."""
    acting = Membership.objects.filter(company=access.company, role__in=ACTING_ROLES)
    condition = Q(pk__in=acting.values("user_id"))
    if also is not None:
        condition |= Q(pk=also)
    return User.objects.filter(condition).order_by("first_name", "last_name", "username")


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


def _visible(access: Access, model: type[models.Model]) -> QuerySet:
    """The company's agreements of ``model`` whose customer the user may see."""
    found = model.objects.filter(company=access.company)
    if access.is_sales_agent:
        found = found.filter(customer__in=access.customers)
    return found


# --------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One tab of the agreements' page: which model, which of its states are still open,
    and in which order the rows come."""

    key: str
    label: Any
    model: type[models.Model]
    statuses: type[models.TextChoices]
    open_statuses: tuple[str, ...]
    ordering: tuple[Any, ...]
    related: tuple[str, ...]


LISTINGS = {
    listing.key: listing
    for listing in [
        Listing(
            "promises",
            pgettext_lazy("agreements", "Promises to pay"),
            Promise,
            PromiseStatus,
            (PromiseStatus.OPEN,),
            ("promised_on", "id"),
            ("customer", "recorded_by"),
        ),
        Listing(
            "disputes",
            pgettext_lazy("agreements", "Disputes"),
            Dispute,
            DisputeStatus,
            DISPUTE_OPEN_STATUSES,
            (F("deadline").asc(nulls_last=True), "opened_on", "id"),
            ("customer", "owner"),
        ),
        Listing(
            "plans",
            gettext_lazy("Repayment plans"),
            RepaymentPlan,
            PlanStatus,
            (PlanStatus.ACTIVE,),
            (F("next_due").asc(nulls_last=True), "created_on", "id"),
            ("customer", "created_by"),
        ),
        Listing(
            "settlements",
            gettext_lazy("Settlements"),
            Settlement,
            SettlementStatus,
            (SettlementStatus.AGREED,),
            ("due_on", "id"),
            ("customer", "created_by"),
        ),
        Listing(
            "cases",
            gettext_lazy("Hand-over cases"),
            Case,
            CaseStatus,
            (CaseStatus.OPEN,),
            ("-handed_over_on", "-id"),
            ("customer", "created_by"),
        ),
    ]
}
DEFAULT_LISTING = "promises"
STATUS_ALL = "all"


def _with_next_instalment(plans: QuerySet) -> QuerySet:
    """Each plan's next instalment not yet paid (its date and amount) and how many of its
    instalments are paid: two subqueries and one count, whatever the number of plans."""
    unpaid = (
        Instalment.objects.filter(plan=OuterRef("pk"))
        .exclude(status=InstalmentStatus.PAID)
        .order_by("number")
    )
    return plans.annotate(
        next_due=Subquery(unpaid.values("due_on")[:1]),
        next_amount=Subquery(unpaid.values("amount")[:1], output_field=MoneyField()),
        instalments_total=Count("instalments"),
        instalments_paid=Count("instalments", filter=Q(instalments__status=InstalmentStatus.PAID)),
    )


@company_page
def agreement_list(request: HttpRequest, access: Access) -> HttpResponse:
    listing = LISTINGS.get(request.GET.get("kind", ""), LISTINGS[DEFAULT_LISTING])
    status = request.GET.get("status", "")
    search = request.GET.get("q", "").strip()[:100]
    customer_code = request.GET.get("customer", "").strip()[:100]
    owner_id = _int_or_none(request.GET.get("owner")) if listing.key == "disputes" else None

    found = _visible(access, listing.model)
    if status == STATUS_ALL:
        pass
    elif status in listing.statuses.values:
        found = found.filter(status=status)
    else:
        status = ""
        found = found.filter(status__in=listing.open_statuses)
    if search:
        found = found.filter(
            Q(customer__code__icontains=search) | Q(customer__name__icontains=search)
        )
    if customer_code:
        found = found.filter(customer__code=customer_code)
    if owner_id is not None:
        found = found.filter(owner_id=owner_id)
    if listing.key == "plans":
        found = _with_next_instalment(found)
    found = found.select_related(*listing.related).order_by(*listing.ordering)
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))

    filters = {
        "kind": listing.key,
        "status": status,
        "q": search,
        "customer": customer_code,
        "owner": owner_id or "",
    }
    shared = {k: v for k, v in filters.items() if v and k in {"q", "customer"}}
    tabs = [
        {
            "key": other.key,
            "label": other.label,
            "open": _visible(access, other.model)
            .filter(status__in=other.open_statuses, **_customer_filter(customer_code))
            .count(),
            "query": urlencode({"kind": other.key, **shared}),
        }
        for other in LISTINGS.values()
    ]
    context = {
        **_base_context(request, access),
        "listing": listing,
        "tabs": tabs,
        "page": page,
        "rows": page.object_list,
        "filters": filters,
        "statuses": listing.statuses.choices,
        "is_filtered": bool(status or search or customer_code or owner_id),
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "owners": list(operators(access)) if listing.key == "disputes" else [],
    }
    return render(request, "web/agreements/list.html", context)


def _customer_filter(code: str) -> dict[str, str]:
    return {"customer__code": code} if code else {}


# --------------------------------------------------------------------------------------
# What every agreement's page shows
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """An item of an agreement: its open amount when the agreement was made (when the
    agreement keeps it) and now."""

    item: Receivable
    agreed_amount: Decimal | None

    @property
    def open_now(self) -> Decimal:
        return self.item.open_amount if self.item.status == ReceivableStatus.OPEN else Decimal(0)


def _item_rows(agreement: Any) -> list[ItemRow]:
    baseline = getattr(agreement, "baseline", None) or {}
    return [
        ItemRow(
            item,
            from_cents(baseline[str(item.pk)]) if str(item.pk) in baseline else None,
        )
        for item in agreement.items.order_by("due_date", "document_number", "id")
    ]


def _detail_context(
    request: HttpRequest, access: Access, agreement: Any, **extra: Any
) -> dict[str, Any]:
    today = _today()
    context = {
        **_base_context(request, access),
        "agreement": agreement,
        "customer": agreement.customer,
        "item_rows": _item_rows(agreement),
        "holds": list(agreement.holds.select_related("receivable").order_by("starts_on", "id")),
        **extra,
    }
    baseline = getattr(agreement, "baseline", None)
    if baseline:
        cents, _all_closed = paid_since(baseline, today)
        context["paid_since"] = from_cents(cents)
    return context


def _agreement_or_404(access: Access, model: type[models.Model], pk: int, *related: str) -> Any:
    return get_object_or_404(_visible(access, model).select_related("customer", *related), pk=pk)


def _back(agreement: Any, name: str) -> HttpResponse:
    return redirect(f"web:{name}", pk=agreement.pk)


def _unknown_operation() -> HttpResponse:
    return HttpResponseBadRequest(_("Unknown operation."))


# --------------------------------------------------------------------------------------
# A promise
# --------------------------------------------------------------------------------------


class NoteForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, strip=True)


@company_page
def promise_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    promise = _agreement_or_404(access, Promise, pk, "recorded_by")
    if request.method == "POST":
        if request.POST.get("op") != "cancel":
            return _unknown_operation()
        form = NoteForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
        else:
            _attempt(
                request,
                lambda: promise_cancel(
                    promise=promise, user=request.user, note=form.cleaned_data["note"]
                ),
                _("The promise is cancelled: its items are chased again."),
            )
        return _back(promise, "promise")
    context = _detail_context(
        request,
        access,
        promise,
        deadline=promise_deadline(promise.promised_on),
        can_cancel=access.can_act and promise.status == PromiseStatus.OPEN,
    )
    return render(request, "web/agreements/promise.html", context)


def _attempt(request: HttpRequest, operation: Any, success: str) -> bool:
    """Run ``operation`` (a service call); its refusal becomes the page's message."""
    try:
        operation()
    except AgreementError as exc:
        messages.error(request, str(exc))
        return False
    messages.success(request, success)
    return True


# --------------------------------------------------------------------------------------
# A dispute
# --------------------------------------------------------------------------------------


class DisputeChangeForm(forms.Form):
    """Everything about a dispute still open but its resolution: where it stands, who
    follows it, by when, and a note added to its description."""

    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        choices=[(s, DisputeStatus(s).label) for s in DISPUTE_OPEN_STATUSES],
    )
    owner = MemberChoiceField(
        label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False
    )
    deadline = forms.DateField(label=gettext_lazy("Deadline"), required=False, widget=DateInput())
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, owners: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class DisputeResolveForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Resolution"),
        choices=[
            (s, DisputeStatus(s).label) for s in DisputeStatus.values if s in DISPUTE_RESOLVED
        ],
    )
    note = forms.CharField(
        label=gettext_lazy("Resolution"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@company_page
def dispute_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    dispute = _agreement_or_404(access, Dispute, pk, "owner", "opened_by")
    owners = operators(access, also=dispute.owner_id)
    if request.method == "POST":
        operation = request.POST.get("op")
        if operation == "change":
            _dispute_change(request, dispute, DisputeChangeForm(request.POST, owners=owners))
        elif operation == "resolve":
            form = DisputeResolveForm(request.POST)
            if not form.is_valid():
                _form_errors(request, form)
            else:
                _attempt(
                    request,
                    lambda: dispute_update(
                        dispute=dispute,
                        status=form.cleaned_data["status"],
                        note=form.cleaned_data["note"],
                    ),
                    _("The dispute is resolved: what is still open is chased again."),
                )
        else:
            return _unknown_operation()
        return _back(dispute, "dispute")
    today = _today()
    context = _detail_context(
        request,
        access,
        dispute,
        is_late=not dispute.is_resolved
        and dispute.deadline is not None
        and dispute.deadline < today,
        can_change=access.can_act and not dispute.is_resolved,
        open_statuses=[(s, DisputeStatus(s).label) for s in DISPUTE_OPEN_STATUSES],
        resolutions=[
            (s, DisputeStatus(s).label) for s in DisputeStatus.values if s in DISPUTE_RESOLVED
        ],
        owners=list(owners) if access.can_act else [],
    )
    return render(request, "web/agreements/dispute.html", context)


def _dispute_change(request: HttpRequest, dispute: Dispute, form: DisputeChangeForm) -> None:
    if not form.is_valid():
        _form_errors(request, form)
        return
    data = form.cleaned_data
    try:
        dispute_change(
            dispute=dispute,
            status=data["status"],
            owner=data["owner"],
            deadline=data["deadline"],
            note=data["note"],
            today=_today(),
        )
    except AgreementError as exc:
        messages.error(request, str(exc))
        return
    messages.success(request, _("The dispute is updated."))


# --------------------------------------------------------------------------------------
# A repayment plan
# --------------------------------------------------------------------------------------


@company_page
def plan_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    plan = _agreement_or_404(access, RepaymentPlan, pk, "created_by")
    if request.method == "POST":
        if request.POST.get("op") != "cancel":
            return _unknown_operation()
        _attempt(
            request,
            lambda: plan_cancel(plan=plan),
            _("The plan is cancelled: its items are chased again."),
        )
        return _back(plan, "plan")
    today = _today()
    instalments = list(plan.instalments.order_by("number"))
    context = _detail_context(
        request,
        access,
        plan,
        instalments=[
            {
                "instalment": instalment,
                "interest": instalment.amount - instalment.principal,
                "is_overdue": instalment.status != InstalmentStatus.PAID
                and instalment.due_on < today,
            }
            for instalment in instalments
        ],
        interest_total=plan.total - plan.principal,
        paid_total=sum((i.paid_amount for i in instalments), Decimal(0)),
        can_cancel=access.can_act and plan.status == PlanStatus.ACTIVE,
    )
    return render(request, "web/agreements/plan.html", context)


# --------------------------------------------------------------------------------------
# A settlement
# --------------------------------------------------------------------------------------


@company_page
def settlement_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    settlement = _agreement_or_404(access, Settlement, pk, "created_by")
    if request.method == "POST":
        if request.POST.get("op") != "cancel":
            return _unknown_operation()
        _attempt(
            request,
            lambda: settlement_cancel(settlement=settlement),
            _("The settlement is cancelled: its items are chased again."),
        )
        return _back(settlement, "settlement")
    context = _detail_context(
        request,
        access,
        settlement,
        write_off=settlement.open_amount - settlement.agreed_amount,
        can_cancel=access.can_act and settlement.status == SettlementStatus.AGREED,
    )
    return render(request, "web/agreements/settlement.html", context)


# --------------------------------------------------------------------------------------
# A hand-over case
# --------------------------------------------------------------------------------------


class CaseCloseForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=CaseOutcome.choices)
    recovered_amount = AmountFormField(
        label=gettext_lazy("Amount recovered"), required=False, min_value=Decimal(0)
    )
    outcome_text = forms.CharField(
        label=gettext_lazy("Outcome notes"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@company_page
def case_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    case = _agreement_or_404(access, Case, pk, "created_by")
    if request.method == "POST":
        if request.POST.get("op") != "close":
            return _unknown_operation()
        form = CaseCloseForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
        else:
            data = form.cleaned_data
            _attempt(
                request,
                lambda: case_close(
                    case=case,
                    outcome=data["outcome"],
                    outcome_text=data["outcome_text"],
                    recovered_amount=data["recovered_amount"],
                ),
                _("The case is closed."),
            )
        return _back(case, "case")
    context = _detail_context(
        request,
        access,
        case,
        can_close=access.can_act and case.status == CaseStatus.OPEN,
        outcomes=CaseOutcome.choices,
    )
    return render(request, "web/agreements/case.html", context)


# --------------------------------------------------------------------------------------
# A repayment plan's instalments, from a few choices
# --------------------------------------------------------------------------------------


class Frequency(models.TextChoices):
    WEEKLY = "weekly", gettext_lazy("Every week")
    FORTNIGHTLY = "fortnightly", gettext_lazy("Every two weeks")
    MONTHLY = "monthly", gettext_lazy("Every month")
    BIMONTHLY = "bimonthly", gettext_lazy("Every two months")
    QUARTERLY = "quarterly", gettext_lazy("Every three months")


_FREQUENCY_DAYS = {Frequency.WEEKLY: 7, Frequency.FORTNIGHTLY: 14}
_FREQUENCY_MONTHS = {Frequency.MONTHLY: 1, Frequency.BIMONTHLY: 2, Frequency.QUARTERLY: 3}


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or that month's last day when it is shorter
    (31/01 + 1 month = 28/02)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def instalment_dates(first: dt.date, count: int, frequency: str) -> list[dt.date]:
    if frequency in _FREQUENCY_DAYS:
        step = _FREQUENCY_DAYS[frequency]
        return [first + dt.timedelta(days=step * n) for n in range(count)]
    months = _FREQUENCY_MONTHS[frequency]
    return [add_months(first, months * n) for n in range(count)]


def instalment_amounts(
    *,
    principal: Decimal,
    dates: Sequence[dt.date],
    annual_interest_rate: Decimal | None,
    start: dt.date,
) -> list[tuple[dt.date, Decimal]]:
    """Equal instalments on ``dates`` that repay ``principal`` with the simple interest of
    ``plan_schedule``: the payment P solves ``owed_n = 0`` where each period multiplies
    what is owed by (1 + rate * days / 365) and takes P off; P is cut to the cent and the
    last instalment pays what is left, rounding included, so the schedule repays exactly."""
    rate = Decimal(annual_interest_rate or 0)
    growth = []
    previous = start
    for day in dates:
        growth.append(1 + rate / 100 * (day - previous).days / 365)
        previous = day
    # owed_n = principal * g1 * ... * gn - P * sum over k of (g(k+1) * ... * gn)
    tail, later = Decimal(0), Decimal(1)  # later: the product of the factors after k
    for factor in reversed(growth):
        tail += later
        later *= factor
    payment = (principal * later / tail).quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    amounts: list[tuple[dt.date, Decimal]] = []
    owed, previous = principal, start
    for number, day in enumerate(dates, start=1):
        interest = quantize_money(owed * rate / 100 * (day - previous).days / 365)
        amount = owed + interest if number == len(dates) else payment
        amounts.append((day, amount))
        owed -= amount - interest
        previous = day
    return amounts


# --------------------------------------------------------------------------------------
# Making an agreement from a customer's open items
# --------------------------------------------------------------------------------------


class ItemsForm(forms.Form):
    """The customer's open items the agreement covers."""

    items = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Items"),
        queryset=Receivable.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one item.")},
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, customer: Customer, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["items"].queryset = Receivable.objects.filter(
            customer=customer, status=ReceivableStatus.OPEN
        ).order_by("due_date", "document_number", "id")

    def owed(self) -> Decimal:
        return sum((item.open_amount for item in self.cleaned_data.get("items", [])), Decimal(0))


def _not_past(value: dt.date | None) -> dt.date | None:
    if value is not None and value < _today():
        raise ValidationError(_("Choose today or a later day."))
    return value


class PromiseForm(ItemsForm):
    amount = AmountFormField(
        label=gettext_lazy("Amount promised"),
        required=False,
        min_value=Decimal("0.01"),
        help_text=gettext_lazy("Leave it empty for the whole open amount of the chosen items."),
    )
    promised_on = forms.DateField(label=gettext_lazy("Promised for"), widget=DateInput())

    def clean_promised_on(self) -> dt.date | None:
        return _not_past(self.cleaned_data["promised_on"])


class DisputeForm(ItemsForm):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=DisputeReason.choices)
    owner = MemberChoiceField(
        label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False
    )
    deadline = forms.DateField(label=gettext_lazy("Deadline"), required=False, widget=DateInput())

    def clean_deadline(self) -> dt.date | None:
        return _not_past(self.cleaned_data["deadline"])


class PlanForm(ItemsForm):
    count = forms.IntegerField(
        label=gettext_lazy("Number of instalments"), min_value=1, max_value=120, initial=3
    )
    first_on = forms.DateField(label=gettext_lazy("First instalment on"), widget=DateInput())
    frequency = forms.ChoiceField(
        label=gettext_lazy("Frequency"), choices=Frequency.choices, initial=Frequency.MONTHLY
    )
    annual_interest_rate = forms.DecimalField(
        label=gettext_lazy("Annual interest rate (%)"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=6,
        decimal_places=3,
        localize=True,
    )
    grace_days = forms.IntegerField(
        label=gettext_lazy("Grace days"),
        min_value=0,
        max_value=365,
        initial=10,
        help_text=gettext_lazy(
            "An instalment still unpaid this many days after its date is missed."
        ),
    )

    def clean_first_on(self) -> dt.date:
        first_on = self.cleaned_data["first_on"]
        if first_on <= _today():
            raise ValidationError(_("Choose a day after today."))
        return first_on

    def instalments(self, today: dt.date) -> list[tuple[dt.date, Decimal]]:
        data = self.cleaned_data
        return instalment_amounts(
            principal=self.owed(),
            dates=instalment_dates(data["first_on"], data["count"], data["frequency"]),
            annual_interest_rate=data["annual_interest_rate"],
            start=today,
        )


class SettlementForm(ItemsForm):
    agreed_amount = AmountFormField(label=gettext_lazy("Agreed amount"), min_value=Decimal("0.01"))
    due_on = forms.DateField(label=gettext_lazy("To be paid by"), widget=DateInput())
    write_off_reason = forms.CharField(
        label=gettext_lazy("Reason for the write-off"), max_length=300, strip=True
    )

    def clean_due_on(self) -> dt.date | None:
        return _not_past(self.cleaned_data["due_on"])


class CaseForm(ItemsForm):
    kind = forms.ChoiceField(
        label=gettext_lazy("Handed over to"), choices=CaseKind.choices, initial=CaseKind.AGENCY
    )
    agency = forms.CharField(label=gettext_lazy("Agency or lawyer"), max_length=200, strip=True)
    handed_over_on = forms.DateField(label=gettext_lazy("Handed over on"), widget=DateInput())
    reference = forms.CharField(
        label=gettext_lazy("The agency's reference"), max_length=100, required=False, strip=True
    )

    def clean_handed_over_on(self) -> dt.date:
        day = self.cleaned_data["handed_over_on"]
        if day > _today():
            raise ValidationError(_("The hand-over date cannot be in the future."))
        return day


@dataclass(frozen=True)
class NewKind:
    form: type[ItemsForm]
    title: Any
    submit: Any
    detail: str


NEW_KINDS = {
    "promise": NewKind(
        PromiseForm,
        gettext_lazy("New promise to pay"),
        gettext_lazy("Record the promise"),
        "promise",
    ),
    "dispute": NewKind(
        DisputeForm, gettext_lazy("New dispute"), gettext_lazy("Open the dispute"), "dispute"
    ),
    "plan": NewKind(
        PlanForm, gettext_lazy("New repayment plan"), gettext_lazy("Create the plan"), "plan"
    ),
    "settlement": NewKind(
        SettlementForm,
        gettext_lazy("New settlement"),
        gettext_lazy("Agree the settlement"),
        "settlement",
    ),
    "case": NewKind(
        CaseForm,
        gettext_lazy("Hand over to an agency or lawyer"),
        gettext_lazy("Hand the items over"),
        "case",
    ),
}


def _new_form(
    kind: str, access: Access, request: HttpRequest, customer: Customer, states
) -> ItemsForm:
    spec = NEW_KINDS[kind]
    today = _today()
    if request.method == "POST":
        form = spec.form(request.POST, customer=customer)
    else:
        overdue = [state.receivable for state in states if state.is_overdue]
        owed = sum((item.open_amount for item in overdue), Decimal(0))
        initial: dict[str, Any] = {"items": [item.pk for item in overdue]}
        if kind == "promise":
            initial.update(amount=owed or None, promised_on=today + dt.timedelta(days=7))
        elif kind == "dispute":
            initial.update(owner=request.user.pk, deadline=today + dt.timedelta(days=30))
        elif kind == "plan":
            initial.update(first_on=add_months(today, 1))
        elif kind == "settlement":
            initial.update(due_on=today + dt.timedelta(days=30))
        elif kind == "case":
            initial.update(handed_over_on=today)
        form = spec.form(initial=initial, customer=customer)
    if kind == "dispute":
        form.fields["owner"].queryset = operators(access)
    return form


@company_page
def agreement_new(request: HttpRequest, access: Access, kind: str, code: str) -> HttpResponse:
    if kind not in NEW_KINDS:
        raise Http404("No such kind of agreement")
    customer = get_object_or_404(access.customers, code=code)
    if not access.can_act:
        raise PermissionDenied(_("Your role may only read this page."))
    today = _today()
    states = customer_open_items(customer=customer, as_of=today)
    form = _new_form(kind, access, request, customer, states)
    schedule: list[ScheduledInstalment] = []
    if request.method == "POST" and form.is_valid():
        try:
            if kind == "plan" and "create" not in request.POST:
                schedule = _plan_preview(form, today)
            else:
                agreement = _create(kind, form, customer, request.user, today)
                messages.success(request, _created_message(kind))
                return redirect(f"web:{NEW_KINDS[kind].detail}", pk=agreement.pk)
        except AgreementError as exc:
            form.add_error(None, str(exc))
    if form.is_bound:
        chosen = {str(value) for value in form.data.getlist("items")}
    else:
        chosen = {str(pk) for pk in form.initial.get("items", [])}
    context = {
        **_base_context(request, access),
        "customer": customer,
        "kind": kind,
        "title": NEW_KINDS[kind].title,
        "submit": NEW_KINDS[kind].submit,
        "form": form,
        "states": states,
        "chosen": chosen,
        "chosen_owed": sum(
            (s.receivable.open_amount for s in states if str(s.receivable.pk) in chosen),
            Decimal(0),
        ),
        "schedule": schedule,
        "schedule_total": sum((s.amount for s in schedule), Decimal(0)),
        "schedule_interest": sum((s.interest for s in schedule), Decimal(0)),
    }
    return render(request, "web/agreements/new.html", context)


def _plan_preview(form: PlanForm, today: dt.date) -> list[ScheduledInstalment]:
    return plan_schedule(
        principal=form.owed(),
        instalments=form.instalments(today),
        annual_interest_rate=form.cleaned_data["annual_interest_rate"],
        start=today,
    )


def _create(kind: str, form: ItemsForm, customer: Customer, user: Any, today: dt.date) -> Any:
    """The agreement the valid ``form`` describes, through its service."""
    data = form.cleaned_data
    items, note = list(data["items"]), data.get("note", "")
    if kind == "promise":
        return promise_record(
            customer=customer,
            items=items,
            amount=data["amount"] or form.owed(),
            promised_on=data["promised_on"],
            user=user,
            note=note,
        )
    if kind == "dispute":
        return dispute_open(
            customer=customer,
            items=items,
            reason=data["reason"],
            description=note,
            owner=data["owner"],
            deadline=data["deadline"],
            user=user,
        )
    if kind == "plan":
        return plan_create(
            customer=customer,
            items=items,
            instalments=form.instalments(today),
            annual_interest_rate=data["annual_interest_rate"],
            grace_days=data["grace_days"],
            user=user,
            note=note,
        )
    if kind == "settlement":
        return settlement_agree(
            customer=customer,
            items=items,
            agreed_amount=data["agreed_amount"],
            due_on=data["due_on"],
            write_off_reason=data["write_off_reason"],
            user=user,
            note=note,
        )
    return case_open(
        customer=customer,
        items=items,
        agency=data["agency"],
        kind=data["kind"],
        reference=data["reference"],
        note=data.get("note", ""),
        user=user,
        today=data["handed_over_on"],
    )


def _created_message(kind: str) -> str:
    return {
        "promise": _("The promise is recorded: its items are on hold until its date."),
        "dispute": _("The dispute is open: its items are on hold until it is resolved."),
        "plan": _("The repayment plan is made: its items are on hold while it runs."),
        "settlement": _("The settlement is agreed: its items are on hold until its date."),
        "case": _("The items are handed over: they leave the automatic reminders."),
    }[kind]


urlpatterns = [
    path("agreements/", agreement_list, name="agreements"),
    path("agreements/new/<str:kind>/<path:code>/", agreement_new, name="agreement_new"),
    path("promises/<int:pk>/", promise_detail, name="promise"),
    path("disputes/<int:pk>/", dispute_detail, name="dispute"),
    path("plans/<int:pk>/", plan_detail, name="plan"),
    path("settlements/<int:pk>/", settlement_detail, name="settlement"),
    path("cases/<int:pk>/", case_detail, name="case"),
]
