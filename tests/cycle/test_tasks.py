"""``cycle.tasks``: ``run_cycle`` through the ``django_tasks`` seam (the test settings' queue
runs a task as soon as its transaction commits), and the tick Huey runs every minute."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from huey.contrib.djhuey import HUEY

from incassa.cycle.models import CycleRun, RunStatus, StageStatus, Trigger
from incassa.cycle.tasks import cycle_tick, run_cycle
from tests.cycle.conftest import DAY, MORNING

pytestmark = pytest.mark.django_db


def test_run_cycle_runs_the_day(company):
    outcome = run_cycle.call(company.pk, "2026-04-01", Trigger.MANUAL)
    run = CycleRun.objects.get(company=company)
    assert outcome == {"run": run.pk, "status": RunStatus.SUCCEEDED}
    assert (run.day, run.trigger) == (DAY, Trigger.MANUAL)
    assert run.stages.count() == 6


def test_enqueued_it_runs_once_the_transaction_commits(company, django_capture_on_commit_callbacks):
    waiting = CycleRun.objects.create(company=company, day=DAY, trigger=Trigger.MANUAL)
    with django_capture_on_commit_callbacks(execute=True):
        run_cycle.enqueue(company.pk, DAY.isoformat(), Trigger.MANUAL, waiting.pk)
        # Not before the commit: the worker must find the run recorded.
        waiting.refresh_from_db()
        assert waiting.status == RunStatus.QUEUED
    waiting.refresh_from_db()
    assert waiting.status == RunStatus.SUCCEEDED
    assert not waiting.stages.exclude(
        status__in=[StageStatus.SUCCEEDED, StageStatus.SKIPPED]
    ).exists()


def test_a_run_already_taken_is_left_alone(company):
    taken = CycleRun.objects.create(
        company=company, day=DAY, trigger=Trigger.SCHEDULE, status=RunStatus.RUNNING
    )
    outcome = run_cycle.call(company.pk, DAY.isoformat(), Trigger.SCHEDULE, taken.pk)
    assert outcome == {"run": taken.pk, "status": RunStatus.RUNNING}
    assert not taken.stages.exists()


def test_a_company_deleted_meanwhile(company):
    assert run_cycle.call(999_999, DAY.isoformat(), Trigger.SCHEDULE) == {
        "run": None,
        "status": "no such company",
    }


def test_the_tick_is_a_periodic_task_of_every_minute():
    # Huey asks which periodic tasks are due at a minute: the tick at every one.
    for minute in (dt.datetime(2026, 4, 1, 5, 0), dt.datetime(2026, 4, 1, 5, 37)):
        names = {task.name for task in HUEY.read_periodic(minute)}
        assert any(name.endswith("cycle_tick") for name in names)


def test_the_tick_starts_the_runs_that_are_due(company, django_capture_on_commit_callbacks):
    with time_machine.travel(MORNING, tick=False), django_capture_on_commit_callbacks(execute=True):
        started = cycle_tick.call_local()
    assert started == 1
    run = CycleRun.objects.get(company=company)
    assert (run.trigger, run.status) == (Trigger.SCHEDULE, RunStatus.SUCCEEDED)
    with time_machine.travel(MORNING + dt.timedelta(minutes=1), tick=False):
        assert cycle_tick.call_local() == 0
