"""Statements, their entries and allocations in the admin: read-only, the pages change them
through the services (the ledger's items and events follow every change)."""

from __future__ import annotations

from django.contrib import admin

from incassa.core.admin import ReadOnlyMixin
from incassa.ledger.admin import CompanyScopedMixin
from incassa.payments.models import BankEntry, BankStatement, PayerAccount, PaymentAllocation


@admin.register(BankStatement)
class BankStatementAdmin(CompanyScopedMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("account", "statement_id", "format", "closing_date", "closing_balance",
                    "credits_new", "credits_known")  # fmt: skip
    list_filter = ("format",)
    search_fields = ("account", "statement_id")


class PaymentAllocationInline(ReadOnlyMixin, admin.TabularInline):
    model = PaymentAllocation
    fields = ("receivable", "amount", "open_amount_before", "is_automatic", "created_by",
              "created_at", "reversed_at")  # fmt: skip
    readonly_fields = fields
    extra = 0


@admin.register(BankEntry)
class BankEntryAdmin(CompanyScopedMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("booking_date", "amount", "payer_name", "status", "confidence", "customer")
    list_filter = ("status", "confidence", "is_automatic")
    search_fields = ("payer_name", "payer_iban", "remittance", "key")
    date_hierarchy = "booking_date"
    list_select_related = ("customer",)
    inlines = [PaymentAllocationInline]


@admin.register(PayerAccount)
class PayerAccountAdmin(CompanyScopedMixin, admin.ModelAdmin):
    """IBANs known to pay for a customer: learned from confirmed matches, may be entered."""

    list_display = ("iban", "customer", "name", "created_at")
    search_fields = ("iban", "customer__code", "customer__name", "name")
    raw_id_fields = ("customer",)
