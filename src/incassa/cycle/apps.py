from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CycleConfig(AppConfig):
    name = "incassa.cycle"
    verbose_name = _("Daily cycle")

    def ready(self) -> None:
        # The periodic schedule registers itself with Huey when its module is imported.
        from incassa.cycle import tasks  # noqa: F401
