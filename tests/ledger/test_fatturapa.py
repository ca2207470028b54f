"""Reading FatturaPA e-invoices: plain XML, signed .p7m envelopes, ZIP archives, hostile input.

No database: the reader is pure. The invoices under ``data/fatturapa/`` were written by hand
for these tests and all follow the official schema; every expected number is worked out in a
comment. The .p7m envelopes are built here with asn1crypto: a CMS SignedData around the XML
with a signer whose signature is made of zeros. That is on purpose: the reader *extracts* the
signed content and does not verify signatures (the SdI did before delivering the file).
"""

from __future__ import annotations

import base64
import calendar
import datetime as dt
import hashlib
import io
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from asn1crypto import cms, x509
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.ledger import fatturapa
from incassa.ledger.fatturapa import (
    CREDIT_NOTE_TYPES,
    DOCUMENT_TYPES,
    PAYMENT_METHODS,
    EInvoiceError,
    due_date_from_terms,
    extract_signed_content,
    parse_amount,
    parse_date,
    read_einvoices,
)

DATA = Path(__file__).parent / "data" / "fatturapa"
IBAN = "IT60X0542811101000000123456"


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def read_one(name: str, content: bytes | None = None) -> fatturapa.EInvoiceFile:
    results = read_einvoices(name, data(name) if content is None else content)
    assert len(results) == 1
    return results[0]


def envelope(content: bytes, *, detached: bool = False) -> bytes:
    """A CAdES-like CMS SignedData (DER) around ``content``; the signature is zeros."""
    signer = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": x509.Name.build({"common_name": "Test CA for Incassa"}),
                        "serial_number": 4242,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
            "signature": b"\x00" * 256,
        }
    )
    encap = {"content_type": "data"} if detached else {"content_type": "data", "content": content}
    signed = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": encap,
            "signer_infos": [signer],
        }
    )
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


# --- the shipped schema --------------------------------------------------------------------


def test_shipped_schemas_are_the_official_files_byte_for_byte():
    # The hashes published for the official downloads (fatturapa.gov.it, schema 1.2.3 valid
    # from 1 April 2025; w3.org's xmldsig-core-schema.xsd): a schema edited to let a file pass
    # would make "valid" meaningless.
    schemas = Path(fatturapa.__file__).parent / "schemas"
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in schemas.glob("*.xsd")}
    assert digest == {
        "Schema_VFPR12_v1.2.3.xsd": (
            "152944f6eef9f5d69ef6e955ee173b32142b00a8c1c5222fc97dfab5910e8a8c"
        ),
        "xmldsig-core-schema.xsd": (
            "35cf8197da812c85e40d57891b35c94187569ed474a2dac813ce5090dafcd35c"
        ),
    }


def test_code_tables_follow_the_current_specification():
    # TD01-TD06 and TD16-TD29 (20 types), MP01-MP23 (23 methods); only TD04 reduces the debt.
    assert len(DOCUMENT_TYPES) == 20 and "TD29" in DOCUMENT_TYPES and "TD07" not in DOCUMENT_TYPES
    assert list(PAYMENT_METHODS) == [f"MP{n:02d}" for n in range(1, 24)]
    assert sorted(CREDIT_NOTE_TYPES) == ["TD04"]


# --- the invoices ---------------------------------------------------------------------------


def test_b2b_invoice_with_three_installments():
    result = read_one("IT01234567890_FPR01.xml")
    assert result.ok and not result.signed and result.message == ""
    (invoice,) = result.invoices
    assert invoice.transmission_format == "FPR12" and not invoice.is_public_administration
    assert (invoice.document_type, invoice.document_type_label) == ("TD01", "Fattura")
    assert not invoice.is_credit_note
    assert invoice.number == "FT 2025/0142"
    assert invoice.date == dt.date(2025, 3, 14)
    assert invoice.currency == "EUR"
    # 4 pumps x 625.00 = 2500.00 + installation 500.00 = 3000.00 taxable; VAT 22% = 660.00;
    # total 3660.00, as ImportoTotaleDocumento says (so not computed).
    assert invoice.total == Decimal("3660.00") and not invoice.total_computed
    assert invoice.recipient_code == "M5UXCR1" and invoice.recipient_pec == ""
    assert invoice.payment_terms == "TP01"

    seller = invoice.seller
    assert (seller.vat_id, seller.fiscal_code) == ("IT01234567890", "01234567890")
    assert seller.name == "Officine Meccaniche Brambilla S.p.A." and not seller.is_person
    assert (seller.address, seller.city, seller.province) == (
        "Via dell'Industria, 12",
        "Monza",
        "MB",
    )

    buyer = invoice.buyer
    assert (buyer.vat_country, buyer.vat_number) == ("IT", "09876543210")
    assert buyer.fiscal_code == "09876543210"
    assert buyer.name == "Rossi Costruzioni S.r.l."
    assert buyer.address == "Corso Vittorio Emanuele II, 45/B"
    assert (buyer.postal_code, buyer.city, buyer.province, buyer.country) == (
        "10121",
        "Torino",
        "TO",
        "IT",
    )

    # Three installments of 3660.00 / 3 = 1220.00 by bank transfer, at the end of April, May
    # and June; 3 x 1220.00 = 3660.00, the whole total.
    assert [(i.due_date, i.amount) for i in invoice.installments] == [
        (dt.date(2025, 4, 30), Decimal("1220.00")),
        (dt.date(2025, 5, 31), Decimal("1220.00")),
        (dt.date(2025, 6, 30), Decimal("1220.00")),
    ]
    assert sum(i.amount for i in invoice.installments) == invoice.total
    for installment in invoice.installments:
        assert (installment.method, installment.method_label) == ("MP05", "bonifico")
        assert installment.iban == IBAN and installment.terms == "TP01"
        assert installment.due_date_source == "file" and installment.terms_days is None


def test_credit_note_amounts_are_negative():
    # Windows-1252 encoded, ns2: prefix, delivered by PEC (CodiceDestinatario 0000000).
    (invoice,) = read_one("IT01234567890_FPR02.xml").invoices
    assert invoice.is_credit_note and invoice.document_type_label == "Nota di credito"
    # 250.00 taxable + 22% VAT 55.00 = 305.00, written positive, returned negative.
    assert invoice.total == Decimal("-305.00")
    (installment,) = invoice.installments
    assert installment.amount == Decimal("-305.00")
    assert installment.due_date == dt.date(2025, 3, 28) and installment.terms == "TP02"
    assert invoice.recipient_code == "0000000"
    assert invoice.recipient_pec == "amministrazione@pec.rossicostruzioni.it"
    assert invoice.buyer.fiscal_code == ""  # optional for a company with a VAT number
    # No NumeroCivico: the street is taken as written.
    assert invoice.seller.address == "Via dell'Industria 12"


def test_public_administration_invoice_with_split_payment_and_terms_in_days():
    # Default namespace (every element inherits it): read and validated as the standard form.
    (invoice,) = read_one("IT01234567890_FPA01.xml").invoices
    assert invoice.transmission_format == "FPA12" and invoice.is_public_administration
    assert invoice.recipient_code == "UF7K2Q"  # an IPA office code: 6 characters
    assert invoice.buyer.name == "Comune di Lecco"
    assert (invoice.buyer.vat_id, invoice.buyer.fiscal_code) == ("", "80012345678")
    # 1000.00 + VAT 220.00 = 1220.00 on the document, but under split payment (EsigibilitaIVA S)
    # the administration pays the VAT to the State: only 1000.00 is due to the seller.
    assert invoice.total == Decimal("1220.00")
    (installment,) = invoice.installments
    assert installment.amount == Decimal("1000.00")
    # No DataScadenzaPagamento: reference date 10 March 2025 + 30 days = 9 April 2025
    # (21 days to 31 March, 9 more into April).
    assert installment.due_date == dt.date(2025, 4, 9) and installment.due_date_source == "terms"
    assert (installment.terms_days, installment.terms_reference_date) == (30, dt.date(2025, 3, 10))


def test_person_buyer_without_namespace_and_total_from_the_summary():
    # The root has no namespace at all; the document has no ImportoTotaleDocumento and no
    # DatiPagamento.
    (invoice,) = read_one("IT01234567890_FPR03.xml").invoices
    buyer = invoice.buyer
    assert (buyer.first_name, buyer.last_name, buyer.name) == ("Laura", "Bianchi", "Laura Bianchi")
    assert buyer.is_person and buyer.vat_id == "" and buyer.fiscal_code == "BNCLRA80A41F205Z"
    assert buyer.address == "Via Garibaldi 8"
    # Summary lines: 100.00 + 22.00 (22%) and 50.00 + 5.00 (10%) = 177.00.
    assert invoice.total == Decimal("177.00") and invoice.total_computed
    assert invoice.installments == () and invoice.payment_terms == ""


def test_one_file_with_two_documents_returns_both():
    result = read_one("IT01234567890_FPR04.xml")
    first, second = result.invoices
    assert [(i.body_index, i.number, i.document_type) for i in result.invoices] == [
        (1, "FT 2025/0160", "TD01"),
        (2, "ND 2025/0003", "TD05"),
    ]
    # The header is shared: a German buyer (no province), CodiceDestinatario XXXXXXX.
    assert first.buyer == second.buyer and first.buyer.vat_id == "DE123456789"
    assert first.buyer.province == "" and first.buyer.city == "München"
    assert first.recipient_code == "XXXXXXX"
    # Intra-EU supply, 0% VAT: 10 valves x 50.00 = 500.00, by RIBA at the end of May.
    assert first.total == Decimal("500.00")
    (riba,) = first.installments
    assert (riba.method, riba.method_label, riba.due_date) == ("MP12", "RIBA", dt.date(2025, 5, 31))
    # Debit note (not negative): no total in the file, 40.00 + 0.00 VAT = 40.00.
    assert second.total == Decimal("40.00") and second.total_computed
    (transfer,) = second.installments
    # No due date and no days: the customer's terms will decide.
    assert transfer.due_date is None and transfer.due_date_source == ""
    assert (transfer.iban, transfer.bic) == ("DE89370400440532013000", "COBADEFFXXX")


@pytest.mark.parametrize(
    ("prefix", "declaration"),
    [
        ("p:", 'xmlns:p="{ns}"'),
        ("ns2:", 'xmlns:ns2="{ns}"'),
        ("a:", 'xmlns:a="{ns}"'),
    ],
)
def test_any_prefix_reads_the_same(prefix, declaration):
    text = data("IT01234567890_FPR01.xml").decode()
    text = text.replace("p:FatturaElettronica", f"{prefix}FatturaElettronica")
    text = text.replace(
        'xmlns:p="' + fatturapa.NAMESPACE + '"', declaration.format(ns=fatturapa.NAMESPACE)
    )
    (invoice,) = read_one("variant.xml", text.encode()).invoices
    assert invoice.total == Decimal("3660.00") and len(invoice.installments) == 3


def test_stylesheet_and_enveloped_xades_signature_are_accepted():
    # Files often carry an xml-stylesheet instruction, and XAdES-signed ones a ds:Signature
    # after the bodies, validated against the xmldsig schema shipped next to FatturaPA's.
    signature = """
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="Signature1">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="">
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue>AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=</ds:DigestValue>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue>AAAA</ds:SignatureValue>
  </ds:Signature>
"""
    text = data("IT01234567890_FPR01.xml").decode()
    text = text.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<?xml-stylesheet type="text/xsl" href="fatturaordinaria_v1.2.3.xsl"?>',
    ).replace("</p:FatturaElettronica>", signature + "</p:FatturaElettronica>")
    result = read_one("signed-xades.xml", text.encode())
    assert result.ok, result.error
    assert result.invoices[0].total == Decimal("3660.00")
    # The same signature with its required SignatureValue missing breaks the xmldsig schema.
    broken = text.replace("<ds:SignatureValue>AAAA</ds:SignatureValue>", "")
    assert read_one("signed-xades.xml", broken.encode()).error_code == "schema"


def test_due_date_with_days_and_no_reference_date_counts_from_the_invoice_date():
    text = data("IT01234567890_FPA01.xml").decode()
    text = text.replace(
        "<DataRiferimentoTerminiPagamento>2025-03-10</DataRiferimentoTerminiPagamento>", ""
    ).replace(
        "<GiorniTerminiPagamento>30</GiorniTerminiPagamento>",
        "<GiorniTerminiPagamento>60</GiorniTerminiPagamento>",
    )
    (invoice,) = read_one("pa.xml", text.encode()).invoices
    (installment,) = invoice.installments
    # Invoice of 10 March 2025 + 60 days: 21 to 31 March, 30 in April (51), 9 in May = 9 May.
    assert installment.due_date == dt.date(2025, 5, 9) and installment.terms_reference_date is None


def test_credit_note_written_with_negative_amounts_stays_negative():
    text = data("IT01234567890_FPR01.xml").decode()
    text = text.replace(
        "<TipoDocumento>TD01</TipoDocumento>", "<TipoDocumento>TD04</TipoDocumento>"
    )
    text = text.replace(">3660.00<", ">-3660.00<").replace(">1220.00<", ">-1220.00<")
    (invoice,) = read_one("nc.xml", text.encode()).invoices
    # Some software writes the credit note's amounts negative already: -abs keeps -3660.00.
    assert invoice.total == Decimal("-3660.00")
    assert [i.amount for i in invoice.installments] == [Decimal("-1220.00")] * 3


def test_computed_total_includes_the_document_rounding():
    text = (
        data("IT01234567890_FPR03.xml")
        .decode()
        .replace(
            "<Numero>FT 2025/0150</Numero>",
            "<Numero>FT 2025/0150</Numero><Arrotondamento>-0.01</Arrotondamento>",
        )
    )
    (invoice,) = read_one("round.xml", text.encode()).invoices
    # 177.00 from the summary lines, minus the 0.01 rounding = 176.99.
    assert invoice.total == Decimal("176.99")


# --- signed envelopes -------------------------------------------------------------------------


def test_signed_p7m_der_is_opened():
    signed = envelope(data("IT01234567890_FPR01.xml"))
    assert signed[:1] == b"\x30"  # DER: a SEQUENCE
    result = read_one("IT01234567890_FPR01.xml.p7m", signed)
    assert result.ok and result.signed
    assert result.invoices[0].total == Decimal("3660.00")


def test_signed_p7m_base64_with_line_breaks_and_armour_is_opened():
    der = envelope(data("IT01234567890_FPR02.xml"))
    encoded = base64.encodebytes(der).replace(b"\n", b"\r\n")  # 76-character lines, CRLF
    result = read_one("IT01234567890_FPR02.xml.p7m", encoded)
    assert result.ok and result.invoices[0].total == Decimal("-305.00")
    armoured = b"-----BEGIN PKCS7-----\n" + base64.encodebytes(der) + b"-----END PKCS7-----\n"
    assert read_one("IT01234567890_FPR02.xml.p7m", armoured).invoices[0].number == "NC 2025/0007"


def test_file_signed_twice_is_opened_layer_by_layer():
    xml = data("IT01234567890_FPA01.xml")
    assert extract_signed_content(envelope(envelope(xml))) == xml
    with pytest.raises(EInvoiceError) as raised:
        extract_signed_content(envelope(envelope(envelope(envelope(xml)))))
    assert raised.value.code == "bad_signature_envelope" and "3 times" in raised.value.message


def test_detached_signature_says_the_invoice_is_not_inside():
    result = read_one("x.xml.p7m", envelope(b"", detached=True))
    assert result.error_code == "detached_signature"
    assert result.message.startswith("x.xml.p7m: the .p7m holds only a signature")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x30\x03\x02\x01\x01", "not a readable signed (.p7m) file"),
        (b"this is not base64 at all!", "neither DER nor base64"),
        (base64.b64encode(b"plain text, base64 encoded"), "the base64 does not hold one"),
    ],
)
def test_broken_envelopes_are_rejected(content, expected):
    result = read_one("broken.xml.p7m", content)
    assert result.error_code == "bad_signature_envelope" and expected in result.error


def test_envelope_of_another_cms_type_is_rejected():
    digested = cms.ContentInfo(
        {
            "content_type": "data",
            "content": b"<FatturaElettronica/>",
        }
    ).dump()
    result = read_one("data.p7m", digested)
    assert result.error_code == "bad_signature_envelope" and "not signed data" in result.error


# --- archives -----------------------------------------------------------------------------


def test_zip_of_several_files_and_bad_members():
    archive = zip_of(
        {
            "lotto/IT01234567890_FPR01.xml": data("IT01234567890_FPR01.xml"),
            "lotto/IT01234567890_FPR02.xml.p7m": envelope(data("IT01234567890_FPR02.xml")),
            "lotto/IT01234567890_FPR04.xml": data("IT01234567890_FPR04.xml"),
            "lotto/IT01234567890_FPR04_MT_001.xml": b'<?xml version="1.0"?><FileMetadati/>',
            "lotto/leggimi.txt": b"Fatture di marzo",
            "__MACOSX/lotto/._IT01234567890_FPR01.xml": b"\x00\x05\x16\x07",
            "lotto/.DS_Store": b"\x00\x00\x00\x01Bud1",
        }
    )
    results = read_einvoices("marzo.zip", archive)
    # Clutter (macOS resource fork, .DS_Store) is skipped: 5 results for 7 entries.
    assert [r.name for r in results] == [
        "marzo.zip/lotto/IT01234567890_FPR01.xml",
        "marzo.zip/lotto/IT01234567890_FPR02.xml.p7m",
        "marzo.zip/lotto/IT01234567890_FPR04.xml",
        "marzo.zip/lotto/IT01234567890_FPR04_MT_001.xml",
        "marzo.zip/lotto/leggimi.txt",
    ]
    assert [r.ok for r in results] == [True, True, True, False, False]
    assert results[1].signed
    # 1 + 1 + 2 documents; totals 3660.00, -305.00, 500.00, 40.00.
    totals = [i.total for r in results for i in r.invoices]
    assert totals == [Decimal("3660.00"), Decimal("-305.00"), Decimal("500.00"), Decimal("40.00")]
    assert results[3].error_code == "wrong_root" and "metadata" in results[3].error
    assert results[4].error_code == "unknown_format"
    assert results[4].message == (
        "marzo.zip/lotto/leggimi.txt: not an e-invoice: expected an .xml, .xml.p7m or .zip file"
    )


def test_zip_refuses_path_tricks_and_nested_archives():
    inner = zip_of({"a.xml": data("IT01234567890_FPR01.xml")})
    archive = zip_of(
        {
            "../../etc/evil.xml": data("IT01234567890_FPR01.xml"),
            "/abs/evil.xml": data("IT01234567890_FPR01.xml"),
            "C:/evil.xml": data("IT01234567890_FPR01.xml"),
            "inner.zip": inner,
            "disguised.xml": inner,
            "good.xml": data("IT01234567890_FPR03.xml"),
        }
    )
    results = read_einvoices("batch.zip", archive)
    assert [r.error_code for r in results] == [
        "zip_unsafe_name",
        "zip_unsafe_name",
        "zip_unsafe_name",
        "nested_zip",
        "nested_zip",
        "",
    ]
    assert "unpack it" in results[3].error


def test_zip_with_too_many_members_is_refused_whole(monkeypatch):
    monkeypatch.setattr(fatturapa, "MAX_ZIP_MEMBERS", 3)
    archive = zip_of({f"{n}.xml": data("IT01234567890_FPR03.xml") for n in range(4)})
    (result,) = read_einvoices("many.zip", archive)
    assert result.error_code == "zip_too_many" and "4 entries" in result.error


def test_zip_bomb_is_refused_from_its_declared_size(monkeypatch):
    # 10 members of 1 MiB of zeros compress to about 10 KiB but declare 10,485,760 bytes,
    # over a limit lowered to 4 MiB (4,194,304) for the test.
    monkeypatch.setattr(fatturapa, "MAX_ZIP_TOTAL_BYTES", 4 * 1024 * 1024)
    archive = zip_of({f"{n}.xml": b"\x00" * (1024 * 1024) for n in range(10)})
    assert len(archive) < 100_000
    (result,) = read_einvoices("bomb.zip", archive)
    assert result.error_code == "zip_too_large" and "10,485,760 bytes" in result.error


def test_zip_member_over_the_file_limit_is_refused_without_reading_it_all():
    # 6 MiB of zeros unpack past the 5 MiB (5,242,880 bytes) the SdI accepts for one file.
    archive = zip_of(
        {"big.xml": b" " * (6 * 1024 * 1024), "ok.xml": data("IT01234567890_FPR03.xml")}
    )
    big, ok = read_einvoices("big.zip", archive)
    assert big.error_code == "too_large" and "5,242,880" in big.error
    assert ok.ok


def test_zip_whose_sizes_lie_is_still_bounded(monkeypatch):
    # The central directory claims 10 bytes for members that hold 200,000: zipfile stops at the
    # declared size, so the lie shows up as a CRC error, never as more bytes read.
    archive = zip_of({"a.xml": b" " * 200_000, "b.xml": b" " * 200_000})
    original = zipfile.ZipFile.infolist

    def lying_infolist(self):
        members = original(self)
        for member in members:
            member.file_size = 10
        return members

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying_infolist)
    results = read_einvoices("liar.zip", archive)
    assert [r.error_code for r in results] == ["bad_zip", "bad_zip"]
    assert "cannot be unpacked" in results[0].error


def test_zip_member_read_is_bounded_by_what_is_left_of_the_budget():
    # 200,000 bytes to read with 150,000 left of the archive's budget: refused after reading
    # at most 150,001 bytes.
    archive = zipfile.ZipFile(io.BytesIO(zip_of({"a.xml": b" " * 200_000})))
    with pytest.raises(EInvoiceError) as raised:
        fatturapa._member_bytes(archive, archive.infolist()[0], 150_000)
    assert raised.value.code == "zip_too_large"


def test_encrypted_member_is_reported():
    raw = bytearray(zip_of({"secret.xml": data("IT01234567890_FPR03.xml")}))
    # Set bit 0 (encrypted) of the general purpose flags, in the local header (offset 6) and in
    # the central directory entry (offset 8).
    raw[6] |= 1
    central = raw.index(b"PK\x01\x02")
    raw[central + 8] |= 1
    (result,) = read_einvoices("locked.zip", bytes(raw))
    assert result.error_code == "zip_encrypted"


def test_broken_and_empty_archives():
    (broken,) = read_einvoices("broken.zip", b"PK\x03\x04 not really")
    assert broken.error_code == "bad_zip"
    (empty,) = read_einvoices("empty.zip", zip_of({}))
    assert empty.error_code == "empty_zip"


# --- hostile and broken XML -------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<FatturaElettronica versione="FPR12">&lol9;</FatturaElettronica>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE FatturaElettronica [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<FatturaElettronica versione="FPR12"><FatturaElettronicaHeader>&xxe;</FatturaElettronicaHeader>
</FatturaElettronica>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE FatturaElettronica SYSTEM "http://attacker.invalid/fattura.dtd">
<FatturaElettronica versione="FPR12"/>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_dtds_and_entities_are_refused(payload):
    result = read_one("evil.xml", payload)
    assert result.error_code == "unsafe_xml" and "refused for safety" in result.error
    assert result.invoices == ()


def test_entities_are_refused_inside_a_signed_envelope_too():
    result = read_one("evil.xml.p7m", envelope(BILLION_LAUGHS))
    assert result.error_code == "unsafe_xml" and result.signed


def test_truncated_file_is_malformed():
    content = data("IT01234567890_FPR01.xml")
    result = read_one("cut.xml", content[: len(content) // 2])
    assert result.error_code == "malformed_xml" and "not well-formed XML" in result.error


def test_nesting_bomb_is_stopped_by_lxml_limits():
    # 100,000 nested elements pass the defusedxml check (no DTD) but not lxml's depth limit
    # of 256 (huge_tree is off), so the schema never sees them.
    deep = b"<a>" * 100_000 + b"</a>" * 100_000
    result = read_one(
        "deep.xml", b'<FatturaElettronica versione="FPR12">' + deep + b"</FatturaElettronica>"
    )
    assert result.error_code == "malformed_xml" and "depth" in result.error


def test_empty_file():
    assert read_one("empty.xml", b"  \n").error == "the file is empty"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"<RicevutaConsegna/>", "an SdI delivery receipt"),
        (b"<ns:FatturaElettronicaSemplificata xmlns:ns='x'/>", "simplified invoice (FSM10)"),
        (b"<html><body>Fattura</body></html>", "the root element is 'html'"),
    ],
)
def test_wrong_root(payload, expected):
    result = read_one("other.xml", payload)
    assert result.error_code == "wrong_root" and expected in result.error


def test_wrong_namespace():
    text = (
        data("IT01234567890_FPR01.xml")
        .decode()
        .replace(
            fatturapa.NAMESPACE, "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.1"
        )
    )
    result = read_one("old.xml", text.encode())
    assert result.error_code == "wrong_namespace" and "v1.1" in result.error


def test_schema_errors_say_where_and_what():
    text = data("IT01234567890_FPR01.xml").decode()
    text = text.replace("M5UXCR1", "m5uxcr1").replace(
        "<Provincia>TO</Provincia>", "<Provincia>to</Provincia>"
    )
    result = read_one("bad.xml", text.encode())
    assert result.error_code == "schema"
    assert result.error.startswith("does not follow the FatturaPA 1.2.3 schema: line 11: ")
    assert "'m5uxcr1'" in result.error and "line 50" in result.error and "'to'" in result.error


def test_schema_rejects_a_missing_required_element_and_counts_the_rest():
    text = data("IT01234567890_FPR01.xml").decode()
    text = text.replace("<Numero>FT 2025/0142</Numero>", "")  # Numero is required
    text = text.replace(">1220.00<", ">1.220,00<")  # three installments in Italian notation
    result = read_one("bad.xml", text.encode())
    # 1 missing Numero + 3 bad amounts = 4 problems: the first 3 shown, 1 counted.
    assert result.error_code == "schema"
    assert "Element 'ImportoTotaleDocumento': This element is not expected. Expected is" in (
        result.error
    )
    assert "Numero" in result.error and "'1.220,00'" in result.error
    assert result.error.endswith("(and 1 more)")


def test_unknown_document_type_is_a_schema_error():
    text = data("IT01234567890_FPR01.xml").decode().replace(">TD01<", ">TD07<")
    result = read_one("td07.xml", text.encode())
    assert result.error_code == "schema" and "TD07" in result.error


def test_file_over_the_sdi_limit_is_refused():
    content = data("IT01234567890_FPR03.xml") + b" " * fatturapa.MAX_FILE_BYTES
    result = read_one("huge.xml", content)
    assert result.error_code == "too_large" and "over the 5,242,880 bytes" in result.error


def test_format_is_sniffed_when_the_name_says_nothing():
    assert read_one("download", data("IT01234567890_FPR03.xml")).ok
    assert read_one("download", envelope(data("IT01234567890_FPR03.xml"))).signed
    assert len(read_einvoices("download", zip_of({"a.xml": data("IT01234567890_FPR03.xml")}))) == 1
    pdf = read_one("fattura.pdf", b"%PDF-1.7 ...")
    assert pdf.error_code == "unknown_format"


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1220.00", Decimal("1220.00")),
        ("-305.00", Decimal("-305.00")),
        (" 0.10 ", Decimal("0.10")),
        ("12.34567890", Decimal("12.34567890")),
        ("7", Decimal("7")),
    ],
)
def test_parse_amount(text, expected):
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["1.220,00", "12,20", "1e3", "", "€ 10.00", "1 000.00", "NaN"])
def test_parse_amount_rejects_what_is_not_the_format(text):
    with pytest.raises(ValueError, match="is not an amount"):
        parse_amount(text)


@given(
    st.decimals(
        min_value=Decimal("-99999999999.99"),
        max_value=Decimal("99999999999.99"),
        places=2,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_parse_amount_reads_back_every_two_decimal_amount(value):
    # Written as FatturaPA writes it (plain digits, a dot, two decimals): the same Decimal,
    # to the cent, never through a float.
    text = f"{value:.2f}"
    assert parse_amount(text) == value
    assert str(parse_amount(text)) == text


@given(st.text(alphabet="0123456789,", min_size=1).filter(lambda s: "," in s))
def test_parse_amount_never_accepts_a_comma(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_parse_date():
    assert parse_date("2025-03-14") == dt.date(2025, 3, 14)
    assert parse_date("2025-03-14+01:00") == dt.date(2025, 3, 14)
    for bad in ("14/03/2025", "2025-02-30", ""):
        with pytest.raises(ValueError, match="is not a date"):
            parse_date(bad)


# --- due dates from the customer's terms ---------------------------------------------------


@pytest.mark.parametrize(
    ("invoice_date", "days", "end_of_month", "expected"),
    [
        # 15 Jan + 30 days: 16 to 31 January, 14 more = 14 February.
        (dt.date(2025, 1, 15), 30, False, dt.date(2025, 2, 14)),
        # Immediate payment.
        (dt.date(2025, 1, 15), 0, False, dt.date(2025, 1, 15)),
        # 0 days end of month: the end of the invoice's month.
        (dt.date(2025, 3, 14), 0, True, dt.date(2025, 3, 31)),
        # 60 days d.f.f.m. from 15 January: January + 2 months = March, its last day.
        (dt.date(2025, 1, 15), 60, True, dt.date(2025, 3, 31)),
        # 30 days d.f.f.m. from 31 January: February's end, not 2 March's month.
        (dt.date(2025, 1, 31), 30, True, dt.date(2025, 2, 28)),
        # 60 days d.f.f.m. from 31 December 2024: February 2025 (not a leap year).
        (dt.date(2024, 12, 31), 60, True, dt.date(2025, 2, 28)),
        # ... and from 31 December 2023: February 2024 has 29 days.
        (dt.date(2023, 12, 31), 60, True, dt.date(2024, 2, 29)),
        # 90 days d.f.f.m. from 30 November 2025: November + 3 = February 2026.
        (dt.date(2025, 11, 30), 90, True, dt.date(2026, 2, 28)),
        # 45 days (not whole months) from 20 January: 11 to 31 January, 28 in February (39),
        # 6 in March = 6 March; end of month: 31 March.
        (dt.date(2025, 1, 20), 45, True, dt.date(2025, 3, 31)),
    ],
)
def test_due_date_from_terms(invoice_date, days, end_of_month, expected):
    assert due_date_from_terms(invoice_date, days, end_of_month) == expected


def test_due_date_from_terms_refuses_negative_days():
    with pytest.raises(ValueError, match="negative"):
        due_date_from_terms(dt.date(2025, 1, 1), -30, False)


dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31))


@given(dates, st.integers(min_value=0, max_value=365))
def test_due_date_without_end_of_month_adds_the_days(invoice_date, days):
    assert (due_date_from_terms(invoice_date, days, False) - invoice_date).days == days


@settings(max_examples=300)
@given(dates, st.integers(min_value=0, max_value=365))
def test_due_date_at_end_of_month_is_a_month_end_never_before_the_plain_terms(invoice_date, days):
    due = due_date_from_terms(invoice_date, days, True)
    assert due.day == calendar.monthrange(due.year, due.month)[1]
    months = (due.year - invoice_date.year) * 12 + due.month - invoice_date.month
    if days % 30 == 0:
        # Whole months: exactly days / 30 calendar months after the invoice's month.
        assert months == days // 30
        assert due >= invoice_date
    else:
        plain = invoice_date + dt.timedelta(days=days)
        assert (due.year, due.month) == (plain.year, plain.month) and due >= plain
