"""``incassa credit-events import FILE``: record protests, insolvency proceedings, balance
sheets and ratings from a file (all or nothing)."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incassa.credit.events_import import EventsImportRejected, credit_events_import
from incassa.ledger.management.base import resolve_company

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = (
        "Import credit events (protests, insolvency proceedings, balance sheets, ratings) from "
        "a CSV, XLSX, XLS or ODS file with the columns Codice cliente, Tipo, Data and "
        "optionally Penalità, Rating, Descrizione. Exit 2: invalid file or rows, nothing "
        "imported."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("import", help="record the events of a file")
        run.add_argument("path", help="CSV, XLSX, XLS or ODS file")
        run.add_argument("--company", help="company code (needed when there are several)")
        run.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        company = resolve_company(options["company"])
        try:
            result = credit_events_import(company=company, path=path)
        except EventsImportRejected as exc:
            self._report_failure(exc, options)
            sys.exit(exc.exit_code)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        kinds = ", ".join(f"{kind} {count}" for kind, count in result.by_kind.items())
        lines = [
            f"Imported {result.created} credit event(s) from {result.file_name}"
            + (f" ({kinds})" if kinds else "")
            + f"; {result.already_recorded} already recorded.",
        ]
        if result.created:
            lines.append("Run `incassa scores` to bring the scores up to date.")
        self.stdout.write("\n".join(lines))

    def _report_failure(self, exc: EventsImportRejected, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(exc.as_dict()))
        self.stderr.write(f"error: {exc}")
        if options["json"]:
            return
        for error in exc.errors[:SHOWN_ERRORS]:
            column = f" column {error.column!r}" if error.column else ""
            value = f" value {error.value!r}" if error.value else ""
            self.stderr.write(f"  row {error.row}{column}{value}: {error.reason}")
        if len(exc.errors) > SHOWN_ERRORS:
            self.stderr.write(f"  ... and {len(exc.errors) - SHOWN_ERRORS} more (use --json)")
