"""The statement of account (estratto conto) drawn directly with fpdf2.

WeasyPrint lays a statement out in 100-300 ms; the daily cycle attaches one to every reminder
email, thousands a run, so the statement is drawn here with fpdf2's primitives in a few
milliseconds instead. The layout follows ``comms/documents/statement.html`` and
``documents.css`` (A4, 20 mm margins, the address in the right envelope window, the table header
repeated on every page, "Page X of Y" in the footer); lengths below are the stylesheet's, in mm,
and font sizes in points.

fpdf2's core fonts (Helvetica) only carry the cp1252 characters, so ``render`` raises
``CannotDraw`` when a text of the statement has any other character (a Polish or Greek name,
say), or when the logo is one fpdf2 cannot draw (an SVG with such text or a font it lacks):
the caller then falls back to WeasyPrint rather than print a mangled name or drop the logo.

Pure: nothing here touches the database or the clock.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from defusedxml import ElementTree
from django.utils import translation
from django.utils.translation import gettext
from fpdf import FPDF
from fpdf.enums import ResourceAccessPolicy
from fpdf.fonts import CORE_FONTS_CHARWIDTHS
from fpdf.image_datastructures import ImageCache, RasterImageInfo
from fpdf.image_parsing import preload_image
from fpdf.svg import resolve_length

from incassa.comms import documents
from incassa.core.formatting import format_day, format_money

ENCODING = "cp1252"

PT = 25.4 / 72  # one point in mm
PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
LEFT = 20.0
RIGHT = 190.0
WIDTH = RIGHT - LEFT
TOP = 20.0
BODY_BOTTOM = PAGE_HEIGHT - 24.0  # the bottom margin holds the footer
FOOTER_TOP = BODY_BOTTOM + 4.0
BODY_START = TOP + 78.0  # the first page's body starts below the envelope window

INK = (0x1A, 0x1A, 0x1A)
BLUE = (0x1F, 0x3A, 0x5F)
GREY_44 = (0x44, 0x44, 0x44)
GREY_55 = (0x55, 0x55, 0x55)
GREY_66 = (0x66, 0x66, 0x66)
RULE_FOOTER = (0xBB, 0xBB, 0xBB)
RULE_ROW = (0xD5, 0xD5, 0xD5)
RULE_MARK = (0x99, 0x99, 0x99)

CELL_PAD_X = 2.0  # table cells: padding 1.2 mm 2 mm
CELL_PAD_Y = 1.2
QR_QUIET_ZONE = 4  # modules of white around the symbol, as the standard asks
QR_SIZE = float(documents.QR_SIZE_MM)  # the symbol with its quiet zone

_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


class CannotDraw(Exception):
    """The statement has a character Helvetica's cp1252 encoding cannot carry, or a logo
    fpdf2 cannot draw: WeasyPrint, with real fonts, has to lay this one out."""


def _one_line(text: str) -> str:
    """Whitespace collapsed as HTML collapses it (the template shows these fields inline)."""
    return _HTML_SPACE.sub(" ", text).strip()


def _lead(size: float, factor: float = 1.4) -> float:
    """The line height in mm of a ``size`` pt font (CSS ``line-height: factor``)."""
    return size * factor * PT


# --- what the statement says ----------------------------------------------------------------


@dataclass(frozen=True)
class _Texts:
    """Every string the statement prints, formatted in the statement's language: checked for
    cp1252 in one go before anything is drawn."""

    title: str
    subtitle: str
    day: str
    reference: str
    page_label: str  # "Page %(page)s of %(pages)s", untranslated placeholders kept
    company_name: str
    company_lines: tuple[str, ...]
    recipient_name: str
    recipient_lines: tuple[str, ...]
    footer_lines: tuple[str, ...]
    headers: tuple[str, ...]
    aligns: str
    rows: tuple[tuple[str, ...], ...]
    total_label: str
    totals_row: tuple[str, ...]
    summary: tuple[tuple[str, str], ...]  # the last pair is the grand total
    payment_title: str
    payment_fields: tuple[tuple[str, str, bool], ...]  # label, value, bold
    payment_hint: str

    def strings(self) -> list[str]:
        out = [
            self.title,
            self.subtitle,
            self.day,
            self.reference,
            self.page_label,
            self.company_name,
            self.recipient_name,
            self.total_label,
            self.payment_title,
            self.payment_hint,
            *self.company_lines,
            *self.recipient_lines,
            *self.footer_lines,
            *self.headers,
            *self.totals_row,
        ]
        for row in self.rows:
            out.extend(row)
        for pair in self.summary:
            out.extend(pair)
        for label, value, _bold in self.payment_fields:
            out.extend((label, value))
        return out


def _company_lines(letterhead: documents.Letterhead) -> tuple[str, ...]:
    """The letterhead's right-hand block, as ``_first_page.html`` writes it."""
    company = letterhead.company
    lines = []
    if company.address_lines:
        lines.append(" · ".join(company.address_lines))
    fiscal = company.fiscal_code if company.fiscal_code != company.vat_number else ""
    ids = []
    if company.vat_number:
        ids.append(f"{gettext('VAT no.')} {company.vat_number}")
    if fiscal:
        ids.append(f"{gettext('Fiscal code')} {fiscal}")
    contact = []
    if company.phone:
        contact.append(f"{gettext('Tel.')} {company.phone}")
    if company.email:
        contact.append(company.email)
    web = []
    if company.pec:
        web.append(f"PEC {company.pec}")
    if letterhead.website:
        web.append(letterhead.website)
    lines.extend(" · ".join(group) for group in (ids, contact, web) if group)
    return tuple(line for line in map(_one_line, lines) if line)


def _texts(statement: documents.Statement) -> _Texts:
    """All the statement's strings; call inside ``translation.override(statement.language)``."""
    totals = documents.statement_totals(statement)
    show_interest = totals.interest is not None
    headers = [
        gettext("Document"),
        gettext("Date"),
        gettext("Due date"),
        gettext("Days late"),
        gettext("Open amount"),
    ]
    if show_interest:
        headers.append(gettext("Interest"))
    rows = []
    for item in statement.items:
        row = [
            _one_line(item.document_number),
            format_day(item.document_date),
            format_day(item.due_date),
            str(item.days_overdue) if item.days_overdue > 0 else "",
            format_money(item.open_amount),
        ]
        if show_interest:
            row.append(format_money(item.interest))
        rows.append(tuple(row))
    totals_row = (format_money(totals.open),) + (
        (format_money(totals.interest),) if show_interest else ()
    )
    summary: list[tuple[str, str]] = []
    if show_interest or totals.compensation is not None:
        summary.append((gettext("Open amount"), format_money(totals.open)))
        if show_interest:
            summary.append((gettext("Interest"), format_money(totals.interest)))
        if totals.compensation is not None:
            label = gettext("Compensation for recovery costs (art. 6 D.Lgs. 231/2002)")
            summary.append((label, format_money(totals.compensation)))
        summary.append((gettext("Total due"), format_money(totals.total)))
    fields: list[tuple[str, str, bool]] = []
    payment = statement.payment
    if payment is not None:
        fields.append((gettext("Beneficiary"), _one_line(payment.beneficiary), False))
        fields.append(("IBAN", documents.format_iban(payment.iban), True))
        bic = payment.bic.strip().upper()
        if bic:
            fields.append(("BIC", _one_line(bic), False))
        amount = format_money(documents.payment_amount(payment))
        fields.append((gettext("Amount"), amount, True))
        fields.append((gettext("Payment reason"), documents.remittance_text(payment), False))
    letterhead = statement.letterhead
    footer = [
        line
        for line in (_one_line(part) for part in letterhead.footer.splitlines())
        if line  # white-space: pre-line keeps the line breaks, drops empty lines' height
    ]
    if letterhead.iban:
        footer.append(f"IBAN {documents.format_iban(letterhead.iban)}")
    recipient = statement.recipient
    prefix = documents._ADDRESS_PREFIX.get(statement.language, "")
    day = format_day(statement.date)
    return _Texts(
        title=gettext("Statement of account"),
        subtitle=gettext("Open items at %(date)s") % {"date": day},
        day=day,
        reference=(
            f"{gettext('Our ref.')} {_one_line(statement.reference)}" if statement.reference else ""
        ),
        page_label=gettext("Page %(page)s of %(pages)s"),
        company_name=_one_line(letterhead.company.name),
        company_lines=_company_lines(letterhead),
        recipient_name=_one_line(f"{prefix} {recipient.name}" if prefix else recipient.name),
        recipient_lines=tuple(line for line in map(_one_line, recipient.address_lines) if line),
        footer_lines=tuple(footer),
        headers=tuple(headers),
        aligns="LLLRRR"[: len(headers)],
        rows=tuple(rows),
        total_label=gettext("Total"),
        totals_row=totals_row,
        summary=tuple(summary),
        payment_title=gettext("Payment details") if payment else "",
        payment_fields=tuple(fields),
        payment_hint=(
            gettext("Scan the QR code with your banking app to pay by bank transfer.")
            if payment
            else ""
        ),
    )


def _check_encodable(texts: _Texts) -> None:
    try:
        "\n".join(texts.strings()).encode(ENCODING)
    except UnicodeEncodeError as error:
        character = error.object[error.start : error.end]
        raise CannotDraw(f"{character!r} is not in {ENCODING}") from error


# --- cached pieces ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Logo:
    info: RasterImageInfo | None  # None for an SVG, drawn from its bytes every time
    key: str  # fpdf2's name of a raster image: the MD5 of its bytes
    icc_profiles: dict
    width: float  # mm, sized as a browser sizes the <img>, fitted into 70 x 20 mm
    height: float


def _svg_size(data: bytes) -> tuple[float, float]:
    """The SVG's width and height in mm as a browser reads them: a length without a unit is
    in CSS pixels (fpdf2 would take it for points); no width or height, the viewBox's."""
    root = ElementTree.fromstring(data)
    box = (root.get("viewBox") or "").replace(",", " ").split()
    sizes = []
    for index, attribute in enumerate(("width", "height")):
        value = (root.get(attribute) or "").strip()
        if value and not value.endswith("%"):
            sizes.append(resolve_length(value, default_unit="px") * PT)
        else:
            sizes.append(float(box[2 + index]) * 0.75 * PT if len(box) == 4 else 0.0)
    return sizes[0], sizes[1]


def _new_pdf() -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.resource_access_policy = ResourceAccessPolicy.NONE  # no file, no network
    pdf.set_auto_page_break(False)
    pdf.set_margins(LEFT, TOP, PAGE_WIDTH - RIGHT)
    return pdf


@functools.lru_cache(maxsize=8)
def _logo(data: bytes) -> _Logo | None:
    """The logo read once per bytes value (decoding and recompressing a PNG costs about as
    much as drawing a whole statement); None when fpdf2 cannot read or draw it. Nothing
    outside the bytes is ever fetched: an SVG may reach neither files nor the network."""
    cache = ImageCache()
    try:
        key, _img, info = preload_image(
            cache, io.BytesIO(data), resource_access_policy=ResourceAccessPolicy.NONE
        )
        if isinstance(info, RasterImageInfo):  # pixels at 96 dpi, as a browser sizes them
            raster: RasterImageInfo | None = info
            width, height = info["w"] * 25.4 / 96, info["h"] * 25.4 / 96
        else:
            raster = None
            width, height = _svg_size(data)
        if not (width > 0 and height > 0):
            return None
        scale = min(1.0, 70.0 / width, 20.0 / height)  # max-width 70 mm, max-height 20 mm
        width, height = width * scale, height * scale
        if raster is None:  # its text needs fonts and characters fpdf2 may not have: try it
            probe = _new_pdf()
            probe.add_page()
            probe.image(io.BytesIO(data), x=LEFT, y=TOP, w=width, h=height)
            probe.output()
    except Exception:  # any failure of fpdf2's on a logo WeasyPrint may well draw
        return None
    return _Logo(raster, key, dict(cache.icc_profiles), width, height)


@functools.lru_cache(maxsize=256)
def _qr_runs(payment: documents.Payment) -> tuple[int, str]:
    """The EPC QR code as PDF path operators in module units (one ``re`` per horizontal run of
    dark modules, quiet zone included in the coordinates) and the symbol's width in modules,
    quiet zone included: placed and scaled by one ``cm`` when drawn."""
    matrix = documents.epc_qr(payment).matrix
    size = len(matrix)
    dark = np.frombuffer(b"".join(bytes(row) for row in matrix), dtype=np.uint8)
    # A light module before and after each row: every run of dark modules starts where the
    # row goes up and ends where it goes down.
    edges = np.diff(np.pad(dark.reshape(size, size), ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _rows, ends = np.nonzero(edges == -1)
    ops = "\n".join(
        f"{start + QR_QUIET_ZONE} {row + QR_QUIET_ZONE} {end - start} 1 re"
        for row, start, end in zip(rows.tolist(), starts.tolist(), ends.tolist(), strict=True)
    )
    return size + 2 * QR_QUIET_ZONE, ops


# --- drawing ---------------------------------------------------------------------------------


_TEXT, _RULE, _FRAME, _QR, _LOGO = range(5)


class _Canvas:
    """The statement laid out page by page as a list of drawing operations per page, drawn
    with fpdf2 once the number of pages is known: the footer's "Page X of Y" is then written
    out and right-aligned exactly, with no placeholder to make room for. Every ``top`` passed
    in is the top of a line box; text sits on its baseline."""

    def __init__(self, texts: _Texts) -> None:
        self.pdf = _new_pdf()
        self.texts = texts
        self.pages: list[list[tuple]] = [[]]
        self.cursor = TOP
        self.size = 0.0
        self.style = ""
        self.color = INK
        self._widths = CORE_FONTS_CHARWIDTHS["helvetica"]
        self._scale = 0.0

    # measuring and placing

    def use(self, size: float, style: str = "", color: tuple[int, int, int] = INK) -> None:
        """The font and colour of what is measured and placed next (Helvetica, "" or "B")."""
        self.size, self.style, self.color = size, style, color
        self._widths = CORE_FONTS_CHARWIDTHS["helvetica" + style]
        self._scale = size * PT / 1000

    def width(self, text: str) -> float:
        """What ``FPDF.get_string_width`` answers, from the same table of the core font's
        widths (1/1000 em, by cp1252 byte): fpdf2's own call costs ~30 us, and a statement
        measures a few hundred strings."""
        widths = self._widths
        return sum(widths[c] for c in text.encode(ENCODING).decode("latin-1")) * self._scale

    def put(self, x: float, top: float, lead: float, text: str, align: str = "L") -> None:
        """``text`` in a line box ``lead`` mm high, the glyphs centred in it as CSS centres
        them (the baseline 0.35 em below the middle); ``x`` is the right edge for "R"."""
        if not text:
            return
        if align == "R":
            x -= self.width(text)
        baseline = top + lead / 2 + 0.35 * self.size * PT
        self.pages[-1].append((_TEXT, x, baseline, text, self.size, self.style, self.color))

    def wrap(self, text: str, width: float) -> list[str]:
        """Greedy word wrap to ``width`` mm in the current font; a word longer than a line is
        broken between characters, as ``overflow-wrap`` would break it."""
        width += 1e-6  # a column sized to its widest text must not wrap that text
        if not text or self.width(text) <= width:
            return [text]
        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if self.width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while len(line) > 1 and self.width(line) > width:
                cut = len(line) - 1
                while cut > 1 and self.width(line[:cut]) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
        return lines

    def rule(
        self, x1: float, x2: float, y: float, weight_pt: float, color: tuple[int, int, int]
    ) -> None:
        self.pages[-1].append((_RULE, x1, y, x2, weight_pt * PT, color))

    def frame(
        self, x: float, y: float, w: float, h: float, weight_pt: float, color: tuple[int, ...]
    ) -> None:
        self.pages[-1].append((_FRAME, x, y, w, h, weight_pt * PT, color))

    def qr(self, x: float, y: float, size: float, payment: documents.Payment) -> None:
        self.pages[-1].append((_QR, x, y, size, payment))

    def logo(self, logo: _Logo, data: bytes) -> None:
        self.pages[-1].append((_LOGO, logo, data))

    def new_page(self) -> None:
        self.pages.append([])
        self.cursor = TOP

    # drawing

    def _footer(self, number: int, total: int) -> None:
        """Every page: a grey rule, the page number on the right, the legal text and the IBAN
        on the left (``.footer`` in the stylesheet)."""
        texts = self.texts
        self.rule(LEFT, RIGHT, FOOTER_TOP, 0.4, RULE_FOOTER)
        top = FOOTER_TOP + 1.5
        self.use(7, color=GREY_66)
        label = texts.page_label % {"page": number, "pages": total}
        self.put(RIGHT, top, _lead(7, 1.35), label, "R")
        self.use(6.5, color=GREY_66)
        lead = _lead(6.5, 1.35)
        for line in texts.footer_lines:
            for part in self.wrap(line, WIDTH - 32.0):  # clear of the page number
                self.put(LEFT, top, lead, part)
                top += lead

    def output(self) -> bytes:
        pdf = self.pdf
        pages = self.pages
        total = len(pages)
        for number in range(1, total + 1):
            self.pages = pages[:number]  # the footer's operations go to its own page
            self._footer(number, total)
        self.pages = pages
        font = color = draw = weight = None
        for operations in pages:
            pdf.add_page()
            for operation in operations:
                kind = operation[0]
                if kind == _TEXT:
                    _kind, x, y, text, size, style, text_color = operation
                    if (size, style) != font:
                        pdf.set_font("helvetica", style, size)
                        font = (size, style)
                    if text_color != color:
                        pdf.set_text_color(*text_color)
                        color = text_color
                    pdf.text(x, y, text)
                elif kind in (_RULE, _FRAME):
                    line_weight, line_color = operation[-2], operation[-1]
                    if line_color != draw:
                        pdf.set_draw_color(*line_color)
                        draw = line_color
                    if line_weight != weight:
                        pdf.set_line_width(line_weight)
                        weight = line_weight
                    if kind == _RULE:
                        pdf.line(operation[1], operation[2], operation[3], operation[2])
                    else:
                        pdf.rect(*operation[1:5])
                elif kind == _QR:
                    self._draw_qr(*operation[1:])
                else:
                    self._draw_logo(*operation[1:])
        return bytes(pdf.output())

    def _draw_qr(self, x: float, y: float, size: float, payment: documents.Payment) -> None:
        pdf = self.pdf
        modules, runs = _qr_runs(payment)
        scale = size / modules * pdf.k  # points per module
        x0, y0 = x * pdf.k, (PAGE_HEIGHT - y) * pdf.k
        # One path of rectangles in module units, filled once; fpdf2's public rect() would
        # add a few microseconds of bookkeeping to each of the ~500 runs of a typical symbol.
        pdf._out(f"q 0 g {scale:.4f} 0 0 {-scale:.4f} {x0:.2f} {y0:.2f} cm\n{runs}\nf Q")

    def _draw_logo(self, logo: _Logo, data: bytes) -> None:
        pdf = self.pdf
        if logo.info is not None:
            # fpdf2 keys a raster image by the MD5 of its bytes and reuses what it finds there.
            info = copy.copy(logo.info)
            info["usages"] = 0
            pdf.image_cache.images[logo.key] = info
            pdf.image_cache.icc_profiles.update(logo.icc_profiles)
        pdf.image(io.BytesIO(data), x=LEFT, y=TOP, w=logo.width, h=logo.height)


@dataclass(frozen=True)
class _Table:
    widths: tuple[float, ...]
    aligns: str


def _draw_first_page(pdf: _Canvas, statement: documents.Statement) -> None:
    """Letterhead, date and reference, the address in the envelope window, fold marks."""
    texts = pdf.texts
    letterhead = statement.letterhead
    logo = None
    if letterhead.logo:
        logo = _logo(letterhead.logo)
        if logo is None:
            raise CannotDraw("fpdf2 cannot draw the logo")
        pdf.logo(logo, letterhead.logo)
    else:  # the company's name as a wordmark
        pdf.use(15, "B", BLUE)
        lead = _lead(15, 1.15)
        top = TOP
        for line in pdf.wrap(texts.company_name, 80.0):
            pdf.put(LEFT, top, lead, line)
            top += lead
    top = TOP
    if logo is not None:
        pdf.use(9, "B", INK)
        for line in pdf.wrap(texts.company_name, 100.0):
            pdf.put(RIGHT, top, _lead(9, 1.35), line, "R")
            top += _lead(9, 1.35)
    pdf.use(7.5, color=GREY_44)
    lead = _lead(7.5, 1.35)
    for text in texts.company_lines:
        for line in pdf.wrap(text, 100.0):
            pdf.put(RIGHT, top, lead, line, "R")
            top += lead
    pdf.rule(LEFT, RIGHT, TOP + 24.0, 0.6, BLUE)

    # Date and our reference, left of the window.
    pdf.use(9.5)
    pdf.put(LEFT, TOP + 32.0, _lead(9.5), texts.day)
    if texts.reference:
        pdf.use(7.5, color=GREY_55)
        top = TOP + 32.0 + _lead(9.5)
        for line in pdf.wrap(texts.reference, 80.0):
            pdf.put(LEFT, top, _lead(7.5), line)
            top += _lead(7.5)

    # Italian/DIN right window: 110 mm from the left edge, 50 mm from the top, 85 x 40 mm;
    # what does not fit the window is not shown (overflow: hidden).
    window_left, window_top, window_bottom = LEFT + 90.0, TOP + 30.0, TOP + 70.0
    lead = _lead(10, 1.35)
    top = window_top
    pdf.use(10, "B")
    lines = [(line, True) for line in pdf.wrap(texts.recipient_name, 85.0)]
    pdf.use(10)
    lines += [(line, False) for text in texts.recipient_lines for line in pdf.wrap(text, 85.0)]
    for line, bold in lines:
        if top + lead > window_bottom + 0.01:
            break
        pdf.use(10, "B" if bold else "")
        pdf.put(window_left, top, lead, line)
        top += lead

    # Fold marks (DL envelope thirds) and the punch mark, in the left margin.
    for y, length in ((99.0, 5.0), (148.5, 3.0), (198.0, 5.0)):
        pdf.rule(5.0, 5.0 + length, y, 0.3, RULE_MARK)


def _table_layout(pdf: _Canvas, texts: _Texts) -> _Table:
    """Column widths as an auto-layout HTML table of 170 mm spreads them: each column its
    widest content, the space left shared in proportion; when the content is wider than the
    page the document column gives way first, then every column (their text then wraps)."""
    count = len(texts.headers)
    natural = [0.0] * count
    pdf.use(8.5, "B")
    for index, header in enumerate(texts.headers):
        natural[index] = pdf.width(header)
    pdf.use(8.5)
    for row in texts.rows:
        for index, cell in enumerate(row):
            natural[index] = max(natural[index], pdf.width(cell))
    pdf.use(8.5, "B")
    total_label = pdf.width(texts.total_label) + 2 * CELL_PAD_X
    for offset, cell in enumerate(texts.totals_row):
        natural[4 + offset] = max(natural[4 + offset], pdf.width(cell))
    widths = [width + 2 * CELL_PAD_X for width in natural]
    labels = sum(widths[:4])
    if labels < total_label:  # the "Total" label spans the first four columns
        widths[0] += total_label - labels
    total = sum(widths)
    if total <= WIDTH:
        widths = [width * WIDTH / total for width in widths]
    else:
        others = total - widths[0]
        widths[0] = max(25.0, WIDTH - others)
        total = sum(widths)
        if total > WIDTH:
            widths = [width * WIDTH / total for width in widths]
    return _Table(tuple(widths), texts.aligns)


def _draw_row(
    pdf: _Canvas,
    table: _Table,
    cells: Sequence[str],
    *,
    size: float,
    style: str,
    color: tuple[int, int, int],
    spans: Sequence[int] | None = None,
    valign_bottom: bool = False,
    before_break: Callable[[], None] | None = None,
) -> float:
    """One table row at the cursor, wrapped cell by cell; a row that does not fit the page
    moves to the next one (after ``before_break``), and only a row taller than a whole page
    is split. Returns the top of the row's last part."""
    pdf.use(size, style, color)
    lead = _lead(size)
    spans = spans or [1] * len(cells)
    lefts, widths = [], []
    column = 0
    for span in spans:
        lefts.append(LEFT + sum(table.widths[:column]))
        widths.append(sum(table.widths[column : column + span]))
        column += span
    wrapped = [
        pdf.wrap(cell, width - 2 * CELL_PAD_X) for cell, width in zip(cells, widths, strict=True)
    ]
    height = max(len(lines) for lines in wrapped)
    aligns = [table.aligns[sum(spans[:i])] for i in range(len(cells))]
    if spans[0] > 1:
        aligns[0] = "R"  # the "Total" label, right-aligned across the label columns
    fresh_room = math.floor((BODY_BOTTOM - TOP - 2 * CELL_PAD_Y) / lead)
    done = 0
    just_broke = False
    while True:
        room = math.floor((BODY_BOTTOM - pdf.cursor - 2 * CELL_PAD_Y) / lead + 1e-6)
        if (
            room < height - done
            and before_break is not None
            and not just_broke
            and (done or height <= fresh_room or room < 1)
        ):
            before_break()
            pdf.use(size, style, color)
            just_broke = True
            continue
        just_broke = False
        part = max(1, min(height - done, room))
        top = pdf.cursor
        for lines, left, width, align in zip(wrapped, lefts, widths, aligns, strict=True):
            shown = lines[done : done + part]
            skip = (height - len(lines)) if valign_bottom else 0
            line_top = top + CELL_PAD_Y + max(0, skip - done) * lead
            x = left + width - CELL_PAD_X if align == "R" else left + CELL_PAD_X
            for line in shown:
                pdf.put(x, line_top, lead, line, align)
                line_top += lead
        pdf.cursor = top + part * lead + 2 * CELL_PAD_Y
        done += part
        if done >= height:
            return top


def _draw_items(pdf: _Canvas, texts: _Texts) -> None:
    table = _table_layout(pdf, texts)

    def header() -> None:
        _draw_row(pdf, table, texts.headers, size=8.5, style="B", color=BLUE, valign_bottom=True)
        pdf.rule(LEFT, RIGHT, pdf.cursor, 0.8, BLUE)

    def page_break() -> None:
        pdf.new_page()
        header()

    header()
    for row in texts.rows:
        _draw_row(pdf, table, row, size=8.5, style="", color=INK, before_break=page_break)
        pdf.rule(LEFT, RIGHT, pdf.cursor, 0.4, RULE_ROW)
    cells = (texts.total_label, *texts.totals_row)
    top = _draw_row(
        pdf,
        table,
        cells,
        size=8.5,
        style="B",
        color=INK,
        spans=(4,) + (1,) * len(texts.totals_row),
        before_break=page_break,
    )
    pdf.rule(LEFT, RIGHT, top, 0.8, BLUE)


def _keep_together(pdf: _Canvas, height: float) -> None:
    """``page-break-inside: avoid``: a block that does not fit what is left of the page
    starts the next one."""
    if pdf.cursor + height > BODY_BOTTOM and pdf.cursor > TOP:
        pdf.new_page()


def _draw_summary(pdf: _Canvas, texts: _Texts) -> None:
    """Open amount + interest + compensation = total due, right-aligned under the table."""
    if not texts.summary:
        return
    grand_label, grand_value = texts.summary[-1]
    pdf.use(10, "B")
    label_width = pdf.width(grand_label)
    value_width = pdf.width(grand_value)
    pdf.use(9)
    for label, value in texts.summary[:-1]:
        label_width = max(label_width, pdf.width(label))
        value_width = max(value_width, pdf.width(value))
    value_column = 6.0 + max(28.0, value_width) + 2.0
    label_column = min(6.0 + label_width + 2.0, WIDTH - value_column)
    left = RIGHT - value_column - label_column
    rows: list[tuple[list[str], str, float, str, float]] = []
    for label, value in texts.summary[:-1]:
        rows.append((pdf.wrap(label, label_column - 8.0), value, 9.0, "", 0.8))
    pdf.use(10, "B")
    rows.append((pdf.wrap(grand_label, label_column - 8.0), grand_value, 10.0, "B", 1.5))
    height = sum(len(lines) * _lead(size) + pad + 0.8 for lines, _v, size, _s, pad in rows)
    pdf.cursor += 4.0
    _keep_together(pdf, height)
    for index, (lines, value, size, style, pad_top) in enumerate(rows):
        if index == len(rows) - 1:
            pdf.rule(left, RIGHT, pdf.cursor, 0.8, BLUE)
        pdf.use(size, style)
        lead = _lead(size)
        top = pdf.cursor + pad_top
        pdf.put(RIGHT - value_column - 2.0, top, lead, lines[0], "R")
        pdf.put(RIGHT - 2.0, top, lead, value, "R")
        for line in lines[1:]:
            top += lead
            pdf.put(RIGHT - value_column - 2.0, top, lead, line, "R")
        pdf.cursor = top + lead + 0.8


def _draw_payment(pdf: _Canvas, payment: documents.Payment) -> None:
    """The framed payment box: the EPC QR code on the left (36 mm, quiet zone included), the
    same transfer in plain text on the right."""
    texts = pdf.texts
    details_left = LEFT + 1.0 + QR_SIZE + 1.0 + 2.0  # the QR cell's padding, the details' own
    details_width = RIGHT - 4.0 - details_left
    pdf.use(9)
    label_width = max(pdf.width(label) for label, _value, _bold in texts.payment_fields) + 4.0
    value_width = details_width - label_width
    fields = []
    for label, value, bold in texts.payment_fields:
        pdf.use(9, "B" if bold else "")
        fields.append((label, pdf.wrap(value, value_width), bold))
    pdf.use(7.5)
    hint = pdf.wrap(texts.payment_hint, details_width)
    field_lead, hint_lead = _lead(9), _lead(7.5)
    details = (
        3.0
        + _lead(9.5)
        + 2.0
        + sum(len(lines) * field_lead + 0.8 for _l, lines, _b in fields)
        + 2.0
        + len(hint) * hint_lead
        + 3.0
    )
    height = max(38.0, details)
    pdf.cursor += 10.0
    _keep_together(pdf, height)
    box_top = pdf.cursor
    pdf.frame(LEFT, box_top, WIDTH, height, 0.6, BLUE)
    pdf.qr(LEFT + 1.0, box_top + 1.0, QR_SIZE, payment)

    top = box_top + 3.0
    pdf.use(9.5, "B", BLUE)
    pdf.put(details_left, top, _lead(9.5), texts.payment_title)
    top += _lead(9.5) + 2.0
    for label, lines, bold in fields:
        pdf.use(9, color=GREY_55)
        pdf.put(details_left, top + 0.4, field_lead, label)
        pdf.use(9, "B" if bold else "", INK)
        for line in lines:
            pdf.put(details_left + label_width, top + 0.4, field_lead, line)
            top += field_lead
        top += 0.8
    top += 2.0
    pdf.use(7.5, color=GREY_55)
    for line in hint:
        pdf.put(details_left, top, hint_lead, line)
        top += hint_lead
    pdf.cursor = box_top + height


def render(statement: documents.Statement) -> bytes:
    """The statement as an A4 PDF; ``CannotDraw`` when it needs more than fpdf2's core fonts
    (a character outside cp1252, an SVG logo they cannot draw)."""
    with translation.override(statement.language):
        texts = _texts(statement)
    _check_encodable(texts)
    pdf = _Canvas(texts)
    meta = pdf.pdf
    meta.set_title(texts.title)
    meta.set_author(texts.company_name)
    meta.set_creator("Incassa")
    meta.set_lang(statement.language)
    # The statement's own day, not the clock: the same statement gives the same bytes.
    meta.set_creation_date(dt.datetime.combine(statement.date, dt.time(), tzinfo=dt.UTC))
    _draw_first_page(pdf, statement)

    pdf.cursor = BODY_START
    pdf.use(13, "B", BLUE)
    pdf.put(LEFT, pdf.cursor, _lead(13), texts.title)
    pdf.cursor += _lead(13) + 1.0
    pdf.use(9.5, color=GREY_55)
    pdf.put(LEFT, pdf.cursor, _lead(9.5), texts.subtitle)
    pdf.cursor += _lead(9.5) + 5.0

    _draw_items(pdf, texts)
    _draw_summary(pdf, texts)
    if statement.payment is not None:
        _draw_payment(pdf, statement.payment)
    return pdf.output()
