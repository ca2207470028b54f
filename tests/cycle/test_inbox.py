"""``cycle.inbox``: what a file dropped into the inbox is, from its content; the date in a
snapshot's name; safe names. Pure: no database. The e-invoices and bank statements are the
real samples of ``tests/ledger/data/fatturapa`` and ``tests/payments/data``."""

from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

import pytest
from django.utils import translation

from incassa.cycle.inbox import (
    EINVOICES,
    MAX_NAME,
    SNAPSHOT,
    STATEMENT,
    UNKNOWN,
    classify,
    date_in_name,
    is_side_file,
    safe_name,
)
from tests.cycle.conftest import FATTURAPA, STATEMENTS, snapshot_bytes
from tests.ledger.test_fatturapa import envelope, zip_of


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def sample(path: Path) -> bytes:
    return path.read_bytes()


FPR01 = FATTURAPA / "IT01234567890_FPR01.xml"


# --- receivables snapshots ----------------------------------------------------------------


def test_csv_snapshot_whatever_its_name():
    for name in ("scadenziario.csv", "SCAD.TXT", "export.dat", "noextension"):
        found = classify(name, snapshot_bytes())
        assert (found.kind, found.format) == (SNAPSHOT, "csv"), name


def test_csv_with_bom_in_utf16_and_with_commas():
    text = "Codice,Ragione sociale,Documento,Scadenza,Importo\n001,Rossi,F1,2026-04-06,10.00\n"
    assert classify("a.csv", b"\xef\xbb\xbf" + text.encode()).kind == SNAPSHOT
    assert classify("a.csv", text.encode("utf-16")).kind == SNAPSHOT
    assert classify("a.tsv", text.replace(",", "\t").encode("cp1252")).kind == SNAPSHOT


def test_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    workbook.active.append(["Codice cliente", "Importo"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    found = classify("export.dat", buffer.getvalue())
    assert (found.kind, found.format, found.extension) == (SNAPSHOT, "xlsx", ".xlsx")


def test_xls(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    workbook = xlwt.Workbook()
    workbook.add_sheet("Scadenze").write(0, 0, "Codice cliente")
    path = tmp_path / "export.xls"
    workbook.save(str(path))
    found = classify("scadenze.bin", path.read_bytes())
    assert (found.kind, found.format) == (SNAPSHOT, "xls")


def test_ods(tmp_path):
    pytest.importorskip("odf")
    from odf.opendocument import OpenDocumentSpreadsheet, OpenDocumentText
    from odf.table import Table

    document = OpenDocumentSpreadsheet()
    document.spreadsheet.addElement(Table(name="Scadenze"))
    path = tmp_path / "export.ods"
    document.save(str(path))
    found = classify("export.ods", path.read_bytes())
    assert (found.kind, found.format) == (SNAPSHOT, "ods")
    # A text document is an OpenDocument too, but no spreadsheet.
    letter = tmp_path / "lettera.odt"
    OpenDocumentText().save(str(letter))
    assert classify("lettera.odt", letter.read_bytes()).kind == UNKNOWN


# --- e-invoices -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(FATTURAPA.glob("*.xml")), ids=lambda p: p.name)
def test_every_fatturapa_sample_is_an_einvoice(path):
    found = classify(path.name, sample(path))
    assert (found.kind, found.format) == (EINVOICES, "xml")


def test_fatturapa_without_a_namespace_prefix():
    text = sample(FPR01).decode()
    text = text.replace("<p:FatturaElettronica", "<FatturaElettronica").replace(
        "</p:FatturaElettronica>", "</FatturaElettronica>"
    )
    assert classify("fattura.xml", text.encode()).kind == EINVOICES


def test_signed_p7m_der_and_base64():
    signed = envelope(sample(FPR01))
    found = classify("IT01234567890_FPR01.xml.p7m", signed)
    assert (found.kind, found.format) == (EINVOICES, "p7m")
    # Some exchange systems deliver the envelope base64-encoded, in lines of 64.
    encoded = base64.encodebytes(signed)
    assert classify("fattura.p7m", encoded).kind == EINVOICES


def test_zip_of_einvoices():
    archive = zip_of(
        {
            "IT01234567890_FPR01.xml": sample(FPR01),
            "firmate/IT01234567890_FPR02.xml.p7m": envelope(
                sample(FATTURAPA / "IT01234567890_FPR02.xml")
            ),
            "__MACOSX/._IT01234567890_FPR01.xml": b"\x00\x05\x16\x07",
        }
    )
    found = classify("fatture.zip", archive)
    assert (found.kind, found.format) == (EINVOICES, "zip")


def test_zip_of_other_files_is_unknown():
    found = classify("misc.zip", zip_of({"a.xml": b"<a/>", "photo.jpg": b"\xff\xd8\xff"}))
    assert found.kind == UNKNOWN
    assert "other than e-invoices" in found.reason
    assert classify("empty.zip", zip_of({})).reason == "The ZIP archive is empty."
    assert (
        classify("broken.zip", b"PK\x03\x04garbage").reason == "The file is a damaged ZIP archive."
    )


# --- bank statements ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["camt053_001_02.xml", "camt053_001_08.xml", "camt054_001_02.xml"])
def test_camt_statements(name):
    found = classify(name, sample(STATEMENTS / name))
    assert (found.kind, found.format, found.extension) == (STATEMENT, "camt", ".xml")


def test_mt940():
    found = classify("estratto.sta", sample(STATEMENTS / "mt940_two_days.sta"))
    assert (found.kind, found.format) == (STATEMENT, "mt940")
    # Also under a name that says nothing, and with the SWIFT header block.
    swift = b"{1:F01BANKITMMAXXX0000000000}{2:O940}{4:\n" + sample(
        STATEMENTS / "mt940_two_days.sta"
    )
    assert classify("export.txt", swift).kind == STATEMENT


# --- what cannot be imported ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "The file is empty."),
        (b"  \n\t", "The file is empty."),
        (b"%PDF-1.7\n...", "The file is a PDF document, which cannot be imported."),
        (b"\x89PNG\r\n\x1a\n...", "The file is an image, which cannot be imported."),
        (b"\x1f\x8b\x08\x00", "The file is a compressed archive that is not a ZIP."),
        (
            b"\x00\x01\x02\x03binary",
            "The file is neither a spreadsheet, nor a text file, nor an XML.",
        ),
        (
            b"just one line of words",
            "The file is neither a spreadsheet, nor a text file, nor an XML.",
        ),
    ],
)
def test_unknown_files_say_why(data, reason):
    found = classify("file", data)
    assert (found.kind, found.reason) == (UNKNOWN, reason)


def test_an_unrelated_xml_names_its_root():
    found = classify(
        "order.xml", b'<?xml version="1.0"?>\n<!-- an order -->\n<ns:Order xmlns:ns="x"/>'
    )
    assert found.kind == UNKNOWN
    assert found.reason.startswith("An XML file whose root element is Order:")


# --- dates in names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "day"),
    [
        ("scadenziario_2026-03-31.csv", dt.date(2026, 3, 31)),
        ("SCAD20260331.xlsx", dt.date(2026, 3, 31)),
        ("scadenziario 31-03-2026.csv", dt.date(2026, 3, 31)),
        ("scadenziario_31.03.2026.ods", dt.date(2026, 3, 31)),
        ("export/2026-04-01/scadenziario.csv", None),  # only the file's own name counts
        ("scadenziario.csv", None),
        ("scad_20261331.csv", None),  # month 13
        ("scad_2026-03-31_2026-04-01.csv", None),  # two different dates: which?
        ("scad_2026-03-31_20260331.csv", dt.date(2026, 3, 31)),  # the same date twice
        ("fattura_123456789.xml", None),  # nine digits are no date
        ("scad_18990101.csv", None),  # outside 2000-2099
    ],
)
def test_date_in_name(name, day):
    assert date_in_name(name) == day


# --- names ------------------------------------------------------------------------------------


def test_safe_name():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\export\\scadenze.csv") == "scadenze.csv"
    assert safe_name(".hidden.csv") == "hidden.csv"
    assert safe_name("scad; rm -rf $HOME.csv") == "scad_ rm -rf _HOME.csv"
    assert safe_name("") == "file"
    assert safe_name("...") == "file"
    long = "x" * 300 + ".xlsx"
    assert len(safe_name(long)) == MAX_NAME
    assert safe_name(long).endswith(".xlsx")


def test_side_files_are_never_imported():
    for name in (
        ".scad.csv.part",
        "scad.csv.report.json",
        "scad.csv.tmp",
        "~$scad.xlsx.crdownload",
    ):
        assert is_side_file(name), name
    assert not is_side_file("scad.csv")
