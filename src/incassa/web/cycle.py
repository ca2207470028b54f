"""The daily cycle's page: the company's runs with their stages, the schedule, the import
inbox, and "Run today's cycle now".

Everyone who sees the company as a whole reads it (sales agents do not: 403).
Administrators and credit managers change the schedule, start a run (handed to a worker:
the page shows it waiting, then running, refreshing itself with htmx while it does) and
drop a file into the inbox. A run or file of another company is a 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.core.formatting import format_day
from incassa.cycle import schedule as pure
from incassa.cycle import selectors
from incassa.cycle.models import CycleRun, CycleSchedule, InboxStatus, RunStatus, StageStatus
from incassa.cycle.services import (
    CycleError,
    InboxError,
    cycle_enqueue,
    inbox_folder,
    inbox_receive,
    schedule_update,
    summary_text,
)
from incassa.ledger.models import Role
from incassa.web.customers import Access, _base_context, _form_errors, company_page
from incassa.web.htmx import render_page

RUNS_SHOWN = 15
FILES_SHOWN = 20
# Who changes the schedule, starts a run, drops a file into the inbox.
MANAGING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
WEEKDAY_CHOICES = [
    ("0", gettext_lazy("Monday")),
    ("1", gettext_lazy("Tuesday")),
    ("2", gettext_lazy("Wednesday")),
    ("3", gettext_lazy("Thursday")),
    ("4", gettext_lazy("Friday")),
    ("5", gettext_lazy("Saturday")),
    ("6", gettext_lazy("Sunday")),
]
# The tag style of each status (the stylesheet's ``tag--*``).
TAGS = {
    RunStatus.QUEUED: "queued",
    RunStatus.RUNNING: "sending",
    RunStatus.SUCCEEDED: "done",
    RunStatus.PARTIAL: "late",
    RunStatus.FAILED: "failed",
    StageStatus.PENDING: "queued",
    StageStatus.SKIPPED: "skipped",
    InboxStatus.RECEIVED: "queued",
    InboxStatus.PROCESSING: "sending",
    InboxStatus.DONE: "done",
    InboxStatus.DUPLICATE: "skipped",
}


class ScheduleForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Run by itself"), required=False)
    at = forms.TimeField(
        label=gettext_lazy("At"), widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"})
    )
    time_zone = forms.CharField(label=gettext_lazy("Time zone"), max_length=60)
    weekdays = forms.MultipleChoiceField(
        label=gettext_lazy("On"),
        choices=WEEKDAY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
    )
    skip_non_working = forms.BooleanField(
        label=gettext_lazy("Skip public holidays, the patron saint's day and closure days"),
        required=False,
    )
    send_when_stale = forms.BooleanField(
        label=gettext_lazy("Send the reminders even when no snapshot of the day has arrived"),
        required=False,
    )
    recipients = forms.CharField(
        label=gettext_lazy("Summary email to"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "One address a line. Empty: the company's administrators and credit managers."
        ),
    )

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"].strip()
        try:
            pure.zone(value)
        except pure.ScheduleError as exc:
            raise ValidationError(_("Unknown time zone: %(zone)s.") % {"zone": value}) from exc
        return value

    def clean_weekdays(self) -> str:
        return pure.parse_weekdays(self.cleaned_data["weekdays"])

    def clean_recipients(self) -> str:
        addresses = selectors.parse_recipients(self.cleaned_data["recipients"])
        return "\n".join(addresses)

    @classmethod
    def of(cls, schedule: CycleSchedule) -> ScheduleForm:
        return cls(
            initial={
                "enabled": schedule.enabled,
                "at": schedule.at,
                "time_zone": schedule.time_zone,
                "weekdays": list(schedule.weekdays),
                "skip_non_working": schedule.skip_non_working,
                "send_when_stale": schedule.send_when_stale,
                "recipients": schedule.recipients,
            }
        )


class InboxUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))


def _refuse_sales_agents(access: Access) -> None:
    if access.is_sales_agent:
        raise PermissionDenied(_("The daily cycle is not shown to sales agents."))


def _company_today(schedule: CycleSchedule) -> dt.date:
    try:
        return pure.local_day(timezone.now(), selectors.schedule_spec(schedule))
    except ValueError:
        return timezone.localdate()


@company_page
def cycle(request: HttpRequest, access: Access) -> HttpResponse:
    _refuse_sales_agents(access)
    may_manage = access.role in MANAGING_ROLES
    schedule = selectors.schedule_for(access.company)
    form = ScheduleForm.of(schedule)
    upload_form = InboxUploadForm()
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied(_("Only administrators and credit managers manage the cycle."))
        op = request.POST.get("op")
        if op == "run":
            return _run_now(request, access, schedule)
        if op == "schedule":
            form = ScheduleForm(request.POST)
            if form.is_valid():
                try:
                    schedule_update(company=access.company, values=form.cleaned_data)
                except ValidationError as exc:
                    messages.error(request, "; ".join(exc.messages))
                else:
                    messages.success(request, _("The schedule has been saved."))
                    return redirect("web:cycle")
            else:
                _form_errors(request, form)
        elif op == "upload":
            upload_form = InboxUploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                return _upload(request, access, upload_form.cleaned_data["file"])
            _form_errors(request, upload_form)
        else:
            return HttpResponseBadRequest(_("Unknown operation."))
    context = _context(request, access, schedule, may_manage)
    context.update(form=form, upload_form=upload_form)
    return render_page(
        request, "web/cycle.html", "web/partials/cycle_runs.html", context, target="cycle-runs"
    )


def _context(
    request: HttpRequest, access: Access, schedule: CycleSchedule, may_manage: bool
) -> dict[str, Any]:
    company = access.company
    now = timezone.now()
    runs = selectors.recent_runs(company, limit=RUNS_SHOWN)
    active = selectors.active_run(company)
    files = selectors.recent_inbox_files(company, limit=FILES_SHOWN)
    folder = None
    if may_manage:
        try:
            folder = inbox_folder(company, create=False)
        except InboxError:
            folder = None
    return {
        **_base_context(request, access),
        "may_manage": may_manage,
        "schedule": schedule,
        "schedule_days": [
            str(label) for value, label in WEEKDAY_CHOICES if value in schedule.weekdays
        ],
        "next_run": selectors.next_run_at(company, now, schedule),
        "due_now": _due_now(company, now, schedule),
        "cycle_today": _company_today(schedule),
        "runs": [_run_view(run) for run in runs],
        "active_run": active,
        "stale": selectors.stale_notice(company, _company_today(schedule)),
        "files": [_file_view(f) for f in files],
        "inbox_folder": folder,
        "time_zones": pure.time_zones(),
    }


def _due_now(company: Any, now: dt.datetime, schedule: CycleSchedule) -> bool:
    try:
        return selectors.decision_for(company, now, schedule).due
    except ValueError:
        return False


def _run_now(request: HttpRequest, access: Access, schedule: CycleSchedule) -> HttpResponse:
    day = _company_today(schedule)
    try:
        cycle_enqueue(company=access.company, day=day, user=request.user)
    except CycleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Today's cycle (%(day)s) has been started: this page follows it.")
            % {"day": format_day(day)},
        )
    return redirect("web:cycle")


def _upload(request: HttpRequest, access: Access, upload: Any) -> HttpResponse:
    try:
        row = inbox_receive(
            company=access.company, name=upload.name, data=upload.chunks(), user=request.user
        )
    except InboxError as exc:
        messages.error(request, str(exc))
        return redirect("web:cycle")
    if row.status == InboxStatus.DUPLICATE:
        messages.warning(request, row.message)
    else:
        messages.success(
            request,
            _("%(name)s is in the inbox: the next cycle imports it.") % {"name": row.name},
        )
    return redirect("web:cycle")


def duration_text(value: dt.timedelta | None) -> str:
    """A duration as people read it: seconds with one decimal, or minutes."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 120:
        return _("%(seconds)s s") % {"seconds": number_format(round(seconds, 1), 1)}
    return _("%(minutes)s min") % {"minutes": number_format(round(seconds / 60, 1), 1)}


def _stage_view(stage: Any) -> dict[str, Any]:
    if stage.status == StageStatus.SKIPPED:
        detail = selectors.reason_text(stage.reason)
    elif stage.status == StageStatus.FAILED:
        detail = stage.error
    else:
        detail = stage_result_text(stage.name, stage.result)
    return {
        "stage": stage,
        "label": selectors.stage_label(stage.name),
        "tag": TAGS.get(stage.status, stage.status),
        "detail": detail,
        "duration": duration_text(stage.duration),
    }


def _run_view(run: CycleRun) -> dict[str, Any]:
    return {
        "run": run,
        "tag": TAGS.get(run.status, run.status),
        "duration": duration_text(run.duration),
        "stages": [_stage_view(stage) for stage in run.stages.all()],
    }


def _file_view(row: Any) -> dict[str, Any]:
    return {"file": row, "tag": TAGS.get(row.status, row.status)}


def stage_result_text(name: str, result: Any) -> str:
    """What a stage did, in one sentence."""
    result = result if isinstance(result, dict) else {}
    if name == "inbox":
        files = result.get("files") or []
        text = _(
            "%(count)s file(s): %(done)s imported, %(failed)s failed, %(duplicate)s "
            "already imported."
        ) % {
            "count": len(files),
            "done": sum(f.get("status") == InboxStatus.DONE for f in files),
            "failed": sum(f.get("status") == InboxStatus.FAILED for f in files),
            "duplicate": sum(f.get("status") == InboxStatus.DUPLICATE for f in files),
        }
        if result.get("waiting"):
            text += " " + _("%(count)s still being written, for the next run.") % {
                "count": len(result["waiting"])
            }
        return text
    if name == "scores":
        return _("%(customers)s customers and %(items)s items scored.") % {
            "customers": result.get("customers", 0),
            "items": result.get("items", 0),
        }
    if name == "strategies":
        return _("%(actions)s action(s), %(cancelled)s cancelled because paid.") % {
            "actions": result.get("actions", 0),
            "cancelled": result.get("cancelled", 0),
        }
    if name == "delivery":
        text = _("%(sent)s sent, %(failed)s failed, %(deferred)s to try again later.") % {
            "sent": result.get("sent", 0),
            "failed": result.get("failed", 0),
            "deferred": result.get("deferred", 0),
        }
        errors = result.get("errors") or []
        return text + (" " + "; ".join(str(e) for e in errors[:3]) if errors else "")
    if name == "print":
        return _("%(letters)s letter(s), %(pages)s page(s).") % {
            "letters": result.get("letters", 0),
            "pages": result.get("pages", 0),
        }
    if name == "summary":
        return _("Sent to %(recipients)s.") % {
            "recipients": ", ".join(result.get("recipients") or [])
        }
    return ""


@company_page
def cycle_run_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    """One run: its stages with what each did, and the summary it sent."""
    _refuse_sales_agents(access)
    if request.method == "POST":
        return HttpResponseBadRequest(_("Unknown operation."))
    run = selectors.company_run(access.company, pk)
    if run is None:
        raise Http404(_("No such run."))
    subject, body = summary_text(run) if run.is_finished else ("", "")
    context = {
        **_base_context(request, access),
        "item": _run_view(run),
        "summary_subject": subject,
        "summary_body": body,
        "problems": selectors.problem_lines(run.summary or {}),
    }
    return render_page(
        request,
        "web/cycle_run.html",
        "web/partials/cycle_run_part.html",
        context,
        target="cycle-run",
    )


@company_page
def cycle_inbox_file(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    """One file of the inbox: what its import said, or why it failed."""
    _refuse_sales_agents(access)
    if request.method == "POST":
        return HttpResponseBadRequest(_("Unknown operation."))
    row = selectors.company_inbox_file(access.company, pk)
    if row is None:
        raise Http404(_("No such file."))
    report = row.report if isinstance(row.report, dict) else {}
    context = {
        **_base_context(request, access),
        "file": row,
        "tag": TAGS.get(row.status, row.status),
        "report": report,
        "errors": [e for e in report.get("errors") or [] if isinstance(e, dict)],
        "errors_total": report.get("errors_total", 0),
    }
    return render(request, "web/cycle_inbox_file.html", context)


urlpatterns = [
    path("cycle/", cycle, name="cycle"),
    path("cycle/runs/<int:pk>/", cycle_run_detail, name="cycle_run"),
    path("cycle/inbox/<int:pk>/", cycle_inbox_file, name="cycle_inbox_file"),
]
