"""The audit pages, under ``/audit/``."""

from django.urls import path

from incassa.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list, name="entries"),
    path("export.csv", views.entry_export, name="export"),
    path("<int:pk>/", views.entry_detail, name="entry"),
]
