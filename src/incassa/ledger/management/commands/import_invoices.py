"""``incassa import-invoices``: load the invoices issued in a period, paid or not (for KPIs)."""

from __future__ import annotations

from typing import Any

from incassa.ledger.management.base import ImportCommand
from incassa.ledger.services import invoices_import


class Command(ImportCommand):
    help = (
        "Import the documents issued in a period (same formats and columns as the "
        "receivables). Exit 2: invalid file or rows, nothing applied."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.run_import(options, invoices_import)
