"""The pages of background jobs: one job's progress and outcome, and the company's recent
jobs.

A page that starts long work (an import, a recompute) records a job and sends the user
here: the page shows the job's title and a progress bar, asks again every second while the
job waits or runs (htmx swaps the status part; without JavaScript the page refreshes
itself), and once it is finished says what came of it, with the way on: the import's
report, the payments, the page the job was started from.

Who: a job belongs to its company (another company's job is not found); its page is for
who started it and for the administrators and credit managers, who also see the list.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from incassa.jobs import selectors
from incassa.jobs.models import Job, JobKind, JobStatus
from incassa.ledger.models import Role
from incassa.web.customers import Access, _base_context, company_page
from incassa.web.htmx import render_page

JOB_READERS = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
STATUS_PART = "job-status"
# A job waiting this long for a worker is probably waiting for one that is not running.
NO_WORKER_SECONDS = 30

# The status tag's colour for each status.
STATUS_TAGS = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "sending",
    JobStatus.SUCCEEDED: "done",
    JobStatus.FAILED: "failed",
}
# What the work's stages mean, for the progress bar's caption.
STAGE_LABELS = {
    "reading": gettext_lazy("Reading the files"),
    "writing": gettext_lazy("Writing the ledger"),
}


def _visible_job(request: HttpRequest, access: Access, pk: int) -> Job:
    job = get_object_or_404(
        Job.objects.filter(company=access.company).select_related("created_by"), pk=pk
    )
    if access.role not in JOB_READERS and job.created_by_id != request.user.pk:
        raise PermissionDenied(_("Only who started a job and the credit managers see it."))
    return job


@company_page
def job_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    job = _visible_job(request, access, pk)
    if request.method == "POST":
        return HttpResponseBadRequest(_("Unknown operation."))
    context = {**_base_context(request, access), **job_context(job)}
    return render_page(
        request, "web/job.html", "web/partials/job_status.html", context, target=STATUS_PART
    )


@company_page
def job_list(request: HttpRequest, access: Access) -> HttpResponse:
    if access.role not in JOB_READERS:
        raise PermissionDenied(_("Only administrators and credit managers see the jobs."))
    if request.method == "POST":
        return HttpResponseBadRequest(_("Unknown operation."))
    jobs = list(selectors.recent_jobs(access.company))
    context = {
        **_base_context(request, access),
        "rows": [(job, STATUS_TAGS.get(job.status, ""), _error_text(job)) for job in jobs],
    }
    return render(request, "web/jobs.html", context)


def job_context(job: Job) -> dict[str, Any]:
    """What the job's page and its status part show."""
    progress = selectors.job_progress(job)
    waited = (
        job.status == JobStatus.QUEUED
        and (timezone.now() - job.created_at).total_seconds() > NO_WORKER_SECONDS
    )
    return {
        "job": job,
        "status_tag": STATUS_TAGS.get(job.status, ""),
        "progress": progress,
        "stage_label": STAGE_LABELS.get(progress.stage, progress.stage),
        "no_worker": waited,
        "lost": job.status == JobStatus.RUNNING and selectors.job_is_stale(job),
        "outcome": _outcome(job) if job.is_finished else None,
        "poll_url": reverse("web:job", args=[job.pk]),
    }


def _safe_back(job: Job) -> str:
    """The page the job was started from, when it is one of this site's."""
    url = job.back_url
    return url if url.startswith("/") and not url.startswith("//") else ""


def _error_text(job: Job) -> str:
    """A failed job's message in the reader's language, when it is one of the jobs' own."""
    if job.status != JobStatus.FAILED:
        return ""
    error = (job.result or {}).get("error")
    if error == "unexpected":
        return _(
            "The work stopped on an unexpected error; the administrators can read why in the log."
        )
    if error == "interrupted":
        return _(
            "The work was interrupted %(count)s times (its worker stopped): it was given up."
        ) % {"count": (job.result or {}).get("attempts", job.attempts)}
    return job.message or _("The work failed.")


def _outcome(job: Job) -> dict[str, Any]:
    """What came of a finished job: the lines to show and the links onward."""
    result = job.result or {}
    lines: list[str] = []
    links: list[tuple[str, str]] = []
    run = result.get("import_run")
    back = _safe_back(job)
    failed = job.status == JobStatus.FAILED
    error = result.get("error", "")

    if job.kind == JobKind.RECEIVABLES_IMPORT:
        if not failed:
            lines.append(
                _(
                    "Imported: %(created)s new, %(updated)s updated, %(closed)s closed, "
                    "%(unchanged)s unchanged."
                )
                % {key: result.get(key, 0) for key in ("created", "updated", "closed", "unchanged")}
            )
        elif error == "refused":
            lines.append(_("The import was refused: %(reason)s.") % {"reason": job.message})
            if back:
                links.append((back, _("Back to the file's check")))
        elif error == "rejected":
            lines.append(_("The file was rejected: nothing was imported."))
    elif job.kind == JobKind.EINVOICES_IMPORT:
        if not failed:
            lines.append(
                _(
                    "%(imported)s e-invoices imported, %(items)s items created, "
                    "%(skipped)s already imported"
                )
                % {key: result.get(key, 0) for key in ("imported", "items", "skipped")}
            )
            if result.get("refused"):
                lines.append(
                    ngettext(
                        "%(count)s refused file or document was skipped: the import's page "
                        "says why.",
                        "%(count)s refused files or documents were skipped: the import's page "
                        "says why.",
                        result["refused"],
                    )
                    % {"count": result["refused"]}
                )
        elif error in ("rejected", "import"):
            refused = result.get("rows_rejected", 0)
            lines.append(
                ngettext(
                    "%(count)s file or document was refused: nothing was imported. "
                    "The import's page says why.",
                    "%(count)s files or documents were refused: nothing was imported. "
                    "The import's page says why.",
                    refused,
                )
                % {"count": refused}
            )
    elif job.kind == JobKind.STATEMENT_IMPORT:
        if not failed:
            lines.append(
                _(
                    "%(new)s new payments (%(known)s imported before): %(booked)s matched and "
                    "booked, %(proposed)s proposed, %(left)s to match."
                )
                % {
                    key: result.get(key, 0)
                    for key in ("new", "known", "booked", "proposed", "left")
                }
            )
            links.append((reverse("web:payments"), _("Go to the payments")))
    elif job.kind == JobKind.REPORT_RECOMPUTE and not failed:
        lines.append(_("The figures have been recomputed."))
        if back:
            links.append((back, _("Back to the report")))

    if failed and not lines:
        lines.append(_error_text(job))
    if run:
        links.append((reverse("web:import_detail", args=[run]), _("See the import's report")))
    # A snapshot's check page is gone with its file, unless the import was refused.
    if job.kind == JobKind.RECEIVABLES_IMPORT:
        back = ""
    if back and not any(url == back for url, _label in links):
        links.append((back, _("Back to where it was started")))
    return {"failed": failed, "lines": lines, "links": links}


urlpatterns = [
    path("jobs/", job_list, name="jobs"),
    path("jobs/<int:pk>/", job_detail, name="job"),
]
