"""``incassa dunning run`` on a day the company does not work says so, and runs as usual."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command

from incassa.comms import calendars

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("dunning", "run", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_working_day_has_no_notice(company):
    out, err = run("--date", "2026-03-26")  # a Thursday
    assert "Notice" not in out and err == ""
    assert out.startswith("Created 0 action(s)")


def test_a_sunday_is_said(company):
    out, _ = run("--date", "2026-03-29")
    assert out.splitlines()[0] == (
        "Notice: 29/03/2026 is not a working day for acme (Sunday); the next working day "
        "is 30/03/2026. The run goes on as usual."
    )
    assert out.splitlines()[1].startswith("Created 0 action(s)")


def test_a_holiday_and_a_closure_are_named(company):
    # Friday 25/12/2026 Christmas; 26 St Stephen, 27 Sunday: next Monday 28.
    out, _ = run("--date", "2026-12-25", "--dry-run")
    assert "(Christmas Day); the next working day is 28/12/2026" in out
    calendars.closure_add(
        company=company,
        starts_on=dt.date(2026, 8, 10),
        ends_on=dt.date(2026, 8, 21),
        description="Chiusura estiva",
    )
    # Wednesday 12/08 in the closure (10-21/08): next Monday 24/08.
    out, _ = run("--date", "2026-08-12")
    assert "(closure: Chiusura estiva); the next working day is 24/08/2026" in out


def test_json_stays_json_and_the_notice_goes_to_stderr(company):
    out, err = run("--date", "2026-03-28", "--json")  # a Saturday
    assert json.loads(out)["date"] == "2026-03-28"
    assert err.startswith("Notice: 28/03/2026 is not a working day for acme (Saturday)")
