"""Admin for credit health: external events and scoring weights are edited here; scores,
criticality, history and KPI snapshots are computed and only read; alerts are acknowledged;
a customer is blocked or unblocked on its credit standing."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from incassa.core.admin import ReadOnlyMixin
from incassa.credit import services
from incassa.credit.models import (
    CreditAlert,
    CreditEvent,
    CustomerCredit,
    KpiSnapshot,
    ScoreHistory,
    ScoringSettings,
)
from incassa.ledger.admin import CompanyScopedMixin


@admin.register(CreditEvent)
class CreditEventAdmin(CompanyScopedMixin, admin.ModelAdmin):
    company_path = "customer__company"
    list_display = ("on_date", "customer", "kind", "penalty", "rating", "description", "source")
    list_filter = ("kind", "customer__company")
    search_fields = ("customer__code", "customer__name", "description", "rating")
    autocomplete_fields = ("customer",)
    date_hierarchy = "on_date"
    exclude = ("created_by",)

    def save_model(self, request: HttpRequest, obj: CreditEvent, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(CompanyScopedMixin, admin.ModelAdmin):
    list_display = ("company", "exposure_includes_not_due")
    fields = ("company", "reliability_weights", "criticality_weights", "exposure_includes_not_due")

    def get_form(self, request: HttpRequest, obj=None, **kwargs):
        from incassa.credit.scoring import CriticalityWeights, ReliabilityWeights

        form = super().get_form(request, obj, **kwargs)
        form.base_fields["reliability_weights"].help_text = _(
            "Empty: the defaults %(weights)s."
        ) % {"weights": ReliabilityWeights().as_dict()}
        form.base_fields["criticality_weights"].help_text = _(
            "Empty: the defaults %(weights)s."
        ) % {"weights": CriticalityWeights().as_dict()}
        return form


@admin.register(CustomerCredit)
class CustomerCreditAdmin(CompanyScopedMixin, admin.ModelAdmin):
    company_path = "customer__company"
    list_display = ("customer", "credit_class", "score", "exposure", "blocked", "computed_on")
    list_filter = ("credit_class", "blocked", "customer__company")
    list_select_related = ("customer",)
    search_fields = ("customer__code", "customer__name")
    readonly_fields = (
        "customer",
        "computed_on",
        "score",
        "credit_class",
        "components",
        "exposure",
        "blocked_at",
    )
    fields = (*readonly_fields, "blocked", "blocked_reason")
    actions = ["unblock"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CustomerCredit, form, change: bool) -> None:
        if obj.blocked:
            services.customer_block(
                customer=obj.customer, reason=obj.blocked_reason, user=request.user
            )
        else:
            services.customer_unblock(customer=obj.customer)

    @admin.action(description=_("Lift the block of the selected customers"))
    def unblock(self, request: HttpRequest, queryset: QuerySet) -> None:
        for credit in queryset.filter(blocked=True).select_related("customer"):
            services.customer_unblock(customer=credit.customer)


@admin.register(ScoreHistory)
class ScoreHistoryAdmin(ReadOnlyMixin, CompanyScopedMixin, admin.ModelAdmin):
    company_path = "customer__company"
    list_display = ("on_date", "customer", "score", "credit_class")
    list_filter = ("credit_class",)
    search_fields = ("customer__code", "customer__name")
    date_hierarchy = "on_date"
    show_full_result_count = False


@admin.register(CreditAlert)
class CreditAlertAdmin(CompanyScopedMixin, admin.ModelAdmin):
    list_display = ("on_date", "customer", "kind", "message", "acknowledged_at")
    list_filter = ("kind", ("acknowledged_at", admin.EmptyFieldListFilter), "company")
    list_select_related = ("customer",)
    search_fields = ("customer__code", "customer__name", "message")
    actions = ["acknowledge"]
    readonly_fields = (
        "company",
        "customer",
        "kind",
        "on_date",
        "message",
        "acknowledged_at",
        "acknowledged_by",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Mark the selected alerts as seen"))
    def acknowledge(self, request: HttpRequest, queryset: QuerySet) -> None:
        for alert in queryset.filter(acknowledged_at__isnull=True):
            services.alert_acknowledge(alert=alert, user=request.user)


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyMixin, CompanyScopedMixin, admin.ModelAdmin):
    list_display = ("on_date", "company", "scope")
    list_filter = ("company", "scope")
    date_hierarchy = "on_date"
