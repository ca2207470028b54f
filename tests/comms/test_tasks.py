"""The delivery as a background task: enqueued after its transaction commits, and harmless
when it runs more than once."""

from __future__ import annotations

import datetime as dt

import pytest

from incassa.comms import tasks
from incassa.comms.models import Message, MessageStatus
from incassa.dunning.models import ActionStatus
from tests.factories import CustomerFactory, ReceivableFactory, action_with_items

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 26)


@pytest.fixture
def reminder(company):
    """The pre-due email to Rossi for one item due on 31/03/2026."""
    rossi = CustomerFactory(company=company, code="001", name="Rossi S.r.l.", emails="a@rossi.it")
    item = ReceivableFactory(company=company, customer=rossi, due_date=dt.date(2026, 3, 31))
    return action_with_items(company, rossi, "pre-due", [item], day=TODAY)


def test_deliver_outbox_runs_when_the_transaction_commits(
    company, reminder, sent_mail, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tasks.deliver_outbox.enqueue(company.pk, TODAY.isoformat())
        # Nothing is sent before the enqueuing transaction commits.
        assert sent_mail() == []
    assert len(callbacks) == 1
    (email,) = sent_mail()
    assert email["To"] == "a@rossi.it"
    assert Message.objects.get().status == MessageStatus.SENT
    reminder.refresh_from_db()
    assert reminder.status == ActionStatus.SENT


def test_deliver_outbox_twice_sends_once(company, reminder, sent_mail):
    first = tasks.deliver_outbox.call(company.pk, TODAY.isoformat())
    second = tasks.deliver_outbox.call(company.pk, TODAY.isoformat())
    # One message prepared and sent the first time; nothing left the second.
    assert (first["prepared"], first["sent"]) == (1, 1)
    assert (second["prepared"], second["sent"]) == (0, 0)
    assert len(sent_mail()) == 1


def test_the_result_is_plain_json(company, reminder):
    result = tasks.deliver_outbox.call(company.pk, TODAY.isoformat())
    assert result == {
        "prepared": 1,
        "sent": 1,
        "failed": 0,
        "retried": 0,
        "deferred": 0,
        "withdrawn": 0,
        "duplicates_avoided": 0,
        "errors": [],
    }
