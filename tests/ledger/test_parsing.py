"""Reading receivables exports: headers, amounts, dates, encodings, formats and row problems.

No database: the parser is pure. Every expected number is worked out by hand in a comment.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.it import iva

from incassa.ledger import parsing
from incassa.ledger.parsing import (
    FIELDS,
    ParseError,
    RowError,
    _italian_vat_ok,
    decide_convention,
    match_header,
    parse_amounts,
    parse_dates,
    read_receivables,
)

HEADER = "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo;Residuo"
VALID_VAT = "00743110157"  # an Italian VAT number valid per stdnum.it.iva (Luhn check digit 7)
VALID_CF = "RCCMNL83S18D969H"  # a personal fiscal code valid per stdnum.it.codicefiscale


def write(tmp_path: Path, text: str, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def csv_file(tmp_path: Path, *lines: str, **kwargs) -> Path:
    return write(tmp_path, "\n".join(lines) + "\n", **kwargs)


def reasons(table) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.reason) for e in table.errors]


def one(values: list[str | None], convention: str | None = None) -> list[int | None]:
    cents, _ = parse_amounts(pl.Series(values, dtype=pl.String), convention)
    return cents.to_list()


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------

HEADERS = {
    "customer_code": [
        "Codice cliente", "Cod. cliente", "Cod cliente", "Cliente", "Codice", "Customer code",
        "Customer", "Customer ID", "Account",
    ],
    "customer_name": [
        "Ragione sociale", "Denominazione", "Nome cliente", "Descrizione cliente",
        "Customer name", "Company name", "Name",
    ],
    "document_number": [
        "Numero fattura", "N. fattura", "Nr. fattura", "N. documento", "Numero documento",
        "Nr documento", "Num. doc.", "Documento", "Invoice number", "Invoice no", "Invoice",
        "Document number", "Document no",
    ],
    "document_date": [
        "Data fattura", "Data documento", "Data doc.", "Invoice date", "Document date",
    ],
    "due_date": ["Data scadenza", "Scadenza", "Due date", "Due"],
    "amount": [
        "Importo", "Importo IVA inclusa", "Importo totale", "Totale", "Totale documento",
        "Amount", "Total", "Invoice amount", "Original amount", "Gross amount",
    ],
    "open_amount": [
        "Residuo", "Importo residuo", "Importo aperto", "Saldo", "Open amount", "Balance",
        "Outstanding", "Amount due", "Residual",
    ],
    "vat_number": ["Partita IVA", "P. IVA", "P.IVA", "PIVA", "VAT number", "VAT no", "VAT"],
    "fiscal_code": ["Codice fiscale", "Cod. fiscale", "C.F.", "CF", "Fiscal code", "Tax code"],
    "email": ["Email", "E-mail", "Mail", "Indirizzo email"],
    "pec": ["PEC", "Email PEC", "Indirizzo PEC", "Certified email"],
    "phone": ["Telefono", "Tel.", "Cellulare", "Phone", "Telephone"],
    "sales_agent": ["Agente", "Venditore", "Sales agent", "Agent", "Salesperson"],
    "category": ["Categoria", "Categoria cliente", "Category", "Customer category"],
    "document_type": ["Tipo documento", "Tipo doc.", "Tipo", "Document type", "Type"],
    "currency": ["Valuta", "Divisa", "Currency"],
    "address": ["Indirizzo", "Address"],
    "postal_code": ["CAP", "Postal code", "ZIP"],
    "city": ["Città", "Citta", "Comune", "Località", "City"],
    "province": ["Provincia", "Prov.", "Province"],
    "country": ["Nazione", "Paese", "Country"],
    "payment_terms": ["Condizioni di pagamento", "Pagamento", "Payment terms"],
    "credit_limit": ["Fido", "Credit limit"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("header", "expected"),
    [(header, name) for name, headers in HEADERS.items() for header in headers],
)
def test_every_documented_header_is_recognised(header, expected):
    assert match_header(header) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("  COD_CLIENTE  ", "customer_code"),  # case, underscore and padding do not matter
        ("data-scadenza", "due_date"),
        ("CITTÀ", "city"),  # accents are stripped
        ("Importo (EUR)", "amount"),  # a trailing currency is ignored
        ("Importo €", "amount"),
        ("Note", None),
        ("", None),
    ],
)
def test_header_normalisation(header, expected):
    assert match_header(header) == expected


def test_fields_are_the_canonical_names():
    assert set(HEADERS) == set(FIELDS)


# --------------------------------------------------------------------------------------------
# Amounts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1.234,56", 123456),  # 1234 euros and 56 cents
        ("1234,56", 123456),  # same, without the thousands dot
        ("500,5", 50050),  # one decimal: 500 euros and 50 cents
        ("3.000", 300000),  # a dot group of three digits is thousands: 3000 euros
        ("1.234.567", 123456700),  # 1,234,567 euros
        ("-120,00", -12000),  # 120 euros, negative
        ("(120,00)", -12000),  # accounting parentheses are negative too
        ("120,00-", -12000),  # SAP's trailing minus
        ("+45,10", 4510),  # an explicit plus: 45 euros 10 cents
        ("€ 1.234,56", 123456),  # currency symbol and space are noise
        ("1.234,56 EUR", 123456),
        ("1\u00a0234,56", 123456),  # a non-breaking space as thousands separator
        ("12,500", 1250),  # three decimals whose extra digit is zero: 12.50 euros
        ("0,07", 7),  # seven cents
        ("77", 7700),  # a bare integer: 77 euros
        ("9.999.999.999.999,99", 999999999999999),  # 13 integer digits: the largest accepted
    ],
)
def test_italian_amounts(text, cents):
    assert one([text], "it") == [cents]


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1,234.56", 123456),  # 1234 euros and 56 cents
        ("1234.56", 123456),
        ("-1,234.5", -123450),  # one decimal: 1234 euros 50 cents, negative
        ("1,234", 123400),  # a comma group of three is thousands in English: 1234 euros
        ("(12.30)", -1230),
        ("12.30-", -1230),
        ("$ 5", None),  # a dollar sign is not noise we remove: not an amount
    ],
)
def test_english_amounts(text, cents):
    assert one([text], "en") == [cents]


@pytest.mark.parametrize(
    "text",
    [
        "1.5",  # in an Italian column a dot is a thousands separator: groups must be 3 digits
        "1.23,45",  # wrong group
        "12,345",  # three decimals, the last not zero: more than two decimals
        "1,234.56",  # English format in an Italian column
        "abc",
        "12a",
        "--5",
        "(5",  # unbalanced parenthesis
        "-(5)",
        "10.000.000.000.000",  # 14 integer digits: over the limit
        ",50",  # no integer part
        "1.234,",
    ],
)
def test_invalid_italian_amounts_are_null(text):
    assert one([text], "it") == [None]


def test_empty_and_null_amounts_are_null():
    assert one(["", "   ", None], "it") == [None, None, None]


def test_parse_amounts_decides_the_convention_from_the_values():
    cents, convention = parse_amounts(pl.Series(["1,234.56", "10.5", "7"]))
    assert convention == "en"
    # 1234.56 -> 123456; 10.5 -> 10 euros 50 cents = 1050; 7 -> 700
    assert cents.to_list() == [123456, 1050, 700]
    assert cents.dtype == pl.Int64


def test_parse_amounts_rejects_an_unknown_convention():
    with pytest.raises(ValueError):
        parse_amounts(pl.Series(["1"]), "fr")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.234,56", "500,5", "3.000"], "it"),  # three pieces of Italian evidence
        (["1,234.56", "12.5", "100"], "en"),  # two pieces of English evidence
        (["1.234,56", "12.50", "1,00", "3.000"], "it"),  # majority: 3 Italian vs 1 English
        (["12.50", "1,234.00", "3,5"], "en"),  # majority: 2 English vs 1 Italian
        (["100", "2000", None], "it"),  # no evidence at all: Italian
        (["1,234"], "it"),  # ambiguous (no decimals) counts for nobody
        (["(1.234,56)", "€ 120,00-"], "it"),  # signs and currency do not hide the evidence
    ],
)
def test_decide_convention(values, expected):
    assert decide_convention(pl.Series(values, dtype=pl.String)) == expected


def format_amount(cents: int, convention: str, grouping: bool, short: bool, sign: str) -> str:
    """An independent formatter, as an ERP would write the amount."""
    decimal, thousands = (",", ".") if convention == "it" else (".", ",")
    units, fraction = divmod(abs(cents), 100)
    integer = f"{units:,}".replace(",", thousands) if grouping else str(units)
    digits = f"{fraction:02d}".rstrip("0") if short else f"{fraction:02d}"
    text = integer + (decimal + digits if digits else "")
    if cents < 0:
        text = {"minus": f"-{text}", "parens": f"({text})", "trailing": f"{text}-"}[sign]
    return text


@settings(max_examples=200, deadline=None)
@given(
    cents=st.integers(-(10**15) + 1, 10**15 - 1),
    convention=st.sampled_from(["it", "en"]),
    grouping=st.booleans(),
    short=st.booleans(),
    sign=st.sampled_from(["minus", "parens", "trailing"]),
)
def test_any_amount_formatted_either_way_parses_back(cents, convention, grouping, short, sign):
    text = format_amount(cents, convention, grouping, short, sign)
    assert one([text], convention) == [cents]


@settings(max_examples=200, deadline=None)
@given(cents=st.integers(-(10**15) + 1, 10**15 - 1), sign=st.sampled_from(["minus", "parens"]))
def test_full_italian_amounts_are_recognised_as_italian(cents, sign):
    # With two decimals after a comma the column can only be Italian.
    text = format_amount(cents, "it", grouping=True, short=False, sign=sign)
    cents_back, convention = parse_amounts(pl.Series([text]))
    assert convention == "it"
    assert cents_back.to_list() == [cents]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=20))
def test_garbage_amounts_never_raise(values):
    for convention in ("it", "en", None):
        cents, used = parse_amounts(pl.Series(values, dtype=pl.String), convention)
        assert len(cents) == len(values)
        assert used in ("it", "en")
        for value, result in zip(values, cents.to_list(), strict=True):
            if result is not None:
                assert any(ch.isdigit() for ch in value)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

D = dt.date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31/03/2026", D(2026, 3, 31)),
        ("1/3/2026", D(2026, 3, 1)),  # d/m/yyyy: day first
        ("31-03-2026", D(2026, 3, 31)),
        ("31.03.2026", D(2026, 3, 31)),
        ("31/03/26", D(2026, 3, 31)),  # yy 26 < 70 -> 2026
        ("31-03-26", D(2026, 3, 31)),
        ("31/12/69", D(2069, 12, 31)),  # 69 < 70 -> 2069
        ("01/01/70", D(1970, 1, 1)),  # 70 -> 1970
        ("2026-03-31", D(2026, 3, 31)),
        ("2026-03-31 00:00:00", D(2026, 3, 31)),  # time of an ISO timestamp is ignored
        ("2026-03-31T14:30:00", D(2026, 3, 31)),
        ("29/02/2024", D(2024, 2, 29)),  # 2024 is a leap year
        ("29/02/2000", D(2000, 2, 29)),  # divisible by 400: leap
        # Excel serials count days from 1899-12-30: 2026-03-31 is day 46112.
        ("46112", D(2026, 3, 31)),
        ("46112.75", D(2026, 3, 31)),  # the fraction is the time of day
        ("20000", D(1954, 10, 3)),  # lowest serial accepted: 1899-12-30 + 20000 days
    ],
)
def test_dates(text, expected):
    assert parse_dates(pl.Series([text])).to_list() == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2026",  # February has no 31st
        "29/02/2025",  # 2025 is not a leap year
        "29/02/1900",  # divisible by 100 but not 400: not leap
        "31/04/2026",  # April has 30 days
        "00/01/2026",
        "12/13/2026",  # month 13: no month-first guessing
        "03/31/2026",  # US order is refused
        "26",  # a bare "26" is not year 26
        "31/03-2026",  # mixed separators
        "2026/03/31",
        "19999",  # serials below 20000 are not dates
        "80001",  # nor above 80000
        "31/03/1899",  # before 1900
        "yesterday",
        "",
    ],
)
def test_invalid_dates_are_null(text):
    assert parse_dates(pl.Series([text])).to_list() == [None]


def test_non_ascii_digits_are_not_numbers():
    # Arabic-Indic digits are digits to Python and to Unicode regexes, not to an ERP.
    assert parse_dates(pl.Series(["٣١/٠٣/٢٠٢٦"])).to_list() == [None]
    assert one(["١٢٣"], "it") == [None]


def test_parse_dates_returns_dates_and_keeps_nulls():
    result = parse_dates(pl.Series("due", ["31/03/2026", None]))
    assert result.dtype == pl.Date
    assert result.name == "due"
    assert result.to_list() == [D(2026, 3, 31), None]


DATE_FORMATS = [
    lambda d: d.strftime("%d/%m/%Y"),
    lambda d: f"{d.day}/{d.month}/{d.year}",
    lambda d: d.strftime("%d-%m-%Y"),
    lambda d: d.strftime("%d.%m.%Y"),
    lambda d: d.isoformat(),
    lambda d: d.isoformat() + " 00:00:00",
    lambda d: d.isoformat() + "T08:15:00",
]


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=D(1900, 1, 1), max_value=D(2199, 12, 31)),
    form=st.sampled_from(DATE_FORMATS),
)
def test_any_date_in_any_format_parses_back(day, form):
    assert parse_dates(pl.Series([form(day)])).to_list() == [day]


@settings(max_examples=200, deadline=None)
@given(
    day=st.dates(min_value=D(1970, 1, 1), max_value=D(2069, 12, 31)),
    separator=st.sampled_from(["/", "-"]),
)
def test_two_digit_years_parse_back(day, separator):
    text = day.strftime(f"%d{separator}%m{separator}%y")
    assert parse_dates(pl.Series([text])).to_list() == [day]


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=D(1954, 10, 3), max_value=D(2119, 1, 10)))
def test_excel_serials_parse_back(day):
    serial = (day - D(1899, 12, 30)).days
    assert parse_dates(pl.Series([str(serial)])).to_list() == [day]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=20))
def test_garbage_dates_never_raise(values):
    result = parse_dates(pl.Series(values, dtype=pl.String))
    assert len(result) == len(values)
    for value, parsed in zip(values, result.to_list(), strict=True):
        if parsed is not None:
            assert any(ch.isdigit() for ch in value)


# --------------------------------------------------------------------------------------------
# VAT numbers
# --------------------------------------------------------------------------------------------


def with_check_digit(first_ten: str) -> str:
    total = 0
    for index, ch in enumerate(reversed(first_ten)):
        digit = int(ch) * (2 if index % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return first_ten + str((10 - total % 10) % 10)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"\A\d{11}\Z"),
        st.from_regex(r"\A\d{10}\Z").map(with_check_digit),
    )
)
def test_vectorised_italian_vat_check_agrees_with_stdnum(number):
    ok = pl.select(_italian_vat_ok(pl.lit(number))).item()
    assert ok == iva.is_valid(number)


# --------------------------------------------------------------------------------------------
# Reading CSV
# --------------------------------------------------------------------------------------------


def test_reads_an_italian_csv(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER + ";Agente;Categoria;Partita IVA;Data documento;Note",
        f"00045;Rossi S.r.l.;FT/1;31/03/2026;1.234,56;1.000,00;Bianchi;PA;{VALID_VAT};01/03/2026;x",
        "00046;Verdi S.p.A.;FT/2;30/04/2026;500,5;500,5;;;;;",
    )
    table = read_receivables(path)
    assert table.errors == []
    assert table.file_format == "csv"
    assert table.encoding == "utf-8"
    assert table.delimiter == ";"
    assert table.header_row == 1
    assert table.rows_read == 2
    assert table.rows_ignored == 0
    assert table.unmapped == ["Note"]
    assert table.columns["Codice cliente"] == "customer_code"
    assert table.columns["Data documento"] == "document_date"
    assert table.amount_conventions == {"amount": "it", "open_amount": "it"}
    frame = table.frame
    assert frame["row"].to_list() == [2, 3]  # header on line 1, records on lines 2 and 3
    assert frame["customer_code"].to_list() == ["00045", "00046"]  # leading zeros kept
    assert frame["document_number"].to_list() == ["FT/1", "FT/2"]
    assert frame["due_date"].to_list() == [D(2026, 3, 31), D(2026, 4, 30)]
    assert frame["document_date"].to_list() == [D(2026, 3, 1), None]
    # 1.234,56 -> 123456 cents; 500,5 -> 500 euros 50 cents = 50050 cents
    assert frame["amount_cents"].to_list() == [123456, 50050]
    # 1.000,00 -> 100000 cents
    assert frame["open_amount_cents"].to_list() == [100000, 50050]
    assert frame["document_type"].to_list() == ["invoice", "invoice"]
    assert frame["currency"].to_list() == ["EUR", "EUR"]
    assert frame["sales_agent"].to_list() == ["Bianchi", None]
    assert frame["vat_number"].to_list() == [VALID_VAT, None]
    assert frame.schema["amount_cents"] == pl.Int64
    assert frame.schema["due_date"] == pl.Date
    assert frame.schema["row"] == pl.Int64
    assert frame.columns[:3] == ["row", "customer_code", "document_number"]
    assert "credit_limit_cents" in frame.columns
    assert table.rejected.height == 0


def test_module_imports_nothing_from_django():
    code = (
        "import sys, incassa.ledger.parsing; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django']"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_encodings(tmp_path, encoding):
    text = (
        "Codice cliente;Ragione sociale;Città;Numero documento;Data scadenza;Importo\n"
        "C1;Società Cooperativa Perù;Forlì;FT/1;31/03/2026;10,00\n"
    )
    table = read_receivables(write(tmp_path, text, encoding=encoding))
    assert table.encoding == encoding
    assert table.columns["Città"] == "city"
    assert table.frame["customer_name"].to_list() == ["Società Cooperativa Perù"]
    assert table.frame["city"].to_list() == ["Forlì"]
    assert table.frame["amount_cents"].to_list() == [1000]  # 10,00 -> 1000 cents


def test_cp1252_found_late_in_a_large_file(tmp_path):
    # The first 256 KB are plain ASCII; the accented name far below is cp1252.
    filler = [f"C{i};Cliente {i};FT/{i};31/03/2026;1,00" for i in range(12000)]
    text = "\n".join(
        ["Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo", *filler]
    )
    text += "\nZ;Società;FT/Z;31/03/2026;2,00\n"
    table = read_receivables(write(tmp_path, text, encoding="cp1252"))
    assert table.encoding == "cp1252"
    assert table.frame["customer_name"].to_list()[-1] == "Società"
    assert table.rows_read == 12001


def test_bytes_cp1252_cannot_decode_fall_back_to_latin1(tmp_path):
    # 0x81 is undefined in cp1252; latin-1 maps every byte.
    data = (HEADER + "\nC1;Ditta \x81;FT/1;31/03/2026;1,00;1,00\n").encode("latin-1")
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    table = read_receivables(path)
    assert table.encoding == "latin-1"
    assert table.rows_read == 1


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiters(tmp_path, delimiter):
    header = ["Codice cliente", "Numero documento", "Data scadenza", "Importo"]
    amount = '"1.234,56"' if delimiter == "," else "1.234,56"
    row = ["C1", "FT/1", "31/03/2026", amount]
    table = read_receivables(csv_file(tmp_path, delimiter.join(header), delimiter.join(row)))
    assert table.delimiter == delimiter
    assert table.frame["amount_cents"].to_list() == [123456]  # 1234 euros 56 cents


def test_quoted_fields_with_delimiters_quotes_and_newlines(tmp_path):
    path = csv_file(
        tmp_path,
        "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo;Indirizzo",
        'C1;"Rossi; Bianchi & C.";FT/1;31/03/2026;10,00;"Via Roma 1',
        'Scala B"',
        'C2;"Il ""Buon"" Gusto";FT/2;31/02/2026;20,00;x',
    )
    table = read_receivables(path)
    assert table.frame["customer_name"].to_list() == ["Rossi; Bianchi & C."]
    assert table.frame["address"].to_list() == ["Via Roma 1\nScala B"]
    # The first record spans lines 2-3, so the second record starts on line 4.
    assert reasons(table) == [(4, "Data scadenza", "invalid date (31/02/2026)")]
    assert table.rejected["Ragione sociale"].to_list() == ['Il "Buon" Gusto']


def test_title_rows_blank_lines_and_total_footer(tmp_path):
    path = csv_file(
        tmp_path,
        "Scadenziario clienti al 31/03/2026",
        "",
        "Azienda: Acme S.p.A.;;;",
        HEADER,
        "C1;Uno;FT/1;31/03/2026;10,00;10,00",
        "",
        ";;;;;",
        "C2;Due;FT/2;30/04/2026;20,00;5,00",
        "Totale;;;;30,00;15,00",
        ";;;;30,00;15,00",
    )
    table = read_receivables(path)
    assert table.header_row == 4
    assert table.errors == []
    assert table.frame["row"].to_list() == [5, 8]  # lines of the two records
    assert table.rows_read == 2
    # Blank lines 6 and 7, the "Totale" line 9 and the unlabelled total on line 10.
    assert table.rows_ignored == 4


@pytest.mark.parametrize(
    "label", ["TOTALE GENERALE", "Totali", "Total", "Subtotale", "Tot. cliente"]
)
def test_summary_labels(tmp_path, label):
    path = csv_file(tmp_path, HEADER, "C1;U;FT/1;31/03/2026;1,00;1,00", f"{label};;;;1,00;1,00")
    table = read_receivables(path)
    assert (table.rows_read, table.rows_ignored, table.errors) == (1, 1, [])


def test_header_may_be_found_on_a_later_line_only_with_three_known_columns(tmp_path):
    # "Cliente;Note" names one field only: not the header.
    path = csv_file(tmp_path, "Cliente;Note", "x;y", HEADER, "C1;U;FT/1;31/03/2026;1,00;1,00")
    table = read_receivables(path)
    assert table.header_row == 3


def test_crlf_line_ends(tmp_path):
    path = write(tmp_path, HEADER + "\r\nC1;U;FT/1;31/03/2026;1,00;1,00\r\n")
    table = read_receivables(path)
    assert table.frame["amount_cents"].to_list() == [100]  # 1,00 -> 100 cents
    assert table.frame["customer_name"].to_list() == ["U"]


def test_whitespace_is_trimmed_and_blank_cells_are_null(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER + ";Agente",
        "  00045 ; Rossi ;  FT/1 ; 31/03/2026 ; 1.234,56 ; 1.234,56 ;   ",
    )
    table = read_receivables(path)
    row = table.frame.row(0, named=True)
    assert row["customer_code"] == "00045"
    assert row["customer_name"] == "Rossi"
    assert row["document_number"] == "FT/1"
    assert row["amount_cents"] == 123456  # 1234 euros 56 cents
    assert row["sales_agent"] is None


def test_per_column_conventions(tmp_path):
    # Importo written the Italian way, Residuo (from another system) the English way.
    path = csv_file(
        tmp_path,
        HEADER,
        "C1;U;FT/1;31/03/2026;1.234,56;1234.56",
        "C1;U;FT/2;31/03/2026;3.000;2,500.5",
    )
    table = read_receivables(path)
    assert table.errors == []
    assert table.amount_conventions == {"amount": "it", "open_amount": "en"}
    # 1.234,56 -> 123456; 3.000 -> 3000 euros = 300000 cents
    assert table.frame["amount_cents"].to_list() == [123456, 300000]
    # 1234.56 -> 123456; 2,500.5 -> 2500 euros 50 cents = 250050 cents
    assert table.frame["open_amount_cents"].to_list() == [123456, 250050]


def test_english_headers_and_amounts(tmp_path):
    path = csv_file(
        tmp_path,
        "Customer,Company name,Invoice number,Invoice date,Due date,Amount,Balance,Currency",
        'A-1,Acme Ltd,INV-1,2026-03-01,2026-03-31,"1,234.56",234.56,usd',
        "A-2,Beta Ltd,INV-2,2026-03-02,2026-04-30,99.9,0,€",
    )
    table = read_receivables(path)
    assert table.errors == []
    assert table.delimiter == ","
    assert table.amount_conventions == {"amount": "en", "open_amount": "en"}
    # 1,234.56 -> 123456 cents; 99.9 -> 99 euros 90 cents = 9990 cents
    assert table.frame["amount_cents"].to_list() == [123456, 9990]
    # 234.56 -> 23456 cents; 0 -> 0
    assert table.frame["open_amount_cents"].to_list() == [23456, 0]
    assert table.frame["currency"].to_list() == ["USD", "EUR"]  # uppercased; € is EUR
    assert table.frame["document_date"].to_list() == [D(2026, 3, 1), D(2026, 3, 2)]


def test_only_importo_is_also_the_open_amount(tmp_path):
    path = csv_file(
        tmp_path,
        "Codice cliente;Numero documento;Data scadenza;Importo",
        "C1;FT/1;31/03/2026;1.000,00",
    )
    table = read_receivables(path)
    # 1.000,00 -> 100000 cents, used for both
    assert table.frame["amount_cents"].to_list() == [100000]
    assert table.frame["open_amount_cents"].to_list() == [100000]
    assert table.amount_conventions == {"amount": "it"}


def test_only_residuo_is_also_the_original_amount(tmp_path):
    path = csv_file(
        tmp_path,
        "Codice cliente;Numero documento;Data scadenza;Residuo",
        "C1;FT/1;31/03/2026;250,00",
    )
    table = read_receivables(path)
    # 250,00 -> 25000 cents, used for both
    assert table.frame["amount_cents"].to_list() == [25000]
    assert table.frame["open_amount_cents"].to_list() == [25000]


def test_credit_notes_from_the_type_column(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER + ";Tipo documento",
        "C1;U;1;31/03/2026;100,00;100,00;FT",
        "C1;U;2;31/03/2026;50,00;20,00;NC",
        "C1;U;3;31/03/2026;-30,00;-30,00;Nota di credito",
        "C1;U;4;31/03/2026;10,00;10,00;N.C.",
        "C1;U;5;31/03/2026;5,00;5,00;TD05",
        "C1;U;6;31/03/2026;5,00;5,00;",
        "C1;U;7;31/03/2026;5,00;0,00;td04",
        "C1;U;8;31/03/2026;5,00;5,00;Fattura differita",
        "C1;U;9;31/03/2026;5,00;5,00;Scontrino",
    )
    table = read_receivables(path)
    frame = table.frame
    assert frame["document_type"].to_list() == [
        "invoice",
        "credit_note",
        "credit_note",
        "credit_note",
        "debit_note",
        "invoice",  # empty type: an invoice
        "credit_note",
        "invoice",
    ]
    # A positive credit note becomes negative: 50,00 -> -5000; already negative -30,00 stays
    # -3000; 10,00 -> -1000; 5,00 -> -500.
    assert frame["amount_cents"].to_list() == [10000, -5000, -3000, -1000, 500, 500, -500, 500]
    # 20,00 -> -2000; zero stays zero.
    assert frame["open_amount_cents"].to_list() == [10000, -2000, -3000, -1000, 500, 500, 0, 500]
    assert reasons(table) == [(10, "Tipo documento", "invalid document type (Scontrino)")]


def test_negative_amount_without_type_column_is_a_credit_note(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER,
        "C1;U;1;31/03/2026;-120,00;-120,00",
        "C1;U;2;31/03/2026;120,00;120,00",
        "C1;U;3;31/03/2026;(5,00);(5,00)",
    )
    frame = read_receivables(path).frame
    assert frame["document_type"].to_list() == ["credit_note", "invoice", "credit_note"]
    # -120,00 -> -12000; (5,00) -> -500
    assert frame["amount_cents"].to_list() == [-12000, 12000, -500]


def test_currency(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER + ";Valuta",
        "C1;U;1;31/03/2026;1,00;1,00;EUR",
        "C1;U;2;31/03/2026;1,00;1,00;€",
        "C1;U;3;31/03/2026;1,00;1,00;chf",
        "C1;U;4;31/03/2026;1,00;1,00;",
        "C1;U;5;31/03/2026;1,00;1,00;EURO2",
    )
    table = read_receivables(path)
    assert table.frame["currency"].to_list() == ["EUR", "EUR", "CHF", "EUR"]
    assert reasons(table) == [(6, "Valuta", "invalid currency (EURO2)")]


def test_row_errors_are_all_collected_and_sorted(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER + ";Data documento",
        "C1;U;FT/1;31/03/2026;10,00;10,00;01/03/2026",
        ";U;FT/2;31/02/2026;abc;1.5;32/01/2026",
        "C3;U;;;;;",
        "C4;U;FT/4;29/02/2026;12,345;99999999999999,00;",
    )
    table = read_receivables(path)
    assert reasons(table) == [
        (3, "Codice cliente", "missing customer code"),
        (3, "Data documento", "invalid date (32/01/2026)"),
        (3, "Data scadenza", "invalid date (31/02/2026)"),
        (3, "Importo", "not an amount (abc)"),
        (3, "Residuo", "not an amount in Italian format (1.5)"),
        (4, "Data scadenza", "missing due date"),
        (4, "Importo", "missing amount"),
        (4, "Numero documento", "missing document number"),
        (4, "Residuo", "missing amount"),
        (5, "Data scadenza", "invalid date (29/02/2026)"),  # 2026 is not a leap year
        (5, "Importo", "more than two decimals (12,345)"),
        (5, "Residuo", "amount too large (99999999999999,00)"),  # 14 integer digits
    ]
    assert table.errors == sorted(table.errors, key=lambda e: (e.row, e.column))
    first = table.errors[0]
    assert isinstance(first, RowError)
    assert first.value == ""
    assert table.errors[3].value == "abc"
    assert table.frame["row"].to_list() == [2]
    assert table.rows_read == 4
    rejected = table.rejected
    assert rejected.columns == ["row", *HEADER.split(";"), "Data documento", "errors"]
    assert rejected["row"].to_list() == [3, 4, 5]
    assert rejected["Importo"].to_list() == ["abc", None, "12,345"]
    assert rejected["errors"][0] == (
        "missing customer code; invalid date (32/01/2026); invalid date (31/02/2026); "
        "not an amount (abc); not an amount in Italian format (1.5)"
    )


def test_duplicates(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER,
        "C1;U;FT/1;31/03/2026;10,00;10,00",
        "C1;U;FT/1;30/04/2026;10,00;10,00",  # another installment: not a duplicate
        "C2;U;FT/1;31/03/2026;10,00;10,00",  # another customer: not a duplicate
        "C1;U;FT/1;31/03/2026;12,00;12,00",
        "C1;U;FT/1;31/03/2026;13,00;13,00",
    )
    table = read_receivables(path)
    assert reasons(table) == [
        (5, "", "duplicate of row 2 (same customer, document and due date)"),
        (6, "", "duplicate of row 2 (same customer, document and due date)"),
    ]
    assert table.frame["row"].to_list() == [2, 3, 4]


def test_rows_missing_their_due_date_are_not_duplicates_of_each_other(tmp_path):
    path = csv_file(tmp_path, HEADER, "C1;U;FT/1;;1,00;1,00", "C1;U;FT/1;;1,00;1,00")
    table = read_receivables(path)
    assert reasons(table) == [
        (2, "Data scadenza", "missing due date"),
        (3, "Data scadenza", "missing due date"),
    ]


def test_due_date_may_be_optional(tmp_path):
    path = csv_file(
        tmp_path,
        "Codice cliente;Numero documento;Importo;Data scadenza",
        "C1;FT/1;10,00;",
        "C1;FT/2;10,00;31/03/2026",
        "C1;FT/1;10,00;",
    )
    table = read_receivables(path, require_due_date=False)
    assert table.frame["due_date"].to_list() == [None, D(2026, 3, 31)]
    assert reasons(table) == [
        (4, "", "duplicate of row 2 (same customer, document and due date)"),
    ]
    no_column = csv_file(tmp_path, "Codice cliente;Numero documento;Importo", "C1;FT/1;1,00")
    assert read_receivables(no_column, require_due_date=False).frame["due_date"].to_list() == [None]


def test_vat_fiscal_code_email_and_pec(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER + ";Partita IVA;Codice fiscale;Email;PEC",
        f"C1;U;1;31/03/2026;1,00;1,00;{VALID_VAT};{VALID_CF};a@b.it, c.d@e.com;x@pec.it",
        f"C2;U;2;31/03/2026;1,00;1,00;IT {VALID_VAT};{VALID_VAT};a@b.it;c@pec.it",
        "C3;U;3;31/03/2026;1,00;1,00;DE136695976;;a@b.it;",
        "C4;U;4;31/03/2026;1,00;1,00;00743110158;RCCMNL83S18D969X;not-an-email;pec.it",
        "C5;U;5;31/03/2026;1,00;1,00;12345;ABC;a@b;x",
    )
    table = read_receivables(path)
    assert table.frame["row"].to_list() == [2, 3, 4]
    assert table.frame["vat_number"].to_list() == [VALID_VAT, f"IT {VALID_VAT}", "DE136695976"]
    assert table.frame["email"].to_list()[0] == "a@b.it, c.d@e.com"
    assert reasons(table) == [
        (5, "Codice fiscale", "invalid fiscal code"),
        (5, "Email", "invalid email"),
        (5, "PEC", "invalid PEC"),
        (5, "Partita IVA", "invalid VAT number"),  # wrong check digit (8 instead of 7)
        (6, "Codice fiscale", "invalid fiscal code"),
        (6, "Email", "invalid email"),
        (6, "PEC", "invalid PEC"),
        (6, "Partita IVA", "invalid VAT number"),
    ]


def test_credit_limit_and_customer_attributes(tmp_path):
    path = csv_file(
        tmp_path,
        HEADER + ";Fido;Telefono;CAP;Città;Provincia;Nazione;Pagamento;Categoria",
        "C1;U;1;31/03/2026;1,00;1,00;50.000,00;+39 02 123;20100;Milano;MI;IT;RB 60;PA",
        "C2;U;2;31/03/2026;1,00;1,00;;;;;;;;",
        "C3;U;3;31/03/2026;1,00;1,00;tanti;;;;;;;",
    )
    table = read_receivables(path)
    row = table.frame.row(0, named=True)
    assert row["credit_limit_cents"] == 5000000  # 50.000,00 -> 50000 euros = 5000000 cents
    assert (row["phone"], row["postal_code"], row["city"]) == ("+39 02 123", "20100", "Milano")
    assert (row["province"], row["country"]) == ("MI", "IT")
    assert (row["payment_terms"], row["category"]) == ("RB 60", "PA")
    assert table.frame["credit_limit_cents"].to_list() == [5000000, None]
    assert reasons(table) == [(4, "Fido", "not an amount (tanti)")]


# Mapping -------------------------------------------------------------------------------------


def test_mapping_names_unknown_columns(tmp_path):
    path = csv_file(
        tmp_path,
        "Conto;Rif;Scad;Valore;Extra",
        "C1;D1;31/03/2026;12,00;x",
    )
    with pytest.raises(ParseError):
        read_receivables(path)
    mapping = {" CONTO ": "customer_code", "rif": "document_number", "Scad": "due_date"}
    table = read_receivables(path, mapping={**mapping, "Valore": "amount", "Missing": "pec"})
    assert table.columns == {
        "Conto": "customer_code",
        "Rif": "document_number",
        "Scad": "due_date",
        "Valore": "amount",
    }
    assert table.unmapped == ["Extra"]
    assert table.frame["amount_cents"].to_list() == [1200]  # 12,00 -> 1200 cents


def test_mapping_overrides_recognition(tmp_path):
    # "Cliente" would be the customer code; the user says it is the name and "Conto" the code.
    path = csv_file(
        tmp_path,
        "Cliente;Conto;Numero documento;Data scadenza;Importo",
        "Rossi S.r.l.;C1;FT/1;31/03/2026;1,00",
    )
    table = read_receivables(path, mapping={"Cliente": "customer_name", "Conto": "customer_code"})
    assert table.frame["customer_code"].to_list() == ["C1"]
    assert table.frame["customer_name"].to_list() == ["Rossi S.r.l."]


def test_invalid_mapping_names_the_valid_fields(tmp_path):
    path = csv_file(tmp_path, HEADER, "C1;U;FT/1;31/03/2026;1,00;1,00")
    with pytest.raises(ParseError) as caught:
        read_receivables(path, mapping={"Importo": "importo"})
    message = str(caught.value)
    assert "'importo'" in message
    assert "customer_code" in message and "open_amount" in message
    assert "\n" not in message


def test_two_columns_for_one_field_keep_the_first(tmp_path):
    path = csv_file(
        tmp_path,
        "Codice cliente;Numero documento;Data scadenza;Importo;Totale",
        "C1;FT/1;31/03/2026;1,00;2,00",
    )
    table = read_receivables(path)
    assert table.columns["Importo"] == "amount"
    assert table.unmapped == ["Totale"]
    assert table.frame["amount_cents"].to_list() == [100]  # from Importo: 1,00 -> 100


def test_missing_required_columns(tmp_path):
    path = csv_file(tmp_path, "Codice cliente;Numero documento;Importo;Note", "C1;FT/1;1,00;x")
    with pytest.raises(ParseError) as caught:
        read_receivables(path)
    message = str(caught.value)
    assert "due_date" in message
    assert "Codice cliente, Numero documento, Importo, Note" in message
    assert "--map COLUMN=field" in message
    assert "\n" not in message


def test_no_amount_column(tmp_path):
    path = csv_file(tmp_path, "Codice cliente;Numero documento;Data scadenza", "C1;1;31/03/2026")
    with pytest.raises(ParseError, match="no amount column"):
        read_receivables(path)


# Whole-file problems ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\n  ", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (HEADER.encode() + b"\n", "no data rows"),
        (HEADER.encode() + b"\n;;;;;\nTotale;;;;1,00;1,00\n", "no data rows"),
        (b"a;b;c\n1;2;3\n", "no header row found in the first 50 rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary data"),
        (bytes(range(256)) * 8, "binary data"),
        (b"PK\x03\x04 not really a zip", "damaged ZIP"),
    ],
)
def test_whole_file_problems(tmp_path, content, message):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    with pytest.raises(ParseError, match=message) as caught:
        read_receivables(path)
    assert "\n" not in str(caught.value)


def test_header_beyond_fifty_rows_is_not_found(tmp_path):
    path = csv_file(tmp_path, *(["titolo"] * 50), HEADER, "C1;U;1;31/03/2026;1,00;1,00")
    with pytest.raises(ParseError, match="no header row"):
        read_receivables(path)


def test_unreadable_file(tmp_path):
    with pytest.raises(ParseError, match="cannot be read"):
        read_receivables(tmp_path / "missing.csv")


def test_size_limit(tmp_path):
    path = csv_file(tmp_path, HEADER, "C1;U;1;31/03/2026;1,00;1,00")
    size = path.stat().st_size
    assert read_receivables(path, max_bytes=size).rows_read == 1
    with pytest.raises(ParseError, match="too large"):
        read_receivables(path, max_bytes=size - 1)


def test_unclosed_quote(tmp_path):
    path = csv_file(tmp_path, HEADER, 'C1;"Rossi;FT/1;31/03/2026;1,00;1,00', "C2;U")
    with pytest.raises(ParseError, match="quoted field"):
        read_receivables(path)


@pytest.mark.parametrize(
    "members",
    [
        {"readme.txt": "hello"},
        # An OpenDocument text, not a spreadsheet.
        {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"},
    ],
)
def test_zip_that_is_not_a_spreadsheet(tmp_path, members):
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(ParseError, match="not an XLSX or ODS"):
        read_receivables(path)


def test_damaged_spreadsheet(tmp_path):
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not really>")
    with pytest.raises(ParseError, match="could not be read"):
        read_receivables(path)


# --------------------------------------------------------------------------------------------
# Spreadsheets
# --------------------------------------------------------------------------------------------

SHEET_HEADER = [
    "Codice cliente",
    "Ragione sociale",
    "Numero documento",
    "Data documento",
    "Data scadenza",
    "Importo",
    "Residuo",
]


def check_sheet(table, file_format: str) -> None:
    assert table.file_format == file_format
    assert table.encoding is None and table.delimiter is None
    assert table.header_row == 3  # a title row and a blank row above the header
    frame = table.frame
    assert frame["row"].to_list() == [4, 5, 6]  # sheet rows
    assert frame["customer_code"].to_list() == ["00045", "77", "C-9"]  # 77.0 shown as "77"
    assert frame["document_number"].to_list() == ["1001", "1002", "FT/3"]
    assert frame["document_date"].to_list() == [D(2026, 3, 1), D(2026, 3, 2), None]
    assert frame["due_date"].to_list() == [D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31)]
    # numeric 1234.56 -> 123456; numeric 77 -> 7700; text "1.234,56" -> 123456
    assert frame["amount_cents"].to_list() == [123456, 7700, 123456]
    # numeric 1000.5 -> 1000 euros 50 cents = 100050; numeric 0 -> 0; text "3.000" -> 300000
    assert frame["open_amount_cents"].to_list() == [100050, 0, 300000]
    assert table.amount_conventions["amount"] == "it"  # decided on the text cells
    assert reasons(table) == [(7, "Data scadenza", "invalid date (31/02/2026)")]
    assert table.rows_ignored == 1  # the "Totale" row


def sheet_rows() -> list[list[object]]:
    return [
        ["Scadenziario al 31/03/2026"],
        [],
        SHEET_HEADER,
        ["00045", "Rossi", 1001, D(2026, 3, 1), D(2026, 3, 31), 1234.56, 1000.5],
        [77, "Verdi", 1002.0, D(2026, 3, 2), "30/04/2026", 77, 0],
        ["C-9", "Bianchi", "FT/3", None, "31/05/2026", "1.234,56", "3.000"],
        ["C-10", "Neri", "FT/4", None, "31/02/2026", "1,00", "1,00"],
        ["Totale", None, None, None, None, 2469.12, 1000.5],
    ]


def test_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in sheet_rows():
        sheet.append(row)
    path = tmp_path / "export.xlsx"
    workbook.save(path)
    check_sheet(read_receivables(path), "xlsx")
    # Detected by content, not by name.
    renamed = path.rename(tmp_path / "export.dat")
    assert read_receivables(renamed).file_format == "xlsx"


def test_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Scadenze")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for r, row in enumerate(sheet_rows()):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write(r, c, value, date_style)
            elif value is not None:
                sheet.write(r, c, value)
    path = tmp_path / "export.xls"
    workbook.save(str(path))
    assert path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0"
    check_sheet(read_receivables(path), "xls")


def test_ods(tmp_path):
    pytest.importorskip("odf")
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name="Scadenze")
    for row in sheet_rows():
        table_row = TableRow()
        for value in row:
            if value is None:
                cell = TableCell()
            elif isinstance(value, dt.date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                cell.addElement(P(text=value.strftime("%d/%m/%Y")))
            elif isinstance(value, (int, float)):
                cell = TableCell(valuetype="float", value=value)
                cell.addElement(P(text=str(value)))
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
            table_row.addElement(cell)
        table.addElement(table_row)
    document.spreadsheet.addElement(table)
    path = tmp_path / "export.ods"
    document.save(str(path))
    check_sheet(read_receivables(path), "ods")


def test_spreadsheet_float_noise_and_serial_dates(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Codice cliente", "Numero documento", "Data scadenza", "Importo", "Residuo"])
    # 0.1 + 0.2 is 0.30000000000000004 as a float: Excel shows 0.3. A serial 46112 is a date
    # cell that lost its format: 2026-03-31.
    sheet.append(["C1", "D1", 46112, 0.1 + 0.2, 12])
    sheet.append(["C2", "D2", 46112, 5, True])
    path = tmp_path / "noise.xlsx"
    workbook.save(path)
    table = read_receivables(path)
    assert table.frame["due_date"].to_list() == [D(2026, 3, 31)]
    assert table.frame["amount_cents"].to_list() == [30]  # 0.3 euros = 30 cents
    assert table.frame["open_amount_cents"].to_list() == [1200]  # 12 euros = 1200 cents
    assert reasons(table) == [(3, "Residuo", "not an amount (true)")]  # a boolean cell


# --------------------------------------------------------------------------------------------
# The top of a file, for the mapping page
# --------------------------------------------------------------------------------------------


def test_peek_finds_the_header_below_a_title(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        "Scadenziario clienti al 31/03/2026\n"
        "Codice cliente;Numero documento;Data scadenza;Importo\n"
        "001;F1;01/03/2026;100,00\n",
        encoding="utf-8",
    )
    top = parsing.peek(path, rows=5)
    assert top.file_format == "csv"
    assert top.header_index == 1  # the title row comes first
    assert top.rows[2] == ["001", "F1", "01/03/2026", "100,00"]
    assert top.columns == {0: "customer_code", 1: "document_number", 2: "due_date", 3: "amount"}


def test_peek_unknown_headers_splits_on_the_likely_delimiter(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Conto|Rif|Scade il|Euro\n001|F1|01/03/2026|100,00\n", encoding="utf-8")
    top = parsing.peek(path)
    assert top.header_index is None and top.columns == {}
    assert top.rows == [["Conto", "Rif", "Scade il", "Euro"], ["001", "F1", "01/03/2026", "100,00"]]
    # With the user's mapping the same row is the header.
    mapping = {"Conto": "customer_code", "Rif": "document_number", "Scade il": "due_date"}
    top = parsing.peek(path, mapping=mapping)
    assert top.header_index == 0
    # The three mapped columns, and "Euro" is not a known header name: not recognised.
    assert top.columns == {0: "customer_code", 1: "document_number", 2: "due_date"}


def test_peek_refuses_what_it_cannot_read(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(parsing.ParseError, match="empty"):
        parsing.peek(empty)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a;b\n" * 100)
    with pytest.raises(parsing.ParseError, match="too large"):
        parsing.peek(big, max_bytes=10)
