"""Reading Italian e-invoices (FatturaPA, FPR12 and FPA12) into plain Python values.

Pure logic: no database and nothing from Django. The import service, the command line and the
web upload will all call :func:`read_einvoices` and decide there what becomes a customer and
an open item; this module only says what each file holds, or why it cannot be read.

Accepted: a plain ``.xml``, a signed ``.xml.p7m`` (CAdES, DER or base64; the signed content is
extracted, the signature is *not* verified: the SdI already did that before delivering it) and
a ``.zip`` of those. Every file is first parsed by defusedxml with DTDs forbidden (no entity
bombs, no external entities), then parsed again by lxml without entity expansion or network
and validated against the official schema shipped in ``schemas/`` (FatturaPA 1.2.3, the one in
force from 1 April 2025). Only then are the values read, by local name, so the namespace
prefix (``p:``, ``ns2:``, ``a:``...) does not matter.

Money is Decimal, read from the file's own digits; dates are ``dt.date``. A credit note
(TD04) comes out with negative amounts so the ledger can add everything up without asking.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import datetime as dt
import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from asn1crypto import cms
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET
from lxml import etree

__all__ = [
    "CREDIT_NOTE_TYPES",
    "DOCUMENT_TYPES",
    "MAX_FILE_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_TOTAL_BYTES",
    "NAMESPACE",
    "PAYMENT_METHODS",
    "PAYMENT_TERMS",
    "EInvoice",
    "EInvoiceError",
    "EInvoiceFile",
    "Installment",
    "Party",
    "due_date_from_terms",
    "extract_signed_content",
    "parse_amount",
    "parse_date",
    "read_einvoices",
]

NAMESPACE = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
DSIG_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#"

# The SdI refuses files over 5 MB; anything larger is not an invoice it delivered.
MAX_FILE_BYTES = 5 * 1024 * 1024
# A month of a busy company's invoices fits easily; a zip bomb does not.
MAX_ZIP_MEMBERS = 2000
MAX_ZIP_TOTAL_BYTES = 200 * 1024 * 1024
# A file signed more than this many times over is not something an ERP produces.
MAX_SIGNATURE_LAYERS = 3

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SCHEMA_FILE = "Schema_VFPR12_v1.2.3.xsd"
DSIG_SCHEMA_FILE = "xmldsig-core-schema.xsd"

# TipoDocumento, with the labels of the official schema 1.2.3.
DOCUMENT_TYPES: dict[str, str] = {
    "TD01": "Fattura",
    "TD02": "Acconto / anticipo su fattura",
    "TD03": "Acconto / anticipo su parcella",
    "TD04": "Nota di credito",
    "TD05": "Nota di debito",
    "TD06": "Parcella",
    "TD16": "Integrazione fattura reverse charge interno",
    "TD17": "Integrazione/autofattura per acquisto servizi dall'estero",
    "TD18": "Integrazione per acquisto di beni intracomunitari",
    "TD19": "Integrazione/autofattura per acquisto di beni ex art.17 c.2 DPR 633/72",
    "TD20": "Autofattura per regolarizzazione e integrazione delle fatture",
    "TD21": "Autofattura per splafonamento",
    "TD22": "Estrazione beni da Deposito IVA",
    "TD23": "Estrazione beni da Deposito IVA con versamento dell'IVA",
    "TD24": "Fattura differita (art.21, comma 4, lett. a) DPR 633/72)",
    "TD25": "Fattura differita (art.21, comma 4, lett. b) DPR 633/72)",
    "TD26": "Cessione di beni ammortizzabili e per passaggi interni",
    "TD27": "Fattura per autoconsumo o per cessioni gratuite senza rivalsa",
    "TD28": "Acquisti da San Marino con IVA (fattura cartacea)",
    "TD29": "Comunicazione per omessa o irregolare fatturazione",
}
# Documents that reduce what the customer owes: their amounts are returned negative.
CREDIT_NOTE_TYPES: frozenset[str] = frozenset({"TD04"})

# ModalitaPagamento, with the labels of the official schema 1.2.3.
PAYMENT_METHODS: dict[str, str] = {
    "MP01": "contanti",
    "MP02": "assegno",
    "MP03": "assegno circolare",
    "MP04": "contanti presso Tesoreria",
    "MP05": "bonifico",
    "MP06": "vaglia cambiario",
    "MP07": "bollettino bancario",
    "MP08": "carta di pagamento",
    "MP09": "RID",
    "MP10": "RID utenze",
    "MP11": "RID veloce",
    "MP12": "RIBA",
    "MP13": "MAV",
    "MP14": "quietanza erario",
    "MP15": "giroconto su conti di contabilità speciale",
    "MP16": "domiciliazione bancaria",
    "MP17": "domiciliazione postale",
    "MP18": "bollettino di c/c postale",
    "MP19": "SEPA Direct Debit",
    "MP20": "SEPA Direct Debit CORE",
    "MP21": "SEPA Direct Debit B2B",
    "MP22": "Trattenuta su somme già riscosse",
    "MP23": "PagoPA",
}

# CondizioniPagamento.
PAYMENT_TERMS: dict[str, str] = {
    "TP01": "pagamento a rate",
    "TP02": "pagamento completo",
    "TP03": "anticipo",
}

# Roots of the other files the SdI delivers next to invoices: named, so the error says what
# the file is instead of a bare "wrong root".
_OTHER_ROOTS = {
    "FileMetadati": "an SdI metadata file, not an invoice",
    "RicevutaConsegna": "an SdI delivery receipt, not an invoice",
    "NotificaScarto": "an SdI rejection notice, not an invoice",
    "NotificaMancataConsegna": "an SdI failed-delivery notice, not an invoice",
    "NotificaEsito": "an SdI outcome notice, not an invoice",
    "AttestazioneTrasmissioneFattura": "an SdI transmission certificate, not an invoice",
    "FatturaElettronicaSemplificata": "a simplified invoice (FSM10), which is not supported",
}


class EInvoiceError(Exception):
    """Why a file cannot be read; ``code`` is stable for the UI, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Party:
    """A seller (CedentePrestatore) or a buyer (CessionarioCommittente)."""

    vat_country: str = ""
    vat_number: str = ""
    fiscal_code: str = ""
    name: str = ""
    first_name: str = ""
    last_name: str = ""
    address: str = ""
    postal_code: str = ""
    city: str = ""
    province: str = ""
    country: str = ""

    @property
    def vat_id(self) -> str:
        """Country and code together (``IT01234567890``), as VAT registers write it."""
        return f"{self.vat_country}{self.vat_number}" if self.vat_number else ""

    @property
    def is_person(self) -> bool:
        """A private person or a sole trader named by first and last name (no Denominazione)."""
        return bool(self.last_name)


@dataclass(frozen=True)
class Installment:
    """One DettaglioPagamento: what the customer must pay, how and by when.

    ``due_date`` is the file's DataScadenzaPagamento, or else the reference date (or the
    invoice date) plus GiorniTerminiPagamento; ``None`` when the file says neither, and the
    customer's own terms must decide (see :func:`due_date_from_terms`).
    """

    amount: Decimal
    method: str
    due_date: dt.date | None
    due_date_source: str  # "file", "terms" (computed from the days) or "" (unknown)
    terms: str = ""  # the CondizioniPagamento of its DatiPagamento block
    iban: str = ""
    bic: str = ""
    terms_days: int | None = None
    terms_reference_date: dt.date | None = None

    @property
    def method_label(self) -> str:
        return PAYMENT_METHODS.get(self.method, self.method)


@dataclass(frozen=True)
class EInvoice:
    """One document (one FatturaElettronicaBody) with the header it shares with its siblings."""

    source: str
    body_index: int  # 1-based position of the body in its file
    transmission_format: str  # FPR12 (B2B) or FPA12 (public administration)
    seller: Party
    buyer: Party
    recipient_code: str  # CodiceDestinatario ("0000000" when delivered by PEC or to a person)
    recipient_pec: str
    document_type: str
    number: str
    date: dt.date
    currency: str
    total: Decimal  # negative for a credit note
    total_computed: bool  # True when ImportoTotaleDocumento was missing
    payment_terms: str  # CondizioniPagamento of the first DatiPagamento, "" when absent
    installments: tuple[Installment, ...] = ()

    @property
    def is_credit_note(self) -> bool:
        return self.document_type in CREDIT_NOTE_TYPES

    @property
    def is_public_administration(self) -> bool:
        return self.transmission_format == "FPA12"

    @property
    def document_type_label(self) -> str:
        return DOCUMENT_TYPES.get(self.document_type, self.document_type)


@dataclass(frozen=True)
class EInvoiceFile:
    """What one file (or one archive member) gave: its documents, or why it gave none."""

    name: str
    invoices: tuple[EInvoice, ...] = ()
    error: str = ""
    error_code: str = ""
    signed: bool = False

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def message(self) -> str:
        """The error with the file's name in front, ready for a log or a page."""
        return f"{self.name}: {self.error}" if self.error else ""


# --- values -------------------------------------------------------------------------------

_AMOUNT = re.compile(r"[+-]?\d{1,18}(\.\d{1,8})?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?")


def parse_amount(text: str) -> Decimal:
    """An amount as FatturaPA writes it (``1234.50``, ``-10.00``): dot decimals, no grouping.

    Strict on purpose: a comma or a thousands separator means the file was not produced by
    software that follows the format, and guessing would risk a factor of a thousand.
    """
    value = text.strip()
    if not _AMOUNT.fullmatch(value):
        raise ValueError(f"{text!r} is not an amount (expected digits with a dot, e.g. 1234.50)")
    try:
        return Decimal(value)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guarantees it
        raise ValueError(f"{text!r} is not an amount") from exc


def parse_date(text: str) -> dt.date:
    """An xs:date (``2025-03-31``, a time zone suffix tolerated)."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)")
    year, month, day = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date ({exc})") from exc


def _end_of_month(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def due_date_from_terms(invoice_date: dt.date, days: int, end_of_month: bool) -> dt.date:
    """The due date of an invoice that gives none, from the customer's terms.

    Without end of month: the invoice date plus ``days``. With end of month (Italian
    "d.f.f.m.", *data fattura fine mese*), terms in whole months as Italian ERPs write them
    (30, 60, 90... days) count calendar months: 60 days end of month from 15 January is
    31 March, and from 31 December is 28 (29) February, never a day of the month after.
    Other day counts are added first and the month's end taken after (45 days from
    20 January: 6 March, so 31 March).
    """
    if days < 0:
        raise ValueError("payment terms cannot be negative")
    if not end_of_month:
        return invoice_date + dt.timedelta(days=days)
    if days % 30 == 0:
        month_index = invoice_date.month - 1 + days // 30
        first = dt.date(invoice_date.year + month_index // 12, month_index % 12 + 1, 1)
        return _end_of_month(first)
    return _end_of_month(invoice_date + dt.timedelta(days=days))


# --- the containers -----------------------------------------------------------------------


def read_einvoices(name: str, data: bytes) -> list[EInvoiceFile]:
    """Every e-invoice file in ``data``: one result for an .xml or .p7m, one per member of a zip.

    Never raises for a bad file: each result either holds the documents or says why not, so a
    batch goes on past a broken member and the user sees every problem at once.
    """
    kind = _kind(name, data)
    if kind == "zip":
        return _read_zip(name, data)
    return [_read_single(name, data, kind)]


def _kind(name: str, data: bytes) -> str:
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith(".p7m"):
        return "p7m"
    if lower.endswith(".xml"):
        return "xml"
    # No telling extension: look at the bytes.
    head = data[:8].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if head.startswith(b"<"):
        return "xml"
    if data[:1] == b"\x30" or head[:4] in (b"MIAG", b"MIIC", b"MIID", b"MIIE", b"MIIF", b"MIIG"):
        return "p7m"
    return "unknown"


def _read_single(name: str, data: bytes, kind: str) -> EInvoiceFile:
    signed = kind == "p7m"
    try:
        if kind == "unknown":
            raise EInvoiceError(
                "unknown_format", "not an e-invoice: expected an .xml, .xml.p7m or .zip file"
            )
        if len(data) > MAX_FILE_BYTES:
            raise EInvoiceError(
                "too_large",
                f"the file is {len(data):,} bytes, "
                f"over the {MAX_FILE_BYTES:,} bytes the SdI accepts",
            )
        xml = extract_signed_content(data) if signed else data
        invoices = _parse_invoice_xml(name, xml)
    except EInvoiceError as exc:
        return EInvoiceFile(name=name, error=exc.message, error_code=exc.code, signed=signed)
    return EInvoiceFile(name=name, invoices=tuple(invoices), signed=signed)


def _read_zip(name: str, data: bytes) -> list[EInvoiceFile]:
    def whole(code: str, message: str) -> list[EInvoiceFile]:
        return [EInvoiceFile(name=name, error=message, error_code=code)]

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return whole("bad_zip", f"not a readable zip archive ({exc})")
    if len(members) > MAX_ZIP_MEMBERS:
        return whole(
            "zip_too_many",
            f"the archive has {len(members):,} entries, more than the {MAX_ZIP_MEMBERS:,} "
            "accepted at once: split it",
        )
    declared = sum(member.file_size for member in members)
    if declared > MAX_ZIP_TOTAL_BYTES:
        return whole(
            "zip_too_large",
            f"the archive unpacks to {declared:,} bytes, more than the "
            f"{MAX_ZIP_TOTAL_BYTES:,} bytes accepted at once: split it",
        )
    results: list[EInvoiceFile] = []
    budget = MAX_ZIP_TOTAL_BYTES
    for member in members:
        if member.is_dir() or _is_clutter(member.filename):
            continue
        label = f"{name}/{member.filename}"
        try:
            content = _member_bytes(archive, member, budget)
        except EInvoiceError as exc:
            results.append(EInvoiceFile(name=label, error=exc.message, error_code=exc.code))
            if exc.code == "zip_too_large":
                break
            continue
        budget -= len(content)
        kind = _kind(member.filename, content)
        if kind == "zip" or content[:4] == b"PK\x03\x04":
            results.append(
                EInvoiceFile(
                    name=label,
                    error="an archive inside the archive: unpack it and upload its files",
                    error_code="nested_zip",
                )
            )
            continue
        results.append(_read_single(label, content, kind))
    if not results:
        return whole("empty_zip", "the archive holds no files")
    return results


def _is_clutter(filename: str) -> bool:
    """Entries archivers add on their own (macOS resource forks, Finder and Windows files)."""
    base = posixpath.basename(filename.rstrip("/"))
    return (
        filename.startswith("__MACOSX/")
        or base.startswith("._")
        or base in {".DS_Store", "Thumbs.db", "desktop.ini"}
    )


def _member_bytes(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: int) -> bytes:
    """A member's content, refusing unsafe names and reading no more than the limits allow.

    The declared sizes in a zip can lie, so the read itself is bounded too.
    """
    filename = member.filename
    parts = filename.replace("\\", "/").split("/")
    if filename.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", filename):
        raise EInvoiceError(
            "zip_unsafe_name", "an unsafe path in the archive; the entry is skipped"
        )
    if member.flag_bits & 0x1:
        raise EInvoiceError("zip_encrypted", "the entry is encrypted; it cannot be read")
    limit = min(MAX_FILE_BYTES, budget)
    try:
        with archive.open(member) as stream:
            content = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise EInvoiceError("bad_zip", f"the entry cannot be unpacked ({exc})") from exc
    if len(content) > limit:
        if limit < MAX_FILE_BYTES:
            raise EInvoiceError(
                "zip_too_large",
                f"the archive unpacks to more than the {MAX_ZIP_TOTAL_BYTES:,} bytes "
                "accepted at once: split it",
            )
        raise EInvoiceError(
            "too_large",
            f"the file unpacks to more than the {MAX_FILE_BYTES:,} bytes the SdI accepts",
        )
    return content


def extract_signed_content(data: bytes) -> bytes:
    """The document inside a CAdES (.p7m) envelope, DER or base64; the signature is not checked.

    The SdI verifies signatures before it delivers a file, and an invoice's meaning does not
    depend on who signed it for the ledger, so only the content is taken. An envelope inside an
    envelope (a file signed twice) is opened layer by layer.
    """
    content = data
    for _layer in range(MAX_SIGNATURE_LAYERS):
        der = _der_bytes(content)
        try:
            info = cms.ContentInfo.load(der)
            content_type = info["content_type"].native
            if content_type != "signed_data":
                raise EInvoiceError(
                    "bad_signature_envelope",
                    f"the .p7m holds {content_type or 'nothing known'}, not signed data",
                )
            inner = info["content"]["encap_content_info"]["content"]
            payload = inner.native if inner is not None else None
        except EInvoiceError:
            raise
        except Exception as exc:  # asn1crypto raises ValueError, TypeError, OverflowError...
            raise EInvoiceError(
                "bad_signature_envelope", f"not a readable signed (.p7m) file ({exc})"
            ) from exc
        if not payload:
            raise EInvoiceError(
                "detached_signature",
                "the .p7m holds only a signature (detached): the invoice itself is not in it",
            )
        if not isinstance(payload, bytes):  # pragma: no cover - an OCTET STRING is bytes
            raise EInvoiceError("bad_signature_envelope", "the signed content is not a file")
        if _looks_like_envelope(payload):
            content = payload
            continue
        return payload
    raise EInvoiceError(
        "bad_signature_envelope", f"signed more than {MAX_SIGNATURE_LAYERS} times over"
    )


_PEM = re.compile(rb"-----(BEGIN|END) [A-Z0-9 ]+-----")


def _der_bytes(data: bytes) -> bytes:
    if data[:1] == b"\x30":
        return data
    text = _PEM.sub(b"", data)
    text = re.sub(rb"\s+", b"", text)
    try:
        der = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EInvoiceError(
            "bad_signature_envelope", "not a signed (.p7m) file: neither DER nor base64"
        ) from exc
    if der[:1] != b"\x30":
        raise EInvoiceError(
            "bad_signature_envelope", "not a signed (.p7m) file: the base64 does not hold one"
        )
    return der


def _looks_like_envelope(payload: bytes) -> bool:
    if payload.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return False
    try:
        info = cms.ContentInfo.load(_der_bytes(payload))
        return info["content_type"].native == "signed_data"
    except Exception:
        return False


# --- the XML ------------------------------------------------------------------------------


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rpartition("}")[2]


def _namespace(tag: str) -> str:
    return tag[1:].partition("}")[0] if tag.startswith("{") else ""


def _safety_parse(xml: bytes) -> str:
    """Parse with defusedxml first: DTDs, entities and external references are refused here.

    Returns the root's local name. lxml is reached only by documents that passed this.
    """
    try:
        root = DefusedET.fromstring(
            xml, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise EInvoiceError(
            "unsafe_xml",
            "the XML declares a DTD or entities, which invoices never do; refused for safety "
            f"({type(exc).__name__})",
        ) from exc
    except DefusedET.ParseError as exc:
        raise EInvoiceError("malformed_xml", f"not well-formed XML ({exc})") from exc
    except (ValueError, LookupError) as exc:  # an unknown encoding declaration, for one
        raise EInvoiceError("malformed_xml", f"not readable XML ({exc})") from exc
    return _local(root.tag)


@cache
def _schema() -> etree.XMLSchema:
    """The official schema, its xmldsig import served from the local copy (never the network)."""

    class _LocalSchemas(etree.Resolver):
        def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
            if url and url.endswith(DSIG_SCHEMA_FILE):
                return self.resolve_filename(str(SCHEMA_DIR / DSIG_SCHEMA_FILE), context)
            return None

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parser.resolvers.add(_LocalSchemas())
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / SCHEMA_FILE), parser))


def _lxml_parse(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:  # lxml's own limits: nesting depth, node sizes
        raise EInvoiceError("malformed_xml", f"not well-formed XML ({exc})") from exc


def _normalise_namespaces(root: etree._Element) -> None:
    """Put the document in the schema's own form: root in the FatturaPA namespace, the rest
    unqualified (the xmldsig signature left alone).

    Some software writes the namespace as a default (``xmlns="..."``), which puts every child
    in it, or leaves it out; the content is the same, so it is read and validated as if written
    the standard way. Any other namespace stays and the schema rejects it.
    """
    namespace = _namespace(root.tag)
    if namespace not in ("", NAMESPACE):
        raise EInvoiceError(
            "wrong_namespace",
            f"the root is in the namespace {namespace!r}, not FatturaPA 1.2 ({NAMESPACE})",
        )
    root.tag = f"{{{NAMESPACE}}}{_local(root.tag)}"
    for element in root.iterdescendants():
        if isinstance(element.tag, str) and _namespace(element.tag) == NAMESPACE:
            element.tag = _local(element.tag)
    etree.cleanup_namespaces(root)


def _validate(root: etree._Element) -> None:
    schema = _schema()
    if schema.validate(root):
        return
    problems = []
    for error in list(schema.error_log)[:3]:
        message = error.message.replace(f"{{{NAMESPACE}}}", "")
        problems.append(f"line {error.line}: {message}" if error.line else message)
    more = len(schema.error_log) - len(problems)
    suffix = f" (and {more} more)" if more > 0 else ""
    raise EInvoiceError(
        "schema", "does not follow the FatturaPA 1.2.3 schema: " + "; ".join(problems) + suffix
    )


def _parse_invoice_xml(source: str, xml: bytes) -> list[EInvoice]:
    if not xml.strip():
        raise EInvoiceError("malformed_xml", "the file is empty")
    root_name = _safety_parse(xml)
    if root_name != "FatturaElettronica":
        what = _OTHER_ROOTS.get(root_name)
        raise EInvoiceError(
            "wrong_root",
            f"this is {what}"
            if what
            else f"the root element is {root_name!r}, not FatturaElettronica",
        )
    root = _lxml_parse(xml)
    _normalise_namespaces(root)
    _validate(root)
    return _extract(source, root)


class _Node:
    """Navigation by local names, so prefixes and namespaces never matter."""

    def __init__(self, element: etree._Element | None) -> None:
        self.element = element

    def children(self, name: str) -> Iterator[_Node]:
        if self.element is None:
            return
        for child in self.element:
            if _local(child.tag) == name:
                yield _Node(child)

    def child(self, *path: str) -> _Node:
        node = self
        for name in path:
            node = next(node.children(name), _Node(None))
        return node

    def text(self, *path: str) -> str:
        element = self.child(*path).element
        return (element.text or "").strip() if element is not None else ""

    def __bool__(self) -> bool:
        return self.element is not None


def _party(node: _Node, address_node: _Node) -> Party:
    personal = node.child("DatiAnagrafici")
    registry = personal.child("Anagrafica")
    first, last = registry.text("Nome"), registry.text("Cognome")
    name = registry.text("Denominazione") or " ".join(part for part in (first, last) if part)
    street = address_node.text("Indirizzo")
    number = address_node.text("NumeroCivico")
    return Party(
        vat_country=personal.text("IdFiscaleIVA", "IdPaese").upper(),
        vat_number=personal.text("IdFiscaleIVA", "IdCodice").upper(),
        fiscal_code=personal.text("CodiceFiscale").upper(),
        name=name,
        first_name=first,
        last_name=last,
        address=f"{street}, {number}" if street and number else street,
        postal_code=address_node.text("CAP"),
        city=address_node.text("Comune"),
        province=address_node.text("Provincia").upper(),
        country=address_node.text("Nazione").upper(),
    )


def _signed(amount: Decimal, credit_note: bool) -> Decimal:
    return -abs(amount) if credit_note else amount


def _value(parse, text: str, what: str):  # type: ignore[no-untyped-def]
    try:
        return parse(text)
    except ValueError as exc:  # pragma: no cover - the schema checks the same patterns
        raise EInvoiceError("bad_value", f"{what}: {exc}") from exc


def _computed_total(body: _Node, general: _Node) -> Decimal:
    """ImportoTotaleDocumento is optional: then taxable amounts plus VAT of the summary lines,
    plus the document's rounding, which is what the total would have said."""
    total = Decimal("0")
    for summary in body.child("DatiBeniServizi").children("DatiRiepilogo"):
        for name in ("ImponibileImporto", "Imposta", "Arrotondamento"):
            text = summary.text(name)
            if text:
                total += _value(parse_amount, text, name)
    rounding = general.text("Arrotondamento")
    if rounding:
        total += _value(parse_amount, rounding, "Arrotondamento")
    return total


def _installments(body: _Node, invoice_date: dt.date, credit_note: bool) -> list[Installment]:
    result = []
    for payment in body.children("DatiPagamento"):
        terms = payment.text("CondizioniPagamento")
        for detail in payment.children("DettaglioPagamento"):
            due_text = detail.text("DataScadenzaPagamento")
            days_text = detail.text("GiorniTerminiPagamento")
            reference_text = detail.text("DataRiferimentoTerminiPagamento")
            days = int(days_text) if days_text else None
            reference = (
                _value(parse_date, reference_text, "DataRiferimentoTerminiPagamento")
                if reference_text
                else None
            )
            if due_text:
                due, source = _value(parse_date, due_text, "DataScadenzaPagamento"), "file"
            elif days is not None:
                due = (reference or invoice_date) + dt.timedelta(days=days)
                source = "terms"
            else:
                due, source = None, ""
            amount = _value(parse_amount, detail.text("ImportoPagamento"), "ImportoPagamento")
            result.append(
                Installment(
                    amount=_signed(amount, credit_note),
                    method=detail.text("ModalitaPagamento"),
                    due_date=due,
                    due_date_source=source,
                    terms=terms,
                    iban=re.sub(r"\s+", "", detail.text("IBAN")).upper(),
                    bic=detail.text("BIC").upper(),
                    terms_days=days,
                    terms_reference_date=reference,
                )
            )
    return result


def _extract(source: str, element: etree._Element) -> list[EInvoice]:
    root = _Node(element)
    header = root.child("FatturaElettronicaHeader")
    transmission = header.child("DatiTrasmissione")
    seller_node = header.child("CedentePrestatore")
    buyer_node = header.child("CessionarioCommittente")
    seller = _party(seller_node, seller_node.child("Sede"))
    buyer = _party(buyer_node, buyer_node.child("Sede"))
    transmission_format = transmission.text("FormatoTrasmissione") or element.get("versione", "")
    invoices = []
    for index, body in enumerate(root.children("FatturaElettronicaBody"), start=1):
        general = body.child("DatiGenerali", "DatiGeneraliDocumento")
        document_type = general.text("TipoDocumento")
        credit_note = document_type in CREDIT_NOTE_TYPES
        date = _value(parse_date, general.text("Data"), "Data")
        total_text = general.text("ImportoTotaleDocumento")
        if total_text:
            total = _value(parse_amount, total_text, "ImportoTotaleDocumento")
        else:
            total = _computed_total(body, general)
        payments = list(body.children("DatiPagamento"))
        invoices.append(
            EInvoice(
                source=source,
                body_index=index,
                transmission_format=transmission_format,
                seller=seller,
                buyer=buyer,
                recipient_code=transmission.text("CodiceDestinatario").upper(),
                recipient_pec=transmission.text("PECDestinatario"),
                document_type=document_type,
                number=general.text("Numero"),
                date=date,
                currency=general.text("Divisa").upper(),
                total=_signed(total, credit_note),
                total_computed=not total_text,
                payment_terms=payments[0].text("CondizioniPagamento") if payments else "",
                installments=tuple(_installments(body, date, credit_note)),
            )
        )
    return invoices
