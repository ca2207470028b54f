"""The next ERP snapshot after a bank payment: the bank is ahead of the ERP.

An item the bank paid is watched (``BankPaidItem``) until a snapshot agrees. A snapshot that
still lists it as owing more than the ledger says does not raise it back (nor reopen it, so
the customer is never chased for what they paid): the watch becomes DIFFERS with what the ERP
said, for the accountants. A snapshot that lists it with the same or a lower amount, or a full
snapshot that no longer lists it, agrees: BOOKED.

The ledger (first snapshot, as of 27/03/2026):

    00045 Rossi Forniture S.r.l.  FT 2026/0001  1.000,00 due 31/03   FT 2026/0002  250,00 due 04/04
    00046 Bianchi S.p.A.          FT 2026/0003    700,00 due 09/04

The bank statement is of 30/03/2026; the next snapshots are as of 31/03 and 02/04.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from incassa.ledger.models import (
    BankPaidItem,
    BankPaidStatus,
    EventKind,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
)
from incassa.ledger.services import receivables_import
from incassa.payments.models import BankEntry, EntryStatus
from incassa.payments.services import entry_allocate, entry_undo, statement_import

pytestmark = pytest.mark.django_db

D27 = dt.date(2026, 3, 27)
D30 = dt.date(2026, 3, 30)
D31 = dt.date(2026, 3, 31)
D02 = dt.date(2026, 4, 2)

OWN = "IT60X0542811101000000123456"
ROSSI_IBAN = "IT66A0306909606100000012345"

HEADER = (
    "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo;Residuo"
)
FT1 = "00045;Rossi Forniture S.r.l.;FT 2026/0001;01/03/2026;31/03/2026;1.000,00;{open}"
OTHERS = [
    "00045;Rossi Forniture S.r.l.;FT 2026/0002;05/03/2026;04/04/2026;250,00;250,00",
    "00046;Bianchi S.p.A.;FT 2026/0003;10/03/2026;09/04/2026;700,00;700,00",
]


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(
        dt.datetime(2026, 4, 3, 10, 0, tzinfo=ZoneInfo("Europe/Rome")), tick=False
    ):
        yield


def snapshot(company, tmp_path: Path, as_of: dt.date, ft1_open: str | None, partial=False):
    """Import a snapshot listing FT 2026/0001 with ``ft1_open`` still owed (None: not at
    all) and the other two items as they were."""
    rows = ([FT1.format(open=ft1_open)] if ft1_open is not None else []) + OTHERS
    path = tmp_path / f"scadenziario-{as_of:%Y%m%d}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return receivables_import(company=company, path=path, as_of=as_of, partial=partial)


def pay(company, amount: str, remittance: str, ref: str, day: str = "2026-03-30"):
    """Import a statement with one transfer from Rossi; it opens at zero, so it closes at
    the amount."""
    data = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt><GrpHdr><MsgId>M-{ref}</MsgId></GrpHdr>
    <Stmt><Id>S-{ref}</Id>
      <Acct><Id><IBAN>{OWN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>
      <Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <RltdPties><Dbtr><Nm>Rossi Forniture S.r.l.</Nm></Dbtr>
            <DbtrAcct><Id><IBAN>{ROSSI_IBAN}</IBAN></Id></DbtrAcct></RltdPties>
          <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf>
        </TxDtls></NtryDtls></Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>""".encode()
    return statement_import(company=company, name=f"{ref}.xml", data=data)


def ft1() -> Receivable:
    return Receivable.objects.get(document_number="FT 2026/0001")


def watch() -> BankPaidItem:
    return BankPaidItem.objects.get(receivable=ft1())


@pytest.fixture
def ledger(company, tmp_path):
    snapshot(company, tmp_path, D27, "1.000,00")
    return company


@pytest.fixture
def closed_by_bank(ledger):
    """Rossi pays FT 2026/0001 in full, quoting it: booked at once, closed on 30/03."""
    result = pay(ledger, "1000.00", "SALDO FT 2026/0001", "2026033000001")
    assert result.items_closed == 1
    return ledger


@pytest.fixture
def partly_paid(ledger):
    """Rossi pays 600,00 of FT 2026/0001, quoting it: proposed, confirmed by a person;
    1.000,00 - 600,00 = 400,00 still owed."""
    pay(ledger, "600.00", "ACCONTO FT 2026/0001", "2026033000002")
    entry = BankEntry.objects.get()
    assert entry.status == EntryStatus.PROPOSED
    entry_allocate(entry=entry, allocations=[(ft1().pk, Decimal("600.00"))])
    assert ft1().open_amount == Decimal("400.00")
    return ledger


# --------------------------------------------------------------------------------------
# An item the bank closed
# --------------------------------------------------------------------------------------


def test_a_snapshot_still_listing_a_bank_paid_item_open_does_not_reopen_it(
    closed_by_bank, tmp_path
):
    assert watch().status == BankPaidStatus.WAITING

    result = snapshot(closed_by_bank, tmp_path, D31, "1.000,00")

    item = ft1()
    assert (item.status, item.open_amount, item.closed_on) == (
        ReceivableStatus.CLOSED,
        Decimal("0.00"),
        D30,
    )
    run = result.import_run
    assert (run.reopened, run.updated) == (0, 0)
    assert run.report["bank_differs"] == 1
    assert not ReceivableEvent.objects.filter(receivable=item, kind=EventKind.REOPENED).exists()
    assert not ReceivableEvent.objects.filter(receivable=item, import_run=run).exists()
    flagged = watch()
    assert (flagged.status, flagged.erp_open_amount, flagged.flagged_on) == (
        BankPaidStatus.DIFFERS,
        Decimal("1000.00"),
        D31,
    )
    assert flagged.settled_on is None
    # What the bank paid is kept as it was.
    assert (flagged.paid_amount, flagged.paid_on) == (Decimal("1000.00"), D30)


def test_a_later_snapshot_without_the_item_books_it(closed_by_bank, tmp_path):
    snapshot(closed_by_bank, tmp_path, D31, "1.000,00")

    result = snapshot(closed_by_bank, tmp_path, D02, None)

    booked = watch()
    assert (booked.status, booked.erp_open_amount, booked.settled_on) == (
        BankPaidStatus.BOOKED,
        Decimal("0.00"),
        D02,
    )
    # When it was flagged stays on record.
    assert booked.flagged_on == D31
    item = ft1()
    # Still closed on the day the bank paid, with no event from the snapshot.
    assert (item.status, item.closed_on) == (ReceivableStatus.CLOSED, D30)
    assert not ReceivableEvent.objects.filter(
        receivable=item, import_run=result.import_run
    ).exists()
    assert result.import_run.report["bank_differs"] == 0


def test_a_snapshot_that_agrees_at_once_books_the_item(closed_by_bank, tmp_path):
    snapshot(closed_by_bank, tmp_path, D31, None)

    booked = watch()
    assert (booked.status, booked.settled_on, booked.flagged_on) == (
        BankPaidStatus.BOOKED,
        D31,
        None,
    )
    assert (ft1().status, ft1().closed_on) == (ReceivableStatus.CLOSED, D30)


def test_a_snapshot_listing_the_item_as_settled_books_it(closed_by_bank, tmp_path):
    snapshot(closed_by_bank, tmp_path, D31, "0,00")

    booked = watch()
    assert (booked.status, booked.erp_open_amount, booked.settled_on) == (
        BankPaidStatus.BOOKED,
        Decimal("0.00"),
        D31,
    )
    # The item keeps the day the bank closed it.
    assert (ft1().status, ft1().closed_on) == (ReceivableStatus.CLOSED, D30)


def test_a_partial_snapshot_without_the_item_leaves_it_waiting(closed_by_bank, tmp_path):
    snapshot(closed_by_bank, tmp_path, D31, None, partial=True)
    assert watch().status == BankPaidStatus.WAITING
    assert watch().settled_on is None


def test_a_partial_snapshot_listing_the_item_open_flags_it(closed_by_bank, tmp_path):
    snapshot(closed_by_bank, tmp_path, D31, "1.000,00", partial=True)
    assert (watch().status, watch().erp_open_amount) == (BankPaidStatus.DIFFERS, Decimal("1000.00"))
    assert ft1().status == ReceivableStatus.CLOSED


def test_a_flag_keeps_its_first_day_while_the_erp_lags(closed_by_bank, tmp_path):
    snapshot(closed_by_bank, tmp_path, D31, "1.000,00")
    # On 02/04 the ERP shows 900,00 (it booked something else, not the bank's payment).
    snapshot(closed_by_bank, tmp_path, D02, "900,00")

    flagged = watch()
    assert (flagged.status, flagged.erp_open_amount, flagged.flagged_on) == (
        BankPaidStatus.DIFFERS,
        Decimal("900.00"),
        D31,
    )
    assert ft1().status == ReceivableStatus.CLOSED


def test_the_flag_names_the_snapshot_that_raised_it_when_it_changed_other_items(
    closed_by_bank, tmp_path
):
    # FT 2026/0002 is paid in the ERP (gone): the snapshot writes an event.
    path = tmp_path / "scadenziario-0331.csv"
    path.write_text("\n".join([HEADER, FT1.format(open="1.000,00"), OTHERS[1]]) + "\n")
    result = receivables_import(company=closed_by_bank, path=path, as_of=D31)
    assert watch().flagged_by_import == result.import_run


def test_the_flag_names_the_snapshot_that_raised_it(closed_by_bank, tmp_path):
    # The snapshot lists every item as before: only the bank-paid item differs.
    result = snapshot(closed_by_bank, tmp_path, D31, "1.000,00")
    assert watch().status == BankPaidStatus.DIFFERS
    assert watch().flagged_by_import == result.import_run


# --------------------------------------------------------------------------------------
# An item the bank paid in part
# --------------------------------------------------------------------------------------


def test_a_snapshot_listing_the_whole_amount_keeps_what_the_bank_left(partly_paid, tmp_path):
    assert (watch().status, watch().paid_amount) == (BankPaidStatus.WAITING, Decimal("600.00"))

    result = snapshot(partly_paid, tmp_path, D31, "1.000,00")

    item = ft1()
    # 400,00 owed as the bank left it, not the ERP's 1.000,00.
    assert (item.status, item.open_amount) == (ReceivableStatus.OPEN, Decimal("400.00"))
    assert not ReceivableEvent.objects.filter(
        receivable=item, import_run=result.import_run
    ).exists()
    flagged = watch()
    assert (flagged.status, flagged.erp_open_amount, flagged.flagged_on) == (
        BankPaidStatus.DIFFERS,
        Decimal("1000.00"),
        D31,
    )
    assert result.import_run.report["bank_differs"] == 1

    # The ERP catches up: it lists the 400,00 the bank left.
    snapshot(partly_paid, tmp_path, D02, "400,00")

    booked = watch()
    assert (booked.status, booked.erp_open_amount, booked.settled_on) == (
        BankPaidStatus.BOOKED,
        Decimal("400.00"),
        D02,
    )
    assert ft1().open_amount == Decimal("400.00")


def test_a_snapshot_listing_what_the_bank_left_books_it(partly_paid, tmp_path):
    result = snapshot(partly_paid, tmp_path, D31, "400,00")

    booked = watch()
    assert (booked.status, booked.erp_open_amount, booked.settled_on, booked.flagged_on) == (
        BankPaidStatus.BOOKED,
        Decimal("400.00"),
        D31,
        None,
    )
    assert (ft1().status, ft1().open_amount) == (ReceivableStatus.OPEN, Decimal("400.00"))
    assert result.import_run.report["bank_differs"] == 0


def test_a_snapshot_listing_less_than_the_bank_left_is_taken(partly_paid, tmp_path):
    # The ERP saw another 100,00 too: 400,00 - 100,00 = 300,00.
    result = snapshot(partly_paid, tmp_path, D31, "300,00")

    item = ft1()
    assert (item.status, item.open_amount) == (ReceivableStatus.OPEN, Decimal("300.00"))
    event = ReceivableEvent.objects.get(receivable=item, import_run=result.import_run)
    assert (event.kind, event.on_date, event.amount_before, event.amount_after) == (
        EventKind.AMOUNT_CHANGED,
        D31,
        Decimal("400.00"),
        Decimal("300.00"),
    )
    booked = watch()
    assert (booked.status, booked.erp_open_amount, booked.settled_on) == (
        BankPaidStatus.BOOKED,
        Decimal("300.00"),
        D31,
    )


def test_a_full_snapshot_without_a_partly_paid_item_closes_it_and_books_it(partly_paid, tmp_path):
    result = snapshot(partly_paid, tmp_path, D31, None)

    item = ft1()
    assert (item.status, item.open_amount, item.closed_on) == (
        ReceivableStatus.CLOSED,
        Decimal("0.00"),
        D31,
    )
    event = ReceivableEvent.objects.get(receivable=item, import_run=result.import_run)
    assert (event.kind, event.amount_before) == (EventKind.CLOSED, Decimal("400.00"))
    assert (watch().status, watch().erp_open_amount) == (BankPaidStatus.BOOKED, Decimal("0.00"))


def test_a_new_bank_payment_after_the_erp_agreed_starts_a_new_watch(partly_paid, tmp_path):
    snapshot(partly_paid, tmp_path, D31, "400,00")
    assert watch().status == BankPaidStatus.BOOKED

    # On 02/04 Rossi pays the 400,00 left, quoting the invoice: booked at once.
    result = pay(partly_paid, "400.00", "SALDO FT 2026/0001", "2026040200003", day="2026-04-02")

    assert result.items_closed == 1
    renewed = watch()
    assert (renewed.status, renewed.paid_amount, renewed.paid_on) == (
        BankPaidStatus.WAITING,
        Decimal("400.00"),
        D02,
    )
    assert (renewed.erp_open_amount, renewed.settled_on, renewed.flagged_on) == (None, None, None)


def test_a_differing_item_paid_again_stays_flagged(partly_paid, tmp_path):
    snapshot(partly_paid, tmp_path, D31, "1.000,00")
    assert watch().status == BankPaidStatus.DIFFERS

    pay(partly_paid, "400.00", "SALDO FT 2026/0001", "2026040200004", day="2026-04-02")

    # 600,00 + 400,00 = 1.000,00 paid by the bank; the ERP's difference is still to be seen.
    still = watch()
    assert (still.status, still.paid_amount, still.paid_on, still.flagged_on) == (
        BankPaidStatus.DIFFERS,
        Decimal("1000.00"),
        D02,
        D31,
    )
    assert ft1().status == ReceivableStatus.CLOSED


# --------------------------------------------------------------------------------------
# An undone payment is no longer watched
# --------------------------------------------------------------------------------------


def test_after_an_undo_the_snapshot_speaks_for_the_item_again(closed_by_bank, tmp_path):
    entry_undo(entry=BankEntry.objects.get())
    assert (watch().status, ft1().status) == (BankPaidStatus.REVERSED, ReceivableStatus.OPEN)

    # The ERP shows 900,00: taken as for any item.
    snapshot(closed_by_bank, tmp_path, D31, "900,00")
    assert (ft1().status, ft1().open_amount) == (ReceivableStatus.OPEN, Decimal("900.00"))
    assert watch().status == BankPaidStatus.REVERSED

    # A full snapshot without it closes it, as for any item; the watch is not booked.
    snapshot(closed_by_bank, tmp_path, D02, None)
    assert (ft1().status, ft1().closed_on) == (ReceivableStatus.CLOSED, D02)
    assert watch().status == BankPaidStatus.REVERSED


def test_the_other_items_follow_the_snapshot_as_usual(closed_by_bank, tmp_path):
    path = tmp_path / "scadenziario-0331.csv"
    path.write_text(
        "\n".join(
            [
                HEADER,
                FT1.format(open="1.000,00"),
                # FT 2026/0002 paid in the ERP (gone); FT 2026/0003 down to 500,00.
                "00046;Bianchi S.p.A.;FT 2026/0003;10/03/2026;09/04/2026;700,00;500,00",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    receivables_import(company=closed_by_bank, path=path, as_of=D31)

    ft2 = Receivable.objects.get(document_number="FT 2026/0002")
    ft3 = Receivable.objects.get(document_number="FT 2026/0003")
    assert (ft2.status, ft2.closed_on) == (ReceivableStatus.CLOSED, D31)
    assert ft3.open_amount == Decimal("500.00")
    assert not BankPaidItem.objects.filter(receivable__in=[ft2, ft3]).exists()
    assert (ft1().status, watch().status) == (ReceivableStatus.CLOSED, BankPaidStatus.DIFFERS)
