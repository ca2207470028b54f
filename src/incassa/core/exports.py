"""Safe values for files that users open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

_NUMBER = re.compile(r"^[+-]?[\d.,\s]+$")


def neutralize_formula(value: object) -> object:
    """Keep a cell that a spreadsheet would run as a formula as plain text.

    A customer named ``=HYPERLINK(...)`` must stay text (OWASP "CSV injection"). Signed
    numbers such as ``-120,00`` are left alone, since they are data that users re-import.
    """
    if not isinstance(value, str) or not value:
        return value
    first = value[0]
    if first in "=@\t\r" or (first in "+-" and not _NUMBER.match(value)):
        return "'" + value
    return value


def rows_to_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A CSV as Italian Excel opens it: UTF-8 with a BOM, ``;`` between cells, amounts with
    a decimal comma, dates as dd/mm/yyyy; every text cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralize_formula(h) for h in headers])
    for row in rows:
        writer.writerow([_csv_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return neutralize_formula(value)


def rows_to_xlsx(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, sheet: str = "Incassa"
) -> bytes:
    """An Excel workbook with typed cells: amounts as numbers with two decimals, dates as
    dates, text written as text (a string is never taken as a formula by the writer, and is
    neutralised as well, for those who copy it into another sheet)."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    day = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for column, header in enumerate(headers):
        worksheet.write_string(0, column, str(header), bold)
    for index, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, Decimal):
                worksheet.write_number(index, column, float(value), money)
            elif isinstance(value, bool):
                worksheet.write_boolean(index, column, value)
            elif isinstance(value, int | float):
                worksheet.write_number(index, column, value)
            elif isinstance(value, dt.date):
                worksheet.write_datetime(
                    index, column, dt.datetime(value.year, value.month, value.day), day
                )
            else:
                worksheet.write_string(index, column, str(neutralize_formula(str(value))))
    worksheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()
