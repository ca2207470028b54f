"""The demo's days of dunning: the engine run each day, with operators doing their part.

Played between the demo's snapshots so that ``make run`` shows items at every stage, a
history behind each, and today's work still waiting (calls to make, notices to approve).
"""

from __future__ import annotations

import datetime as dt

from django.test.utils import override_settings

from incassa.dunning.delivery import outbox_deliver
from incassa.dunning.models import Action, ActionStatus, Channel
from incassa.dunning.services import action_approve, action_mark_done, dunning_run
from incassa.ledger.models import Company

# Operators are a little behind: what is this many days old gets done or approved.
OPERATOR_DELAY = 2


def demo_days_play(*, company: Company, start: dt.date, until: dt.date) -> int:
    """Run the engine for each day from ``start`` to the day before ``until``; returns the
    number of actions created. Emails are delivered to nowhere (the demo has no mail)."""
    created = 0
    day = start
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        while day < until:
            created += dunning_run(company=company, as_of=day).actions
            outbox_deliver(company=company, as_of=day)
            _operators_work(company, day - dt.timedelta(days=OPERATOR_DELAY))
            day += dt.timedelta(days=1)
    return created


def _operators_work(company: Company, up_to: dt.date) -> None:
    waiting = Action.objects.filter(
        company=company,
        scheduled_on__lte=up_to,
        status__in=[ActionStatus.CREATED, ActionStatus.APPROVED],
    )
    for action in waiting.filter(needs_approval=True, status=ActionStatus.CREATED):
        action_approve(action=action)
    for action in waiting.exclude(channel__in=[Channel.EMAIL, Channel.AGENT_EMAIL]):
        action_mark_done(action=action)
