"""Strategies and their steps: see them, change a step, add, remove and reorder steps,
and before saving see what the change would do to tomorrow's run.

The preview applies the change in a transaction that is rolled back and runs the engine's
own preview for tomorrow with and without it, so what it shows is what the engine would
decide. Only administrators and credit managers change strategies; collectors and
auditors look; sales agents do not see them. With htmx the preview comes into the page
without reloading it (the form stays as it was typed).
"""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.comms.models import MessageTemplate
from incassa.core.fields import AmountFormField
from incassa.dunning import services as dunning
from incassa.dunning.models import CategoryStrategy, Channel, CustomerStrategy, Step, Strategy
from incassa.ledger.models import CustomerCategory, Role
from incassa.web import htmx
from incassa.web.customers import Access, _base_context, _form_errors, _today, company_page

STRATEGY_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})


class StepForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=40)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Channel.choices)
    days_overdue = forms.IntegerField(
        label=gettext_lazy("Days overdue"),
        min_value=-60,
        max_value=3650,
        help_text=gettext_lazy("Negative: days before the due date (a polite pre-due notice)."),
    )
    min_days_since_previous = forms.IntegerField(
        label=gettext_lazy("Minimum days since the previous step"),
        min_value=0,
        max_value=365,
        required=False,
        help_text=gettext_lazy("Empty: the difference between the two steps' days overdue."),
    )
    min_customer_overdue = AmountFormField(
        label=gettext_lazy("Minimum overdue amount of the customer"),
        min_value=0,
        required=False,
    )
    needs_approval = forms.BooleanField(label=gettext_lazy("Needs approval"), required=False)
    template_code = forms.ChoiceField(label=gettext_lazy("Message template"), required=False)
    categories = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Only for categories"),
        queryset=CustomerCategory.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every category."),
    )

    def __init__(self, *args: Any, company: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["categories"].queryset = CustomerCategory.objects.filter(
            company=company
        ).order_by("name")
        codes = sorted(
            set(MessageTemplate.objects.filter(company=company).values_list("code", flat=True))
        )
        current = self.initial.get("template_code") or ""
        if current and current not in codes:
            codes.append(current)
        self.fields["template_code"].choices = [("", "—"), *[(c, c) for c in codes]]


def _strategy(access: Access, pk: int) -> Strategy:
    if access.is_sales_agent:
        raise PermissionDenied(_("Sales agents do not see the strategies."))
    return get_object_or_404(Strategy.objects.filter(company=access.company), pk=pk)


def _may_change(access: Access) -> bool:
    return access.role in STRATEGY_ROLES


def _check_may_change(access: Access) -> None:
    if not _may_change(access):
        raise PermissionDenied(_("Only administrators and credit managers change strategies."))


@company_page
def strategy_list(request: HttpRequest, access: Access) -> HttpResponse:
    if access.is_sales_agent:
        raise PermissionDenied(_("Sales agents do not see the strategies."))
    strategies = (
        Strategy.objects.filter(company=access.company)
        .annotate(step_count=Count("steps"))
        .order_by("-is_default", "name")
    )
    categories: dict[int, list[str]] = {}
    for row in CategoryStrategy.objects.filter(strategy__company=access.company).select_related(
        "category"
    ):
        categories.setdefault(row.strategy_id, []).append(row.category.name)
    overrides = dict(
        CustomerStrategy.objects.filter(strategy__company=access.company)
        .values_list("strategy_id")
        .annotate(n=Count("id"))
    )
    context = {
        **_base_context(request, access),
        "rows": [
            (strategy, categories.get(strategy.pk, []), overrides.get(strategy.pk, 0))
            for strategy in strategies
        ],
    }
    return render(request, "web/strategies.html", context)


@company_page
def strategy_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    strategy = _strategy(access, pk)
    if request.method == "POST":
        _check_may_change(access)
        return _steps_post(request, strategy)
    steps = list(strategy.steps.prefetch_related("categories").order_by("position"))
    context = {
        **_base_context(request, access),
        "strategy": strategy,
        "steps": steps,
        "may_change": _may_change(access),
        "out_of_order": [
            (later, earlier)
            for earlier, later in pairwise(steps)
            if later.days_overdue < earlier.days_overdue
        ],
    }
    return render(request, "web/strategy.html", context)


def _steps_post(request: HttpRequest, strategy: Strategy) -> HttpResponse:
    step = get_object_or_404(Step.objects.filter(strategy=strategy), pk=request.POST.get("step"))
    operation = request.POST.get("op", "")
    if operation in {"up", "down"}:
        dunning.step_move(step=step, offset=-1 if operation == "up" else 1)
    elif operation == "delete":
        try:
            dunning.step_delete(step=step)
        except dunning.StrategyError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("The step “%s” is removed.") % step.name)
    else:
        return HttpResponseBadRequest(_("Unknown operation."))
    return redirect("web:strategy", pk=strategy.pk)


@company_page
def step_edit(request: HttpRequest, access: Access, pk: int, step_pk: int | None = None):
    strategy = _strategy(access, pk)
    _check_may_change(access)
    step = None
    if step_pk is not None:
        step = get_object_or_404(Step.objects.filter(strategy=strategy), pk=step_pk)
    initial = {}
    if step is not None:
        initial = {name: getattr(step, name) for name in dunning.STEP_FIELDS}
        initial["categories"] = list(step.categories.all())
    form = StepForm(request.POST or None, initial=initial, company=access.company)
    comparison = None
    if request.method == "POST":
        if not form.is_valid():
            _form_errors(request, form)
        else:
            values = {k: v for k, v in form.cleaned_data.items() if k != "categories"}
            categories = form.cleaned_data["categories"]

            def change() -> None:
                dunning.step_save(
                    strategy=strategy, values=values, categories=categories, step=step
                )

            try:
                if "preview" in request.POST:
                    comparison = dunning.strategy_change_preview(
                        company=access.company, day=_today() + dt.timedelta(days=1), change=change
                    )
                else:
                    change()
                    messages.success(request, _("The step “%s” is saved.") % values["name"])
                    return redirect("web:strategy", pk=strategy.pk)
            except dunning.StrategyError as exc:
                messages.error(request, str(exc))
    labels = dict(Step.objects.filter(strategy__company=access.company).values_list("code", "name"))
    context = {
        **_base_context(request, access),
        "strategy": strategy,
        "step": step,
        "form": form,
        "comparison": comparison,
        "comparison_rows": comparison.rows(labels) if comparison else [],
    }
    # htmx's "Preview tomorrow" swaps the preview alone; "Save" still posts the page.
    return htmx.render_page(
        request,
        "web/step.html",
        "web/partials/step_preview_part.html",
        context,
        target="step-preview",
    )


urlpatterns = [
    path("strategies/", strategy_list, name="strategies"),
    path("strategies/<int:pk>/", strategy_detail, name="strategy"),
    path("strategies/<int:pk>/steps/new/", step_edit, name="step_new"),
    path("strategies/<int:pk>/steps/<int:step_pk>/", step_edit, name="step"),
]
