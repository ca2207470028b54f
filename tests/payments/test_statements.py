"""Bank statement readers: camt.053, camt.054 and MT940 files as Italian banks deliver them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incassa.payments.statements import (
    Statement,
    StatementError,
    format_mt940_amount,
    parse_mt940_amount,
    read_statement,
    read_statements,
)

DATA = Path(__file__).parent / "data"
OWN = "IT60X0542811101000000123456"
ROSSI = "IT66A0306909606100000012345"
ENEL = "IT43B0200801600000100200300"
VERDI = "IT22K0100503200000000004321"
NERI = "IT78Z0760101600000012345678"
BIANCHI = "IT39C0503401633000000009876"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def camt(
    entries: str, balances: str = "", root: str = "BkToCstmrStmt", part: str = "Stmt"
) -> bytes:
    """A minimal camt.053.001.02 document around the given balances and entries."""
    kind = "053" if part == "Stmt" else "054"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{kind}.001.02">
  <{root}><GrpHdr><MsgId>M</MsgId></GrpHdr>
    <{part}><Id>S1</Id>
      <Acct><Id><IBAN>{OWN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      {balances}
      {entries}
    </{part}>
  </{root}>
</Document>""".encode()


def bal(code: str, amount: str, indicator: str = "CRDT") -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy='EUR'>{amount}</Amt>"
        f"<CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>"
    )


def ntry(amount: str, indicator: str = "CRDT", details: str = "", ref: str = "") -> str:
    ref_el = f"<AcctSvcrRef>{ref}</AcctSvcrRef>" if ref else ""
    return (
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>BOOK</Sts>"
        f"<BookgDt><Dt>2026-03-31</Dt></BookgDt><ValDt><Dt>2026-03-31</Dt></ValDt>{ref_el}"
        f"{details}</Ntry>"
    )


def mt940(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("latin-1")


# --------------------------------------------------------------------------------------------
# camt.053


def test_camt053_statement_header_and_balances() -> None:
    statement = read_statement("camt053_001_02.xml", data("camt053_001_02.xml"))
    assert statement.format == "camt.053"
    assert statement.version == "camt.053.001.02"
    assert statement.account_iban == OWN
    assert statement.account_id == OWN
    assert statement.currency == "EUR"
    assert statement.sequence == "62"
    assert statement.opening_date == statement.closing_date == dt.date(2026, 3, 31)
    # 10,000.00 + (1,220.00 + 500.50 + 1,500.00 + 500.00) - 300.00 = 13,420.50
    assert statement.opening_balance == Decimal("10000.00")
    assert statement.total_credits == Decimal("3720.50")
    assert statement.total_debits == Decimal("300.00")
    assert statement.closing_balance == Decimal("13420.50")
    # Four booked entries, the last a batch of two: five transactions.
    assert len(statement.entries) == 5
    assert len(statement.credits) == 4


def test_camt053_structured_remittance() -> None:
    first = read_statement("s.xml", data("camt053_001_02.xml")).entries[0]
    assert first.credit and not first.debit
    assert first.amount == first.signed_amount == Decimal("1220.00")
    assert first.booking_date == first.value_date == dt.date(2026, 3, 31)
    assert first.counterparty_name == "Rossi Forniture S.r.l."
    assert first.counterparty_iban == ROSSI
    assert first.references == ("FT 2026/0123", "RF18539007547034")
    assert first.remittance == ""
    assert first.end_to_end_id == "E2E-ROSSI-0001"
    assert first.bank_reference == "2026033100001"
    assert first.additional_info == "BONIFICO SEPA A VOSTRO FAVORE"
    assert first.transaction_code == "PMNT/RCDT/ESCT"
    assert first.entry_key == f"{OWN}:2026033100001"


def test_camt053_unstructured_remittance_is_concatenated() -> None:
    second = read_statement("s.xml", data("camt053_001_02.xml")).entries[1]
    # Two Ustrd lines joined with a space; the payer's IBAN written in groups is compacted.
    assert second.remittance == "SALDO FATT. N. 45/2026 E 46/2026 ACCONTO"
    assert second.counterparty_iban == BIANCHI
    assert second.value_date == dt.date(2026, 3, 30)
    # "NOTPROVIDED" is SEPA's placeholder, not an identifier.
    assert second.end_to_end_id == ""


def test_camt053_debit_names_the_payee() -> None:
    debit = read_statement("s.xml", data("camt053_001_02.xml")).entries[2]
    assert debit.debit
    assert debit.amount == Decimal("300.00")
    assert debit.signed_amount == Decimal("-300.00")
    # For a debit the counterparty is the creditor, not our own company (the Dbtr).
    assert debit.counterparty_name == "Enel Energia S.p.A."
    assert debit.counterparty_iban == ENEL
    assert debit.remittance == "BOLLETTA 03/2026"


def test_camt053_batch_becomes_one_entry_per_transaction() -> None:
    verdi, neri = read_statement("s.xml", data("camt053_001_02.xml")).entries[3:]
    # 1,500.00 + 500.00 = the entry's 2,000.00
    assert (verdi.amount, neri.amount) == (Decimal("1500.00"), Decimal("500.00"))
    assert (verdi.counterparty_name, neri.counterparty_name) == (
        "Verdi S.r.l.",
        "Neri & Figli S.n.c.",
    )
    assert (verdi.counterparty_iban, neri.counterparty_iban) == (VERDI, NERI)
    assert verdi.remittance == "FT 2026/0200"
    assert neri.remittance == "Fatt. n. 201 del 15/03/2026"
    assert verdi.additional_info == neri.additional_info == "DISTINTA BONIFICI IN ARRIVO"
    # The batch shares one bank reference: each transaction is numbered to keep its own key.
    assert verdi.bank_reference == "2026033100004/1"
    assert neri.entry_key == f"{OWN}:2026033100004/2"


def test_camt053_keys_are_unique_and_stable() -> None:
    once = read_statement("s.xml", data("camt053_001_02.xml"))
    again = read_statement("s.xml", data("camt053_001_02.xml"))
    keys = [e.entry_key for e in once.entries]
    assert len(set(keys)) == 5
    assert keys == [e.entry_key for e in again.entries]


def test_camt053_version_08_names_under_pty_and_pending_entries() -> None:
    statement = read_statement("camt053_001_08.xml", data("camt053_001_08.xml"))
    assert statement.version == "camt.053.001.08"
    # PRCD (previously closed booked) serves as the opening balance.
    assert statement.opening_balance == Decimal("1000.00")
    assert statement.opening_date == dt.date(2026, 3, 31)
    booked, pending = statement.entries
    assert booked.counterparty_name == "Gialli S.r.l."
    # Booking date given as a date-time: its date part.
    assert booked.booking_date == dt.date(2026, 4, 1)
    # The transaction's own AcctSvcrRef wins over the entry's.
    assert booked.bank_reference == "A08-0001-TX"
    assert pending.status == "PDNG"
    # 1,000.00 + 250.00 = 1,250.00: the pending 99.00 does not count.
    assert statement.total_credits == Decimal("250.00")
    assert statement.closing_balance == Decimal("1250.00")
    # Without a bank reference the key is a hash of the entry's content.
    assert pending.entry_key.startswith(f"{OWN}:#")


def test_camt053_debit_balance_is_negative() -> None:
    # Overdrawn: -100.00 + 250.00 - 50.00 = 100.00
    statement = read_statement(
        "o.xml",
        camt(
            ntry("250.00", ref="R1") + ntry("50.00", "DBIT", ref="R2"),
            bal("OPBD", "100.00", "DBIT") + bal("CLBD", "100.00"),
        ),
    )
    assert statement.opening_balance == Decimal("-100.00")
    assert statement.closing_balance == Decimal("100.00")


def test_camt053_several_statements_in_one_file() -> None:
    doc = camt(ntry("10.00", ref="A"), bal("OPBD", "0") + bal("CLBD", "10.00"))
    second = (
        f"<Stmt><Id>S2</Id><Acct><Id><IBAN>{OWN}</IBAN></Id><Ccy>EUR</Ccy></Acct>"
        f"{bal('OPBD', '10.00')}{bal('CLBD', '15.00')}{ntry('5.00', ref='B')}</Stmt>"
    )
    doc = doc.replace(b"</BkToCstmrStmt>", second.encode() + b"</BkToCstmrStmt>")
    assert [s.statement_id for s in read_statements("x.xml", doc)] == ["S1", "S2"]
    joined = read_statement("x.xml", doc)
    # Opening of the first (0), closing of the second (15.00 = 0 + 10.00 + 5.00).
    assert (joined.opening_balance, joined.closing_balance) == (Decimal("0"), Decimal("15.00"))
    assert joined.statement_id == "S1, S2"
    assert len(joined.entries) == 2


def test_camt_without_transaction_details() -> None:
    (entry,) = read_statement("x.xml", camt(ntry("42.00", ref="Q"))).entries
    assert entry.amount == Decimal("42.00")
    assert entry.counterparty_name == ""
    assert entry.entry_key == f"{OWN}:Q"


def test_identical_entries_without_reference_get_distinct_keys() -> None:
    statement = read_statement("x.xml", camt(ntry("10.00") + ntry("10.00")))
    first, second = (e.entry_key for e in statement.entries)
    assert second == f"{first}:2"


# --------------------------------------------------------------------------------------------
# camt.054


def test_camt054_credit_notification() -> None:
    statement = read_statement("camt054_001_02.xml", data("camt054_001_02.xml"))
    assert statement.format == "camt.054"
    assert statement.statement_id == "NTF-20260401-77-1"
    # Notifications carry no balances, so there is nothing to check them against.
    assert statement.opening_balance is None and statement.closing_balance is None
    (entry,) = statement.entries
    assert entry.credit and entry.amount == Decimal("732.00")
    # The debtor, not the ultimate debtor, is who paid from the account.
    assert entry.counterparty_name == "Studio Associato Blu"
    assert entry.counterparty_iban == ENEL
    assert entry.remittance == "PAGAMENTO FT 2026/0311 E FT 2026/0312"
    assert entry.transaction_code == "48"
    assert entry.entry_key == f"{OWN}:0306-20260401-000077"


def test_camt054_ultimate_debtor_when_no_debtor() -> None:
    details = (
        "<NtryDtls><TxDtls><RltdPties><UltmtDbtr><Nm>Solo Ultimo</Nm></UltmtDbtr></RltdPties>"
        "</TxDtls></NtryDtls>"
    )
    doc = camt(ntry("5.00", details=details), root="BkToCstmrDbtCdtNtfctn", part="Ntfctn")
    assert read_statement("n.xml", doc).entries[0].counterparty_name == "Solo Ultimo"


# --------------------------------------------------------------------------------------------
# MT940


def test_mt940_two_statements() -> None:
    first, second = read_statements("mt940_two_days.sta", data("mt940_two_days.sta"))
    assert (first.statement_id, second.statement_id) == ("STMT260330", "STMT260331")
    assert (first.sequence, second.sequence) == ("61/1", "62/1")
    assert first.format == "mt940"
    assert first.account_iban == OWN
    # Day 1: 10,000.00 + 1,220.00 - 300.00 = 10,920.00
    assert first.opening_balance == Decimal("10000.00")
    assert first.opening_date == dt.date(2026, 3, 27)
    assert first.closing_balance == Decimal("10920.00")
    # Day 2: 10,920.00 + 500.50 + 1,234.56 = 12,655.06
    assert second.opening_balance == Decimal("10920.00")
    assert second.closing_balance == Decimal("12655.06")
    assert second.closing_date == dt.date(2026, 3, 31)


def test_mt940_file_read_as_one_statement() -> None:
    statement = read_statement("mt940_two_days.sta", data("mt940_two_days.sta"))
    assert statement.opening_balance == Decimal("10000.00")
    assert statement.closing_balance == Decimal("12655.06")
    assert statement.statement_id == "STMT260330, STMT260331"
    assert len(statement.entries) == 4
    assert len({e.entry_key for e in statement.entries}) == 4


def test_mt940_italian_free_text() -> None:
    rossi, enel = read_statements("m.sta", data("mt940_two_days.sta"))[0].entries
    # :61:2603300330CR1220,00...: value 30/03, entry 03/30, credit (C, funds code R).
    assert rossi.credit and rossi.amount == Decimal("1220.00")
    assert rossi.value_date == rossi.booking_date == dt.date(2026, 3, 30)
    # The first :86: line was cut at 65 characters inside "IBAN": joined back without space.
    assert rossi.remittance.endswith("IBAN IT66A0306909606100000012345 CAUS: SALDO FT 2026/0123")
    assert rossi.counterparty_iban == ROSSI
    assert rossi.counterparty_name == "ROSSI FORNITURE SRL"
    assert rossi.bank_reference == "2026033000011"
    # NONREF is no reference.
    assert rossi.end_to_end_id == ""
    assert rossi.transaction_code == "NTRF"
    assert enel.debit and enel.amount == Decimal("300.00")
    assert enel.remittance == "ADDEBITO SDD ENEL ENERGIA SPA BOLLETTA 03/2026"
    assert enel.end_to_end_id == "SDD-ENEL-0326"
    assert enel.counterparty_iban == ""


def test_mt940_structured_subfields_and_keywords() -> None:
    bianchi, verdi = read_statements("m.sta", data("mt940_two_days.sta"))[1].entries
    # ?20 is 27 characters, cut mid-number: "46" + "/2026" joined without a space.
    assert bianchi.remittance == "SALDO FATT. N. 45/2026 E 46/2026 ACCONTO"
    assert bianchi.counterparty_name == "BIANCHI SPA"
    assert bianchi.counterparty_iban == BIANCHI
    assert bianchi.additional_info == "BONIFICO SEPA"
    assert bianchi.amount == Decimal("500.50")
    assert verdi.remittance == "FT 2026/0200 E FT 2026/0201"
    assert verdi.counterparty_name == "VERDI SRL"
    assert verdi.counterparty_iban == VERDI
    assert verdi.end_to_end_id == "E2E-0042"
    assert verdi.amount == Decimal("1234.56")


def test_mt940_swift_envelope_reversal_and_year_end() -> None:
    text = (
        "{1:F01BPMOIT22AXXX0000000000}{2:O9400000000000BPMOIT22XXXX00000000000000000000N}"
        "{4:\n"
        ":20:YEAREND\n"
        f":25:BPMOIT22/{OWN}\n"
        ":28C:1/1\n"
        ":60F:D251231EUR50,00\n"
        # Value 31/12/2025, booked 02/01: the entry date belongs to the next year.
        ":61:2512310102C100,00NTRFNONREF\n"
        ":86:?00GIROCONTO?20RIMBORSO?32ALFA SRL\n"
        # A reversal of a debit (RD) gives money back: a credit of 20,00.
        ":61:260102RD20,00NMSC\n"
        # A reversal of a credit (RC) takes money away: a debit of 5,00.
        ":61:260102RC5,NCHGNONREF\n"
        ":62F:C260102EUR65,00\n"
        "-}"
    )
    (statement,) = read_statements("e.sta", text.encode())
    # -50.00 + 100.00 + 20.00 - 5.00 = 65.00
    assert statement.opening_balance == Decimal("-50.00")
    assert statement.closing_balance == Decimal("65.00")
    assert statement.account_iban == OWN
    refund, reversal, charge = statement.entries
    assert refund.value_date == dt.date(2025, 12, 31)
    assert refund.booking_date == dt.date(2026, 1, 2)
    assert refund.counterparty_name == "ALFA SRL"
    assert refund.remittance == "RIMBORSO"
    assert reversal.credit and reversal.amount == Decimal("20.00")
    assert charge.debit and charge.amount == Decimal("5")
    assert charge.transaction_code == "NCHG"


def test_mt940_account_without_iban_and_intermediate_balances() -> None:
    doc = mt940(
        ":20:P1",
        ":25:05428/000000123456",
        ":28C:7/2",
        ":60M:C260331EUR1,00",
        ":61:260331C1,00NTRFNONREF",
        ":62M:C260331EUR2,00",
    )
    statement = read_statement("p.sta", doc)
    assert statement.account_iban == ""
    assert statement.account_id == "05428/000000123456"
    # 1,00 + 1,00 = 2,00
    assert statement.closing_balance == Decimal("2.00")
    # Without bank reference: a content hash.
    assert statement.entries[0].entry_key.startswith("05428/000000123456:#")


def test_mt940_windows_1252_text() -> None:
    doc = (
        ":20:A\n:25:" + OWN + "\n:60F:C260331EUR0,00\n:61:260331C3,00NTRF//X1\n"
        ":86:PAGAMENTO SOCIETÀ COOPERATIVA\n:62F:C260331EUR3,00\n"
    ).encode("cp1252")
    entry = read_statement("w.sta", doc).entries[0]
    assert entry.remittance == "PAGAMENTO SOCIETÀ COOPERATIVA"


# --------------------------------------------------------------------------------------------
# Amounts: hypothesis


def test_mt940_amount_examples() -> None:
    assert parse_mt940_amount("1234,56") == Decimal("1234.56")
    assert parse_mt940_amount("0,5") == Decimal("0.5")
    assert parse_mt940_amount("100,") == Decimal("100")
    assert format_mt940_amount(Decimal("1234.56")) == "1234,56"
    assert format_mt940_amount(Decimal("7")) == "7,"
    for bad in ("1.234,56", "1234.56", "-5,00", "12", ",50", "1234,56EUR", "1234567890123456,"):
        with pytest.raises(StatementError):
            parse_mt940_amount(bad)
    with pytest.raises(ValueError):
        format_mt940_amount(Decimal("-1"))


@given(st.integers(min_value=0, max_value=10**11), st.integers(min_value=0, max_value=99))
def test_mt940_amount_is_euros_comma_cents(euros: int, cents: int) -> None:
    text = f"{euros},{cents:02d}"
    assert parse_mt940_amount(text) == Decimal(euros) + Decimal(cents) / 100


@given(st.decimals(min_value=0, max_value=10**11, places=2, allow_nan=False))
def test_mt940_amount_round_trip(amount: Decimal) -> None:
    assert parse_mt940_amount(format_mt940_amount(amount)) == amount


@given(st.text(alphabet="0123456789,.- ", max_size=16))
def test_mt940_amount_never_crashes(text: str) -> None:
    try:
        value = parse_mt940_amount(text)
    except StatementError:
        return
    assert value >= 0
    assert "." not in text and "-" not in text


movements = st.lists(
    st.tuples(st.booleans(), st.decimals(min_value="0.01", max_value="99999.99", places=2)),
    max_size=12,
)


@given(st.decimals(min_value="-50000", max_value="50000", places=2), movements)
def test_mt940_statement_round_trip(opening: Decimal, moves: list[tuple[bool, Decimal]]) -> None:
    closing = opening + sum((a if c else -a for c, a in moves), Decimal(0))

    def balance(tag: str, value: Decimal) -> str:
        return f":{tag}:{'C' if value >= 0 else 'D'}260331EUR{format_mt940_amount(abs(value))}"

    lines = [":20:RT", f":25:{OWN}", ":28C:1/1", balance("60F", opening)]
    for n, (credit, amount) in enumerate(moves):
        lines.append(f":61:260331{'C' if credit else 'D'}{format_mt940_amount(amount)}NTRF//B{n}")
        lines.append(f":86:FT 2026/{n:04d}")
    lines.append(balance("62F", closing))
    statement = read_statement("rt.sta", mt940(*lines))
    assert statement.opening_balance == opening
    assert statement.closing_balance == closing
    assert [(e.credit, e.amount) for e in statement.entries] == moves
    assert [e.remittance for e in statement.entries] == [
        f"FT 2026/{n:04d}" for n in range(len(moves))
    ]


@given(movements)
def test_camt_statement_round_trip(moves: list[tuple[bool, Decimal]]) -> None:
    total = sum((a if c else -a for c, a in moves), Decimal(0))
    entries = "".join(
        ntry(str(a), "CRDT" if c else "DBIT", ref=f"R{n}") for n, (c, a) in enumerate(moves)
    )
    closing = bal("CLBD", str(abs(total)), "CRDT" if total >= 0 else "DBIT")
    statement = read_statement("rt.xml", camt(entries, bal("OPBD", "0.00") + closing))
    assert statement.closing_balance == total
    assert [(e.credit, e.amount) for e in statement.entries] == moves


# --------------------------------------------------------------------------------------------
# Hostile and malformed input


def rejected(data: bytes, *fragments: str, max_bytes: int | None = None) -> None:
    kwargs = {} if max_bytes is None else {"max_bytes": max_bytes}
    with pytest.raises(StatementError) as raised:
        read_statements("bad.xml", data, **kwargs)
    for fragment in fragments:
        assert fragment in str(raised.value)


def test_billion_laughs_refused() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document><BkToCstmrStmt>&lol3;</BkToCstmrStmt></Document>"""
    rejected(bomb, "bad.xml", "DTD")


def test_external_entity_refused() -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Id>&x;</Id></Stmt></BkToCstmrStmt></Document>"""
    rejected(xxe, "DTD")


def test_any_dtd_refused() -> None:
    rejected(b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://x/y.dtd"><Document/>', "DTD")


def test_truncated_xml_names_the_line() -> None:
    whole = data("camt053_001_02.xml")
    cut = whole[: whole.index(b"<!-- 3:")]
    # Cut inside <Stmt>, before the third entry: the parser stops at the missing end tags.
    rejected(cut, "not well-formed XML at line", "truncated")


def test_wrong_root_refused() -> None:
    rejected(
        b'<p:FatturaElettronica xmlns:p="http://ivaservizi.agenziaentrate.gov.it"/>',
        "<FatturaElettronica>",
        "not a camt.053 or camt.054",
    )
    rejected(
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">'
        b"<CstmrCdtTrfInitn/></Document>",
        "not a camt.053",
    )


def test_camt052_named() -> None:
    rejected(b"<Document><BkToCstmrAcctRpt/></Document>", "camt.052")


def test_size_bound() -> None:
    rejected(data("camt053_001_02.xml"), "more than the 1,000 accepted", max_bytes=1000)


def test_empty_and_binary_files() -> None:
    rejected(b"\xef\xbb\xbf \r\n", "empty")
    rejected(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not a bank statement")
    rejected(b"<Document><BkToCstmrStmt/></Document>", "no statement")


def test_camt_balance_mismatch() -> None:
    # 100.00 + 10.00 = 110.00, not the 120.00 the bank claims.
    doc = camt(ntry("10.00", ref="X"), bal("OPBD", "100.00") + bal("CLBD", "120.00"))
    rejected(doc, "does not balance", "= 110.00", "closing balance is 120.00")


def test_camt_batch_that_does_not_add_up() -> None:
    tx = "<TxDtls><AmtDtls><TxAmt><Amt Ccy='EUR'>{}</Amt></TxAmt></AmtDtls></TxDtls>"
    details = f"<NtryDtls>{tx.format('60.00')}{tx.format('30.00')}</NtryDtls>"
    # 60.00 + 30.00 = 90.00 against an entry of 100.00
    rejected(camt(ntry("100.00", details=details)), "Stmt 1, entry 1", "add up to 90.00")


def test_camt_batch_without_amounts() -> None:
    details = "<NtryDtls><TxDtls/><TxDtls/></NtryDtls>"
    rejected(camt(ntry("100.00", details=details)), "TxDtls 1", "no amount")


def test_camt_bad_values() -> None:
    rejected(camt(ntry("1.234,00")), "entry 1", "'1.234,00' is not an amount")
    rejected(camt(ntry("-5.00")), "is not an amount")
    rejected(camt(ntry("5.00", "CREDIT")), "'CREDIT' is not CRDT or DBIT")
    rejected(camt(ntry("5.00").replace("2026-03-31", "2026-02-30", 1)), "not a date")
    no_account = camt("").replace(
        f"<Acct><Id><IBAN>{OWN}</IBAN></Id><Ccy>EUR</Ccy></Acct>".encode(), b""
    )
    rejected(no_account, "Stmt 1", "no account")


def test_read_statement_refuses_mixed_accounts() -> None:
    doc = mt940(
        ":20:A",
        f":25:{OWN}",
        ":60F:C260331EUR0,00",
        ":62F:C260331EUR0,00",
        ":20:B",
        f":25:{ROSSI}",
        ":60F:C260331EUR0,00",
        ":62F:C260331EUR0,00",
    )
    assert len(read_statements("two.sta", doc)) == 2
    with pytest.raises(StatementError, match="several accounts"):
        read_statement("two.sta", doc)


def test_read_statement_refuses_a_gap() -> None:
    doc = mt940(
        ":20:A",
        f":25:{OWN}",
        ":60F:C260330EUR0,00",
        ":62F:C260330EUR0,00",
        ":20:B",
        f":25:{OWN}",
        ":60F:C260331EUR9,00",
        ":62F:C260331EUR9,00",
    )
    with pytest.raises(
        StatementError, match=r"statement 2 opens with 9\.00 but statement 1 closed"
    ):
        read_statement("gap.sta", doc)


def test_mt940_balance_mismatch() -> None:
    doc = mt940(
        ":20:A", f":25:{OWN}", ":60F:C260331EUR10,00", ":61:260331D3,00NTRF", ":62F:C260331EUR8,00"
    )
    # 10,00 - 3,00 = 7,00, not 8,00
    rejected(doc, "statement 1 (A) does not balance", "= 7.00")


def test_mt940_truncated() -> None:
    whole = data("mt940_two_days.sta")
    cut = whole[: whole.index(b":62F:C260331")]
    # The second statement lost its closing balance.
    rejected(cut, "statement 2", "no :62F: or :62M:", "truncated")


def test_mt940_malformed_fields_name_the_line() -> None:
    base = [":20:A", f":25:{OWN}", ":60F:C260331EUR10,00", ":62F:C260331EUR10,00"]
    bad_amount = [*base[:3], ":61:260331C1.234,56NTRF", base[3]]
    rejected(mt940(*bad_amount), "statement 1, line 4", "not a statement line")
    bad_balance = [*base[:2], ":60F:C260331EUR10.00", base[3]]
    rejected(mt940(*bad_balance), "line 3", "is not a balance")
    bad_date = [*base[:2], ":60F:C261331EUR10,00", base[3]]
    rejected(mt940(*bad_date), "'261331' is not a date")
    other_currency = [*base[:3], ":62F:C260331USD10,00"]
    rejected(mt940(*other_currency), "is in USD")
    rejected(mt940(":20:A", ":60F:C260331EUR10,00", ":62F:C260331EUR10,00"), "no :25:")


def test_statement_is_a_value() -> None:
    statement = read_statement("s.xml", data("camt054_001_02.xml"))
    assert isinstance(statement, Statement)
    with pytest.raises(AttributeError):
        statement.currency = "USD"  # type: ignore[misc]
