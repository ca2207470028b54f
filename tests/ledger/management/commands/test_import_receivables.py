"""``incassa import-receivables`` as a user runs it: output, JSON, exit codes, rejects."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from incassa.ledger.models import Company, ImportRun, Receivable

pytestmark = pytest.mark.django_db

HEADER = "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo"
ROWS = [
    "00045;Rossi S.r.l.;FT-1;01/03/2026;31/03/2026;1.000,00",
    "00046;Bianchi S.p.A.;FT-2;05/03/2026;04/04/2026;250,50",
]


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("import_receivables", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_json_output_has_the_documented_keys(tmp_path, company):
    code, out, _ = run(
        str(write(tmp_path, "a.csv", HEADER, *ROWS)), "--as-of", "2026-03-31", "--json"
    )
    assert code == 0
    result = json.loads(out)
    # 1.000,00 + 250,50 = 1250,50 open, in 2 items of 2 customers.
    assert result["open_amount"] == "1250.50"
    assert result["rows_read"] == 2
    assert result["rows_rejected"] == 0
    assert (result["created"], result["updated"], result["closed"]) == (2, 0, 0)
    assert (result["reopened"], result["unchanged"]) == (0, 0)
    assert (result["open_items"], result["customers"]) == (2, 2)


def test_readable_summary(tmp_path, company):
    code, out, _ = run(str(write(tmp_path, "a.csv", HEADER, *ROWS)), "--as-of", "2026-03-31")
    assert code == 0
    assert "items created 2" in out
    assert "31/03/2026" in out


def test_invalid_rows_exit_2_and_list_every_problem(tmp_path, company):
    path = write(
        tmp_path,
        "a.csv",
        HEADER,
        "1;A;F1;01/03/2026;31/02/2026;10,00",
        "2;B;F2;01/03/2026;31/03/2026;abc",
    )
    code, _, err = run(str(path), "--as-of", "2026-03-31")
    assert code == 2
    assert "row 2 column 'Data scadenza' value '31/02/2026'" in err
    assert "row 3 column 'Importo' value 'abc'" in err
    assert "Traceback" not in err
    assert not Receivable.objects.exists()


def test_skip_invalid_writes_the_rejects_file(tmp_path, company):
    path = write(tmp_path, "a.csv", HEADER, *ROWS, '3;=HYPERLINK("x");F3;01/03/2026;x;5,00')
    rejects = tmp_path / "rejects.csv"
    code, out, _err = run(
        str(path), "--as-of", "2026-03-31", "--skip-invalid", "--rejects", str(rejects), "--json"
    )
    assert code == 0
    assert json.loads(out)["rows_rejected"] == 1
    with rejects.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert len(rows) == 1
    assert rows[0]["row"] == "4"
    assert "invalid date" in rows[0]["errors"]
    # A formula in a rejected value stays text when the file is opened in a spreadsheet.
    assert rows[0]["Ragione sociale"].startswith("'=")


def test_truncated_snapshot_exits_3(tmp_path, company):
    run(str(write(tmp_path, "a.csv", HEADER, *ROWS)), "--as-of", "2026-03-31")
    code, _, err = run(
        str(
            write(
                tmp_path,
                "b.csv",
                HEADER,
                ROWS[0],
            )
        ),
        "--as-of",
        "2026-04-01",
    )
    # Closing 1 of 2 open items is 50%, not more than 50%: accepted.
    assert code == 0
    run(str(write(tmp_path, "c.csv", HEADER, *ROWS)), "--as-of", "2026-04-02")
    three = [*ROWS, "3;C;F3;01/03/2026;31/03/2026;1,00"]
    run(str(write(tmp_path, "d.csv", HEADER, *three)), "--as-of", "2026-04-03")
    code, _, err = run(str(write(tmp_path, "e.csv", HEADER, ROWS[0])), "--as-of", "2026-04-04")
    # 2 of 3 is 66%: refused.
    assert code == 3
    assert "nothing was changed" in err
    code, _, _ = run(
        str(write(tmp_path, "e.csv", HEADER, ROWS[0])), "--as-of", "2026-04-04", "--force"
    )
    assert code == 0


def test_map_option_reads_unknown_headers_and_can_be_saved(tmp_path, company):
    path = write(tmp_path, "a.csv", "Conto;Protocollo;Scadenza;Importo", "1;P1;31/03/2026;5,00")
    code, _, _err = run(str(path), "--as-of", "2026-03-31")
    assert code == 2
    code, _, _ = run(
        str(path),
        "--as-of",
        "2026-03-31",
        "--map",
        "Conto=customer_code",
        "--map",
        "Protocollo=document_number",
        "--save-map",
    )
    assert code == 0
    code, _, _ = run(str(path), "--as-of", "2026-03-31")
    assert code == 0


def test_unknown_map_field_is_a_clear_error(tmp_path, company):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="unknown field 'nonsense'"):
        call_command(
            "import_receivables",
            str(write(tmp_path, "a.csv", HEADER, *ROWS)),
            "--map",
            "Conto=nonsense",
        )


def test_several_companies_need_a_choice(tmp_path, company):
    from django.core.management.base import CommandError

    Company.objects.create(code="second", name="Second")
    path = str(write(tmp_path, "a.csv", HEADER, *ROWS))
    with pytest.raises(CommandError, match="--company"):
        call_command("import_receivables", path)
    code, _, _ = run(path, "--company", "second", "--as-of", "2026-03-31")
    assert code == 0
    assert ImportRun.objects.get().company.code == "second"


def test_as_a_user_runs_it_no_traceback_and_exit_2(tmp_path):
    """A real process on a scratch database: an empty file is one line and exit code 2."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "INCASSA_VAR_DIR": str(tmp_path / "var"),
    }
    incassa = [sys.executable, "-m", "incassa"]
    subprocess.run([*incassa, "migrate", "-v", "0"], env=env, check=True)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    done = subprocess.run(
        [*incassa, "import-receivables", str(empty)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    missing = subprocess.run(
        [*incassa, "import-receivables", str(tmp_path / "nope.csv")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
