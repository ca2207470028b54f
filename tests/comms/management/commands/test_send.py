"""``incassa send``: the day's emails as a scheduler runs them (exit 1 when one failed)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.comms.models import Message, MessageStatus
from incassa.dunning.models import ActionStatus
from tests.factories import CustomerFactory, ReceivableFactory, action_with_items

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 26)
KEYS = {
    "prepared",
    "sent",
    "failed",
    "retried",
    "deferred",
    "withdrawn",
    "duplicates_avoided",
    "errors",
}


def action_for(*args, **kwargs):
    kwargs.setdefault("day", TODAY)
    return action_with_items(*args, **kwargs)


@pytest.fixture
def reminder(company):
    """The pre-due email to Rossi for one item of 100,00 due on 31/03/2026."""
    rossi = CustomerFactory(company=company, code="001", name="Rossi S.r.l.", emails="a@rossi.it")
    item = ReceivableFactory(
        company=company, customer=rossi, document_number="FT-1", due_date=dt.date(2026, 3, 31)
    )
    return action_for(company, rossi, "pre-due", [item])


@pytest.fixture
def smtp(settings, smtp_server):
    controller, handler = smtp_server()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{controller.port}?timeout=10"
    return handler


def send(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("send", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json(reminder, sent_mail):
    out, _err = send("--date", "2026-03-26", "--json")
    result = json.loads(out)
    assert set(result) == KEYS
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
    (email,) = sent_mail()
    assert email["To"] == "a@rossi.it"
    # Nothing left to send the second time.
    again = json.loads(send("--date", "2026-03-26", "--json")[0])
    assert (again["prepared"], again["sent"]) == (0, 0)


def test_human_output(reminder):
    out, err = send("--date", "2026-03-26")
    assert out.strip() == "Prepared 1, sent 1, failed 0, waiting for a retry 0"
    assert err == ""


def test_nothing_scheduled_yet(reminder):
    # The action is scheduled on 26/03: a run for the day before sends nothing.
    out, _err = send("--date", "2026-03-25")
    assert out.strip() == "Prepared 0, sent 0, failed 0, waiting for a retry 0"
    assert not Message.objects.exists()


def test_a_permanent_failure_exits_1(reminder, smtp):
    smtp.data_reply = "550 5.1.1 no"
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command("send", "--date", "2026-03-26", "--json", stdout=out, stderr=err)
    assert caught.value.code == 1
    result = json.loads(out.getvalue())
    assert (result["prepared"], result["sent"], result["failed"]) == (1, 0, 1)
    message = Message.objects.get()
    (error,) = result["errors"]
    assert error == f"{message.customer_id}/{message.pk}: 550 5.1.1 no"
    assert message.status == MessageStatus.FAILED
    reminder.refresh_from_db()
    assert reminder.status == ActionStatus.FAILED


def test_a_permanent_failure_in_human_output(reminder, smtp):
    smtp.data_reply = "550 5.1.1 no"
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as caught:
        call_command("send", "--date", "2026-03-26", stdout=out, stderr=err)
    assert caught.value.code == 1
    assert out.getvalue().strip() == "Prepared 1, sent 0, failed 1, waiting for a retry 0"
    assert "550 5.1.1 no" in err.getvalue()


def test_a_temporary_failure_exits_0_and_waits(reminder, smtp):
    smtp.data_reply = "451 4.3.0 later"
    out, err = send("--date", "2026-03-26")
    # Not failed for good: no exit 1; the message waits for its retry.
    assert out.strip() == "Prepared 1, sent 0, failed 0, waiting for a retry 1"
    assert "451" in err
    assert Message.objects.get().status == MessageStatus.QUEUED


def test_errors(reminder):
    with pytest.raises(CommandError) as caught:
        send("--company", "nobody")
    assert caught.value.returncode == 2
    assert "no company with code 'nobody'" in str(caught.value)
    with pytest.raises(CommandError) as caught:
        send("--date", "26/03/2026")
    assert caught.value.returncode == 2
