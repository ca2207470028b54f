"""Payments on the database: importing statements, booking the sure matches, the manual
operations (confirm, split, assign, set aside, undo) and what follows a booking (dunning,
promises, open balances).

The ledger (snapshot as of 27/03/2026, written below as a CSV file like the ERP's):

    00045 Rossi Forniture S.r.l.  FT 2026/0123 1.220,00 due 31/03, FT 2026/0150 500,00 due 09/04
    00046 Bianchi S.p.A.          FT 45/2026     300,00 due 03/03, FT 46/2026    400,00 due 07/03
    00047 Verdi S.r.l.            FT 2026/0200 1.500,00 due 31/03, FT 2026/0201 800,00 due 04/04
                                  (its IBAN is known: a PayerAccount)
    00048 Neri & Figli S.n.c.     FT 2026/0300 in three installments of 500,00
                                  due 31/03, 30/04 and 31/05
    00049 Gialli S.r.l.           FT 2026/0400 1.000,00 due 02/04,
                                  NC 2026/0110 -200,00 (credit note)
    00050 Azzurri S.r.l.          FT 2026/0501 300,00 due 31/01, FT 2026/0503 500,00 due 28/02,
                                  NC 2026/0502 -100,00 due 15/02 (credit note)

"Today" is 01/04/2026 (the clock is frozen): the statements are of 30-31/03/2026.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from unittest import mock
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from incassa.dunning.models import Action, ActionStatus, ItemStep, ItemStepStatus
from incassa.ledger.balances import fresh_open_balances
from incassa.ledger.models import (
    BankPaidItem,
    BankPaidStatus,
    Customer,
    EventKind,
    ImportKind,
    ImportRun,
    ImportStatus,
    OpenBalance,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
)
from incassa.ledger.services import ImportRejected, receivables_import
from incassa.payments import services
from incassa.payments.models import (
    BankEntry,
    BankStatement,
    Confidence,
    EntryStatus,
    PayerAccount,
    PaymentAllocation,
)
from incassa.payments.services import (
    PaymentError,
    entries_rematch,
    entry_allocate,
    entry_assign,
    entry_ignore,
    entry_undo,
    statement_import,
)
from incassa.workspace.agreements import promise_record
from incassa.workspace.models import PromiseStatus
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ReceivableFactory,
    UserFactory,
    action_with_items,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 4, 1)
SNAPSHOT_DAY = dt.date(2026, 3, 27)
D30 = dt.date(2026, 3, 30)
D31 = dt.date(2026, 3, 31)

OWN = "IT60X0542811101000000123456"
ROSSI_IBAN = "IT66A0306909606100000012345"
BIANCHI_IBAN = "IT39C0503401633000000009876"
VERDI_IBAN = "IT22K0100503200000000004321"
NERI_IBAN = "IT78Z0760101600000012345678"
GIALLI_IBAN = "IT56A0306909606000000055501"
STRANGER_IBAN = "IT59A0306909606000000066602"
BETA_IBAN = "IT62A0306909606000000077703"
VIOLA_IBAN = "IT65A0306909606000000088804"

HEADER = (
    "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo;Residuo"
)
LEDGER_ROWS = [
    "00045;Rossi Forniture S.r.l.;FT 2026/0123;28/02/2026;31/03/2026;1.220,00;1.220,00",
    "00045;Rossi Forniture S.r.l.;FT 2026/0150;10/03/2026;09/04/2026;500,00;500,00",
    "00046;Bianchi S.p.A.;FT 45/2026;01/02/2026;03/03/2026;300,00;300,00",
    "00046;Bianchi S.p.A.;FT 46/2026;05/02/2026;07/03/2026;400,00;400,00",
    "00047;Verdi S.r.l.;FT 2026/0200;01/03/2026;31/03/2026;1.500,00;1.500,00",
    "00047;Verdi S.r.l.;FT 2026/0201;05/03/2026;04/04/2026;800,00;800,00",
    "00048;Neri & Figli S.n.c.;FT 2026/0300;02/03/2026;31/03/2026;500,00;500,00",
    "00048;Neri & Figli S.n.c.;FT 2026/0300;02/03/2026;30/04/2026;500,00;500,00",
    "00048;Neri & Figli S.n.c.;FT 2026/0300;02/03/2026;31/05/2026;500,00;500,00",
    "00049;Gialli S.r.l.;FT 2026/0400;03/03/2026;02/04/2026;1.000,00;1.000,00",
    "00049;Gialli S.r.l.;NC 2026/0110;12/03/2026;12/03/2026;-200,00;-200,00",
    "00050;Azzurri S.r.l.;FT 2026/0501;01/01/2026;31/01/2026;300,00;300,00",
    "00050;Azzurri S.r.l.;NC 2026/0502;15/02/2026;15/02/2026;-100,00;-100,00",
    "00050;Azzurri S.r.l.;FT 2026/0503;28/01/2026;28/02/2026;500,00;500,00",
]


# --------------------------------------------------------------------------------------
# Building files
# --------------------------------------------------------------------------------------


def write_snapshot(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def credit(
    amount: str,
    payer: str,
    iban: str,
    ref: str,
    *,
    ustrd: tuple[str, ...] = (),
    documents: tuple[str, ...] = (),
    status: str = "BOOK",
    day: str = "2026-03-31",
) -> str:
    """One camt incoming transfer; ``documents`` are structured referred document numbers."""
    remittance = "".join(f"<Ustrd>{line}</Ustrd>" for line in ustrd)
    if documents:
        remittance += "<Strd>" + "".join(
            f"<RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp><Nb>{number}</Nb>"
            "</RfrdDocInf>"
            for number in documents
        )
        remittance += "</Strd>"
    return (
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>{status}</Sts>"
        f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef>"
        "<NtryDtls><TxDtls>"
        f"<RltdPties><Dbtr><Nm>{escape(payer)}</Nm></Dbtr>"
        f"<DbtrAcct><Id><IBAN>{iban}</IBAN></Id></DbtrAcct></RltdPties>"
        f"<RmtInf>{remittance}</RmtInf>"
        "</TxDtls></NtryDtls></Ntry>"
    )


def debit(amount: str, payee: str, ref: str, text: str) -> str:
    return (
        f"<Ntry><Amt Ccy='EUR'>{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>"
        "<BookgDt><Dt>2026-03-31</Dt></BookgDt><ValDt><Dt>2026-03-31</Dt></ValDt>"
        f"<AcctSvcrRef>{ref}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls><RltdPties><Cdtr><Nm>{payee}</Nm></Cdtr></RltdPties>"
        f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
    )


def balance(code: str, amount: str) -> str:
    return (
        f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy='EUR'>{amount}</Amt>"
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-31</Dt></Dt></Bal>"
    )


def camt053(entries: list[str], opening: str, closing: str, statement_id: str = "S1") -> bytes:
    """A camt.053.001.02 statement of the company's account as Italian banks send it."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt><GrpHdr><MsgId>CBI-{statement_id}</MsgId></GrpHdr>
    <Stmt><Id>{statement_id}</Id><ElctrncSeqNb>62</ElctrncSeqNb>
      <Acct><Id><IBAN>{OWN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      {balance("OPBD", opening)}
      {balance("CLBD", closing)}
      {"".join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()


# The statement of 31/03/2026. Opening 10.000,00 + booked credits (1.220,00 + 500,50 +
# 1.500,00 + 500,00 + 800,00 + 77,70 = 4.598,20) - the debit 300,00 = 14.298,20; the pending
# 500,00 does not move the booked balance.
MAIN_ENTRIES = [
    # Rossi pays FT 2026/0123 quoting it as a structured reference: sure (HIGH).
    credit(
        "1220.00",
        "Rossi Forniture S.r.l.",
        ROSSI_IBAN,
        "2026033100001",
        documents=("FT 2026/0123",),
    ),
    # Bianchi pays 500,50 of its 300,00 + 400,00: a partial payment, proposed.
    credit(
        "500.50",
        "Bianchi S.p.A.",
        "IT39 C050 3401 6330 0000 0009 876",
        "2026033100002",
        ustrd=("SALDO FATT. N. 45/2026", "E 46/2026 ACCONTO"),
    ),
    debit("300.00", "Enel Energia S.p.A.", "2026033100003", "BOLLETTA 03/2026"),
    # Verdi quotes nothing, but its IBAN is known and 1.500,00 is exactly FT 2026/0200: sure.
    credit("1500.00", "Verdi S.r.l.", VERDI_IBAN, "2026033100004", ustrd=("PAGAMENTO FORNITURE",)),
    # Neri pays one installment of FT 2026/0300: the earliest due is paid (sure).
    credit(
        "500.00",
        "Neri & Figli S.n.c.",
        NERI_IBAN,
        "2026033100005",
        ustrd=("Fatt. n. 2026/0300 prima rata",),
    ),
    # Gialli pays FT 2026/0400 less its credit note: 1.000,00 - 200,00 = 800,00 (sure).
    credit(
        "800.00",
        "Gialli S.r.l.",
        GIALLI_IBAN,
        "2026033100006",
        ustrd=("FT 2026/0400 NC 2026/0110",),
    ),
    # Nobody we know, nothing quoted, no item of 77,70: to be matched.
    credit(
        "77.70", "Mario Sconosciuto", STRANGER_IBAN, "2026033100007", ustrd=("RIMBORSO CAUZIONE",)
    ),
    # Not booked yet: the next statement books it.
    credit(
        "500.00",
        "Rossi Forniture S.r.l.",
        ROSSI_IBAN,
        "2026033100008",
        documents=("FT 2026/0150",),
        status="PDNG",
    ),
]
MAIN_CAMT = camt053(MAIN_ENTRIES, "10000.00", "14298.20")


def small_camt(*entries: str, total: str, statement_id: str = "S2") -> bytes:
    """A statement of credits only, opening at zero: ``total`` is its closing balance."""
    return camt053(list(entries), "0.00", total, statement_id)


# --------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _today_and_english():
    with (
        time_machine.travel(
            dt.datetime(2026, 4, 1, 10, 0, tzinfo=ZoneInfo("Europe/Rome")), tick=False
        ),
        translation.override("en"),
    ):
        yield


@pytest.fixture
def user():
    return UserFactory(username="cassa")


@pytest.fixture
def ledger(company, tmp_path):
    receivables_import(
        company=company,
        path=write_snapshot(tmp_path, "scadenziario.csv", LEDGER_ROWS),
        as_of=SNAPSHOT_DAY,
    )
    PayerAccount.objects.create(
        company=company, customer=customer("00047"), iban=VERDI_IBAN, name="Verdi S.r.l."
    )
    return company


def customer(code: str) -> Customer:
    return Customer.objects.get(code=code)


def item(number: str, due: dt.date | None = None) -> Receivable:
    items = Receivable.objects.filter(document_number=number)
    if due is not None:
        items = items.filter(due_date=due)
    return items.get()


def entry(payer: str) -> BankEntry:
    return BankEntry.objects.get(payer_name=payer)


def run_import(company, data: bytes, name: str = "estratto.xml", **kwargs):
    return statement_import(company=company, name=name, data=data, **kwargs)


def ledger_state() -> tuple:
    """Everything a refused operation must leave as it was."""
    return (
        sorted(Receivable.objects.values_list("id", "open_amount", "status", "closed_on")),
        sorted(BankEntry.objects.values_list("id", "status", "allocated_amount", "customer_id")),
        PaymentAllocation.objects.count(),
        ReceivableEvent.objects.count(),
        sorted(BankPaidItem.objects.values_list("receivable_id", "paid_amount", "status")),
        PayerAccount.objects.count(),
    )


# --------------------------------------------------------------------------------------
# Importing a camt.053 statement
# --------------------------------------------------------------------------------------


def test_camt_import_stores_new_credits_books_sure_matches_and_proposes_the_rest(ledger):
    result = run_import(ledger, MAIN_CAMT)

    # 8 entries: 6 booked credits, 1 debit, 1 pending credit.
    assert (result.new_credits, result.known_credits) == (6, 0)
    assert (result.debits, result.pending) == (1, 1)
    # Sure: Rossi, Verdi, Neri, Gialli; proposed: Bianchi; to be matched: the stranger.
    assert (result.matched, result.proposed, result.unmatched) == (4, 1, 1)
    # Closed: FT 2026/0123, FT 2026/0200, FT 2026/0300 (1st installment), FT 2026/0400 and
    # NC 2026/0110 = 5; booked 1.220,00 + 1.500,00 + 500,00 + 800,00 = 4.020,00.
    assert (result.items_closed, result.items_reduced) == (5, 0)
    assert result.amount_booked == Decimal("4020.00")

    run = result.import_run
    assert (run.kind, run.status, run.as_of, run.file_name) == (
        ImportKind.STATEMENT,
        ImportStatus.APPLIED,
        TODAY,
        "estratto.xml",
    )
    assert (run.rows_read, run.created, run.unchanged, run.closed, run.updated) == (8, 6, 0, 5, 0)
    assert run.report["amount_booked"] == "4020.00"

    (statement,) = BankStatement.objects.all()
    assert statement.import_run == run
    assert (statement.format, statement.statement_id, statement.account) == ("camt.053", "S1", OWN)
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("10000.00"),
        Decimal("14298.20"),
    )
    assert (statement.entries_read, statement.credits_new, statement.credits_known) == (8, 6, 0)

    # Only the six booked credits are stored: no debit, no pending entry.
    assert BankEntry.objects.count() == 6
    assert not BankEntry.objects.filter(amount=Decimal("300.00")).exists()
    assert not BankEntry.objects.filter(key=f"{OWN}:2026033100008").exists()

    rossi = entry("Rossi Forniture S.r.l.")
    assert rossi.key == f"{OWN}:2026033100001"
    assert (rossi.booking_date, rossi.amount, rossi.payer_iban) == (
        D31,
        Decimal("1220.00"),
        ROSSI_IBAN,
    )
    assert rossi.reference_list == ["FT 2026/0123"]
    assert (rossi.status, rossi.is_automatic, rossi.confidence) == (
        EntryStatus.MATCHED,
        True,
        Confidence.HIGH,
    )
    assert rossi.customer == customer("00045")
    assert (rossi.allocated_amount, rossi.unallocated_amount) == (
        Decimal("1220.00"),
        Decimal("0.00"),
    )
    assert rossi.matched_at is not None

    # The grouped IBAN is stored compact; the two Ustrd lines are one remittance.
    bianchi = entry("Bianchi S.p.A.")
    assert bianchi.payer_iban == BIANCHI_IBAN
    assert bianchi.remittance == "SALDO FATT. N. 45/2026 E 46/2026 ACCONTO"
    assert (bianchi.status, bianchi.is_automatic, bianchi.allocated_amount) == (
        EntryStatus.PROPOSED,
        False,
        Decimal("0.00"),
    )
    assert bianchi.confidence == Confidence.MEDIUM
    # 500,50 against 300,00 + 400,00: FT 45/2026 wholly (older), 200,50 of FT 46/2026.
    assert bianchi.suggestions[0]["customer_id"] == customer("00046").pk
    assert bianchi.suggestions[0]["allocations"] == [
        [item("FT 45/2026").pk, "300.00"],
        [item("FT 46/2026").pk, "200.50"],
    ]

    stranger = entry("Mario Sconosciuto")
    assert (stranger.status, stranger.confidence, stranger.suggestions) == (
        EntryStatus.UNMATCHED,
        Confidence.NONE,
        [],
    )
    assert stranger.customer is None

    for payer in ("Verdi S.r.l.", "Neri & Figli S.n.c.", "Gialli S.r.l."):
        assert entry(payer).status == EntryStatus.MATCHED
        assert entry(payer).is_automatic


def test_a_sure_match_closes_the_item_on_the_booking_date_with_its_history(ledger):
    run = run_import(ledger, MAIN_CAMT).import_run
    rossi = entry("Rossi Forniture S.r.l.")

    ft = item("FT 2026/0123")
    assert (ft.status, ft.open_amount, ft.closed_on) == (
        ReceivableStatus.CLOSED,
        Decimal("0.00"),
        D31,
    )
    event = ReceivableEvent.objects.get(receivable=ft, kind=EventKind.CLOSED)
    assert (event.on_date, event.amount_before, event.amount_after, event.import_run) == (
        D31,
        Decimal("1220.00"),
        Decimal("0.00"),
        run,
    )
    (allocation,) = PaymentAllocation.objects.filter(receivable=ft)
    assert allocation.entry == rossi
    assert (allocation.amount, allocation.open_amount_before, allocation.is_automatic) == (
        Decimal("1220.00"),
        Decimal("1220.00"),
        True,
    )
    assert allocation.created_by is None
    assert allocation.reversed_at is None
    watch = BankPaidItem.objects.get(receivable=ft)
    assert (watch.status, watch.paid_amount, watch.paid_on, watch.company) == (
        BankPaidStatus.WAITING,
        Decimal("1220.00"),
        D31,
        ledger,
    )

    # The other item of Rossi is untouched (its payment is still pending at the bank).
    other = item("FT 2026/0150")
    assert (other.status, other.open_amount) == (ReceivableStatus.OPEN, Decimal("500.00"))


def test_sure_matches_by_known_iban_installment_and_credit_note(ledger):
    run_import(ledger, MAIN_CAMT)

    # Verdi (known IBAN, exact amount): FT 2026/0200 closed, FT 2026/0201 untouched.
    assert item("FT 2026/0200").status == ReceivableStatus.CLOSED
    assert item("FT 2026/0201").open_amount == Decimal("800.00")
    assert "payer_iban" in [r["code"] for r in entry("Verdi S.r.l.").reasons]

    # Neri: the installment due first (31/03) is paid, the later two stay open.
    assert item("FT 2026/0300", D31).status == ReceivableStatus.CLOSED
    assert item("FT 2026/0300", dt.date(2026, 4, 30)).open_amount == Decimal("500.00")
    assert item("FT 2026/0300", dt.date(2026, 5, 31)).open_amount == Decimal("500.00")

    # Gialli: invoice and credit note closed; the allocations are +1.000,00 and -200,00.
    invoice, note = item("FT 2026/0400"), item("NC 2026/0110")
    assert invoice.status == note.status == ReceivableStatus.CLOSED
    assert invoice.closed_on == note.closed_on == D31
    allocations = dict(
        PaymentAllocation.objects.filter(entry=entry("Gialli S.r.l.")).values_list(
            "receivable_id", "amount"
        )
    )
    assert allocations == {invoice.pk: Decimal("1000.00"), note.pk: Decimal("-200.00")}
    note_event = ReceivableEvent.objects.get(receivable=note, kind=EventKind.CLOSED)
    assert (note_event.amount_before, note_event.amount_after) == (
        Decimal("-200.00"),
        Decimal("0.00"),
    )
    # Four payments booked five items: five watches until the ERP agrees.
    assert BankPaidItem.objects.filter(status=BankPaidStatus.WAITING).count() == 5


def test_mt940_file_of_two_days_books_each_payment_on_its_day(ledger):
    data = (
        "\n".join(
            [
                ":20:STMT260330",
                f":25:{OWN}",
                ":28C:61/1",
                ":60F:C260327EUR10000,00",
                ":61:2603300330CR1220,00NTRFNONREF//2026033000011",
                ":86:BONIFICO SEPA DA ROSSI FORNITURE SRL ORD: ROSSI FORNITURE SRL IBA",
                "N IT66A0306909606100000012345 CAUS: SALDO FT 2026/0123",
                ":61:2603300330D300,00NDDTSDD-ENEL-0326//2026033000012",
                ":86:ADDEBITO SDD ENEL ENERGIA SPA BOLLETTA 03/2026",
                # 10.000,00 + 1.220,00 - 300,00 = 10.920,00
                ":62F:C260330EUR10920,00",
                "-",
                ":20:STMT260331",
                f":25:{OWN}",
                ":28C:62/1",
                ":60F:C260330EUR10920,00",
                ":61:260331C1500,00NTRFNONREF//2026033100021",
                f":86:/EREF/E2E-0042/ORDP/VERDI SRL/IBAN/{VERDI_IBAN}",
                "/REMI/PAGAMENTO FORNITURE",
                # 10.920,00 + 1.500,00 = 12.420,00
                ":62F:C260331EUR12420,00",
                "-",
            ]
        )
        + "\n"
    ).encode("latin-1")

    result = run_import(ledger, data, name="estratto.sta")

    assert (result.new_credits, result.debits, result.matched) == (2, 1, 2)
    # Rossi's payment was booked on 30/03, Verdi's on 31/03.
    assert item("FT 2026/0123").closed_on == D30
    assert item("FT 2026/0200").closed_on == D31
    assert (
        ReceivableEvent.objects.get(receivable=item("FT 2026/0123"), kind=EventKind.CLOSED).on_date
        == D30
    )
    # One statement per day, both of the one import.
    assert sorted(BankStatement.objects.values_list("format", "statement_id")) == [
        ("mt940", "STMT260330"),
        ("mt940", "STMT260331"),
    ]
    assert entry("ROSSI FORNITURE SRL").payer_iban == ROSSI_IBAN


def test_the_same_file_imported_twice_books_nothing_twice(ledger):
    run_import(ledger, MAIN_CAMT)
    before = ledger_state()

    again = run_import(ledger, MAIN_CAMT)

    assert (again.new_credits, again.known_credits) == (0, 6)
    assert (again.matched, again.proposed, again.unmatched, again.items_closed) == (0, 0, 0, 0)
    assert again.amount_booked == Decimal("0.00")
    assert again.import_run.status == ImportStatus.APPLIED
    assert again.import_run.unchanged == 6
    # A second statement record says what the second file held; nothing else changed.
    statement = again.statements[0]
    assert (statement.credits_new, statement.credits_known) == (0, 6)
    assert ledger_state() == before


def test_an_overlapping_statement_books_only_its_new_credits(ledger):
    run_import(ledger, MAIN_CAMT)
    # The next day's statement repeats Rossi's entry (same bank reference) and adds Rossi's
    # 500,00 for FT 2026/0150, now booked: 0 + 1.220,00 + 500,00 = 1.720,00.
    data = small_camt(
        MAIN_ENTRIES[0],
        credit(
            "500.00",
            "Rossi Forniture S.r.l.",
            ROSSI_IBAN,
            "2026040100001",
            documents=("FT 2026/0150",),
            day="2026-04-01",
        ),
        total="1720.00",
    )

    result = run_import(ledger, data)

    assert (result.new_credits, result.known_credits, result.matched) == (1, 1, 1)
    assert result.amount_booked == Decimal("500.00")
    assert item("FT 2026/0150").closed_on == TODAY
    assert PaymentAllocation.objects.filter(receivable=item("FT 2026/0123")).count() == 1


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<Stmt><Id>&lol3;</Id></Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(MAIN_CAMT[: len(MAIN_CAMT) // 2], "not well-formed XML", id="truncated"),
        pytest.param(ENTITY_BOMB, "declares a DTD or entities", id="entity-bomb"),
        pytest.param(
            # The same entries with a closing balance one cent off 14.298,20.
            camt053(MAIN_ENTRIES, "10000.00", "14298.21"),
            "does not balance",
            id="unbalanced",
        ),
    ],
)
def test_an_unreadable_file_is_rejected_recorded_and_changes_nothing(ledger, data, reason):
    before = ledger_state()

    with pytest.raises(ImportRejected) as caught:
        run_import(ledger, data)

    assert reason in str(caught.value)
    run = caught.value.import_run
    assert run.pk is not None
    run = ImportRun.objects.get(pk=run.pk)
    assert (run.kind, run.status) == (ImportKind.STATEMENT, ImportStatus.REJECTED)
    assert reason in run.message
    assert run.finished_at is not None
    assert not BankStatement.objects.exists()
    assert not BankEntry.objects.exists()
    assert ledger_state() == before


# --------------------------------------------------------------------------------------
# CSV exports with a column mapping
# --------------------------------------------------------------------------------------

CSV_MAPPING = {
    "Giorno": "booking_date",
    "Soldi": "amount",
    "Testo": "remittance",
    "Chi": "counterparty_name",
    "Conto pagatore": "counterparty_iban",
}
CSV_DATA = (
    "\r\n".join(
        [
            "Giorno;Soldi;Testo;Chi;Conto pagatore",  # row 1
            f"31/03/2026;1.220,00;SALDO FT 2026/0123;Rossi Forniture S.r.l.;{ROSSI_IBAN}",  # 2
            f"31/03/2026;12,3,4;ACCONTO FATTURE;Bianchi S.p.A.;{BIANCHI_IBAN}",  # row 3: bad
            "31/03/2026;-45,00;COMMISSIONI BANCARIE;;",  # row 4: a debit
        ]
    )
    + "\r\n"
).encode()


def test_csv_statement_with_a_bad_row_is_rejected_as_a_whole(ledger):
    before = ledger_state()

    with pytest.raises(ImportRejected) as caught:
        run_import(ledger, CSV_DATA, name="movimenti.csv", mapping=CSV_MAPPING, account_iban=OWN)

    assert "1 problem(s) in the file: nothing was imported" in str(caught.value)
    (error,) = caught.value.errors
    assert (error.row, error.column, error.value) == (3, "Soldi", "12,3,4")
    run = ImportRun.objects.get(pk=caught.value.import_run.pk)
    assert (run.status, run.rows_rejected) == (ImportStatus.REJECTED, 1)
    assert run.report["errors_total"] == 1
    assert run.report["errors"][0]["row"] == 3
    assert ledger_state() == before
    assert not BankStatement.objects.exists()


def test_csv_statement_with_skip_invalid_imports_the_valid_rows(ledger):
    result = run_import(
        ledger,
        CSV_DATA,
        name="movimenti.csv",
        mapping=CSV_MAPPING,
        account_iban=OWN,
        skip_invalid=True,
    )

    # Row 2 is Rossi's payment (booked), row 4 a debit (skipped), row 3 reported.
    assert (result.new_credits, result.debits, result.matched) == (1, 1, 1)
    run = result.import_run
    assert (run.status, run.rows_read, run.rows_rejected) == (ImportStatus.APPLIED, 2, 1)
    assert run.report["errors_total"] == 1
    assert run.report["errors"][0]["column"] == "Soldi"
    (statement,) = BankStatement.objects.all()
    assert (statement.format, statement.account) == ("csv", OWN)
    assert item("FT 2026/0123").status == ReceivableStatus.CLOSED
    assert entry("Rossi Forniture S.r.l.").payer_iban == ROSSI_IBAN


def test_an_entry_with_a_long_bank_reference_is_still_imported_once(ledger):
    # A home banking export whose reference column holds a long text (230 characters):
    # the key is the account, ':' and the reference, longer than the 200 stored.
    data = (
        "Data contabile;Importo;Descrizione;Riferimento\r\n"
        f"31/03/2026;77,70;RIMBORSO;{'BONIFICO SEPA ' * 16}{'X' * 6}\r\n"
    ).encode()
    run_import(ledger, data, name="movimenti.csv", account_iban=OWN)

    again = run_import(ledger, data, name="movimenti.csv", account_iban=OWN)

    assert (again.new_credits, again.known_credits) == (0, 1)
    assert BankEntry.objects.count() == 1


def test_csv_mapping_to_an_unknown_field_rejects_the_file(ledger):
    with pytest.raises(ImportRejected) as caught:
        run_import(ledger, CSV_DATA, name="movimenti.csv", mapping={"Soldi": "importo"})
    assert "unknown field 'importo'" in str(caught.value)
    assert ImportRun.objects.get(pk=caught.value.import_run.pk).status == ImportStatus.REJECTED


# --------------------------------------------------------------------------------------
# Confirming and splitting (entry_allocate)
# --------------------------------------------------------------------------------------


def suggestion(bank_entry: BankEntry, index: int = 0) -> list[tuple[int, Decimal]]:
    return [(pk, Decimal(amount)) for pk, amount in bank_entry.suggestions[index]["allocations"]]


def test_confirming_a_suggestion_books_it_and_learns_the_payer(ledger, user):
    run = run_import(ledger, MAIN_CAMT).import_run
    bianchi = entry("Bianchi S.p.A.")

    booked = entry_allocate(entry=bianchi, allocations=suggestion(bianchi), user=user, note="ok")

    assert (booked.status, booked.is_automatic, booked.matched_by, booked.note) == (
        EntryStatus.MATCHED,
        False,
        user,
        "ok",
    )
    assert booked.customer == customer("00046")
    # 300,00 + 200,50 = 500,50: nothing left on account.
    assert (booked.allocated_amount, booked.unallocated_amount) == (
        Decimal("500.50"),
        Decimal("0.00"),
    )
    ft45, ft46 = item("FT 45/2026"), item("FT 46/2026")
    assert (ft45.status, ft45.open_amount, ft45.closed_on) == (
        ReceivableStatus.CLOSED,
        Decimal("0.00"),
        D31,
    )
    # 400,00 - 200,50 = 199,50 still owed.
    assert (ft46.status, ft46.open_amount, ft46.closed_on) == (
        ReceivableStatus.OPEN,
        Decimal("199.50"),
        None,
    )
    changed = ReceivableEvent.objects.get(receivable=ft46, kind=EventKind.AMOUNT_CHANGED)
    assert (changed.on_date, changed.amount_before, changed.amount_after, changed.import_run) == (
        D31,
        Decimal("400.00"),
        Decimal("199.50"),
        run,
    )
    assert ReceivableEvent.objects.get(receivable=ft45, kind=EventKind.CLOSED).on_date == D31
    allocations = list(
        PaymentAllocation.objects.filter(entry=bianchi).values_list(
            "receivable_id", "amount", "open_amount_before", "is_automatic", "created_by"
        )
    )
    assert allocations == [
        (ft45.pk, Decimal("300.00"), Decimal("300.00"), False, user.pk),
        (ft46.pk, Decimal("200.50"), Decimal("400.00"), False, user.pk),
    ]
    assert sorted(
        BankPaidItem.objects.filter(receivable__in=[ft45, ft46]).values_list(
            "paid_amount", "status"
        )
    ) == [(Decimal("200.50"), BankPaidStatus.WAITING), (Decimal("300.00"), BankPaidStatus.WAITING)]
    payer = PayerAccount.objects.get(iban=BIANCHI_IBAN)
    assert (payer.customer, payer.name, payer.company) == (
        customer("00046"),
        "Bianchi S.p.A.",
        ledger,
    )


def test_a_learned_payer_makes_its_next_payment_sure(ledger, user):
    run_import(ledger, MAIN_CAMT)
    bianchi = entry("Bianchi S.p.A.")
    entry_allocate(entry=bianchi, allocations=suggestion(bianchi), user=user)

    # Next day Bianchi pays the 199,50 left of FT 46/2026, quoting nothing: its IBAN is now
    # known and 199,50 is exactly its one open item.
    result = run_import(
        ledger,
        small_camt(
            credit("199.50", "BIANCHI SPA", BIANCHI_IBAN, "2026040100009", day="2026-04-01"),
            total="199.50",
        ),
    )

    assert result.matched == 1
    assert item("FT 46/2026").status == ReceivableStatus.CLOSED
    # The watch adds up both payments: 200,50 + 199,50 = 400,00.
    watch = BankPaidItem.objects.get(receivable=item("FT 46/2026"))
    assert (watch.paid_amount, watch.paid_on) == (Decimal("400.00"), TODAY)


def test_a_payment_split_across_two_items_leaves_the_rest_on_account(ledger, user):
    run_import(
        ledger,
        small_camt(
            credit(
                "1000.00",
                "Rossi Forniture S.r.l.",
                ROSSI_IBAN,
                "2026033100010",
                ustrd=("ACCONTO FORNITURE",),
            ),
            total="1000.00",
        ),
    )
    rossi = entry("Rossi Forniture S.r.l.")
    # Known by name, no amount fits: only proposed (the oldest item first).
    assert rossi.status == EntryStatus.PROPOSED

    ft123, ft150 = item("FT 2026/0123"), item("FT 2026/0150")
    booked = entry_allocate(
        entry=rossi,
        allocations=[(ft123.pk, Decimal("600.00")), (ft150.pk, Decimal("300.00"))],
        user=user,
    )

    # 600,00 + 300,00 = 900,00 allocated; 1.000,00 - 900,00 = 100,00 on account.
    assert (booked.allocated_amount, booked.unallocated_amount) == (
        Decimal("900.00"),
        Decimal("100.00"),
    )
    assert booked.status == EntryStatus.MATCHED
    # 1.220,00 - 600,00 = 620,00 and 500,00 - 300,00 = 200,00 still owed.
    assert item("FT 2026/0123").open_amount == Decimal("620.00")
    assert item("FT 2026/0150").open_amount == Decimal("200.00")
    assert item("FT 2026/0123").status == ReceivableStatus.OPEN
    assert ReceivableEvent.objects.filter(kind=EventKind.AMOUNT_CHANGED, on_date=D31).count() == 2
    assert PayerAccount.objects.get(iban=ROSSI_IBAN).customer == customer("00045")

    # The 100,00 on account can be booked later against what is left.
    again = entry_allocate(entry=booked, allocations=[(ft150.pk, Decimal("100.00"))], user=user)
    assert again.unallocated_amount == Decimal("0.00")
    # 200,00 - 100,00 = 100,00.
    assert item("FT 2026/0150").open_amount == Decimal("100.00")
    with pytest.raises(PaymentError, match="already wholly matched"):
        entry_allocate(entry=again, allocations=[(ft150.pk, Decimal("1.00"))])


def test_allocating_an_item_of_another_company_is_refused(ledger, user):
    run_import(ledger, MAIN_CAMT)
    other = ReceivableFactory(
        company=CompanyFactory(code="other"),
        document_number="FT 45/2026",
        open_amount=Decimal("300"),
    )
    before = ledger_state()

    with pytest.raises(PaymentError, match="no longer open"):
        entry_allocate(
            entry=entry("Bianchi S.p.A."), allocations=[(other.pk, Decimal("300.00"))], user=user
        )

    assert ledger_state() == before
    other.refresh_from_db()
    assert other.open_amount == Decimal("300.00")


def test_allocating_more_than_an_item_owes_is_refused(ledger, user):
    run_import(ledger, MAIN_CAMT)
    before = ledger_state()

    # FT 45/2026 owes 300,00.
    with pytest.raises(PaymentError, match=r"owes 300\.00: 300\.01 cannot be set against it"):
        entry_allocate(
            entry=entry("Bianchi S.p.A."),
            allocations=[(item("FT 45/2026").pk, Decimal("300.01"))],
            user=user,
        )
    # A negative amount against an invoice is no payment of it either.
    with pytest.raises(PaymentError, match="cannot be set against it"):
        entry_allocate(
            entry=entry("Bianchi S.p.A."),
            allocations=[(item("FT 45/2026").pk, Decimal("-10.00"))],
            user=user,
        )

    assert ledger_state() == before


def test_allocating_a_closed_item_is_refused(ledger, user):
    run_import(ledger, MAIN_CAMT)
    before = ledger_state()

    # FT 2026/0123 was closed by Rossi's payment.
    with pytest.raises(PaymentError, match="FT 2026/0123 is no longer open"):
        entry_allocate(
            entry=entry("Bianchi S.p.A."),
            allocations=[
                (item("FT 45/2026").pk, Decimal("100.00")),
                (item("FT 2026/0123").pk, Decimal("100.00")),
            ],
            user=user,
        )

    assert ledger_state() == before


def test_allocating_more_than_the_payment_is_refused(ledger, user):
    run_import(ledger, MAIN_CAMT)
    before = ledger_state()

    # 300,00 + 400,00 = 700,00 > the 500,50 paid.
    with pytest.raises(PaymentError, match=r"add up to 700\.00, more than the 500\.50 left"):
        entry_allocate(
            entry=entry("Bianchi S.p.A."),
            allocations=[
                (item("FT 45/2026").pk, Decimal("300.00")),
                (item("FT 46/2026").pk, Decimal("400.00")),
            ],
            user=user,
        )

    assert ledger_state() == before


def test_allocating_nothing_or_one_item_twice_is_refused(ledger):
    run_import(ledger, MAIN_CAMT)
    bianchi = entry("Bianchi S.p.A.")
    ft45 = item("FT 45/2026")
    with pytest.raises(PaymentError, match="at least one item"):
        entry_allocate(entry=bianchi, allocations=[])
    with pytest.raises(PaymentError, match="at least one item"):
        entry_allocate(entry=bianchi, allocations=[(ft45.pk, Decimal("0"))])
    with pytest.raises(PaymentError, match="once"):
        entry_allocate(
            entry=bianchi, allocations=[(ft45.pk, Decimal("100")), (ft45.pk, Decimal("100"))]
        )


def test_allocating_an_item_in_another_currency_is_refused(ledger):
    usd = (
        camt053(
            [
                credit("1220.00", "Rossi Forniture S.r.l.", ROSSI_IBAN, "2026033100020").replace(
                    "Ccy='EUR'", "Ccy='USD'"
                )
            ],
            "0.00",
            "1220.00",
        )
        .replace(b"<Ccy>EUR</Ccy>", b"<Ccy>USD</Ccy>")
        .replace(b"Ccy='EUR'", b"Ccy='USD'")
    )
    run_import(ledger, usd)
    dollars = entry("Rossi Forniture S.r.l.")
    assert dollars.currency == "USD"
    before = ledger_state()

    with pytest.raises(PaymentError):
        entry_allocate(entry=dollars, allocations=[(item("FT 2026/0123").pk, Decimal("1220.00"))])
    assert ledger_state() == before


# --------------------------------------------------------------------------------------
# Assigning to a customer, setting aside
# --------------------------------------------------------------------------------------


def test_assigning_to_a_customer_pays_oldest_due_first_with_credit_notes_netted(ledger, user):
    run_import(
        ledger,
        small_camt(
            credit(
                "650.00",
                "Studio Beta S.a.s.",
                BETA_IBAN,
                "2026033100030",
                ustrd=("PAGAMENTO PER CONTO CLIENTE",),
            ),
            total="650.00",
        ),
    )
    beta = entry("Studio Beta S.a.s.")
    assert beta.status == EntryStatus.UNMATCHED
    azzurri = customer("00050")

    booked = entry_assign(entry=beta, customer=azzurri, user=user)

    # The credit note NC 2026/0502 (-100,00) is netted: 650,00 + 100,00 = 750,00 for the
    # invoices, oldest due first: FT 2026/0501 (due 31/01) 300,00 wholly, then 450,00 of
    # FT 2026/0503 (due 28/02), which keeps 500,00 - 450,00 = 50,00.
    assert item("NC 2026/0502").status == ReceivableStatus.CLOSED
    assert item("FT 2026/0501").status == ReceivableStatus.CLOSED
    assert item("FT 2026/0503").open_amount == Decimal("50.00")
    assert sorted(
        PaymentAllocation.objects.filter(entry=beta).values_list(
            "receivable__document_number", "amount"
        )
    ) == [
        ("FT 2026/0501", Decimal("300.00")),
        ("FT 2026/0503", Decimal("450.00")),
        ("NC 2026/0502", Decimal("-100.00")),
    ]
    # -100,00 + 300,00 + 450,00 = 650,00: the whole payment.
    assert (booked.allocated_amount, booked.unallocated_amount) == (
        Decimal("650.00"),
        Decimal("0.00"),
    )
    assert (booked.status, booked.customer, booked.matched_by) == (
        EntryStatus.MATCHED,
        azzurri,
        user,
    )
    assert PayerAccount.objects.get(iban=BETA_IBAN).customer == azzurri


def test_assigning_more_than_the_customer_owes_leaves_the_rest_on_account(ledger, user):
    run_import(
        ledger,
        small_camt(
            credit("2000.00", "Studio Beta S.a.s.", BETA_IBAN, "2026033100031"),
            total="2000.00",
        ),
    )
    booked = entry_assign(entry=entry("Studio Beta S.a.s."), customer=customer("00046"))

    # Bianchi owes 300,00 + 400,00 = 700,00; 2.000,00 - 700,00 = 1.300,00 on account.
    assert booked.allocated_amount == Decimal("700.00")
    assert booked.unallocated_amount == Decimal("1300.00")
    assert not Receivable.objects.filter(
        customer=customer("00046"), status=ReceivableStatus.OPEN
    ).exists()


def test_assigning_to_a_customer_owing_nothing_keeps_the_payment_on_account(ledger, user):
    quiet = CustomerFactory(company=ledger, code="00099", name="Senza Debiti S.r.l.")
    run_import(
        ledger,
        small_camt(
            credit("100.00", "Studio Beta S.a.s.", BETA_IBAN, "2026033100032"), total="100.00"
        ),
    )
    before = sorted(Receivable.objects.values_list("id", "open_amount", "status"))

    booked = entry_assign(entry=entry("Studio Beta S.a.s."), customer=quiet, user=user)

    assert (booked.status, booked.customer, booked.allocated_amount) == (
        EntryStatus.MATCHED,
        quiet,
        Decimal("0.00"),
    )
    assert sorted(Receivable.objects.values_list("id", "open_amount", "status")) == before
    assert PayerAccount.objects.get(iban=BETA_IBAN).customer == quiet


def test_assigning_to_a_customer_of_another_company_is_refused(ledger):
    run_import(ledger, MAIN_CAMT)
    stranger = CustomerFactory(company=CompanyFactory(code="other"))
    before = ledger_state()
    with pytest.raises(PaymentError, match="not of the payment's company"):
        entry_assign(entry=entry("Mario Sconosciuto"), customer=stranger)
    assert ledger_state() == before


def test_setting_a_payment_aside_and_taking_it_back(ledger, user):
    run_import(ledger, MAIN_CAMT)
    stranger = entry("Mario Sconosciuto")

    ignored = entry_ignore(entry=stranger, user=user, note="deposit refunded")

    assert (ignored.status, ignored.note, ignored.matched_by) == (
        EntryStatus.IGNORED,
        "deposit refunded",
        user,
    )
    assert ignored.matched_at is not None
    with pytest.raises(PaymentError, match="set aside"):
        entry_allocate(entry=ignored, allocations=[(item("FT 45/2026").pk, Decimal("77.70"))])
    with pytest.raises(PaymentError, match="set aside"):
        entry_assign(entry=ignored, customer=customer("00046"))
    assert item("FT 45/2026").open_amount == Decimal("300.00")

    back = entry_undo(entry=ignored, user=user)
    assert (back.status, back.matched_at, back.matched_by) == (EntryStatus.UNMATCHED, None, None)


def test_a_matched_payment_cannot_be_set_aside(ledger):
    run_import(ledger, MAIN_CAMT)
    with pytest.raises(PaymentError, match="undo the match first"):
        entry_ignore(entry=entry("Rossi Forniture S.r.l."))
    assert entry("Rossi Forniture S.r.l.").status == EntryStatus.MATCHED


# --------------------------------------------------------------------------------------
# Undoing
# --------------------------------------------------------------------------------------


def test_undoing_a_sure_match_reopens_the_item_and_keeps_the_story(ledger, user):
    run = run_import(ledger, MAIN_CAMT).import_run
    rossi = entry("Rossi Forniture S.r.l.")

    undone = entry_undo(entry=rossi, user=user)

    ft = item("FT 2026/0123")
    assert (ft.status, ft.open_amount, ft.closed_on, ft.last_changed_on) == (
        ReceivableStatus.OPEN,
        Decimal("1220.00"),
        None,
        TODAY,
    )
    reopened = ReceivableEvent.objects.get(receivable=ft, kind=EventKind.REOPENED)
    assert (reopened.on_date, reopened.amount_before, reopened.amount_after) == (
        TODAY,
        Decimal("0.00"),
        Decimal("1220.00"),
    )
    assert reopened.import_run == run
    # The allocation is kept, marked undone.
    (allocation,) = PaymentAllocation.objects.filter(entry=rossi)
    assert allocation.reversed_at is not None
    assert allocation.reversed_by == user
    watch = BankPaidItem.objects.get(receivable=ft)
    assert (watch.status, watch.paid_amount) == (BankPaidStatus.REVERSED, Decimal("0.00"))
    # A sure match had no alternative readings: the entry waits to be matched.
    assert (undone.status, undone.allocated_amount, undone.is_automatic) == (
        EntryStatus.UNMATCHED,
        Decimal("0.00"),
        False,
    )
    assert (undone.matched_at, undone.matched_by) == (None, None)

    # Now it can be booked again, by a person.
    again = entry_allocate(entry=undone, allocations=[(ft.pk, Decimal("1220.00"))], user=user)
    assert again.status == EntryStatus.MATCHED
    assert item("FT 2026/0123").status == ReceivableStatus.CLOSED
    assert BankPaidItem.objects.get(receivable=ft).status == BankPaidStatus.WAITING


def test_undoing_a_partial_payment_raises_the_items_back(ledger, user):
    run_import(ledger, MAIN_CAMT)
    bianchi = entry("Bianchi S.p.A.")
    entry_allocate(entry=bianchi, allocations=suggestion(bianchi), user=user)

    undone = entry_undo(entry=bianchi, user=user)

    ft45, ft46 = item("FT 45/2026"), item("FT 46/2026")
    assert (ft45.status, ft45.open_amount) == (ReceivableStatus.OPEN, Decimal("300.00"))
    # 199,50 + 200,50 = 400,00 again; FT 46/2026 was never closed: AMOUNT_CHANGED.
    assert (ft46.status, ft46.open_amount) == (ReceivableStatus.OPEN, Decimal("400.00"))
    assert ReceivableEvent.objects.filter(receivable=ft45, kind=EventKind.REOPENED).count() == 1
    raised = ReceivableEvent.objects.filter(receivable=ft46, kind=EventKind.AMOUNT_CHANGED).latest(
        "id"
    )
    assert (raised.on_date, raised.amount_before, raised.amount_after) == (
        TODAY,
        Decimal("199.50"),
        Decimal("400.00"),
    )
    assert not PaymentAllocation.objects.filter(entry=bianchi, reversed_at__isnull=True).exists()
    assert set(
        BankPaidItem.objects.filter(receivable__in=[ft45, ft46]).values_list("status", flat=True)
    ) == {BankPaidStatus.REVERSED}
    # Its suggestion is still there: back to "proposed".
    assert undone.status == EntryStatus.PROPOSED


def test_undoing_a_payment_with_a_credit_note_reopens_both(ledger):
    run_import(ledger, MAIN_CAMT)
    entry_undo(entry=entry("Gialli S.r.l."))
    assert item("FT 2026/0400").open_amount == Decimal("1000.00")
    assert item("NC 2026/0110").open_amount == Decimal("-200.00")
    assert item("NC 2026/0110").status == ReceivableStatus.OPEN
    assert BankPaidItem.objects.get(receivable=item("NC 2026/0110")).status == (
        BankPaidStatus.REVERSED
    )


def test_undo_is_refused_once_the_erp_booked_the_item(ledger, tmp_path):
    run_import(ledger, MAIN_CAMT)
    # The ERP's next full snapshot no longer lists the items the bank paid (it booked the
    # payments too): every row of the ledger but FT 2026/0123, FT 2026/0200, the first
    # installment of FT 2026/0300, FT 2026/0400 and NC 2026/0110.
    paid = {0, 4, 6, 9, 10}
    receivables_import(
        company=ledger,
        path=write_snapshot(
            tmp_path,
            "scadenziario-0104.csv",
            [r for i, r in enumerate(LEDGER_ROWS) if i not in paid],
        ),
        as_of=TODAY,
    )
    assert BankPaidItem.objects.get(receivable=item("FT 2026/0123")).status == (
        BankPaidStatus.BOOKED
    )
    before = ledger_state()

    with pytest.raises(PaymentError, match="The ERP has booked item FT 2026/0123 since"):
        entry_undo(entry=entry("Rossi Forniture S.r.l."))

    assert ledger_state() == before
    assert item("FT 2026/0123").status == ReceivableStatus.CLOSED


# --------------------------------------------------------------------------------------
# Matching again when the invoice arrives
# --------------------------------------------------------------------------------------


def test_rematching_books_a_payment_once_its_invoice_arrives(ledger, tmp_path):
    run = run_import(
        ledger,
        small_camt(
            credit(
                "750.00", "Viola S.r.l.", VIOLA_IBAN, "2026033100040", ustrd=("SALDO FT 2026/0999",)
            ),
            total="750.00",
        ),
    ).import_run
    viola = entry("Viola S.r.l.")
    assert viola.status == EntryStatus.UNMATCHED
    # Nothing new to read it against: nothing changes.
    assert entries_rematch(company=ledger) == (0, 0, 1)

    # The invoice arrives with a partial snapshot.
    receivables_import(
        company=ledger,
        path=write_snapshot(
            tmp_path,
            "nuove.csv",
            ["00051;Viola S.r.l.;FT 2026/0999;20/03/2026;19/04/2026;750,00;750,00"],
        ),
        as_of=TODAY,
        partial=True,
    )

    assert entries_rematch(company=ledger) == (1, 0, 0)

    viola.refresh_from_db()
    assert (viola.status, viola.is_automatic, viola.customer) == (
        EntryStatus.MATCHED,
        True,
        customer("00051"),
    )
    ft = item("FT 2026/0999")
    # Closed on the day the bank booked the payment, not on the day it was read again.
    assert (ft.status, ft.closed_on) == (ReceivableStatus.CLOSED, D31)
    event = ReceivableEvent.objects.get(receivable=ft, kind=EventKind.CLOSED)
    assert (event.on_date, event.import_run) == (D31, run)
    assert BankPaidItem.objects.get(receivable=ft).status == BankPaidStatus.WAITING
    # Nothing is left to read.
    assert entries_rematch(company=ledger) == (0, 0, 0)


def test_rematching_does_not_book_again_what_a_person_undid(ledger, user):
    run_import(ledger, MAIN_CAMT)
    entry_undo(entry=entry("Rossi Forniture S.r.l."), user=user)

    entries_rematch(company=ledger)

    # Nothing changed since the undo: the payment still waits for a person.
    assert entry("Rossi Forniture S.r.l.").status != EntryStatus.MATCHED
    assert item("FT 2026/0123").status == ReceivableStatus.OPEN


# --------------------------------------------------------------------------------------
# What follows a booking: dunning, promises, open balances
# --------------------------------------------------------------------------------------


def test_a_paid_item_leaves_the_pending_dunning_actions(ledger):
    rossi = customer("00045")
    # A letter listing both of Rossi's items, and a call about Verdi's FT 2026/0200 alone.
    letter = action_with_items(
        ledger,
        rossi,
        "first-reminder",
        [item("FT 2026/0123"), item("FT 2026/0150")],
        day=dt.date(2026, 3, 28),
    )
    call = action_with_items(
        ledger, customer("00047"), "courtesy-call", [item("FT 2026/0200")], day=dt.date(2026, 3, 28)
    )

    run_import(ledger, MAIN_CAMT)

    steps = dict(ItemStep.objects.values_list("receivable__document_number", "status"))
    # FT 2026/0123 and FT 2026/0200 were paid; FT 2026/0150 (still owed) is still asked for.
    assert steps == {
        "FT 2026/0123": ItemStepStatus.CANCELLED,
        "FT 2026/0150": ItemStepStatus.CREATED,
        "FT 2026/0200": ItemStepStatus.CANCELLED,
    }
    letter.refresh_from_db()
    call.refresh_from_db()
    assert letter.status == ActionStatus.CREATED
    assert call.status == ActionStatus.CANCELLED
    assert Action.objects.count() == 2


def test_a_manual_booking_that_closes_an_item_also_cancels_its_pending_steps(ledger, user):
    run_import(ledger, MAIN_CAMT)
    action_with_items(
        ledger, customer("00046"), "first-reminder", [item("FT 45/2026")], day=dt.date(2026, 3, 28)
    )
    bianchi = entry("Bianchi S.p.A.")
    entry_allocate(entry=bianchi, allocations=suggestion(bianchi), user=user)
    assert ItemStep.objects.get().status == ItemStepStatus.CANCELLED


def test_the_dunning_receiver_is_called_with_what_was_closed(ledger):
    with mock.patch("incassa.dunning.services.pending_cancel_for_closed") as cancel:
        run_import(ledger, MAIN_CAMT)
    cancel.assert_called_once_with(company=ledger)

    # Nothing closed (a partial booking): nothing to cancel.
    bianchi = entry("Bianchi S.p.A.")
    with mock.patch("incassa.dunning.services.pending_cancel_for_closed") as cancel:
        entry_allocate(entry=bianchi, allocations=[(item("FT 46/2026").pk, Decimal("100.00"))])
    cancel.assert_not_called()


def test_a_promise_on_a_paid_item_is_kept(ledger, django_capture_on_commit_callbacks):
    promise = promise_record(
        customer=customer("00045"),
        items=[item("FT 2026/0123")],
        amount=Decimal("1220.00"),
        promised_on=dt.date(2026, 4, 10),
        today=dt.date(2026, 3, 28),
    )

    with django_capture_on_commit_callbacks(execute=True):
        run_import(ledger, MAIN_CAMT)

    promise.refresh_from_db()
    # Reviewed as of the day the bank booked the payment.
    assert (promise.status, promise.closed_on) == (PromiseStatus.KEPT, D31)


def test_open_balances_follow_an_import(ledger, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_import(ledger, MAIN_CAMT)

    # Rossi owed 1.220,00 + 500,00; 1.220,00 was paid: 500,00 left, in one item.
    balance = OpenBalance.objects.get(customer=customer("00045"))
    assert (balance.open_amount, balance.open_items) == (Decimal("500.00"), 1)
    assert fresh_open_balances(ledger) is not None


def test_open_balances_follow_a_manual_booking(ledger, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run_import(ledger, MAIN_CAMT)
    bianchi = entry("Bianchi S.p.A.")

    with django_capture_on_commit_callbacks(execute=True):
        entry_allocate(entry=bianchi, allocations=suggestion(bianchi), user=user)

    # Bianchi owed 300,00 + 400,00; 500,50 was booked: 199,50 left, in one item. Either the
    # rows say so, or they are no longer taken as fresh.
    balance = OpenBalance.objects.get(customer=customer("00046"))
    assert fresh_open_balances(ledger) is None or (balance.open_amount, balance.open_items) == (
        Decimal("199.50"),
        1,
    )


def test_bank_paid_check_records_who_looked(ledger, user):
    run_import(ledger, MAIN_CAMT)
    watch = BankPaidItem.objects.get(receivable=item("FT 2026/0123"))

    checked = services.bank_paid_check(watch=watch, user=user, note="booked in the ERP today")

    checked.refresh_from_db()
    assert (checked.checked_by, checked.note) == (user, "booked in the ERP today")
    assert checked.checked_at is not None
    assert checked.status == BankPaidStatus.WAITING
