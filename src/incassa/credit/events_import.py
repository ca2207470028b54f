"""Importing credit events (protests, insolvency proceedings, balance sheets, ratings) from a
CSV or spreadsheet file, such as an information provider's export.

The file has one event per row::

    Codice cliente;Tipo;Data;Penalità;Rating;Descrizione
    00045;protesto;31/03/2026;;;Protesto cambiario di 5.000 €
    00046;rating;2026-03-31;40;B-;Rating CRIF

Columns (headers in Italian or English, recognised whatever their case and accents):

- customer code (``Codice cliente``, ``Customer code``... as the receivables import);
- kind (``Tipo``, ``Evento``, ``Kind``): protest / protesto, insolvency / insolvenza /
  procedura concorsuale / fallimento, balance_sheet / bilancio, rating, other / altro;
- date (``Data``, ``Data evento``, ``Date``): ``31/03/2026``, ``2026-03-31`` or a spreadsheet
  date;
- optional: penalty (``Penalità``, ``Penalty``, a whole number 0-100; empty: the kind's
  default), rating (``Rating``), description (``Descrizione``, ``Note``), source (``Fonte``).

All or nothing: the file is read and every row checked first (``read_events``, pure: no
database), then the customers are looked up; if any row is bad nothing is written and every
problem is reported with its row, column, value and reason. Otherwise the events are created
in one bulk insert. Events already recorded (same customer, kind, date, penalty, rating and
description) are not recorded twice, so that importing a file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from incassa.core.users import recorded_user
from incassa.ledger import parsing
from incassa.ledger.parsing import ParseError, RowError

__all__ = [
    "EventRow",
    "EventsFile",
    "EventsImportRejected",
    "EventsImportResult",
    "credit_events_import",
    "parse_kind",
    "read_events",
]

HEADER_SEARCH_ROWS = 50
MAX_REPORTED_ERRORS = 1000
_DELIMITERS = (";", ",", "\t", "|")

REQUIRED = ("customer_code", "kind", "on_date")
FIELD_LABELS = {
    "customer_code": "Codice cliente",
    "kind": "Tipo",
    "on_date": "Data",
    "penalty": "Penalità",
    "rating": "Rating",
    "description": "Descrizione",
    "source": "Fonte",
}
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "kind": (
        "Tipo", "Tipo evento", "Evento", "Tipologia", "Tipologia evento", "Kind", "Type",
        "Event", "Event type", "Event kind",
    ),
    "on_date": (
        "Data", "Data evento", "Data dell'evento", "Il", "Date", "Event date", "On date",
        "On",
    ),
    "penalty": ("Penalità", "Penalita", "Penalizzazione", "Peso", "Penalty", "Weight"),
    "rating": ("Rating", "Classe di rating", "Classe rating", "Giudizio", "Score class"),
    "description": (
        "Descrizione", "Note", "Nota", "Dettagli", "Description", "Notes", "Details",
    ),
    "source": ("Fonte", "Provider", "Fornitore", "Source"),
}  # fmt: skip
_HEADER_INDEX = {
    parsing._normalise_header(name): name_field
    for name_field, names in _HEADER_NAMES.items()
    for name in names
}

# The kinds of event, by the words an Italian or English file may use (normalised as headers
# are: lowercase, no accents, punctuation as spaces).
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "protest": ("protest", "protests", "protesto", "protesti", "protest protesto"),
    "insolvency": (
        "insolvency", "insolvency proceeding", "insolvenza", "procedura concorsuale",
        "procedure concorsuali", "fallimento", "liquidazione giudiziale", "bankruptcy",
    ),
    "balance_sheet": (
        "balance sheet", "new balance sheet", "bilancio", "nuovo bilancio", "bilancio depositato",
    ),
    "rating": ("rating", "rating from an information provider"),
    "other": ("other", "altro", "altri", "altre"),
}  # fmt: skip
_KIND_INDEX = {
    parsing._normalise_header(word): kind for kind, words in _KIND_WORDS.items() for word in words
}

# The longest text each column may hold (the model's).
_MAX_LENGTHS = {"customer_code": 60, "rating": 20, "description": 300, "source": 100}


def parse_kind(value: str) -> str | None:
    """The event kind a file's word stands for (``"Procedura concorsuale"`` ->
    ``"insolvency"``), or None when it is not one."""
    return _KIND_INDEX.get(parsing._normalise_header(value))


def _field_of(header: str) -> str | None:
    key = parsing._normalise_header(header)
    if not key:
        return None
    found = _HEADER_INDEX.get(key)
    if found is None and parsing.match_header(header) == "customer_code":
        found = "customer_code"
    return found


def _resolve_columns(headers: list[str]) -> dict[str, int]:
    """Field -> column index; the first column wins when two name the same field."""
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = _field_of(header)
        if name and name not in columns:
            columns[name] = index
    return columns


# --------------------------------------------------------------------------------------------
# Reading (pure: no database)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    """One valid row of the file; ``penalty`` is None when the file leaves it empty."""

    row: int
    customer_code: str
    kind: str
    on_date: dt.date
    penalty: int | None
    rating: str
    description: str
    source: str


@dataclass
class EventsFile:
    """The valid rows, every problem, and what was understood of the file."""

    rows: list[EventRow]
    errors: list[RowError]
    # (row, customer code) of every row that names one, bad rows included, so that an unknown
    # customer is reported together with the row's other problems.
    codes: list[tuple[int, str]]
    columns: dict[str, str]  # header in the file -> field
    header_row: int
    rows_read: int
    rows_ignored: int
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None

    def header_of(self, name: str) -> str:
        for header, field_name in self.columns.items():
            if field_name == name:
                return header
        return FIELD_LABELS[name]


@dataclass
class _Table:
    headers: list[str]
    header_row: int
    body: list[tuple[int, list[str | None]]]  # (row number as the user sees it, cells)
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None


def read_events(path: str | os.PathLike[str], *, max_bytes: int | None = None) -> EventsFile:
    """Read and check a credit-events file (CSV, XLSX, XLS or ODS).

    Whole-file problems raise ``ParseError`` (one line for the user); problems in single rows
    are collected in ``errors`` so that one bad row never hides the others. Customers are not
    looked up here: that needs the database (see ``credit_events_import``).
    """
    try:
        size = os.stat(path).st_size
        if max_bytes is not None and size > max_bytes:
            raise ParseError(
                f"the file is too large: {parsing._size(size)}, "
                f"the limit is {parsing._size(max_bytes)}"
            )
        with open(path, "rb") as handle:
            data = handle.read()
    except ParseError:
        raise
    except OSError as exc:
        raise ParseError(f"the file cannot be read ({exc.strerror or exc})") from exc
    if not data or data.isspace():
        raise ParseError("the file is empty")
    kind = parsing._detect_format(data)
    table = _read_csv(data) if kind == "csv" else _read_spreadsheet(data, kind)
    return _validate(table)


def _no_header_error() -> ParseError:
    return ParseError(
        f"no header row found in the first {HEADER_SEARCH_ROWS} rows: expected the columns "
        "Codice cliente, Tipo and Data (and optionally Penalità, Rating, Descrizione)"
    )


def _header_score(cells: list[str]) -> int:
    """How many fields a candidate header row names (0 unless it names the customer code and
    at least one other field)."""
    columns = _resolve_columns(cells)
    if "customer_code" in columns and len(columns) >= 2:
        return len(columns)
    return 0


def _csv_text(data: bytes) -> tuple[str, str]:
    text_bytes, encoding = parsing._to_utf8(data, None)
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        text_bytes, encoding = parsing._to_utf8(data, "cp1252")
        text = text_bytes.decode("utf-8")
    if "\n" not in text and "\r" in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    return text, encoding


def _records(text: str, delimiter: str) -> Iterable[tuple[int, list[str]]]:
    """(first line of the record, cells): a quoted cell may span lines."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    for cells in reader:
        yield previous + 1, cells
        previous = reader.line_num


def _read_csv(data: bytes) -> _Table:
    text, encoding = _csv_text(data)
    if not text.strip():
        raise ParseError("the file is empty")
    controls = sum(1 for ch in text[:4096] if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > max(2, len(text[:4096]) // 100):
        raise ParseError("the file is not a CSV or spreadsheet file (it contains binary data)")
    best: tuple[int, int, str, int] | None = None  # score, -order, delimiter, record index
    for order, delimiter in enumerate(_DELIMITERS):
        try:
            for index, (_line, cells) in enumerate(_records(text, delimiter)):
                if index >= HEADER_SEARCH_ROWS:
                    break
                score = _header_score([c.strip() for c in cells])
                if score:
                    if best is None or (score, -order) > best[:2]:
                        best = (score, -order, delimiter, index)
                    break
        except csv.Error:
            continue
    if best is None:
        raise _no_header_error()
    _, _, delimiter, header_index = best
    try:
        records = list(_records(text, delimiter))
    except csv.Error as exc:
        raise ParseError(
            "the CSV file could not be read: a quoted field is not closed properly"
        ) from exc
    header_line, header_cells = records[header_index]
    body = [
        (line, [c.strip() or None for c in cells]) for line, cells in records[header_index + 1 :]
    ]
    return _Table(
        headers=[c.strip() for c in header_cells],
        header_row=header_line,
        body=body,
        file_format="csv",
        encoding=encoding,
        delimiter=delimiter,
    )


def _read_spreadsheet(data: bytes, kind: str) -> _Table:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises several unrelated types
        raise ParseError(
            f"the {kind.upper()} spreadsheet could not be read (damaged or password-protected?)"
        ) from exc
    texts = [[parsing._cell_text(c) for c in row] for row in rows]
    if not any(any(c is not None for c in row) for row in texts):
        raise ParseError("the file is empty")
    for index, row in enumerate(texts[:HEADER_SEARCH_ROWS]):
        if _header_score([c or "" for c in row]):
            return _Table(
                headers=[c or "" for c in row],
                header_row=index + 1,
                body=[(index + 2 + n, cells) for n, cells in enumerate(texts[index + 1 :])],
                file_format=kind,
            )
    raise _no_header_error()


def _penalty(value: str) -> tuple[int | None, str | None]:
    """(penalty, None) or (None, the reason it is not one)."""
    text = value.replace("\u00a0", "").replace(" ", "").replace("%", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None, "invalid penalty: a whole number from 0 to 100"
    if not number.is_finite() or number != number.to_integral_value():
        return None, "invalid penalty: a whole number from 0 to 100"
    if number < 0 or number > 100:
        return None, "penalty out of range: it must be from 0 to 100"
    return int(number), None


def _validate(table: _Table) -> EventsFile:
    columns = _resolve_columns(table.headers)
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        found = ", ".join(h for h in table.headers if h) or "(none)"
        raise ParseError(
            "the file lacks the column(s) "
            + ", ".join(FIELD_LABELS[name] for name in missing)
            + f" (columns found: {found})"
        )
    header_of = {name: table.headers[index] for name, index in columns.items()}

    def cell(cells: list[str | None], name: str) -> str | None:
        index = columns.get(name)
        if index is None or index >= len(cells):
            return None
        value = cells[index]
        return (value.strip() or None) if value is not None else None

    data_rows = [(row, cells) for row, cells in table.body if any(c for c in cells)]
    ignored = len(table.body) - len(data_rows)
    if not data_rows:
        where = "line" if table.file_format == "csv" else "row"
        raise ParseError(f"the file has no data rows below the header ({where} {table.header_row})")

    # Dates: parsed once per distinct text, as the receivables import does.
    raw_dates = sorted({d for _, cells in data_rows if (d := cell(cells, "on_date"))})
    parsed_dates = dict(
        zip(raw_dates, parsing.parse_dates(pl.Series("d", raw_dates, dtype=pl.String)), strict=True)
    )

    rows: list[EventRow] = []
    errors: list[RowError] = []
    codes: list[tuple[int, str]] = []
    seen: dict[tuple, int] = {}
    problems: list[RowError] = []
    for row, cells in data_rows:
        problems.clear()

        def problem(name: str, value: str | None, reason: str, row: int = row) -> None:
            problems.append(RowError(row, header_of.get(name, ""), value or "", reason))

        code = cell(cells, "customer_code")
        if code is None:
            problem("customer_code", None, "missing customer code")
        elif len(code) <= _MAX_LENGTHS["customer_code"]:
            codes.append((row, code))
        kind_text = cell(cells, "kind")
        kind = parse_kind(kind_text) if kind_text else None
        if kind_text is None:
            problem("kind", None, "missing kind")
        elif kind is None:
            problem(
                "kind",
                kind_text,
                "unknown kind: use protest (protesto), insolvency (procedura concorsuale), "
                "balance_sheet (bilancio), rating or other (altro)",
            )
        date_text = cell(cells, "on_date")
        on_date = parsed_dates.get(date_text) if date_text else None
        if date_text is None:
            problem("on_date", None, "missing date")
        elif on_date is None:
            problem("on_date", date_text, "invalid date: use 31/03/2026 or 2026-03-31")
        penalty_text = cell(cells, "penalty")
        penalty = None
        if penalty_text is not None:
            penalty, reason = _penalty(penalty_text)
            if reason:
                problem("penalty", penalty_text, reason)
        texts = {name: cell(cells, name) or "" for name in ("rating", "description", "source")}
        for name, limit in _MAX_LENGTHS.items():
            value = code if name == "customer_code" else texts.get(name)
            if value and len(value) > limit:
                problem(name, value, f"longer than {limit} characters")
        if not problems:
            assert code is not None and kind is not None and on_date is not None
            key = (code, kind, on_date, penalty, texts["rating"], texts["description"])
            if key in seen:
                problem("", None, f"duplicate of row {seen[key]} (the same event)")
            else:
                seen[key] = row
        if problems:
            errors.extend(problems)
            continue
        rows.append(EventRow(row, code, kind, on_date, penalty, **texts))  # type: ignore[arg-type]
    position = {header_of[name]: index for name, index in columns.items()}
    errors.sort(key=lambda e: (e.row, position.get(e.column, len(table.headers))))
    return EventsFile(
        rows=rows,
        errors=errors,
        codes=codes,
        columns={header_of[name]: name for name in sorted(columns, key=columns.get)},
        header_row=table.header_row,
        rows_read=len(data_rows),
        rows_ignored=ignored,
        file_format=table.file_format,
        encoding=table.encoding,
        delimiter=table.delimiter,
    )


# --------------------------------------------------------------------------------------------
# The import
# --------------------------------------------------------------------------------------------


class EventsImportRejected(Exception):
    """Nothing was imported: the file is unreadable or has bad rows (``errors``)."""

    exit_code = 2

    def __init__(self, message: str, errors: Iterable[RowError] = ()) -> None:
        super().__init__(message)
        self.errors: list[RowError] = list(errors)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "rejected",
            "error": str(self),
            "exit_code": self.exit_code,
            "errors_total": len(self.errors),
            "errors": [
                {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
                for e in self.errors[:MAX_REPORTED_ERRORS]
            ],
        }


@dataclass
class EventsImportResult:
    file_name: str
    rows_read: int
    created: int
    already_recorded: int
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "applied",
            "file": self.file_name,
            "rows_read": self.rows_read,
            "created": self.created,
            "already_recorded": self.already_recorded,
            "by_kind": self.by_kind,
        }


def credit_events_import(*, company: Any, path: str | Path, user: Any = None) -> EventsImportResult:
    """Record the credit events of a file for ``company``'s customers, all or nothing.

    Raises ``EventsImportRejected`` (nothing written) when the file cannot be read or any row
    is bad: an unknown customer, kind or date, a penalty outside 0-100, a text too long.
    """
    from django.conf import settings
    from django.db import transaction

    from incassa.credit.models import DEFAULT_PENALTY, CreditEvent
    from incassa.ledger.models import Customer

    path = Path(path)
    try:
        parsed = read_events(path, max_bytes=getattr(settings, "INCASSA_MAX_UPLOAD_BYTES", None))
    except ParseError as exc:
        raise EventsImportRejected(str(exc)) from exc

    codes = sorted({code for _, code in parsed.codes})
    customers: dict[str, int] = {}
    for start in range(0, len(codes), 500):
        customers.update(
            Customer.objects.filter(company=company, code__in=codes[start : start + 500])
            .values_list("code", "id")
        )  # fmt: skip
    errors = list(parsed.errors)
    column = parsed.header_of("customer_code")
    for row, code in parsed.codes:
        if code not in customers:
            errors.append(RowError(row, column, code, "unknown customer"))
    if errors:
        order = {header: index for index, header in enumerate(parsed.columns)}
        errors.sort(key=lambda e: (e.row, order.get(e.column, len(order))))
        rows = len({e.row for e in errors})
        raise EventsImportRejected(
            f"{len(errors)} problem(s) in {rows} row(s) of {path.name}: nothing was imported",
            errors,
        )

    source = f"import {path.name}"[:100]
    created_by = recorded_user(user)
    events = [
        CreditEvent(
            customer_id=customers[r.customer_code],
            kind=r.kind,
            on_date=r.on_date,
            penalty=DEFAULT_PENALTY[r.kind] if r.penalty is None else r.penalty,
            rating=r.rating,
            description=r.description,
            source=r.source or source,
            created_by=created_by,
        )
        for r in parsed.rows
    ]
    with transaction.atomic():
        existing = set(
            CreditEvent.objects.filter(customer_id__in=set(customers.values())).values_list(
                "customer_id", "kind", "on_date", "penalty", "rating", "description"
            )
        )
        new = [
            e
            for e in events
            if (e.customer_id, e.kind, e.on_date, e.penalty, e.rating, e.description)
            not in existing
        ]
        CreditEvent.objects.bulk_create(new, batch_size=1000)
    return EventsImportResult(
        file_name=path.name,
        rows_read=parsed.rows_read,
        created=len(new),
        already_recorded=len(events) - len(new),
        by_kind=dict(sorted(Counter(e.kind for e in new).items())),
    )
