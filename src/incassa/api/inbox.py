"""``/api/inbox``: send a file to the company's import inbox, and list what came through it.

A file sent here is stored in the inbox (``cycle.services.inbox_receive``) and imported by
the next daily cycle (or ``incassa inbox process``), as if the ERP had dropped it into the
folder: receivables snapshots, e-invoices and bank statements are told apart by their
content. The answer (201) gives the file's id and status: ``received`` (waiting for the
next run) or ``duplicate`` (the same content was already imported: it will not be again).
Administrators and credit managers send; every role that sees the company as a whole lists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile

from incassa.api.auth import COMPANY_WIDE_ROLES, IMPORTING_ROLES, access_of
from incassa.api.common import READ_ERRORS, WRITE_ERRORS, page
from incassa.api.errors import ApiError
from incassa.api.schemas import ErrorOut, PageMeta, PageParams
from incassa.cycle import conf
from incassa.cycle.models import InboxFile
from incassa.cycle.selectors import inbox_files
from incassa.cycle.services import InboxError, inbox_receive

router = Router(tags=["inbox"])

InboxState = Literal["received", "processing", "done", "failed", "duplicate"]


class InboxFileOut(Schema):
    id: int
    name: str
    size: int
    checksum: str = Field(description="SHA-256 of the content.")
    kind: Literal["snapshot", "einvoices", "statement", "unknown"]
    status: InboxState
    message: str = Field(description="What the import said, or why the file failed.")
    source: str
    received_at: dt.datetime
    processed_at: dt.datetime | None
    import_id: int | None = Field(description="The import it became (see /api/imports).")


class InboxPage(PageMeta):
    items: list[InboxFileOut]


class InboxFilters(PageParams):
    status: InboxState | None = None


def _row(row: InboxFile) -> dict[str, Any]:
    return {
        "id": row.pk,
        "name": row.name,
        "size": row.size,
        "checksum": row.checksum,
        "kind": row.kind,
        "status": row.status,
        "message": row.message,
        "source": row.source,
        "received_at": row.received_at,
        "processed_at": row.processed_at,
        "import_id": row.import_run_id,
    }


@router.post(
    "/inbox",
    response={201: InboxFileOut, **WRITE_ERRORS, 413: ErrorOut},
    summary="Send a file to the import inbox",
)
def inbox_upload(request: HttpRequest, file: File[UploadedFile]) -> Status:
    """Store the file in the company's import inbox; the next daily cycle imports it.
    Administrators and credit managers only."""
    access = access_of(request)
    access.require_role(IMPORTING_ROLES, _("Only administrators and credit managers import."))
    if file.size is not None and file.size > conf.max_upload_bytes():
        raise ApiError(413, _("The file is too large."), code="too_large")
    user = access.user
    try:
        row = inbox_receive(
            company=access.company,
            name=file.name or "upload",
            data=file.chunks(),
            source=_("API (%(user)s, token %(token)s)")
            % {"user": user.get_username(), "token": access.token.prefix},
            user=user,
        )
    except InboxError as exc:
        raise ApiError(422, str(exc), code="invalid") from exc
    return Status(201, _row(row))


@router.get("/inbox", response={200: InboxPage, **READ_ERRORS}, summary="List the inbox's files")
def inbox_list(request: HttpRequest, filters: Query[InboxFilters]) -> dict[str, Any]:
    """The files that came into the company's import inbox, newest first, with what their
    import said."""
    access = access_of(request)
    access.require_role(COMPANY_WIDE_ROLES, _("Your role does not see the imports."))
    rows = inbox_files(access.company)
    if filters.status:
        rows = rows.filter(status=filters.status)
    meta, found = page(rows, filters)
    return {**meta, "items": [_row(row) for row in found]}
