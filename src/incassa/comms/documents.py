"""The PDF documents sent to debtors: letters, statements of account and the post room's cover
list, with an EPC QR code ("SEPA credit transfer" QR, EPC069-12) for paying by bank app.

Pure rendering: the caller passes plain dataclasses, nothing here touches the database or the
clock. HTML comes from Django templates (``comms/documents/``), the PDF from WeasyPrint, which
is given a URL fetcher that refuses everything but ``data:`` URIs: letter bodies come from
templates a credit manager can edit, so they must not be able to read local files or reach the
network.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import pypdf
import segno
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from incassa.comms import qr_fast
from incassa.core.formatting import format_day, format_money

qr_fast.install()  # segno's slowest steps computed with numpy: the same symbols, faster

CENT = Decimal("0.01")
EPC_MIN_AMOUNT = Decimal("0.01")
EPC_MAX_AMOUNT = Decimal("999999999.99")
EPC_MAX_BYTES = 331
EPC_MAX_NAME = 70
EPC_MAX_TEXT = 140
EPC_MAX_QR_VERSION = 13
QR_SIZE_MM = 36

# The courtesy title before a company's name in an address: a postal convention of the language
# rather than a UI string ("Spett.le Rossi S.r.l."; nothing in English).
_ADDRESS_PREFIX = {"it": "Spett.le"}


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...] = ()
    vat_number: str = ""
    fiscal_code: str = ""
    email: str = ""
    pec: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Letterhead:
    company: Party
    logo: bytes | None = None
    logo_mime: str = "image/png"
    footer: str = ""
    iban: str = ""
    website: str = ""


@dataclass(frozen=True)
class DocumentItem:
    document_number: str
    document_date: dt.date | None
    due_date: dt.date
    open_amount: Decimal
    days_overdue: int
    interest: Decimal | None = None


@dataclass(frozen=True)
class Payment:
    beneficiary: str
    iban: str
    amount: Decimal
    remittance: str
    bic: str = ""


@dataclass(frozen=True)
class Letter:
    language: str
    letterhead: Letterhead
    recipient: Party
    date: dt.date
    place: str
    subject: str
    body_html: str
    signature: str = ""
    payment: Payment | None = None
    registered: bool = False
    registered_number: str = ""
    reference: str = ""


@dataclass(frozen=True)
class Statement:
    language: str
    letterhead: Letterhead
    recipient: Party
    date: dt.date
    items: tuple[DocumentItem, ...]
    compensation: Decimal | None = None
    payment: Payment | None = None
    reference: str = ""


@dataclass(frozen=True)
class CoverEntry:
    position: int
    recipient: Party
    subject: str
    pages: int
    registered: bool


@dataclass(frozen=True)
class StatementTotals:
    open: Decimal
    interest: Decimal | None  # None when no item shows interest
    compensation: Decimal | None
    total: Decimal


# --- EPC QR ---------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) into one space: a newline inside a
    field would shift every following field of the EPC payload."""
    return " ".join(text.split())


def compact_iban(iban: str) -> str:
    return re.sub(r"\s+", "", iban).upper()


def format_iban(iban: str) -> str:
    """``IT60X0542811101000000123456`` as ``IT60 X054 2811 1010 0000 0123 456``."""
    iban = compact_iban(iban)
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def payment_amount(payment: Payment) -> Decimal:
    """The amount rounded to the cent; ValueError outside what an EPC QR can carry."""
    amount = Decimal(payment.amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if not EPC_MIN_AMOUNT <= amount <= EPC_MAX_AMOUNT:
        raise ValueError(f"payment amount {amount} is outside {EPC_MIN_AMOUNT}..{EPC_MAX_AMOUNT}")
    return amount


def remittance_text(payment: Payment) -> str:
    """The payment reason as the QR carries it and the letter prints it: one line, at most
    140 characters."""
    return _one_line(payment.remittance)[:EPC_MAX_TEXT].rstrip()


def _epc_lines(bic: str, name: str, iban: str, amount: Decimal, text: str) -> list[str]:
    lines = [
        "BCD",  # service tag
        "002",  # version
        "1",  # character set: UTF-8
        "SCT",  # identification: SEPA credit transfer
        bic,  # optional in version 002 inside the EEA
        name,  # beneficiary, max 70
        iban,  # max 34
        f"EUR{amount:.2f}",  # "EUR" then the amount, a dot and two decimals
        "",  # purpose code (4 letters), not used
        "",  # structured creditor reference (RF...), not used: we send free text
        text,  # unstructured remittance, max 140
    ]
    while lines[-1] == "":  # nothing may follow the last populated element
        lines.pop()
    return lines


def epc_payload(payment: Payment) -> str:
    """The text an EPC QR code (EPC069-12 version 002, UTF-8, SEPA credit transfer) carries.

    Fields are cut to the standard's lengths (name 70, remittance 140 characters); when
    non-ASCII characters would take the payload past its 331 bytes, the remittance and then
    the name are shortened further.
    """
    amount = payment_amount(payment)
    name = _one_line(payment.beneficiary)[:EPC_MAX_NAME].rstrip()
    if not name:
        raise ValueError("the payment has no beneficiary")
    iban = compact_iban(payment.iban)
    if not 5 <= len(iban) <= 34:
        raise ValueError(f"invalid IBAN {payment.iban!r}")
    bic = _one_line(payment.bic).upper()
    if bic and len(bic) not in (8, 11):
        raise ValueError(f"invalid BIC {payment.bic!r}")
    text = remittance_text(payment)
    while True:
        payload = "\n".join(_epc_lines(bic, name, iban, amount, text))
        if len(payload.encode("utf-8")) <= EPC_MAX_BYTES:
            return payload
        if text:
            text = text[:-1].rstrip()
        else:
            name = name[:-1].rstrip()


@functools.lru_cache(maxsize=256)
def epc_qr(payment: Payment) -> segno.QRCode:
    """The QR code of ``epc_payload``: byte mode, error correction M, version 13 at most (the
    same symbol ``segno.helpers.make_epc_qr`` draws for the same data).

    Cached per payment (a frozen dataclass): segno's search for the best of the eight masks
    takes ~7 ms, more than drawing a whole statement, and a preview, its send and a retry draw
    the same symbol. The symbol is shared: callers must not change its matrix."""
    qr = segno.make_qr(epc_payload(payment).encode("utf-8"), error="m", boost_error=False)
    if qr.version > EPC_MAX_QR_VERSION:  # cannot happen within 331 bytes
        raise ValueError(f"EPC QR code too large: version {qr.version}")
    return qr


def epc_qr_svg(payment: Payment, *, size_mm: int = QR_SIZE_MM) -> str:
    """The EPC QR code as an inline ``<svg>`` element ``size_mm`` square, quiet zone (4
    modules) included."""
    svg = epc_qr(payment).svg_inline(scale=1, border=4, omitsize=True)
    return svg.replace("<svg ", f'<svg width="{size_mm}mm" height="{size_mm}mm" ', 1)


# --- statements -----------------------------------------------------------------------------


def statement_totals(statement: Statement) -> StatementTotals:
    open_total = sum((item.open_amount for item in statement.items), Decimal("0.00"))
    with_interest = [item.interest for item in statement.items if item.interest is not None]
    interest = sum(with_interest, Decimal("0.00")) if with_interest else None
    total = open_total + (interest or 0) + (statement.compensation or 0)
    return StatementTotals(
        open=open_total, interest=interest, compensation=statement.compensation, total=total
    )


# --- rendering ------------------------------------------------------------------------------


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _css_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\A ")
    return '"' + escaped.replace("<", "\\3C ") + '"'


def _page_counter_css() -> str:
    """The CSS ``content`` of the page number box: "Pagina " counter(page) " di " ..."""
    marker = "\x00"
    text = gettext("Page %(page)s of %(pages)s") % {
        "page": f"{marker}page{marker}",
        "pages": f"{marker}pages{marker}",
    }
    parts = []
    for index, part in enumerate(text.split(marker)):
        if index % 2:
            parts.append(f"counter({part})")
        elif part:
            parts.append(_css_string(part))
    return " ".join(parts)


def _party_context(party: Party) -> dict:
    return {"party": party, "lines": [line for line in party.address_lines if line.strip()]}


def _letterhead_context(letterhead: Letterhead) -> dict:
    return {
        "letterhead": letterhead,
        "company": letterhead.company,
        "logo_uri": (_data_uri(letterhead.logo, letterhead.logo_mime) if letterhead.logo else ""),
        "iban": format_iban(letterhead.iban) if letterhead.iban else "",
    }


def _payment_context(payment: Payment | None) -> dict | None:
    if payment is None:
        return None
    return {
        "beneficiary": payment.beneficiary,
        "iban": format_iban(payment.iban),
        "bic": payment.bic.strip().upper(),
        "amount": format_money(payment_amount(payment)),
        "remittance": remittance_text(payment),
        "qr_svg": epc_qr_svg(payment),
    }


def common_context(language: str, letterhead: Letterhead, title: str) -> dict:
    return {
        "language": language,
        "title": title,
        "page_counter_css": _page_counter_css(),
        **_letterhead_context(letterhead),
    }


@functools.cache
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _url_fetcher():
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, timeout=1)


def write_pdf(html: str) -> bytes:
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_url_fetcher())
    return document.write_pdf(font_config=_font_config())


def render_letter(letter: Letter) -> bytes:
    """The letter as an A4 PDF, its address placed for a right-window envelope."""
    with translation.override(letter.language):
        context = {
            **common_context(letter.language, letter.letterhead, letter.subject),
            "letter": letter,
            "recipient": _party_context(letter.recipient),
            "address_prefix": _ADDRESS_PREFIX.get(letter.language, ""),
            "day": format_day(letter.date),
            "payment": _payment_context(letter.payment),
        }
        html = render_to_string("comms/documents/letter.html", context)
    return write_pdf(html)


def render_statement(statement: Statement) -> bytes:
    """The statement of account (estratto conto) of the items an action lists, as a PDF.

    Drawn with fpdf2 (``statement_pdf``, a few ms: every reminder email carries one); a
    statement with a character Helvetica's cp1252 cannot print (a Polish or Greek name), or a
    logo fpdf2 cannot draw, goes through WeasyPrint instead, which has the fonts for it.
    """
    from incassa.comms import statement_pdf  # it imports this module

    try:
        return statement_pdf.render(statement)
    except statement_pdf.CannotDraw:
        return _render_statement_weasyprint(statement)


def _render_statement_weasyprint(statement: Statement) -> bytes:
    """The statement laid out by WeasyPrint from ``comms/documents/statement.html``."""
    with translation.override(statement.language):
        totals = statement_totals(statement)
        show_interest = totals.interest is not None
        rows = [
            {
                "number": item.document_number,
                "date": format_day(item.document_date),
                "due": format_day(item.due_date),
                "days": item.days_overdue if item.days_overdue > 0 else "",
                "amount": format_money(item.open_amount),
                "interest": format_money(item.interest),
            }
            for item in statement.items
        ]
        context = {
            **common_context(
                statement.language, statement.letterhead, gettext("Statement of account")
            ),
            "statement": statement,
            "recipient": _party_context(statement.recipient),
            "address_prefix": _ADDRESS_PREFIX.get(statement.language, ""),
            "day": format_day(statement.date),
            "rows": rows,
            "show_interest": show_interest,
            "total_open": format_money(totals.open),
            "total_interest": format_money(totals.interest),
            "compensation": format_money(totals.compensation),
            "total": format_money(totals.total),
            "show_total": show_interest or totals.compensation is not None,
            "payment": _payment_context(statement.payment),
        }
        html = render_to_string("comms/documents/statement.html", context)
    return write_pdf(html)


def render_cover(
    entries: Sequence[CoverEntry], *, language: str, letterhead: Letterhead, day: dt.date
) -> bytes:
    """The post room's cover list of a print batch: one row per letter, registered letters
    with a blank to write their number in."""
    with translation.override(language):
        title = gettext("Dispatch list of %(date)s") % {"date": format_day(day)}
        context = {
            **common_context(language, letterhead, title),
            "entries": [
                {"entry": entry, **_party_context(entry.recipient)}
                for entry in sorted(entries, key=lambda entry: entry.position)
            ],
            "day": format_day(day),
            "letters": len(entries),
            "registered": sum(1 for entry in entries if entry.registered),
            "pages": sum(entry.pages for entry in entries),
        }
        html = render_to_string("comms/documents/cover.html", context)
    return write_pdf(html)


# --- PDF utilities --------------------------------------------------------------------------


def merge_print_batch(cover: bytes, letters: Sequence[bytes], *, duplex: bool = False) -> bytes:
    """One PDF to print: the cover list, then every letter in order.

    With ``duplex`` every document is padded with a blank page to an even page count, so that
    on a double-sided printer each letter starts on a sheet of its own.
    """
    writer = pypdf.PdfWriter()
    for pdf in (cover, *letters):
        reader = pypdf.PdfReader(io.BytesIO(pdf))
        writer.append(reader)
        if duplex and len(reader.pages) % 2:
            last = reader.pages[-1].mediabox
            writer.add_blank_page(width=last.width, height=last.height)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def page_count(pdf: bytes) -> int:
    """The number of pages. A PDF whose objects are all in the open (fpdf2's statements) has
    one ``/Type /Page`` per page, counted without parsing it; any other is read by pypdf."""
    if b"/ObjStm" not in pdf and b"/Prev" not in pdf:
        pages = len(_PAGE_OBJECT.findall(pdf))
        if pages:
            return pages
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def pdf_text(pdf: bytes) -> str:
    """The text of every page, pages separated by a form feed."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\f".join(page.extract_text() for page in reader.pages)


def render_png(pdf: bytes, *, page: int = 0, scale: float = 1.5) -> bytes:
    """One page rendered to PNG (``scale`` 1 = 72 dpi) for previews."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        bitmap = document[page].render(scale=scale)
        output = io.BytesIO()
        bitmap.to_pil().save(output, format="PNG")
        return output.getvalue()
    finally:
        document.close()
