"""What a file dropped into the import inbox is, read from its content. Pure: bytes in,
answer out.

ERPs and banks name their exports as they like (``export.dat``, ``SCAD.TXT``), so the
extension is only a hint; the content decides:

- a receivables snapshot: a spreadsheet (XLSX, ODS: ZIP containers of a spreadsheet; XLS:
  an OLE2 compound file) or delimited text;
- e-invoices (FatturaPA): an XML whose root is ``FatturaElettronica``, a signed ``.p7m``
  envelope (DER or base64), or a ZIP archive of those;
- a bank statement: an ISO 20022 camt.052/053/054 XML, or an MT940 text (``:20:`` and
  ``:60F:`` fields).

Anything else (a PDF, an image, an unrelated XML or archive) is ``unknown`` with a reason the
person who dropped it can act on. ``date_in_name`` reads a snapshot's date from its name.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

SNAPSHOT = "snapshot"
EINVOICES = "einvoices"
STATEMENT = "statement"
UNKNOWN = "unknown"

# How much of a text file is looked at: the root element of an XML, the first fields of
# an MT940, the header line of a CSV are all near the top.
HEAD_BYTES = 64 * 1024

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
# PKCS#7 SignedData's object identifier 1.2.840.113549.1.7.2, as DER.
_SIGNED_DATA_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_ROOT = re.compile(
    rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]",
)
_CAMT_NAMESPACE = re.compile(rb"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]")
_CAMT_BODY = re.compile(rb"<(?:[\w.-]+:)?BkToCstm(?:rStmt|rDbtCdtNtfctn|rAcctRpt)[\s>]")
_MT940_FIELD = re.compile(rb"(?m)^:(20|25|28C|60F|60M|61|62F):")
_BINARY_MAGIC = {
    b"%PDF": gettext_lazy("The file is a PDF document, which cannot be imported."),
    b"\x89PNG": gettext_lazy("The file is an image, which cannot be imported."),
    b"\xff\xd8\xff": gettext_lazy("The file is an image, which cannot be imported."),
    b"GIF8": gettext_lazy("The file is an image, which cannot be imported."),
    b"\x1f\x8b": gettext_lazy("The file is a compressed archive that is not a ZIP."),
    b"Rar!": gettext_lazy("The file is a compressed archive that is not a ZIP."),
    b"7z\xbc\xaf": gettext_lazy("The file is a compressed archive that is not a ZIP."),
}


@dataclass(frozen=True)
class Classification:
    """What the file is: its ``kind`` (one of the constants above), the ``format`` it is
    in (csv, xlsx, xls, ods; xml, p7m, zip; camt, mt940), and, for ``unknown``, why."""

    kind: str
    format: str = ""
    reason: str = ""

    @property
    def extension(self) -> str:
        """The extension the importers recognise this format by."""
        return {"camt": ".xml", "mt940": ".sta"}.get(self.format, f".{self.format}")


def classify(name: str, data: bytes) -> Classification:
    """What ``data`` (a whole file named ``name``) is, by its content."""
    if not data or not data.strip():
        return Classification(UNKNOWN, reason=_("The file is empty."))
    if data.startswith(_OLE2):
        return Classification(SNAPSHOT, "xls")
    if data.startswith(_ZIP):
        return _classify_zip(data)
    if _is_der_signed(data):
        return Classification(EINVOICES, "p7m")
    for magic, what in _BINARY_MAGIC.items():
        if data.startswith(magic):
            return Classification(UNKNOWN, reason=str(what))
    head = _text_head(data)
    if head.startswith(b"<"):
        return _classify_xml(head)
    if _is_base64_signed(data):
        return Classification(EINVOICES, "p7m")
    if _is_mt940(head):
        return Classification(STATEMENT, "mt940")
    if _looks_like_text(head):
        return Classification(SNAPSHOT, "csv")
    return Classification(
        UNKNOWN, reason=_("The file is neither a spreadsheet, nor a text file, nor an XML.")
    )


def _text_head(data: bytes) -> bytes:
    """The top of a text file as ASCII-compatible bytes, without BOM or leading blanks."""
    head = data[:HEAD_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        text = head[2 : 2 + (len(head) - 2) // 2 * 2].decode(encoding, errors="replace")
        head = text.encode("utf-8", errors="replace")
    for bom in _BOMS:
        if head.startswith(bom):
            head = head[len(bom) :]
    return head.lstrip(b" \t\r\n")


def _classify_zip(data: bytes) -> Classification:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if any(n.startswith("xl/") for n in names):
                return Classification(SNAPSHOT, "xlsx")
            if "mimetype" in names:
                if b"opendocument.spreadsheet" in archive.read("mimetype")[:200]:
                    return Classification(SNAPSHOT, "ods")
                return Classification(
                    UNKNOWN, reason=_("The file is an OpenDocument file but not a spreadsheet.")
                )
            if "content.xml" in names:
                return Classification(SNAPSHOT, "ods")
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return Classification(UNKNOWN, reason=_("The file is a damaged ZIP archive."))
    members = [n for n in names if not n.endswith("/") and not _hidden(n)]
    if members and all(n.lower().endswith((".xml", ".p7m")) for n in members):
        return Classification(EINVOICES, "zip")
    if not members:
        return Classification(UNKNOWN, reason=_("The ZIP archive is empty."))
    return Classification(
        UNKNOWN,
        reason=_("The ZIP archive holds files other than e-invoices (.xml, .xml.p7m)."),
    )


def _hidden(member: str) -> bool:
    """Entries archivers add that nobody means: macOS resource forks, thumbnails."""
    base = member.rsplit("/", 1)[-1]
    return member.startswith("__MACOSX/") or base.startswith(".") or base == "Thumbs.db"


def _is_der_signed(data: bytes) -> bool:
    """A DER (or BER) PKCS#7 envelope: a SEQUENCE holding the SignedData identifier."""
    return data[:1] == b"\x30" and _SIGNED_DATA_OID in data[:32]


def _is_base64_signed(data: bytes) -> bool:
    head = re.sub(rb"\s+", b"", data[:512])
    if not head.startswith(b"MI"):
        return False
    try:
        decoded = base64.b64decode(head[: len(head) // 4 * 4], validate=True)
    except (binascii.Error, ValueError):
        return False
    return _is_der_signed(decoded)


def _classify_xml(head: bytes) -> Classification:
    if _CAMT_NAMESPACE.search(head) or _CAMT_BODY.search(head):
        return Classification(STATEMENT, "camt")
    root = _root_element(head)
    if root == "FatturaElettronica":
        return Classification(EINVOICES, "xml")
    if root is None:
        return Classification(UNKNOWN, reason=_("The file starts like an XML but has no element."))
    return Classification(
        UNKNOWN,
        reason=_(
            "An XML file whose root element is %(root)s: neither an e-invoice "
            "(FatturaElettronica) nor a bank statement (camt.053/054)."
        )
        % {"root": root},
    )


def _root_element(head: bytes) -> str | None:
    # Skip the declaration, comments and processing instructions before the root.
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", head, flags=re.S)
    match = _XML_ROOT.search(text)
    return match.group(1).decode("ascii", errors="replace") if match else None


def _is_mt940(head: bytes) -> bool:
    if head.startswith(b"{1:"):
        return True
    found = {m.group(1) for m in _MT940_FIELD.finditer(head[:8192])}
    return b"20" in found and bool(found & {b"60F", b"60M", b"61", b"62F", b"25"})


def _looks_like_text(head: bytes) -> bool:
    """Delimited text: no NUL bytes, mostly printable, with a separator on its first line."""
    sample = head[:8192]
    if b"\x00" in sample:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 128 for b in sample)
    if printable < len(sample) * 0.95:
        return False
    first_line = sample.split(b"\n", 1)[0]
    return any(sep in first_line for sep in (b";", b",", b"\t", b"|"))


# --------------------------------------------------------------------------------------
# Dates in names
# --------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_COMPACT_DATE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
_ITALIAN_DATE = re.compile(r"(?<!\d)(\d{2})[-_.](\d{2})[-_.](\d{4})(?!\d)")


def date_in_name(name: str) -> dt.date | None:
    """The date a file's name carries (``scadenziario_2026-03-31.csv``,
    ``SCAD20260331.xlsx``, ``scadenziario 31-03-2026.csv``), None when it carries none, or
    more than one different date, or an impossible one."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    found: set[dt.date] = set()
    for pattern, order in ((_ISO_DATE, "ymd"), (_COMPACT_DATE, "ymd"), (_ITALIAN_DATE, "dmy")):
        for match in pattern.finditer(base):
            parts = [int(p) for p in match.groups()]
            year, month, day = parts if order == "ymd" else parts[::-1]
            if not 2000 <= year <= 2099:
                continue
            try:
                found.add(dt.date(year, month, day))
            except ValueError:
                continue
    return found.pop() if len(found) == 1 else None


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^\w.\- ()+]+")
MAX_NAME = 180


def safe_name(name: str | None, default: str = "file") -> str:
    """A file name safe to create inside the inbox: no directory, no leading dot (hidden
    files are not picked up), no control or shell characters, at most ``MAX_NAME``
    characters with the extension kept."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    if len(base) > MAX_NAME:
        stem, dot, extension = base.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            base = stem[: MAX_NAME - len(extension) - 1] + "." + extension
        else:
            base = base[:MAX_NAME]
    return base or default


def is_side_file(name: str) -> bool:
    """Files the inbox itself writes or that are still being written: never imported."""
    lower = name.lower()
    return (
        name.startswith(".")
        or lower.endswith((".report.json", ".part", ".tmp", ".crdownload", ".partial", "~"))
        or lower in {"thumbs.db", "desktop.ini"}
    )
