"""The cycle's background tasks: ``run_cycle`` (one company's day, through the
``django_tasks`` seam) and the periodic tick that starts the runs that are due.

The tick runs every minute on the worker that has the scheduler (``INCASSA_SCHEDULER``).
Several schedulers do no harm: a scheduled run is recorded under a unique constraint on
(company, day) before its task is enqueued, so only one of them starts it, and a task that
finds its run already taken does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging

from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

logger = logging.getLogger(__name__)


@task()
def run_cycle(company_id: int, day_iso: str, trigger: str, run_id: int | None = None) -> dict:
    """Run the cycle of company ``company_id`` for ``day_iso`` (the run ``run_id`` when
    one was recorded as waiting). Returns the run's id and status."""
    from incassa.cycle.models import CycleRun
    from incassa.cycle.services import cycle_run
    from incassa.ledger.models import Company

    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        return {"run": None, "status": "no such company"}
    run = CycleRun.objects.filter(pk=run_id, company=company).first() if run_id else None
    done = cycle_run(company=company, day=dt.date.fromisoformat(day_iso), trigger=trigger, run=run)
    return {"run": done.pk, "status": done.status}


@db_periodic_task(crontab(minute="*"))
def cycle_tick() -> int:
    """Every minute: start the cycles that are due now. Returns how many it started."""
    from incassa.cycle.services import cycle_schedule_tick

    started = cycle_schedule_tick()
    if started:
        logger.info("daily cycle started for %s", ", ".join(r.company.code for r in started))
    return len(started)
