"""``/api/imports``: upload a receivables snapshot, and the history of the imports.

An upload goes through exactly what ``incassa import-receivables`` does
(``ledger.services.receivables_import``), from a temporary copy of the file: a file with
invalid rows is rejected whole (422, every rejected row with its row, column, value and
reason, nothing applied) unless ``skip_invalid``; one that would close too many items or is
older than the last snapshot is refused (409) unless ``force``.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path as FilePath
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Path, Query, Router, Status
from ninja.files import UploadedFile

from incassa.api.auth import COMPANY_WIDE_ROLES, IMPORTING_ROLES, ApiAccess, access_of
from incassa.api.common import READ_ERRORS, WRITE_ERRORS, page, username
from incassa.api.errors import ApiError, not_found
from incassa.api.schemas import (
    MAX_ID,
    ErrorOut,
    ImportApplied,
    ImportDetail,
    ImportFilters,
    ImportPage,
)
from incassa.ledger.models import ImportRun
from incassa.ledger.services import ImportRefused, ImportRejected, receivables_import

router = Router(tags=["imports"])

_UNSAFE = re.compile(r"[^\w.\- ]+")


def _safe_name(name: str | None) -> str:
    """The upload's own file name without any directory: the parser reads the format from
    its extension, and the history shows it."""
    base = FilePath((name or "").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip(" .")[:200]
    return base or "upload.csv"


def run_row(run: ImportRun) -> dict[str, Any]:
    return {
        "id": run.pk,
        "kind": run.kind,
        "file_name": run.file_name,
        "as_of": run.as_of,
        "partial": run.is_partial,
        "forced": run.is_forced,
        "status": run.status,
        "rows_read": run.rows_read,
        "rows_rejected": run.rows_rejected,
        "created": run.created,
        "updated": run.updated,
        "closed": run.closed,
        "reopened": run.reopened,
        "unchanged": run.unchanged,
        "customers_created": run.customers_created,
        "message": run.message,
        "source": run.source,
        "imported_by": username(run.imported_by),
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def _row_error(row: Any, column: Any, value: Any, reason: Any) -> dict[str, Any]:
    return {
        "row": int(row) if isinstance(row, int) else None,
        "column": str(column) if column else None,
        "value": None if value is None else str(value),
        "reason": str(reason),
    }


def run_detail(run: ImportRun) -> dict[str, Any]:
    report = run.report if isinstance(run.report, dict) else {}
    errors = report.get("errors") or []
    return {
        **run_row(run),
        "errors_total": int(report.get("errors_total") or len(errors)),
        "errors": [
            _row_error(e.get("row"), e.get("column"), e.get("value"), e.get("reason", ""))
            for e in errors
            if isinstance(e, dict)
        ],
    }


def _company_runs(access: ApiAccess):
    access.require_role(COMPANY_WIDE_ROLES, _("Your role does not see the imports."))
    return ImportRun.objects.filter(company=access.company).select_related("imported_by")


@router.post(
    "/imports",
    response={201: ImportApplied, **WRITE_ERRORS, 413: ErrorOut},
    summary="Upload a receivables snapshot",
)
def import_upload(
    request: HttpRequest,
    file: File[UploadedFile],
    as_of: Form[dt.date],
    partial: Form[bool] = False,
    skip_invalid: Form[bool] = False,
    force: Form[bool] = False,
) -> Status:
    """Apply a snapshot of the open items (CSV, XLSX, XLS, ODS) as of ``as_of``, as the
    ``import-receivables`` command does. Administrators and credit managers only."""
    access = access_of(request)
    access.require_role(IMPORTING_ROLES, _("Only administrators and credit managers import."))
    if file.size is not None and file.size > settings.INCASSA_MAX_UPLOAD_BYTES:
        raise ApiError(413, _("The file is too large."), code="too_large")
    with tempfile.TemporaryDirectory(prefix="incassa-api-") as directory:
        path = FilePath(directory) / _safe_name(file.name)
        with path.open("wb") as handle:
            for chunk in file.chunks():
                handle.write(chunk)
        try:
            result = receivables_import(
                company=access.company,
                path=path,
                as_of=as_of,
                partial=partial,
                force=force,
                skip_invalid=skip_invalid,
                user=access.user,
                source=f"API ({access.user.get_username()}, token {access.token.prefix})",
            )
        except ImportRejected as exc:
            raise ApiError(
                422,
                str(exc),
                code="import_rejected",
                details=[_row_error(e.row, e.column, e.value, e.reason) for e in exc.errors],
            ) from exc
        except ImportRefused as exc:
            raise ApiError(409, str(exc), code="import_refused") from exc
    summary = result.summary
    body = {
        "import_run": run_detail(result.import_run),
        "ledger": {
            "open_items": summary.open_items,
            "open_amount": summary.open_amount,
            "customers": summary.customers,
        },
    }
    return Status(201, body)


@router.get("/imports", response={200: ImportPage, **READ_ERRORS}, summary="List imports")
def import_list(request: HttpRequest, filters: Query[ImportFilters]) -> dict[str, Any]:
    """Every file given to an import (receivables and invoices), newest first."""
    runs = _company_runs(access_of(request)).order_by("-started_at", "-id")
    if filters.status:
        runs = runs.filter(status=filters.status)
    meta, rows = page(runs, filters)
    return {**meta, "items": [run_row(run) for run in rows]}


@router.get(
    "/imports/{import_id}", response={200: ImportDetail, **READ_ERRORS}, summary="An import"
)
def import_detail(request: HttpRequest, import_id: int = Path(..., ge=1, le=MAX_ID)) -> dict:
    """One import with its rejected rows (the first 1,000)."""
    run = _company_runs(access_of(request)).filter(pk=import_id).first()
    if run is None:
        raise not_found(_("No import with this id."))
    return run_detail(run)
