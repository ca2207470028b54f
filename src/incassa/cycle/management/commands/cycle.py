"""``incassa cycle run|status|due``: the daily cycle from the command line.

``run`` runs a company's cycle in the foreground for today (or ``--date``) and prints each
stage as it ends; it exits 1 when a stage failed. A day whose cycle already succeeded is
not run again without ``--force``. ``status`` lists the last runs, ``due`` says whose
cycle is due now and when each runs next.
"""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from incassa.core.formatting import format_day
from incassa.cycle import selectors
from incassa.cycle.models import CycleRun, CycleStage, RunStatus, StageStatus, Trigger
from incassa.cycle.services import cycle_run
from incassa.ledger.management.base import parse_date, resolve_company
from incassa.ledger.models import Company

STATUS_RUNS = 10


def _duration(value: dt.timedelta | None) -> str:
    if value is None:
        return "-"
    seconds = value.total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def stage_line(stage: CycleStage) -> str:
    """One stage in one line: its name, status, what it did or why not."""
    label = selectors.stage_label(stage.name)
    if stage.status == StageStatus.SKIPPED:
        detail = selectors.reason_text(stage.reason)
    elif stage.status == StageStatus.FAILED:
        detail = stage.error
    else:
        detail = _result_words(stage)
    attempts = f" (attempt {stage.attempts})" if stage.attempts > 1 else ""
    return f"  {label:<18} {stage.status:<9} {_duration(stage.duration):>8}  {detail}{attempts}"


def _result_words(stage: CycleStage) -> str:
    result = stage.result if isinstance(stage.result, dict) else {}
    if stage.name == "inbox":
        files = result.get("files") or []
        done = sum(f.get("status") == "done" for f in files)
        failed = sum(f.get("status") == "failed" for f in files)
        duplicate = sum(f.get("status") == "duplicate" for f in files)
        waiting = len(result.get("waiting") or [])
        return f"{len(files)} file(s): {done} imported, {failed} failed, {duplicate} duplicate" + (
            f"; {waiting} still being written" if waiting else ""
        )
    if stage.name == "scores":
        return f"{result.get('customers', 0)} customers, {result.get('items', 0)} items scored"
    if stage.name == "strategies":
        return f"{result.get('actions', 0)} action(s), {result.get('cancelled', 0)} cancelled"
    if stage.name == "delivery":
        return (
            f"{result.get('sent', 0)} sent, {result.get('failed', 0)} failed, "
            f"{result.get('deferred', 0)} deferred"
        )
    if stage.name == "print":
        return f"{result.get('letters', 0)} letter(s), {result.get('pages', 0)} page(s)"
    if stage.name == "summary":
        return "sent to " + ", ".join(result.get("recipients") or [])
    return ""


class Command(BaseCommand):
    help = "Run the daily cycle of a company, list its last runs, or say who is due now."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="run the cycle now, in the foreground")
        run.add_argument("--company", help="company code (needed when there are several)")
        run.add_argument("--date", help="the day to run (YYYY-MM-DD; default today)")
        run.add_argument(
            "--force", action="store_true", help="run even if the day's cycle already succeeded"
        )
        run.add_argument("--json", action="store_true", help="print one JSON object")
        status = sub.add_parser("status", help="the last runs and their stages")
        status.add_argument("--company", help="company code (default: every company)")
        status.add_argument("--limit", type=int, default=STATUS_RUNS)
        status.add_argument("--json", action="store_true", help="print JSON")
        sub.add_parser("due", help="whose cycle is due now, and when each runs next")

    def handle(self, *args: Any, **options: Any) -> None:
        # The command's output is English; the summary email is in the installation's
        # language whatever the shell's.
        with translation.override("en"):
            getattr(self, f"_{options['action']}")(options)

    def _run(self, options: dict) -> None:
        company = resolve_company(options["company"])
        day = parse_date(options["date"]) if options["date"] else _today(company)
        previous = (
            CycleRun.objects.filter(company=company, day=day, status=RunStatus.SUCCEEDED)
            .order_by("-id")
            .first()
        )
        if previous is not None and not options["force"]:
            self.stdout.write(
                f"The cycle of {format_day(day)} already succeeded (run #{previous.pk}): "
                "nothing to do (use --force to run it again)."
            )
            return
        if not options["json"]:
            self.stdout.write(f"Daily cycle of {company.code} for {format_day(day)}:")

        def printed(stage: CycleStage) -> None:
            if not options["json"]:
                self.stdout.write(stage_line(stage))

        run = cycle_run(company=company, day=day, trigger=Trigger.COMMAND, on_stage=printed)
        run.refresh_from_db()
        if options["json"]:
            self.stdout.write(json.dumps(_run_dict(run), default=str))
        else:
            if run.stale:
                self.stdout.write(
                    self.style.WARNING(
                        selectors.stale_sentence(
                            last=selectors.last_snapshot_day(company),
                            sent_anyway=selectors.schedule_for(company).send_when_stale,
                        )
                    )
                )
            self.stdout.write(f"Run #{run.pk}: {run.status}.")
        if run.stages.filter(status=StageStatus.FAILED).exists():
            raise CommandError("a stage of the cycle failed", returncode=1)

    def _status(self, options: dict) -> None:
        companies = (
            [resolve_company(options["company"])]
            if options["company"]
            else list(Company.objects.order_by("code"))
        )
        rows = []
        for company in companies:
            for run in selectors.recent_runs(company, limit=max(1, options["limit"])):
                rows.append(run)
        if options["json"]:
            self.stdout.write(json.dumps([_run_dict(r) for r in rows], default=str))
            return
        if not rows:
            self.stdout.write("No cycle has run yet.")
        for run in rows:
            started = (
                timezone.localtime(run.started_at).strftime("%H:%M") if run.started_at else "-"
            )
            self.stdout.write(
                f"#{run.pk} {run.company.code} {format_day(run.day)} {run.trigger:<8} "
                f"{run.status:<9} started {started}, {_duration(run.duration)}"
                + ("  [no snapshot of the day]" if run.stale else "")
            )
            for stage in run.stages.all():
                self.stdout.write(stage_line(stage))

    def _due(self, options: dict) -> None:
        now = timezone.now()
        rows = selectors.all_decisions(now)
        if not rows:
            self.stdout.write("No company yet.")
        for company, schedule, decision in rows:
            if decision.due:
                state = "due now"
            else:
                upcoming = selectors.next_run_at(company, now, schedule)
                when = upcoming.strftime("%d/%m/%Y %H:%M %Z") if upcoming else "never"
                state = f"not due ({decision.reason}); next {when}"
            self.stdout.write(
                f"{company.code:<20} {schedule.at:%H:%M} {schedule.time_zone:<16} {state}"
            )


def _today(company: Company) -> dt.date:
    """Today where the company's schedule hangs its clock."""
    try:
        spec = selectors.schedule_spec(selectors.schedule_for(company))
    except ValueError:
        return timezone.localdate()
    from incassa.cycle.schedule import local_day

    return local_day(timezone.now(), spec)


def _run_dict(run: CycleRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "company": run.company.code,
        "day": run.day.isoformat(),
        "trigger": run.trigger,
        "status": run.status,
        "stale": run.stale,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "stages": [
            {
                "name": stage.name,
                "status": stage.status,
                "reason": stage.reason,
                "attempts": stage.attempts,
                "error": stage.error,
                "result": stage.result,
            }
            for stage in run.stages.all()
        ],
        "summary": run.summary,
    }
