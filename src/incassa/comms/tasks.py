"""Background tasks of communications (``django_tasks``, run by the Huey worker).

Arguments are ids and ISO dates, never model instances: a task is stored in the queue and
may run in another process, later.
"""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from incassa.comms.services import outbox_deliver
from incassa.ledger.models import Company


@task()
def deliver_outbox(company_id: int, day_iso: str, shard: int = 0, shards: int = 1) -> dict:
    """Prepare and send the company's due emails and PEC for the day; the delivery's counts.

    Safe to run several times at once (two workers, a retry of a task that seemed lost, the
    daily cycle): the outbox is claimed in batches under leases, so each message goes out
    once, and a later run finds nothing left to do. ``shard`` of ``shards``: the part of
    the day's messages this task writes (the daily cycle spreads them over its workers);
    it sends whatever is ready."""
    company = Company.objects.get(pk=company_id)
    result = outbox_deliver(
        company=company,
        today=dt.date.fromisoformat(day_iso),
        shard=(shard, shards) if shards > 1 else None,
    )
    return result.as_dict()
