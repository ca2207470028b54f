"""Jobs in the admin: read-only, for looking into what ran, when, and how it ended."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from incassa.jobs.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "company", "kind", "title", "status", "attempts", "created_by")
    list_filter = ("status", "kind", "company")
    search_fields = ("title", "message")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Job._meta.fields]
    list_select_related = ("company", "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
