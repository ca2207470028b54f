"""``/api/imports``: an upload is imported as the command imports it; a rejected file
answers every rejected row and applies nothing; the history."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from incassa.ledger.models import ImportRun, ImportStatus, Receivable, ReceivableStatus, Role
from tests.api.conftest import HEADER, ROLES, ROWS, call

pytestmark = pytest.mark.django_db


def upload(client, world, role, rows, name="scadenziario.csv", **fields):
    content = ("\n".join([HEADER, *rows]) + "\n").encode()
    data = {"file": SimpleUploadedFile(name, content, "text/csv"), "as_of": "2026-04-01"}
    data.update(fields)
    return call(client, "post", "/api/imports", world, role, data=data)


def test_a_snapshot_is_applied(client, world):
    """01/04: F1 paid down to 400,00, F3 gone (paid), F2 and F4 unchanged, F5 new."""
    rows = [
        ROWS[0].replace("1.000,00", "400,00"),
        ROWS[1],
        ROWS[3],
        ROWS[3].replace("F4", "F5").replace("300,00", "50,00"),
    ]
    response = upload(client, world, Role.CREDIT_MANAGER, rows)
    assert response.status_code == 201, response.content
    body = response.json()
    run = body["import_run"]
    assert run["status"] == "applied" and run["as_of"] == "2026-04-01"
    assert (run["rows_read"], run["created"], run["updated"], run["closed"]) == (4, 1, 1, 1)
    assert run["unchanged"] == 2
    assert run["file_name"] == "scadenziario.csv"
    assert run["imported_by"] == "api-credit-manager"
    assert run["errors"] == [] and run["errors_total"] == 0
    # Open now: F1 400 + F2 500 + F4 300 + F5 50 = 1.250,00 in 4 items of 2 customers.
    assert body["ledger"] == {"open_items": 4, "open_amount": "1250.00", "customers": 2}
    assert world.item("F3").status == ReceivableStatus.CLOSED


def test_a_file_with_invalid_rows_is_rejected_whole(client, world):
    rows = [
        ROWS[0].replace("1.000,00", "mille"),  # line 2
        ROWS[1].replace("30/04/2026", "31/04/2026"),  # line 3
        ROWS[2].replace("2.000,00", "1.000,00"),
        ROWS[3],
    ]
    response = upload(client, world, Role.ADMINISTRATOR, rows)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "import_rejected"
    assert "nothing was imported" in error["message"]
    assert [(d["row"], d["column"], d["value"]) for d in error["details"]] == [
        (2, "Importo", "mille"),
        (3, "Data scadenza", "31/04/2026"),
    ]
    assert all(d["reason"] for d in error["details"])
    # Nothing applied: F3 still 2.000,00, F1 1.000,00.
    assert world.item("F3").open_amount == 2000 and world.item("F1").open_amount == 1000
    run = ImportRun.objects.filter(company=world.company).latest("started_at", "id")
    assert (run.status, run.rows_rejected) == (ImportStatus.REJECTED, 2)
    # The history shows the same rows.
    detail = call(client, "get", f"/api/imports/{run.pk}", world, Role.AUDITOR).json()
    assert detail["status"] == "rejected" and detail["errors_total"] == 2
    assert [(e["row"], e["column"]) for e in detail["errors"]] == [
        (2, "Importo"),
        (3, "Data scadenza"),
    ]


def test_skip_invalid_applies_the_valid_rows(client, world):
    rows = [ROWS[0].replace("1.000,00", "mille"), *ROWS[1:]]
    response = upload(client, world, Role.ADMINISTRATOR, rows, skip_invalid="true")
    assert response.status_code == 201
    run = response.json()["import_run"]
    assert (run["rows_rejected"], run["closed"]) == (1, 0)  # F1's row kept, not closed
    assert [(e["row"], e["value"]) for e in run["errors"]] == [(2, "mille")]


def test_an_unreadable_file_is_rejected(client, world):
    response = upload(client, world, Role.ADMINISTRATOR, [], name="dati.pdf")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "import_rejected"


def test_a_truncated_snapshot_is_refused_unless_forced(client, world):
    # One row of four would close 3 of 4 open items (75% > the 50% allowed).
    response = upload(client, world, Role.CREDIT_MANAGER, ROWS[:1])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "import_refused"
    assert Receivable.objects.filter(company=world.company, status="open").count() == 4
    forced = upload(client, world, Role.CREDIT_MANAGER, ROWS[:1], force="true")
    assert forced.status_code == 201
    assert forced.json()["import_run"]["closed"] == 3


def test_a_partial_file_closes_nothing(client, world):
    response = upload(client, world, Role.CREDIT_MANAGER, ROWS[:1], partial="true")
    assert response.status_code == 201
    run = response.json()["import_run"]
    assert (run["partial"], run["closed"], run["unchanged"]) == (True, 0, 1)


def test_the_file_and_date_are_required(client, world):
    response = call(client, "post", "/api/imports", world, Role.CREDIT_MANAGER, data={})
    assert response.status_code == 422
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"file.file", "form.as_of"} <= fields


@pytest.mark.parametrize("role", ROLES)
def test_who_may_import(client, world, role):
    response = upload(client, world, role, ROWS)
    allowed = role in {Role.ADMINISTRATOR, Role.CREDIT_MANAGER}
    assert response.status_code == (201 if allowed else 403)
    if not allowed:
        assert response.json()["error"]["code"] == "forbidden"


def test_the_history(client, world):
    upload(client, world, Role.CREDIT_MANAGER, [ROWS[0].replace("1.000,00", "x")])
    body = call(client, "get", "/api/imports", world, Role.AUDITOR).json()
    # The rejected upload of today, then the fixture's import of 27/03.
    assert body["count"] == 2
    assert [(r["status"], r["as_of"]) for r in body["items"]] == [
        ("rejected", "2026-04-01"),
        ("applied", "2026-03-27"),
    ]
    applied = call(
        client, "get", "/api/imports", world, Role.AUDITOR, data={"status": "applied"}
    ).json()
    assert applied["count"] == 1
    # Sales agents see only their customers: not the company's imports.
    assert call(client, "get", "/api/imports", world, Role.SALES_AGENT).status_code == 403


def test_another_companys_import_is_404(client, world):
    beta_run = ImportRun.objects.get(company=world.other)
    response = call(client, "get", f"/api/imports/{beta_run.pk}", world, Role.ADMINISTRATOR)
    assert response.status_code == 404
