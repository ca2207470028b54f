"""Importing a receivables snapshot from the browser: upload, check, map, confirm.

The file is checked with the import's own rules before anything changes: the page shows
how it was read (format, encoding, delimiter, header row, which column is which field)
and every rejected row with its row, column, value and reason. Headers the import does not
know get a mapping form built on the file's first rows; the mapping can be saved for the
next files. Only then the user confirms, and the import runs all-or-nothing (or with the
valid rows only, when asked) exactly as the command does. The import history lists every
file given, applied or not, with its report.

Uploads are untrusted: their size is bounded before they are read, they are stored under
a random name in the company's upload folder, and they are removed after the import. Only
administrators and credit managers import (a snapshot changes the whole company's ledger);
the other roles of the company may read the history.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.ledger import parsing
from incassa.ledger.models import ImportKind, ImportRun, Role
from incassa.ledger.services import (
    ImportRefused,
    ImportRejected,
    receivables_check,
    receivables_import,
)
from incassa.web.customers import Access, DateInput, _base_context, _today, company_page

IMPORTING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
SESSION_UPLOADS = "incassa_uploads"
HISTORY_PAGE_SIZE = 25
ERRORS_SHOWN = 200
PEEK_ROWS = 8

# What each field of the import means, for the mapping form.
FIELD_LABELS = {
    "customer_code": gettext_lazy("Customer code"),
    "customer_name": gettext_lazy("Customer name"),
    "vat_number": gettext_lazy("VAT number"),
    "fiscal_code": gettext_lazy("Fiscal code"),
    "email": gettext_lazy("Email"),
    "pec": gettext_lazy("PEC"),
    "phone": gettext_lazy("Phone"),
    "address": gettext_lazy("Address"),
    "postal_code": gettext_lazy("Postal code"),
    "city": gettext_lazy("City"),
    "province": gettext_lazy("Province"),
    "country": gettext_lazy("Country"),
    "sales_agent": gettext_lazy("Sales agent"),
    "category": gettext_lazy("Category"),
    "payment_terms": gettext_lazy("Payment terms"),
    "credit_limit": gettext_lazy("Credit limit"),
    "document_type": gettext_lazy("Document type"),
    "document_number": gettext_lazy("Document number"),
    "document_date": gettext_lazy("Document date"),
    "due_date": gettext_lazy("Due date"),
    "amount": gettext_lazy("Amount"),
    "open_amount": gettext_lazy("Open amount"),
    "currency": gettext_lazy("Currency"),
}


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Receivables snapshot (CSV, XLSX, XLS or ODS)"))
    as_of = forms.DateField(label=gettext_lazy("Snapshot as of"), widget=DateInput())
    partial = forms.BooleanField(
        label=gettext_lazy("Partial: only adds and updates items (does not close missing ones)"),
        required=False,
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.INCASSA_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is too large: %(size)s MB, the limit is %(limit)s MB.")
                % {"size": upload.size // (1024 * 1024), "limit": limit // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload

    def clean_as_of(self) -> dt.date:
        as_of = self.cleaned_data["as_of"]
        if as_of > _today():
            raise forms.ValidationError(_("A snapshot cannot be dated in the future."))
        return as_of


def _may_import(access: Access) -> bool:
    return access.role in IMPORTING_ROLES


def _uploads_dir(access: Access) -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads" / access.company.code


def _pending(request: HttpRequest, access: Access, token: str) -> dict[str, Any]:
    """The upload ``token`` of this session and company (404 otherwise: a token is not a
    capability another user or company could use)."""
    upload = request.session.get(SESSION_UPLOADS, {}).get(token)
    if not upload or upload["company"] != access.company.code:
        raise Http404
    if not Path(upload["path"]).is_file():
        _forget(request, token)
        raise Http404
    return upload


def _remember(request: HttpRequest, token: str, upload: dict[str, Any]) -> None:
    uploads = request.session.get(SESSION_UPLOADS, {})
    uploads[token] = upload
    request.session[SESSION_UPLOADS] = uploads


def _forget(request: HttpRequest, token: str) -> None:
    uploads = request.session.get(SESSION_UPLOADS, {})
    upload = uploads.pop(token, None)
    request.session[SESSION_UPLOADS] = uploads
    if upload:
        shutil.rmtree(Path(upload["path"]).parent, ignore_errors=True)


# --------------------------------------------------------------------------------------
# The history and the upload
# --------------------------------------------------------------------------------------


@company_page
def import_list(request: HttpRequest, access: Access) -> HttpResponse:
    if access.is_sales_agent:
        raise PermissionDenied(_("Sales agents do not see the company's imports."))
    form = UploadForm(initial={"as_of": _today()})
    if request.method == "POST":
        if not _may_import(access):
            raise PermissionDenied(_("Only administrators and credit managers import."))
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            return _store_upload(request, access, form)
    runs = ImportRun.objects.filter(company=access.company).select_related("imported_by")
    page = Paginator(runs.order_by("-started_at", "-id"), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        **_base_context(request, access),
        "form": form,
        "may_import": _may_import(access),
        "page": page,
        "max_upload_mb": settings.INCASSA_MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "web/imports.html", context, status=400 if form.errors else 200)


def _store_upload(request: HttpRequest, access: Access, form: UploadForm) -> HttpResponse:
    token = secrets.token_urlsafe(16)
    folder = _uploads_dir(access) / token
    folder.mkdir(parents=True, exist_ok=True)
    upload = form.cleaned_data["file"]
    name = get_valid_filename(Path(upload.name).name) or "snapshot"
    target = folder / name
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    _remember(
        request,
        token,
        {
            "company": access.company.code,
            "path": str(target),
            "name": upload.name[:500],
            "as_of": form.cleaned_data["as_of"].isoformat(),
            "partial": form.cleaned_data["partial"],
            "mapping": {},
        },
    )
    return redirect("web:import_check", token=token)


# --------------------------------------------------------------------------------------
# Checking, mapping, confirming
# --------------------------------------------------------------------------------------


@company_page
def import_check(request: HttpRequest, access: Access, token: str) -> HttpResponse:
    if not _may_import(access):
        raise PermissionDenied(_("Only administrators and credit managers import."))
    upload = _pending(request, access, token)
    if request.method == "POST":
        operation = request.POST.get("op", "")
        if operation == "cancel":
            _forget(request, token)
            messages.info(request, _("The file was discarded: nothing was imported."))
            return redirect("web:imports")
        if operation == "map":
            return _map(request, token, upload)
        if operation == "confirm":
            return _confirm(request, access, token, upload)
        return HttpResponseBadRequest(_("Unknown operation."))

    context: dict[str, Any] = {
        **_base_context(request, access),
        "token": token,
        "upload": upload,
        "as_of": dt.date.fromisoformat(upload["as_of"]),
        "fields": list(FIELD_LABELS.items()),
    }
    try:
        check = receivables_check(
            company=access.company, path=upload["path"], mapping=upload["mapping"]
        )
    except parsing.ParseError as exc:
        context["problem"] = str(exc)
        context.update(_mapping_context(upload, header_row=None))
        return render(request, "web/import_check.html", context)
    parsed = check.parsed
    context.update(
        {
            "check": check,
            "parsed": parsed,
            "recognised": [
                (header, FIELD_LABELS.get(field, field)) for header, field in parsed.columns.items()
            ],
            "errors": check.errors[:ERRORS_SHOWN],
            "errors_total": len(check.errors),
            "rows_valid": parsed.rows_read - check.rows_rejected,
            **_mapping_context(upload, header_row=None),
        }
    )
    return render(request, "web/import_check.html", context)


def _mapping_context(upload: dict[str, Any], header_row: int | None) -> dict[str, Any]:
    """The file's first rows with, for the header row, the field each column is read as."""
    try:
        top = parsing.peek(
            upload["path"],
            rows=PEEK_ROWS,
            mapping=upload["mapping"] or None,
            max_bytes=settings.INCASSA_MAX_UPLOAD_BYTES,
        )
    except parsing.ParseError:
        return {"peek": None}
    index = top.header_index if top.header_index is not None else 0
    if header_row is not None and 0 <= header_row < len(top.rows):
        index = header_row
    width = max((len(row) for row in top.rows), default=0)
    header = top.rows[index] + [""] * (width - len(top.rows[index])) if top.rows else []
    chosen = {**top.columns} if index == top.header_index else {}
    for position, cell in enumerate(header):
        mapped = upload["mapping"].get(cell)
        if mapped:
            chosen[position] = mapped
    return {
        "peek": top,
        "peek_rows": [row + [""] * (width - len(row)) for row in top.rows],
        "header_index": index,
        "header_cells": [
            (position, cell, chosen.get(position, "")) for position, cell in enumerate(header)
        ],
    }


def _map(request: HttpRequest, token: str, upload: dict[str, Any]) -> HttpResponse:
    """Save the user's mapping (header text -> field) in the pending upload and check
    again; two columns cannot hold the same field."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key, value in request.POST.items():
        if not key.startswith("map-") or not value:
            continue
        header = request.POST.get(f"header-{key[4:]}", "").strip()
        if value not in FIELD_LABELS or not header:
            continue
        if value in seen:
            messages.error(
                request,
                _("Two columns (%(first)s, %(second)s) cannot both be the %(field)s.")
                % {"first": seen[value], "second": header, "field": FIELD_LABELS[value]},
            )
            return redirect("web:import_check", token=token)
        seen[value] = header
        mapping[header] = value
    upload["mapping"] = mapping
    upload["save_mapping"] = request.POST.get("save_mapping") == "1"
    _remember(request, token, upload)
    return redirect("web:import_check", token=token)


def _confirm(
    request: HttpRequest, access: Access, token: str, upload: dict[str, Any]
) -> HttpResponse:
    try:
        result = receivables_import(
            company=access.company,
            path=upload["path"],
            as_of=dt.date.fromisoformat(upload["as_of"]),
            partial=upload["partial"],
            force=request.POST.get("force") == "1",
            skip_invalid=request.POST.get("skip_invalid") == "1",
            mapping=upload["mapping"] or None,
            save_mapping=bool(upload.get("save_mapping")) and bool(upload["mapping"]),
            user=request.user,
            source="web",
        )
    except ImportRefused as exc:
        messages.error(request, _("The import was refused: %(reason)s.") % {"reason": exc})
        upload["refused"] = True
        _remember(request, token, upload)
        return redirect("web:import_check", token=token)
    except ImportRejected as exc:
        _forget(request, token)
        messages.error(request, _("The file was rejected: nothing was imported."))
        return redirect("web:import_detail", pk=exc.import_run.pk)
    _forget(request, token)
    run = result.import_run
    messages.success(
        request,
        _(
            "Imported: %(created)s new, %(updated)s updated, %(closed)s closed, "
            "%(unchanged)s unchanged."
        )
        % {
            "created": run.created,
            "updated": run.updated,
            "closed": run.closed,
            "unchanged": run.unchanged,
        },
    )
    return redirect("web:import_detail", pk=run.pk)


@company_page
def import_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    if access.is_sales_agent:
        raise PermissionDenied(_("Sales agents do not see the company's imports."))
    if request.method == "POST":
        return HttpResponseBadRequest(_("Unknown operation."))
    run = get_object_or_404(
        ImportRun.objects.filter(company=access.company).select_related("imported_by"), pk=pk
    )
    report = run.report or {}
    context = {
        **_base_context(request, access),
        "run": run,
        "report": report,
        "errors": report.get("errors", []),
        "errors_total": report.get("errors_total", 0),
        "recognised": [
            (header, FIELD_LABELS.get(field, field))
            for header, field in (report.get("columns") or {}).items()
        ],
        "is_receivables": run.kind == ImportKind.RECEIVABLES,
    }
    return render(request, "web/import_detail.html", context)


urlpatterns = [
    path("imports/", import_list, name="imports"),
    path("imports/check/<str:token>/", import_check, name="import_check"),
    path("imports/<int:pk>/", import_detail, name="import_detail"),
]
