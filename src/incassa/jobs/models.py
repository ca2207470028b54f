"""A job: one piece of long work a person started from a page (an import, a recompute),
run by a worker in the background, with its progress and its outcome for the page to show.

The queue (``django_tasks`` over Huey) only carries the job's id; everything the page shows
and everything needed to run the job again lives here, so a lost queue message or a killed
worker never loses the job itself (``services.jobs_recover``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incassa.ledger.models import Company


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")


FINISHED = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})


class JobKind(models.TextChoices):
    """The kinds of work the pages start. The field is not limited to them: other work may
    name its own kind (shown as it is)."""

    RECEIVABLES_IMPORT = "receivables_import", _("Receivables snapshot import")
    EINVOICES_IMPORT = "einvoices_import", _("E-invoices import")
    STATEMENT_IMPORT = "statement_import", _("Bank statement import")
    REPORT_RECOMPUTE = "report_recompute", _("Credit report recompute")
    EFFECTIVENESS_RECOMPUTE = "effectiveness_recompute", _("Effectiveness recompute")


class Job(models.Model):
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="jobs", verbose_name=_("company")
    )
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    # What runs: a function of a services module and its (JSON) keyword arguments.
    function = models.CharField(_("function"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict, blank=True)
    # Uploaded files the job reads and removes once it is done for good.
    files = models.JSONField(_("files"), default=list, blank=True)
    # The page the job was started from, offered as the way back.
    back_url = models.CharField(_("back to"), max_length=500, blank=True)

    status = models.CharField(
        _("status"),
        max_length=10,
        choices=JobStatus.choices,
        default=JobStatus.QUEUED,
        db_index=True,
    )
    stage = models.CharField(_("stage"), max_length=200, blank=True)
    done = models.PositiveBigIntegerField(_("done"), default=0)
    total = models.PositiveBigIntegerField(_("total"), default=0)
    # A failure's text for the user: the error the work reported, never a traceback.
    message = models.TextField(_("message"), blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The last sign of life of the worker running it (or, while it waits, of its enqueueing).
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Which run of the job holds it now: a run taken over as stale no longer writes.
    runner = models.CharField(_("runner"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["company", "-created_at"], name="jobs_company_created"),
            models.Index(fields=["status", "heartbeat_at"], name="jobs_status_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def kind_label(self) -> str:
        try:
            return str(JobKind(self.kind).label)
        except ValueError:
            return self.kind
