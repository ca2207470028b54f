"""Starting and running jobs, and the long work the pages hand to them.

``job_start`` records a job and enqueues ``jobs.tasks.run_job`` once the transaction
commits (the ``django_tasks`` seam: Huey on SQLite, Redis or PostgreSQL, or at once in the
same process with ``INCASSA_QUEUE_URL=immediate``). ``job_run`` is what the task does, and
it may be called any number of times for one job:

- a job that succeeded or failed is not run again;
- a job another worker is running (its heartbeat is fresh) is left to it;
- a job marked running whose worker stopped beating (killed, its machine gone) is run
  again, at most ``MAX_ATTEMPTS`` times in all. The work it wraps must therefore be safe to
  run twice: the imports are (a snapshot applied twice leaves the ledger as the first left
  it, e-invoices and bank entries already imported are recognised and skipped), and a run
  cut short inside its transaction left nothing behind.

``jobs_recover`` (every minute on the worker that runs the schedule) enqueues again the
jobs whose queue message was lost with a worker.

The work itself is a plain function of a services module, called with the job's JSON
arguments, plus ``company`` and ``user`` (the job's) and ``on_progress`` when it has such
parameters. What it returns (a dict, or an object with ``as_dict()``) is kept as the job's
result. A person's mistake (``ImportFailed``, ``PaymentError``, ``ValidationError``) fails
the job with its message; anything else fails it with a short generic one, the traceback
going to the log only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from incassa.jobs import selectors
from incassa.jobs.models import Job, JobStatus
from incassa.ledger.models import Company
from incassa.ledger.services import ImportFailed, ImportRefused, ImportRejected
from incassa.payments.services import PaymentError

logger = logging.getLogger(__name__)

# A job interrupted this many times (its worker killed each time) fails for good.
MAX_ATTEMPTS = 3
# How often a running job says it is alive, and how often its progress is written at most.
HEARTBEAT_SECONDS = 10.0
PROGRESS_SECONDS = 1.0

USER_ERRORS: tuple[type[Exception], ...] = (ImportFailed, PaymentError, ValidationError)
# Failures after which the uploaded file is kept: the person may apply it anyway.
KEEP_FILES_ON: tuple[type[Exception], ...] = (ImportRefused,)

# Stored in English; the job's page shows them in the reader's language (web/jobs.py).
UNEXPECTED_MESSAGE = (
    "The work stopped on an unexpected error; the administrators can read why in the log."
)
GAVE_UP_MESSAGE = "The work was interrupted %(count)s times (its worker stopped): it was given up."


# --------------------------------------------------------------------------------------
# Starting
# --------------------------------------------------------------------------------------


def job_start(
    *,
    company: Company,
    user: Any,
    kind: str,
    title: str,
    function: str,
    kwargs: Mapping[str, Any] | None = None,
    files: Sequence[str | Path] = (),
    back_url: str = "",
) -> Job:
    """Record a job and enqueue it once the current transaction commits.

    ``function`` is the dotted path of a function of a services module; ``kwargs`` its
    arguments, JSON only (ids, ISO dates, paths: never model instances). ``files`` are
    uploaded files (under ``MEDIA_ROOT/uploads``) removed once the job is done for good.
    """
    _resolve(function)
    arguments = dict(kwargs or {})
    if json.loads(json.dumps(arguments)) != arguments:
        raise ValueError("a job's arguments must be plain JSON (strings, numbers, lists)")
    from incassa.jobs.tasks import run_job

    with transaction.atomic():
        job = Job.objects.create(
            company=company,
            kind=kind,
            title=title[:200],
            function=function,
            kwargs=arguments,
            files=[str(path) for path in files],
            back_url=back_url[:500],
            created_by=user if getattr(user, "pk", None) else None,
            heartbeat_at=timezone.now(),
        )
        run_job.enqueue(job.pk)
    return job


def _resolve(function: str) -> Callable[..., Any]:
    """The function a job runs: only a function of one of Incassa's services modules."""
    module, _dot, _name = function.rpartition(".")
    if not function.startswith("incassa.") or not module.endswith("services"):
        raise ValueError(f"a job runs a function of a services module, not {function!r}")
    found = import_string(function)
    if not inspect.isfunction(found):
        raise ValueError(f"{function!r} is not a function")
    return found


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


def job_run(job_id: int) -> str:
    """Run the job if it is to be run (see the module's docstring); say what happened:
    ``succeeded``, ``failed``, ``missing``, ``finished`` (already), ``running`` (elsewhere)
    or ``given up``."""
    runner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    claimed = _claim(job_id, runner)
    if not isinstance(claimed, Job):
        return claimed
    job = claimed
    progress = JobProgress(job.pk, runner)
    heartbeat = _Heartbeat(job.pk)
    heartbeat.start()
    keep_files = False
    try:
        function = _resolve(job.function)
        value = function(**_arguments(function, job, progress))
        status, message, result = JobStatus.SUCCEEDED, "", _as_result(value)
    except USER_ERRORS as exc:
        status, message, result = JobStatus.FAILED, _user_message(exc), _error_result(exc)
        keep_files = isinstance(exc, KEEP_FILES_ON)
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.function)
        status, message, result = JobStatus.FAILED, UNEXPECTED_MESSAGE, {"error": "unexpected"}
    finally:
        heartbeat.stop()
    finished = _finish(
        job, runner, status=status, message=message, result=result, progress=progress
    )
    if finished and not keep_files:
        remove_files(job.files)
    _forget_live_state(job.pk)
    return str(status)


def _claim(job_id: int, runner: str) -> Job | str:
    """Mark the job running for ``runner``, unless it is finished or alive elsewhere."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            return "missing"
        if job.is_finished:
            return "finished"
        if job.status == JobStatus.RUNNING:
            if not selectors.job_is_stale(job, now):
                return "running"
            if job.attempts >= MAX_ATTEMPTS:
                logger.error("job %s was interrupted %s times: given up", job.pk, job.attempts)
                job.status = JobStatus.FAILED
                job.message = GAVE_UP_MESSAGE % {"count": job.attempts}
                job.result = {"error": "interrupted", "attempts": job.attempts}
                job.finished_at = now
                job.save()
                transaction.on_commit(lambda: remove_files(job.files))
                return "given up"
            logger.warning(
                "job %s: its worker stopped (no heartbeat since %s), running it again",
                job.pk,
                selectors.last_sign_of_life(job),
            )
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.runner = runner
        job.message = ""
        job.save()
    return job


def _arguments(function: Callable[..., Any], job: Job, progress: JobProgress) -> dict[str, Any]:
    parameters = inspect.signature(function).parameters
    arguments = dict(job.kwargs)
    if "company" in parameters and "company" not in arguments:
        arguments["company"] = job.company
    if "user" in parameters and "user" not in arguments:
        arguments["user"] = job.created_by
    if "on_progress" in parameters:
        arguments["on_progress"] = progress
    return arguments


def _as_result(value: Any) -> dict[str, Any]:
    """What the work returned, as JSON for the job's page."""
    if value is None:
        return {}
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if not isinstance(value, Mapping):
        value = {"value": value}
    return json.loads(json.dumps(dict(value), cls=DjangoJSONEncoder))


def _user_message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(str(message) for message in exc.messages)
    return str(exc)


def _error_result(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ImportRefused):
        kind = "refused"
    elif isinstance(exc, ImportRejected):
        kind = "rejected"
    elif isinstance(exc, ImportFailed):
        kind = "import"
    elif isinstance(exc, PaymentError):
        kind = "payment"
    else:
        kind = "invalid"
    result: dict[str, Any] = {"error": kind}
    run = getattr(exc, "import_run", None)
    if run is not None and run.pk:
        result["import_run"] = run.pk
        result["rows_rejected"] = run.rows_rejected
    return result


def _finish(
    job: Job,
    runner: str,
    *,
    status: str,
    message: str,
    result: dict[str, Any],
    progress: JobProgress,
) -> bool:
    """Record the outcome, unless another run took the job over meanwhile (False)."""
    now = timezone.now()
    written = Job.objects.filter(pk=job.pk, runner=runner).update(
        status=status,
        message=message,
        result=result,
        stage=progress.stage,
        done=progress.done,
        total=progress.total,
        finished_at=now,
        heartbeat_at=now,
    )
    if not written:
        logger.warning("job %s was taken over by another run: its outcome is theirs", job.pk)
    return bool(written)


class JobProgress:
    """The ``on_progress(stage, done, total)`` given to the work: the latest values, written
    at most once every ``PROGRESS_SECONDS`` to the queue's store (which the page reads while
    the job runs) and, when the work is not inside a transaction, to the job's row."""

    def __init__(
        self, job_id: int, runner: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.job_id = job_id
        self.runner = runner
        self.stage = ""
        self.done = 0
        self.total = 0
        self.writes = 0
        self._clock = clock
        self._last: float | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.stage = str(stage)[:200]
        self.done = max(0, int(done))
        self.total = max(0, int(total))
        now = self._clock()
        if self._last is not None and now - self._last < PROGRESS_SECONDS:
            return
        self._last = now
        self.write()

    def write(self) -> None:
        self.writes += 1
        state = {"stage": self.stage, "done": self.done, "total": self.total}
        _queue_put(selectors.progress_key(self.job_id), state)
        if not connection.in_atomic_block:
            Job.objects.filter(pk=self.job_id, runner=self.runner).update(
                **state, heartbeat_at=timezone.now()
            )


class _Heartbeat:
    """A thread that tells, every ``HEARTBEAT_SECONDS``, that the job's worker is alive.
    It writes to the queue's store, not to the database: the work may hold the database's
    write lock (SQLite) for longer than the stale timeout."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"incassa-job-{job_id}-heartbeat", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=HEARTBEAT_SECONDS)

    def _beat(self) -> None:
        while True:
            _queue_put(selectors.beat_key(self.job_id), timezone.now().timestamp())
            if self._stop.wait(HEARTBEAT_SECONDS):
                return


def _queue_put(key: str, value: Any) -> None:
    from huey.contrib.djhuey import HUEY

    try:
        HUEY.put(key, value)
    except Exception:  # the queue's store is down: the job goes on, the page shows less
        logger.warning("cannot write %s to the queue's store", key, exc_info=True)


def _forget_live_state(job_id: int) -> None:
    from huey.contrib.djhuey import HUEY

    for key in (selectors.progress_key(job_id), selectors.beat_key(job_id)):
        try:
            HUEY.delete(key)
        except Exception:
            logger.warning("cannot remove %s from the queue's store", key, exc_info=True)


def remove_files(paths: Iterable[str]) -> None:
    """Remove a job's uploaded files, and their upload folder once empty. Only files under
    ``MEDIA_ROOT/uploads`` are ever removed."""
    root = (Path(settings.MEDIA_ROOT) / "uploads").resolve()
    for name in paths:
        path = Path(name).resolve()
        if not path.is_relative_to(root) or path == root:
            logger.warning("not removing %s: it is not an upload", path)
            continue
        path.unlink(missing_ok=True)
        folder = path.parent
        # uploads/<company>/<upload>/<file>: the upload's own folder goes with its last file.
        if len(folder.relative_to(root).parts) >= 2:
            with contextlib.suppress(OSError):  # other files of the upload are still there
                folder.rmdir()


def jobs_recover(*, now: dt.datetime | None = None) -> int:
    """Enqueue again the jobs a worker lost: those marked running whose worker stopped
    beating, and those waiting longer than the stale timeout (their queue message may
    have gone with a worker or a queue that was reset). Returns how many."""
    from incassa.jobs.tasks import run_job

    now = now or timezone.now()
    limit = now - dt.timedelta(seconds=selectors.stale_seconds())
    count = 0
    waiting = Job.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at=None)
    )
    for job in waiting.order_by("id"):
        if not selectors.job_is_stale(job, now):
            continue  # its worker beats in the queue's store: still at work
        with transaction.atomic():
            if job.status == JobStatus.QUEUED:
                # Taken as the moment it was last enqueued: once per stale period.
                Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(heartbeat_at=now)
            run_job.enqueue(job.pk)
        logger.warning("job %s (%s) enqueued again", job.pk, job.status)
        count += 1
    return count


# --------------------------------------------------------------------------------------
# The work the pages hand to jobs (arguments as JSON, results as JSON)
# --------------------------------------------------------------------------------------


def receivables_import_job(
    *,
    company: Company,
    user: Any,
    path: str,
    as_of: str,
    partial: bool = False,
    force: bool = False,
    skip_invalid: bool = False,
    mapping: dict[str, str] | None = None,
    save_mapping: bool = False,
    source: str = "web",
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """A snapshot uploaded from the imports page (``ledger.services.receivables_import``)."""
    from incassa.ledger.services import receivables_import

    result = receivables_import(
        company=company,
        path=path,
        as_of=dt.date.fromisoformat(as_of),
        partial=partial,
        force=force,
        skip_invalid=skip_invalid,
        mapping=mapping or None,
        save_mapping=save_mapping,
        user=user,
        source=source,
        on_progress=on_progress,
    )
    run = result.import_run
    return {
        "import_run": run.pk,
        "created": run.created,
        "updated": run.updated,
        "closed": run.closed,
        "unchanged": run.unchanged,
        "rows_rejected": run.rows_rejected,
    }


def einvoices_import_job(
    *,
    company: Company,
    user: Any,
    files: list[list[str]],
    skip_invalid: bool = False,
    source: str = "web",
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """E-invoices uploaded from the imports page: ``files`` are (name, path) pairs, the name
    being the one the user's file had (``ledger.einvoices.einvoices_import``)."""
    from incassa.ledger.einvoices import einvoices_import

    loaded: list[tuple[str, bytes | int]] = []
    for number, (name, path) in enumerate(files, start=1):
        loaded.append((name, Path(path).read_bytes()))
        if on_progress:
            on_progress("reading", number, len(files))
    result = einvoices_import(
        company=company, files=loaded, skip_invalid=skip_invalid, user=user, source=source
    )
    counts: dict[str, int] = {}
    for outcome in result.outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    run = result.import_run
    return {
        "import_run": run.pk,
        "imported": counts.get("imported", 0) + counts.get("linked", 0),
        "items": run.created,
        "skipped": counts.get("already imported", 0),
        "refused": counts.get("rejected", 0),
    }


def statement_import_job(
    *,
    company: Company,
    user: Any,
    name: str,
    path: str,
    mapping: dict[str, str] | None = None,
    account_iban: str = "",
    skip_invalid: bool = False,
    source: str = "",
) -> dict[str, Any]:
    """A bank statement uploaded from the payments page (``payments.services.statement_import``)."""
    from incassa.payments.services import statement_import

    result = statement_import(
        company=company,
        name=name,
        data=Path(path).read_bytes(),
        mapping=mapping or None,
        account_iban=account_iban,
        skip_invalid=skip_invalid,
        user=user,
        source=source,
    )
    return {
        "import_run": result.import_run.pk,
        "new": result.new_credits,
        "known": result.known_credits,
        "booked": result.matched,
        "proposed": result.proposed,
        "left": result.unmatched,
    }


def report_recompute_job(
    *, company: Company, as_of: str, period_start: str, scope_kind: str, scope_id: int | None
) -> dict[str, Any]:
    """The credit report's figures computed again (``credit.report_snapshots.kpi_figures``)."""
    from incassa.credit.kpis import Scope
    from incassa.credit.report_snapshots import kpi_figures

    stored = kpi_figures(
        company=company,
        as_of=dt.date.fromisoformat(as_of),
        period_start=dt.date.fromisoformat(period_start),
        scope=Scope(scope_kind, scope_id),
        recompute=True,
    )
    return {"snapshot": stored.snapshot.pk if stored.snapshot else None}


def effectiveness_recompute_job(
    *, company: Company, today: str, start: str | None, end: str | None
) -> dict[str, Any]:
    """What each step, channel and strategy brought in, computed again
    (``workspace.report_snapshots.effectiveness_snapshot_take``)."""
    from incassa.workspace.report_snapshots import effectiveness_snapshot_take

    effectiveness_snapshot_take(
        company=company,
        today=dt.date.fromisoformat(today),
        start=dt.date.fromisoformat(start) if start else None,
        end=dt.date.fromisoformat(end) if end else None,
    )
    return {}
