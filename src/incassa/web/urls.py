from django.conf import settings
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path

from incassa.web import (
    agreements,
    company_settings,
    customers,
    cycle,
    dossier,
    effectiveness,
    imports,
    items,
    jobs,
    message_templates,
    payments,
    reports,
    strategies,
    suspensions,
    team,
    views,
    worklist,
)

app_name = "web"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("customers/", customers.customer_list, name="customers"),
    # Customer codes come from the ERP and may hold a slash: ``path`` keeps them whole.
    path("customers/<path:code>/", customers.customer_detail, name="customer"),
    path("worklist/", worklist.worklist, name="worklist"),
    path("items/<int:pk>/", customers.item_detail, name="item"),
    path("messages/<int:pk>/document/", customers.message_document, name="message_document"),
    path("", include(agreements.urlpatterns)),
    path("", include(dossier.urlpatterns)),
    path("", include(effectiveness.urlpatterns)),
    path("", include(team.urlpatterns)),
    path("", include(imports.urlpatterns)),
    path("", include(payments.urlpatterns)),
    path("", include(items.urlpatterns)),
    path("", include(strategies.urlpatterns)),
    path("", include(suspensions.urlpatterns)),
    path("", include(message_templates.urlpatterns)),
    path("", include(reports.urlpatterns)),
    path("", include(company_settings.urlpatterns)),
    path("", include(jobs.urlpatterns)),
    path("", include(cycle.urlpatterns)),
]

# `make run` starts `runserver` with DEBUG off, where Django serves no static files and the
# pages would have no stylesheet. Serve them from the apps' static folders here; a
# deployment behind a web server answers /static/ itself before a request gets this far.
if settings.STATIC_URL and not settings.STATIC_URL.startswith(("http://", "https://", "//")):
    prefix = settings.STATIC_URL.lstrip("/")
    urlpatterns.append(
        re_path(rf"^{prefix}(?P<path>.+)$", serve_static, {"insecure": True}, name="static")
    )
