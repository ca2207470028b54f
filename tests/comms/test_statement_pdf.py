"""The statement of account drawn with fpdf2 (``incassa.comms.statement_pdf``), read back with
pypdf: its text in Italian and English, the table flowing over pages, the EPC QR code as drawn,
and the fall back to WeasyPrint for what Helvetica's cp1252 cannot print.

A statement renders in a few ms here, so tests render freely; only the fallback tests pay
WeasyPrint's ~0.1 s. Amounts and dates are written out as they must appear (NBSP before €).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
from decimal import Decimal

import pypdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from incassa.comms import statement_pdf
from incassa.comms.documents import (
    DocumentItem,
    Letterhead,
    Party,
    Payment,
    Statement,
    epc_qr,
    page_count,
    pdf_text,
    render_png,
    render_statement,
)
from tests.comms.test_documents import COMPANY, ITEMS  # the same company and items

D = Decimal
NBSP = "\xa0"
DAY = dt.date(2026, 3, 31)

LETTERHEAD = Letterhead(
    COMPANY,
    footer="Capitale sociale 1.000.000,00 euro i.v.\nREA MI-1234567",
    iban="IT60X0542811101000000123456",
    website="www.ferramentarossi.it",
)
RECIPIENT = Party("Edilizia Bianchi S.r.l.", ("Via Garibaldi 25", "10121 Torino TO"))
PAYMENT = Payment(
    beneficiary="Ferramenta Rossi S.p.A.",
    iban="IT60 X054 2811 1010 0000 0123 456",
    amount=D("1481.90"),
    remittance="Estratto conto SOL-2026-000123",
    bic="BPMOIT22XXX",
)
STATEMENT = Statement(
    "it",
    LETTERHEAD,
    RECIPIENT,
    DAY,
    ITEMS,
    compensation=D("80.00"),
    payment=PAYMENT,
    reference="SOL-2026-000123",
)
SVG_LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="380" height="64" viewBox="0 0 380 64">'
    b'<rect x="2" y="6" width="52" height="52" rx="10" fill="#9b2c1f"/>'
    b'<text x="64" y="40" font-family="sans-serif" font-size="20">Ferramenta Rossi</text>'
    b"</svg>"
)


def _png(width: int = 120, height: int = 40) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (width, height), (192, 57, 43)).save(output, format="PNG")
    return output.getvalue()


def _reader(pdf: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf))


def _drawn_by_fpdf2(pdf: bytes) -> bool:
    """fpdf2's statements say who made them; WeasyPrint's name WeasyPrint as producer."""
    metadata = _reader(pdf).metadata
    return metadata.creator == "Incassa" and not (metadata.producer or "").startswith("Weasy")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# --- content --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def italian_pdf() -> bytes:
    return render_statement(STATEMENT)


def test_statement_is_drawn_by_fpdf2_on_one_a4_page_with_its_metadata(italian_pdf):
    reader = _reader(italian_pdf)
    assert _drawn_by_fpdf2(italian_pdf)
    assert page_count(italian_pdf) == len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
    assert reader.metadata.title == "Estratto conto"
    assert reader.metadata.creator == "Incassa"
    assert reader.metadata.author == "Ferramenta Rossi S.p.A."
    font = reader.pages[0]["/Resources"]["/Font"]
    assert {font[name]["/BaseFont"] for name in font} == {"/Helvetica", "/Helvetica-Bold"}
    assert {font[name]["/Encoding"] for name in font} == {"/WinAnsiEncoding"}
    assert b"/FlateDecode" in italian_pdf  # fpdf2's default compression is on


def test_italian_statement_prints_letterhead_recipient_and_dates(italian_pdf):
    text = pdf_text(italian_pdf)
    lines = text.split("\n")
    assert lines[:5] == [
        "Ferramenta Rossi S.p.A.",  # the wordmark: no logo
        "Via Roma 1 · 20121 Milano MI",
        "P. IVA IT01234567890 · Codice fiscale 01234567890",
        "Tel. +39 02 1234567 · crediti@ferramentarossi.it",
        "PEC ferramentarossi@pec.it · www.ferramentarossi.it",
    ]
    assert "31/03/2026\nNs. rif. SOL-2026-000123\n" in text
    assert "Spett.le Edilizia Bianchi S.r.l.\nVia Garibaldi 25\n10121 Torino TO\n" in text
    assert "Estratto conto\nPartite aperte al 31/03/2026\n" in text
    assert "Capitale sociale 1.000.000,00 euro i.v.\nREA MI-1234567\n" in text
    assert "IBAN IT60 X054 2811 1010 0000 0123 456" in text
    assert "Pagina 1 di 1" in text


def test_italian_statement_lists_the_items_and_totals_worked_out_by_hand(italian_pdf):
    text = pdf_text(italian_pdf)
    header = "Documento Data Scadenza Giorni di ritardo Residuo aperto Interessi di mora\n"
    assert header in text
    assert f"2026/0123 15/01/2026 14/02/2026 45 1.234,56{NBSP}€ 12,34{NBSP}€\n" in text
    assert f"2026/0187 31/01/2026 02/03/2026 29 100,00{NBSP}€ 5,00{NBSP}€\n" in text
    # No document date, not due yet (no days late) and no interest: those cells stay empty.
    assert f"2026/0240 30/04/2026 50,00{NBSP}€\n" in text
    # Open: 1.234,56 + 100,00 + 50,00 = 1.384,56; interest: 12,34 + 5,00 = 17,34.
    assert f"Totale 1.384,56{NBSP}€ 17,34{NBSP}€\n" in text
    assert f"Residuo aperto 1.384,56{NBSP}€\nInteressi di mora 17,34{NBSP}€\n" in text
    compensation = "Indennizzo spese di recupero (art. 6 D.Lgs. 231/2002)"
    assert f"{compensation} 80,00{NBSP}€\n" in text
    # Total due: 1.384,56 + 17,34 + 80,00 = 1.481,90.
    assert f"Totale dovuto 1.481,90{NBSP}€\n" in text
    assert text.index("2026/0123") < text.index("2026/0187") < text.index("2026/0240")


def test_italian_statement_repeats_the_transfer_next_to_the_qr_code(italian_pdf):
    text = pdf_text(italian_pdf)
    assert (
        "Dati per il pagamento\n"
        "Beneficiario Ferramenta Rossi S.p.A.\n"
        "IBAN IT60 X054 2811 1010 0000 0123 456\n"
        "BIC BPMOIT22XXX\n"
        f"Importo 1.481,90{NBSP}€\n"
        "Causale Estratto conto SOL-2026-000123\n"
        "Inquadra il codice QR con l'app della tua banca per pagare con bonifico.\n"
    ) in text


def test_english_statement_with_interest_has_the_column_and_the_summary():
    pdf = render_statement(dataclasses.replace(STATEMENT, language="en"))
    text = pdf_text(pdf)
    assert _drawn_by_fpdf2(pdf)
    assert "Statement of account\nOpen items at 31/03/2026\n" in text
    assert "Document Date Due date Days late Open amount Interest\n" in text
    assert "2026/0123 15/01/2026 14/02/2026 45 €1,234.56 €12.34\n" in text
    assert "Spett.le" not in text  # no courtesy title in English
    assert "Edilizia Bianchi S.r.l.\nVia Garibaldi 25" in text
    # Same figures as the Italian one: 1,384.56 open, 17.34 interest, 80.00 compensation.
    assert "Total €1,384.56 €17.34\n" in text
    assert "Compensation for recovery costs (art. 6 D.Lgs. 231/2002) €80.00\n" in text
    assert "Total due €1,481.90\n" in text
    assert "Amount €1,481.90\n" in text
    assert "Page 1 of 1" in text


def test_english_statement_without_interest_drops_the_column_and_the_summary():
    items = tuple(dataclasses.replace(item, interest=None) for item in ITEMS)
    pdf = render_statement(
        dataclasses.replace(STATEMENT, language="en", items=items, compensation=None, payment=None)
    )
    text = pdf_text(pdf)
    assert "Document Date Due date Days late Open amount\n" in text
    assert "Interest" not in text
    assert "Total due" not in text  # no interest, no compensation: no summary
    assert "Payment details" not in text
    # 1,234.56 + 100.00 + 50.00 = 1,384.56
    assert "Total €1,384.56" in text


def test_letterhead_logo_is_embedded_once_and_the_name_moves_beside_it():
    letterhead = dataclasses.replace(LETTERHEAD, logo=_png())
    pdf = render_statement(dataclasses.replace(STATEMENT, letterhead=letterhead))
    assert _drawn_by_fpdf2(pdf)
    images = _reader(pdf).pages[0].images
    assert [(image.image.width, image.image.height) for image in images] == [(120, 40)]
    # With a logo the company's name heads the right-hand block.
    assert pdf_text(pdf).startswith("Ferramenta Rossi S.p.A.\nVia Roma 1 · 20121 Milano MI\n")
    # 120 x 40 px at 96 dpi: 31.75 x 10.58 mm, under the 70 x 20 mm cap.
    logo = statement_pdf._logo(_png())
    assert (round(logo.width, 2), round(logo.height, 2)) == (31.75, 10.58)


def test_svg_logo_is_drawn_by_fpdf2_at_most_70_mm_wide():
    letterhead = dataclasses.replace(LETTERHEAD, logo=SVG_LOGO, logo_mime="image/svg+xml")
    pdf = render_statement(dataclasses.replace(STATEMENT, letterhead=letterhead))
    assert _drawn_by_fpdf2(pdf)
    assert "Ferramenta Rossi" in pdf_text(pdf)
    # 380 x 64 CSS px = 100.5 x 16.9 mm: scaled to the 70 mm cap, 70 x 11.8 mm.
    logo = statement_pdf._logo(SVG_LOGO)
    assert (round(logo.width, 1), round(logo.height, 1)) == (70.0, 11.8)


def test_same_statement_gives_the_same_bytes():
    # No clock: the creation date is the statement's day.
    assert render_statement(STATEMENT) == render_statement(STATEMENT)
    info = _reader(render_statement(STATEMENT)).metadata
    assert info["/CreationDate"].startswith("D:20260331000000")


def test_widths_agree_with_fpdf2s_own_measure():
    canvas = statement_pdf._Canvas(statement_pdf._texts(STATEMENT))
    for style in ("", "B"):
        for size in (7.5, 8.5, 10):
            canvas.use(size, style)
            canvas.pdf.set_font("helvetica", style, size)
            for text in ("2026/0123", f"1.234,56{NBSP}€", "Giorni di ritardo", "àèéìòù ÀÉ «»"):
                assert canvas.width(text) == pytest.approx(canvas.pdf.get_string_width(text))


# --- pages ----------------------------------------------------------------------------------


def test_long_statement_flows_over_pages_with_the_header_on_each():
    items = tuple(
        DocumentItem(f"2026/{n:04d}", DAY, DAY, D("10.00"), 1, D("0.10")) for n in range(30)
    )
    pdf = render_statement(dataclasses.replace(STATEMENT, items=items, payment=None))
    pages = pdf_text(pdf).split("\f")
    # Page 1 has room below the envelope window for ~22 rows of 6.6 mm, so 30 need two pages.
    assert len(pages) == page_count(pdf) == 2
    header = "Documento Data Scadenza Giorni di ritardo Residuo aperto Interessi di mora\n"
    for number, page in enumerate(pages, start=1):
        assert page.count(header) == 1
        assert f"Pagina {number} di 2" in page
        assert "Capitale sociale" in page  # the footer is on every page
    assert "Estratto conto" in pages[0] and "Estratto conto" not in pages[1]
    # Every row once, in order, none lost at the break.
    numbers = re.findall(r"^(2026/\d{4}) ", "\n".join(pages), flags=re.M)
    assert numbers == [f"2026/{n:04d}" for n in range(30)]
    # 30 x 10,00 = 300,00; 30 x 0,10 = 3,00; + 80,00 = 383,00
    assert f"Totale dovuto 383,00{NBSP}€" in pages[1]


def test_seventy_items_and_the_payment_box_in_english():
    items = tuple(
        DocumentItem(f"2026/{n:04d}", DAY, DAY, D("10.00"), 1, D("0.10")) for n in range(70)
    )
    pdf = render_statement(Statement("en", LETTERHEAD, RECIPIENT, DAY, items, D("40.00"), PAYMENT))
    pages = pdf_text(pdf).split("\f")
    assert len(pages) == page_count(pdf) >= 2
    for number, page in enumerate(pages, start=1):
        assert "Document Date Due date Days late Open amount Interest\n" in page
        assert f"Page {number} of {len(pages)}" in page
    # 70 x 10.00 = 700.00; 70 x 0.10 = 7.00; + 40.00 = 747.00
    assert "Total due €747.00" in pages[-1]
    assert "Payment details" in pages[-1]


def test_a_long_document_number_wraps_inside_its_column():
    number = "FATTURA-" + "X" * 120
    items = (DocumentItem(number, DAY, DAY, D("10.00"), 1),)
    pdf = render_statement(dataclasses.replace(STATEMENT, items=items, payment=None))
    text = pdf_text(pdf)
    assert page_count(pdf) == 1
    assert number not in text  # it no longer fits one line...
    assert _squash(number) in _squash(text)  # ...but is all there
    # Four lines of it; the other cells, drawn after it, still read as one row.
    assert re.search(rf"\nFATTURA-X+\nX+\nX+\nX+\n31/03/2026 31/03/2026 1 10,00{NBSP}€\n", text)


# --- the EPC QR code ------------------------------------------------------------------------


def _qr_path(pdf: bytes) -> tuple[list[float], list[tuple[int, int, int, int]]]:
    """The ``cm`` placing the QR code (a, b, c, d, e, f) and its rectangles in module units."""
    content = _reader(pdf).pages[0].get_contents().get_data().decode("latin-1")
    match = re.search(r"q 0 g ([-\d. ]+) cm\n(.*?)\nf Q", content, flags=re.S)
    assert match, "no QR path in the page"
    rects = [tuple(int(v) for v in line.split()[:4]) for line in match.group(2).split("\n")]
    return [float(v) for v in match.group(1).split()], rects


def test_qr_code_rectangles_cover_exactly_the_dark_modules(italian_pdf):
    matrix = epc_qr(PAYMENT).matrix
    transform, rects = _qr_path(italian_pdf)
    drawn = set()
    for x, y, width, height in rects:
        assert height == 1
        drawn.update((y - 4, column - 4) for column in range(x, x + width))  # 4: quiet zone
    dark = {(row, column) for row, line in enumerate(matrix) for column, v in enumerate(line) if v}
    assert sum(width for _x, _y, width, _h in rects) == len(dark) == len(drawn)
    assert drawn == dark
    # Horizontal runs merged: far fewer rectangles than dark modules.
    assert len(rects) < len(dark) * 0.7
    # 36 mm square with the quiet zone: scale x modules = 36 mm = 102.05 pt.
    modules = len(matrix) + 8
    assert transform[0] * modules == pytest.approx(36 * 72 / 25.4, abs=0.01)
    assert transform[3] == -transform[0]


def test_qr_code_reads_back_from_the_rendered_page(italian_pdf):
    """No QR decoder is installed: render the page and read every module's colour back,
    which must give segno's matrix for the EPC payload (``test_documents`` checks that
    matrix against ``segno.helpers.make_epc_qr``)."""
    matrix = epc_qr(PAYMENT).matrix
    (scale, _b, _c, _d, x0, y0), _rects = _qr_path(italian_pdf)
    zoom = 4  # pixels per point
    image = Image.open(io.BytesIO(render_png(italian_pdf, scale=zoom))).convert("L")
    page_height = 297 * 72 / 25.4
    read = []
    for row in range(-4, len(matrix) + 4):  # the quiet zone must read light
        line = []
        for column in range(-4, len(matrix) + 4):
            x = (x0 + (column + 4.5) * scale) * zoom
            y = (page_height - y0 + (row + 4.5) * scale) * zoom
            line.append(1 if image.getpixel((int(x), int(y))) < 128 else 0)
        read.append(line)
    expected = [[0] * (len(matrix) + 8) for _ in range(4)]
    expected += [[0] * 4 + list(line) + [0] * 4 for line in matrix]
    expected += [[0] * (len(matrix) + 8) for _ in range(4)]
    assert read == expected


def test_the_qr_code_is_cached_per_payment():
    # segno's mask search is the costliest step: the same payment gives the same symbol object.
    assert epc_qr(PAYMENT) is epc_qr(dataclasses.replace(PAYMENT))
    assert epc_qr(PAYMENT) is not epc_qr(dataclasses.replace(PAYMENT, amount=D("1.00")))


# --- beyond cp1252: WeasyPrint --------------------------------------------------------------


def test_polish_customer_goes_through_weasyprint_with_the_name_intact():
    recipient = Party("Łódź Budownictwo Sp. z o.o.", ("ul. Piotrkowska 1", "90-001 Łódź"))
    statement = dataclasses.replace(STATEMENT, recipient=recipient)
    with pytest.raises(statement_pdf.CannotDraw, match="Ł"):
        statement_pdf.render(statement)
    pdf = render_statement(statement)
    assert not _drawn_by_fpdf2(pdf)
    assert _reader(pdf).metadata.producer.startswith("WeasyPrint")
    text = pdf_text(pdf)
    assert "Spett.le Łódź Budownictwo Sp. z o.o." in text
    assert f"Totale dovuto 1.481,90{NBSP}€" in text


def test_greek_document_number_goes_through_weasyprint():
    items = (dataclasses.replace(ITEMS[0], document_number="ΤΙΜ-2026/15"),)
    pdf = render_statement(dataclasses.replace(STATEMENT, language="en", items=items))
    assert not _drawn_by_fpdf2(pdf)
    assert "ΤΙΜ-2026/15 15/01/2026" in pdf_text(pdf)


def test_svg_logo_fpdf2_cannot_draw_goes_through_weasyprint():
    logo = SVG_LOGO.replace(b"Ferramenta Rossi", "Żelazo Rossi".encode())
    letterhead = dataclasses.replace(LETTERHEAD, logo=logo, logo_mime="image/svg+xml")
    pdf = render_statement(dataclasses.replace(STATEMENT, letterhead=letterhead))
    assert not _drawn_by_fpdf2(pdf)


def test_italian_accents_and_the_euro_stay_on_the_fast_path():
    recipient = Party("Società Agricola Perché S.à r.l. «Ø»", ("Località Città", "Forlì"))
    pdf = render_statement(dataclasses.replace(STATEMENT, recipient=recipient))
    assert _drawn_by_fpdf2(pdf)
    text = pdf_text(pdf)
    assert "Spett.le Società Agricola Perché S.à r.l. «Ø»\nLocalità Città\nForlì" in text


# --- any text -------------------------------------------------------------------------------

_CP1252 = st.characters(codec="cp1252", exclude_categories=("Cc", "Cs"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(_CP1252, min_size=1, max_size=150),
    numbers=st.lists(st.text(_CP1252, min_size=1, max_size=60), min_size=1, max_size=5),
    reference=st.text(_CP1252, max_size=40),
    language=st.sampled_from(["it", "en"]),
)
def test_any_printable_cp1252_text_renders_on_the_fast_path(name, numbers, reference, language):
    items = tuple(DocumentItem(number, DAY, DAY, D("10.00"), 3, D("0.10")) for number in numbers)
    statement = Statement(
        language,
        dataclasses.replace(LETTERHEAD, company=dataclasses.replace(COMPANY, name=name)),
        Party(name, (name,)),
        DAY,
        items,
        payment=dataclasses.replace(PAYMENT, beneficiary=name if name.strip() else "Rossi"),
        reference=reference,
    )
    pdf = statement_pdf.render(statement)
    assert page_count(pdf) >= 1
    text = _squash(pdf_text(pdf))
    for number in numbers:
        assert _squash(number) in text


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40))
def test_any_printable_text_in_a_name_never_raises(name):
    statement = dataclasses.replace(
        STATEMENT,
        recipient=Party(name),
        items=(dataclasses.replace(ITEMS[0], document_number=name),),
    )
    pdf = render_statement(statement)  # fpdf2, or WeasyPrint for what cp1252 lacks
    assert page_count(pdf) == 1


def test_page_count_without_parsing_agrees_with_pypdf():
    from incassa.comms.documents import page_count

    # The usual statement (one page), then one with 150 items (several pages): the count
    # read from the page objects is pypdf's.
    long = dataclasses.replace(STATEMENT, items=ITEMS[:1] * 150)
    for statement in (STATEMENT, long):
        pdf = render_statement(statement)
        assert page_count(pdf) == len(_reader(pdf).pages)
    assert page_count(render_statement(long)) > 1
