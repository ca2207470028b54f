from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "incassa.payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from incassa.payments import signals  # noqa: F401
