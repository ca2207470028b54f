from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DunningConfig(AppConfig):
    name = "incassa.dunning"
    verbose_name = _("Dunning")

    def ready(self) -> None:
        from incassa.dunning import signals  # noqa: F401
