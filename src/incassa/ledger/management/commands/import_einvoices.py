"""``incassa import-einvoices``: the company's e-invoices (FatturaPA) as customers and items."""

from __future__ import annotations

import getpass
import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incassa.ledger.einvoices import einvoices_import, read_paths
from incassa.ledger.management.base import parse_date, resolve_company
from incassa.ledger.services import ImportFailed

SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import e-invoices issued by the company (FatturaPA XML, signed .xml.p7m, ZIP archives "
        "of them, or folders). Each installment becomes an open item; invoices imported before "
        "are skipped. Exit 2: a file was refused, nothing applied."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", help=".xml, .xml.p7m or .zip files, or folders")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the readable invoices and report the refused files",
        )
        parser.add_argument("--today", help="the day of the import (YYYY-MM-DD; default today)")
        parser.add_argument("--company", help="company code (needed when there are several)")
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object with the result"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        missing = [p for p in options["paths"] if not Path(p).exists()]
        if missing:
            raise CommandError(f"{', '.join(missing)}: no such file or folder", returncode=2)
        files = read_paths(options["paths"])
        if not files:
            raise CommandError("no .xml, .p7m or .zip file found", returncode=2)
        today = parse_date(options["today"]) if options["today"] else None
        company = resolve_company(options["company"], create_default=True)
        try:
            result = einvoices_import(
                company=company,
                files=files,
                skip_invalid=options["skip_invalid"],
                source=f"command line ({getpass.getuser()})",
                today=today,
            )
        except ImportFailed as exc:
            run = exc.import_run
            if options["json"]:
                self.stdout.write(
                    json.dumps(
                        {"status": "rejected", "error": str(exc), **(run.report if run else {})}
                    )
                )
            self.stderr.write(f"error: {exc}")
            if run and not options["json"]:
                self._print_refused(run.report.get("documents", []))
            sys.exit(exc.exit_code)
        run = result.import_run
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "import_id": run.pk,
                        "status": run.status,
                        "documents_read": run.rows_read,
                        "items_created": run.created,
                        "unchanged": run.unchanged,
                        "customers_created": run.customers_created,
                        "customers_updated": run.updated,
                        **run.report,
                    }
                )
            )
            return
        counts: dict[str, int] = {}
        for outcome in result.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        self.stdout.write(
            "\n".join(
                [
                    f"Imported e-invoices ({len(files)} file(s)):",
                    f"  documents imported {counts.get('imported', 0)}, "
                    f"already in the ledger (linked) {counts.get('linked', 0)}, "
                    f"imported before {counts.get('already imported', 0)}, "
                    f"refused {counts.get('rejected', 0)}",
                    f"  items created {run.created}",
                    f"  customers created {run.customers_created}, updated {run.updated}",
                ]
            )
        )
        self._print_refused([o.as_dict() for o in result.rejected])

    def _print_refused(self, documents: list[dict[str, Any]]) -> None:
        refused = [d for d in documents if d.get("status") == "rejected"]
        for document in refused[:SHOWN]:
            number = f" invoice {document['number']}" if document.get("number") else ""
            self.stderr.write(f"  {document['file']}{number}: {document['reason']}")
        if len(refused) > SHOWN:
            self.stderr.write(f"  ... and {len(refused) - SHOWN} more (see the import's report)")
