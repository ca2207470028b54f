"""``incassa credit-events import FILE`` as a user runs it: output, JSON, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.credit.models import CreditEvent
from tests.factories import CompanyFactory, CustomerFactory

pytestmark = pytest.mark.django_db

HEADER = "Codice cliente;Tipo;Data;Penalità;Rating;Descrizione"
GOOD = [
    HEADER,
    "00045;protesto;10/03/2026;;;Protesto cambiario",
    "00046;procedura concorsuale;01/02/2026;;;",
]
BAD = [
    HEADER,
    "00045;protesto;10/03/2026;;;",
    "00046;sequestro;31/02/2026;;;",
    "99999;rating;15/03/2026;101;;",
]


@pytest.fixture
def customers(company):
    for code in ("00045", "00046"):
        CustomerFactory(company=company, code=code)
    return company


def write(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "eventi.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = 0
    try:
        call_command("credit_events", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_a_good_file(tmp_path, customers):
    code, out, err = run("import", write(tmp_path, GOOD))
    assert code == 0
    assert err == ""
    assert (
        "Imported 2 credit event(s) from eventi.csv (insolvency 1, protest 1); "
        "0 already recorded." in out
    )
    assert "incassa scores" in out
    assert CreditEvent.objects.count() == 2


def test_json(tmp_path, customers):
    code, out, _ = run("import", write(tmp_path, GOOD), "--json")
    assert code == 0
    assert json.loads(out) == {
        "status": "applied",
        "file": "eventi.csv",
        "rows_read": 2,
        "created": 2,
        "already_recorded": 0,
        "by_kind": {"insolvency": 1, "protest": 1},
    }
    _, again, _ = run("import", write(tmp_path, GOOD), "--json")
    assert (json.loads(again)["created"], json.loads(again)["already_recorded"]) == (0, 2)


def test_bad_rows_exit_2_list_every_problem_and_write_nothing(tmp_path, customers):
    code, out, err = run("import", write(tmp_path, BAD))
    assert code == 2
    assert out == ""
    assert "error: 4 problem(s) in 2 row(s) of eventi.csv: nothing was imported" in err
    assert "row 3 column 'Tipo' value 'sequestro': unknown kind" in err
    assert "row 3 column 'Data' value '31/02/2026': invalid date" in err
    assert "row 4 column 'Codice cliente' value '99999': unknown customer" in err
    assert "row 4 column 'Penalità' value '101': penalty out of range" in err
    assert "Traceback" not in err
    assert not CreditEvent.objects.exists()


def test_bad_rows_in_json(tmp_path, customers):
    code, out, _ = run("import", write(tmp_path, BAD), "--json")
    assert code == 2
    data = json.loads(out)
    assert (data["status"], data["exit_code"], data["errors_total"]) == ("rejected", 2, 4)
    assert [(e["row"], e["column"], e["value"]) for e in data["errors"]] == [
        (3, "Tipo", "sequestro"),
        (3, "Data", "31/02/2026"),
        (4, "Codice cliente", "99999"),
        (4, "Penalità", "101"),
    ]


def test_an_unreadable_file_exits_2(tmp_path, customers):
    code, _, err = run("import", write(tmp_path, ["Foo;Bar", "1;2"]))
    assert code == 2
    assert "error: no header row found" in err


def test_a_missing_file_exits_2(tmp_path, customers):
    with pytest.raises(CommandError, match="no such file") as info:
        run("import", str(tmp_path / "nope.csv"))
    assert info.value.returncode == 2


def test_the_company_is_chosen_with_company(tmp_path, customers):
    CompanyFactory(code="second")
    path = write(tmp_path, GOOD)
    with pytest.raises(CommandError, match="--company") as info:
        run("import", path)
    assert info.value.returncode == 2
    # The customers are acme's: in "second" they are unknown.
    code, _, err = run("import", path, "--company", "second")
    assert code == 2
    assert "unknown customer" in err
    code, _, _ = run("import", path, "--company", "acme")
    assert code == 0
    with pytest.raises(CommandError, match="no company with code 'nope'"):
        run("import", path, "--company", "nope")


def test_as_a_user_runs_it_no_traceback_and_exit_2(tmp_path):
    """A real process on a scratch database."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "INCASSA_VAR_DIR": str(tmp_path / "var"),
    }
    incassa = [sys.executable, "-m", "incassa"]
    subprocess.run([*incassa, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from incassa.ledger.models import Company; "
            "Company.objects.create(code='acme', name='Acme')",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "incassa.settings"},
        check=True,
    )
    done = subprocess.run(
        [*incassa, "credit-events", "import", write(tmp_path, BAD)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "row 4 column 'Codice cliente' value '99999': unknown customer" in done.stderr
