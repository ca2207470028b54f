"""Admin for dunning: strategies and their steps, holds, and the actions operators approve,
reject or mark done until the worklist pages arrive."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from incassa.core.admin import ReadOnlyMixin
from incassa.core.formatting import format_money
from incassa.dunning import services
from incassa.dunning.models import (
    Action,
    CategoryStrategy,
    CustomerStrategy,
    Exclusion,
    Hold,
    ItemProgress,
    ItemStep,
    Run,
    Step,
    Strategy,
    Suspension,
)


class StepInline(admin.TabularInline):
    model = Step
    extra = 0
    fields = (
        "position",
        "code",
        "name",
        "channel",
        "days_overdue",
        "min_days_since_previous",
        "min_customer_overdue",
        "categories",
        "needs_approval",
        "template_code",
    )
    ordering = ("position",)


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "company", "is_default")
    list_filter = ("company", "is_default")
    search_fields = ("code", "name")
    inlines = [StepInline]


@admin.register(CategoryStrategy)
class CategoryStrategyAdmin(admin.ModelAdmin):
    list_display = ("category", "strategy")
    autocomplete_fields = ("strategy",)


@admin.register(CustomerStrategy)
class CustomerStrategyAdmin(admin.ModelAdmin):
    list_display = ("customer", "strategy")
    raw_id_fields = ("customer",)
    autocomplete_fields = ("strategy",)


@admin.register(Exclusion)
class ExclusionAdmin(admin.ModelAdmin):
    list_display = ("customer", "reason", "created_at", "created_by")
    raw_id_fields = ("customer",)
    readonly_fields = ("created_by",)
    search_fields = ("customer__code", "customer__name", "reason")

    def save_model(self, request, obj, form, change):
        obj.created_by = obj.created_by or request.user
        super().save_model(request, obj, form, change)


@admin.register(Suspension)
class SuspensionAdmin(ExclusionAdmin):
    list_display = ("customer", "starts_on", "until", "reason", "created_by")
    list_filter = ("until",)


@admin.register(Hold)
class HoldAdmin(admin.ModelAdmin):
    list_display = ("receivable", "kind", "starts_on", "until", "released_on", "reason")
    list_filter = ("kind", "released_on")
    raw_id_fields = ("receivable",)
    readonly_fields = ("created_by",)
    search_fields = ("receivable__document_number", "receivable__customer__code")

    def save_model(self, request, obj, form, change):
        obj.created_by = obj.created_by or request.user
        super().save_model(request, obj, form, change)


class ItemStepInline(ReadOnlyMixin, admin.TabularInline):
    model = ItemStep
    extra = 0
    can_delete = False
    fields = ("receivable", "reached_on", "days_overdue", "open_amount", "status", "note")
    readonly_fields = fields


def _apply(request: HttpRequest, queryset: QuerySet, operation, done: str) -> None:
    count = 0
    for action in queryset:
        try:
            operation(action=action, user=request.user)
        except services.ActionStateError as exc:
            messages.warning(request, f"{action}: {exc}")
        else:
            count += 1
    if count:
        messages.success(request, done % {"count": count})


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = (
        "scheduled_on",
        "customer",
        "step",
        "channel",
        "status",
        "needs_approval",
        "item_count",
        "amount",
        "note",
    )
    list_filter = ("status", "channel", "needs_approval", "scheduled_on", "company")
    search_fields = ("customer__code", "customer__name")
    date_hierarchy = "scheduled_on"
    list_select_related = ("customer", "step")
    show_full_result_count = False
    inlines = [ItemStepInline]
    actions = ["approve", "reject", "mark_done"]
    readonly_fields = [f.name for f in Action._meta.fields if f.name not in {"note"}]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("amount"))
    def amount(self, obj: Action) -> str:
        return format_money(obj.total_amount)

    @admin.action(description=_("Approve the selected actions"))
    def approve(self, request, queryset):
        _apply(request, queryset, services.action_approve, _("%(count)d action(s) approved."))

    @admin.action(description=_("Reject the selected actions"))
    def reject(self, request, queryset):
        _apply(request, queryset, services.action_reject, _("%(count)d action(s) rejected."))

    @admin.action(description=_("Mark done (call made, letter posted)"))
    def mark_done(self, request, queryset):
        _apply(request, queryset, services.action_mark_done, _("%(count)d action(s) done."))


@admin.register(ItemStep)
class ItemStepAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("receivable", "step", "reached_on", "days_overdue", "status", "note")
    list_filter = ("status", "reached_on")
    search_fields = ("receivable__document_number", "receivable__customer__code")
    list_select_related = ("receivable", "step")
    show_full_result_count = False


@admin.register(ItemProgress)
class ItemProgressAdmin(ItemStepAdmin):
    list_display = ("receivable", "step", "reached_on", "action")
    list_filter = ("reached_on",)
    list_select_related = ("receivable", "step")


@admin.register(Run)
class RunAdmin(ItemStepAdmin):
    list_display = (
        "as_of",
        "company",
        "items_considered",
        "actions",
        "item_steps",
        "skipped",
        "cancelled",
        "started_at",
        "finished_at",
    )
    list_filter = ("company", "as_of")
    search_fields = ()
    list_select_related = ("company",)
