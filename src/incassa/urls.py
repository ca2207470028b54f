"""Top-level URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from incassa.api.api import api
from incassa.web import account

urlpatterns = [
    # First: it also sends the admin's own sign-in page to the throttled, two-step one.
    path("", include(account.urlpatterns)),  # login/, login/verify/, account/...
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", include("incassa.audit.urls")),
    path("", include("incassa.web.urls")),
]
