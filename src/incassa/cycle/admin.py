"""The daily cycle in the admin: schedules may be edited (the page edits them too); runs,
their stages and the inbox's files are history, read-only."""

from __future__ import annotations

from django.contrib import admin

from incassa.core.admin import ReadOnlyMixin
from incassa.cycle.models import CycleRun, CycleSchedule, CycleStage, InboxFile
from incassa.ledger.admin import CompanyScopedMixin


@admin.register(CycleSchedule)
class CycleScheduleAdmin(CompanyScopedMixin, admin.ModelAdmin):
    list_display = ("company", "enabled", "at", "time_zone", "weekdays", "skip_non_working",
                    "send_when_stale")  # fmt: skip
    list_filter = ("enabled", "send_when_stale")


class CycleStageInline(ReadOnlyMixin, admin.TabularInline):
    model = CycleStage
    fields = ("position", "name", "status", "reason", "attempts", "started_at", "finished_at",
              "error")  # fmt: skip
    readonly_fields = fields
    extra = 0


@admin.register(CycleRun)
class CycleRunAdmin(CompanyScopedMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("company", "day", "trigger", "status", "stale", "started_at", "finished_at")
    list_filter = ("status", "trigger", "stale")
    date_hierarchy = "day"
    inlines = [CycleStageInline]


@admin.register(InboxFile)
class InboxFileAdmin(CompanyScopedMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("company", "name", "kind", "status", "size", "received_at", "processed_at")
    list_filter = ("status", "kind")
    search_fields = ("name", "checksum")
    date_hierarchy = "received_at"
