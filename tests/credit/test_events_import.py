"""Importing credit events from a file: the reader (no database) and the all-or-nothing
service."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from incassa.credit.events_import import (
    EventsImportRejected,
    credit_events_import,
    parse_kind,
    read_events,
)
from incassa.credit.models import DEFAULT_PENALTY, CreditEvent, CustomerCredit
from incassa.credit.services import scores_recompute
from incassa.ledger.parsing import ParseError, RowError
from tests.factories import CompanyFactory, CustomerFactory, ReceivableFactory

HEADER = "Codice cliente;Tipo;Data;Penalità;Rating;Descrizione"


def write(tmp_path: Path, name: str, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


def xlsx(tmp_path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / "eventi.xlsx"
    book.save(path)
    return path


# --- the reader -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("protest", "protest"),
        ("Protesto", "protest"),
        ("PROTESTI", "protest"),
        ("insolvency", "insolvency"),
        ("Insolvenza", "insolvency"),
        ("Procedura concorsuale", "insolvency"),
        ("procedura  concorsuale", "insolvency"),
        ("fallimento", "insolvency"),
        ("balance_sheet", "balance_sheet"),
        ("Bilancio", "balance_sheet"),
        ("rating", "rating"),
        ("Rating", "rating"),
        ("other", "other"),
        ("Altro", "other"),
        ("sequestro", None),
        ("", None),
    ],
)
def test_kinds_in_italian_and_english(word, kind):
    assert parse_kind(word) == kind


def test_an_italian_csv(tmp_path):
    path = write(
        tmp_path,
        "eventi.csv",
        HEADER,
        "00045;protesto;31/03/2026;;;Protesto cambiario",
        "00046;Rating;2026-03-15;40;B-;Rating CRIF",
        "00047;procedura concorsuale;1/2/2026;100;;",
    )
    parsed = read_events(path)
    assert parsed.errors == []
    assert (parsed.file_format, parsed.delimiter, parsed.header_row) == ("csv", ";", 1)
    assert parsed.columns == {
        "Codice cliente": "customer_code",
        "Tipo": "kind",
        "Data": "on_date",
        "Penalità": "penalty",
        "Rating": "rating",
        "Descrizione": "description",
    }
    assert parsed.rows_read == 3
    assert [(r.row, r.customer_code, r.kind, r.on_date, r.penalty) for r in parsed.rows] == [
        (2, "00045", "protest", dt.date(2026, 3, 31), None),  # empty: the kind's default
        (3, "00046", "rating", dt.date(2026, 3, 15), 40),
        (4, "00047", "insolvency", dt.date(2026, 2, 1), 100),
    ]
    assert (parsed.rows[1].rating, parsed.rows[1].description) == ("B-", "Rating CRIF")
    assert (parsed.rows[2].rating, parsed.rows[2].description) == ("", "")


def test_an_english_csv_with_commas_and_only_the_required_columns(tmp_path):
    path = write(tmp_path, "events.csv", "Customer code,Kind,Date", "C1,balance_sheet,2026-03-31")
    parsed = read_events(path)
    assert parsed.delimiter == ","
    assert [(r.customer_code, r.kind, r.on_date, r.penalty) for r in parsed.rows] == [
        ("C1", "balance_sheet", dt.date(2026, 3, 31), None)
    ]


def test_title_rows_blank_rows_and_a_windows_encoding(tmp_path):
    path = write(
        tmp_path,
        "eventi.csv",
        "Eventi creditizi al 31/03/2026",
        "",
        HEADER,
        "00045;protesto;31/03/2026;;;Società insolvente",
        ";;;;;",
        "00046;altro;30/03/2026;5;;",
        encoding="cp1252",
    )
    parsed = read_events(path)
    assert parsed.errors == []
    assert parsed.encoding == "cp1252"
    assert parsed.header_row == 3
    # Rows are numbered as lines of the file; the blank row is ignored.
    assert [r.row for r in parsed.rows] == [4, 6]
    assert parsed.rows_ignored == 1
    assert parsed.rows[0].description == "Società insolvente"


def test_rows_are_numbered_as_lines_also_after_a_cell_on_two_lines(tmp_path):
    path = write(
        tmp_path,
        "eventi.csv",
        HEADER,
        '00045;protesto;31/03/2026;;;"Protesto\nsecondo assegno"',
        "00046;altro;30/03/2026;;;",
        "00047;boh;30/03/2026;;;",
    )
    parsed = read_events(path)
    # The description spans lines 2 and 3: the next rows are lines 4 and 5.
    assert [r.row for r in parsed.rows] == [2, 4]
    assert parsed.rows[0].description == "Protesto\nsecondo assegno"
    assert [(e.row, e.value) for e in parsed.errors] == [(5, "boh")]


def test_a_spreadsheet_with_real_dates_and_numbers(tmp_path):
    path = xlsx(
        tmp_path,
        [
            ["Codice cliente", "Evento", "Data evento", "Penalità", "Note"],
            ["00045", "Protesto", dt.datetime(2026, 3, 31), None, "Assegno"],
            ["00046", "Rating", "15/03/2026", 35, None],
        ],
    )
    parsed = read_events(path)
    assert parsed.errors == []
    assert parsed.file_format == "xlsx"
    assert [(r.row, r.kind, r.on_date, r.penalty, r.description) for r in parsed.rows] == [
        (2, "protest", dt.date(2026, 3, 31), None, "Assegno"),
        (3, "rating", dt.date(2026, 3, 15), 35, ""),
    ]


def test_every_bad_row_is_reported_with_row_column_value_and_reason(tmp_path):
    path = write(
        tmp_path,
        "eventi.csv",
        HEADER,
        "00045;protesto;31/03/2026;;;",  # good
        "00046;sequestro;31/03/2026;;;",  # unknown kind
        "00047;rating;31/02/2026;;;",  # no such day
        "00048;rating;31/03/2026;101;;",  # penalty out of range
        "00049;rating;31/03/2026;alta;;",  # not a number
        "00050;rating;31/03/2026;12,5;;",  # not a whole number
        ";;31/03/2026;;;",  # no customer, no kind
        "00051;rating;;-1;ABCDEFGHIJKLMNOPQRSTU;",  # no date, penalty < 0, rating too long
    )
    parsed = read_events(path)
    assert [r.row for r in parsed.rows] == [2]
    assert [(e.row, e.column, e.value) for e in parsed.errors] == [
        (3, "Tipo", "sequestro"),
        (4, "Data", "31/02/2026"),
        (5, "Penalità", "101"),
        (6, "Penalità", "alta"),
        (7, "Penalità", "12,5"),
        (8, "Codice cliente", ""),
        (8, "Tipo", ""),
        (9, "Data", ""),
        (9, "Penalità", "-1"),
        (9, "Rating", "ABCDEFGHIJKLMNOPQRSTU"),
    ]
    reasons = {(e.row, e.column): e.reason for e in parsed.errors}
    assert reasons[(3, "Tipo")].startswith("unknown kind")
    assert reasons[(4, "Data")].startswith("invalid date")
    assert reasons[(5, "Penalità")] == "penalty out of range: it must be from 0 to 100"
    assert reasons[(6, "Penalità")].startswith("invalid penalty")
    assert reasons[(7, "Penalità")].startswith("invalid penalty")
    assert reasons[(8, "Codice cliente")] == "missing customer code"
    assert reasons[(8, "Tipo")] == "missing kind"
    assert reasons[(9, "Data")] == "missing date"
    assert reasons[(9, "Penalità")].startswith("penalty out of range")
    assert reasons[(9, "Rating")] == "longer than 20 characters"


def test_the_same_event_twice_in_a_file_is_an_error(tmp_path):
    path = write(
        tmp_path,
        "eventi.csv",
        HEADER,
        "00045;protesto;31/03/2026;;;",
        "00045;Protesto;2026-03-31;;;",
    )
    parsed = read_events(path)
    assert parsed.errors == [RowError(3, "", "", "duplicate of row 2 (the same event)")]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "the file is empty"),
        (["Foo;Bar", "1;2"], "no header row found"),
        (["Codice cliente;Tipo;Penalità", "1;protesto;"], "lacks the column(s) Data"),
        (["Codice cliente;Data", "1;31/03/2026"], "lacks the column(s) Tipo"),
        ([HEADER], "no data rows below the header"),
    ],
)
def test_a_file_that_cannot_be_read(tmp_path, lines, message):
    path = tmp_path / "eventi.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ParseError, match=re.escape(message)):
        read_events(path)


def test_a_file_too_large(tmp_path):
    path = write(tmp_path, "eventi.csv", HEADER, "00045;protesto;31/03/2026;;;")
    with pytest.raises(ParseError, match="too large"):
        read_events(path, max_bytes=10)


def test_a_damaged_spreadsheet(tmp_path):
    path = tmp_path / "eventi.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ParseError, match="damaged"):
        read_events(path)


# --- the import -------------------------------------------------------------------------------


@pytest.fixture
def customers(company):
    return {code: CustomerFactory(company=company, code=code) for code in ("00045", "00046")}


GOOD = [
    HEADER,
    "00045;protesto;10/03/2026;;;Protesto cambiario",
    "00045;Rating;2026-03-15;40;B-;Rating CRIF",
    "00046;procedura concorsuale;01/02/2026;;;Concordato preventivo",
    "00046;bilancio;31/12/2025;;;",
]


def test_good_rows_are_all_recorded(tmp_path, company, customers, user_with_membership):
    result = credit_events_import(
        company=company, path=write(tmp_path, "eventi.csv", *GOOD), user=user_with_membership
    )
    assert result.as_dict() == {
        "status": "applied",
        "file": "eventi.csv",
        "rows_read": 4,
        "created": 4,
        "already_recorded": 0,
        "by_kind": {"balance_sheet": 1, "insolvency": 1, "protest": 1, "rating": 1},
    }
    events = {(e.customer.code, e.kind): e for e in CreditEvent.objects.select_related("customer")}
    # The default penalties of the kinds where the file gives none; the rating's 40 as given.
    assert {key: e.penalty for key, e in events.items()} == {
        ("00045", "protest"): DEFAULT_PENALTY["protest"],
        ("00045", "rating"): 40,
        ("00046", "insolvency"): DEFAULT_PENALTY["insolvency"],
        ("00046", "balance_sheet"): DEFAULT_PENALTY["balance_sheet"],
    }
    rating = events[("00045", "rating")]
    assert (rating.on_date, rating.rating, rating.description) == (
        dt.date(2026, 3, 15),
        "B-",
        "Rating CRIF",
    )
    assert rating.source == "import eventi.csv"
    assert rating.created_by == user_with_membership


def test_importing_the_same_file_again_records_nothing_new(tmp_path, company, customers):
    path = write(tmp_path, "eventi.csv", *GOOD)
    credit_events_import(company=company, path=path)
    again = credit_events_import(company=company, path=path)
    assert (again.created, again.already_recorded) == (0, 4)
    assert CreditEvent.objects.count() == 4


def test_one_bad_row_and_nothing_is_written(tmp_path, company, customers):
    path = write(
        tmp_path,
        "eventi.csv",
        *GOOD,
        "99999;protesto;10/03/2026;;;",  # unknown customer
        "00046;sequestro;31/02/2026;150;;",  # unknown kind, bad date, penalty out of range
    )
    with pytest.raises(EventsImportRejected) as info:
        credit_events_import(company=company, path=path)
    assert not CreditEvent.objects.exists()
    assert str(info.value) == "4 problem(s) in 2 row(s) of eventi.csv: nothing was imported"
    assert [(e.row, e.column, e.value) for e in info.value.errors] == [
        (6, "Codice cliente", "99999"),
        (7, "Tipo", "sequestro"),
        (7, "Data", "31/02/2026"),
        (7, "Penalità", "150"),
    ]
    assert info.value.errors[0].reason == "unknown customer"
    assert info.value.exit_code == 2
    data = info.value.as_dict()
    assert (data["status"], data["errors_total"]) == ("rejected", 4)
    assert data["errors"][0] == {
        "row": 6,
        "column": "Codice cliente",
        "value": "99999",
        "reason": "unknown customer",
    }


def test_an_unknown_customer_is_reported_with_the_rows_other_problems(tmp_path, company, customers):
    path = write(tmp_path, "eventi.csv", HEADER, "99999;protesto;32/03/2026;;;")
    with pytest.raises(EventsImportRejected) as info:
        credit_events_import(company=company, path=path)
    assert [(e.column, e.reason.split(":")[0]) for e in info.value.errors] == [
        ("Codice cliente", "unknown customer"),
        ("Data", "invalid date"),
    ]


def test_customers_of_another_company_are_unknown(tmp_path, company, customers):
    other = CompanyFactory(code="other")
    CustomerFactory(company=other, code="77777")
    path = write(tmp_path, "eventi.csv", HEADER, "77777;protesto;10/03/2026;;;")
    with pytest.raises(EventsImportRejected) as info:
        credit_events_import(company=company, path=path)
    assert info.value.errors[0].reason == "unknown customer"


def test_an_unreadable_file_is_rejected_without_rows(tmp_path, company):
    path = write(tmp_path, "eventi.csv", "Foo;Bar", "1;2")
    with pytest.raises(EventsImportRejected, match="no header row found") as info:
        credit_events_import(company=company, path=path)
    assert info.value.errors == []


def test_an_imported_insolvency_lowers_the_score(tmp_path, company, customers):
    # 00045 owes 1.000, due 31/03/2026 (not late on 31/03), seen since 01/03/2026 (30 days):
    # no history (days late, late share, trend neutral: 50), nothing overdue, seniority
    # 100 x 30 ÷ 1825 = 1.64: 15 + 10 + 5 + 15 + 0.16 + 5 + 5 + 5 = 60.16 -> 60.2
    ReceivableFactory(
        company=company,
        customer=customers["00045"],
        due_date=dt.date(2026, 3, 31),
        first_seen_on=dt.date(2026, 3, 1),
    )
    scores_recompute(company=company, as_of=dt.date(2026, 3, 31))
    assert CustomerCredit.objects.get(customer=customers["00045"]).score == Decimal("60.2")
    credit_events_import(
        company=company,
        path=write(tmp_path, "eventi.csv", HEADER, "00045;insolvenza;10/03/2026;;;"),
    )
    scores_recompute(company=company, as_of=dt.date(2026, 3, 31))
    # An insolvency proceeding weighs 100: the external component falls from 100 to 0,
    # weight 5: 5 points less, 55.16 -> 55.2
    assert CustomerCredit.objects.get(customer=customers["00045"]).score == Decimal("55.2")
