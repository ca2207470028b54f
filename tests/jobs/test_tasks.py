"""Running a job through its task (``run_job``), as the queue does: the lifecycle, running
it again (finished, running elsewhere, or stale because its worker died), the errors a user
sees and those they do not, and the progress the page reads while it runs."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incassa.jobs import selectors, services
from incassa.jobs.models import Job, JobStatus
from incassa.jobs.tasks import recover_jobs, run_job
from incassa.ledger.models import ImportRun, ImportStatus, Receivable
from incassa.ledger.services import ImportRefused
from incassa.payments.services import PaymentError
from tests.factories import UserFactory
from tests.jobs.conftest import FUNCTION
from tests.jobs.factories import JobFactory

pytestmark = pytest.mark.django_db

HEADER = "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo"


def start(company, user=None, **fields) -> Job:
    fields.setdefault("kwargs", {"as_of": "2026-03-31"})
    return services.job_start(
        company=company,
        user=user,
        kind="report_recompute",
        title="Recompute",
        function=FUNCTION,
        **fields,
    )


def upload(settings, company, name: str, text: str) -> Path:
    folder = Path(settings.MEDIA_ROOT) / "uploads" / company.code / "token"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# The lifecycle
# --------------------------------------------------------------------------------------


def test_a_job_runs_once_its_transaction_commits(company, work, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = start(company, user)
        # Nothing runs before the commit: the worker would not find the row yet.
        assert work.calls == []
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"ok": True}
    assert job.attempts == 1 and job.message == ""
    assert job.started_at is not None and job.finished_at >= job.started_at
    # The work got the job's arguments, company and user.
    assert work.calls == [{"company": company, "user": user, "as_of": "2026-03-31"}]


def test_a_finished_job_is_not_run_again(company, work, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start(company)
    assert run_job.call(job.pk) == "finished"
    assert services.job_run(job.pk) == "finished"
    assert len(work.calls) == 1
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_missing_job_is_nothing_to_do(db):
    assert services.job_run(987_654) == "missing"


def test_a_job_running_elsewhere_is_left_to_its_worker(company, work):
    # Its worker said it was alive a minute ago, within the 120 seconds allowed.
    job = JobFactory(
        company=company,
        function=FUNCTION,
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=1),
    )
    assert run_job.call(job.pk) == "running"
    assert work.calls == []


def test_a_stale_running_job_is_run_again(company, work, caplog):
    # Marked running, but nothing heard from its worker for 10 minutes: it was killed.
    started = timezone.now() - dt.timedelta(minutes=11)
    job = JobFactory(
        company=company,
        function=FUNCTION,
        kwargs={"as_of": "2026-03-31"},
        status=JobStatus.RUNNING,
        attempts=1,
        started_at=started,
        heartbeat_at=started + dt.timedelta(minutes=1),
    )
    with caplog.at_level(logging.WARNING, logger="incassa.jobs.services"):
        assert run_job.call(job.pk) == "succeeded"
    assert "running it again" in caplog.text
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert job.started_at == started  # when it was first started
    assert len(work.calls) == 1


def test_a_heartbeat_in_the_queue_store_keeps_a_job_alive(company, work, queue_store):
    """The row's heartbeat is old (the work holds a long transaction), but the worker's
    heartbeat thread wrote to the queue's store 5 seconds ago: it is alive."""
    job = JobFactory(
        company=company,
        function=FUNCTION,
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - dt.timedelta(minutes=10),
    )
    queue_store.put(selectors.beat_key(job.pk), timezone.now().timestamp() - 5)
    assert services.job_run(job.pk) == "running"
    assert work.calls == []


def test_a_job_interrupted_too_often_is_given_up(company, work, settings):
    path = upload(settings, company, "a.csv", "x")
    job = JobFactory(
        company=company,
        function=FUNCTION,
        status=JobStatus.RUNNING,
        attempts=services.MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
        files=[str(path)],
    )
    with pytest.MonkeyPatch.context() as patch:
        # The files go once the giving up is committed; run the commit's callbacks now.
        patch.setattr("django.db.transaction.on_commit", lambda callback: callback())
        assert services.job_run(job.pk) == "given up"
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == services.MAX_ATTEMPTS
    assert job.message == (
        "The work was interrupted 3 times (its worker stopped): it was given up."
    )
    assert job.result == {"error": "interrupted", "attempts": 3}
    assert work.calls == [] and not path.exists()


def test_a_run_taken_over_does_not_write_its_outcome(company, work):
    """While this run worked, another took the job over as stale: the outcome is theirs."""
    job = JobFactory(company=company, function=FUNCTION)

    def taken_over(**kwargs):
        Job.objects.filter(pk=job.pk).update(runner="another-worker")
        return {"mine": True}

    work.body = taken_over
    services.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and job.result == {}


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


def test_a_rejected_import_fails_with_its_message_and_its_report(company, settings):
    # The second data row has a date that does not exist: the file is rejected.
    rows = ["001;Rossi;F1;01/03/2026;10,00", "001;Rossi;F2;31/02/2026;5,00"]
    path = upload(settings, company, "a.csv", "\n".join([HEADER, *rows]) + "\n")
    job = services.job_start(
        company=company,
        user=None,
        kind="receivables_import",
        title="Import",
        function="incassa.jobs.services.receivables_import_job",
        kwargs={"path": str(path), "as_of": "2026-03-31"},
        files=[str(path)],
    )
    assert services.job_run(job.pk) == "failed"
    job.refresh_from_db()
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.REJECTED
    assert job.status == JobStatus.FAILED
    # The import's own words, as the command prints them: one problem in one row.
    assert job.message == (
        "1 problem(s) in 1 row(s): nothing was imported "
        "(fix the file, or use --skip-invalid to import the valid rows)"
    )
    assert job.result == {"error": "rejected", "import_run": run.pk, "rows_rejected": 1}
    assert not path.exists()  # failed for good: the file goes
    assert not Receivable.objects.exists()


def test_a_refused_import_keeps_its_file_to_be_applied_anyway(company, work, settings):
    path = upload(settings, company, "a.csv", "x")
    job = JobFactory(company=company, function=FUNCTION, files=[str(path)])

    def refuse(**kwargs):
        raise ImportRefused("it looks truncated")

    work.body = refuse
    assert services.job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.message == "it looks truncated" and job.result == {"error": "refused"}
    assert path.exists()


@pytest.mark.parametrize(
    ("error", "message", "kind"),
    [
        (PaymentError("the split is too large"), "the split is too large", "payment"),
        (
            ValidationError(["the date is missing", "the amount is negative"]),
            "the date is missing; the amount is negative",
            "invalid",
        ),
    ],
)
def test_a_users_mistake_is_told_as_it_is(company, work, error, message, kind):
    job = JobFactory(company=company, function=FUNCTION)

    def fail(**kwargs):
        raise error

    work.body = fail
    services.job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.message, job.result) == (JobStatus.FAILED, message, {"error": kind})


def test_an_unexpected_error_is_logged_and_not_shown(company, work, settings, caplog):
    path = upload(settings, company, "a.csv", "x")
    job = JobFactory(company=company, function=FUNCTION, files=[str(path)])

    def crash(**kwargs):
        raise KeyError("secret internal detail")

    work.body = crash
    with caplog.at_level(logging.ERROR, logger="incassa.jobs.services"):
        assert services.job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.message == services.UNEXPECTED_MESSAGE
    assert "secret internal detail" not in job.message and "Traceback" not in job.message
    assert job.result == {"error": "unexpected"}
    assert "secret internal detail" in caplog.text and "Traceback" in caplog.text
    assert not path.exists()


# --------------------------------------------------------------------------------------
# Progress and results
# --------------------------------------------------------------------------------------


def test_the_page_sees_the_progress_while_the_job_runs(company, work):
    job = JobFactory(company=company, function=FUNCTION)
    seen = []

    def steps(*, on_progress, **kwargs):
        on_progress("writing", 3, 8)
        # What the job's page reads now, from another request.
        seen.append(selectors.job_progress(Job.objects.get(pk=job.pk)))
        return None

    work.body = steps
    services.job_run(job.pk)
    assert seen == [selectors.Progress("writing", 3, 8)]
    assert seen[0].percent == 38  # 3 / 8 = 37.5 %, rounded half to even: 38
    job.refresh_from_db()
    # The last values are kept; a finished job's bar is full.
    assert (job.stage, job.done, job.total, job.result) == ("writing", 3, 8, {})
    assert selectors.job_progress(job) == selectors.Progress("writing", 8, 8)


def test_a_snapshot_import_reports_its_progress_and_counts(company, settings, monkeypatch):
    path = upload(
        settings,
        company,
        "a.csv",
        f"{HEADER}\n001;Rossi;F1;01/03/2026;10,00\n002;Bianchi;F2;01/03/2026;5,00\n",
    )
    written = []

    def put(key, value):
        if "progress" in key:
            written.append(value)

    monkeypatch.setattr(services, "_queue_put", put)
    job = services.job_start(
        company=company,
        user=None,
        kind="receivables_import",
        title="Import",
        function="incassa.jobs.services.receivables_import_job",
        kwargs={"path": str(path), "as_of": "2026-03-31"},
        files=[str(path)],
    )
    assert services.job_run(job.pk) == "succeeded"
    job.refresh_from_db()
    run = ImportRun.objects.get()
    # Two new items, nothing else.
    assert job.result == {
        "import_run": run.pk,
        "created": 2,
        "updated": 0,
        "closed": 0,
        "unchanged": 0,
        "rows_rejected": 0,
    }
    # The import says where it is while writing: its first report is written at once.
    assert written[0]["stage"] == "writing" and written[0]["total"] == 2
    assert not path.exists() and not path.parent.exists()


def test_the_same_snapshot_run_twice_changes_nothing_more(company, settings):
    """A worker killed after the import committed, before the job was marked done: the
    job runs again and applies the same file again, which changes nothing."""
    text = f"{HEADER}\n001;Rossi;F1;01/03/2026;10,00\n002;Bianchi;F2;01/03/2026;5,00\n"
    path = upload(settings, company, "a.csv", text)
    job = services.job_start(
        company=company,
        user=None,
        kind="receivables_import",
        title="Import",
        function="incassa.jobs.services.receivables_import_job",
        kwargs={"path": str(path), "as_of": "2026-03-31"},
    )
    services.job_run(job.pk)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, heartbeat_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert services.job_run(job.pk) == "succeeded"
    job.refresh_from_db()
    # The second run found both items as the first left them.
    assert (job.result["created"], job.result["unchanged"], job.attempts) == (0, 2, 2)
    assert Receivable.objects.count() == 2


def test_recover_jobs_is_the_periodic_task(company, work, django_capture_on_commit_callbacks):
    stale = JobFactory(
        company=company,
        function=FUNCTION,
        status=JobStatus.RUNNING,
        attempts=1,
        heartbeat_at=timezone.now() - dt.timedelta(hours=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_jobs.call_local() == 1
    stale.refresh_from_db()
    assert stale.status == JobStatus.SUCCEEDED and stale.attempts == 2


# --------------------------------------------------------------------------------------
# A real queue and a real worker
# --------------------------------------------------------------------------------------

ENQUEUE = """
from pathlib import Path
from django.conf import settings
from incassa.jobs.services import job_start
from incassa.ledger.models import Company

company = Company.objects.create(code="acme", name="Acme Italia S.p.A.")
folder = Path(settings.MEDIA_ROOT) / "uploads" / "acme" / "token"
folder.mkdir(parents=True)
path = folder / "scadenziario.csv"
path.write_text(
    "Codice cliente;Ragione sociale;Numero documento;Data scadenza;Importo\\n"
    "001;Rossi S.r.l.;F1;01/03/2026;1.000,00\\n"
    "002;Bianchi S.p.A.;F2;15/02/2026;250,00\\n",
    encoding="utf-8",
)
job = job_start(
    company=company,
    user=None,
    kind="receivables_import",
    title="Import of scadenziario.csv",
    function="incassa.jobs.services.receivables_import_job",
    kwargs={"path": str(path), "as_of": "2026-03-31"},
    files=[str(path)],
)
print(job.pk)
"""


def test_a_worker_runs_a_job_enqueued_by_another_process(tmp_path):
    """The web side (here a shell) records and enqueues a job into a SQLite queue file; a
    real Huey worker, another process, takes it from there and runs the import."""
    import json
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    database = tmp_path / "incassa.sqlite3"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incassa.settings",
        "INCASSA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{database}",
        "INCASSA_MEDIA_ROOT": str(tmp_path / "media"),
        "INCASSA_QUEUE_URL": f"sqlite:///{tmp_path / 'queue.sqlite3'}",
        "SECRET_KEY": "worker-test",
    }
    incassa = [sys.executable, "-m", "incassa"]

    def job_row(pk: int) -> tuple[str, dict, int]:
        with sqlite3.connect(database) as db:
            status, result, attempts = db.execute(
                "SELECT status, result, attempts FROM jobs_job WHERE id = ?", (pk,)
            ).fetchone()
        return status, json.loads(result), attempts

    subprocess.run([*incassa, "migrate", "--noinput"], env=env, check=True, capture_output=True)
    enqueued = subprocess.run(
        [*incassa, "shell", "-c", ENQUEUE], env=env, check=True, capture_output=True, text=True
    )
    pk = int(enqueued.stdout.strip().splitlines()[-1])
    # No worker yet: the job waits in the queue.
    assert job_row(pk)[0] == "queued"

    worker = subprocess.Popen(
        [*incassa, "run_huey", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while job_row(pk)[0] in {"queued", "running"} and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGINT)  # Huey's graceful stop
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    status, result, attempts = job_row(pk)
    assert (status, attempts) == ("succeeded", 1), result
    # Two new items: 1.000,00 for Rossi and 250,00 for Bianchi.
    assert (result["created"], result["updated"], result["closed"]) == (2, 0, 0)
    with sqlite3.connect(database) as db:
        applied = db.execute(
            "SELECT status, source FROM ledger_importrun WHERE id = ?", (result["import_run"],)
        ).fetchone()
        amounts = sorted(db.execute("SELECT open_amount FROM ledger_receivable").fetchall())
    assert applied == ("applied", "web")
    # Stored in cents: 250,00 and 1.000,00.
    assert amounts == [(25000,), (100000,)]
    assert not (tmp_path / "media" / "uploads" / "acme" / "token").exists()  # removed
