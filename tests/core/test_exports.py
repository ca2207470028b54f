"""Formula neutralisation of values written to files that users open in a spreadsheet."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from incassa.core.exports import neutralize_formula, rows_to_csv, rows_to_xlsx


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\tTAB", "'\tTAB"),
        ("-120,00", "-120,00"),
        ("+1.234,56", "+1.234,56"),
        ("Rossi S.r.l.", "Rossi S.r.l."),
        ("", ""),
        (None, None),
        (42, 42),
    ],
)
def test_neutralize_formula(value, expected):
    assert neutralize_formula(value) == expected


ROWS = [
    ["F1", '=HYPERLINK("http://x")', Decimal("1234.50"), dt.date(2026, 3, 31), 7],
    ["F2", "Rossi S.r.l.", Decimal("-20.00"), None, 0],
]
HEADERS = ["Documento", "Cliente", "Importo", "Scadenza", "Giorni"]


def test_csv_for_italian_excel():
    data = rows_to_csv(HEADERS, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM tells Excel it is UTF-8
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Documento;Cliente;Importo;Scadenza;Giorni"
    # The formula is quoted by the CSV writer (it holds quotes) and starts with an apostrophe.
    assert lines[1] == 'F1;"\'=HYPERLINK(""http://x"")";1234,50;31/03/2026;7'
    assert lines[2] == "F2;Rossi S.r.l.;-20,00;;0"


def test_xlsx_cells_are_typed_and_text_stays_text():
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(rows_to_xlsx(HEADERS, ROWS))).active
    assert [c.value for c in sheet[1]] == HEADERS
    document, customer, amount, due, days = sheet[2]
    assert document.value == "F1"
    assert customer.data_type == "s" and customer.value == '\'=HYPERLINK("http://x")'
    assert amount.value == 1234.5 and amount.number_format == "#,##0.00"
    assert due.value == dt.datetime(2026, 3, 31) and due.number_format == "dd/mm/yyyy"
    assert days.value == 7
    assert sheet["D3"].value is None  # no due date: an empty cell
