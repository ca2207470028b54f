"""Reading jobs: a company's recent ones, one job with its live progress, and whether the
worker running a job is still alive.

A job's progress and heartbeat are written by the worker to the queue's own store (Huey's
key-value storage, shared by the web processes and the workers whatever the queue is): the
work it wraps often runs inside one long database transaction, whose writes no other
process sees until it commits. The job's row keeps the last values written outside such a
transaction and the final ones.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from incassa.jobs.models import Job, JobStatus
from incassa.ledger.models import Company

logger = logging.getLogger(__name__)

# A running job whose worker gave no sign of life for this long is taken as lost.
DEFAULT_STALE_SECONDS = 120
RECENT_JOBS = 50


def stale_seconds() -> int:
    return int(getattr(settings, "INCASSA_JOB_STALE_SECONDS", DEFAULT_STALE_SECONDS))


def progress_key(job_id: int) -> str:
    return f"incassa.job.{job_id}.progress"


def beat_key(job_id: int) -> str:
    return f"incassa.job.{job_id}.beat"


def queue_peek(key: str) -> Any:
    """The value the queue's store holds under ``key`` (left in place), None when there is
    none or the store cannot be reached (the job's row is then all there is to show)."""
    from huey.contrib.djhuey import HUEY

    try:
        return HUEY.get(key, peek=True)
    except Exception:  # the queue is down: the page still shows the row
        logger.warning("cannot read %s from the queue's store", key, exc_info=True)
        return None


def recent_jobs(company: Company, limit: int = RECENT_JOBS) -> QuerySet[Job]:
    return (
        Job.objects.filter(company=company)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class Progress:
    stage: str
    done: int
    total: int

    @property
    def percent(self) -> int | None:
        """How far along, 0 to 100; None when the work has not said how much there is."""
        if self.total <= 0:
            return None
        return max(0, min(100, round(100 * self.done / self.total)))


def job_progress(job: Job) -> Progress:
    """Where the job is: the worker's latest report while it runs, else the row's."""
    if job.status == JobStatus.RUNNING:
        live = queue_peek(progress_key(job.pk))
        if isinstance(live, dict):
            return Progress(
                stage=str(live.get("stage", "")),
                done=int(live.get("done", 0)),
                total=int(live.get("total", 0)),
            )
    if job.status == JobStatus.SUCCEEDED:
        total = max(job.total, job.done, 1)
        return Progress(stage=job.stage, done=total, total=total)
    return Progress(stage=job.stage, done=job.done, total=job.total)


def last_sign_of_life(job: Job) -> dt.datetime | None:
    """The newest of the row's heartbeat and the worker's heartbeat in the queue's store."""
    moments = [job.heartbeat_at]
    beat = queue_peek(beat_key(job.pk))
    if isinstance(beat, int | float):
        moments.append(dt.datetime.fromtimestamp(beat, tz=dt.UTC))
    return max((m for m in moments if m is not None), default=None)


def job_is_stale(job: Job, now: dt.datetime | None = None) -> bool:
    """Whether the job (running, or waiting for a worker) has given no sign of life for
    longer than the stale timeout: its worker died or its queue message was lost."""
    now = now or timezone.now()
    last = last_sign_of_life(job) or job.started_at or job.created_at
    return last < now - dt.timedelta(seconds=stale_seconds())
