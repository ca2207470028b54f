"""``incassa import-statement``: a bank statement's incoming payments, matched to open items."""

from __future__ import annotations

import getpass
import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incassa.ledger.management.base import parse_date, resolve_company
from incassa.ledger.services import ImportFailed
from incassa.payments import statements, statements_csv
from incassa.payments.services import statement_import

SHOWN_ERRORS = 50


def parse_csv_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip():
            raise CommandError(f"invalid --map {pair!r}: use --map 'COLUMN=field'", returncode=2)
        field = field.strip()
        if field and field != "ignore" and field not in statements_csv.CSV_FIELDS:
            raise CommandError(
                f"unknown field {field!r} in --map; fields: {', '.join(statements_csv.CSV_FIELDS)}",
                returncode=2,
            )
        mapping[column.strip()] = field
    return mapping


class Command(BaseCommand):
    help = (
        "Import a bank statement (camt.053, camt.054, MT940, or a CSV export with --map), "
        "match its incoming payments to open items and book the sure matches; the others wait "
        "on the Payments page. Entries imported before are skipped. Exit 2: the file was "
        "refused, nothing applied."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="camt XML, MT940 or CSV file")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=field",
            help="CSV: read COLUMN as FIELD (repeatable; 'COLUMN=' ignores it)",
        )
        parser.add_argument("--account", default="", help="CSV: the account's IBAN")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="CSV: import the valid rows and report the rejected ones",
        )
        parser.add_argument("--today", help="the day of the import (YYYY-MM-DD; default today)")
        parser.add_argument("--company", help="company code (needed when there are several)")
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object with the result"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        if path.stat().st_size > statements.MAX_BYTES:
            raise CommandError(
                f"{path.name}: the file is larger than {statements.MAX_BYTES:,} bytes", returncode=2
            )
        mapping = parse_csv_mapping(options["map"])
        today = parse_date(options["today"]) if options["today"] else None
        company = resolve_company(options["company"], create_default=True)
        try:
            result = statement_import(
                company=company,
                name=path.name,
                data=path.read_bytes(),
                mapping=mapping or None,
                account_iban=options["account"],
                skip_invalid=options["skip_invalid"],
                source=f"command line ({getpass.getuser()})",
                today=today,
            )
        except ImportFailed as exc:
            if options["json"]:
                self.stdout.write(
                    json.dumps({"status": "rejected", "error": str(exc), "exit_code": 2})
                )
            self.stderr.write(f"error: {exc}")
            for error in exc.errors[:SHOWN_ERRORS]:
                self.stderr.write(
                    f"  row {error.row} column {error.column!r} value {error.value!r}: "
                    f"{error.reason}"
                )
            sys.exit(exc.exit_code)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(
            "\n".join(
                [
                    f"Imported {path.name}: {len(result.statements)} statement(s)",
                    f"  incoming payments new {result.new_credits}, imported before "
                    f"{result.known_credits}; debits skipped {result.debits}, pending skipped "
                    f"{result.pending}",
                    f"  matched and booked {result.matched} ({result.amount_booked:,.2f}), "
                    f"proposed {result.proposed}, to be matched {result.unmatched}",
                    f"  items closed {result.items_closed}, reduced {result.items_reduced}",
                ]
            )
        )
        if result.proposed or result.unmatched:
            self.stdout.write("  the others wait on the Payments page")
