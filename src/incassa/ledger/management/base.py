"""What the ledger's commands share: choosing the company, dates, mappings, and reporting an
import the same way for the receivables and the invoices files."""

from __future__ import annotations

import csv
import datetime as dt
import getpass
import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from incassa.core.exports import neutralize_formula
from incassa.ledger import parsing
from incassa.ledger.models import Company
from incassa.ledger.services import ImportFailed, ImportResult

PROGRESS_THRESHOLD = 50_000
SHOWN_ERRORS = 50


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"invalid date {value!r}: use YYYY-MM-DD", returncode=2) from exc


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip() or not field.strip():
            raise CommandError(f"invalid --map {pair!r}: use --map 'COLUMN=field'", returncode=2)
        if field.strip() not in parsing.FIELDS:
            raise CommandError(
                f"unknown field {field.strip()!r} in --map; fields: {', '.join(parsing.FIELDS)}",
                returncode=2,
            )
        mapping[column.strip()] = field.strip()
    return mapping


def resolve_company(code: str | None, *, create_default: bool = False) -> Company:
    """The company named, or the only one; a fresh installation gets a first company."""
    if code:
        try:
            return Company.objects.get(code=code)
        except Company.DoesNotExist as exc:
            codes = ", ".join(Company.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(
                f"no company with code {code!r} (companies: {codes})", returncode=2
            ) from exc
    companies = list(Company.objects.all()[:2])
    if len(companies) == 1:
        return companies[0]
    if not companies:
        if create_default:
            with transaction.atomic():
                company, _ = Company.objects.get_or_create(
                    code="default", defaults={"name": "My company"}
                )
            return company
        raise CommandError(
            "no company yet: create one in the admin or import a file first", returncode=2
        )
    codes = ", ".join(Company.objects.values_list("code", flat=True))
    raise CommandError(f"several companies: choose one with --company ({codes})", returncode=2)


class ImportCommand(BaseCommand):
    """Shared options and output of ``import-receivables`` and ``import-invoices``."""

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", help="CSV, XLSX, XLS or ODS file")
        parser.add_argument(
            "--as-of", dest="as_of", help="date of the snapshot (YYYY-MM-DD; default today)"
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="apply the valid rows and report the rejected ones",
        )
        parser.add_argument(
            "--rejects", metavar="OUT.csv", help="write the rejected rows, with the reasons"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=field",
            help="read COLUMN as FIELD (repeatable)",
        )
        parser.add_argument(
            "--save-map",
            action="store_true",
            help="remember the --map options for this company's next imports",
        )
        parser.add_argument("--company", help="company code (needed when there are several)")
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object with the result"
        )

    def run_import(self, options: dict[str, Any], service: Any, **extra: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        as_of = parse_date(options["as_of"]) if options["as_of"] else dt.date.today()
        mapping = parse_mapping(options["map"])
        company = resolve_company(options["company"], create_default=True)
        progress = _Progress(enabled=True)
        try:
            result = service(
                company=company,
                path=path,
                as_of=as_of,
                skip_invalid=options["skip_invalid"],
                mapping=mapping or None,
                save_mapping=options["save_map"],
                source=f"command line ({getpass.getuser()})",
                on_progress=progress,
                **extra,
            )
        except ImportFailed as exc:
            progress.close()
            self._report_failure(exc, options)
            sys.exit(exc.exit_code)
        progress.close()
        if options["rejects"] and result.rejected is not None:
            write_rejects(Path(options["rejects"]), result.rejected)
        self._report(result, options)

    def _report(self, result: ImportResult, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        run = result.import_run
        parsed = result.parsed
        ignored = parsed.rows_ignored if parsed else 0
        lines = [
            f"Imported {run.file_name} as of {run.as_of:%d/%m/%Y} "
            f"({'partial' if run.is_partial else 'full snapshot'}):",
            f"  rows read {run.rows_read}, rejected {run.rows_rejected}"
            + (f", ignored {parsed.rows_ignored} blank or total rows" if ignored else ""),
            f"  items created {run.created}, updated {run.updated}, closed {run.closed}, "
            f"reopened {run.reopened}, unchanged {run.unchanged}",
            f"  customers created {run.customers_created}",
            f"  now open: {result.summary.open_items} items of {result.summary.customers} "
            f"customers, {result.summary.open_amount:,.2f} EUR",
        ]
        if parsed and parsed.unmapped:
            lines.append(f"  columns ignored: {', '.join(parsed.unmapped)}")
        self.stdout.write("\n".join(lines))
        if result.errors:
            self.stderr.write(
                f"{len(result.errors)} problem(s) in {run.rows_rejected} rejected row(s):"
            )
            self._print_errors(result.errors)
            if options["rejects"]:
                self.stderr.write(f"rejected rows written to {options['rejects']}")

    def _report_failure(self, exc: ImportFailed, options: dict[str, Any]) -> None:
        if options["json"]:
            payload = {
                "status": exc.import_run.status if exc.import_run else "rejected",
                "error": str(exc),
                "exit_code": exc.exit_code,
                "errors": [
                    {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
                    for e in exc.errors
                ],
            }
            self.stdout.write(json.dumps(payload))
        self.stderr.write(f"error: {exc}")
        if exc.errors and not options["json"]:
            self._print_errors(exc.errors)

    def _print_errors(self, errors: list[parsing.RowError]) -> None:
        for error in errors[:SHOWN_ERRORS]:
            column = f" column {error.column!r}" if error.column else ""
            value = f" value {error.value!r}" if error.value else ""
            self.stderr.write(f"  row {error.row}{column}{value}: {error.reason}")
        if len(errors) > SHOWN_ERRORS:
            self.stderr.write(
                f"  ... and {len(errors) - SHOWN_ERRORS} more (write them all with --rejects)"
            )


def write_rejects(path: Path, rejected: Any) -> None:
    """The rejected rows as they were in the file, with the reasons, ready to fix."""
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(rejected.columns)
        for row in rejected.iter_rows():
            writer.writerow(["" if v is None else neutralize_formula(str(v)) for v in row])


class _Progress:
    """A progress bar on stderr for files large enough to make a user wait."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: tqdm | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total < PROGRESS_THRESHOLD:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, desc=stage, unit=" rows", file=sys.stderr, leave=False)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
