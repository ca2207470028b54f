"""Importing a snapshot from the browser: upload, check, map, confirm, and the history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incassa.ledger.models import ColumnMapping, ImportRun, ImportStatus, Receivable, Role
from incassa.ledger.services import receivables_import
from tests.factories import CompanyFactory
from tests.web.test_customers import get, logged_in, section

pytestmark = pytest.mark.django_db

# Today is 01/04/2026 in Rome for every test here.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
IMPORTS = reverse("web:imports")
HEADER = "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo"
GOOD = [
    "001;Rossi S.r.l.;F1;01/03/2026;1.000,00",
    "001;Rossi S.r.l.;F2;30/04/2026;500,00",
    "002;Bianchi S.p.A.;F3;15/02/2026;250,00",
]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def flashed(response) -> list[str]:
    """The messages the redirecting view left for the next page."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def csv_file(lines: list[str], name: str = "scadenziario.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode("utf-8"), "text/csv")


def upload(client, lines: list[str], as_of: str = "2026-03-31", **fields):
    return client.post(IMPORTS, {"file": csv_file(lines), "as_of": as_of, **fields})


def check_url(response) -> str:
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def test_upload_check_confirm(client, company, settings):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    check = check_url(upload(client, [HEADER, *GOOD]))
    assert check.startswith("/imports/check/")
    stored = list((Path(settings.MEDIA_ROOT) / "uploads" / company.code).rglob("*.csv"))
    assert [p.name for p in stored] == ["scadenziario.csv"]

    html = get(client, check)
    assert "Nothing has changed yet." in html
    read = section(html, "read-title")
    assert "CSV" in read and "separator “;”" in read
    # Three data rows, none rejected.
    assert "<dt>Rows read</dt><dd>3</dd>" in read
    assert "<dt>Rejected rows</dt><dd>0</dd>" in read
    assert "<strong>Codice cliente</strong> → Customer code" in read
    assert not Receivable.objects.exists()

    response = client.post(check, {"op": "confirm"})
    run = ImportRun.objects.get()
    assert response["Location"] == reverse("web:import_detail", args=[run.pk])
    assert flashed(response) == ["Imported: 3 new, 0 updated, 0 closed, 0 unchanged."]
    assert run.status == ImportStatus.APPLIED and run.source == "web"
    assert run.imported_by.username == "credit-manager-web"
    # 1,000.00 + 500.00 + 250.00 open.
    assert sum(Receivable.objects.values_list("open_amount", flat=True)) == Decimal("1750.00")
    assert not list((Path(settings.MEDIA_ROOT) / "uploads").rglob("*.csv"))  # removed
    detail = get(client, response["Location"])
    assert "scadenziario.csv" in detail and "Applied" in detail

    history = get(client, IMPORTS)
    assert reverse("web:import_detail", args=[run.pk]) in history


def test_rejected_rows_are_listed_and_nothing_is_applied(client, company):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    # Row 3 (the second data row) has a date that does not exist.
    check = check_url(upload(client, [HEADER, GOOD[0], "001;Rossi S.r.l.;F2;31/02/2026;500,00"]))
    html = get(client, check)
    problems = section(html, "errors-title")
    assert "1 problem" in problems
    assert '<th scope="row" class="num">3</th>' in problems
    assert "Data scadenza" in problems and "<code>31/02/2026</code>" in problems
    assert 'name="skip_invalid"' in html

    response = client.post(check, {"op": "confirm"})
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.REJECTED
    assert response["Location"] == reverse("web:import_detail", args=[run.pk])
    assert flashed(response) == ["The file was rejected: nothing was imported."]
    assert not Receivable.objects.exists()
    detail = get(client, response["Location"])
    assert "<code>31/02/2026</code>" in detail


def test_the_valid_rows_only_when_asked(client, company):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    check = check_url(upload(client, [HEADER, GOOD[0], "001;Rossi S.r.l.;F2;31/02/2026;500,00"]))
    client.post(check, {"op": "confirm", "skip_invalid": "1"})
    assert list(Receivable.objects.values_list("document_number", flat=True)) == ["F1"]
    assert ImportRun.objects.get().rows_rejected == 1


def test_unknown_headers_get_a_mapping_form(client, company):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    lines = ["Conto;Nominativo;Rif;Scade il;Euro", "001;Rossi S.r.l.;F1;01/03/2026;1.000,00"]
    check = check_url(upload(client, lines))
    html = get(client, check)
    assert "The file cannot be imported as it is:" in html
    assert 'name="header-0" value="Conto"' in html
    assert "<details open>" in html

    mapping = {
        "op": "map",
        "save_mapping": "1",
        **{f"header-{i}": h for i, h in enumerate(lines[0].split(";"))},
        "map-0": "customer_code",
        "map-1": "customer_name",
        "map-2": "document_number",
        "map-3": "due_date",
        "map-4": "amount",
    }
    assert client.post(check, mapping)["Location"] == check
    html = get(client, check)
    assert "cannot be imported" not in html
    assert "<strong>Conto</strong> → Customer code" in html

    client.post(check, {"op": "confirm"})
    assert Receivable.objects.get().document_number == "F1"
    # Saved for the next files of the company.
    assert dict(ColumnMapping.objects.values_list("column", "field")) == {
        "Conto": "customer_code",
        "Nominativo": "customer_name",
        "Rif": "document_number",
        "Scade il": "due_date",
        "Euro": "amount",
    }


def test_one_field_for_two_columns_is_refused(client, company):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    check = check_url(upload(client, ["A;B;C", "1;2;3"]))
    response = client.post(
        check,
        {"op": "map", "header-0": "A", "header-1": "B", "map-0": "amount", "map-1": "amount"},
    )
    assert flashed(response) == ["Two columns (A, B) cannot both be the Amount."]


def test_an_older_snapshot_is_refused_until_forced(client, company, tmp_path):
    path = tmp_path / "newer.csv"
    path.write_text("\n".join([HEADER, *GOOD]) + "\n", encoding="utf-8")
    receivables_import(company=company, path=path, as_of=dt.date(2026, 3, 31))
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    check = check_url(upload(client, [HEADER, GOOD[0]], as_of="2026-03-20"))
    response = client.post(check, {"op": "confirm"})
    assert response["Location"] == check
    assert flashed(response)[0].startswith("The import was refused: this snapshot is as of")
    assert 'name="force"' in get(client, check)
    client.post(check, {"op": "confirm", "force": "1"})
    latest = ImportRun.objects.filter(status=ImportStatus.APPLIED).latest("id")
    assert latest.is_forced and latest.as_of == dt.date(2026, 3, 20)


def test_discarding_removes_the_file(client, company, settings):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    check = check_url(upload(client, [HEADER, *GOOD]))
    response = client.post(check, {"op": "cancel"})
    assert response["Location"] == IMPORTS
    assert not list((Path(settings.MEDIA_ROOT) / "uploads").rglob("*.csv"))
    assert client.get(check).status_code == 404
    assert not ImportRun.objects.exists()


def test_upload_errors_are_shown_on_the_form(client, company, settings):
    settings.INCASSA_MAX_UPLOAD_BYTES = 50
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    response = upload(client, [HEADER, *GOOD], as_of="2026-04-02")
    assert response.status_code == 400
    html = response.content.decode()
    assert "The file is too large" in html
    assert "A snapshot cannot be dated in the future." in html
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(
    ("role", "history", "upload_status"),
    [
        (Role.ADMINISTRATOR, 200, 302),
        (Role.CREDIT_MANAGER, 200, 302),
        (Role.COLLECTOR, 200, 403),  # reads the history, does not import
        (Role.AUDITOR, 200, 403),
        (Role.SALES_AGENT, 403, 403),
    ],
)
def test_who_may_import(client, company, role, history, upload_status):
    logged_in(client, company, role, language="en")
    assert client.get(IMPORTS).status_code == history
    assert upload(client, [HEADER, *GOOD]).status_code == upload_status


def test_another_users_upload_and_another_companys_import_are_not_found(client, company):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    check = check_url(upload(client, [HEADER, *GOOD]))
    other = CompanyFactory()
    run = ImportRun.objects.create(
        company=other,
        kind="receivables",
        file_name="altrui.csv",
        checksum="0" * 64,
        as_of=dt.date(2026, 3, 1),
        status=ImportStatus.APPLIED,
        started_at=TODAY,
    )
    assert client.get(reverse("web:import_detail", args=[run.pk])).status_code == 404
    client.logout()
    logged_in(client, company, Role.ADMINISTRATOR, language="en", username="altro")
    assert client.get(check).status_code == 404  # the token belongs to another session
