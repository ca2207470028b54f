"""Reading bank statements exported as CSV from Italian home banking.

Many small companies cannot get camt.053 or MT940 from their bank, but every home banking
exports the list of movements as CSV ("Esporta movimenti"). Those files have no standard: each
bank names its columns its own way, writes a few lines about the account above the header and
a balance or two below the movements, uses ``;`` and ``1.234,56`` or ``,`` and ``1,234.56``,
and shows money either as one signed column or as a pair of columns (*Dare*/*Avere*,
*Uscite*/*Entrate*, *Addebiti*/*Accrediti*).

This module turns such a file into the same ``Statement`` the camt and MT940 readers produce
(format ``csv``, no balances), reusing the receivables reader's helpers for encodings, amounts
and dates. Columns are recognised by their header; a mapping (file header -> field) overrides
the recognition for files it does not know. Whole-file problems raise ``StatementError``; a
row that cannot be read becomes a ``RowError`` and the other rows are still read, so that the
caller can show every problem at once and decide whether the file is accepted.

Pure logic, no database.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import polars as pl
from stdnum import iban as stdnum_iban

from incassa.ledger.parsing import (
    ParseError,
    RowError,
    _amount_clean,
    _amount_columns,
    _amount_reason,
    _to_utf8,
    decide_convention,
    parse_amounts,
    parse_dates,
)
from incassa.payments.statements import (
    MAX_BYTES,
    MAX_ENTRIES,
    Entry,
    Statement,
    StatementError,
    _with_keys,
)

__all__ = [
    "CSV_FIELDS",
    "CsvStatementResult",
    "match_csv_header",
    "read_csv_statement",
]

CSV_FORMAT = "csv"

CSV_FIELDS: tuple[str, ...] = (
    "booking_date",
    "value_date",
    "amount",
    "credit_amount",
    "debit_amount",
    "currency",
    "counterparty_name",
    "counterparty_iban",
    "remittance",
    "bank_reference",
    "transaction_code",
    "account_iban",
)
"""The fields a column of a bank CSV can be mapped to.

``booking_date`` is required, and so is the money: either ``amount`` (signed, positive for a
credit) or ``credit_amount`` and/or ``debit_amount`` (one column per direction).
"""

HEADER_SEARCH_LINES = 30
"""The header is looked for among the file's first rows: banks write account lines above it."""

_IGNORE = "ignore"
_AMOUNT_FIELDS = frozenset({"amount", "credit_amount", "debit_amount"})
_MULTI_COLUMN = frozenset({"remittance"})
"""Fields several columns may feed: their texts are joined (short and extended description)."""
_DELIMITERS = (";", ",", "\t")

# Known headers per field, best first: when two columns name the same field, the one listed
# earlier wins ("Data contabile" is the booking date even when "Data operazione" is present).
_CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "booking_date": (
        "Data contabile", "Data contabilizzazione", "Data registrazione", "Data cont.",
        "Data reg.", "Booking date", "Posting date", "Entry date", "Data operazione",
        "Data op.", "Data movimento", "Data mov.", "Transaction date", "Data", "Date",
    ),
    "value_date": ("Data valuta", "Data val.", "Value date", "Valuta"),
    "amount": (
        "Importo", "Importo operazione", "Importo movimento", "Importo in divisa conto",
        "Amount", "Signed amount", "Transaction amount",
    ),
    "credit_amount": (
        "Avere", "Entrate", "Accrediti", "Accredito", "Importo avere", "Importo entrate",
        "Credit", "Credits", "Credit amount", "Money in", "Paid in",
    ),
    "debit_amount": (
        "Dare", "Uscite", "Addebiti", "Addebito", "Importo dare", "Importo uscite",
        "Debit", "Debits", "Debit amount", "Money out", "Paid out",
    ),
    "currency": ("Divisa", "Currency", "Ccy"),
    "counterparty_name": (
        "Ordinante", "Beneficiario/Ordinante", "Ordinante/Beneficiario", "Controparte",
        "Nome controparte", "Nome ordinante", "Nome", "Beneficiario", "Payer", "Payer name",
        "Counterparty", "Counterparty name", "Payee", "Name",
    ),
    "counterparty_iban": (
        "IBAN ordinante", "IBAN controparte", "IBAN beneficiario", "Payer IBAN",
        "Counterparty IBAN", "Payee IBAN",
    ),
    "remittance": (
        "Descrizione", "Causale", "Descrizione operazione", "Descrizione estesa",
        "Descrizione completa", "Causale operazione", "Dettagli", "Dettaglio", "Operazione",
        "Informazioni", "Remittance", "Remittance information", "Description", "Details",
        "Narrative", "Memo",
    ),
    "bank_reference": (
        "Riferimento", "Rif. operazione", "ID operazione", "Identificativo operazione",
        "Numero operazione", "CRO", "TRN", "Reference", "Bank reference", "Transaction ID",
    ),
    "transaction_code": (
        "Causale ABI", "Codice causale", "Cod. causale", "Causale CBI", "Transaction code",
    ),
    "account_iban": ("IBAN conto", "Conto", "Conto corrente", "Account IBAN", "Account"),
}  # fmt: skip

_LABELS = {
    "booking_date": "the booking date (e.g. Data contabile, Data operazione, Booking date)",
    "amount": "the amount (e.g. Importo, or Dare and Avere; Amount, or Debit and Credit)",
}

# Lines that are never movements: balances, whatever else the line says.
_BALANCE_LINE = re.compile(
    r"^(?:saldo\s+(?:contabile|disponibile|iniziale|finale|liquido|precedente|attuale)"
    r"|(?:opening|closing|available|ledger|final|starting|ending|current)\s+balance)\b",
    re.IGNORECASE,
)
# Lines that are not movements when their booking date is not a date: totals and balances
# ("Saldo al 31/03/2026", "Totale movimenti"); with a date "saldo fattura 12" is a payment.
_SUMMARY_LINE = re.compile(r"^(?:saldo|tot(?:ale|ali|\.)?|totals?|balance)\b", re.IGNORECASE)
_TIME_SUFFIX = re.compile(r"\s+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_CURRENCY_LIKE = re.compile(r"^(?:[A-Za-z]{3}|€)$")


class _RowProblems:
    """The problems of one row, each addressed to the column of a field (or named columns)."""

    def __init__(self, row: int, header_of: dict[str, str]) -> None:
        self.row = row
        self.header_of = header_of
        self.errors: list[RowError] = []

    def __call__(self, target: str, raw: str, reason: str, *, column: str | None = None) -> None:
        header = self.header_of.get(target, "") if column is None else column
        self.errors.append(RowError(self.row, header, raw, reason))


@dataclass
class CsvStatementResult:
    """What was read of a CSV statement: the valid entries, every rejected row, the layout."""

    statement: Statement | None
    """Format ``csv``, no balances, the valid entries in file order; None when none is valid."""
    errors: list[RowError]
    """Every rejected row: spreadsheet row number, column header, raw value, reason."""
    columns: dict[str, str]
    """File header -> field, as understood (mapping and recognition)."""
    headers: list[str]
    unmapped: list[str]
    """Headers read as no field."""
    header_row: int = 0
    """The header's row as a spreadsheet shows the file (1 when it is the first line)."""
    delimiter: str = ""
    encoding: str = ""
    convention: str = ""
    """``it`` (``1.234,56``) or ``en`` (``1,234.56``): how the file writes its amounts."""
    rows_skipped: int = 0
    """Data rows read as no entry and no error: zero amounts."""


# --------------------------------------------------------------------------------------------
# Headers


def _normalise(header: str) -> str:
    """Lowercase, accents stripped, anything but letters and digits a space."""
    text = unicodedata.normalize("NFKD", str(header))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def _strip_currency(key: str) -> str:
    """``importo eur``, ``importo in euro`` -> ``importo`` (``Importo (€)`` lost the € already)."""
    return re.sub(r"(?:^| )(?:in )?(?:eur|euro)$", "", key).strip()


_INDEX: dict[str, tuple[str, int]] = {}
for _field, _names in _CSV_HEADERS.items():
    for _rank, _name in enumerate(_names):
        _INDEX.setdefault(_normalise(_name), (_field, _rank))
del _field, _names, _rank, _name


def _match(header: str) -> tuple[str, int] | None:
    key = _normalise(header)
    if not key:
        return None
    return _INDEX.get(key) or _INDEX.get(_strip_currency(key))


def match_csv_header(header: str) -> str | None:
    """The field a bank export's column header stands for, or None when it is not known.

    Case, accents, punctuation and a trailing currency are ignored: ``DATA CONTABILE``,
    ``data_contabile`` and ``Data contabile:`` are one header, ``Importo (€)``, ``Importo EUR``
    and ``Importo`` another.
    """
    found = _match(header)
    return found[0] if found else None


def _check_mapping(mapping: Mapping[str, str] | None) -> dict[str, str | None]:
    """The user's mapping keyed by trimmed casefolded header; None marks an ignored column."""
    result: dict[str, str | None] = {}
    for header, target in (mapping or {}).items():
        name = str(target or "").strip().lower()
        if name in ("", _IGNORE):
            result[str(header).strip().casefold()] = None
            continue
        if name not in CSV_FIELDS:
            raise StatementError(
                f"unknown field {target!r} in the mapping for column {header!r}: "
                f"the fields are {', '.join(CSV_FIELDS)} (or {_IGNORE!r})"
            )
        result[str(header).strip().casefold()] = name
    return result


def _resolve(headers: list[str], mapping: dict[str, str | None]) -> dict[int, str]:
    """Column index -> field: the user's mapping first, then recognition of the rest.

    A field the mapping assigns is not also recognised elsewhere; a signed amount and a
    credit/debit pair exclude each other (a recognised signed amount wins over a recognised
    pair). Among recognised columns of one field the best-ranked header wins, except for the
    remittance, which takes every description column.
    """
    assigned: dict[int, str] = {}
    for index, header in enumerate(headers):
        target = mapping.get(header.strip().casefold())
        if target:
            assigned[index] = target
    blocked = set(assigned.values())
    if blocked & {"credit_amount", "debit_amount"}:
        blocked.add("amount")
    if "amount" in blocked:
        blocked |= {"credit_amount", "debit_amount"}
    candidates: dict[str, list[tuple[int, int]]] = {}
    for index, header in enumerate(headers):
        if header.strip().casefold() in mapping:
            continue
        found = _match(header)
        if found and found[0] not in blocked:
            candidates.setdefault(found[0], []).append((found[1], index))
    if "amount" in candidates:
        candidates.pop("credit_amount", None)
        candidates.pop("debit_amount", None)
    for name, found in candidates.items():
        if name in _MULTI_COLUMN:
            assigned.update((index, name) for _rank, index in found)
        else:
            assigned[min(found)[1]] = name
    return dict(sorted(assigned.items()))


def _complete(fields: set[str]) -> bool:
    return "booking_date" in fields and bool(fields & _AMOUNT_FIELDS)


# --------------------------------------------------------------------------------------------
# Reading the file


def _decode(name: str, data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (with or without BOM), UTF-16, else Windows-1252."""
    head = data[:8].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(b"PK\x03\x04"):
        raise StatementError(
            f"{name}: the file is a spreadsheet (XLSX) or a ZIP archive, not a CSV file; "
            "export the movements as CSV, or save the spreadsheet as CSV"
        )
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise StatementError(
            f"{name}: the file is an Excel 97-2003 (XLS) spreadsheet, not a CSV file; "
            "export the movements as CSV, or save the spreadsheet as CSV"
        )
    if head.startswith(b"%PDF"):
        raise StatementError(
            f"{name}: the file is a PDF document, not a CSV file; "
            "export the movements as CSV from the home banking"
        )
    if head.startswith(b"<"):
        raise StatementError(
            f"{name}: the file is XML or HTML, not CSV; a camt.053 or camt.054 statement is "
            "read as such (read_statement), a web page export must be saved as CSV first"
        )
    try:
        body, encoding = _to_utf8(data, None)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:  # valid UTF-8 at the top only: the rest says otherwise
            body, encoding = _to_utf8(data, "cp1252")
            text = body.decode("utf-8")
    except ParseError as exc:
        raise StatementError(f"{name}: {exc}") from None
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > max(2, len(sample) // 100):
        raise StatementError(f"{name}: the file is not a CSV file (it contains binary data)")
    if not text.strip():
        raise StatementError(f"{name}: the file is empty")
    if re.match(r"\s*(?:\{1:|:20:)", text):
        raise StatementError(
            f"{name}: the file is an MT940 statement, not a CSV export; "
            "it is read as such (read_statement)"
        )
    return text, encoding


def _records(text: str, delimiter: str, limit: int | None = None) -> list[list[str]]:
    """The first records as trimmed cells (a quoted field may span lines: one record)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for cells in reader:
            records.append([c.strip() for c in cells])
            if limit is not None and len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def _find_header(text: str, mapping: dict[str, str | None]) -> tuple[str, int, list[str]]:
    """Delimiter, header index (0-based record) and header cells.

    The header is the first row, among the first ``HEADER_SEARCH_LINES``, naming a booking
    date and an amount; of the delimiters the one whose header names the most fields wins.
    When no row qualifies, the row the layout suggests is returned (the first one as wide as
    most rows) so that the error can name the file's headers.
    """
    heads = {d: _records(text, d, HEADER_SEARCH_LINES * 2) for d in _DELIMITERS}
    best: tuple[int, int, str, int, list[str]] | None = None
    for order, delimiter in enumerate(_DELIMITERS):
        for index, cells in enumerate(heads[delimiter][:HEADER_SEARCH_LINES]):
            fields = set(_resolve(cells, mapping).values())
            if _complete(fields):
                candidate = (len(fields), -order, delimiter, index, cells)
                if best is None or candidate[:2] > best[:2]:
                    best = candidate
                break
    if best is not None:
        return best[2], best[3], best[4]
    layout: tuple[int, int, int, str, int, list[str]] | None = None
    for order, delimiter in enumerate(_DELIMITERS):
        widths = Counter(len(cells) for cells in heads[delimiter] if len(cells) >= 2)
        if not widths:
            continue
        width, count = widths.most_common(1)[0]
        for index, cells in enumerate(heads[delimiter][:HEADER_SEARCH_LINES]):
            if len(cells) == width and sum(1 for c in cells if c) >= 2:
                candidate = (count, width, -order, delimiter, index, cells)
                if layout is None or candidate[:3] > layout[:3]:
                    layout = candidate
                break
    if layout is None:
        raise StatementError(
            "no header row in the first "
            f"{HEADER_SEARCH_LINES} lines: expected columns such as Data contabile, Importo "
            "(or Dare and Avere), Descrizione, separated by ';', ',' or tabs"
        )
    return layout[3], layout[4], layout[5]


def _settle_valuta(
    headers: list[str],
    assigned: dict[int, str],
    rows: list[tuple[int, list[str]]],
    mapping: dict[str, str | None],
) -> None:
    """A bare "Valuta" column is the value date in most exports and the currency in some
    (Intesa's "Valuta: EUR"): its contents decide, unless the mapping said."""
    for index, header in enumerate(headers):
        if _normalise(header) != "valuta" or header.strip().casefold() in mapping:
            continue
        values = [cells[index] for _row, cells in rows if cells[index]]
        if values and all(_CURRENCY_LIKE.match(v) for v in values):
            assigned.pop(index, None)
            if "currency" not in assigned.values():
                assigned[index] = "currency"


def _require(name: str, fields: set[str], headers: list[str]) -> None:
    missing = []
    if "booking_date" not in fields:
        missing.append(f"no column for {_LABELS['booking_date']}")
    if not fields & _AMOUNT_FIELDS:
        missing.append(f"no column for {_LABELS['amount']}")
    if missing:
        shown = ", ".join(h for h in headers if h) or "(none)"
        raise StatementError(
            f"{name}: {'; '.join(missing)}; the headers are: {shown}; "
            "say which column holds what with a column mapping"
        )


def _check_single(name: str, assigned: dict[int, str], headers: list[str]) -> None:
    """The mapping gave one field to two columns, or a signed amount and a pair at once."""
    by_field: dict[str, list[str]] = {}
    for index, target in assigned.items():
        by_field.setdefault(target, []).append(headers[index])
    for target, columns in by_field.items():
        if len(columns) > 1 and target not in _MULTI_COLUMN:
            raise StatementError(
                f"{name}: the columns {', '.join(columns)} are all mapped to {target}; "
                "map one column to each field (only remittance takes several)"
            )
    if "amount" in by_field and by_field.keys() & {"credit_amount", "debit_amount"}:
        raise StatementError(
            f"{name}: map either a signed amount column or credit/debit columns, not both"
        )


# --------------------------------------------------------------------------------------------
# Values


def _dates(values: list[str]) -> list:
    """Dates (None where empty or unreadable); a time after the date is ignored."""
    distinct = list(dict.fromkeys(values))  # a statement holds a few hundred distinct dates
    cleaned = [_TIME_SUFFIX.sub("", v) for v in distinct]
    parsed = parse_dates(pl.Series("d", cleaned, dtype=pl.String)).to_list()
    by_text = dict(zip(distinct, parsed, strict=True))
    return [by_text[v] for v in values]


def _amount_reasons(values: list[str], convention: str) -> list[str]:
    """Why each value is not an amount, in the receivables reader's words."""
    frame = pl.DataFrame({"raw": values}, schema={"raw": pl.String}).lazy()
    frame = _amount_columns(
        frame.with_columns(_amount_clean(pl.col("raw")).alias("clean")), "clean", convention, "a"
    )
    reason = _amount_reason(pl.col("raw"), "clean", convention, "a").alias("reason")
    return frame.select(reason).collect().get_column("reason").to_list()


class _Amounts:
    """One amount column parsed: cents (None where empty or unreadable) and reasons."""

    def __init__(self, values: list[str], convention: str) -> None:
        series = pl.Series("a", values, dtype=pl.String)
        self.cents: list[int | None] = parse_amounts(series, convention)[0].to_list()
        bad = [
            i for i, (v, c) in enumerate(zip(values, self.cents, strict=True)) if v and c is None
        ]
        self.reasons: dict[int, str] = {}
        if bad:
            reasons = _amount_reasons([values[i] for i in bad], convention)
            self.reasons = dict(zip(bad, reasons, strict=True))


def _money(cents: int) -> Decimal:
    """Cents as a Decimal with two places: 122000 -> Decimal('1220.00')."""
    return Decimal(cents).scaleb(-2)


def _compact(text: str) -> str:
    return "".join(text.split()).upper()


def _join_texts(texts: list[str]) -> str:
    """Description columns joined, a text already contained in another left out."""
    parts: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if not text:
            continue
        folded = text.casefold()
        if any(folded in p.casefold() for p in parts):
            continue
        parts = [p for p in parts if p.casefold() not in folded]
        parts.append(text)
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Entry point


def read_csv_statement(
    name: str,
    data: bytes,
    *,
    mapping: Mapping[str, str] | None = None,
    account_iban: str = "",
    max_bytes: int = MAX_BYTES,
) -> CsvStatementResult:
    """Read a bank's CSV export of account movements.

    ``mapping`` maps a file header to one of ``CSV_FIELDS`` (``""`` or ``"ignore"`` to ignore
    the column) and takes precedence over header recognition. ``account_iban`` is the
    account the movements are of; without it the account is the single value of the column
    mapped to ``account_iban``, if any.

    Whole-file problems (too large, empty, not a CSV file, no booking date or amount column,
    several accounts in one file) raise ``StatementError``. Rows that cannot be read are
    reported in ``errors`` and left out; the other rows become entries. Whether errors reject
    the file is the caller's decision.
    """
    if len(data) > max_bytes:
        raise StatementError(
            f"{name}: the file is {len(data):,} bytes, more than the {max_bytes:,} accepted"
        )
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise StatementError(f"{name}: the file is empty")
    user_mapping = _check_mapping(mapping)
    text, encoding = _decode(name, data)
    try:
        delimiter, header_index, headers = _find_header(text, user_mapping)
    except StatementError as exc:
        raise StatementError(f"{name}: {exc}") from None
    header_row = header_index + 1

    records = _records_all(name, text, delimiter)
    width = len(headers)
    rows: list[tuple[int, list[str]]] = []
    for number, cells in enumerate(records[header_index + 1 :], header_row + 1):
        if not any(cells):
            continue  # blank line
        cells = (cells + [""] * width)[:width]
        rows.append((number, cells))

    assigned = _resolve(headers, user_mapping)
    mapped = {i: f for i, f in assigned.items() if headers[i].strip().casefold() in user_mapping}
    _check_single(name, mapped, headers)
    _settle_valuta(headers, assigned, rows, user_mapping)
    _require(name, set(assigned.values()), headers)
    column_of = {target: index for index, target in assigned.items()}
    header_of = {target: headers[index] for index, target in assigned.items()}

    def cells_of(target: str) -> list[str]:
        index = column_of.get(target)
        return [cells[index] if index is not None else "" for _row, cells in rows]

    # Balances and totals below (or above) the movements are not movements.
    booking_texts = cells_of("booking_date")
    booking = _dates(booking_texts)
    kept = [
        i
        for i, (_row, cells) in enumerate(rows)
        if not any(_BALANCE_LINE.match(c) for c in cells)
        and not (booking[i] is None and any(_SUMMARY_LINE.match(c) for c in cells))
    ]
    if len(kept) < len(rows):
        rows = [rows[i] for i in kept]
        booking_texts = [booking_texts[i] for i in kept]
        booking = [booking[i] for i in kept]
    if not rows:
        raise StatementError(f"{name}: no movements below the header (row {header_row})")
    if len(rows) > MAX_ENTRIES:
        raise StatementError(f"{name}: more than {MAX_ENTRIES:,} movements in one file")

    value_texts = cells_of("value_date")
    value = _dates(value_texts)
    money_fields = [f for f in ("amount", "credit_amount", "debit_amount") if f in column_of]
    money_texts = {f: cells_of(f) for f in money_fields}
    everything = [v for f in money_fields for v in money_texts[f] if v]
    convention = decide_convention(pl.Series("a", everything, dtype=pl.String))
    amounts = {f: _Amounts(money_texts[f], convention) for f in money_fields}
    currencies = cells_of("currency")
    names = cells_of("counterparty_name")
    ibans = cells_of("counterparty_iban")
    references = cells_of("bank_reference")
    codes = cells_of("transaction_code")
    remittance_columns = [i for i, f in assigned.items() if f == "remittance"]

    account = _account(name, account_iban, cells_of("account_iban"), header_of)

    errors: list[RowError] = []
    entries: list[Entry] = []
    skipped = 0
    for i, (row, cells) in enumerate(rows):
        problem = _RowProblems(row, header_of)

        if not booking_texts[i]:
            problem("booking_date", "", "missing booking date")
        elif booking[i] is None:
            problem("booking_date", booking_texts[i], f"invalid date ({booking_texts[i]})")
        if value_texts[i] and value[i] is None:
            problem("value_date", value_texts[i], f"invalid date ({value_texts[i]})")

        signed: int | None = None
        if "amount" in amounts:
            raw = money_texts["amount"][i]
            if not raw:
                problem("amount", "", "missing amount")
            elif (cents := amounts["amount"].cents[i]) is None:
                problem("amount", raw, amounts["amount"].reasons[i])
            else:
                signed = cents
        else:
            signed = _pair(i, money_texts, amounts, header_of, problem)

        currency = "EUR"
        if currencies[i]:
            currency = currencies[i].upper()
            if currency in ("€", "EURO"):
                currency = "EUR"
            if not _CURRENCY.match(currency):
                problem("currency", currencies[i], f"invalid currency ({currencies[i]})")

        if problem.errors or signed is None:
            errors.extend(problem.errors)
            continue
        if signed == 0:
            skipped += 1
            continue
        entries.append(
            Entry(
                booking_date=booking[i],
                value_date=value[i],
                amount=_money(abs(signed)),
                credit=signed > 0,
                currency=currency,
                counterparty_name=" ".join(names[i].split()),
                counterparty_iban=_compact(ibans[i]),
                remittance=_join_texts([cells[c] for c in remittance_columns]),
                bank_reference=references[i],
                transaction_code=codes[i],
            )
        )

    statement = None
    if entries:
        ccy = Counter(e.currency for e in entries).most_common(1)[0][0]
        statement = _with_keys(
            [
                Statement(
                    format=CSV_FORMAT,
                    statement_id="",
                    account_iban=account if stdnum_iban.is_valid(account) else "",
                    account_id=account,
                    currency=ccy,
                    opening_balance=None,
                    closing_balance=None,
                    entries=tuple(entries),
                )
            ]
        )[0]
    return CsvStatementResult(
        statement=statement,
        errors=errors,
        columns={headers[index]: target for index, target in assigned.items()},
        headers=headers,
        unmapped=[h for index, h in enumerate(headers) if h and index not in assigned],
        header_row=header_row,
        delimiter=delimiter,
        encoding=encoding,
        convention=convention,
        rows_skipped=skipped,
    )


def _records_all(name: str, text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for cells in reader:
            records.append([c.strip() for c in cells])
    except csv.Error as exc:
        raise StatementError(
            f"{name}: line {reader.line_num}: not well-formed CSV ({exc}); "
            "is a quoted field left open?"
        ) from None
    return records


def _account(name: str, given: str, values: list[str], header_of: dict[str, str]) -> str:
    """The account: the one given, else the account column's single value ("" without)."""
    found = sorted({_compact(v) for v in values if v})
    given = _compact(given)
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise StatementError(
            f"{name}: the column {header_of['account_iban']} holds {len(found)} accounts "
            f"({shown}); export the movements of one account per file"
        )
    if given and found and found[0] != given:
        raise StatementError(
            f"{name}: the movements are of account {found[0]}, not of {given}: "
            "is this the statement of another account?"
        )
    return given or (found[0] if found else "")


def _pair(
    i: int,
    money_texts: dict[str, list[str]],
    amounts: dict[str, _Amounts],
    header_of: dict[str, str],
    problem: _RowProblems,
) -> int | None:
    """The signed cents of a row with credit and/or debit columns, or None after a problem.

    Debits count as money out whether the bank writes them with a minus or not.
    """
    present = [f for f in ("credit_amount", "debit_amount") if f in amounts]
    raws = {f: money_texts[f][i] for f in present}
    if not any(raws.values()):
        if len(present) == 2:
            first, second = (header_of[f] for f in header_of if f in present)  # file order
            problem(
                present[0],
                "",
                f"no amount: both {first} and {second} are empty",
                column=f"{first} / {second}",
            )
        else:
            problem(present[0], "", "missing amount")
        return None
    values: dict[str, int] = {}
    for target in present:
        raw = raws[target]
        if not raw:
            continue
        cents = amounts[target].cents[i]
        if cents is None:
            problem(target, raw, amounts[target].reasons[i])
        else:
            values[target] = cents
    if len(values) < sum(1 for raw in raws.values() if raw):
        return None
    credit_cents = values.get("credit_amount", 0)
    debit_cents = abs(values.get("debit_amount", 0))
    if credit_cents and debit_cents:
        order = [f for f in header_of if f in present]  # file order
        first, second = (header_of[f] for f in order)
        problem(
            "credit_amount",
            " / ".join(raws[f] for f in order),
            f"both {first} and {second} hold an amount",
            column=f"{first} / {second}",
        )
        return None
    return credit_cents - debit_cents


def csv_headers(name: str, data: bytes) -> list[str]:
    """The header row a CSV export seems to have, for a page that asks which column holds
    what; raises ``StatementError`` when the file has no recognisable table at all."""
    text, _encoding = _decode(name, data)
    try:
        _delimiter, _index, headers = _find_header(text, {})
    except StatementError as exc:
        raise StatementError(f"{name}: {exc}") from None
    return [h for h in headers if h.strip()]
