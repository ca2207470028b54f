"""Starting jobs, their progress reports, their files, finding the lost ones again, and the
work the pages hand to jobs (each run as its job runs it)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.utils import timezone

from incassa.credit.models import ReportKind, ReportSnapshot
from incassa.jobs import selectors, services
from incassa.jobs.models import Job, JobStatus
from incassa.ledger.models import ImportRun, Receivable
from incassa.payments.models import BankEntry
from tests.factories import CompanyFactory, UserFactory
from tests.jobs.conftest import FUNCTION
from tests.jobs.factories import JobFactory

FATTURAPA = Path(__file__).resolve().parents[1] / "ledger" / "data" / "fatturapa"
# The sample invoices are issued by this VAT number.
SELLER_VAT = "01234567890"


def uploads(settings, company) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "uploads" / company.code / "token"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --------------------------------------------------------------------------------------
# Starting
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_job_is_recorded_and_enqueued_when_the_transaction_commits(
    company, work, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.job_start(
            company=company,
            user=user,
            kind="report_recompute",
            title="Recompute",
            function=FUNCTION,
            kwargs={"as_of": "2026-03-31"},
            files=[Path("/tmp/x.csv")],
            back_url="/reports/?scope=company",
        )
    assert len(callbacks) == 1  # the enqueueing, waiting for the commit
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.created_by == user
    assert job.kwargs == {"as_of": "2026-03-31"} and job.files == ["/tmp/x.csv"]
    assert job.back_url == "/reports/?scope=company" and job.heartbeat_at is not None
    assert work.calls == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "function",
    [
        "os.system",  # not Incassa's
        "incassa.ledger.models.Company",  # not a services module
        "incassa.jobs.services.MAX_ATTEMPTS",  # not a function
    ],
)
def test_a_job_runs_only_functions_of_services_modules(company, function):
    with pytest.raises(ValueError):
        services.job_start(
            company=company, user=None, kind="x", title="x", function=function, kwargs={}
        )
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_jobs_arguments_are_plain_json(company):
    with pytest.raises(TypeError):
        services.job_start(
            company=company,
            user=None,
            kind="x",
            title="x",
            function=FUNCTION,
            kwargs={"as_of": dt.date(2026, 3, 31)},  # an ISO string, not a date
        )
    with pytest.raises(ValueError):
        services.job_start(
            company=company,
            user=None,
            kind="x",
            title="x",
            function=FUNCTION,
            kwargs={"ids": (1, 2)},  # a tuple comes back as a list
        )
    assert not Job.objects.exists()


# --------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db
def test_progress_is_written_at_most_once_a_second(company, queue_store):
    job = JobFactory(company=company, status=JobStatus.RUNNING, runner="me")
    clock = Clock()
    progress = services.JobProgress(job.pk, "me", clock=clock)
    # Reports at 0.0, 0.3, 0.6, 1.2 and 1.5 s: written at 0.0 (the first), then at 1.2
    # (1.2 s after the last write); 0.3, 0.6 and 1.5 are less than a second after one.
    for moment, done in [(0.0, 1), (0.3, 2), (0.6, 3), (1.2, 4), (1.5, 5)]:
        clock.now = moment
        progress("writing", done, 10)
    assert progress.writes == 2
    assert queue_store.get(selectors.progress_key(job.pk), peek=True) == {
        "stage": "writing",
        "done": 4,
        "total": 10,
    }
    # The latest values are kept for the job's end all the same.
    assert (progress.stage, progress.done, progress.total) == ("writing", 5, 10)


@pytest.mark.django_db
def test_progress_outside_a_transaction_also_goes_to_the_row(queue_store, monkeypatch):
    # Each test runs in a transaction: the progress is told it is outside one, as the work
    # is between its transactions in a worker.
    monkeypatch.setattr(services, "connection", SimpleNamespace(in_atomic_block=False))
    job = JobFactory(company=CompanyFactory(), status=JobStatus.RUNNING, runner="me")
    progress = services.JobProgress(job.pk, "me", clock=Clock())
    progress("reading", 2, 5)
    job.refresh_from_db()
    assert (job.stage, job.done, job.total) == ("reading", 2, 5)
    assert job.heartbeat_at > job.created_at
    # Another run's progress object (the job was taken over) writes nothing to the row.
    services.JobProgress(job.pk, "someone else", clock=Clock())("writing", 9, 9)
    job.refresh_from_db()
    assert (job.stage, job.done) == ("reading", 2)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_uploads_files_and_folder_are_removed(company, settings, tmp_path):
    folder = uploads(settings, company)
    first, second = folder / "a.xml", folder / "b.xml"
    first.write_text("a")
    second.write_text("b")
    services.remove_files([str(first)])
    assert not first.exists() and second.exists()  # the folder still holds b.xml
    services.remove_files([str(second)])
    assert not folder.exists()
    assert folder.parent.exists()  # the company's uploads folder stays


@pytest.mark.django_db
def test_nothing_outside_the_uploads_is_removed(company, settings, tmp_path):
    elsewhere = tmp_path / "precious.csv"
    elsewhere.write_text("keep me")
    escaping = uploads(settings, company) / ".." / ".." / ".." / ".." / "precious.csv"
    services.remove_files([str(elsewhere), str(escaping)])
    assert elsewhere.exists()


# --------------------------------------------------------------------------------------
# Finding lost jobs again
# --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lost_jobs_are_enqueued_again(
    company, work, queue_store, django_capture_on_commit_callbacks
):
    now = timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    running_lost = JobFactory(
        company=company, function=FUNCTION, status=JobStatus.RUNNING, heartbeat_at=hour_ago
    )
    waiting_lost = JobFactory(company=company, function=FUNCTION, heartbeat_at=hour_ago)
    # Alive: its worker beat in the queue's store 5 seconds ago.
    beating = JobFactory(
        company=company, function=FUNCTION, status=JobStatus.RUNNING, heartbeat_at=hour_ago
    )
    queue_store.put(selectors.beat_key(beating.pk), now.timestamp() - 5)
    # Enqueued a minute ago: still within the 120 seconds it may wait.
    JobFactory(company=company, function=FUNCTION, heartbeat_at=now - dt.timedelta(minutes=1))
    JobFactory(company=company, function=FUNCTION, status=JobStatus.FAILED, heartbeat_at=hour_ago)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.jobs_recover(now=now) == 2
    assert len(callbacks) == 2
    waiting_lost.refresh_from_db()
    assert waiting_lost.heartbeat_at == now  # not enqueued again for another 120 seconds
    running_lost.refresh_from_db()
    assert running_lost.heartbeat_at == hour_ago  # its next run takes it over
    with django_capture_on_commit_callbacks(execute=False):
        assert services.jobs_recover(now=now) == 1  # the running one, still lost


# --------------------------------------------------------------------------------------
# The work the pages hand to jobs
# --------------------------------------------------------------------------------------


def run(company, function: str, uploaded=(), **kwargs) -> Job:
    job = JobFactory(
        company=company,
        function=f"incassa.jobs.services.{function}",
        kwargs=kwargs,
        files=[str(f) for f in uploaded],
    )
    services.job_run(job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_einvoices_are_imported_under_their_own_names(company, settings):
    company.vat_number = SELLER_VAT
    company.save(update_fields=["vat_number"])
    folder = uploads(settings, company)
    files = []
    for number, name in enumerate(["IT01234567890_FPR01.xml", "IT01234567890_FPA01.xml"]):
        stored = folder / f"{number:04d}-{name}"
        stored.write_bytes((FATTURAPA / name).read_bytes())
        files.append([name, str(stored)])
    job = run(company, "einvoices_import_job", [p for _n, p in files], files=files)
    assert job.status == JobStatus.SUCCEEDED, job.message
    importing = ImportRun.objects.get()
    # FPR01 has three installments (three items), FPA01 one: two invoices, four items.
    assert job.result == {
        "import_run": importing.pk,
        "imported": 2,
        "items": 4,
        "skipped": 0,
        "refused": 0,
    }
    assert importing.file_name == "IT01234567890_FPR01.xml, IT01234567890_FPA01.xml"
    assert (job.stage, job.done, job.total) == ("reading", 2, 2)
    assert not folder.exists()


MT940 = """:20:STMT0401
:25:IT60X0542811101000000123456
:28C:12/1
:60F:C260331EUR10000,00
:61:2604010401C1220,00NTRFNONREF//REF001
:86:?00BONIFICO SEPA?20SALDO FT 2026/0123?32ROSSI SRL
:62F:C260401EUR11220,00
"""


@pytest.mark.django_db
def test_a_statement_is_imported_from_its_file(company, settings):
    path = uploads(settings, company) / "estratto.sta"
    path.write_text(MT940)
    job = run(
        company, "statement_import_job", [path], name="estratto.sta", path=str(path), source="web"
    )
    assert job.status == JobStatus.SUCCEEDED, job.message
    # One credit of 1.220,00 quoting an invoice the ledger does not have: to be matched.
    assert job.result == {
        "import_run": ImportRun.objects.get().pk,
        "new": 1,
        "known": 0,
        "booked": 0,
        "proposed": 0,
        "left": 1,
    }
    assert BankEntry.objects.get().remittance == "SALDO FT 2026/0123 BONIFICO SEPA"
    assert not path.exists()


@pytest.mark.django_db
def test_the_report_is_recomputed(company):
    job = run(
        company,
        "report_recompute_job",
        as_of="2026-03-31",
        period_start="2026-01-01",
        scope_kind="company",
        scope_id=None,
    )
    assert job.status == JobStatus.SUCCEEDED, job.message
    stored = ReportSnapshot.objects.get(company=company, kind=ReportKind.KPI)
    assert job.result == {"snapshot": stored.pk}
    # An empty ledger: nothing open.
    assert stored.data["open_amount"] == "0.00"
    assert not Receivable.objects.exists()
