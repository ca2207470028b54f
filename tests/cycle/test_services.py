"""``cycle.services``: the import inbox (receiving, processing in order, moving with a
report, never importing the same content twice) and the daily cycle (every stage
recorded, the stale rule, a failing stage tried again and then reported, a day run twice
doing no harm), and the periodic tick that starts the runs that are due.

The ledger and the day are those of ``conftest.py``: on 01/04/2026 the snapshot of the day
brings two items due 06/04; the ``pre-due`` step (5 days before) sends Rossi an email and
makes Bianchi (no address) a letter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import os
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.utils import translation

from incassa.comms.models import Message, MessageStatus
from incassa.cycle import services
from incassa.cycle.models import (
    CycleRun,
    CycleSchedule,
    InboxFile,
    InboxKind,
    InboxStatus,
    RunStatus,
    StageStatus,
    Trigger,
)
from incassa.dunning.models import Action
from incassa.ledger.models import ImportKind, ImportRun, ImportStatus, Receivable
from incassa.ledger.services import receivables_import
from tests.cycle.conftest import DAY, FATTURAPA, MORNING, ROME, STATEMENTS, snapshot_bytes
from tests.factories import CompanyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

STAGE_NAMES = ["inbox", "scores", "strategies", "delivery", "print", "summary"]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def folder_of(company) -> Path:
    return services.inbox_folder(company)


def drop(company, name: str, data: bytes, *, mtime: float | None = None) -> Path:
    """A file put into the company's inbox folder as the ERP would (not through Incassa)."""
    path = folder_of(company) / name
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def report_of(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".report.json").read_text())


def stages_of(run: CycleRun) -> dict[str, tuple[str, str]]:
    return {s.name: (s.status, s.reason) for s in run.stages.order_by("position")}


def snapshot_as_of(company, day: dt.date, tmp_path: Path) -> None:
    path = tmp_path / f"snapshot-{day}.csv"
    path.write_bytes(snapshot_bytes())
    receivables_import(company=company, path=path, as_of=day)


@pytest.fixture
def brambilla(db):
    """The seller of the FatturaPA samples (VAT IT01234567890), whose bank account is the
    one the statement samples are of."""
    return CompanyFactory(code="brambilla", name="Officine Brambilla", vat_number="01234567890")


# --------------------------------------------------------------------------------------
# Receiving
# --------------------------------------------------------------------------------------


def test_receive_stores_the_file_for_the_next_run(company):
    data = snapshot_bytes()
    row = services.inbox_receive(company=company, name="scadenziario.csv", data=data)
    stored = folder_of(company) / "scadenziario.csv"
    assert stored.read_bytes() == data
    assert (row.status, row.kind, row.name) == (
        InboxStatus.RECEIVED,
        InboxKind.SNAPSHOT,
        "scadenziario.csv",
    )
    assert row.size == len(data)
    assert row.checksum == hashlib.sha256(data).hexdigest()
    # Nothing is left half-written beside it.
    assert sorted(p.name for p in folder_of(company).iterdir()) == [
        "done", "failed", "scadenziario.csv"
    ]  # fmt: skip


def test_receive_makes_names_safe_and_never_overwrites(company, morning):
    first = services.inbox_receive(company=company, name="../../scad.csv", data=b"a;b\n1;2\n")
    second = services.inbox_receive(company=company, name="scad.csv", data=b"a;b\n3;4\n")
    assert first.name == "scad.csv"
    # 07:00 in Rome is 05:00 UTC: the time stamp of the second is of that instant.
    assert second.name == "scad.20260401-050000.csv"
    assert (folder_of(company) / second.name).read_bytes() == b"a;b\n3;4\n"


def test_receive_refuses_too_large_and_empty_files(company, settings):
    settings.INCASSA_MAX_UPLOAD_BYTES = 10
    with pytest.raises(services.InboxError, match="larger than the 10 bytes"):
        services.inbox_receive(company=company, name="big.csv", data=[b"123456", b"78901"])
    with pytest.raises(services.InboxError, match="empty"):
        services.inbox_receive(company=company, name="empty.csv", data=b"")
    assert not InboxFile.objects.exists()
    assert sorted(p.name for p in folder_of(company).iterdir()) == ["done", "failed"]


def test_a_content_already_imported_is_a_duplicate_at_once(company, morning):
    services.inbox_receive(company=company, name="scad_2026-04-01.csv", data=snapshot_bytes())
    services.inbox_process(company=company, today=DAY)
    again = services.inbox_receive(company=company, name="copia.csv", data=snapshot_bytes())
    assert again.status == InboxStatus.DUPLICATE
    assert again.message == (
        "Already processed: the same content was imported as scad_2026-04-01.csv on 01/04/2026."
    )
    assert report_of(folder_of(company) / "done" / "copia.csv")["status"] == "duplicate"
    assert not (folder_of(company) / "copia.csv").exists()


def test_an_inbox_folder_that_leads_elsewhere_is_refused(company, settings, tmp_path):
    root = tmp_path / "inbox"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "acme").symlink_to(elsewhere)
    with pytest.raises(services.InboxError, match="leads outside"):
        services.inbox_folder(company)


# --------------------------------------------------------------------------------------
# Processing
# --------------------------------------------------------------------------------------


def test_each_kind_is_imported_in_order_and_moved_with_its_report(brambilla, morning):
    base = MORNING.timestamp() - 3600
    # Oldest first, by modification time, then by name: the statement and the snapshot at
    # the same moment ("estratto" before "scadenziario"), then the e-invoice, the PDF last.
    # (The e-invoice first would make the snapshot close its items: refused as truncated.)
    drop(brambilla, "scadenziario_2026-03-31.csv", snapshot_bytes(), mtime=base)
    drop(brambilla, "IT01234567890_FPR01.xml", (FATTURAPA / "IT01234567890_FPR01.xml").read_bytes(),
         mtime=base + 60)  # fmt: skip
    drop(brambilla, "estratto.xml", (STATEMENTS / "camt053_001_02.xml").read_bytes(), mtime=base)
    drop(brambilla, "offerta.pdf", b"%PDF-1.7 ...", mtime=base + 120)

    result = services.inbox_process(company=brambilla, today=DAY)

    assert [(f.name, f.kind, f.status) for f in result.files] == [
        ("estratto.xml", InboxKind.STATEMENT, InboxStatus.DONE),
        ("scadenziario_2026-03-31.csv", InboxKind.SNAPSHOT, InboxStatus.DONE),
        ("IT01234567890_FPR01.xml", InboxKind.EINVOICES, InboxStatus.DONE),
        ("offerta.pdf", InboxKind.UNKNOWN, InboxStatus.FAILED),
    ]
    folder = folder_of(brambilla)
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [".inbox.lock"]
    done = folder / "done"
    assert sorted(p.name for p in done.iterdir()) == [
        "IT01234567890_FPR01.xml", "IT01234567890_FPR01.xml.report.json",
        "estratto.xml", "estratto.xml.report.json",
        "scadenziario_2026-03-31.csv", "scadenziario_2026-03-31.csv.report.json",
    ]  # fmt: skip
    # The snapshot's date comes from its name (31/03), not the day (01/04).
    snapshot = report_of(done / "scadenziario_2026-03-31.csv")
    assert snapshot["as_of"] == "2026-03-31"
    assert snapshot["message"] == (
        "Snapshot as of 31/03/2026 applied: 2 rows, 2 new items, 0 changed, 0 closed (paid), "
        "0 reopened."
    )
    run = ImportRun.objects.get(kind=ImportKind.RECEIVABLES)
    assert (run.as_of, run.status) == (dt.date(2026, 3, 31), ImportStatus.APPLIED)
    # FPR01 is one invoice (FT 2025/0142) of three installments: one document imported.
    assert report_of(done / "IT01234567890_FPR01.xml")["message"] == (
        "1 document(s): 1 imported, 0 already known, 0 refused."
    )
    # The camt.053 of 31/03/2026: credits of 1.220,00 and 500,50, a debit of 300,00 (not
    # kept), and a batch of 2.000,00 of two payments (1.500,00 and 500,00): four credits.
    statement = report_of(done / "estratto.xml")
    assert statement["result"]["new_credits"] == 4
    failed = report_of(folder / "failed" / "offerta.pdf")
    assert failed == {
        "status": "failed",
        "kind": "unknown",
        "message": "This file is not one the inbox imports: "
        "The file is a PDF document, which cannot be imported.",
    }
    assert {f.import_run.kind for f in result.files if f.import_run} == {
        ImportKind.RECEIVABLES, ImportKind.EINVOICES, ImportKind.STATEMENT
    }  # fmt: skip


def test_a_file_received_keeps_its_record(company, morning):
    row = services.inbox_receive(company=company, name="scad.csv", data=snapshot_bytes())
    result = services.inbox_process(company=company, today=DAY)
    assert [f.pk for f in result.files] == [row.pk]
    row.refresh_from_db()
    assert row.status == InboxStatus.DONE
    assert InboxFile.objects.count() == 1


def test_the_same_content_is_never_imported_twice(company, morning):
    drop(company, "scad_2026-04-01.csv", snapshot_bytes(), mtime=MORNING.timestamp() - 60)
    drop(company, "scad_copia.csv", snapshot_bytes(), mtime=MORNING.timestamp() - 30)
    result = services.inbox_process(company=company, today=DAY)
    assert [f.status for f in result.files] == [InboxStatus.DONE, InboxStatus.DUPLICATE]
    assert ImportRun.objects.filter(kind=ImportKind.RECEIVABLES).count() == 1
    copy = folder_of(company) / "done" / "scad_copia.csv"
    assert copy.exists()
    assert report_of(copy)["message"].startswith("Already processed:")
    # Dropped again the next day under the first name: a duplicate again, kept apart in
    # done/ with a time stamp (it is 05:00 UTC).
    drop(company, "scad_2026-04-01.csv", snapshot_bytes())
    again = services.inbox_process(company=company, today=DAY)
    assert [f.status for f in again.files] == [InboxStatus.DUPLICATE]
    assert (folder_of(company) / "done" / "scad_2026-04-01.20260401-050000.csv").exists()


def test_a_failed_file_is_reported_without_traceback_and_may_come_again(company, morning):
    bad = snapshot_bytes([*_rows(), "003;Verdi;;;F3;06/04/2026;dieci euro"])
    drop(company, "scad.csv", bad)
    result = services.inbox_process(company=company, today=DAY)
    (row,) = result.files
    assert row.status == InboxStatus.FAILED
    report = report_of(folder_of(company) / "failed" / "scad.csv")
    assert report["message"].startswith("1 problem(s) in")
    # The one rejected row: the file's 4th line (the header is the first).
    assert [(e["row"], e["column"], e["value"]) for e in report["errors"]] == [
        (4, "Importo", "dieci euro")
    ]
    assert "Traceback" not in json.dumps(report)
    # The same content again (the ERP exported it twice): tried again, not a duplicate.
    drop(company, "scad.csv", bad)
    assert [f.status for f in services.inbox_process(company=company, today=DAY).files] == [
        InboxStatus.FAILED
    ]
    assert InboxFile.objects.filter(status=InboxStatus.FAILED).count() == 2


def _rows() -> list[str]:
    return snapshot_bytes().decode().splitlines()[1:]


def test_an_import_that_crashes_is_a_failure_in_words(company, morning, monkeypatch):
    def crash(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("incassa.ledger.services.receivables_import", crash)
    drop(company, "scad.csv", snapshot_bytes())
    (row,) = services.inbox_process(company=company, today=DAY).files
    assert row.status == InboxStatus.FAILED
    assert row.message == "The import stopped with an error: OSError: disk full"


def test_a_file_still_being_written_waits(company, settings):
    settings.INCASSA_INBOX_SETTLE_SECONDS = 60
    path = drop(company, "scad.csv", snapshot_bytes())
    written = path.stat().st_mtime
    # 30 seconds after its last change it may still be growing; 61 seconds after, not.
    result = services.inbox_process(company=company, today=DAY, now=written + 30)
    assert (result.files, result.waiting) == ([], ["scad.csv"])
    assert path.exists()
    result = services.inbox_process(company=company, today=DAY, now=written + 61)
    assert [f.status for f in result.files] == [InboxStatus.DONE]


def test_links_folders_and_side_files_are_left_alone(company, tmp_path):
    outside = tmp_path / "segreto.csv"
    outside.write_bytes(snapshot_bytes())
    folder = folder_of(company)
    (folder / "link.csv").symlink_to(outside)
    (folder / "sub").mkdir()
    (folder / ".nascosto.csv").write_bytes(snapshot_bytes())
    (folder / "scad.csv.part").write_bytes(snapshot_bytes())
    result = services.inbox_process(company=company, today=DAY)
    assert (result.files, result.waiting) == ([], [])
    assert (folder / "link.csv").is_symlink()
    assert outside.exists()


def test_a_file_over_the_limit_fails_unread(company, settings):
    settings.INCASSA_MAX_UPLOAD_BYTES = 100
    drop(company, "enorme.csv", b"x" * 101)
    (row,) = services.inbox_process(company=company, today=DAY).files
    assert row.status == InboxStatus.FAILED
    assert row.message == "The file is larger than the 100 bytes accepted."


# --------------------------------------------------------------------------------------
# The cycle
# --------------------------------------------------------------------------------------


def test_a_day_with_its_snapshot(company, manager, morning, sent_mail):
    drop(company, "scadenziario_2026-04-01.csv", snapshot_bytes())
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)

    assert (run.status, run.stale, run.trigger) == (RunStatus.SUCCEEDED, False, Trigger.COMMAND)
    assert list(stages_of(run)) == STAGE_NAMES
    assert set(stages_of(run).values()) == {(StageStatus.SUCCEEDED, "")}
    results = {s.name: s.result for s in run.stages.all()}
    assert [f["status"] for f in results["inbox"]["files"]] == ["done"]
    # Two customers with one item each, both scored.
    assert (results["scores"]["customers"], results["scores"]["items"]) == (2, 2)
    # pre-due for both: an email (Rossi) and a letter (Bianchi, no address).
    assert results["strategies"]["by_channel"] == {"email": 1, "letter": 1}
    assert results["delivery"]["sent"] == 1
    assert results["print"]["letters"] == 1
    assert results["summary"]["recipients"] == ["manager@example.it"]
    assert all(s.attempts == 1 and s.started_at and s.finished_at for s in run.stages.all())
    assert run.started_at <= run.finished_at

    mails = sent_mail()
    assert [m["To"] for m in mails] == ["rossi@example.it", "manager@example.it"]
    summary = mails[1]
    assert summary["Subject"] == (
        "Incassa: daily cycle of 01/04/2026 for Acme Italia S.p.A., completed"
    )
    body = summary.get_content()
    assert "scadenziario_2026-04-01.csv (Receivables snapshot): Imported." in body
    assert "2 action(s) decided by the strategies" in body
    assert "1 email(s) and PEC sent, 0 failed" in body
    assert "1 letter(s) in the print batch" in body
    assert "reminders wait" not in body


def test_without_the_days_snapshot_the_reminders_wait(
    company, manager, morning, sent_mail, tmp_path
):
    snapshot_as_of(company, dt.date(2026, 3, 31), tmp_path)
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.SCHEDULE)

    assert run.stale
    assert run.status == RunStatus.SUCCEEDED
    stages = stages_of(run)
    assert stages["strategies"] == (StageStatus.SUCCEEDED, "")
    assert stages["delivery"] == (StageStatus.SKIPPED, "stale")
    assert stages["print"] == (StageStatus.SKIPPED, "stale")
    # The engine decided the day's two actions; nothing went to a customer.
    assert Action.objects.filter(scheduled_on=DAY).count() == 2
    assert not Message.objects.filter(status=MessageStatus.SENT).exists()
    (summary,) = sent_mail()
    body = summary.get_content()
    assert (
        "The last snapshot is as of 31/03/2026: today's reminders wait until a new one arrives."
        in body
    )
    assert "emails and PEC: not sent today, they wait for a snapshot" in body


def test_a_company_may_send_without_the_days_snapshot(
    company, manager, morning, sent_mail, tmp_path
):
    CycleSchedule.objects.create(company=company, send_when_stale=True)
    snapshot_as_of(company, dt.date(2026, 3, 31), tmp_path)
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    assert run.stale
    assert stages_of(run)["delivery"] == (StageStatus.SUCCEEDED, "")
    assert [m["To"] for m in sent_mail()] == ["rossi@example.it", "manager@example.it"]
    assert "today's reminders are sent anyway" in sent_mail()[1].get_content()


def test_a_failing_stage_is_tried_again(company, manager, morning, monkeypatch, settings, tmp_path):
    settings.INCASSA_CYCLE_RETRY_SECONDS = 10
    waits = []
    monkeypatch.setattr(services, "_sleep", waits.append)
    from incassa.dunning import services as dunning

    real = dunning.dunning_run
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(dunning, "dunning_run", flaky)
    drop(company, "scad_2026-04-01.csv", snapshot_bytes())
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    strategies = run.stages.get(name="strategies")
    assert (strategies.status, strategies.attempts, strategies.error) == (
        StageStatus.SUCCEEDED, 3, ""
    )  # fmt: skip
    # 10 s before the second attempt, twice that before the third.
    assert waits == [10, 20]
    assert run.status == RunStatus.SUCCEEDED


def test_a_stage_that_keeps_failing_is_reported(company, manager, morning, monkeypatch, sent_mail):
    def broken(**kwargs):
        raise RuntimeError("no strategy can be read")

    monkeypatch.setattr("incassa.dunning.services.dunning_run", broken)
    drop(company, "scad_2026-04-01.csv", snapshot_bytes())
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)

    strategies = run.stages.get(name="strategies")
    assert (strategies.status, strategies.attempts) == (StageStatus.FAILED, 3)
    assert strategies.error == "RuntimeError: no strategy can be read"
    stages = stages_of(run)
    assert stages["delivery"] == (StageStatus.SKIPPED, "needs:strategies")
    assert stages["print"] == (StageStatus.SKIPPED, "needs:strategies")
    assert stages["summary"] == (StageStatus.SUCCEEDED, "")
    # The inbox and the scores did their work: partly failed, not failed.
    assert run.status == RunStatus.PARTIAL
    (summary,) = sent_mail()
    assert summary["Subject"].endswith(", completed with problems")
    assert "Strategies: RuntimeError: no strategy can be read" in summary.get_content()


def test_when_every_stage_fails_the_run_failed(company, morning, monkeypatch):
    def broken(**kwargs):
        raise OSError("the inbox folder is on a disk that went away")

    monkeypatch.setattr(services, "inbox_process", broken)
    monkeypatch.setattr(services, "summary_text", broken)
    CycleSchedule.objects.create(company=company, recipients="capo@acme.example.it")
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    stages = stages_of(run)
    assert stages["inbox"][0] == StageStatus.FAILED
    # Everything but the summary needs the inbox, directly or through the strategies.
    assert stages["scores"] == (StageStatus.SKIPPED, "needs:inbox")
    assert stages["strategies"] == (StageStatus.SKIPPED, "needs:inbox")
    assert stages["delivery"] == (StageStatus.SKIPPED, "needs:strategies")
    assert stages["summary"][0] == StageStatus.FAILED
    assert run.status == RunStatus.FAILED


def test_running_a_day_twice_does_no_harm(company, manager, morning, sent_mail):
    drop(company, "scad_2026-04-01.csv", snapshot_bytes())
    first = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    second = services.cycle_run(company=company, day=DAY, trigger=Trigger.MANUAL)
    assert first.pk != second.pk
    assert second.status == RunStatus.SUCCEEDED
    results = {s.name: s.result for s in second.stages.all()}
    assert results["inbox"]["files"] == []
    assert results["strategies"]["actions"] == 0  # the day's actions exist already
    assert results["delivery"]["sent"] == 0
    assert stages_of(second)["print"] == (StageStatus.SKIPPED, "no_letters")
    assert Action.objects.count() == 2
    # One reminder to Rossi in all, and a summary for each run.
    assert [m["To"] for m in sent_mail()] == [
        "rossi@example.it", "manager@example.it", "manager@example.it"
    ]  # fmt: skip


def test_a_second_scheduled_trigger_does_nothing(company, morning):
    first = services.cycle_run(company=company, day=DAY, trigger=Trigger.SCHEDULE)
    second = services.cycle_run(company=company, day=DAY, trigger=Trigger.SCHEDULE)
    assert second.pk == first.pk
    assert CycleRun.objects.count() == 1
    assert first.stages.count() == len(STAGE_NAMES)


def test_the_summary_needs_someone_and_an_account(company, morning, settings):
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    assert stages_of(run)["summary"] == (StageStatus.SKIPPED, "no_recipients")
    MembershipFactory(user=UserFactory(username="capo"), company=company, role="administrator")
    settings.EMAIL_URL = ""
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    assert stages_of(run)["summary"] == (StageStatus.SKIPPED, "no_mail_account")


def test_the_summary_is_sent_once_per_run(company, manager, morning, sent_mail):
    run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    ctx = services._Context(company=company, day=DAY, run=run, schedule=CycleSchedule())
    # The summary stage tried again (after a crash once the server had it): not resent.
    outcome = services._stage_summary(ctx)
    assert outcome.result["already_sent"] is True
    assert len(sent_mail()) == 1


@pytest.fixture
def audit_entries_purged(transactional_db):
    """Django empties the tables after a transactional test with DELETE, which the audit
    trail's triggers refuse on SQLite: this test's audit entries are removed first, with
    the triggers lifted for the moment (as in tests/browser/conftest.py)."""
    yield
    immutable = importlib.import_module("incassa.audit.migrations.0002_immutable_entries")
    vendor = connection.vendor
    down = {"sqlite": immutable.SQLITE_DOWN, "postgresql": immutable.POSTGRESQL_DOWN}
    up = {"sqlite": immutable.SQLITE_UP, "postgresql": immutable.POSTGRESQL_UP}
    with connection.cursor() as cursor:
        for statement in down.get(vendor, []):
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {immutable.TABLE}")
        for statement in up.get(vendor, []):
            cursor.execute(statement)


@pytest.mark.django_db(transaction=True)
def test_scores_are_not_computed_twice_after_the_days_snapshot(settings, audit_entries_purged):
    from incassa.credit.models import KpiSnapshot

    settings.INCASSA_SCORES_AFTER_IMPORT = True
    company = CompanyFactory(code="acme")
    with time_machine.travel(MORNING, tick=False):
        drop(company, "scad_2026-04-01.csv", snapshot_bytes())
        run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)
    # Outside a test transaction the import's commit computed them (credit.signals).
    assert stages_of(run)["scores"] == (StageStatus.SKIPPED, "recomputed_by_import")
    assert KpiSnapshot.objects.filter(company=company, on_date=DAY).exists()


# --------------------------------------------------------------------------------------
# Starting runs
# --------------------------------------------------------------------------------------


def test_the_tick_starts_whoever_is_due(company, django_capture_on_commit_callbacks):
    other = CompanyFactory(code="beta")
    CycleSchedule.objects.create(company=other, at=dt.time(9, 0))
    seven = MORNING  # Wednesday 01/04/2026 07:00 in Rome
    assert services.cycle_schedule_tick(now=seven - dt.timedelta(minutes=1)) == []
    with django_capture_on_commit_callbacks(execute=True):
        started = services.cycle_schedule_tick(now=seven)
    # Acme has the default schedule (07:00); Beta runs at 09:00.
    assert [r.company.code for r in started] == ["acme"]
    run = CycleRun.objects.get(company=company)
    # In the tests the queue runs a task as soon as it is enqueued: the run is done.
    assert (run.trigger, run.day, run.status) == (Trigger.SCHEDULE, DAY, RunStatus.SUCCEEDED)
    assert services.cycle_schedule_tick(now=seven + dt.timedelta(minutes=1)) == []
    assert CycleRun.objects.count() == 1


def test_two_schedulers_start_one_run(company, monkeypatch):
    # Both decided Acme was due before either recorded the run: the constraint decides.
    from incassa.cycle import selectors
    from incassa.cycle.schedule import Decision

    monkeypatch.setattr(
        selectors, "companies_due", lambda now: [(company, Decision(True, DAY, "due"))]
    )
    first = services.cycle_schedule_tick(now=MORNING)
    second = services.cycle_schedule_tick(now=MORNING)
    assert len(first) == 1
    assert second == []
    assert CycleRun.objects.filter(company=company, trigger=Trigger.SCHEDULE).count() == 1


class FakeTask:
    """Stands in for ``run_cycle``: records what would be enqueued."""

    def __init__(self, calls: list) -> None:
        self.calls = calls

    def enqueue(self, *args) -> None:
        self.calls.append(args)


def test_a_lost_scheduled_run_is_handed_over_again(company, settings, monkeypatch):
    settings.INCASSA_CYCLE_REQUEUE_SECONDS = 900
    # Not due by itself today (whatever day the test runs on): only the lost run matters.
    CycleSchedule.objects.create(company=company, enabled=False)
    enqueued = []
    monkeypatch.setattr("incassa.cycle.tasks.run_cycle", FakeTask(enqueued))
    run = CycleRun.objects.create(
        company=company, day=DAY, trigger=Trigger.SCHEDULE, status=RunStatus.QUEUED
    )
    recorded = run.created_at
    # 14 minutes later it may still be on its way; 16 minutes later it was lost.
    assert services.cycle_schedule_tick(now=recorded + dt.timedelta(minutes=14)) == []
    again = services.cycle_schedule_tick(now=recorded + dt.timedelta(minutes=16))
    assert [r.pk for r in again] == [run.pk]
    assert enqueued == [(company.pk, "2026-04-01", "schedule", run.pk)]


def test_enqueue_refuses_a_second_run_while_one_is_under_way(company, monkeypatch):
    monkeypatch.setattr("incassa.cycle.tasks.run_cycle", FakeTask([]))
    run = services.cycle_enqueue(company=company, day=DAY)
    assert (run.status, run.trigger) == (RunStatus.QUEUED, Trigger.MANUAL)
    with pytest.raises(services.CycleError, match="already waiting to start"):
        services.cycle_enqueue(company=company, day=DAY)


def test_schedule_update(company):
    schedule = services.schedule_update(
        company=company, values={"at": dt.time(6, 30), "weekdays": "012345"}
    )
    assert (schedule.at, schedule.weekdays, schedule.time_zone) == (
        dt.time(6, 30), "012345", "Europe/Rome"
    )  # fmt: skip
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.schedule_update(company=company, values={"time_zone": "Mars/Olympus"})
    assert CycleSchedule.objects.get(company=company).time_zone == "Europe/Rome"


def test_receivable_count_after_the_inbox(company, morning):
    """The inbox's snapshot is a full import like any other."""
    drop(company, "scad.csv", snapshot_bytes())
    services.inbox_process(company=company, today=DAY)
    assert Receivable.objects.filter(company=company).count() == 2
    assert ROME.key == "Europe/Rome"


def test_a_run_abandoned_by_a_killed_worker_is_recorded_as_failed(company, settings):
    settings.INCASSA_CYCLE_STUCK_SECONDS = 6 * 3600
    started = MORNING
    run = CycleRun.objects.create(
        company=company, day=DAY, trigger=Trigger.MANUAL, status=RunStatus.RUNNING,
        started_at=started,
    )  # fmt: skip
    run.stages.create(position=1, name="inbox", status=StageStatus.SUCCEEDED)
    run.stages.create(position=2, name="scores", status=StageStatus.RUNNING)
    run.stages.create(position=3, name="strategies")
    # Five hours later it may still be working; seven hours later it is not.
    assert services.runs_abandoned_close(now=started + dt.timedelta(hours=5)) == []
    (closed,) = services.runs_abandoned_close(now=started + dt.timedelta(hours=7))
    assert (closed.pk, closed.status) == (run.pk, RunStatus.FAILED)
    assert stages_of(closed) == {
        "inbox": (StageStatus.SUCCEEDED, ""),
        "scores": (StageStatus.FAILED, ""),
        "strategies": (StageStatus.FAILED, ""),
    }
    assert closed.stages.get(name="scores").error == "The run stopped before this stage ended."


def test_the_delivery_is_shared_with_more_workers(
    company, manager, morning, sent_mail, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from incassa.comms import tasks

    settings.INCASSA_DELIVERY_WORKERS = 3
    drop(company, "scadenziario_2026-04-01.csv", snapshot_bytes())
    enqueued = []
    real = tasks.deliver_outbox

    class Counting:  # the tasks are held back: as if no other worker were free yet
        def enqueue(self, *args):
            enqueued.append(args)

    monkeypatch.setattr(tasks, "deliver_outbox", Counting())
    with django_capture_on_commit_callbacks(execute=True):
        run = services.cycle_run(company=company, day=DAY, trigger=Trigger.COMMAND)

    # Three workers: this one and two delivery tasks, for shards 1 and 2 of 3.
    assert enqueued == [(company.pk, DAY.isoformat(), 1, 3), (company.pk, DAY.isoformat(), 2, 3)]
    delivery = run.stages.get(name="delivery").result
    assert (run.status, delivery["workers"], delivery["sent"]) == (RunStatus.SUCCEEDED, 3, 1)
    # The stage did the helpers' parts itself; when they run at last, nothing is left.
    assert [real.call(*args)["sent"] for args in enqueued] == [0, 0]
    # The one email went out once, then the summary.
    assert [m["To"] for m in sent_mail()] == ["rossi@example.it", "manager@example.it"]
