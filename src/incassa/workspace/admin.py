"""Admin for the collector workspace: portfolios (rules and hand assignments) are edited
here; tasks, activities and agreements are looked at, and only their notes and the like
are edited.

An agreement's status moves through its state machine (``workspace.agreements``), which
places and releases the holds of its items, and a task's through ``workspace.work``, which
marks the engine's action done: editing a status here would bypass both, so statuses,
amounts, items, holds and baselines are read-only, agreements and activities are neither
added nor deleted here, and each page says where the change is made instead. Staff who are
not superusers see only their companies' rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from incassa.core.admin import ReadOnlyMixin
from incassa.core.fields import from_cents
from incassa.core.formatting import format_day, format_money
from incassa.ledger.admin import ADMIN_CSS, CompanyScopedMixin, LargeTableMixin
from incassa.ledger.models import Customer, Receivable
from incassa.workspace.models import (
    Activity,
    Case,
    CustomerAssignment,
    Dispute,
    Instalment,
    PortfolioRule,
    Promise,
    RepaymentPlan,
    Settlement,
    Task,
)
from incassa.workspace.portfolios import is_acting_member

STATE_NOTE = _(
    "The status changes on the customer's page in the web app (or by itself after each "
    "import), which places and releases the holds of the items: here it is read-only."
)
TASK_NOTE = _(
    "A task is done, snoozed or reassigned on the worklist in the web app, which also marks "
    "the engine's action done: here its status is read-only."
)
ACTIVITY_NOTE = _(
    "Activities are recorded on the customer's page in the web app, where the debtor's "
    "reaction records a promise, opens a dispute or holds the items: here only the notes "
    "can be corrected."
)


def _customer_page(customer: Customer) -> str:
    url = reverse("web:customer", args=[customer.code])
    query = urlencode({"company": customer.company.code})
    return format_html('<a href="{}?{}">{}</a>', url, query, _("Open the customer's page"))


def _receivable_links(items: Iterable[Receivable]) -> str:
    links = format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        ((reverse("admin:ledger_receivable_change", args=[item.pk]), str(item)) for item in items),
    )
    return links or "—"


def _check_same_company(form: forms.ModelForm, data: dict[str, Any]) -> None:
    """The customer of a row belongs to its company, and the people it names work on
    collections there (read-only fields are not in ``data``: the row's own are used)."""
    company = data.get("company")
    if company is None and form.instance.company_id:
        company = form.instance.company
    if company is None:
        return
    customer = data.get("customer")
    if customer is not None and customer.company_id != company.pk:
        form.add_error("customer", _("The customer belongs to another company."))
    for name in ("operator", "assignee", "owner"):
        user = data.get(name)
        if user is None or name not in form.fields:
            continue
        if not is_acting_member(company, user):
            form.add_error(name, _("Choose a colleague who works on collections here."))


class SameCompanyForm(forms.ModelForm):
    def clean(self) -> dict[str, Any]:
        data = super().clean()
        _check_same_company(self, data)
        return data


# --------------------------------------------------------------------------------------
# Portfolios
# --------------------------------------------------------------------------------------


@admin.register(PortfolioRule)
class PortfolioRuleAdmin(CompanyScopedMixin, admin.ModelAdmin):
    form = SameCompanyForm
    list_display = ("category_or_default", "operator", "company")
    list_filter = ("company",)
    list_select_related = ("category", "operator", "company")
    search_fields = ("category__code", "category__name", "operator__username")
    autocomplete_fields = ("category", "operator")

    @admin.display(description=_("category"), ordering="category__code")
    def category_or_default(self, obj: PortfolioRule) -> str:
        return str(obj.category) if obj.category_id else _("Default (every other customer)")


@admin.register(CustomerAssignment)
class CustomerAssignmentAdmin(CompanyScopedMixin, admin.ModelAdmin):
    form = SameCompanyForm
    list_display = ("customer", "operator", "company")
    list_filter = ("company",)
    list_select_related = ("customer", "operator", "company")
    search_fields = ("customer__code", "customer__name", "operator__username")
    autocomplete_fields = ("customer", "operator")


# --------------------------------------------------------------------------------------
# Tasks and activities
# --------------------------------------------------------------------------------------


@admin.register(Task)
class TaskAdmin(CompanyScopedMixin, LargeTableMixin, admin.ModelAdmin):
    form = SameCompanyForm
    list_display = ("due_on", "customer", "title", "kind", "assignee", "status")
    list_filter = ("status", "kind", "company")
    list_select_related = ("customer", "assignee")
    search_fields = ("customer__code", "customer__name", "title")
    date_hierarchy = "due_on"
    autocomplete_fields = ("customer", "assignee")
    readonly_fields = (
        "status",
        "source_action_link",
        "done_at",
        "done_by",
        "created_at",
        "created_by",
    )
    fieldsets = (
        (None, {"fields": ("company", "customer", "kind", "title", "due_on", "assignee")}),
        (None, {"fields": ("snoozed_until", "note")}),
        (
            _("Status"),
            {
                "fields": (
                    "status",
                    "source_action_link",
                    "done_at",
                    "done_by",
                    "created_at",
                    "created_by",
                ),
                "description": TASK_NOTE,
            },
        ),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Task | None = None) -> tuple:
        if obj is not None:  # whose task it is and what for stay as made
            return (*self.readonly_fields, "company", "customer", "kind")
        return self.readonly_fields

    @admin.display(description=_("engine action"))
    def source_action_link(self, obj: Task) -> str:
        if obj.source_action_id is None:
            return "—"
        url = reverse("admin:dunning_action_change", args=[obj.source_action_id])
        return format_html('<a href="{}">{}</a>', url, obj.source_action)

    def save_model(self, request: HttpRequest, obj: Task, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Activity)
class ActivityAdmin(CompanyScopedMixin, LargeTableMixin, admin.ModelAdmin):
    list_display = ("happened_at", "customer", "kind", "reaction", "operator", "outcome")
    list_filter = ("kind", "reaction", "direction", "company")
    list_select_related = ("customer", "operator")
    search_fields = ("customer__code", "customer__name", "outcome", "notes", "contact_person")
    date_hierarchy = "happened_at"
    readonly_fields = (
        "company",
        "customer",
        "customer_page",
        "kind",
        "happened_at",
        "operator",
        "direction",
        "reaction",
        "item_list",
        "next_action",
        "next_action_on",
        "task",
        "follow_up",
        "created_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "company",
                    "customer",
                    "customer_page",
                    "kind",
                    "happened_at",
                    "operator",
                    "direction",
                    "reaction",
                    "item_list",
                ),
                "description": ACTIVITY_NOTE,
            },
        ),
        (_("What was said"), {"fields": ("contact_person", "outcome", "notes")}),
        (
            _("What follows"),
            {"fields": ("next_action", "next_action_on", "task", "follow_up", "created_at")},
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("customer's page"))
    def customer_page(self, obj: Activity) -> str:
        return _customer_page(obj.customer)

    @admin.display(description=_("items"))
    def item_list(self, obj: Activity) -> str:
        return _receivable_links(obj.items.all())


# --------------------------------------------------------------------------------------
# Agreements
# --------------------------------------------------------------------------------------


class AgreementAdmin(CompanyScopedMixin, admin.ModelAdmin):
    """An agreement as its state machine left it: only ``editable`` fields change here."""

    # (field names, with the computed ones of this class), by section
    details: tuple[str, ...] = ()
    state: tuple[str, ...] = ("status",)
    editable: tuple[str, ...] = ("note",)
    has_baseline = True
    list_filter = ("status", "company")
    list_select_related = ("customer",)
    search_fields = ("customer__code", "customer__name")

    class Media:
        css = ADMIN_CSS

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        computed = ("item_list", "hold_list", *(("baseline_list",) if self.has_baseline else ()))
        return [
            (None, {"fields": ("company", "customer", "customer_page", *self.details)}),
            (_("Status"), {"fields": self.state, "description": STATE_NOTE}),
            (_("Items and holds"), {"fields": computed}),
            (_("Notes"), {"fields": self.editable}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        shown = [
            name
            for _title, options in self.get_fieldsets(request, obj)
            for name in options["fields"]
        ]
        return [name for name in shown if name not in self.editable]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("customer's page"))
    def customer_page(self, obj: Any) -> str:
        return _customer_page(obj.customer)

    @admin.display(description=_("items"))
    def item_list(self, obj: Any) -> str:
        return _receivable_links(obj.items.all())

    @admin.display(description=_("holds"))
    def hold_list(self, obj: Any) -> str:
        holds = obj.holds.select_related("receivable").order_by("receivable__document_number")
        rows = format_html_join(
            mark_safe("<br>"),
            '<a href="{}">{}</a>: {} {}{}{}',
            (
                (
                    reverse("admin:dunning_hold_change", args=[hold.pk]),
                    hold.receivable.document_number,
                    hold.get_kind_display(),
                    _("from %(day)s") % {"day": format_day(hold.starts_on)},
                    (" " + _("until %(day)s") % {"day": format_day(hold.until)})
                    if hold.until
                    else "",
                    (", " + _("released on %(day)s") % {"day": format_day(hold.released_on)})
                    if hold.released_on
                    else "",
                )
                for hold in holds
            ),
        )
        return rows or "—"

    @admin.display(description=_("open amounts when made"))
    def baseline_list(self, obj: Any) -> str:
        """Each item's open amount when the agreement was made: what payments count from."""
        baseline = obj.baseline or {}
        items = Receivable.objects.in_bulk([int(pk) for pk in baseline if pk.isdigit()])
        rows = format_html_join(
            mark_safe("<br>"),
            "{}: {}",
            (
                (
                    str(items[int(pk)]) if pk.isdigit() and int(pk) in items else f"#{pk}",
                    format_money(from_cents(cents)),
                )
                for pk, cents in sorted(baseline.items())
            ),
        )
        return rows or "—"


def _money_column(field: str, description: Any) -> Any:
    @admin.display(description=description, ordering=field)
    def column(self: Any, obj: Any) -> str:
        return format_money(getattr(obj, field))

    return column


@admin.register(Promise)
class PromiseAdmin(AgreementAdmin):
    list_display = ("promised_on", "customer", "formatted_amount", "status", "recorded_on")
    date_hierarchy = "promised_on"
    details = ("formatted_amount", "promised_on", "recorded_on", "recorded_by", "created_at")
    state = ("status", "closed_on")
    formatted_amount = _money_column("amount", _("amount"))


@admin.register(Dispute)
class DisputeAdmin(AgreementAdmin):
    list_display = ("opened_on", "customer", "reason", "status", "owner", "deadline")
    list_filter = ("status", "reason", "company")
    list_select_related = ("customer", "owner")
    search_fields = ("customer__code", "customer__name", "description", "resolution")
    date_hierarchy = "opened_on"
    autocomplete_fields = ("owner",)
    form = SameCompanyForm
    details = ("reason", "opened_on", "opened_by", "created_at")
    state = ("status", "resolved_on", "resolution")
    editable = ("description", "owner", "deadline")
    has_baseline = False


class InstalmentInline(ReadOnlyMixin, admin.TabularInline):
    model = Instalment
    extra = 0
    can_delete = False
    fields = (
        "number",
        "due_on",
        "formatted_amount",
        "formatted_principal",
        "formatted_paid",
        "status",
    )
    readonly_fields = fields
    ordering = ("number",)
    formatted_amount = _money_column("amount", _("amount"))
    formatted_principal = _money_column("principal", _("principal"))
    formatted_paid = _money_column("paid_amount", _("paid"))


@admin.register(RepaymentPlan)
class RepaymentPlanAdmin(AgreementAdmin):
    list_display = (
        "created_on",
        "customer",
        "formatted_total",
        "formatted_principal",
        "annual_interest_rate",
        "status",
    )
    date_hierarchy = "created_on"
    inlines = [InstalmentInline]
    details = (
        "formatted_total",
        "formatted_principal",
        "annual_interest_rate",
        "grace_days",
        "created_on",
        "created_by",
        "created_at",
    )
    state = ("status", "closed_on", "broken_on")
    formatted_total = _money_column("total", _("total of the instalments"))
    formatted_principal = _money_column("principal", _("open amount covered"))


@admin.register(Settlement)
class SettlementAdmin(AgreementAdmin):
    list_display = (
        "due_on",
        "customer",
        "formatted_open",
        "formatted_agreed",
        "status",
        "agreed_on",
    )
    date_hierarchy = "due_on"
    details = (
        "formatted_open",
        "formatted_agreed",
        "agreed_on",
        "due_on",
        "write_off_reason",
        "created_by",
        "created_at",
    )
    state = ("status", "closed_on", "formatted_written_off")
    formatted_open = _money_column("open_amount", _("open amount when agreed"))
    formatted_agreed = _money_column("agreed_amount", _("agreed amount"))
    formatted_written_off = _money_column("written_off_amount", _("written off"))


@admin.register(Case)
class CaseAdmin(AgreementAdmin):
    list_display = (
        "handed_over_on",
        "customer",
        "agency",
        "kind",
        "formatted_handed_over",
        "status",
        "outcome",
    )
    list_filter = ("status", "kind", "outcome", "company")
    search_fields = ("customer__code", "customer__name", "agency")
    date_hierarchy = "handed_over_on"
    details = ("kind", "handed_over_on", "formatted_handed_over", "created_by", "created_at")
    state = ("status", "outcome", "formatted_recovered", "closed_on")
    editable = ("agency", "outcome_text")
    has_baseline = False
    formatted_handed_over = _money_column("handed_over_amount", _("amount handed over"))
    formatted_recovered = _money_column("recovered_amount", _("recovered"))
