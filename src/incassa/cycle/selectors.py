"""Reading the daily cycle: schedules, who is due, runs and their stages, inbox files, and
the words the pages, the command and the summary email use for them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.core.formatting import format_day
from incassa.cycle import schedule as pure
from incassa.cycle.models import (
    CycleRun,
    CycleSchedule,
    CycleStage,
    InboxFile,
    InboxKind,
    InboxStatus,
    RunStatus,
    StageStatus,
    Trigger,
)
from incassa.ledger.models import Company, ImportKind, ImportRun, ImportStatus, Membership, Role

SUMMARY_ROLES = (Role.ADMINISTRATOR, Role.CREDIT_MANAGER)

STAGE_LABELS = {
    "inbox": gettext_lazy("Import inbox"),
    "scores": gettext_lazy("Scores and KPIs"),
    "strategies": gettext_lazy("Strategies"),
    "delivery": gettext_lazy("Emails and PEC"),
    "print": gettext_lazy("Print batch"),
    "summary": gettext_lazy("Summary email"),
}
REASONS = {
    "stale": gettext_lazy("No snapshot as of the day: the reminders wait."),
    "recomputed_by_import": gettext_lazy("Already recomputed after the snapshot's import."),
    "no_letters": gettext_lazy("No letters to print."),
    "no_recipients": gettext_lazy("Nobody to send it to: no address among the recipients."),
    "no_mail_account": gettext_lazy("No mail account is configured."),
}


# --------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------


def schedule_for(company: Company) -> CycleSchedule:
    """The company's schedule, or the default one unsaved."""
    return CycleSchedule.objects.filter(company=company).first() or CycleSchedule(company=company)


def schedule_spec(schedule: CycleSchedule) -> pure.Schedule:
    """The stored schedule as the pure module's; ScheduleError (a ValueError) when it
    cannot be followed."""
    return pure.Schedule(
        at=schedule.at,
        time_zone=schedule.time_zone,
        weekdays=schedule.weekday_numbers,
        skip_non_working=schedule.skip_non_working,
        enabled=schedule.enabled,
    )


def closed_reason(company: Company) -> pure.ClosedReason:
    """Why a day is not one of the company's working days, apart from the weekdays the
    schedule chooses: a public holiday (the patron saint's included) or a closure."""
    from incassa.comms.calendars import company_calendar

    calendar = company_calendar(company)

    def reason(day: dt.date) -> str | None:
        holiday = calendar.holiday(day)
        if holiday:
            return holiday
        closure = calendar.closure(day)
        if closure is not None:
            return closure.description or _("closed")
        return None

    return reason


def decision_for(company: Company, now: dt.datetime, schedule: CycleSchedule | None = None):
    """Whether the company's cycle is due at ``now`` (``schedule.Decision``)."""
    schedule = schedule or schedule_for(company)
    spec = schedule_spec(schedule)
    day = pure.local_day(now, spec)
    has_run = CycleRun.objects.filter(company=company, day=day, trigger=Trigger.SCHEDULE).exists()
    return pure.decide(now, spec, closed=closed_reason(company), has_run=has_run)


def next_run_at(company: Company, now: dt.datetime, schedule: CycleSchedule | None = None):
    """When the company's cycle next starts by itself, None when its schedule is off."""
    schedule = schedule or schedule_for(company)
    try:
        spec = schedule_spec(schedule)
    except ValueError:
        return None
    day = pure.local_day(now, spec)
    has_run = CycleRun.objects.filter(company=company, day=day, trigger=Trigger.SCHEDULE).exists()
    return pure.next_run(now, spec, closed=closed_reason(company), has_run=has_run)


def companies_due(now: dt.datetime) -> list[tuple[Company, pure.Decision]]:
    """The companies whose cycle is due at ``now``, with the day it is due for. A schedule
    that cannot be followed (a time zone removed from the system) is passed over."""
    schedules = {s.company_id: s for s in CycleSchedule.objects.all()}
    due = []
    for company in Company.objects.order_by("code"):
        schedule = schedules.get(company.pk) or CycleSchedule(company=company)
        if not schedule.enabled:
            continue
        try:
            decision = decision_for(company, now, schedule)
        except ValueError:
            continue
        if decision.due:
            due.append((company, decision))
    return due


def all_decisions(now: dt.datetime) -> list[tuple[Company, CycleSchedule, Any]]:
    """Every company with its schedule and whether it is due (``incassa cycle due``)."""
    schedules = {s.company_id: s for s in CycleSchedule.objects.all()}
    rows = []
    for company in Company.objects.order_by("code"):
        schedule = schedules.get(company.pk) or CycleSchedule(company=company)
        try:
            decision = decision_for(company, now, schedule)
        except ValueError as exc:
            decision = pure.Decision(False, now.date(), str(exc))
        rows.append((company, schedule, decision))
    return rows


# --------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------


def _full_snapshots(company: Company) -> QuerySet[ImportRun]:
    return ImportRun.objects.filter(
        company=company,
        kind=ImportKind.RECEIVABLES,
        status=ImportStatus.APPLIED,
        is_partial=False,
    )


def has_snapshot(company: Company, day: dt.date) -> bool:
    """Whether a full receivables snapshot as of ``day`` has been applied: without one the
    day is *stale*, the ledger may still show items paid since as open."""
    return _full_snapshots(company).filter(as_of=day).exists()


def last_snapshot_day(company: Company) -> dt.date | None:
    return _full_snapshots(company).order_by("-as_of").values_list("as_of", flat=True).first()


def stale_sentence(*, last: dt.date | None, sent_anyway: bool) -> str:
    """The warning of a day without its snapshot, for the dashboard and the summary."""
    if last is None:
        if sent_anyway:
            return _("No snapshot has been imported: today's reminders are sent anyway.")
        return _("No snapshot has been imported: today's reminders wait until one arrives.")
    if sent_anyway:
        return _("The last snapshot is as of %(day)s: today's reminders are sent anyway.") % {
            "day": format_day(last)
        }
    return _(
        "The last snapshot is as of %(day)s: today's reminders wait until a new one arrives."
    ) % {"day": format_day(last)}


def stale_notice(company: Company, today: dt.date) -> dict[str, Any] | None:
    """What the dashboard warns of when the company's cycle runs by itself and its last
    snapshot is older than today: the day of that snapshot, and whether the reminders go
    out anyway. None otherwise (no snapshot at all is the dashboard's own warning)."""
    schedule = schedule_for(company)
    if not schedule.enabled:
        return None
    last = last_snapshot_day(company)
    if last is None or last >= today:
        return None
    return {
        "day": last,
        "sent_anyway": schedule.send_when_stale,
        "text": stale_sentence(last=last, sent_anyway=schedule.send_when_stale),
    }


# --------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------


def active_run(company: Company) -> CycleRun | None:
    """A run of the company waiting to start or running (one abandoned long ago by a killed
    worker does not count: the tick records it as failed)."""
    from django.utils import timezone

    from incassa.cycle import conf

    since = timezone.now() - dt.timedelta(seconds=conf.stuck_after_seconds())
    return (
        CycleRun.objects.filter(
            company=company,
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING],
            created_at__gte=since,
        )
        .order_by("-id")
        .first()
    )


def _with_stages(runs: QuerySet[CycleRun]) -> QuerySet[CycleRun]:
    return runs.select_related("requested_by").prefetch_related(
        Prefetch("stages", queryset=CycleStage.objects.order_by("position"))
    )


def recent_runs(company: Company, *, limit: int = 20) -> list[CycleRun]:
    """The company's runs, newest first, with their stages."""
    return list(_with_stages(CycleRun.objects.filter(company=company)).order_by("-id")[:limit])


def company_run(company: Company, pk: int) -> CycleRun | None:
    """One run of the company (None for another company's: the pages answer 404)."""
    return _with_stages(CycleRun.objects.filter(company=company, pk=pk)).first()


def recent_inbox_files(company: Company, *, limit: int = 20) -> list[InboxFile]:
    return list(
        InboxFile.objects.filter(company=company)
        .select_related("import_run")
        .defer("import_run__report", "report")  # the list shows neither
        .order_by("-received_at", "-id")[:limit]
    )


def company_inbox_file(company: Company, pk: int) -> InboxFile | None:
    return InboxFile.objects.filter(company=company, pk=pk).select_related("import_run").first()


def inbox_files(company: Company) -> QuerySet[InboxFile]:
    return InboxFile.objects.filter(company=company).order_by("-received_at", "-id")


# --------------------------------------------------------------------------------------
# The summary
# --------------------------------------------------------------------------------------

_ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


def parse_recipients(text: str) -> list[str]:
    """The addresses of a recipients field (one a line, or separated by commas or
    semicolons), without repetitions; ValidationError naming an invalid one."""
    addresses = []
    for address in _ADDRESS_SEPARATORS.split(text or ""):
        if not address:
            continue
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(
                _("%(address)s is not an email address.") % {"address": address}
            ) from exc
        if address.lower() not in {a.lower() for a in addresses}:
            addresses.append(address)
    return addresses


def summary_recipients(company: Company, schedule: CycleSchedule | None = None) -> list[str]:
    """Who gets the summary email: the schedule's addresses, or else the company's
    administrators' and credit managers' (active users with an address)."""
    schedule = schedule or schedule_for(company)
    if schedule.recipients.strip():
        try:
            return parse_recipients(schedule.recipients)
        except ValidationError:
            return []
    emails = (
        Membership.objects.filter(company=company, role__in=SUMMARY_ROLES, user__is_active=True)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    return list(dict.fromkeys(emails))


def run_summary(run: CycleRun, stages: list[CycleStage]) -> dict[str, Any]:
    """The figures a run's summary tells (and ``incassa cycle status`` and the page):
    codes and numbers only; the words are chosen when it is shown."""
    from incassa.dunning.selectors import actions_waiting_for_approval

    by_name = {stage.name: stage for stage in stages}

    def result(name: str) -> dict[str, Any]:
        stage = by_name.get(name)
        return stage.result if stage is not None and isinstance(stage.result, dict) else {}

    schedule = schedule_for(run.company)
    last = last_snapshot_day(run.company)
    delivery = by_name.get("delivery")
    problems = [
        {"stage": stage.name, "error": stage.error}
        for stage in stages
        if stage.status == StageStatus.FAILED
    ]
    for error in result("delivery").get("errors") or []:
        problems.append({"stage": "delivery", "error": str(error)})
    for f in result("inbox").get("files") or []:
        if f.get("status") == InboxStatus.FAILED:
            problems.append({"stage": "inbox", "error": f"{f.get('name')}: {f.get('message')}"})
    return {
        "stale": run.stale,
        "send_when_stale": schedule.send_when_stale,
        "last_snapshot": last.isoformat() if last else None,
        "files": result("inbox").get("files") or [],
        "waiting_files": result("inbox").get("waiting") or [],
        "actions": result("strategies").get("actions", 0),
        "sent": result("delivery").get("sent", 0),
        "delivery_failed": result("delivery").get("failed", 0),
        "delivery_skipped": delivery is not None and delivery.reason == "stale",
        "letters": result("print").get("letters", 0),
        "waiting_approval": actions_waiting_for_approval(company=run.company).count(),
        "problems": problems,
        "stages": {stage.name: stage.status for stage in stages},
    }


def stage_label(name: str) -> str:
    return str(STAGE_LABELS.get(name, name))


def reason_text(code: str) -> str:
    """A skipped stage's reason in words."""
    if code.startswith("needs:"):
        return _("Not run: %(stage)s failed.") % {"stage": stage_label(code.split(":", 1)[1])}
    return str(REASONS.get(code, code))


def kind_label(kind: str) -> str:
    return str(InboxKind(kind).label) if kind in InboxKind.values else kind


def inbox_status_label(status: str) -> str:
    return str(InboxStatus(status).label) if status in InboxStatus.values else status


def problem_lines(summary: dict[str, Any]) -> list[str]:
    return [
        f"{stage_label(p.get('stage', ''))}: {p.get('error', '')}"
        for p in summary.get("problems") or []
    ]
