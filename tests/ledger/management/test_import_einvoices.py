"""``incassa import-einvoices`` as a user runs it: folders, archives, JSON, refusals.

The samples are the ones of ``tests/ledger/data/fatturapa`` (see ``test_einvoices``): all five
together are 6 documents (FPR04 holds an invoice and a debit note) of 4 buyers (FPR01 and
FPR02 are both Rossi Costruzioni), with 3 + 1 + 1 + 2 + 1 = 8 installments.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.ledger.models import (
    Customer,
    EInvoice,
    ImportKind,
    ImportRun,
    ImportStatus,
    Receivable,
)
from tests.factories import CompanyFactory
from tests.ledger.test_fatturapa import envelope, zip_of

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent.parent / "data" / "fatturapa"
SAMPLES = sorted(p.name for p in DATA.glob("*.xml"))
FPR01 = "IT01234567890_FPR01.xml"
FPR02 = "IT01234567890_FPR02.xml"
FPR03 = "IT01234567890_FPR03.xml"


@pytest.fixture
def company(db):
    return CompanyFactory(
        code="brambilla", name="Officine Meccaniche Brambilla S.p.A.", vat_number="01234567890"
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The five samples in a folder, with a file that is not an invoice beside them."""
    path = tmp_path / "fatture"
    path.mkdir()
    for name in SAMPLES:
        shutil.copy(DATA / name, path / name)
    (path / "leggimi.txt").write_text("Fatture di marzo e aprile 2025")
    return path


def truncated() -> bytes:
    content = (DATA / FPR03).read_bytes()
    return content[: len(content) // 2]


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("import_einvoices", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_folder_is_imported(company, folder):
    assert len(SAMPLES) == 5
    code, out, err = run(str(folder), "--today", "2025-04-03")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Imported e-invoices (5 file(s)):",
        "  documents imported 6, already in the ledger (linked) 0, imported before 0, refused 0",
        "  items created 8",
        "  customers created 4, updated 0",
    ]
    assert Receivable.objects.count() == 8 and EInvoice.objects.count() == 6
    assert sorted(Customer.objects.values_list("code", flat=True)) == [
        "80012345678",
        "BNCLRA80A41F205Z",
        "DE123456789",
        "IT09876543210",
    ]
    run_ = ImportRun.objects.get()
    assert (run_.kind, run_.status, run_.as_of.isoformat()) == (
        ImportKind.EINVOICES,
        ImportStatus.APPLIED,
        "2025-04-03",
    )
    assert run_.source.startswith("command line (")
    # Every item first seen on the day given.
    assert set(Receivable.objects.values_list("first_seen_on", flat=True)) == {run_.as_of}


def test_folder_imported_again_changes_nothing(company, folder):
    run(str(folder), "--today", "2025-04-03")
    code, out, _err = run(str(folder), "--today", "2025-04-04")
    assert code == 0
    assert out.splitlines()[1:3] == [
        "  documents imported 0, already in the ledger (linked) 0, imported before 6, refused 0",
        "  items created 0",
    ]
    assert Receivable.objects.count() == 8


def test_zip_with_a_signed_member_and_json_output(company, tmp_path):
    archive = tmp_path / "marzo.zip"
    archive.write_bytes(
        zip_of(
            {
                FPR01: (DATA / FPR01).read_bytes(),
                f"{FPR02}.p7m": envelope((DATA / FPR02).read_bytes()),
                FPR03: (DATA / FPR03).read_bytes(),
            }
        )
    )
    code, out, err = run(str(archive), "--today", "2025-04-03", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["import_id"] == ImportRun.objects.get().pk
    assert result["status"] == "applied"
    # 3 documents; 3 + 1 + 1 = 5 items; Rossi (FPR01 and FPR02) and Laura Bianchi.
    assert (result["documents_read"], result["items_created"], result["unchanged"]) == (3, 5, 0)
    assert (result["customers_created"], result["customers_updated"]) == (2, 0)
    assert result["errors"] == [] and result["errors_total"] == 0
    assert [(d["file"], d["number"], d["total"], d["status"]) for d in result["documents"]] == [
        (f"marzo.zip/{FPR01}", "FT 2025/0142", "3660.00", "imported"),
        (f"marzo.zip/{FPR02}.p7m", "NC 2025/0007", "-305.00", "imported"),
        (f"marzo.zip/{FPR03}", "FT 2025/0150", "177.00", "imported"),
    ]
    assert result["documents"][1]["document_type"] == "TD04"
    assert result["documents"][1]["customer_code"] == "IT09876543210"


def test_refused_file_exits_2_says_why_and_imports_nothing(company, folder):
    (folder / "rotto.xml").write_bytes(truncated())
    code, out, err = run(str(folder))
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0] == (
        "error: 1 file(s) or document(s) refused: nothing was imported "
        "(remove them, or use --skip-invalid to import the others)"
    )
    assert lines[1].startswith("  rotto.xml: not well-formed XML")
    assert len(lines) == 2 and "Traceback" not in err
    assert not Receivable.objects.exists() and not Customer.objects.exists()
    assert ImportRun.objects.get().status == ImportStatus.REJECTED


def test_refusal_as_json(company, folder):
    (folder / "rotto.xml").write_bytes(truncated())
    code, out, err = run(str(folder), "--json")
    assert code == 2
    result = json.loads(out)
    assert result["status"] == "rejected"
    assert result["error"].startswith("1 file(s) or document(s) refused: nothing was imported")
    (error,) = result["errors"]
    assert error["column"] == "rotto.xml" and "not well-formed XML" in error["reason"]
    # Only the message on stderr: the details are in the JSON.
    assert err.splitlines() == [f"error: {result['error']}"]
    assert not Receivable.objects.exists()


def test_skip_invalid_imports_the_rest_and_lists_the_refused(company, folder):
    (folder / "rotto.xml").write_bytes(truncated())
    code, out, err = run(str(folder), "--skip-invalid", "--today", "2025-04-03")
    assert code == 0
    assert out.splitlines()[1:3] == [
        "  documents imported 6, already in the ledger (linked) 0, imported before 0, refused 1",
        "  items created 8",
    ]
    (line,) = err.splitlines()
    assert line.startswith("  rotto.xml: not well-formed XML")
    run_ = ImportRun.objects.get()
    assert (run_.status, run_.rows_read, run_.rows_rejected) == (ImportStatus.APPLIED, 7, 1)


def test_another_companys_invoice_is_refused_with_its_number(company, tmp_path):
    other = tmp_path / "altro.xml"
    other.write_bytes((DATA / FPR01).read_bytes())
    company.vat_number = "11111111111"
    company.save()
    code, _out, err = run(str(other))
    assert code == 2
    assert "  altro.xml invoice FT 2025/0142: issued by Officine Meccaniche Brambilla" in err


def test_missing_path_is_an_error(company, tmp_path):
    with pytest.raises(CommandError) as raised:
        call_command("import_einvoices", str(tmp_path / "nowhere"), stdout=StringIO())
    assert raised.value.returncode == 2 and "no such file or folder" in str(raised.value)


def test_folder_without_invoices_is_an_error(company, tmp_path):
    (tmp_path / "leggimi.txt").write_text("niente")
    with pytest.raises(CommandError) as raised:
        call_command("import_einvoices", str(tmp_path), stdout=StringIO())
    assert str(raised.value) == "no .xml, .p7m or .zip file found"


def test_invalid_today_is_an_error(company, folder):
    with pytest.raises(CommandError) as raised:
        call_command("import_einvoices", str(folder), "--today", "03/04/2025", stdout=StringIO())
    assert "use YYYY-MM-DD" in str(raised.value)
    assert not ImportRun.objects.exists()


def test_company_is_chosen_when_there_are_several(company, folder):
    CompanyFactory(code="other")
    with pytest.raises(CommandError) as raised:
        call_command("import_einvoices", str(folder), stdout=StringIO())
    assert "several companies" in str(raised.value)
    code, _out, _err = run(str(folder), "--company", "brambilla")
    assert code == 0
    assert set(Receivable.objects.values_list("company__code", flat=True)) == {"brambilla"}


def test_real_command_line_exits_2_without_a_traceback(tmp_path):
    # As a user runs it, in a fresh installation (its own database): the first company is
    # created, the broken file refuses the batch, and the exit code says so.
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "INCASSA_VAR_DIR": str(tmp_path / "var"),
    }
    incassa = [sys.executable, "-m", "incassa"]
    subprocess.run([*incassa, "migrate", "-v", "0"], env=env, check=True)
    folder = tmp_path / "fatture"
    folder.mkdir()
    shutil.copy(DATA / FPR01, folder / FPR01)
    (folder / "rotto.xml").write_bytes(truncated())
    done = subprocess.run(
        [*incassa, "import-einvoices", str(folder)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: 1 file(s) or document(s) refused: nothing was imported")
    assert lines[1].startswith("  rotto.xml: not well-formed XML")
    missing = subprocess.run(
        [*incassa, "import-einvoices", str(tmp_path / "nowhere")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    assert "Traceback" not in missing.stderr
