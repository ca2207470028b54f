"""The customers list, a customer's page and an item's page, with the operators' actions on
them (exclude, suspend, hold, approve...).

Thin like the dashboard: choose the company, check the role, ask the selectors, call the
dunning services. Every page needs a login and a membership of the current company; a
customer or item of another company (or, for a sales agent, of another agent) is a 404.
Sales agents and auditors only read: their POSTs are refused with 403. A POST changes one
thing through a service and redirects back to the page with a message; a user's mistake
(a missing reason, an action already gone out) is a message, never an error page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from incassa.comms.models import Message
from incassa.comms.selectors import customer_messages
from incassa.core.fields import AmountFormField
from incassa.core.formatting import format_day
from incassa.credit import selectors as credit
from incassa.credit import services as credit_services
from incassa.credit.models import CreditClass
from incassa.dunning import services as dunning
from incassa.dunning.models import Action, Exclusion, Hold, HoldKind
from incassa.dunning.selectors import (
    ItemState,
    StrategySource,
    customer_dunning_profile,
    customer_open_items,
    customer_pending_actions,
    item_states,
)
from incassa.ledger import fatturapa
from incassa.ledger.models import (
    BankPaidItem,
    BankPaidStatus,
    Company,
    Customer,
    CustomerCategory,
    EInvoiceInstallment,
    Receivable,
    ReceivableStatus,
    Role,
    SalesAgent,
)
from incassa.ledger.selectors import (
    ACTING_ROLES,
    AGING_BUCKETS,
    AgingBucket,
    bucket_index,
    customer_balances,
    customer_totals,
    customers_for_user,
    role_for_user,
)
from incassa.payments.models import PaymentAllocation
from incassa.web import htmx
from incassa.web.views import current_company
from incassa.workspace.history import GROUP_LABELS as HISTORY_GROUP_LABELS
from incassa.workspace.history import GROUPS as HISTORY_GROUPS
from incassa.workspace.history import History, customer_history, item_history
from incassa.workspace.models.agreements import (
    DisputeReason,
)
from incassa.workspace.models.work import Activity, ActivityKind, Direction, Reaction
from incassa.workspace.work import WorkError, activity_record

# Blocking a customer stops sales: a credit decision, not a collector's.
BLOCKING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})

# --------------------------------------------------------------------------------------
# Who may see and do what
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """The current company, the user's role in it, and what that role lets them see."""

    company: Company
    companies: list[Company]
    role: str
    customers: QuerySet[Customer]  # those the user may see

    @property
    def can_act(self) -> bool:
        return self.role in ACTING_ROLES

    @property
    def is_sales_agent(self) -> bool:
        return self.role == Role.SALES_AGENT

    def receivables(self) -> QuerySet[Receivable]:
        items = Receivable.objects.filter(company=self.company)
        if self.is_sales_agent:
            items = items.filter(customer__in=self.customers)
        return items


View = Callable[..., HttpResponse]


def company_page(view: View) -> View:
    """Log in, choose the company (as the dashboard does), pass the ``Access`` on; refuse a
    POST (403) from a role that only reads."""

    @login_required
    @require_http_methods(["GET", "HEAD", "POST"])
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        company, companies = current_company(request)
        if company is None:
            return render(request, "web/no_company.html", status=403)
        role = role_for_user(user=request.user, company=company)
        if role is None:  # a membership removed meanwhile
            return render(request, "web/no_company.html", status=403)
        access = Access(
            company=company,
            companies=companies,
            role=role,
            customers=customers_for_user(user=request.user, company=company, role=role),
        )
        if request.method == "POST" and not access.can_act:
            raise PermissionDenied(_("Your role may only read this page."))
        return view(request, access, *args, **kwargs)

    return wrapper


def _today() -> dt.date:
    return timezone.localdate()


def _base_context(request: HttpRequest, access: Access) -> dict[str, Any]:
    today = _today()
    return {
        "company": access.company,
        "companies": access.companies,
        "can_act": access.can_act,
        "role": access.role,
        "today": today,
        "tomorrow": today + dt.timedelta(days=1),
    }


def _form_errors(request: HttpRequest, form: forms.Form) -> None:
    for field_name, errors in form.errors.items():
        label = form.fields[field_name].label if field_name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


# --------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, strip=True)


class SuspensionForm(ReasonForm):
    until = forms.DateField(label=gettext_lazy("Until"), widget=DateInput())

    def clean_until(self) -> dt.date:
        until = self.cleaned_data["until"]
        if until <= _today():
            raise ValidationError(_("Choose a day after today."))
        return until


class HoldForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=HoldKind.choices)
    until = forms.DateField(label=gettext_lazy("Until"), required=False, widget=DateInput())
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=300, required=False, strip=True
    )

    def clean_until(self) -> dt.date | None:
        until = self.cleaned_data["until"]
        if until is not None and until <= _today():
            raise ValidationError(_("Choose a day after today."))
        return until


# The debtor's answers that are about some items: the form asks which.
REACTIONS_ON_ITEMS = frozenset(
    {Reaction.PROMISES_TO_PAY, Reaction.DISPUTES, Reaction.SAYS_ALREADY_PAID}
)


class ActivityForm(forms.Form):
    """A contact with the customer: what the debtor said, and what happens next."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=ActivityKind.choices)
    contact_person = forms.CharField(
        label=gettext_lazy("Contact person"), max_length=200, required=False, strip=True
    )
    direction = forms.ChoiceField(
        label=gettext_lazy("Direction"), choices=Direction.choices, initial=Direction.OUTBOUND
    )
    reaction = forms.ChoiceField(
        label=gettext_lazy("Reaction"), choices=Reaction.choices, initial=Reaction.NONE
    )
    items = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Items"),
        queryset=Receivable.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    outcome = forms.CharField(
        label=gettext_lazy("Outcome"), max_length=300, required=False, strip=True
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, strip=True, widget=forms.Textarea
    )
    next_action = forms.CharField(
        label=gettext_lazy("Next action"), max_length=200, required=False, strip=True
    )
    next_action_on = forms.DateField(
        label=gettext_lazy("Next action on"), required=False, widget=DateInput()
    )
    promise_amount = AmountFormField(
        label=gettext_lazy("Amount promised"), min_value=Decimal("0.01"), required=False
    )
    promise_on = forms.DateField(
        label=gettext_lazy("Promised for"), required=False, widget=DateInput()
    )
    dispute_reason = forms.ChoiceField(
        label=gettext_lazy("Reason for the dispute"),
        choices=[("", "—"), *DisputeReason.choices],
        required=False,
    )

    def __init__(self, *args: Any, customer: Customer | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if customer is not None:
            self.fields["items"].queryset = Receivable.objects.filter(
                customer=customer, status=ReceivableStatus.OPEN
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        reaction = data.get("reaction")
        if reaction == Reaction.PROMISES_TO_PAY:
            for name in ("promise_amount", "promise_on"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, _("A promise needs its amount and date."))
        if reaction in REACTIONS_ON_ITEMS and not data.get("items") and "items" not in self.errors:
            self.add_error("items", _("Choose the items the customer's answer is about."))
        if (
            data.get("next_action")
            and data.get("next_action_on") is None
            and "next_action_on" not in self.errors
        ):
            self.add_error("next_action_on", _("Give the date of the next action."))
        return data


# --------------------------------------------------------------------------------------
# The customers list
# --------------------------------------------------------------------------------------


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@company_page
def customer_list(request: HttpRequest, access: Access) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    category_id = _int_or_none(request.GET.get("category"))
    agent_id = _int_or_none(request.GET.get("agent"))
    overdue_only = request.GET.get("overdue") == "1"
    credit_class = request.GET.get("class", "")
    credit_class = credit_class if credit_class in CreditClass.values else ""
    blocked_only = request.GET.get("blocked") == "1"
    among = (
        credit.customers_in_class(access.company, credit_class=credit_class, blocked=blocked_only)
        if credit_class or blocked_only
        else None
    )
    page = customer_balances(
        company=access.company,
        as_of=_today(),
        search=search,
        category_id=category_id,
        sales_agent_id=agent_id,
        overdue_only=overdue_only,
        agent_user=request.user if access.is_sales_agent else None,
        among=among,
        page=_int_or_none(request.GET.get("page")) or 1,
    )
    standing = credit.standings([row.customer.pk for row in page.rows])
    agents = SalesAgent.objects.filter(company=access.company)
    if access.is_sales_agent:
        agents = agents.filter(user=request.user)
    filters = {
        "q": search,
        "category": category_id or "",
        "agent": agent_id or "",
        "overdue": "1" if overdue_only else "",
        "class": credit_class,
        "blocked": "1" if blocked_only else "",
    }
    context = {
        **_base_context(request, access),
        "page": page,
        "filters": filters,
        "is_filtered": bool(
            search or category_id or agent_id or overdue_only or credit_class or blocked_only
        ),
        "rows": [(row, standing.get(row.customer.pk)) for row in page.rows],
        "classes": CreditClass.values,
        "query": urlencode({k: v for k, v in filters.items() if v}),
        "categories": CustomerCategory.objects.filter(company=access.company),
        "agents": agents,
    }
    # htmx (a search as one types, a filter, a page) swaps the table alone.
    return htmx.render_page(
        request,
        "web/customers.html",
        "web/partials/customers_part.html",
        context,
        target="customer-results",
    )


# --------------------------------------------------------------------------------------
# A customer's page
# --------------------------------------------------------------------------------------


STRATEGY_SOURCES = {
    StrategySource.CUSTOMER: gettext_lazy("the customer's own strategy"),
    StrategySource.CATEGORY: gettext_lazy("the strategy of its category"),
    StrategySource.DEFAULT: gettext_lazy("the company's default strategy"),
}


# A large customer's history runs to thousands of entries: the newest first, the rest on
# request.
TIMELINE_SHOWN = 100


@company_page
def customer_detail(request: HttpRequest, access: Access, code: str) -> HttpResponse:
    customer = get_object_or_404(
        access.customers.select_related("category", "sales_agent"), code=code
    )
    if request.method == "POST":
        return _customer_post(request, customer)
    if htmx.wants_part(request, target="history"):
        # A filter chip of the history, from htmx: the history alone, none of the rest.
        context = {**_base_context(request, access), "customer": customer}
        context.update(_customer_timeline(request, customer))
        return htmx.vary_on_htmx(render(request, "web/partials/history_part.html", context))
    today = _today()
    profile = customer_dunning_profile(customer=customer, as_of=today)
    totals = customer_totals(customer=customer, as_of=today)
    credit_used = None
    if customer.credit_limit:
        credit_used = round(totals.open_amount * 100 / customer.credit_limit, 1)
    context = {
        **_base_context(request, access),
        "customer": customer,
        "profile": profile,
        "strategy_source": STRATEGY_SOURCES.get(profile.strategy_source, ""),
        "totals": totals,
        "credit_used": credit_used,
        "items": customer_open_items(customer=customer, as_of=today),
        "actions": customer_pending_actions(customer=customer),
        "messages_sent": customer_messages(customer=customer),
        **_credit_context(access, customer),
        **_activity_context(customer),
        "suspension_form": SuspensionForm(),
    }
    context["aging"] = _aging(context["items"], today)
    context.update(_customer_timeline(request, customer))
    return htmx.vary_on_htmx(render(request, "web/customer.html", context))


def _customer_timeline(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    """The customer's history as the request's filter and ``timeline`` ask."""
    shown_all = request.GET.get("timeline") == "all"
    group = _history_group(request)
    history = customer_history(
        customer,
        groups=None if group is None else {group},
        limit=None if shown_all else TIMELINE_SHOWN,
    )
    return _history_context(history, group)


def _aging(items: list[ItemState], today: dt.date) -> list[AgingBucket]:
    """The customer's open items in the dashboard's aging buckets, from the items the page
    already read (no query)."""
    amounts = [Decimal(0)] * len(AGING_BUCKETS)
    counts = [0] * len(AGING_BUCKETS)
    for state in items:
        index = bucket_index((today - state.receivable.due_date).days)
        amounts[index] += state.receivable.open_amount
        counts[index] += 1
    total = sum(amounts, Decimal(0))
    buckets = []
    for spec, amount, count in zip(AGING_BUCKETS, amounts, counts, strict=True):
        share = (amount * 100 / total).quantize(Decimal("0.1")) if total > 0 else Decimal(0)
        buckets.append(
            AgingBucket(
                key=spec.key,
                label=spec.label,
                min_days=spec.min_days,
                max_days=spec.max_days,
                amount=amount,
                items=count,
                share=min(max(share, Decimal(0)), Decimal(100)),
            )
        )
    return buckets


def _history_group(request: HttpRequest) -> str | None:
    """The group of entries the history's filter shows (None: all of them)."""
    group = request.GET.get("history", "")
    return group if group in HISTORY_GROUPS else None


def _history_context(history: History, group: str | None) -> dict[str, Any]:
    """The entries and the filters above them: each group with its count and link."""
    filters = [
        {
            "key": "",
            "label": _("All"),
            "count": sum(history.counts.values()),
            "query": "",
            "active": group is None,
        }
    ]
    filters += [
        {
            "key": key,
            "label": HISTORY_GROUP_LABELS[key],
            "count": history.counts[key],
            "query": urlencode({"history": key}),
            "active": group == key,
        }
        for key in HISTORY_GROUPS
    ]
    return {
        "timeline": history.entries,
        "timeline_total": history.total,
        "history_filters": filters,
        "history_query": urlencode({"history": group} if group else {}),
    }


@company_page
def message_document(request: HttpRequest, access: Access, pk: int) -> FileResponse:
    """The PDF a customer received (letter or statement), for whoever may see the customer."""
    message = get_object_or_404(
        Message.objects.filter(company=access.company, customer__in=access.customers), pk=pk
    )
    if not message.document:
        raise Http404
    return FileResponse(
        message.document.open("rb"),
        content_type="application/pdf",
        filename=message.document.name.rsplit("/", 1)[-1],
    )


def _credit_context(access: Access, customer: Customer) -> dict[str, Any]:
    standing = credit.customer_credit(customer)
    utilisation = None
    if standing is not None and customer.credit_limit:
        utilisation = round(standing.exposure * 100 / customer.credit_limit, 1)
    return {
        "credit": standing,
        "credit_explanation": credit.explanation(standing, access.company) if standing else [],
        "credit_trend": credit.score_trend(customer, limit=30),
        "credit_utilisation": utilisation,
        "can_block": access.role in BLOCKING_ROLES,
    }


# The activities the customer's page shows; the rest are in the worklist.
ACTIVITIES_SHOWN = 10


def _activity_context(customer: Customer) -> dict[str, Any]:
    """The customer's latest activities (its agreements are listed by the agreements'
    panel) and the choices of the activity form."""
    return {
        "activities": list(
            Activity.objects.filter(customer=customer).select_related("operator")[:ACTIVITIES_SHOWN]
        ),
        "activity_kinds": ActivityKind.choices,
        "directions": Direction.choices,
        "reactions": Reaction.choices,
        "dispute_reasons": DisputeReason.choices,
    }


def _customer_post(request: HttpRequest, customer: Customer) -> HttpResponse:
    operation = request.POST.get("op", "")
    if operation in {"block", "unblock"}:
        return _block(request, customer, operation)
    handlers = {
        "exclude": _exclude,
        "include": _include,
        "suspend": _suspend,
        "approve": _approve,
        "reject": _reject,
        "done": _mark_done,
        "activity": _record_activity,
    }
    handler = handlers.get(operation)
    if handler is None:
        return HttpResponseBadRequest(_("Unknown operation."))
    handler(request, customer)
    return redirect("web:customer", code=customer.code)


def _block(request: HttpRequest, customer: Customer, operation: str) -> HttpResponse:
    role = role_for_user(user=request.user, company=customer.company)
    if role not in BLOCKING_ROLES:
        raise PermissionDenied(_("Only a credit manager may block a customer."))
    if operation == "unblock":
        credit_services.customer_unblock(customer=customer)
        messages.success(request, _("The block is lifted."))
    else:
        form = ReasonForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
        else:
            credit_services.customer_block(
                customer=customer, reason=form.cleaned_data["reason"], user=request.user
            )
            messages.success(request, _("The customer is blocked: sales see it."))
    return redirect("web:customer", code=customer.code)


def _exclude(request: HttpRequest, customer: Customer) -> None:
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return
    dunning.customer_exclude(
        customer=customer, reason=form.cleaned_data["reason"], user=request.user
    )
    messages.success(request, _("The customer is excluded from dunning."))


def _include(request: HttpRequest, customer: Customer) -> None:
    if not Exclusion.objects.filter(customer=customer).exists():
        messages.info(request, _("The customer was not excluded."))
        return
    dunning.customer_include(customer=customer)
    messages.success(request, _("The customer is included in dunning again."))


def _suspend(request: HttpRequest, customer: Customer) -> None:
    form = SuspensionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return
    try:
        suspension = dunning.customer_suspend(
            customer=customer,
            starts_on=_today(),
            until=form.cleaned_data["until"],
            reason=form.cleaned_data["reason"],
            user=request.user,
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return
    messages.success(
        request,
        _("The customer is suspended until %(date)s.") % {"date": format_day(suspension.until)},
    )


def _customer_action(request: HttpRequest, customer: Customer) -> Action:
    action_id = _int_or_none(request.POST.get("action"))
    return get_object_or_404(Action, pk=action_id, customer=customer)


def _run(request: HttpRequest, operation: Callable[[], Any], success: str) -> None:
    try:
        operation()
    except dunning.ActionStateError as exc:
        messages.error(request, str(exc))
        return
    messages.success(request, success)


def _approve(request: HttpRequest, customer: Customer) -> None:
    action = _customer_action(request, customer)
    _run(
        request,
        lambda: dunning.action_approve(action=action, user=request.user),
        _("Action approved."),
    )


def _reject(request: HttpRequest, customer: Customer) -> None:
    action = _customer_action(request, customer)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return
    _run(
        request,
        lambda: dunning.action_reject(
            action=action, user=request.user, reason=form.cleaned_data["reason"]
        ),
        _("Action rejected."),
    )


def _mark_done(request: HttpRequest, customer: Customer) -> None:
    action = _customer_action(request, customer)
    _run(
        request,
        lambda: dunning.action_mark_done(action=action, user=request.user),
        _("Action marked as done."),
    )


def _record_activity(request: HttpRequest, customer: Customer) -> None:
    form = ActivityForm(request.POST, customer=customer)
    if not form.is_valid():
        _form_errors(request, form)
        return
    data = form.cleaned_data
    try:
        activity_record(
            customer=customer,
            user=request.user,
            kind=data["kind"],
            items=data["items"],
            contact_person=data["contact_person"],
            direction=data["direction"],
            reaction=data["reaction"],
            outcome=data["outcome"],
            notes=data["notes"],
            next_action=data["next_action"],
            next_action_on=data["next_action_on"],
            promise_amount=data["promise_amount"],
            promise_on=data["promise_on"],
            dispute_reason=data["dispute_reason"] or None,
        )
    except WorkError as exc:
        messages.error(request, str(exc))
        return
    messages.success(request, _("The activity is recorded."))


# --------------------------------------------------------------------------------------
# An item's page
# --------------------------------------------------------------------------------------


@company_page
def item_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    receivable = get_object_or_404(
        access.receivables().select_related("customer", "customer__sales_agent"), pk=pk
    )
    if request.method == "POST":
        return _item_post(request, receivable)
    today = _today()
    (state,) = item_states(receivables=[receivable], as_of=today)
    context = {
        **_base_context(request, access),
        "item": receivable,
        "customer": receivable.customer,
        "state": state,
        "hold_form": HoldForm(),
        **_item_bank_context(receivable),
        # The payments' pages are the company's bank: not a sales agent's to open.
        "may_open_payments": not access.is_sales_agent,
    }
    group = _history_group(request)
    history = item_history(receivable, groups=None if group is None else {group})
    context.update(_history_context(history, group))
    return render(request, "web/item.html", context)


def _item_bank_context(receivable: Receivable) -> dict[str, Any]:
    """The e-invoice the item came with (how the customer was told to pay, and whether the
    ERP lists it yet), the bank payments set against it, and whether the ERP disagrees."""
    due_date_sources = {
        "file": _("the invoice's own due date"),
        "terms": _("the invoice's payment days"),
        "customer": _("the customer's payment terms"),
        "invoice": _("the invoice date (the invoice gives no terms)"),
    }
    installments = list(
        EInvoiceInstallment.objects.filter(receivable=receivable)
        .select_related("einvoice")
        .order_by("einvoice__date", "einvoice_id", "position")
    )
    counts = (
        dict(
            EInvoiceInstallment.objects.filter(
                einvoice_id__in={i.einvoice_id for i in installments}
            )
            .values("einvoice_id")
            .annotate(total=Count("id"))
            .values_list("einvoice_id", "total")
        )
        if installments
        else {}
    )
    einvoices = [
        {
            "installment": installment,
            "einvoice": installment.einvoice,
            "of": counts.get(installment.einvoice_id, 1),
            "type_label": fatturapa.DOCUMENT_TYPES.get(
                installment.einvoice.document_type, installment.einvoice.document_type
            ),
            "method_label": fatturapa.PAYMENT_METHODS.get(
                installment.payment_method, installment.payment_method
            ),
            "due_date_source": due_date_sources.get(
                installment.due_date_source, installment.due_date_source
            ),
        }
        for installment in installments
    ]
    allocations = list(
        PaymentAllocation.objects.filter(receivable=receivable)
        .select_related("entry", "created_by", "reversed_by")
        .order_by("entry__booking_date", "id")
    )
    return {
        "einvoices": einvoices,
        "allocations": allocations,
        "bank_differs": BankPaidItem.objects.filter(
            receivable=receivable, status=BankPaidStatus.DIFFERS
        ).first(),
    }


def _item_post(request: HttpRequest, receivable: Receivable) -> HttpResponse:
    operation = request.POST.get("op", "")
    if operation == "hold":
        _place_hold(request, receivable)
    elif operation == "release":
        _release_hold(request, receivable)
    else:
        return HttpResponseBadRequest(_("Unknown operation."))
    return redirect("web:item", pk=receivable.pk)


def _place_hold(request: HttpRequest, receivable: Receivable) -> None:
    if not receivable.is_open:
        messages.error(request, _("This item is closed: there is nothing to hold."))
        return
    form = HoldForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return
    hold = dunning.hold_place(
        receivable=receivable,
        kind=form.cleaned_data["kind"],
        starts_on=_today(),
        until=form.cleaned_data["until"],
        reason=form.cleaned_data["reason"],
        user=request.user,
    )
    messages.success(
        request, _("The item is on hold: %(kind)s.") % {"kind": hold.get_kind_display()}
    )


def _release_hold(request: HttpRequest, receivable: Receivable) -> None:
    hold = get_object_or_404(Hold, pk=_int_or_none(request.POST.get("hold")), receivable=receivable)
    today = _today()
    if not hold.is_active(today):
        messages.error(request, _("This hold is no longer in force."))
        return
    dunning.hold_release(hold=hold, on=today)
    messages.success(request, _("The hold is released."))
