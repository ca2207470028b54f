"""Importing from the browser: a snapshot (upload, check, map, confirm), e-invoices (upload
and import at once), the history, and the import's page for each kind.

Both imports run as background jobs: confirming (or uploading e-invoices) answers with the
job's page, which tells the outcome and links to the import's page. Under the tests the
queue runs a job at once when the request's transaction commits (``jobs_run_at_commit``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, resolve, reverse

from incassa.jobs.models import Job, JobStatus
from incassa.ledger.models import ColumnMapping, ImportRun, ImportStatus, Receivable, Role
from incassa.ledger.services import receivables_import
from tests.factories import CompanyFactory, ImportRunFactory
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


@pytest.fixture(autouse=True)
def jobs_run_at_commit(client, django_capture_on_commit_callbacks, monkeypatch):
    """Each POST's transaction commits when the request is done, as outside the tests: the
    jobs it started run then (the queue is immediate under the tests)."""
    post = client.post

    def committing(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return post(*args, **kwargs)

    monkeypatch.setattr(client, "post", committing)


def job_page(client, response) -> tuple[Job, str]:
    """The job a POST started (it sent the user to its page) and that page."""
    assert response.status_code == 302, response.content.decode()[:500]
    match = resolve(response["Location"])
    assert match.url_name == "job"
    job = Job.objects.get(pk=match.kwargs["pk"])
    return job, get(client, response["Location"])


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

    job, page = job_page(client, client.post(check, {"op": "confirm"}))
    run = ImportRun.objects.get()
    assert job.status == JobStatus.SUCCEEDED and job.title == "Import of scadenziario.csv"
    assert "Imported: 3 new, 0 updated, 0 closed, 0 unchanged." in page
    report = reverse("web:import_detail", args=[run.pk])
    assert f'href="{report}"' in page
    assert f'href="{check}"' not in page  # the check is gone with the file
    assert run.status == ImportStatus.APPLIED and run.source == "web"
    assert run.imported_by.username == "credit-manager-web"
    # 1,000.00 + 500.00 + 250.00 open.
    assert sum(Receivable.objects.values_list("open_amount", flat=True)) == Decimal("1750.00")
    assert not list((Path(settings.MEDIA_ROOT) / "uploads").rglob("*.csv"))  # removed
    assert client.get(check).status_code == 404  # the upload is gone with its file
    detail = get(client, report)
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

    job, page = job_page(client, client.post(check, {"op": "confirm"}))
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.REJECTED and job.status == JobStatus.FAILED
    assert "The file was rejected: nothing was imported." in page
    report = reverse("web:import_detail", args=[run.pk])
    assert f'href="{report}"' in page
    assert not Receivable.objects.exists()
    detail = get(client, report)
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
    assert 'name="force"' not in get(client, check)
    job, page = job_page(client, client.post(check, {"op": "confirm"}))
    assert job.status == JobStatus.FAILED
    assert "The import was refused: this snapshot is as of 20/03/2026" in page
    assert f'href="{check}"' in page  # back to the check, where the file waits
    assert 'name="force"' in get(client, check)
    job, page = job_page(client, client.post(check, {"op": "confirm", "force": "1"}))
    assert job.status == JobStatus.SUCCEEDED
    latest = ImportRun.objects.filter(status=ImportStatus.APPLIED).latest("id")
    assert latest.is_forced and latest.as_of == dt.date(2026, 3, 20)


def test_while_the_import_runs_its_check_sends_to_the_job(client, company, monkeypatch):
    # No worker takes the job: it waits in the queue.
    monkeypatch.setattr("incassa.jobs.tasks.run_job", SimpleNamespace(enqueue=lambda pk: None))
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    check = check_url(upload(client, [HEADER, *GOOD]))
    job, page = job_page(client, client.post(check, {"op": "confirm"}))
    assert job.status == JobStatus.QUEUED and "Waiting for a worker to start it" in page
    # Confirming twice would import the file twice: the check page sends to the job.
    assert client.get(check)["Location"] == reverse("web:job", args=[job.pk])
    assert client.post(check, {"op": "confirm"})["Location"] == reverse("web:job", args=[job.pk])
    assert Job.objects.count() == 1


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


# --------------------------------------------------------------------------------------
# E-invoices (FatturaPA): upload and import at once
# --------------------------------------------------------------------------------------

FATTURAPA = Path(__file__).resolve().parents[1] / "ledger" / "data" / "fatturapa"
# The sample invoices are issued by Officine Meccaniche Brambilla S.p.A., VAT 01234567890.
SELLER_VAT = "01234567890"


def einvoice(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (FATTURAPA / name).read_bytes(), "application/xml")


def upload_einvoices(client, files: list[SimpleUploadedFile], **fields):
    return client.post(IMPORTS, {"op": "einvoices", "files": files, **fields})


@pytest.fixture
def seller(company):
    company.vat_number = SELLER_VAT
    company.save(update_fields=["vat_number"])
    return company


def test_einvoices_are_imported_and_listed_on_the_imports_page(client, seller, settings):
    logged_in(client, seller, Role.CREDIT_MANAGER, language="en")
    html = get(client, IMPORTS)
    panel = section(html, "einvoices-title")
    assert '<input type="hidden" name="op" value="einvoices">' in panel
    assert 'type="file" name="files"' in panel and "multiple" in panel
    assert 'accept=".xml,.p7m,.zip"' in panel
    assert 'name="skip_invalid"' in panel

    job, page = job_page(
        client,
        upload_einvoices(
            client, [einvoice("IT01234567890_FPR01.xml"), einvoice("IT01234567890_FPA01.xml")]
        ),
    )
    run = ImportRun.objects.get()
    assert job.title == "Import of 2 e-invoice files"
    # FPR01 has three installments (three items), FPA01 one: two invoices, four items.
    assert "2 e-invoices imported, 4 items created, 0 already imported" in page
    assert run.kind == "einvoices" and run.status == ImportStatus.APPLIED
    assert run.source == "web" and run.imported_by.username == "credit-manager-web"
    assert Receivable.objects.filter(company=seller).count() == 4
    assert not list((Path(settings.MEDIA_ROOT) / "uploads").rglob("*.xml"))  # removed

    detail = get(client, reverse("web:import_detail", args=[run.pk]))
    documents = section(detail, "documents-title")
    rossi = documents[documents.index("FT 2025/0142") :]
    rossi = rossi[: rossi.index("</tr>")]
    assert "14/03/2025" in rossi
    assert "Fattura <span" in rossi and "TD01" in rossi
    # The buyer is a new customer coded by its VAT id, linked to its page.
    assert f'href="{reverse("web:customer", args=["IT09876543210"])}">Rossi Costruzioni' in rossi
    assert "€3,660.00" in rossi  # ImportoTotaleDocumento
    assert '<td class="num" data-label="Items">3</td>' in rossi
    assert '<span class="tag tag--applied">imported</span>' in rossi
    lecco = documents[documents.index("PA/2025/18") :]
    lecco = lecco[: lecco.index("</tr>")]
    assert "Comune di Lecco" in lecco and "€1,220.00" in lecco
    assert '<td class="num" data-label="Items">1</td>' in lecco

    history = section(get(client, IMPORTS), "history-title")
    assert "E-invoices (FatturaPA)" in history


def test_the_same_einvoice_twice_changes_nothing(client, seller):
    logged_in(client, seller, Role.ADMINISTRATOR, language="en")
    _job, first = job_page(client, upload_einvoices(client, [einvoice("IT01234567890_FPR02.xml")]))
    # One credit note with one installment: one item.
    assert "1 e-invoices imported, 1 items created, 0 already imported" in first
    job, second = job_page(client, upload_einvoices(client, [einvoice("IT01234567890_FPR02.xml")]))
    # The credit note was imported by the first upload: the second skips it.
    assert "0 e-invoices imported, 0 items created, 1 already imported" in second
    assert Receivable.objects.filter(company=seller).count() == 1
    detail = get(client, reverse("web:import_detail", args=[job.result["import_run"]]))
    row = section(detail, "documents-title")
    assert "NC 2025/0007" in row and "Nota di credito" in row
    assert "-€305.00" in row  # a credit note is negative
    assert '<span class="tag tag--skipped">already imported</span>' in row


def test_a_refused_file_refuses_the_upload_and_the_page_says_why(client, seller):
    logged_in(client, seller, Role.CREDIT_MANAGER, language="en")
    broken = SimpleUploadedFile("rotta.xml", b"<FatturaElettronica", "application/xml")
    job, page = job_page(
        client, upload_einvoices(client, [einvoice("IT01234567890_FPR01.xml"), broken])
    )
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.REJECTED and job.status == JobStatus.FAILED
    assert (
        "1 file or document was refused: nothing was imported. The import&#x27;s page says why."
    ) in page
    assert not Receivable.objects.exists()

    detail = get(client, reverse("web:import_detail", args=[run.pk]))
    documents = section(detail, "documents-title")
    refused = documents[documents.index("rotta.xml") :]
    refused = refused[: refused.index("</tr>")]
    assert '<span class="tag tag--rejected">refused</span>' in refused
    assert "not well-formed XML" in refused  # the reader's reason, as the report keeps it


def test_the_refused_files_are_skipped_when_asked(client, seller):
    logged_in(client, seller, Role.CREDIT_MANAGER, language="en")
    broken = SimpleUploadedFile("rotta.xml", b"not an invoice", "application/xml")
    _job, page = job_page(
        client,
        upload_einvoices(client, [einvoice("IT01234567890_FPR01.xml"), broken], skip_invalid="on"),
    )
    # FPR01's three installments are imported; the broken file is reported.
    assert "1 e-invoices imported, 3 items created, 0 already imported" in page
    assert "1 refused file or document was skipped: the import&#x27;s page says why." in page
    assert Receivable.objects.filter(company=seller).count() == 3
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.APPLIED and run.rows_rejected == 1


def test_einvoice_upload_errors_are_shown_on_the_form(client, seller, settings, monkeypatch):
    logged_in(client, seller, Role.CREDIT_MANAGER, language="en")
    response = upload_einvoices(client, [])
    assert response.status_code == 400
    assert "This field is required." in section(response.content.decode(), "einvoices-title")

    # FPR01 is 4,648 bytes: over a limit of 4,000 bytes per file.
    settings.INCASSA_MAX_UPLOAD_BYTES = 4000
    response = upload_einvoices(client, [einvoice("IT01234567890_FPR01.xml")])
    assert response.status_code == 400
    assert "IT01234567890_FPR01.xml is too large" in response.content.decode()

    # With a limit of 3,500 bytes per file, FPA01 (3,442 bytes) passes alone, but five
    # copies make 5 x 3,442 = 17,210 bytes, over the 4 x 3,500 = 14,000 allowed together.
    settings.INCASSA_MAX_UPLOAD_BYTES = 3500
    five = [einvoice("IT01234567890_FPA01.xml") for _ in range(5)]
    response = upload_einvoices(client, five)
    assert response.status_code == 400
    assert "The files are too large together" in response.content.decode()

    settings.INCASSA_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
    monkeypatch.setattr("incassa.web.imports.MAX_EINVOICE_FILES", 2)
    response = upload_einvoices(client, [einvoice("IT01234567890_FPR02.xml") for _ in range(3)])
    assert response.status_code == 400
    assert "Too many files: 3, at most 2 at once" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_an_unknown_operation_is_a_bad_request(client, company):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    assert client.post(IMPORTS, {"op": "unknown"}).status_code == 400


@pytest.mark.parametrize(
    ("role", "status", "panel"),
    [
        (Role.ADMINISTRATOR, 302, True),
        (Role.CREDIT_MANAGER, 302, True),
        (Role.COLLECTOR, 403, False),  # reads the history, does not import
        (Role.AUDITOR, 403, False),
        (Role.SALES_AGENT, 403, False),
    ],
)
def test_who_may_import_einvoices(client, seller, role, status, panel):
    logged_in(client, seller, role, language="en")
    if role != Role.SALES_AGENT:
        assert ('id="einvoices-title"' in get(client, IMPORTS)) is panel
    response = upload_einvoices(client, [einvoice("IT01234567890_FPR02.xml")])
    assert response.status_code == status
    assert Receivable.objects.exists() is (status == 302)


# --------------------------------------------------------------------------------------
# The import's page for the other kinds
# --------------------------------------------------------------------------------------


def test_a_snapshot_says_what_it_left_open_for_the_bank_and_the_einvoices(client, company):
    run = ImportRunFactory(
        company=company, report={"not_yet_in_erp": 12, "bank_differs": 3, "errors": []}
    )
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    html = get(client, reverse("web:import_detail", args=[run.pk]))
    assert "12 items of recent e-invoices were left open: the ERP does not list them yet." in html
    assert (
        "3 items paid by the bank are still open in the ERP: they stay as the bank says and "
        "are flagged for the accountants."
    ) in html

    single = ImportRunFactory(company=company, report={"not_yet_in_erp": 1, "bank_differs": 0})
    html = get(client, reverse("web:import_detail", args=[single.pk]))
    assert "1 item of recent e-invoices was left open: the ERP does not list it yet." in html
    assert "paid by the bank" not in html

    plain = ImportRunFactory(company=company, report={"not_yet_in_erp": 0, "bank_differs": 0})
    html = get(client, reverse("web:import_detail", args=[plain.pk]))
    assert "recent e-invoices" not in html and "paid by the bank" not in html


def test_a_statement_import_shows_its_figures(client, company):
    try:
        payments = reverse("web:payments")
    except NoReverseMatch:
        pytest.skip("the payments page is not there yet")
    run = ImportRunFactory(
        company=company,
        kind="statement",
        file_name="estratto.xml",
        report={
            "statements": 1,
            "new_credits": 9,
            "known_credits": 2,
            "debits_skipped": 4,
            "pending_skipped": 1,
            "matched": 5,
            "proposed": 3,
            "unmatched": 1,
            "items_closed": 6,
            "items_reduced": 2,
            "amount_booked": "12345.60",
            "errors_total": 0,
            "errors": [],
        },
    )
    logged_in(client, company, Role.COLLECTOR, language="en")
    html = get(client, reverse("web:import_detail", args=[run.pk]))
    cards = html[html.index('<section class="cards"') :]
    cards = cards[: cards.index("</section>")]

    def card(title: str) -> str:
        start = cards.index(f">{title}</h2>")
        return cards[start : cards.index("</article>", start)]

    assert '<p class="card__value">9</p>' in card("New payments")
    assert "4 debits and 1 pending entries skipped" in card("New payments")
    assert '<p class="card__value">2</p>' in card("Already imported")
    assert '<p class="card__value">5</p>' in card("Matched and booked")
    assert '<p class="card__value">3</p>' in card("Proposed")
    assert '<p class="card__value">1</p>' in card("To be matched")
    assert '<p class="card__value">6</p>' in card("Items closed")
    assert "2 reduced" in card("Items closed")
    assert "€12,345.60" in card("Amount booked")
    assert f'href="{payments}"' in html
