from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "incassa.credit"
    verbose_name = _("Credit health")

    def ready(self) -> None:
        from incassa.credit import signals  # noqa: F401
