from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkspaceConfig(AppConfig):
    name = "incassa.workspace"
    verbose_name = _("Collector workspace")

    def ready(self) -> None:
        from incassa.workspace import signals  # noqa: F401
