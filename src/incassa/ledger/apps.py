from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "incassa.ledger"
    verbose_name = _("Ledger")

    def ready(self) -> None:
        from incassa.ledger import receivers  # noqa: F401
