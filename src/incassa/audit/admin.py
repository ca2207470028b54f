"""The audit trail in the admin: readable, never editable, even by superusers.

Administrators also see who is locked out (deleting the failures unlocks), which users use
a second factor (resetting it makes them set it up again), and each company's rule that
administrators must use one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incassa.audit import recording
from incassa.audit.models import (
    AuditAction,
    AuditEntry,
    CompanySecurity,
    LoginFailure,
    TwoFactor,
)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "username",
        "company_id",
        "action",
        "object_type",
        "object_repr",
        "source",
    )
    list_filter = ("action", "source", "object_type")
    search_fields = ("username", "object_repr", "object_id", "request_id")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    list_select_related = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ("username", "ip", "at")
    search_fields = ("username", "ip")
    readonly_fields = ("username", "ip", "at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TwoFactor)
class TwoFactorAdmin(admin.ModelAdmin):
    """Only who has a second factor and since when: the secret is never shown."""

    list_display = ("user", "confirmed_at")
    search_fields = ("user__username", "user__email")
    fields = ("user", "confirmed_at")
    readonly_fields = ("user", "confirmed_at")
    actions = ["reset"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(
        description=_("Reset two-step verification (the user sets it up again)"),
        permissions=["reset"],
    )
    def reset(self, request: HttpRequest, queryset: QuerySet[TwoFactor]) -> None:
        from incassa.audit import totp

        count = 0
        for factor in queryset.select_related("user"):
            totp.disable(user=factor.user)
            recording.record(
                action=AuditAction.TOTP_RESET, obj=factor.user, after={"by": request.user.pk}
            )
            count += 1
        messages.success(
            request,
            ngettext(
                "Two-step verification reset for %(count)d user.",
                "Two-step verification reset for %(count)d users.",
                count,
            )
            % {"count": count},
        )

    def has_reset_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or request.user.has_perm("audit.delete_twofactor")


@admin.register(CompanySecurity)
class CompanySecurityAdmin(admin.ModelAdmin):
    list_display = ("company", "require_totp_for_administrators")
    list_editable = ("require_totp_for_administrators",)
