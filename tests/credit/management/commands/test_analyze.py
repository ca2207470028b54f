"""``incassa analyze`` as a user runs it: the report, the JSON, the errors, and no database.

No test here is marked for database access: pytest-django refuses any query, so every test
also proves the command does not touch the database. One runs in a real process on an
installation that has never been migrated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from incassa.comms.documents import page_count, pdf_text

OVERDUE = [
    "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Residuo",
    # 10 days late, 45, not due (today), 30, a credit note 20 days late, 120, 211, 5, not due.
    "A;Alfa S.r.l.;F1;19/02/2026;21/03/2026;1.000,00",
    "A;Alfa S.r.l.;F2;15/01/2026;14/02/2026;3.000,00",
    "A;Alfa S.r.l.;F3;01/03/2026;31/03/2026;600,00",
    "B;Beta S.p.A.;F4;30/01/2026;01/03/2026;2.000,00",
    "B;Beta S.p.A.;NC1;11/03/2026;11/03/2026;-500,00",
    "B;Beta S.p.A.;F5;01/11/2025;01/12/2025;1.500,00",
    "C;Gamma S.n.c.;F6;01/08/2025;01/09/2025;2.500,00",
    "D;Delta S.r.l.;F7;24/02/2026;26/03/2026;500,00",
    "D;Delta S.r.l.;F8;31/03/2026;30/04/2026;4.000,00",
]
INVOICED = [
    "Codice cliente;Numero fattura;Data fattura;Importo",
    "A;1;05/12/2025;6.000,00",
    "B;2;15/01/2026;9.000,00",
    "C;3;10/02/2026;7.500,00",
    "D;4;20/03/2026;8.000,00",
    "B;NC1;25/03/2026;-500,00",
]


def write(tmp_path: Path, name: str, lines: list[str]) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    return [
        "--overdue",
        write(tmp_path, "scaduto.csv", OVERDUE),
        "--invoiced",
        write(tmp_path, "fatture.csv", INVOICED),
        "--as-of",
        "2026-03-31",
    ]


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("analyze", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_json_figures(files):
    code, out, err = run(*files, "--turnover", "73.000,00", "--invoice-count", "100", "--json")
    assert (code, err) == (0, "")
    figures = json.loads(out)
    # The portfolio of tests/credit/test_analysis.py, read from the files.
    assert figures["open_amount"] == "14600.00"
    assert figures["overdue_amount"] == "10000.00"
    assert figures["aging"]["1_30"] == "3000.00"
    assert figures["invoiced_amount"] == "30000.00"
    assert (figures["dso"], figures["late_share"]) == ("73.00", "33.33")
    assert figures["average_invoice"] == "730.00"
    assert figures["reminder"]["cash_released"] == "1800.00"
    assert figures["concentration"]["top"][0]["customer_name"] == "Alfa S.r.l."


@pytest.mark.parametrize("turnover", ["73.000,00", "73000.00", "73,000.00", "73000", "€ 73.000"])
def test_turnover_in_either_format(files, turnover):
    code, out, _ = run(*files, "--turnover", turnover, "--json")
    assert code == 0
    assert json.loads(out)["turnover"] == "73000.00"


def test_summary_without_output(files):
    code, out, _ = run(*files, "--turnover", "73000")
    assert code == 0
    assert "Credit analysis as of 31/03/2026" in out
    assert "overdue 10,000.00 EUR in 7 items of 4 customers (open 14,600.00 EUR)" in out
    assert "DSO 73.00 days" in out
    assert "late share of turnover 33.33%" in out
    assert "1,800.00 EUR paid earlier, DSO 73.00 -> 64.00 days" in out


def test_html_report(files, tmp_path):
    target = tmp_path / "report.html"
    code, out, _ = run(*files, "--turnover", "73000", "-o", str(target), "--company-name", "Rossi")
    assert code == 0
    assert f"report written to {target}" in out
    html = target.read_text(encoding="utf-8").replace("\u00a0", " ")
    assert '<html lang="it">' in html  # Italian unless asked otherwise
    assert "10.000,00 €" in html
    assert html.count("<svg") == 5
    assert "scaduto.csv, fatture.csv" in html


def test_pdf_report_in_english(files, tmp_path):
    target = tmp_path / "report.pdf"
    code, _, _ = run(*files, "-o", str(target), "--language", "en", "--json")
    assert code == 0
    pdf = target.read_bytes()
    assert page_count(pdf) >= 1
    text = pdf_text(pdf)
    assert "€10,000.00" in text
    assert "Page 1 of" in text


def test_invalid_rows_exit_2_and_list_every_problem(files, tmp_path):
    overdue = write(
        tmp_path,
        "bad.csv",
        [
            OVERDUE[0],
            "A;Alfa;F1;01/02/2026;31/02/2026;10,00",
            "B;Beta;F2;01/02/2026;01/03/2026;abc",
            "C;Gamma;F3;01/02/2026;01/03/2026;",
        ],
    )
    invoiced = write(tmp_path, "bad-invoices.csv", [INVOICED[0], "A;1;05/12/2025;1,2,3"])
    code, out, err = run("--overdue", overdue, "--invoiced", invoiced, "--as-of", "2026-03-31")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert lines[0] == (
        "error: 4 problem(s) in 4 row(s): nothing analysed, fix the files and run again"
    )
    assert lines[1:] == [
        "  bad.csv row 2 column 'Data scadenza' value '31/02/2026': invalid date (31/02/2026)",
        "  bad.csv row 3 column 'Residuo' value 'abc': not an amount (abc)",
        "  bad.csv row 4 column 'Residuo': missing amount",
        "  bad-invoices.csv row 2 column 'Importo' value '1,2,3': "
        "not an amount in Italian format (1,2,3)",
    ]
    assert "Traceback" not in err


def test_invalid_rows_as_json(files, tmp_path):
    overdue = write(tmp_path, "bad.csv", [OVERDUE[0] + ";Valuta", "A;Alfa;F1;;01/03/2026;1,00;USD"])
    code, out, _ = run("--overdue", overdue, "--invoiced", files[3], "--json")
    assert code == 2
    payload = json.loads(out)
    assert payload["status"] == "rejected"
    assert payload["errors"] == [
        {
            "file": "bad.csv",
            "row": 2,
            "column": "Valuta",
            "value": "USD",
            "reason": "only amounts in EUR can be analysed",
        }
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--turnover", "tanti"], "error: invalid --turnover 'tanti'"),
        (["--turnover", "-5"], "the turnover must be more than zero"),
        (["--invoice-count", "zero"], "error: invalid --invoice-count 'zero'"),
        (["--as-of", "31/03/2026"], "error: invalid --as-of '31/03/2026': use YYYY-MM-DD"),
        (["-o", "report.docx"], "error: invalid --output 'report.docx'"),
        (["--language", "de"], "error: invalid --language 'de'"),
        (["--map", "Conto"], "error: invalid --map 'Conto'"),
    ],
)
def test_invalid_options_are_one_line_and_exit_2(files, extra, message):
    code, out, err = run(*files, *extra)
    assert out == ""
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_unreadable_files_exit_2(files, tmp_path):
    code, _, err = run("--overdue", str(tmp_path / "nope.csv"), "--invoiced", files[3])
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"
    empty = write(tmp_path, "empty.csv", [""])
    code, _, err = run("--overdue", files[1], "--invoiced", empty)
    assert code == 2
    assert err.strip() == "error: empty.csv: the file is empty"


def test_column_mapping(files, tmp_path):
    renamed = [OVERDUE[0].replace("Residuo", "Da avere"), *OVERDUE[1:]]
    overdue = write(tmp_path, "renamed.csv", renamed)
    code, out, _ = run(
        "--overdue", overdue, "--invoiced", files[3], "--as-of", "2026-03-31",
        "--map", "Da avere=open_amount", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["overdue_amount"] == "10000.00"


def test_runs_on_an_installation_never_migrated(files, tmp_path):
    """A real process whose database does not exist: the report is made, no database file
    is created (SQLite would create it on the first connection)."""
    database = tmp_path / "never" / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "INCASSA_VAR_DIR": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "incassa", "analyze", *files, "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["overdue_amount"] == "10000.00"
    assert not database.exists()
