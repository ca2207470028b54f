from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommsConfig(AppConfig):
    name = "incassa.comms"
    verbose_name = _("Communications")

    def ready(self) -> None:
        from incassa.comms import signals  # noqa: F401
