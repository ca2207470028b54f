"""``incassa import-statement`` as a user runs it: the summary, --json, CSV options, exit 2.

The ledger: Rossi Forniture S.r.l. owes FT 2026/0123 (1.220,00) and FT 2026/0150 (500,00).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.ledger.models import Company, ImportKind, ImportRun, ImportStatus, Receivable
from incassa.ledger.services import receivables_import
from incassa.payments.models import BankEntry
from incassa.payments.statements import MAX_BYTES

pytestmark = pytest.mark.django_db

OWN = "IT60X0542811101000000123456"
ROSSI_IBAN = "IT66A0306909606100000012345"
BIANCHI_IBAN = "IT39C0503401633000000009876"

# 30/03: Rossi pays FT 2026/0123 (1.220,00, booked) and a debit of 300,00 goes out.
# 31/03: Bianchi (unknown) pays 500,50 quoting nothing we know.
# 10.000,00 + 1.220,00 - 300,00 = 10.920,00; 10.920,00 + 500,50 = 11.420,50.
MT940 = "\n".join(
    [
        ":20:STMT260330",
        f":25:{OWN}",
        ":28C:61/1",
        ":60F:C260327EUR10000,00",
        ":61:2603300330CR1220,00NTRFNONREF//2026033000011",
        ":86:BONIFICO SEPA DA ROSSI FORNITURE SRL ORD: ROSSI FORNITURE SRL IBA",
        f"N {ROSSI_IBAN} CAUS: SALDO FT 2026/0123",
        ":61:2603300330D300,00NDDTSDD-ENEL-0326//2026033000012",
        ":86:ADDEBITO SDD ENEL ENERGIA SPA BOLLETTA 03/2026",
        ":62F:C260330EUR10920,00",
        "-",
        ":20:STMT260331",
        f":25:{OWN}",
        ":28C:62/1",
        ":60F:C260330EUR10920,00",
        ":61:260331CR500,50NTRFREF123//2026033100021",
        f":86:?00BONIFICO SEPA?20CONTRIBUTO FIERA?32BIANCHI SPA?38{BIANCHI_IBAN}",
        ":62F:C260331EUR11420,50",
        "-",
    ]
)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text + "\n", encoding="latin-1")
    return path


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("import_statement", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def ledger(company, tmp_path):
    path = tmp_path / "scadenziario.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo\n"
        "00045;Rossi Forniture S.r.l.;FT 2026/0123;28/02/2026;31/03/2026;1.220,00\n"
        "00045;Rossi Forniture S.r.l.;FT 2026/0150;10/03/2026;09/04/2026;500,00\n",
        encoding="utf-8",
    )
    receivables_import(company=company, path=path, as_of=dt.date(2026, 3, 27))
    return company


def test_readable_summary(tmp_path, ledger):
    code, out, err = run(str(write(tmp_path, "estratto.sta", MT940)), "--today", "2026-04-01")

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Imported estratto.sta: 2 statement(s)",
        "  incoming payments new 2, imported before 0; debits skipped 1, pending skipped 0",
        "  matched and booked 1 (1,220.00), proposed 0, to be matched 1",
        "  items closed 1, reduced 0",
        "  the others wait on the Payments page",
    ]
    run_ = ImportRun.objects.get(kind=ImportKind.STATEMENT)
    assert run_.as_of.isoformat() == "2026-04-01"
    assert run_.source.startswith("command line (")
    assert Receivable.objects.get(document_number="FT 2026/0123").status == "closed"


def test_json_output(tmp_path, ledger):
    path = str(write(tmp_path, "estratto.sta", MT940))
    code, out, _ = run(path, "--json")

    assert code == 0
    result = json.loads(out)
    assert result == {
        "import_id": ImportRun.objects.get(kind=ImportKind.STATEMENT).pk,
        "status": "applied",
        "file": "estratto.sta",
        "statements": 2,
        "new_credits": 2,
        "known_credits": 0,
        "debits_skipped": 1,
        "pending_skipped": 0,
        "matched": 1,
        "proposed": 0,
        "unmatched": 1,
        "items_closed": 1,
        "items_reduced": 0,
        "amount_booked": "1220.00",
    }

    # Again: both credits were imported before, nothing is booked twice.
    code, out, _ = run(path, "--json")
    again = json.loads(out)
    assert (again["new_credits"], again["known_credits"], again["matched"]) == (0, 2, 0)
    assert again["amount_booked"] == "0.00"
    assert BankEntry.objects.count() == 2


def test_a_refused_file_exits_2_with_the_reason_and_no_traceback(tmp_path, ledger):
    # The second day's closing balance is one cent off.
    broken = MT940.replace(":62F:C260331EUR11420,50", ":62F:C260331EUR11420,51")
    code, out, err = run(str(write(tmp_path, "estratto.sta", broken)))

    assert code == 2
    assert out == ""
    assert err.startswith("error: estratto.sta: statement 2 (STMT260331) does not balance")
    assert "Traceback" not in err
    assert ImportRun.objects.get(kind=ImportKind.STATEMENT).status == ImportStatus.REJECTED
    assert not BankEntry.objects.exists()


def test_a_refused_file_with_json_says_so_on_stdout(tmp_path, ledger):
    code, out, err = run(
        str(write(tmp_path, "estratto.xml", b"<Document><BkToCstmrStmt>")), "--json"
    )

    assert code == 2
    result = json.loads(out)
    assert (result["status"], result["exit_code"]) == ("rejected", 2)
    assert "not well-formed XML" in result["error"]
    assert "not well-formed XML" in err


CSV = "\r\n".join(
    [
        "Giorno;Soldi;Testo;Chi",  # row 1
        "31/03/2026;1.220,00;SALDO FT 2026/0123;Rossi Forniture S.r.l.",  # row 2
        "31/03/2026;12,3,4;ACCONTO;Bianchi S.p.A.",  # row 3: not an amount
    ]
)
CSV_MAP = ["--map", "Giorno=booking_date", "--map", "Soldi=amount", "--map", "Testo=remittance"]


def test_csv_with_map_and_a_bad_row_lists_the_problem_and_exits_2(tmp_path, ledger):
    path = str(write(tmp_path, "movimenti.csv", CSV))
    code, _out, err = run(path, *CSV_MAP, "--map", "Chi=counterparty_name", "--account", OWN)

    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith("error: 1 problem(s) in the file: nothing was imported")
    assert lines[1].startswith("  row 3 column 'Soldi' value '12,3,4': ")
    assert "Traceback" not in err
    assert not BankEntry.objects.exists()


def test_csv_with_skip_invalid_imports_the_valid_rows(tmp_path, ledger):
    path = str(write(tmp_path, "movimenti.csv", CSV))
    code, out, _ = run(
        path, *CSV_MAP, "--map", "Chi=counterparty_name", "--account", OWN, "--skip-invalid",
        "--json",
    )  # fmt: skip

    assert code == 0
    result = json.loads(out)
    assert (result["new_credits"], result["matched"], result["amount_booked"]) == (
        1,
        1,
        "1220.00",
    )
    run_ = ImportRun.objects.get(kind=ImportKind.STATEMENT)
    assert run_.rows_rejected == 1
    assert BankEntry.objects.get().statement.account == OWN


def test_an_ignored_column_is_not_read(tmp_path, ledger):
    # "Chi=" ignores the payer column: the payment is still booked by its remittance.
    path = str(write(tmp_path, "movimenti.csv", "\r\n".join(CSV.split("\r\n")[:2])))
    code, _, _ = run(path, *CSV_MAP, "--map", "Chi=")
    assert code == 0
    assert BankEntry.objects.get().payer_name == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "Soldi=importo"], "unknown field 'importo' in --map"),
        (["--map", "Soldi"], "invalid --map 'Soldi'"),
        (["--map", "=amount"], "invalid --map '=amount'"),
        (["--today", "01/04/2026"], "invalid date '01/04/2026'"),
        (["--company", "nope"], "no company with code 'nope'"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, ledger, args, message):
    path = str(write(tmp_path, "movimenti.csv", CSV))
    with pytest.raises(CommandError, match=message) as caught:
        call_command("import_statement", path, *args)
    assert caught.value.returncode == 2
    assert not ImportRun.objects.filter(kind=ImportKind.STATEMENT).exists()


def test_a_missing_or_too_large_file_is_refused(tmp_path, ledger):
    with pytest.raises(CommandError, match="no such file") as caught:
        call_command("import_statement", str(tmp_path / "nope.sta"))
    assert caught.value.returncode == 2

    big = tmp_path / "big.sta"
    with big.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no 20 MB written
    with pytest.raises(CommandError, match="larger than") as caught:
        call_command("import_statement", str(big))
    assert caught.value.returncode == 2


def test_several_companies_need_a_choice(tmp_path, ledger):
    Company.objects.create(code="second", name="Second")
    path = str(write(tmp_path, "estratto.sta", MT940))
    with pytest.raises(CommandError, match="--company"):
        call_command("import_statement", path)
    code, _, _ = run(path, "--company", "second")
    assert code == 0
    assert ImportRun.objects.get(kind=ImportKind.STATEMENT).company.code == "second"


def test_as_a_user_runs_it_no_traceback_and_exit_2(tmp_path):
    """A real process on a scratch database: a truncated statement is one line, exit 2."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "INCASSA_VAR_DIR": str(tmp_path / "var"),
    }
    incassa = [sys.executable, "-m", "incassa"]
    subprocess.run([*incassa, "migrate", "-v", "0"], env=env, check=True)
    truncated = write(tmp_path, "estratto.sta", MT940.split(":62F:C260330")[0])
    done = subprocess.run(
        [*incassa, "import-statement", str(truncated)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: estratto.sta: statement 1, line 1: no :62F: or :62M: field (is the file truncated?)"
    ]
    missing = subprocess.run(
        [*incassa, "import-statement", str(tmp_path / "nope.sta")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    assert "Traceback" not in missing.stderr
