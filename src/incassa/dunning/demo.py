"""The demo's days of dunning: the engine run each day, with operators doing their part.

Played between the demo's snapshots so that ``make run`` shows items at every stage, a
history behind each, and today's work still waiting (calls to make, notices to approve).
The last days go through the real communications pipeline, so the demo has emails (written
as .eml files under var/demo-mail, never sent) and a print batch of letters to look at;
earlier days' messages are simply marked as gone out.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.test.utils import override_settings
from django.utils import timezone

from incassa.dunning.models import MESSAGE_CHANNELS, Action, ActionStatus
from incassa.dunning.services import action_approve, action_mark_done, dunning_run
from incassa.ledger.models import Company

# Operators are a little behind: what is this many days old gets done or approved.
OPERATOR_DELAY = 2
# The days before the demo's today whose messages are really written.
WRITTEN_DAYS = 3


def demo_days_play(
    *,
    company: Company,
    start: dt.date,
    until: dt.date,
    written_from: dt.date | None = None,
    on_day: Callable[[Company, dt.date], object] | None = None,
) -> int:
    """Run the engine for each day from ``start`` to the day before ``until``; returns the
    number of actions created. Messages are written from ``written_from`` (default: the
    last ``WRITTEN_DAYS`` days before ``until``). ``on_day(company, day)`` runs after each
    day's run, before the operators' routine: the collectors' work (calls with their
    outcomes) lives in a later app."""
    from incassa.comms.services import CommsError, outbox_deliver, print_batch_create

    created = 0
    day = start
    if written_from is None:
        written_from = until - dt.timedelta(days=WRITTEN_DAYS)
    demo_mail = settings.VAR_DIR / "demo-mail"
    with override_settings(
        EMAIL_URL=f"file://{demo_mail}",
        PEC_EMAIL_URL="",
        INCASSA_DELIVERY_JOURNAL=demo_mail / "journal.jsonl",
    ):
        while day < until:
            started = timezone.now()
            created += dunning_run(company=company, as_of=day).actions
            if on_day is not None:
                on_day(company, day)
            _operators_work(company, day - dt.timedelta(days=OPERATOR_DELAY), written_from)
            if day >= written_from:
                outbox_deliver(company=company, today=day)
                with contextlib.suppress(CommsError):  # no letter that day
                    print_batch_create(company=company, day=day)
            _date_the_day(company, day, since=started)
            day += dt.timedelta(days=1)
    return created


def _date_the_day(company: Company, day: dt.date, *, since: dt.datetime) -> None:
    """What the services stamped with the real clock while playing ``day`` (sent, done,
    approved, posted) happened on ``day``: the histories and the effectiveness figures
    read these dates."""
    from incassa.comms.models import Message, PrintBatch

    zone = timezone.get_current_timezone()
    moment = dt.datetime.combine(day, dt.time(17, 0), tzinfo=zone)
    actions = Action.objects.filter(company=company)
    for field in ("sent_at", "done_at", "decided_at"):
        actions.filter(**{f"{field}__gte": since}).update(**{field: moment})
    Message.objects.filter(company=company, sent_at__gte=since).update(sent_at=moment)
    PrintBatch.objects.filter(company=company, posted_at__gte=since).update(posted_at=moment)


def _operators_work(company: Company, up_to: dt.date, written_from: dt.date) -> None:
    from incassa.comms.models import PrintBatch
    from incassa.comms.services import print_batch_mark_posted

    waiting = Action.objects.filter(
        company=company,
        scheduled_on__lte=up_to,
        status__in=[ActionStatus.CREATED, ActionStatus.APPROVED],
    )
    for action in waiting.filter(needs_approval=True, status=ActionStatus.CREATED):
        action_approve(action=action)
    # Calls and tasks are done; messages from before the written days count as gone out.
    for action in waiting.exclude(channel__in=MESSAGE_CHANNELS):
        action_mark_done(action=action)
    for action in waiting.filter(channel__in=MESSAGE_CHANNELS, scheduled_on__lt=written_from):
        action_mark_done(action=action)
    for batch in PrintBatch.objects.filter(company=company, day__lte=up_to, posted_at=None):
        print_batch_mark_posted(batch=batch)
