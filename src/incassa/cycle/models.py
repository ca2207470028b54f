"""The daily cycle's records: each company's schedule, every run with its stages, and every
file that came through the import inbox.

A run is the day's work of one company (import what waits, recompute, run the strategies,
deliver, print, tell the credit manager); each stage keeps its own status, attempts, result
and error, so that what happened on a given morning can be read afterwards and a failed
stage is never silently skipped.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

DEFAULT_AT = dt.time(7, 0)
DEFAULT_TIME_ZONE = "Europe/Rome"
DEFAULT_WEEKDAYS = "01234"  # Monday (0) to Friday (4)


class CycleSchedule(models.Model):
    """When a company's cycle runs by itself. A company without a row has the defaults:
    every working day at 07:00 in Rome, holidays and closures skipped."""

    company = models.OneToOneField(
        "ledger.Company",
        on_delete=models.CASCADE,
        related_name="cycle_schedule",
        verbose_name=_("company"),
    )
    enabled = models.BooleanField(_("runs by itself"), default=True)
    at = models.TimeField(_("at"), default=DEFAULT_AT)
    time_zone = models.CharField(_("time zone"), max_length=60, default=DEFAULT_TIME_ZONE)
    weekdays = models.CharField(
        _("weekdays"),
        max_length=7,
        default=DEFAULT_WEEKDAYS,
        help_text=_("The days of the week it runs on: 0 is Monday, 6 is Sunday."),
    )
    skip_non_working = models.BooleanField(
        _("skip holidays and closures"),
        default=True,
        help_text=_("Public holidays, the patron saint's day and the company's closure days."),
    )
    send_when_stale = models.BooleanField(
        _("send reminders without today's snapshot"),
        default=False,
        help_text=_(
            "Off: when no snapshot as of the day has arrived, the day's reminders wait "
            "(the last snapshot may still show paid items as open)."
        ),
    )
    recipients = models.TextField(
        _("summary recipients"),
        blank=True,
        help_text=_(
            "Email addresses, one a line or separated by commas. Empty: the company's "
            "administrators and credit managers."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("cycle schedule")
        verbose_name_plural = _("cycle schedules")

    def __str__(self) -> str:
        return f"{self.company}: {self.at:%H:%M} {self.time_zone}"

    @property
    def weekday_numbers(self) -> frozenset[int]:
        return frozenset(int(c) for c in self.weekdays if c.isdigit() and int(c) < 7)


class Trigger(models.TextChoices):
    SCHEDULE = "schedule", _("Schedule")
    MANUAL = "manual", _("From the page")
    COMMAND = "command", _("Command")


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    PARTIAL = "partial", _("Partly failed")
    FAILED = "failed", _("Failed")


FINISHED_STATUSES = (RunStatus.SUCCEEDED, RunStatus.PARTIAL, RunStatus.FAILED)


class CycleRun(models.Model):
    """One run of the cycle for a company and a day. The schedule starts at most one run
    per company and day (a constraint, so that several schedulers cannot both start it);
    a run from the page or the command may run a day again, and is recorded beside it."""

    company = models.ForeignKey(
        "ledger.Company",
        on_delete=models.CASCADE,
        related_name="cycle_runs",
        verbose_name=_("company"),
    )
    day = models.DateField(_("day"))
    trigger = models.CharField(_("started by"), max_length=20, choices=Trigger.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    stale = models.BooleanField(
        _("no snapshot of the day"),
        default=False,
        help_text=_("No receivables snapshot as of the run's day had been applied."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        verbose_name = _("cycle run")
        verbose_name_plural = _("cycle runs")
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "day"],
                condition=Q(trigger="schedule"),
                name="cyclerun_scheduled_once_a_day",
            )
        ]
        indexes = [models.Index(fields=["company", "-day", "-id"], name="cyclerun_company_day")]

    def __str__(self) -> str:
        return f"{self.company} {self.day} ({self.trigger}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class StageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class CycleStage(models.Model):
    """One stage of a run: what it did (``result``), or why it was skipped (``reason``, a
    code the pages put in words), or why it failed after its attempts (``error``)."""

    run = models.ForeignKey(
        CycleRun, on_delete=models.CASCADE, related_name="stages", verbose_name=_("run")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("stage"), max_length=30)
    status = models.CharField(
        _("status"), max_length=20, choices=StageStatus.choices, default=StageStatus.PENDING
    )
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("cycle stage")
        verbose_name_plural = _("cycle stages")
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "position"], name="cyclestage_position_once")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.position} {self.name}: {self.status}"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class InboxKind(models.TextChoices):
    SNAPSHOT = "snapshot", _("Receivables snapshot")
    EINVOICES = "einvoices", _("E-invoices (FatturaPA)")
    STATEMENT = "statement", _("Bank statement")
    UNKNOWN = "unknown", _("Not recognised")


class InboxStatus(models.TextChoices):
    RECEIVED = "received", _("Waiting")
    PROCESSING = "processing", _("Being imported")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")
    DUPLICATE = "duplicate", _("Already imported")


class InboxFile(models.Model):
    """A file that came into a company's import inbox (dropped into its folder, sent to the
    API or uploaded), and what its import said. Its content is imported once: a second
    file with the same SHA-256 is recorded as a duplicate and not imported again (a file
    that failed may be sent again)."""

    company = models.ForeignKey(
        "ledger.Company",
        on_delete=models.CASCADE,
        related_name="inbox_files",
        verbose_name=_("company"),
    )
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"), default=0)
    checksum = models.CharField(_("SHA-256"), max_length=64)
    kind = models.CharField(
        _("kind"), max_length=20, choices=InboxKind.choices, default=InboxKind.UNKNOWN
    )
    status = models.CharField(
        _("status"), max_length=20, choices=InboxStatus.choices, default=InboxStatus.RECEIVED
    )
    source = models.CharField(_("source"), max_length=200, blank=True)
    received_at = models.DateTimeField(_("received at"))
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    import_run = models.ForeignKey(
        "ledger.ImportRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("import"),
    )
    cycle_run = models.ForeignKey(
        CycleRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbox_files",
        verbose_name=_("cycle run"),
    )
    report = models.JSONField(_("report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("inbox file")
        verbose_name_plural = _("inbox files")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "checksum"],
                condition=Q(status="done"),
                name="inboxfile_imported_once",
            )
        ]
        indexes = [
            models.Index(fields=["company", "checksum"], name="inboxfile_checksum"),
            models.Index(fields=["company", "-received_at"], name="inboxfile_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.company} {self.name} ({self.status})"

    @property
    def message(self) -> str:
        """What the report says in one line, for the lists."""
        report = self.report if isinstance(self.report, dict) else {}
        return str(report.get("message") or "")
