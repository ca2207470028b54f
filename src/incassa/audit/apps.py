from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "incassa.audit"
    verbose_name = _("Security and audit trail")

    def ready(self) -> None:
        from incassa.audit import recording

        recording.connect()
