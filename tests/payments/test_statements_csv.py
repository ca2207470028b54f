"""CSV bank statements: home banking exports of Italian banks, read with a column mapping."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.ledger.parsing import RowError
from incassa.payments.statements import StatementError
from incassa.payments.statements_csv import (
    CSV_FIELDS,
    match_csv_header,
    read_csv_statement,
)

OWN = "IT60X0542811101000000123456"
ROSSI = "IT66A0306909606100000012345"
VERDI = "IT22K0100503200000000004321"
OTHER = "IT43B0200801600000100200300"


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


# --------------------------------------------------------------------------------------------
# Realistic exports

# Intesa Sanpaolo style: three lines about the account above the header, ';' between cells,
# Italian amounts, money out in "Dare" and money in in "Avere", the short and the extended
# description, balances below the movements, Windows-1252 text.
INTESA = csv_bytes(
    f"Conto corrente;{OWN}",  # row 1
    "Intestatario;Società Esempio S.r.l.",  # row 2
    "Periodo;01/03/2026 - 31/03/2026",  # row 3
    "Data contabile;Data valuta;Descrizione;Dare;Avere;Descrizione estesa",  # row 4
    "02/03/2026;02/03/2026;Bonifico a vostro favore;;1.220,00;"  # row 5
    "BONIFICO SEPA DA ROSSI SRL CAUS: SALDO FT 2026/0123",
    "03/03/2026;03/03/2026;Addebito SDD;-45,50;;ENEL ENERGIA SPA BOLLETTA 03/2026",  # row 6
    "04/03/2026;05/03/2026;Bonifico a vostro favore;;+15.000,00;"  # row 7
    "BONIFICO DA VERDI SOCIETÀ AGRICOLA FT 88",
    "05/03/2026;05/03/2026;Commissioni;1,50;;COMMISSIONI BONIFICO",  # row 8
    "",  # row 9
    "Saldo contabile;;;;16.173,00;",  # row 10
    "Saldo disponibile;;;;16.173,00;",  # row 11
    encoding="cp1252",
)


def test_intesa_like_export_with_info_lines_dare_avere_and_windows_1252() -> None:
    result = read_csv_statement("movimenti.csv", INTESA, account_iban=OWN)

    assert result.errors == []
    assert result.encoding == "cp1252"
    assert result.delimiter == ";"
    assert result.convention == "it"
    # Three account lines above the header: the header is the spreadsheet's row 4.
    assert result.header_row == 4
    assert result.columns == {
        "Data contabile": "booking_date",
        "Data valuta": "value_date",
        "Descrizione": "remittance",
        "Dare": "debit_amount",
        "Avere": "credit_amount",
        "Descrizione estesa": "remittance",
    }
    assert result.unmapped == []
    statement = result.statement
    assert statement is not None
    assert statement.format == "csv"
    assert statement.statement_id == ""
    assert statement.account_iban == OWN
    assert statement.currency == "EUR"
    assert statement.opening_balance is None and statement.closing_balance is None
    # Rows 5-8 are movements; the blank row 9 and the balances on rows 10-11 are not.
    entries = statement.entries
    assert [(e.booking_date, e.value_date) for e in entries] == [
        (dt.date(2026, 3, 2), dt.date(2026, 3, 2)),
        (dt.date(2026, 3, 3), dt.date(2026, 3, 3)),
        (dt.date(2026, 3, 4), dt.date(2026, 3, 5)),
        (dt.date(2026, 3, 5), dt.date(2026, 3, 5)),
    ]
    # "1.220,00" in Avere is 1220.00 in; "-45,50" in Dare is 45.50 out (the minus only says
    # what Dare already says); "+15.000,00" is 15000.00 in; "1,50" in Dare, written without a
    # minus, is 1.50 out all the same.
    assert [(str(e.amount), e.credit) for e in entries] == [
        ("1220.00", True),
        ("45.50", False),
        ("15000.00", True),
        ("1.50", False),
    ]
    # Credits 1220.00 + 15000.00 = 16220.00; debits 45.50 + 1.50 = 47.00.
    assert statement.total_credits == Decimal("16220.00")
    assert statement.total_debits == Decimal("47.00")
    # Both description columns feed the remittance, in file order.
    assert entries[0].remittance == (
        "Bonifico a vostro favore BONIFICO SEPA DA ROSSI SRL CAUS: SALDO FT 2026/0123"
    )
    # The Windows-1252 byte 0xC0 is "À".
    assert entries[2].remittance.endswith("VERDI SOCIETÀ AGRICOLA FT 88")
    assert all(e.currency == "EUR" and e.entry_key.startswith(f"{OWN}:#") for e in entries)
    assert [e.entry_key for e in statement.credits] == [entries[0].entry_key, entries[2].entry_key]


def test_english_comma_separated_export_with_signed_amount() -> None:
    data = csv_bytes(
        "Account,Booking date,Value date,Amount,Currency,Payer,Payer IBAN,Description,Reference",
        f'{OWN},2026-03-02,2026-03-02,"1,220.00",EUR,Rossi Srl,'
        "IT66 A030 6909 6061 0000 0012 345,Invoice 2026/0123,TRN001",
        f"{OWN},2026-03-03,2026-03-04,-45.50,EUR,Enel Energia,,Direct debit March,TRN002",
        f"{OWN},2026-03-04,2026-03-04,0.00,EUR,,,Card fee waived,TRN003",
        f'{OWN},2026-03-05,2026-03-05,980.5,eur,Verdi SpA,{VERDI},"Inv. 12, 13",TRN004',
    )
    result = read_csv_statement("statement.csv", data)

    assert result.errors == []
    assert result.delimiter == ","
    # "1,220.00", "45.50", "0.00" and "980.5" all end in a dot and one or two digits.
    assert result.convention == "en"
    assert result.header_row == 1
    assert result.columns == {
        "Account": "account_iban",
        "Booking date": "booking_date",
        "Value date": "value_date",
        "Amount": "amount",
        "Currency": "currency",
        "Payer": "counterparty_name",
        "Payer IBAN": "counterparty_iban",
        "Description": "remittance",
        "Reference": "bank_reference",
    }
    statement = result.statement
    assert statement is not None
    # No account given: the Account column's single value.
    assert statement.account_iban == OWN
    # The 0.00 row (TRN003) is no movement: skipped, not an error.
    assert result.rows_skipped == 1
    entries = statement.entries
    # "1,220.00" -> 1220.00 in; "-45.50" -> 45.50 out; "980.5" -> 980.50 in (two places).
    assert [(str(e.amount), e.credit) for e in entries] == [
        ("1220.00", True),
        ("45.50", False),
        ("980.50", True),
    ]
    assert entries[0].counterparty_name == "Rossi Srl"
    assert entries[0].counterparty_iban == ROSSI  # spaces taken out
    assert entries[1].counterparty_iban == ""
    assert entries[2].remittance == "Inv. 12, 13"  # the quoted comma is text
    assert entries[2].currency == "EUR"
    # With a bank reference the key is the account and the reference.
    assert [e.entry_key for e in entries] == [f"{OWN}:TRN001", f"{OWN}:TRN002", f"{OWN}:TRN004"]


def test_fineco_like_tab_separated_utf8_bom_with_entrate_uscite() -> None:
    data = "\ufeff" + (
        "Data\tEntrate\tUscite\tDescrizione\tDescrizione_Completa\tStato\n"
        "02/03/2026\t1.220,00\t\tBonifico SEPA\tBonifico SEPA da Rossi Srl FT 123\tContabilizzato\n"
        "03/03/2026\t\t-45,50\tSDD\tAddebito SDD Enel Energia\tContabilizzato\n"
    )
    result = read_csv_statement("fineco.csv", data.encode("utf-8"))

    assert result.errors == []
    assert result.encoding == "utf-8-sig"
    assert result.delimiter == "\t"
    assert result.columns == {
        "Data": "booking_date",
        "Entrate": "credit_amount",
        "Uscite": "debit_amount",
        "Descrizione": "remittance",
        "Descrizione_Completa": "remittance",
    }
    assert result.unmapped == ["Stato"]
    entries = result.statement.entries
    assert [(str(e.amount), e.credit) for e in entries] == [("1220.00", True), ("45.50", False)]
    # The short description is part of the extended one, so it is not repeated.
    assert [e.remittance for e in entries] == [
        "Bonifico SEPA da Rossi Srl FT 123",
        "Addebito SDD Enel Energia",
    ]
    assert entries[0].value_date is None  # no value date column
    # No account given and no account column: the key has an empty account.
    assert entries[0].entry_key.startswith(":#")


def test_bare_valuta_column_is_read_by_its_contents() -> None:
    # Intesa's newer export: "Valuta" holds the currency, not the value date.
    currency = csv_bytes(
        "Data;Operazione;Dettagli;Conto o carta;Contabilizzazione;Valuta;Importo",
        "02/03/2026;Bonifico in entrata;Bonifico da Rossi Srl FT 123;Conto 1000/123456;"
        "Contabilizzato;EUR;1220",
    )
    result = read_csv_statement("intesa.csv", currency)
    assert result.columns["Valuta"] == "currency"
    entry = result.statement.entries[0]
    # "1220" has no decimals: 1220.00 (no convention evidence: Italian).
    assert (str(entry.amount), entry.currency, entry.value_date) == ("1220.00", "EUR", None)
    assert entry.remittance == "Bonifico in entrata Bonifico da Rossi Srl FT 123"
    # Elsewhere "Valuta" holds dates: the value date.
    dates = csv_bytes("Data;Valuta;Importo;Causale", "02/03/2026;03/03/2026;1.220,00;Bonifico")
    result = read_csv_statement("bper.csv", dates)
    assert result.columns["Valuta"] == "value_date"
    assert result.statement.entries[0].value_date == dt.date(2026, 3, 3)


# --------------------------------------------------------------------------------------------
# Mapping

UNKNOWN = csv_bytes(
    "Giorno;Soldi;Testo;Note interne",
    "02/03/2026;1.220,00;Bonifico Rossi FT 123;chiamare",
    "03/03/2026;-45,50;Enel;",
)


def test_unknown_headers_are_refused_naming_the_headers() -> None:
    with pytest.raises(StatementError) as caught:
        read_csv_statement("banca.csv", UNKNOWN)
    message = str(caught.value)
    assert message.startswith("banca.csv: no column for the booking date")
    assert "no column for the amount" in message
    assert "the headers are: Giorno, Soldi, Testo, Note interne" in message


def test_only_the_missing_field_is_named() -> None:
    data = csv_bytes("Data contabile;Causale;Soldi", "02/03/2026;Bonifico;100,00")
    with pytest.raises(StatementError, match="no column for the amount") as caught:
        read_csv_statement("banca.csv", data)
    assert "booking date" not in str(caught.value)
    assert "the headers are: Data contabile, Causale, Soldi" in str(caught.value)


def test_unknown_headers_read_with_a_mapping() -> None:
    mapping = {
        "Giorno": "booking_date",
        "soldi ": "amount",  # headers are compared trimmed and case-insensitively
        "Testo": "remittance",
        "Note interne": "ignore",
    }
    result = read_csv_statement("banca.csv", UNKNOWN, mapping=mapping, account_iban=OWN)
    assert result.errors == []
    assert result.columns == {"Giorno": "booking_date", "Soldi": "amount", "Testo": "remittance"}
    assert result.unmapped == ["Note interne"]
    entries = result.statement.entries
    # "1.220,00" -> 1220.00 in; "-45,50" -> 45.50 out.
    assert [(e.booking_date, str(e.amount), e.credit, e.remittance) for e in entries] == [
        (dt.date(2026, 3, 2), "1220.00", True, "Bonifico Rossi FT 123"),
        (dt.date(2026, 3, 3), "45.50", False, "Enel"),
    ]


def test_mapping_overrides_recognition_and_ignores_columns() -> None:
    data = csv_bytes(
        "Data operazione;Data contabile;Importo;Causale;Descrizione",
        "01/03/2026;02/03/2026;100,00;BONIFICO;Rossi FT 1",
    )
    # Recognised: "Data contabile" is the booking date even after "Data operazione".
    result = read_csv_statement("a.csv", data)
    assert result.columns["Data contabile"] == "booking_date"
    assert result.unmapped == ["Data operazione"]
    assert result.statement.entries[0].booking_date == dt.date(2026, 3, 2)
    assert result.statement.entries[0].remittance == "BONIFICO Rossi FT 1"
    # Mapped: the user says the operation date is the booking date and ignores the causale.
    result = read_csv_statement(
        "a.csv", data, mapping={"Data operazione": "booking_date", "Causale": ""}
    )
    assert result.columns == {
        "Data operazione": "booking_date",
        "Importo": "amount",
        "Descrizione": "remittance",
    }
    assert result.statement.entries[0].booking_date == dt.date(2026, 3, 1)
    assert result.statement.entries[0].remittance == "Rossi FT 1"


def test_bad_mappings_are_refused() -> None:
    with pytest.raises(StatementError, match="unknown field 'importo'"):
        read_csv_statement("a.csv", UNKNOWN, mapping={"Soldi": "importo"})
    with pytest.raises(StatementError, match="Giorno, Testo are all mapped to booking_date"):
        read_csv_statement(
            "a.csv",
            UNKNOWN,
            mapping={"Giorno": "booking_date", "Testo": "booking_date", "Soldi": "amount"},
        )
    assert set(CSV_FIELDS) >= {"booking_date", "amount", "credit_amount", "debit_amount"}


# --------------------------------------------------------------------------------------------
# Rows in error


def test_every_bad_row_is_reported_and_the_good_ones_read() -> None:
    data = csv_bytes(
        "Data contabile;Data valuta;Avere;Dare;Causale",  # row 1
        "02/03/2026;02/03/2026;100,00;;ok",  # row 2: 100.00 in
        "31/02/2026;03/03/2026;50,00;;no 31 February",  # row 3
        "04/03/2026;04/03/2026;12,3,4;;two decimal commas",  # row 4
        "05/03/2026;05/03/2026;;;neither column",  # row 5
        ";06/03/2026;10,00;;no booking date",  # row 6
        "07/03/2026;2026-13-01;10,00;;month 13",  # row 7
        "08/03/2026;08/03/2026;10,00;5,00;both columns",  # row 8
        "09/03/2026;09/03/2026;;20,00;ok",  # row 9: 20.00 out
    )
    result = read_csv_statement("errori.csv", data)

    assert result.errors == [
        RowError(3, "Data contabile", "31/02/2026", "invalid date (31/02/2026)"),
        RowError(4, "Avere", "12,3,4", "not an amount in Italian format (12,3,4)"),
        RowError(5, "Avere / Dare", "", "no amount: both Avere and Dare are empty"),
        RowError(6, "Data contabile", "", "missing booking date"),
        RowError(7, "Data valuta", "2026-13-01", "invalid date (2026-13-01)"),
        RowError(8, "Avere / Dare", "10,00 / 5,00", "both Avere and Dare hold an amount"),
    ]
    entries = result.statement.entries
    assert [(e.booking_date, str(e.amount), e.credit) for e in entries] == [
        (dt.date(2026, 3, 2), "100.00", True),
        (dt.date(2026, 3, 9), "20.00", False),
    ]


def test_row_numbers_are_spreadsheet_rows_and_several_problems_of_a_row_are_all_reported() -> None:
    data = csv_bytes(
        "Estratto conto;Conto 123456",  # row 1
        "Data operazione;Importo;Descrizione",  # row 2
        '02/03/2026;1.000,00;"Bonifico Rossi',  # row 3, first line of a quoted cell...
        'FT 12 e FT 13"',  # ...whose second line is still row 3 in a spreadsheet
        "3 marzo;abc;bad date and amount",  # row 4 (line 5 of the file)
        "04/03/2026;;no amount",  # row 5
    )
    result = read_csv_statement("righe.csv", data)

    assert result.header_row == 2
    assert result.errors == [
        RowError(4, "Data operazione", "3 marzo", "invalid date (3 marzo)"),
        RowError(4, "Importo", "abc", "not an amount (abc)"),
        RowError(5, "Importo", "", "missing amount"),
    ]
    (entry,) = result.statement.entries
    assert entry.remittance == "Bonifico Rossi FT 12 e FT 13"
    assert str(entry.amount) == "1000.00"


def test_a_file_of_bad_rows_has_no_statement_but_every_error() -> None:
    data = csv_bytes("Data contabile;Importo", "xx;1,00", "02/03/2026;yy")
    result = read_csv_statement("a.csv", data)
    assert result.statement is None
    assert [(e.row, e.column) for e in result.errors] == [(2, "Data contabile"), (3, "Importo")]


def test_summary_lines_are_skipped_but_a_payment_of_a_balance_is_read() -> None:
    data = csv_bytes(
        "Data contabile;Importo;Descrizione",
        "Saldo iniziale;1.000,00;",
        "02/03/2026;500,00;Saldo fattura 12",  # a payment "a saldo": a movement
        "Totale movimenti;500,00;",
        ";;Saldo al 31/03/2026: 1.500,00",
        "Closing balance;1.500,00;",
    )
    result = read_csv_statement("a.csv", data)
    assert result.errors == []
    (entry,) = result.statement.entries
    assert (entry.remittance, str(entry.amount)) == ("Saldo fattura 12", "500.00")


# --------------------------------------------------------------------------------------------
# Keys


def test_keys_are_stable_and_tell_identical_payments_apart() -> None:
    data = csv_bytes(
        "Data contabile;Importo;Ordinante;Descrizione",
        "02/03/2026;100,00;Rossi Srl;Acconto",
        "02/03/2026;100,00;Rossi Srl;Acconto",  # the same payment made twice the same day
        "02/03/2026;100,00;Verdi SpA;Acconto",
    )
    first = read_csv_statement("a.csv", data, account_iban=OWN).statement
    again = read_csv_statement("a.csv", data, account_iban=OWN).statement
    keys = [e.entry_key for e in first.entries]
    assert keys == [e.entry_key for e in again.entries]
    # The twin's key is the first one's numbered 2; the third payment hashes differently.
    assert keys[1] == f"{keys[0]}:2"
    assert len(set(keys)) == 3
    assert all(k.startswith(f"{OWN}:#") for k in keys)


# --------------------------------------------------------------------------------------------
# The account


def test_account_column_with_several_accounts_is_refused() -> None:
    data = csv_bytes(
        "IBAN conto;Data contabile;Importo",
        f"{OWN};02/03/2026;100,00",
        f"{OTHER};02/03/2026;100,00",
    )
    with pytest.raises(StatementError, match="holds 2 accounts"):
        read_csv_statement("a.csv", data)


def test_account_column_must_agree_with_the_account_given() -> None:
    data = csv_bytes("IBAN conto;Data contabile;Importo", f"{OWN};02/03/2026;100,00")
    with pytest.raises(StatementError, match=f"of account {OWN}, not of {OTHER}"):
        read_csv_statement("a.csv", data, account_iban=OTHER)
    spaced = " ".join(OWN[i : i + 4] for i in range(0, len(OWN), 4)).lower()
    statement = read_csv_statement("a.csv", data, account_iban=spaced).statement
    assert statement.account_iban == OWN


# --------------------------------------------------------------------------------------------
# Files refused as a whole


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\xef\xbb\xbf \r\n\r\n", "the file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00xl/workbook.xml", r"spreadsheet \(XLSX\)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", r"Excel 97-2003 \(XLS\)"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b'<?xml version="1.0"?><Document/>', "XML or HTML"),
        (b":20:STMT1\r\n:25:IT60X0542811101000000123456\r\n", "MT940"),
        (b"Estratto conto\r\nnessun movimento\r\n", "no header row in the first 30 lines"),
        (b"Data contabile;Importo;Descrizione\r\n", r"no movements below the header \(row 1\)"),
        (b"Data;Importo\r\n\r\nSaldo contabile;0,00\r\n", "no movements below the header"),
    ],
)
def test_whole_file_problems(data: bytes, message: str) -> None:
    with pytest.raises(StatementError, match=message):
        read_csv_statement("file.csv", data)


def test_files_over_the_limit_are_refused() -> None:
    # "Data;Importo" is 12 characters, "02/03/2026;1" 12 more, each ends in CR LF: 28 bytes.
    data = csv_bytes("Data;Importo", "02/03/2026;1")
    with pytest.raises(StatementError, match="28 bytes, more than the 20 accepted"):
        read_csv_statement("file.csv", data, max_bytes=20)


# --------------------------------------------------------------------------------------------
# Headers


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Data contabile", "booking_date"),
        ("DATA CONTABILE", "booking_date"),
        ("data_contabile", "booking_date"),
        ("Data operazione", "booking_date"),
        ("Data Registrazione", "booking_date"),
        ("Booking date", "booking_date"),
        ("Data valuta", "value_date"),
        ("Value Date", "value_date"),
        ("Importo", "amount"),
        ("Importo (€)", "amount"),
        ("Importo (EUR)", "amount"),
        ("Importo in euro", "amount"),
        ("Amount", "amount"),
        ("Avere", "credit_amount"),
        ("Entrate", "credit_amount"),
        ("Accrediti", "credit_amount"),
        ("Credit", "credit_amount"),
        ("Dare", "debit_amount"),
        ("Uscite", "debit_amount"),
        ("Addebiti", "debit_amount"),
        ("Debit", "debit_amount"),
        ("Divisa", "currency"),
        ("Ordinante", "counterparty_name"),
        ("Beneficiario/Ordinante", "counterparty_name"),
        ("Payer", "counterparty_name"),
        ("IBAN ordinante", "counterparty_iban"),
        ("Payer IBAN", "counterparty_iban"),
        ("Descrizione", "remittance"),
        ("Descrizione estesa", "remittance"),
        ("Descrizione operazione", "remittance"),
        ("Causale", "remittance"),
        ("Description", "remittance"),
        ("Riferimento", "bank_reference"),
        ("CRO", "bank_reference"),
        ("trn", "bank_reference"),
        ("Causale ABI", "transaction_code"),
        ("Cod. causale", "transaction_code"),
        ("Città", None),
        ("Saldo", None),
        ("IBAN", None),  # the account's or the counterparty's: ambiguous, left to a mapping
        ("", None),
        ("€", None),
    ],
)
def test_match_csv_header(header: str, field: str | None) -> None:
    assert match_csv_header(header) == field


# --------------------------------------------------------------------------------------------
# Amounts: hypothesis


def italian(cents: int, *, plus: bool, thousands: bool) -> str:
    """An amount as an Italian bank writes it: 123456 -> "1.234,56" (or "1234,56")."""
    sign = "-" if cents < 0 else "+" if plus else ""
    whole, fraction = divmod(abs(cents), 100)
    digits = f"{whole:,}".replace(",", ".") if thousands else str(whole)
    return f"{sign}{digits},{fraction:02d}"


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    st.booleans(),
    st.booleans(),
)
def test_italian_amounts_round_trip(cents: int, plus: bool, thousands: bool) -> None:
    text = italian(cents, plus=plus, thousands=thousands)
    data = csv_bytes("Data contabile;Importo;Descrizione", f"02/03/2026;{text};x")
    result = read_csv_statement("a.csv", data)
    assert result.errors == []
    if cents == 0:
        assert result.statement is None and result.rows_skipped == 1
        return
    (entry,) = result.statement.entries
    expected = Decimal(cents).scaleb(-2)  # the cents, two places: 123456 -> 1234.56
    assert entry.signed_amount == expected
    assert entry.credit == (cents > 0)
    assert entry.amount.as_tuple().exponent == -2
