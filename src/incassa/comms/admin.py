from django.contrib import admin

from incassa.comms.models import InterestRate


@admin.register(InterestRate)
class InterestRateAdmin(admin.ModelAdmin):
    list_display = ("kind", "starts_on", "rate", "source")
    list_filter = ("kind",)
    ordering = ("kind", "-starts_on")
