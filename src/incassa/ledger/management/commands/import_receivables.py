"""``incassa import-receivables``: load the day's snapshot of open items (the scadenziario)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from incassa.ledger.management.base import ImportCommand
from incassa.ledger.services import receivables_import


class Command(ImportCommand):
    help = (
        "Import a snapshot of the open items (CSV, XLSX, XLS, ODS). Exit 2: invalid file "
        "or rows, nothing applied. Exit 3: refused (would close too many items, or older "
        "than the last snapshot), nothing applied."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--partial",
            action="store_true",
            help="apply the rows without closing the items the file does not list",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="apply a snapshot that would close many items or is older than the last one",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.run_import(
            options, receivables_import, partial=options["partial"], force=options["force"]
        )
