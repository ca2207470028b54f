"""The dossier of a hand-over case, as CSV (parsed back) and as PDF (its text read back).

Built on the story of test_history (Rossi's F1, F2 and F3 from 02/03 to 10/04/2026); then on
12/04 all three are handed over to Studio Legale Bianchi in a second case, and the dossier
is made on 15/04/2026 with the ECB rate of 2026 H1, 2,15% (as published): 10,15% of
commercial interest.

  item  due    amount    open    days late on 15/04       interest (open x 10,15% x days / 365)
  F1    01/02  1.000,00  300,00  27 + 31 + 15 = 73        300 x 0,1015 x 73/365 = 6,09
  F2    01/03    550,00  550,00  30 + 15 = 45             550 x 0,1015 x 45/365 = 6,8826 -> 6,88
  F3    15/03    300,00  300,00  16 + 15 = 31             300 x 0,1015 x 31/365 = 2,5862 -> 2,59
  total        1.850,00 1.150,00                                                  15,56

(F1's amount is set to its document's 1.000,00: the snapshots gave only open amounts.)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext

from incassa.comms.documents import page_count, pdf_text
from incassa.comms.models import InterestRate, RateKind
from incassa.ledger.models import Customer, Receivable
from incassa.workspace.agreements import case_open
from incassa.workspace.dossier import dossier, dossier_csv, dossier_filename, dossier_pdf
from incassa.workspace.history import HistoryKind
from tests.workspace.test_history import d, item, operator, story  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

TODAY = d("15/04/2026")
EVIL = '=HYPERLINK("http://evil.example/x","Clicca")'


@pytest.fixture
def case(story, operator):  # noqa: F811
    # The published rate the migrations install.
    assert InterestRate.objects.get(kind=RateKind.ECB, starts_on=dt.date(2026, 1, 1)).rate == (
        Decimal("2.15")
    )
    Receivable.objects.filter(document_number="F1").update(amount=Decimal("1000.00"))
    Customer.objects.filter(pk=story.pk).update(
        vat_number="", address="Via Emilia 10", postal_code="40100", city="Bologna"
    )
    return case_open(
        customer=story,
        items=[item("F1"), item("F2"), item("F3")],
        agency="Studio Legale Bianchi",
        kind="lawyer",
        user=operator,
        today=d("12/04/2026"),
    )


def sections(data: bytes) -> dict[str, list[list[str]]]:
    """The CSV's sections by their title, each the rows under it."""
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    found: dict[str, list[list[str]]] = {"": []}
    title = ""
    for row in rows:
        if not any(row):
            title = None
        elif title is None:
            title = row[0]
            found[title] = []
        else:
            found[title].append(row)
    return found


def test_what_the_dossier_holds(case):
    dos = dossier(case, today=TODAY, language="it")
    rows = [(i.receivable.document_number, i.days_overdue, i.interest) for i in dos.items]
    assert rows == [
        ("F1", 73, Decimal("6.09")),
        ("F2", 45, Decimal("6.88")),
        ("F3", 31, Decimal("2.59")),
    ]
    assert (dos.amount_total, dos.open_total, dos.interest_total) == (
        Decimal("1850.00"),
        Decimal("1150.00"),
        Decimal("15.56"),
    )
    assert (dos.interest_until, dos.interest_provisional) == (TODAY, False)
    # The chronology, oldest first: the story's 28 entries less the engine's step and its 7
    # holds, plus this case's hand-over.
    assert len(dos.chronology) == 28 - 8 + 1
    assert [e.on for e in dos.chronology] == sorted(e.on for e in dos.chronology)
    kinds = [e.kind for e in dos.chronology]
    assert HistoryKind.STEP not in kinds and HistoryKind.HOLD_PLACED not in kinds
    assert kinds.count(HistoryKind.ACTIVITY) == 1
    assert kinds.count(HistoryKind.MESSAGE) == 1
    assert kinds[-1] == HistoryKind.CASE  # 12/04, the newest


def it(msgid: str) -> str:
    """A label as the Italian dossier writes it (whether or not it is translated yet)."""
    with translation.override("it"):
        return gettext(msgid)


def test_the_csv_in_italian(case):
    Customer.objects.filter(pk=case.customer_id).update(name=EVIL)
    case.refresh_from_db()
    found = sections(dossier_csv(case, today=TODAY, language="it"))
    assert found[""] == [
        [it("Dossier for the collection agency"), "Acme Italia S.p.A.", "15/04/2026"]
    ]

    facts = dict(found[it("Case")])
    assert facts[it("Agency or lawyer")] == "Studio Legale Bianchi"
    assert facts[it("Handed over on")] == "12/04/2026"
    assert facts[it("Amount handed over")] == "1.150,00\xa0€"  # 300 + 550 + 300
    assert facts[it("Handed over by")] == "Maria Bianchi"

    customer = dict(found[it("Customer")])
    assert customer[it("Customer code")] == "R01"
    # The name a spreadsheet would run as a formula stays text.
    assert customer[it("Company name")] == "'" + EVIL
    assert customer[it("Address")] == "Via Emilia 10, 40100 Bologna"
    assert customer[it("Emails")] == "amm@rossi.it"
    assert capfirst(it("VAT number")) not in customer  # empty facts are left out

    header, *items, total, note = found[it("Items")]
    assert header[0] == it("Document")
    assert [row[0] for row in items] == ["F1", "F2", "F3"]
    assert items[0] == [
        "F1",
        it("Invoice"),
        "",
        "01/02/2026",
        "EUR",
        "1.000,00",
        "300,00",
        "73",
        "6,09",
    ]
    assert [row[6:] for row in items[1:]] == [["550,00", "45", "6,88"], ["300,00", "31", "2,59"]]
    assert total == [it("Total"), "", "", "", "", "1.850,00", "1.150,00", "", "15,56"]
    assert note == [it("Statutory interest computed until %(date)s.") % {"date": "15/04/2026"}]

    header, *chronology = found[it("Chronology")]
    assert len(header) == 10
    assert len(chronology) == 21
    by_type: dict[str, list[list[str]]] = {}
    for row in chronology:
        by_type.setdefault(row[2], []).append(row)
    # Every activity and every communication, with what they said.
    (call,) = by_type[it("Activities")]
    assert call[:2] == ["06/03/2026", "10:00"]
    assert call[4] == "F1"
    assert call[7].endswith("Sig. Rossi · Richiamare")
    assert call[8:] == ["Maria Bianchi", "Chiede l'estratto conto"]
    (email,) = by_type[it("Communications")]
    assert email[:2] == ["09/03/2026", "09:00"]
    assert email[4:7] == ["F1, F2", "1.500,00", it("Sent")]
    assert email[7] == "Sollecito di pagamento"
    # The payments, with the amount paid in Italian format.
    payments = [row for row in by_type[it("Payments and imports")] if row[3] == it("Payment")]
    assert [(row[0], row[5]) for row in payments] == [
        ("10/03/2026", "400,00"),
        ("31/03/2026", "300,00"),
    ]
    assert len(by_type[it("Agreements")]) == 11
    assert chronology[0][0] == "02/03/2026"  # oldest first
    assert chronology[-1][:4] == ["12/04/2026", "", it("Agreements"), it("Handed over")]
    assert chronology[-1][4:6] == ["F1, F2, F3", "1.150,00"]


def test_without_rates_the_interest_is_left_blank(case):
    InterestRate.objects.all().delete()
    dos = dossier(case, today=TODAY, language="it")
    assert [i.interest for i in dos.items] == [None, None, None]
    assert dos.interest_total is None
    _header, *items, total = sections(dossier_csv(case, today=TODAY, language="it"))[it("Items")]
    assert [row[8] for row in items] == ["", "", ""]
    assert total[8] == ""


def squash(text: str) -> str:
    return " ".join(text.replace("\xa0", " ").split())


def test_the_pdf_in_italian(case):
    pdf = dossier_pdf(case, today=TODAY, language="it")
    assert pdf.startswith(b"%PDF")
    text = squash(pdf_text(pdf))
    for expected in [
        "Acme Italia S.p.A.",  # the letterhead
        "Spett.le Studio Legale Bianchi",  # in the envelope window
        "Rossi S.r.l.",
        "R01",
        "Via Emilia 10, 40100 Bologna",
        "F1",
        "F2",
        "F3",
        "1.000,00 €",
        "1.850,00 €",  # the total amount
        "1.150,00 €",  # the total open
        "15,56 €",  # the total interest
        "6,88 €",
        "15/04/2026",
        "Sollecito di pagamento",  # the communication
        "Richiamare",  # the activity's outcome
        "Maria Bianchi",
        "Merce difettosa",
    ]:
        assert expected in text, expected
    assert page_count(pdf) >= 2


def test_the_pdf_in_english(case):
    text = squash(pdf_text(dossier_pdf(case, today=TODAY, language="en")))
    assert "€1,850.00" in text
    assert "Spett.le" not in text


def test_the_file_names(case):
    assert dossier_filename(case, "pdf") == f"dossier-R01-{case.pk}.pdf"
    Customer.objects.filter(pk=case.customer_id).update(code="A/1 x")
    case = type(case).objects.select_related("customer").get(pk=case.pk)
    assert dossier_filename(case, "csv") == f"dossier-A-1-x-{case.pk}.csv"
