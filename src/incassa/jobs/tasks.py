"""The jobs' tasks: running one job (enqueued by ``services.job_start``), and every minute,
on the worker that runs the schedule, enqueueing again the jobs a worker lost."""

from __future__ import annotations

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from incassa.jobs import services


@task()
def run_job(job_id: int) -> str:
    """Run job ``job_id`` if it is still to be run; safe to enqueue more than once."""
    return services.job_run(job_id)


@db_periodic_task(crontab(minute="*"), name="incassa.jobs.recover")
def recover_jobs() -> int:
    return services.jobs_recover()
