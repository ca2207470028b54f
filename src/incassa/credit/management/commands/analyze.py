"""``incassa analyze``: the one-shot credit analysis of a prospect's two files, as a report.

Reads the overdue items and the invoices of the last four months with the import's reader
(every format, header and row check of ``import-receivables``), never touches the database
(it runs on an installation with no migrations applied) and writes a standalone HTML or PDF
report, prints the figures as JSON, or prints a short summary.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from argparse import ArgumentParser
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.core.management.base import BaseCommand

from incassa.credit import kpi
from incassa.credit.analysis import Analysis, analyze
from incassa.ledger import parsing

LANGUAGES = ("it", "en")
FORMATS = {".html": "html", ".htm": "html", ".pdf": "pdf"}


class InputError(Exception):
    """Input the command refuses: one line for the user, and the rows at fault if any."""

    def __init__(self, message: str, errors: list[FileRowError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True)
class FileRowError:
    file: str
    error: parsing.RowError

    def as_dict(self) -> dict:
        e = self.error
        return {"file": self.file, "row": e.row, "column": e.column, "value": e.value,
                "reason": e.reason}  # fmt: skip

    def __str__(self) -> str:
        e = self.error
        column = f" column {e.column!r}" if e.column else ""
        value = f" value {e.value!r}" if e.value else ""
        return f"{self.file} row {e.row}{column}{value}: {e.reason}"


def parse_turnover(text: str) -> Decimal:
    """``1.234.567,89``, ``1234567.89``, ``1,234,567.89`` or ``2950000``: euro, positive."""
    cents, _ = parsing.parse_amounts(pl.Series("turnover", [text]))
    value = cents[0]
    if value is None:
        raise InputError(
            f"invalid --turnover {text!r}: write an amount such as 1.234.567,89 or 1234567.89"
        )
    if value <= 0:
        raise InputError(f"invalid --turnover {text!r}: the turnover must be more than zero")
    return Decimal(value).scaleb(-2)


def parse_count(text: str) -> int:
    try:
        count = int(text.replace(".", "").replace(",", "").strip())
    except ValueError:
        count = 0
    if count <= 0:
        raise InputError(f"invalid --invoice-count {text!r}: write a whole number above zero")
    return count


def parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"invalid --as-of {text!r}: use YYYY-MM-DD") from exc


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip() or field.strip() not in parsing.FIELDS:
            raise InputError(
                f"invalid --map {pair!r}: use --map 'COLUMN=field' with a field among "
                f"{', '.join(parsing.FIELDS)}"
            )
        mapping[column.strip()] = field.strip()
    return mapping


def read_file(
    path: Path, *, mapping: dict[str, str], require_due_date: bool
) -> tuple[pl.DataFrame, list[FileRowError]]:
    """The valid rows, and every problem of the others (amounts not in euro included)."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        parsed = parsing.read_receivables(
            path,
            mapping=mapping or None,
            max_bytes=settings.INCASSA_MAX_UPLOAD_BYTES,
            require_due_date=require_due_date,
        )
    except parsing.ParseError as exc:
        raise InputError(f"{path.name}: {exc}") from exc
    errors = [FileRowError(path.name, error) for error in parsed.errors]
    # Sums in euro only: a row in another currency is refused, not converted at a guess.
    foreign = parsed.frame.filter(pl.col("currency") != "EUR")
    if foreign.height:
        header = next((h for h, f in parsed.columns.items() if f == "currency"), "")
        errors += [
            FileRowError(
                path.name,
                parsing.RowError(row, header, currency, "only amounts in EUR can be analysed"),
            )
            for row, currency in foreign.select("row", "currency").iter_rows()
        ]
        errors.sort(key=lambda e: e.error.row)
    return parsed.frame, errors


class Command(BaseCommand):
    help = (
        "The credit analysis of a company's overdue items and recent invoices: a standalone "
        "HTML or PDF report, or the figures as JSON. Reads the files like import-receivables "
        "and never touches the database. Exit 2: invalid options, files or rows."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--overdue", required=True, metavar="FILE", help="the overdue items today"
        )
        parser.add_argument(
            "--invoiced",
            required=True,
            metavar="FILE",
            help="the invoices of the last four months before --as-of",
        )
        parser.add_argument(
            "--turnover",
            metavar="AMOUNT",
            help="invoiced in the last year, VAT included (1.234.567,89 or 1234567.89)",
        )
        parser.add_argument(
            "--invoice-count", dest="invoice_count", metavar="N", help="invoices of the last year"
        )
        parser.add_argument(
            "--as-of", dest="as_of", metavar="YYYY-MM-DD", help="date of the files (default today)"
        )
        parser.add_argument(
            "-o", "--output", metavar="OUT.html|OUT.pdf", help="write the report to this file"
        )
        parser.add_argument(
            "--language",
            default=None,
            metavar="it|en",
            help=f"language of the report: {' or '.join(LANGUAGES)} (default Italian)",
        )
        parser.add_argument("--company-name", dest="company_name", default="",
                            help="the company's name, at the head of the report")  # fmt: skip
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=field",
            help="read COLUMN as FIELD in both files (repeatable)",
        )
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            analysis, output, language = self._analyse(options)
            if output is not None:
                self._write(analysis, output, language, options)
        except InputError as exc:
            self._fail(exc, options)
            sys.exit(2)
        if options["json"]:
            self.stdout.write(json.dumps(analysis.as_json()))
            return
        self.stdout.write(summary(analysis))
        if output is not None:
            self.stdout.write(f"report written to {output}")

    def _analyse(self, options: dict[str, Any]) -> tuple[Analysis, Path | None, str]:
        language = options["language"] or settings.LANGUAGE_CODE.split("-")[0]
        if language not in LANGUAGES:
            raise InputError(f"invalid --language {language!r}: use it or en")
        output = Path(options["output"]) if options["output"] else None
        if output is not None and output.suffix.lower() not in FORMATS:
            raise InputError(f"invalid --output {str(output)!r}: name a .html or .pdf file")
        as_of = parse_day(options["as_of"]) if options["as_of"] else dt.date.today()
        turnover = parse_turnover(options["turnover"]) if options["turnover"] else None
        count = parse_count(options["invoice_count"]) if options["invoice_count"] else None
        mapping = parse_mapping(options["map"])
        overdue, errors = read_file(
            Path(options["overdue"]), mapping=mapping, require_due_date=True
        )
        invoiced, more = read_file(
            Path(options["invoiced"]), mapping=mapping, require_due_date=False
        )
        errors += more
        if errors:
            rows = len({(e.file, e.error.row) for e in errors})
            raise InputError(
                f"{len(errors)} problem(s) in {rows} row(s): nothing analysed, fix the files "
                "and run again",
                errors,
            )
        analysis = analyze(overdue, invoiced, as_of=as_of, turnover=turnover, invoice_count=count)
        return analysis, output, language

    def _write(
        self, analysis: Analysis, output: Path, language: str, options: dict[str, Any]
    ) -> None:
        from incassa.credit.report import render_html, render_pdf

        sources = [Path(options["overdue"]).name, Path(options["invoiced"]).name]
        kind = FORMATS[output.suffix.lower()]
        render = render_pdf if kind == "pdf" else render_html
        content = render(
            analysis, language=language, company_name=options["company_name"], sources=sources
        )
        try:
            if isinstance(content, bytes):
                output.write_bytes(content)
            else:
                output.write_text(content, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from exc

    def _fail(self, exc: InputError, options: dict[str, Any]) -> None:
        if options["json"]:
            payload = {
                "status": "rejected",
                "error": str(exc),
                "exit_code": 2,
                "errors": [e.as_dict() for e in exc.errors],
            }
            self.stdout.write(json.dumps(payload))
        self.stderr.write(f"error: {exc}")
        if not options["json"]:
            for error in exc.errors:
                self.stderr.write(f"  {error}")


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f} EUR"


def summary(analysis: Analysis) -> str:
    """A few lines for the console (in English, as the other commands' output)."""
    a = analysis
    concentration = a.concentration
    aging = ", ".join(
        f"{bucket.replace('_', '-').replace('over-', 'over ')} {a.aging[bucket]:,.2f}"
        for bucket in kpi.AGING_BUCKETS
        if bucket != "not_due" or a.has_not_due
    )
    lines = [
        f"Credit analysis as of {a.as_of:%d/%m/%Y}:",
        f"  overdue {_money(a.overdue_amount)} in {a.overdue_items} items of "
        f"{a.overdue_customers} customers"
        + (f" (open {_money(a.open_amount)})" if a.has_not_due else ""),
        f"  aging: {aging}",
    ]
    if concentration.debtors:
        top = min(len(concentration.top), concentration.debtors)
        held = sum((d.amount for d in concentration.top), Decimal(0)) * 100 / concentration.total
        lines.append(
            f"  concentration: the top {top} of {concentration.debtors} debtors hold "
            f"{held:.2f}%; {concentration.debtors_for_80} hold 80%"
        )
    if a.average_days_late is not None:
        lines.append(f"  average days late {a.average_days_late} (weighted by amount)")
    if a.dso is not None:
        basis = "turnover / 365" if a.sales_basis == "turnover" else "invoices / days covered"
        lines.append(f"  DSO {a.dso} days ({basis}; daily sales {_money(a.daily_sales)})")
    if a.late_share is not None:
        lines.append(f"  late share of turnover {a.late_share}% (overdue / invoiced in the period)")
    if a.average_invoice is not None:
        lines.append(f"  average invoice {_money(a.average_invoice)}")
    estimate = a.reminder
    line = f"  estimate, structured reminder process: {_money(estimate.cash_released)} paid earlier"
    if estimate.dso_reduction is not None:
        line += f", DSO {estimate.dso_before} -> {estimate.dso_after} days"
    lines.append(line)
    return "\n".join(lines)
