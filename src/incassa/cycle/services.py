"""The daily cycle and the import inbox: the operations that change state.

The inbox (``inbox_receive``, ``inbox_process``): one folder per company under
``INCASSA_INBOX_DIR``, where the ERP drops its daily export, the API and the page store
what they are sent, and each waiting file is imported once by the existing imports, then
moved to ``done/`` or ``failed/`` with a ``<name>.report.json`` beside it.

The cycle (``cycle_run``): inbox, scores and KPIs, strategies, delivery, print batch,
summary email, each stage recorded with its attempts; a stage that fails is tried again
and then recorded as failed, and the stages that need it are skipped saying so. Without a
snapshot as of the day (the schedule is *stale*) nothing goes out to customers unless the
company allows it. Running a day again does no harm: the imports skip what they already
have, the engine and the outbox are idempotent, the summary is sent once per run.

``cycle_schedule_tick`` is what the periodic task calls every minute: it starts the runs
of the companies that are due, at most one scheduled run per company and day (a unique
constraint decides between schedulers).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from incassa.core.formatting import format_day
from incassa.core.users import recorded_user
from incassa.cycle import conf, inbox, selectors
from incassa.cycle.models import (
    CycleRun,
    CycleSchedule,
    CycleStage,
    InboxFile,
    InboxKind,
    InboxStatus,
    RunStatus,
    StageStatus,
    Trigger,
)
from incassa.ledger.models import Company, ImportRun

logger = logging.getLogger(__name__)

DONE_DIR = "done"
FAILED_DIR = "failed"
LOCK_FILE = ".inbox.lock"
REPORTED_ERRORS = 50
READ_BLOCK = 1 << 20


class InboxError(Exception):
    """A file the inbox refuses to take (too large, empty); the message says why."""


class CycleError(Exception):
    """A cycle that cannot be started now (one is already running); the message says why."""


# --------------------------------------------------------------------------------------
# The inbox folder
# --------------------------------------------------------------------------------------


def inbox_folder(company: Company, *, create: bool = True) -> Path:
    """The company's inbox folder (with ``done/`` and ``failed/`` inside). It must lie
    inside ``INCASSA_INBOX_DIR`` once symbolic links are resolved: a link pointing
    elsewhere is refused rather than followed."""
    root = conf.inbox_dir()
    if create:
        root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    folder = root / inbox.safe_name(company.code, default=f"company-{company.pk}")
    if create:
        for sub in ("", DONE_DIR, FAILED_DIR):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    if folder.exists() and not folder.resolve().is_relative_to(root):
        raise InboxError(
            _("The inbox folder %(folder)s leads outside %(root)s.")
            % {"folder": folder, "root": root}
        )
    return folder


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """One inbox run at a time per company and machine: a second waits for the first."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _free_path(folder: Path, name: str) -> Path:
    """``folder/name``, or with a time stamp and then a number before the extension when a
    file of that name is already there (the ERP names every day's export the same)."""
    target = folder / name
    if not os.path.lexists(target):
        return target
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        suffix = stamp if n == 1 else f"{stamp}-{n}"
        candidate = folder / (f"{stem}.{suffix}.{extension}" if extension else f"{name}.{suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise InboxError(_("There is no free name for %(name)s.") % {"name": name})


# --------------------------------------------------------------------------------------
# Receiving a file
# --------------------------------------------------------------------------------------


def inbox_receive(
    *,
    company: Company,
    name: str,
    data: bytes | Iterable[bytes],
    source: str = "",
    user: Any = None,
) -> InboxFile:
    """Store a file in the company's inbox, for the next inbox run (the cycle's, or
    ``incassa inbox process``). ``data`` is the content or its chunks. The name is made
    safe; a name already waiting gets a suffix. A content already imported is recorded as
    a duplicate and put straight into ``done/``. InboxError for a file over
    ``INCASSA_MAX_UPLOAD_BYTES`` or an empty one."""
    folder = inbox_folder(company)
    limit = conf.max_upload_bytes()
    clean = inbox.safe_name(name, default="upload")
    chunks = [data] if isinstance(data, bytes | bytearray) else data
    partial = folder / f".{clean}.{os.getpid()}.{time.monotonic_ns()}.part"
    digest = hashlib.sha256()
    size = 0
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise InboxError(
                        _("The file is larger than the %(limit)s bytes accepted.")
                        % {"limit": f"{limit:,}"}
                    )
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise InboxError(_("The file is empty."))
        checksum = digest.hexdigest()
        known = _imported(company, checksum)
        received_at = timezone.now()
        row = InboxFile(
            company=company,
            name=clean,
            size=size,
            checksum=checksum,
            kind=_classify_path(partial).kind,
            status=InboxStatus.RECEIVED,
            source=_source(source, user),
            received_at=received_at,
        )
        if known is not None:
            target = _free_path(folder / DONE_DIR, clean)
            os.replace(partial, target)
            _mark_duplicate(row, known, target)
            return row
        target = _free_path(folder, clean)
        os.replace(partial, target)
        row.name = target.name
        row.save()
        return row
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


def _source(source: str, user: Any) -> str:
    if source:
        return source[:200]
    user = recorded_user(user)
    return (_("uploaded by %(user)s") % {"user": user.get_username()})[:200] if user else ""


def _imported(company: Company, checksum: str) -> InboxFile | None:
    return InboxFile.objects.filter(
        company=company, checksum=checksum, status=InboxStatus.DONE
    ).first()


def _mark_duplicate(row: InboxFile, known: InboxFile, target: Path) -> None:
    row.status = InboxStatus.DUPLICATE
    row.processed_at = timezone.now()
    row.import_run_id = known.import_run_id
    row.report = {
        "status": InboxStatus.DUPLICATE.value,
        "kind": row.kind,
        "message": _("Already processed: the same content was imported as %(name)s on %(day)s.")
        % {"name": known.name, "day": format_day(timezone.localdate(known.processed_at))}
        if known.processed_at
        else _("Already processed: the same content was imported as %(name)s.")
        % {"name": known.name},
        "same_as": known.pk,
    }
    row.save()
    _write_report(target, row.report)


def _classify_path(path: Path) -> inbox.Classification:
    with path.open("rb") as handle:
        return inbox.classify(path.name, handle.read())


# --------------------------------------------------------------------------------------
# Processing the waiting files
# --------------------------------------------------------------------------------------


@dataclass
class InboxResult:
    """What an inbox run did: the files it handled, in order, and those it left waiting
    because they were still being written."""

    files: list[InboxFile] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    @property
    def snapshot_days(self) -> list[dt.date]:
        """The as-of dates of the receivables snapshots it applied."""
        return [
            dt.date.fromisoformat(f.report["as_of"])
            for f in self.files
            if f.kind == InboxKind.SNAPSHOT
            and f.status == InboxStatus.DONE
            and f.report.get("as_of")
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": [
                {
                    "id": f.pk,
                    "name": f.name,
                    "kind": f.kind,
                    "status": f.status,
                    "message": f.message,
                    "import_run": f.import_run_id,
                }
                for f in self.files
            ],
            "waiting": self.waiting,
        }


def inbox_waiting(company: Company) -> list[Path]:
    """The files waiting in the company's inbox, oldest first (by modification time, then
    name): regular files only; symbolic links, folders and the inbox's own files are left
    alone."""
    folder = inbox_folder(company)
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if inbox.is_side_file(entry.name) or entry.is_symlink():
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            found.append((entry.stat(follow_symlinks=False).st_mtime, entry.name))
    return [folder / name for _mtime, name in sorted(found)]


def inbox_process(
    *,
    company: Company,
    today: dt.date,
    cycle_run: CycleRun | None = None,
    now: float | None = None,
) -> InboxResult:
    """Import every file waiting in the company's inbox, in order, with the import its
    content calls for; move each to ``done/`` or ``failed/`` with its report. A content
    already imported is a duplicate (moved to ``done/``, not imported again); a file
    modified in the last ``INCASSA_INBOX_SETTLE_SECONDS`` waits for the next run."""
    folder = inbox_folder(company)
    result = InboxResult()
    settle = conf.inbox_settle_seconds()
    with _folder_lock(folder), translation.override(settings.LANGUAGE_CODE):
        for path in inbox_waiting(company):
            clock = time.time() if now is None else now
            try:
                info = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:  # taken meanwhile
                continue
            if settle > 0 and clock - info.st_mtime < settle:
                result.waiting.append(path.name)
                continue
            row = _process_one(company, path, info, today=today, cycle_run=cycle_run)
            if row is not None:
                result.files.append(row)
    return result


def _process_one(
    company: Company,
    path: Path,
    info: os.stat_result,
    *,
    today: dt.date,
    cycle_run: CycleRun | None,
) -> InboxFile | None:
    folder = path.parent
    limit = conf.max_upload_bytes()
    row = InboxFile(
        company=company,
        name=path.name[:255],
        size=info.st_size,
        checksum="",
        status=InboxStatus.PROCESSING,
        received_at=timezone.now(),
        cycle_run=cycle_run,
        source=_("the inbox folder"),
    )
    if info.st_size > limit:
        row.checksum = "-"
        return _finish_failed(
            row,
            path,
            _("The file is larger than the %(limit)s bytes accepted.") % {"limit": f"{limit:,}"},
        )
    try:
        data = _read_regular(path, limit)
    except FileNotFoundError:
        return None
    except (OSError, InboxError) as exc:
        row.checksum = "-"
        return _finish_failed(row, path, _("The file cannot be read: %(error)s") % {"error": exc})
    row.checksum = hashlib.sha256(data).hexdigest()
    waiting = (
        InboxFile.objects.filter(
            company=company,
            checksum=row.checksum,
            status=InboxStatus.RECEIVED,
            name=path.name[:255],
        )
        .order_by("id")
        .first()
    )
    if waiting is not None:  # stored by inbox_receive: keep its record
        waiting.status = InboxStatus.PROCESSING
        waiting.cycle_run = cycle_run
        row = waiting
    known = _imported(company, row.checksum)
    classification = inbox.classify(path.name, data)
    row.kind = classification.kind
    if known is not None:
        target = _free_path(folder / DONE_DIR, inbox.safe_name(path.name))
        os.replace(path, target)
        _mark_duplicate(row, known, target)
        return row
    row.save()
    if classification.kind == inbox.UNKNOWN:
        return _finish_failed(
            row,
            path,
            _("This file is not one the inbox imports: %(reason)s")
            % {"reason": classification.reason},
        )
    try:
        report, import_run = _import(company, path, data, classification, today=today)
    except _ImportProblem as problem:
        row.import_run = problem.import_run
        return _finish_failed(row, path, problem.message, problem.details)
    row.import_run = import_run
    row.status = InboxStatus.DONE
    row.processed_at = timezone.now()
    row.report = {"status": InboxStatus.DONE.value, "kind": row.kind, **report}
    target = _free_path(folder / DONE_DIR, inbox.safe_name(path.name))
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # the same content was imported meanwhile by another run
        known = _imported(company, row.checksum)
        os.replace(path, target)
        if known is not None:
            _mark_duplicate(row, known, target)
        return row
    os.replace(path, target)
    _write_report(target, row.report)
    return row


def _read_regular(path: Path, limit: int) -> bytes:
    """The file's bytes, read without following a symbolic link and refusing anything but
    a regular file, at most ``limit`` bytes."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InboxError(_("it is not a regular file"))
        blocks, size = [], 0
        while block := os.read(fd, READ_BLOCK):
            size += len(block)
            if size > limit:
                raise InboxError(_("it grew larger than the size accepted"))
            blocks.append(block)
        return b"".join(blocks)
    finally:
        os.close(fd)


def _finish_failed(
    row: InboxFile, path: Path, message: str, details: list[dict] | None = None
) -> InboxFile:
    row.status = InboxStatus.FAILED
    row.processed_at = timezone.now()
    row.report = {"status": InboxStatus.FAILED.value, "kind": row.kind, "message": message}
    if details:
        row.report["errors"] = details[:REPORTED_ERRORS]
        row.report["errors_total"] = len(details)
    row.save()
    target = _free_path(path.parent / FAILED_DIR, inbox.safe_name(path.name))
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, target)
    _write_report(target, row.report)
    return row


def _write_report(target: Path, report: dict[str, Any]) -> None:
    """``<name>.report.json`` beside the moved file: what the import said, or why not."""
    report_path = target.with_name(target.name + ".report.json")
    partial = report_path.with_name(f".{report_path.name}.part")
    try:
        partial.write_text(
            json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        os.replace(partial, report_path)
    except OSError:
        logger.exception("writing %s", report_path)


# --------------------------------------------------------------------------------------
# The imports
# --------------------------------------------------------------------------------------


class _ImportProblem(Exception):
    def __init__(
        self, message: str, import_run: ImportRun | None = None, details: list | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.import_run = import_run
        self.details = details or []


def _import(
    company: Company,
    path: Path,
    data: bytes,
    classification: inbox.Classification,
    *,
    today: dt.date,
) -> tuple[dict[str, Any], ImportRun]:
    """Import the file with the service its kind calls for: the report to keep, and the
    import's record. _ImportProblem (with a message for people) when it did not apply."""
    from incassa.ledger.services import ImportFailed

    source = _("import inbox")
    try:
        if classification.kind == inbox.SNAPSHOT:
            return _import_snapshot(company, path, today=today, source=source)
        if classification.kind == inbox.EINVOICES:
            return _import_einvoices(company, path, data, classification, today, source)
        return _import_statement(company, path, data, today, source)
    except ImportFailed as exc:
        details = [
            {"row": e.row, "column": e.column, "value": e.value, "reason": e.reason}
            for e in exc.errors[:REPORTED_ERRORS]
        ]
        if not details and exc.import_run is not None:
            details = list((exc.import_run.report or {}).get("errors") or [])
        raise _ImportProblem(str(exc), exc.import_run, details) from exc
    except Exception as exc:
        logger.exception("importing %s from the inbox of %s", path.name, company)
        raise _ImportProblem(
            _("The import stopped with an error: %(error)s") % {"error": _error_text(exc)}
        ) from exc


def _import_snapshot(
    company: Company, path: Path, *, today: dt.date, source: str
) -> tuple[dict[str, Any], ImportRun]:
    from incassa.ledger.services import receivables_import

    as_of = inbox.date_in_name(path.name) or today
    result = receivables_import(company=company, path=path, as_of=as_of, source=source)
    run = result.import_run
    message = _(
        "Snapshot as of %(day)s applied: %(rows)s rows, %(created)s new items, %(updated)s "
        "changed, %(closed)s closed (paid), %(reopened)s reopened."
    ) % {
        "day": format_day(as_of),
        "rows": run.rows_read,
        "created": run.created,
        "updated": run.updated,
        "closed": run.closed,
        "reopened": run.reopened,
    }
    return {"message": message, "as_of": as_of.isoformat(), "result": result.as_dict()}, run


def _import_einvoices(
    company: Company,
    path: Path,
    data: bytes,
    classification: inbox.Classification,
    today: dt.date,
    source: str,
) -> tuple[dict[str, Any], ImportRun]:
    from incassa.ledger.einvoices import einvoices_import

    name = path.name
    if not name.lower().endswith((".xml", ".p7m", ".zip")):
        name += classification.extension
    # The valid documents are imported and the refused ones listed: an archive of the
    # exchange system's export often holds a document that is no claim on a customer.
    result = einvoices_import(
        company=company, files=[(name, data)], skip_invalid=True, today=today, source=source
    )
    by_status: dict[str, int] = {}
    for outcome in result.outcomes:
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
    rejected = result.rejected
    message = _(
        "%(documents)s document(s): %(imported)s imported, %(known)s already known, "
        "%(rejected)s refused."
    ) % {
        "documents": len(result.outcomes),
        "imported": by_status.get("imported", 0),
        "known": by_status.get("already imported", 0) + by_status.get("linked", 0),
        "rejected": len(rejected),
    }
    report = {
        "message": message,
        "result": {"import_id": result.import_run.pk, "by_status": by_status},
        "errors": [o.as_dict() for o in rejected[:REPORTED_ERRORS]],
        "errors_total": len(rejected),
    }
    return report, result.import_run


def _import_statement(
    company: Company, path: Path, data: bytes, today: dt.date, source: str
) -> tuple[dict[str, Any], ImportRun]:
    from incassa.payments.services import statement_import

    result = statement_import(
        company=company, name=path.name, data=data, today=today, source=source
    )
    message = _(
        "%(credits)s new payment(s): %(matched)s matched and booked, %(proposed)s waiting "
        "for a person, %(unmatched)s not placed; %(closed)s item(s) paid."
    ) % {
        "credits": result.new_credits,
        "matched": result.matched,
        "proposed": result.proposed,
        "unmatched": result.unmatched,
        "closed": result.items_closed,
    }
    return {"message": message, "result": result.as_dict()}, result.import_run


def _error_text(exc: BaseException) -> str:
    """What went wrong in words, without a traceback: the exception's own message for the
    errors the services raise for people, its kind otherwise."""
    from incassa.comms.services import CommsError
    from incassa.ledger.services import ImportFailed
    from incassa.payments.services import PaymentError

    text = str(exc).strip()
    if isinstance(exc, ImportFailed | CommsError | PaymentError | InboxError | CycleError):
        return text or type(exc).__name__
    if isinstance(exc, DatabaseError):
        return _("the database refused the change (%(error)s)") % {"error": text[:300]}
    return f"{type(exc).__name__}: {text}"[:1000] if text else type(exc).__name__


# --------------------------------------------------------------------------------------
# The schedule
# --------------------------------------------------------------------------------------


SCHEDULE_FIELDS = (
    "enabled",
    "at",
    "time_zone",
    "weekdays",
    "skip_non_working",
    "send_when_stale",
    "recipients",
)


def schedule_update(*, company: Company, values: dict[str, Any], user: Any = None) -> CycleSchedule:
    """Change the company's schedule (created with the defaults the first time)."""
    from django.core.exceptions import ValidationError

    with transaction.atomic():
        schedule = CycleSchedule.objects.select_for_update().filter(
            company=company
        ).first() or CycleSchedule(company=company)
        for name in SCHEDULE_FIELDS:
            if name in values:
                setattr(schedule, name, values[name])
        try:
            selectors.schedule_spec(schedule)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
        schedule.save()
    return schedule


# --------------------------------------------------------------------------------------
# The cycle
# --------------------------------------------------------------------------------------


@dataclass
class _Context:
    company: Company
    day: dt.date
    run: CycleRun
    schedule: CycleSchedule
    inbox: InboxResult | None = None
    results: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a stage did: ``skipped`` with a reason code, or done with its ``result``."""

    result: dict[str, Any] = field(default_factory=dict)
    skipped: str = ""


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[_Context], Outcome]
    needs: tuple[str, ...] = ()


def _stage_inbox(ctx: _Context) -> Outcome:
    ctx.inbox = inbox_process(company=ctx.company, today=ctx.day, cycle_run=ctx.run)
    return Outcome(ctx.inbox.as_dict())


def _stage_scores(ctx: _Context) -> Outcome:
    from incassa.credit.models import KpiSnapshot
    from incassa.credit.services import kpi_snapshot_take, scores_recompute

    imported_today = ctx.inbox is not None and ctx.day in ctx.inbox.snapshot_days
    if (
        imported_today
        and getattr(settings, "INCASSA_SCORES_AFTER_IMPORT", True)
        and KpiSnapshot.objects.filter(
            company=ctx.company, scope="company", on_date=ctx.day
        ).exists()
    ):
        # The snapshot's import computed them when it committed (credit.signals).
        return Outcome(skipped="recomputed_by_import")
    scores = scores_recompute(company=ctx.company, as_of=ctx.day)
    kpi_snapshot_take(company=ctx.company, as_of=ctx.day)
    return Outcome(scores.as_dict())


def _stage_strategies(ctx: _Context) -> Outcome:
    from incassa.dunning.services import dunning_run

    result = dunning_run(company=ctx.company, as_of=ctx.day)
    return Outcome(result.as_dict())


def _holds_reminders(ctx: _Context) -> bool:
    return ctx.run.stale and not ctx.schedule.send_when_stale


def _stage_delivery(ctx: _Context) -> Outcome:
    """Write and send the day's emails and PEC. With ``INCASSA_DELIVERY_WORKERS`` above 1,
    as many delivery tasks share the work: each writes its part of the messages and sends
    whatever is ready; this stage does its own part, then whatever nobody took, and ends
    when the outbox is empty (messages are claimed under leases: none goes out twice)."""
    from incassa.comms.models import Message
    from incassa.comms.services import outbox_deliver, outbox_pending
    from incassa.comms.tasks import deliver_outbox

    if _holds_reminders(ctx):
        return Outcome(skipped="stale")
    workers = max(1, int(getattr(settings, "INCASSA_DELIVERY_WORKERS", 1)))
    started = timezone.now()
    for shard in range(1, workers):
        deliver_outbox.enqueue(ctx.company.pk, ctx.day.isoformat(), shard, workers)
    result = outbox_deliver(
        company=ctx.company, today=ctx.day, shard=(0, workers) if workers > 1 else None
    )
    if workers == 1:
        return Outcome(result.as_dict())
    # The helpers' parts: anything they have not started is written and sent here too; the
    # stage waits for what they are sending, for at most two leases.
    deadline = time.monotonic() + 2 * float(settings.INCASSA_DELIVERY_LEASE_SECONDS)
    while True:
        more = outbox_deliver(company=ctx.company, today=ctx.day)
        result.prepared += more.prepared
        result.sent += more.sent
        result.failed += more.failed
        result.errors.extend(more.errors)
        if not outbox_pending(ctx.company, today=ctx.day) or time.monotonic() > deadline:
            break
        _sleep(0.5)
    outcome = result.as_dict()
    outcome["workers"] = workers
    outcome["sent_by_this_worker"] = result.sent
    outcome["sent"] = Message.objects.filter(
        company=ctx.company, sent_at__gte=started, status="sent"
    ).count()
    return Outcome(outcome)


def _stage_print(ctx: _Context) -> Outcome:
    from incassa.comms.models import Message, MessageStatus
    from incassa.comms.services import CommsError, messages_prepare, print_batch_create

    if _holds_reminders(ctx):
        return Outcome(skipped="stale")
    prepared = messages_prepare(company=ctx.company, today=ctx.day, paper=True)
    if prepared.errors:
        raise CommsError("; ".join(prepared.errors))
    letters = Message.objects.filter(
        company=ctx.company, status=MessageStatus.TO_PRINT, print_batch__isnull=True
    ).count()
    if not letters:
        return Outcome(skipped="no_letters")
    batch = print_batch_create(company=ctx.company, day=ctx.day)
    return Outcome(
        {
            "batch": batch.pk,
            "letters": batch.letters,
            "registered": batch.registered,
            "pages": batch.pages,
        }
    )


def _stage_summary(ctx: _Context) -> Outcome:
    from incassa.comms import accounts, transport
    from incassa.comms.models import Medium
    from incassa.comms.services import local_journal

    recipients = selectors.summary_recipients(ctx.company, ctx.schedule)
    if not recipients:
        return Outcome(skipped="no_recipients")
    account = accounts.account_for(ctx.company, "default")
    if account is None:
        return Outcome(skipped="no_mail_account")
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = summary_text(ctx.run)
    sender = accounts.sender_for(ctx.company, Medium.EMAIL)
    # The run's id and the instant it was recorded: stable for the run, never reused by
    # another (a database made anew starts its ids again, the journal does not forget).
    stamp = ctx.run.created_at.strftime("%Y%m%d%H%M%S%f")
    message_id = f"<cycle-{ctx.run.pk}.{stamp}.summary@{settings.INCASSA_MAIL_DOMAIN}>"
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = formataddr((sender.name, sender.address))
    email["To"] = ", ".join(recipients)
    email["Date"] = formatdate(localtime=True)
    email["Message-ID"] = message_id
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(body)
    journal = local_journal()
    # The delivery journal keys the summary by its run: a stage tried again, or a run
    # repeated after a crash, never sends it twice.
    with transport.open_transport(account, journal=journal) as sender_transport:
        response = sender_transport.send(
            sender=sender.address,
            recipients=recipients,
            message=email.as_bytes(),
            message_id=message_id,
        )
        duplicate = sender_transport.last_was_duplicate
    return Outcome(
        {
            "recipients": recipients,
            "subject": subject,
            "response": response[:300],
            "already_sent": duplicate,
        }
    )


STAGES: tuple[Stage, ...] = (
    Stage("inbox", _stage_inbox),
    Stage("scores", _stage_scores, needs=("inbox",)),
    Stage("strategies", _stage_strategies, needs=("inbox",)),
    Stage("delivery", _stage_delivery, needs=("strategies",)),
    Stage("print", _stage_print, needs=("strategies",)),
    Stage("summary", _stage_summary),
)

_sleep: Callable[[float], None] = time.sleep


def cycle_enqueue(
    *, company: Company, day: dt.date, trigger: str = Trigger.MANUAL, user: Any = None
) -> CycleRun:
    """Record a run waiting to start and hand it to a worker (once the transaction
    commits). CycleError when the company has a run waiting or running already."""
    from incassa.cycle.tasks import run_cycle

    with transaction.atomic():
        Company.objects.select_for_update().filter(pk=company.pk).first()
        busy = selectors.active_run(company)
        if busy is not None:
            raise CycleError(
                _("A cycle of %(day)s is already %(state)s.")
                % {"day": format_day(busy.day), "state": busy.get_status_display().lower()}
            )
        run = CycleRun.objects.create(
            company=company,
            day=day,
            trigger=trigger,
            status=RunStatus.QUEUED,
            requested_by=recorded_user(user),
        )
        run_cycle.enqueue(company.pk, day.isoformat(), trigger, run.pk)
    return run


def cycle_run(
    *,
    company: Company,
    day: dt.date,
    trigger: str,
    run: CycleRun | None = None,
    user: Any = None,
    on_stage: Callable[[CycleStage], None] | None = None,
) -> CycleRun:
    """Run the day's cycle for ``company`` and record it. A scheduled trigger for a day
    that already has its scheduled run (running or finished) does nothing and returns it;
    a manual or command run always runs. ``on_stage`` is told of each stage once it
    ended (the command prints them)."""
    run = _claim(company, day, trigger, run, user)
    if getattr(run, "_not_ours", False):
        return run
    schedule = selectors.schedule_for(company)
    ctx = _Context(company=company, day=day, run=run, schedule=schedule)
    stages = {
        stage.name: CycleStage.objects.create(run=run, position=n, name=stage.name)
        for n, stage in enumerate(STAGES, start=1)
    }
    try:
        for stage in STAGES:
            record = stages[stage.name]
            if stage.name == "summary":
                _close_run(ctx, stages, final=False)
            _run_stage(ctx, stage, record, stages)
            if stage.name == "inbox":
                run.stale = not selectors.has_snapshot(company, day)
                run.save(update_fields=["stale"])
            if on_stage is not None:
                on_stage(record)
    except BaseException:
        logger.exception("the cycle of %s for %s stopped", company, day)
        for record in stages.values():
            if record.status in (StageStatus.PENDING, StageStatus.RUNNING):
                record.status = StageStatus.FAILED
                record.error = record.error or _("The run stopped before this stage ended.")
                record.finished_at = timezone.now()
                record.save()
        _close_run(ctx, stages, final=True)
        raise
    _close_run(ctx, stages, final=True)
    return run


def _claim(
    company: Company, day: dt.date, trigger: str, run: CycleRun | None, user: Any
) -> CycleRun:
    """The run to work on, marked running; one that another worker took, or a scheduled
    day already run, comes back as it is (not running: nothing to do)."""
    now = timezone.now()
    if run is None and trigger == Trigger.SCHEDULE:
        try:
            with transaction.atomic():
                run = CycleRun.objects.create(
                    company=company, day=day, trigger=trigger, status=RunStatus.QUEUED
                )
        except IntegrityError:
            run = CycleRun.objects.get(company=company, day=day, trigger=Trigger.SCHEDULE)
    if run is None:
        return CycleRun.objects.create(
            company=company,
            day=day,
            trigger=trigger,
            status=RunStatus.RUNNING,
            started_at=now,
            requested_by=recorded_user(user),
        )
    taken = CycleRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now
    )
    run.refresh_from_db()
    if not taken:  # another worker runs it, or it ran: leave it as it is
        run._not_ours = True  # type: ignore[attr-defined]
    return run


def _run_stage(
    ctx: _Context, stage: Stage, record: CycleStage, stages: dict[str, CycleStage]
) -> None:
    blocked = [name for name in stage.needs if not _went_well(stages[name])]
    if blocked:
        record.status = StageStatus.SKIPPED
        record.reason = f"needs:{blocked[0]}"
        record.started_at = record.finished_at = timezone.now()
        record.save()
        return
    attempts = conf.stage_attempts()
    wait = conf.retry_seconds()
    record.status = StageStatus.RUNNING
    record.started_at = timezone.now()
    record.save()
    for attempt in range(1, attempts + 1):
        record.attempts = attempt
        record.save(update_fields=["attempts"])
        try:
            outcome = stage.run(ctx)
        except Exception as exc:
            logger.warning(
                "cycle %s, stage %s, attempt %s of %s failed",
                ctx.run.pk,
                stage.name,
                attempt,
                attempts,
                exc_info=True,
            )
            record.error = _error_text(exc)
            if attempt < attempts:
                record.save(update_fields=["error"])
                _sleep(wait * 2 ** (attempt - 1))
                continue
            record.status = StageStatus.FAILED
            record.finished_at = timezone.now()
            record.save()
            return
        record.status = StageStatus.SKIPPED if outcome.skipped else StageStatus.SUCCEEDED
        record.reason = outcome.skipped
        record.result = _json_safe(outcome.result)
        record.error = ""
        record.finished_at = timezone.now()
        record.save()
        ctx.results[stage.name] = record.result
        return


def _went_well(record: CycleStage) -> bool:
    """Succeeded, or skipped for a reason of its own (nothing to do), not because a stage
    it needs failed."""
    if record.status == StageStatus.SUCCEEDED:
        return True
    return record.status == StageStatus.SKIPPED and not record.reason.startswith("needs:")


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _close_run(ctx: _Context, stages: dict[str, CycleStage], *, final: bool) -> None:
    """The run's status and summary from its stages (before the summary stage, so that the
    email tells them; and at the end)."""
    run = ctx.run
    considered = [s for s in stages.values() if final or s.name != "summary"]
    failed = [s for s in considered if s.status == StageStatus.FAILED]
    succeeded = [s for s in considered if s.status == StageStatus.SUCCEEDED]
    if not failed:
        status = RunStatus.SUCCEEDED
    elif succeeded:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.FAILED
    run.summary = selectors.run_summary(run, list(stages.values()))
    update = ["summary"]
    if final:
        run.status = status
        run.finished_at = timezone.now()
        update += ["status", "finished_at"]
    else:
        run.summary["status"] = status
    run.save(update_fields=update)


# --------------------------------------------------------------------------------------
# The summary email
# --------------------------------------------------------------------------------------


def summary_text(run: CycleRun) -> tuple[str, str]:
    """The subject and the plain text of the summary email of ``run``, in the active
    language: what was imported, sent, is waiting for approval, failed; and the warning
    when the day had no snapshot."""
    summary = run.summary or {}
    status = summary.get("status") or run.status
    company = run.company
    day = format_day(run.day)
    state = {
        RunStatus.SUCCEEDED: _("completed"),
        RunStatus.PARTIAL: _("completed with problems"),
        RunStatus.FAILED: _("failed"),
    }.get(status, _("completed"))
    subject = _("Incassa: daily cycle of %(day)s for %(company)s, %(state)s") % {
        "day": day,
        "company": company.name,
        "state": state,
    }
    lines = [
        _("The daily cycle of %(day)s for %(company)s: %(state)s.")
        % {"day": day, "company": company.name, "state": state},
        "",
    ]
    if run.stale:
        last = summary.get("last_snapshot")
        lines.append(
            selectors.stale_sentence(
                last=dt.date.fromisoformat(last) if last else None,
                sent_anyway=bool(summary.get("send_when_stale")),
            )
        )
        lines.append("")
    files = summary.get("files") or []
    lines.append(_("Imported files:"))
    if not files:
        lines.append("  " + _("none"))
    for f in files:
        kind = selectors.kind_label(f.get("kind", ""))
        state = selectors.inbox_status_label(f.get("status", ""))
        lines.append(f"  - {f.get('name')} ({kind}): {state}. {f.get('message') or ''}".rstrip())
    if summary.get("waiting_files"):
        lines.append(
            "  "
            + _("still being written, for the next run: %(names)s")
            % {"names": ", ".join(summary["waiting_files"])}
        )
    lines.append("")
    lines.append(_("Reminders:"))
    lines.append(
        "  "
        + _("%(actions)s action(s) decided by the strategies")
        % {"actions": summary.get("actions", 0)}
    )
    if summary.get("delivery_skipped"):
        lines.append("  " + _("emails and PEC: not sent today, they wait for a snapshot"))
    else:
        lines.append(
            "  "
            + _("%(sent)s email(s) and PEC sent, %(failed)s failed")
            % {"sent": summary.get("sent", 0), "failed": summary.get("delivery_failed", 0)}
        )
    if summary.get("letters"):
        lines.append(
            "  " + _("%(letters)s letter(s) in the print batch") % {"letters": summary["letters"]}
        )
    lines.append(
        "  "
        + _("%(waiting)s action(s) waiting for approval")
        % {"waiting": summary.get("waiting_approval", 0)}
    )
    problems = selectors.problem_lines(summary)
    if problems:
        lines.append("")
        lines.append(_("Problems:"))
        lines.extend(f"  - {problem}" for problem in problems)
    lines.append("")
    lines.append(_("Every stage of the run is on the Daily cycle page."))
    return subject, "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# The periodic schedule
# --------------------------------------------------------------------------------------


def cycle_schedule_tick(*, now: dt.datetime | None = None) -> list[CycleRun]:
    """Start the cycles that are due at ``now``: for each company whose schedule says so,
    record its scheduled run of the day (the unique constraint lets only one scheduler
    do it) and hand it to a worker. A scheduled run still waiting long after it was
    recorded (its task was lost) is handed over again."""
    from incassa.cycle.tasks import run_cycle

    now = now or timezone.now()
    started = []
    for company, decision in selectors.companies_due(now):
        try:
            with transaction.atomic():
                run = CycleRun.objects.create(
                    company=company,
                    day=decision.day,
                    trigger=Trigger.SCHEDULE,
                    status=RunStatus.QUEUED,
                )
                run_cycle.enqueue(company.pk, decision.day.isoformat(), Trigger.SCHEDULE, run.pk)
        except IntegrityError:
            continue  # another scheduler recorded it first
        started.append(run)
    runs_abandoned_close(now=now)
    cutoff = now - dt.timedelta(seconds=conf.queued_grace_seconds())
    for run in CycleRun.objects.filter(
        trigger=Trigger.SCHEDULE, status=RunStatus.QUEUED, created_at__lt=cutoff
    ).select_related("company"):
        # Touch it so that it is handed over again only after another grace period.
        if CycleRun.objects.filter(pk=run.pk, created_at=run.created_at).update(created_at=now):
            run_cycle.enqueue(run.company_id, run.day.isoformat(), Trigger.SCHEDULE, run.pk)
            started.append(run)
    return started


def runs_abandoned_close(*, now: dt.datetime | None = None) -> list[CycleRun]:
    """Record as failed the runs still "running" long after they started (their worker
    was killed mid-way): their unfinished stages say so, and the company may run again."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=conf.stuck_after_seconds())
    closed = []
    for run in CycleRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=cutoff):
        with transaction.atomic():
            if not CycleRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                status=RunStatus.FAILED, finished_at=now
            ):
                continue
            run.stages.filter(status__in=[StageStatus.PENDING, StageStatus.RUNNING]).update(
                status=StageStatus.FAILED,
                error=_("The run stopped before this stage ended."),
                finished_at=now,
            )
        run.refresh_from_db()
        closed.append(run)
        logger.warning("cycle run %s was abandoned: recorded as failed", run.pk)
    return closed
