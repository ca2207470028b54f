"""The PDF documents: the EPC QR payload against EPC069-12 worked out by hand, and the rendered
letters, statements and cover lists read back with pypdf.

Rendering costs ~0.1 s a document, so each document is rendered once per module and the tests
read its text. Expected UI strings are looked up through gettext, so the tests hold before and
after the Italian catalogue gains them; amounts and dates are written out as they must appear.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import struct
from decimal import Decimal

import pypdf
import pytest
import segno.helpers
from django.utils import translation
from django.utils.translation import gettext
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from incassa.comms.documents import (
    EPC_MAX_BYTES,
    CoverEntry,
    DocumentItem,
    Letter,
    Letterhead,
    Party,
    Payment,
    Statement,
    epc_payload,
    epc_qr,
    epc_qr_svg,
    format_iban,
    merge_print_batch,
    page_count,
    pdf_text,
    render_cover,
    render_letter,
    render_png,
    render_statement,
    statement_totals,
)

D = Decimal
NBSP = "\xa0"
DAY = dt.date(2026, 3, 31)
IBAN = "IT60 X054 2811 1010 0000 0123 456"


def _png(width: int = 120, height: int = 40) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (width, height), (192, 57, 43)).save(output, format="PNG")
    return output.getvalue()


COMPANY = Party(
    "Ferramenta Rossi S.p.A.",
    ("Via Roma 1", "20121 Milano MI"),
    vat_number="IT01234567890",
    fiscal_code="01234567890",
    email="crediti@ferramentarossi.it",
    pec="ferramentarossi@pec.it",
    phone="+39 02 1234567",
)
LETTERHEAD = Letterhead(
    COMPANY,
    logo=_png(),
    footer="Capitale sociale 1.000.000,00 euro i.v.\nREA MI-1234567",
    iban="IT60X0542811101000000123456",
    website="www.ferramentarossi.it",
)
RECIPIENT = Party("Edilizia <b>Bianchi</b> S.r.l.", ("Via Garibaldi 25", "10121 Torino TO"))
PAYMENT = Payment(
    beneficiary="Ferramenta Rossi S.p.A.",
    iban=IBAN,
    amount=D("1334.56"),
    remittance="Fatture 2026/0123 e 2026/0187",
    bic="BPMOIT22XXX",
)
LETTER = Letter(
    language="it",
    letterhead=LETTERHEAD,
    recipient=RECIPIENT,
    date=DAY,
    place="Milano",
    subject="Sollecito di pagamento",
    body_html="<p>Gentile cliente, risultano <strong>ancora aperte</strong> due fatture.</p>",
    signature="Ufficio Crediti\nMaria Verdi",
    payment=PAYMENT,
    registered=True,
    reference="SOL-2026-000123",
)


def _it(message: str) -> str:
    with translation.override("it"):
        return gettext(message)


def _squash(text: str) -> str:
    """The text with line breaks as spaces (a line may wrap in one language and not another)."""
    return re.sub(r"[ \n]+", " ", text)


def _page_of(page: int, pages: int, language: str) -> str:
    with translation.override(language):
        return gettext("Page %(page)s of %(pages)s") % {"page": page, "pages": pages}


# --- EPC QR payload -------------------------------------------------------------------------


def test_epc_payload_follows_epc069_12_line_by_line():
    assert epc_payload(dataclasses.replace(PAYMENT, amount=D("123.45"))).split("\n") == [
        "BCD",  # service tag
        "002",  # version
        "1",  # character set 1 = UTF-8
        "SCT",  # SEPA credit transfer
        "BPMOIT22XXX",  # BIC
        "Ferramenta Rossi S.p.A.",  # beneficiary
        "IT60X0542811101000000123456",  # IBAN without spaces
        "EUR123.45",  # amount
        "",  # purpose code: none
        "",  # structured reference: none
        "Fatture 2026/0123 e 2026/0187",  # unstructured remittance
    ]


def test_epc_payload_pads_cents_uppercases_and_drops_nothing_but_trailing_blanks():
    payment = Payment("Rossi", "it60 x054 2811 1010 0000 0123 456", D("1234.5"), "", bic="")
    # No remittance: the lines after the amount are empty and left out.
    assert (
        epc_payload(payment) == "BCD\n002\n1\nSCT\n\nRossi\nIT60X0542811101000000123456\nEUR1234.50"
    )


def test_epc_payload_keeps_each_field_on_its_line_and_within_its_length():
    payment = Payment("Ferramenta\nRossi " + "x" * 80, IBAN, D("10"), "Fattura\r\n12  " + "y" * 200)
    lines = epc_payload(payment).split("\n")
    assert len(lines) == 11
    assert lines[5] == ("Ferramenta Rossi " + "x" * 80)[:70]
    assert lines[10] == ("Fattura 12 " + "y" * 200)[:140]
    assert lines[7] == "EUR10.00"


@pytest.mark.parametrize("amount", [D("0"), D("-5.00"), D("0.004"), D("1000000000.00")])
def test_epc_payload_refuses_amounts_a_qr_cannot_carry(amount):
    with pytest.raises(ValueError, match="amount"):
        epc_payload(dataclasses.replace(PAYMENT, amount=amount))


def test_epc_payload_stays_within_331_bytes_with_multibyte_text():
    # 70 + 140 euro signs are 630 bytes in UTF-8: the remittance gives way first.
    payment = Payment("€" * 80, IBAN, D("1.00"), "€" * 200, bic="BPMOIT22XXX")
    payload = epc_payload(payment)
    assert len(payload.encode("utf-8")) <= EPC_MAX_BYTES
    lines = payload.split("\n")
    assert lines[5] == "€" * 70
    assert set(lines[10]) == {"€"}


@settings(max_examples=200, deadline=None)
@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("999999999.99"), places=2),
    beneficiary=st.text(min_size=1, max_size=100).filter(str.strip),
    remittance=st.text(max_size=300),
)
def test_epc_payload_for_any_amount_and_text(amount, beneficiary, remittance):
    payload = epc_payload(Payment(beneficiary, IBAN, amount, remittance))
    lines = payload.split("\n")
    assert len(payload.encode("utf-8")) <= EPC_MAX_BYTES
    assert lines[:4] == ["BCD", "002", "1", "SCT"]
    assert lines[7] == "EUR" + format(amount, ".2f")
    assert "," not in lines[7]
    assert len(lines[5]) <= 70
    if len(lines) > 8:
        assert len(lines) == 11
        assert 0 < len(lines[10]) <= 140
        assert " ".join(remittance.split()).startswith(lines[10])


def test_epc_qr_is_the_symbol_segno_draws_for_the_same_transfer():
    payment = dataclasses.replace(PAYMENT, amount=D("123.45"))
    expected = segno.helpers.make_epc_qr(
        name="Ferramenta Rossi S.p.A.",
        iban="IT60X0542811101000000123456",
        amount=D("123.45"),
        text="Fatture 2026/0123 e 2026/0187",
        bic="BPMOIT22XXX",
        encoding="utf-8",
    )
    qr = epc_qr(payment)
    assert qr.error == "M"
    assert qr.matrix == expected.matrix


def test_epc_qr_svg_is_an_inline_svg_of_the_requested_size():
    svg = epc_qr_svg(PAYMENT)
    # 119 bytes in byte mode at level M need version 7: 45 modules + 2 x 4 of quiet zone.
    assert epc_qr(PAYMENT).version == 7
    assert svg.startswith('<svg width="36mm" height="36mm" viewBox="0 0 53 53"')
    assert svg.rstrip().endswith("</svg>")
    assert 'width="30mm"' in epc_qr_svg(PAYMENT, size_mm=30)


def test_format_iban_groups_in_fours():
    assert format_iban("it60x0542811101000000123456") == IBAN


def test_statement_totals_add_up_with_decimals():
    items = (
        DocumentItem("1", None, DAY, D("1234.56"), 30, interest=D("12.34")),
        DocumentItem("2", None, DAY, D("100.00"), 10),
    )
    totals = statement_totals(Statement("it", LETTERHEAD, RECIPIENT, DAY, items, D("80.00")))
    # 1234.56 + 100.00 = 1334.56; interest 12.34; 1334.56 + 12.34 + 80.00 = 1426.90
    assert (totals.open, totals.interest, totals.compensation, totals.total) == (
        D("1334.56"),
        D("12.34"),
        D("80.00"),
        D("1426.90"),
    )
    no_interest = statement_totals(Statement("it", LETTERHEAD, RECIPIENT, DAY, items[1:]))
    assert (no_interest.interest, no_interest.total) == (None, D("100.00"))


# --- letters --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def letter_pdf():
    return render_letter(LETTER)


@pytest.fixture(scope="module")
def letter_text(letter_pdf):
    return pdf_text(letter_pdf)


def test_letter_is_one_a4_page(letter_pdf):
    reader = pypdf.PdfReader(io.BytesIO(letter_pdf))
    assert page_count(letter_pdf) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
    assert reader.metadata.title == "Sollecito di pagamento"


def test_letter_addresses_the_recipient_escaped_as_text(letter_text):
    assert "Spett.le Edilizia <b>Bianchi</b> S.r.l." in letter_text
    assert "Via Garibaldi 25\n10121 Torino TO" in letter_text


def test_letter_carries_date_reference_subject_body_and_signature(letter_text):
    assert "Milano, 31/03/2026" in letter_text
    assert f"{_it('Our ref.')} SOL-2026-000123" in letter_text
    assert f"{_it('Subject:')} Sollecito di pagamento" in letter_text
    assert "risultano ancora aperte due fatture" in letter_text
    assert "Ufficio Crediti\nMaria Verdi" in letter_text


def test_letter_prints_the_letterhead_and_the_legal_footer(letter_text):
    assert "Ferramenta Rossi S.p.A." in letter_text
    assert "Via Roma 1 · 20121 Milano MI" in letter_text
    assert "ferramentarossi@pec.it" in letter_text
    assert "Capitale sociale 1.000.000,00 euro i.v.\nREA MI-1234567" in letter_text
    assert _page_of(1, 1, "it") in letter_text


def test_registered_letter_leaves_a_field_for_the_number(letter_text):
    # Italian: "Raccomandata A/R" and "N." once the catalogue has them.
    registered = f"{_it('Registered mail with return receipt')} {_it('No.')}"
    assert f"{registered} Spett.le Edilizia" in _squash(letter_text)


def test_letter_payment_box_repeats_the_qr_data_in_plain_text(letter_text):
    assert IBAN in letter_text
    assert "BPMOIT22XXX" in letter_text
    assert f"1.334,56{NBSP}€" in letter_text
    assert f"{_it('Payment reason')} Fatture 2026/0123 e 2026/0187" in letter_text


def test_letter_embeds_the_logo_and_fetches_nothing_else(tmp_path):
    image = tmp_path / "local.png"
    image.write_bytes(_png(300, 300))
    body = (
        f'<p>Body</p><img src="file://{image}"><img src="http://127.0.0.1:9/x.png">'
        f'<p style="background: url(file://{image})">x</p>'
    )
    pdf = render_letter(dataclasses.replace(LETTER, body_html=body, payment=None))
    images = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].images
    assert [(im.image.width, im.image.height) for im in images] == [(120, 40)]  # the logo only


def test_long_english_letter_numbers_its_pages_and_prints_the_known_registered_number():
    letter = dataclasses.replace(
        LETTER,
        language="en",
        body_html="".join(f"<p>Paragraph {n} of a long letter.</p>" for n in range(40)),
        registered_number="15234567890-1",
        payment=None,
        letterhead=dataclasses.replace(LETTERHEAD, logo=None),
    )
    pdf = render_letter(letter)
    pages = pdf_text(pdf).split("\f")
    assert len(pages) == page_count(pdf) == 2
    assert "Page 1 of 2" in pages[0]
    assert "Page 2 of 2" in pages[1]
    assert "Edilizia <b>Bianchi</b> S.r.l." in pages[0]
    assert "Spett.le" not in pages[0]
    assert "Registered mail with return receipt No. 15234567890-1" in _squash(pages[0])
    assert "Paragraph 39 of a long letter." in pages[1]
    assert "Capitale sociale" in pages[1]  # the footer is on every page
    assert "Payment details" not in pdf_text(pdf)


def test_unregistered_letter_has_no_registered_line():
    text = pdf_text(render_letter(dataclasses.replace(LETTER, language="en", registered=False)))
    assert "Registered" not in text
    assert "Amount €1,334.56" in text


# --- statements -----------------------------------------------------------------------------

ITEMS = (
    DocumentItem(
        "2026/0123", dt.date(2026, 1, 15), dt.date(2026, 2, 14), D("1234.56"), 45, D("12.34")
    ),
    DocumentItem(
        "2026/0187", dt.date(2026, 1, 31), dt.date(2026, 3, 2), D("100.00"), 29, D("5.00")
    ),
    DocumentItem("2026/0240", None, dt.date(2026, 4, 30), D("50.00"), -30),
)


@pytest.fixture(scope="module")
def statement_text():
    statement = Statement(
        "it", LETTERHEAD, RECIPIENT, DAY, ITEMS, compensation=D("80.00"), payment=PAYMENT
    )
    return pdf_text(render_statement(statement))


def test_statement_lists_every_item_with_its_dates_days_and_amounts(statement_text):
    assert _it("Statement of account") in statement_text
    assert f"2026/0123 15/01/2026 14/02/2026 45 1.234,56{NBSP}€ 12,34{NBSP}€" in statement_text
    assert f"2026/0187 31/01/2026 02/03/2026 29 100,00{NBSP}€ 5,00{NBSP}€" in statement_text
    # Not due yet: no days late; no interest: the cell stays empty.
    assert f"2026/0240 30/04/2026 50,00{NBSP}€" in statement_text
    assert _it("Interest") in statement_text


def test_statement_totals_worked_out_by_hand(statement_text):
    # open: 1.234,56 + 100,00 + 50,00 = 1.384,56; interest: 12,34 + 5,00 = 17,34
    # total due: 1.384,56 + 17,34 + 80,00 (2 invoices x 40) = 1.481,90
    assert f"{_it('Total')} 1.384,56{NBSP}€ 17,34{NBSP}€" in statement_text
    assert f"{_it('Open amount')} 1.384,56{NBSP}€" in statement_text
    assert f"{_it('Interest')} 17,34{NBSP}€" in statement_text
    compensation = _it("Compensation for recovery costs (art. 6 D.Lgs. 231/2002)")
    assert f"{compensation} 80,00{NBSP}€" in statement_text
    assert f"{_it('Total due')} 1.481,90{NBSP}€" in statement_text


def test_statement_without_interest_has_no_interest_column_nor_summary():
    items = tuple(dataclasses.replace(item, interest=None) for item in ITEMS)
    text = pdf_text(render_statement(Statement("en", LETTERHEAD, RECIPIENT, DAY, items)))
    assert "Document Date Due date Days late Open amount\n" in text
    assert "Interest" not in text
    assert "Total due" not in text
    assert "Total €1,384.56" in text
    assert "Payment details" not in text


def test_long_statement_repeats_the_table_header_on_every_page():
    items = tuple(
        DocumentItem(f"2026/{n:04d}", DAY, DAY, D("10.00"), 1, D("0.10")) for n in range(70)
    )
    pdf = render_statement(Statement("en", LETTERHEAD, RECIPIENT, DAY, items, D("40.00")))
    pages = pdf_text(pdf).split("\f")
    assert len(pages) == page_count(pdf) >= 2
    for number, page in enumerate(pages, start=1):
        assert "Document Date Due date Days late Open amount Interest" in page
        assert f"Page {number} of {len(pages)}" in page
    # 70 x 10,00 = 700,00; 70 x 0,10 = 7,00; + 40,00 = 747,00
    assert "Total due €747.00" in pages[-1]


# --- cover list and print batch -------------------------------------------------------------

ENTRIES = [
    CoverEntry(2, Party("Beta S.r.l.", ("Via Po 2", "10100 Torino TO")), "Diffida", 2, True),
    CoverEntry(1, Party("Alfa S.p.A.", ("Via Dante 1", "00100 Roma RM")), "Sollecito", 1, False),
    CoverEntry(3, Party("Gamma S.n.c.", ()), "Diffida", 1, True),
]


@pytest.fixture(scope="module")
def cover_pdf():
    return render_cover(ENTRIES, language="en", letterhead=LETTERHEAD, day=DAY)


def test_cover_lists_the_letters_in_order_with_the_registered_ones(cover_pdf):
    text = pdf_text(cover_pdf)
    assert "Dispatch list of 31/03/2026" in text
    assert "# Recipient Subject Pages Registered Registered no." in text
    assert text.index("Alfa S.p.A.") < text.index("Beta S.r.l.") < text.index("Gamma S.n.c.")
    assert "1 Alfa S.p.A.\nVia Dante 1, 00100 Roma RM\nSollecito 1 No" in text
    assert "2 Beta S.r.l.\nVia Po 2, 10100 Torino TO\nDiffida 2 Yes" in text
    assert "3 letters, 2 registered, 4 pages" in text
    assert "Page 1 of 1" in text


def test_print_batch_is_the_cover_then_every_letter(cover_pdf, letter_pdf):
    two_pages = render_letter(
        dataclasses.replace(LETTER, body_html="".join(f"<p>Paragraph {n}.</p>" for n in range(40)))
    )
    letters = [letter_pdf, two_pages, letter_pdf]
    batch = merge_print_batch(cover_pdf, letters)
    assert page_count(batch) == page_count(cover_pdf) + sum(map(page_count, letters)) == 5
    pages = pdf_text(batch).split("\f")
    assert "Dispatch list" in pages[0]
    assert "Paragraph 39." in pages[3]
    # Double-sided: cover 1 + 1 blank, 1 + 1 blank, 2, 1 + 1 blank.
    assert page_count(merge_print_batch(cover_pdf, letters, duplex=True)) == 8


def test_render_png_draws_a_page(letter_pdf):
    png = render_png(letter_pdf, scale=1)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) in {(595, 842), (596, 842)}  # A4: 595.3 x 841.9 points
