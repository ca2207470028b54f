"""``incassa cycle run|status|due`` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incassa.cycle.models import CycleRun, CycleSchedule, RunStatus, Trigger
from incassa.cycle.services import inbox_folder
from tests.cycle.conftest import DAY, snapshot_bytes
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def call(*args: str) -> str:
    out = StringIO()
    call_command("cycle", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_run_prints_each_stage(company, manager, morning):
    (inbox_folder(company) / "scad_2026-04-01.csv").write_bytes(snapshot_bytes())
    out = call("run", "--date", "2026-04-01")
    lines = out.splitlines()
    assert lines[0] == "Daily cycle of acme for 01/04/2026:"
    assert [line.split()[0] for line in lines[1:7]] == [
        "Import", "Scores", "Strategies", "Emails", "Print", "Summary"
    ]  # fmt: skip
    assert "1 file(s): 1 imported, 0 failed, 0 duplicate" in lines[1]
    assert "sent to manager@example.it" in lines[6]
    run = CycleRun.objects.get()
    assert lines[-1] == f"Run #{run.pk}: succeeded."
    assert run.trigger == Trigger.COMMAND


def test_run_without_the_days_snapshot_warns(company, morning):
    out = call("run", "--date", "2026-04-01")
    assert "No snapshot as of the day: the reminders wait." in out
    assert "No snapshot has been imported: today's reminders wait until one arrives." in out


def test_a_day_that_succeeded_is_not_run_again_without_force(company, morning):
    call("run", "--date", "2026-04-01")
    out = call("run", "--date", "2026-04-01")
    assert out.startswith("The cycle of 01/04/2026 already succeeded")
    assert CycleRun.objects.count() == 1
    call("run", "--date", "2026-04-01", "--force")
    assert CycleRun.objects.count() == 2


def test_a_failed_stage_exits_1(company, morning, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("no strategy")

    monkeypatch.setattr("incassa.dunning.services.dunning_run", broken)
    with pytest.raises(CommandError) as caught:
        call("run", "--date", "2026-04-01")
    assert caught.value.returncode == 1
    assert CycleRun.objects.get().status == RunStatus.PARTIAL


def test_run_json(company, morning):
    result = json.loads(call("run", "--date", "2026-04-01", "--json"))
    assert (result["day"], result["status"], result["stale"]) == ("2026-04-01", "succeeded", True)
    assert [s["name"] for s in result["stages"]] == [
        "inbox", "scores", "strategies", "delivery", "print", "summary"
    ]  # fmt: skip


def test_status_lists_the_last_runs(company, morning):
    call("run", "--date", "2026-03-31")
    call("run", "--date", "2026-04-01")
    out = call("status", "--company", "acme")
    runs = [line for line in out.splitlines() if line.startswith("#")]
    assert [line.split()[2] for line in runs] == ["01/04/2026", "31/03/2026"]
    assert "[no snapshot of the day]" in runs[0]
    assert json.loads(call("status", "--json", "--limit", "1"))[0]["day"] == "2026-04-01"


def test_due_says_who_and_when(company, morning):
    CycleSchedule.objects.create(company=CompanyFactory(code="beta"), at=dt.time(9, 30))
    out = call("due").splitlines()
    assert out[0].split()[:2] == ["acme", "07:00"]
    assert out[0].endswith("due now")
    # Beta at 09:30 on the same Wednesday.
    assert out[1].split()[:2] == ["beta", "09:30"]
    assert "not due (not before 09:30); next 01/04/2026 09:30 CEST" in out[1]


def test_an_unknown_company(company):
    with pytest.raises(CommandError, match="no company with code 'nope'"):
        call("run", "--company", "nope")
    assert DAY.isoformat() == "2026-04-01"
