"""Importing from the browser: a receivables snapshot (upload, check, map, confirm) and the
company's e-invoices (FatturaPA: upload and import at once).

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

E-invoices are the legal documents themselves, so there is nothing to map: the files are
imported at once, all or nothing (or without the refused files, when asked), and the
import's page lists every document with what became of it.

Both imports run as background jobs (``incassa.jobs``): confirming, or uploading e-invoices,
starts the job and shows its page, which follows its progress and then links to the
import's report. The job removes the uploaded files when it is done, except a snapshot
refused as a likely mistake, which stays for the user to apply anyway or discard.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from incassa.jobs.models import Job, JobKind
from incassa.jobs.services import job_start
from incassa.ledger import fatturapa, parsing
from incassa.ledger.models import ImportKind, ImportRun, ImportStatus, Role
from incassa.ledger.services import receivables_check
from incassa.web.customers import Access, DateInput, _base_context, _today, company_page

IMPORTING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
SESSION_UPLOADS = "incassa_uploads"
HISTORY_PAGE_SIZE = 25
ERRORS_SHOWN = 200
PEEK_ROWS = 8
# One upload of e-invoices: a month of a busy company's XML files, or a few archives of them.
MAX_EINVOICE_FILES = 500
EINVOICE_TOTAL_FACTOR = 4

# What became of each document of an e-invoice import, and the tag colour it is shown in.
EINVOICE_STATUSES = {
    "imported": (gettext_lazy("imported"), "applied"),
    "linked": (gettext_lazy("linked to an item already in the ledger"), "created"),
    "already imported": (gettext_lazy("already imported"), "skipped"),
    "rejected": (gettext_lazy("refused"), "rejected"),
}

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


class MultipleFileInput(forms.FileInput):
    """A file input that lets the user choose several files at once."""

    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field whose cleaned value is the list of the files given (at least one when
    required), each checked as a single ``FileField`` would be."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        given = list(data) if isinstance(data, list | tuple) else [data] if data else []
        if not given:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        single = super().clean
        return [single(upload, initial) for upload in given]


class EInvoiceUploadForm(forms.Form):
    files = MultipleFileField(
        label=gettext_lazy("E-invoices (XML, signed P7M, or ZIP archives of them)"),
        widget=MultipleFileInput(attrs={"accept": ".xml,.p7m,.zip"}),
    )
    skip_invalid = forms.BooleanField(
        label=gettext_lazy("Skip the refused files and import the others"), required=False
    )

    def clean_files(self) -> list[Any]:
        uploads = self.cleaned_data["files"]
        limit = _einvoice_file_limit()
        if len(uploads) > MAX_EINVOICE_FILES:
            raise forms.ValidationError(
                _("Too many files: %(count)s, at most %(limit)s at once (put them in a ZIP).")
                % {"count": len(uploads), "limit": MAX_EINVOICE_FILES}
            )
        problems = [
            _("%(name)s is too large: %(size)s MB, the limit is %(limit)s MB.")
            % {
                "name": upload.name,
                "size": upload.size // (1024 * 1024),
                "limit": limit // (1024 * 1024),
            }
            for upload in uploads
            if upload.size > limit
        ]
        if problems:
            raise forms.ValidationError(problems)
        total = sum(upload.size for upload in uploads)
        total_limit = settings.INCASSA_MAX_UPLOAD_BYTES * EINVOICE_TOTAL_FACTOR
        if total > total_limit:
            raise forms.ValidationError(
                _("The files are too large together: %(size)s MB, the limit is %(limit)s MB.")
                % {"size": total // (1024 * 1024), "limit": total_limit // (1024 * 1024)}
            )
        return uploads


def _einvoice_file_limit() -> int:
    """The largest e-invoice file accepted: the upload limit, but nothing larger than the
    largest archive the reader opens is worth holding in memory."""
    return min(
        settings.INCASSA_MAX_UPLOAD_BYTES,
        max(fatturapa.MAX_FILE_BYTES, fatturapa.MAX_ZIP_TOTAL_BYTES),
    )


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
    einvoice_form = EInvoiceUploadForm()
    if request.method == "POST":
        if not _may_import(access):
            raise PermissionDenied(_("Only administrators and credit managers import."))
        operation = request.POST.get("op", "")
        if operation == "einvoices":
            einvoice_form = EInvoiceUploadForm(request.POST, request.FILES)
            if einvoice_form.is_valid():
                return _import_einvoices(request, access, einvoice_form)
        elif operation in ("", "snapshot"):  # the snapshot form posts no operation
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                return _store_upload(request, access, form)
        else:
            return HttpResponseBadRequest(_("Unknown operation."))
    # The reports (up to 150 KB of JSON each) are for the detail page, not for the list.
    runs = (
        ImportRun.objects.filter(company=access.company)
        .select_related("imported_by")
        .defer("report")
    )
    page = Paginator(runs.order_by("-started_at", "-id"), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        **_base_context(request, access),
        "form": form,
        "einvoice_form": einvoice_form,
        "may_import": _may_import(access),
        "page": page,
        "max_upload_mb": settings.INCASSA_MAX_UPLOAD_BYTES // (1024 * 1024),
        "max_einvoice_files": MAX_EINVOICE_FILES,
        "max_einvoice_mb": _einvoice_file_limit() // (1024 * 1024),
        "max_einvoice_total_mb": settings.INCASSA_MAX_UPLOAD_BYTES
        * EINVOICE_TOTAL_FACTOR
        // (1024 * 1024),
    }
    failed = form.errors or einvoice_form.errors
    return render(request, "web/imports.html", context, status=400 if failed else 200)


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


def _import_einvoices(
    request: HttpRequest, access: Access, form: EInvoiceUploadForm
) -> HttpResponse:
    """Store the uploaded e-invoices and start their import; the job's page then follows
    it and links to the import's page, which lists what became of each document (and why
    a file was refused)."""
    folder = _uploads_dir(access) / f"einvoices-{secrets.token_urlsafe(16)}"
    folder.mkdir(parents=True, exist_ok=True)
    files: list[list[str]] = []
    for number, upload in enumerate(form.cleaned_data["files"], start=1):
        name = Path(upload.name).name[:200] or "einvoice.xml"
        # Numbered: two files of the upload may have the same name.
        target = folder / f"{number:04d}-{get_valid_filename(name) or 'einvoice.xml'}"
        with target.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        files.append([name, str(target)])
    job = job_start(
        company=access.company,
        user=request.user,
        kind=JobKind.EINVOICES_IMPORT,
        title=ngettext(
            "Import of %(count)s e-invoice file",
            "Import of %(count)s e-invoice files",
            len(files),
        )
        % {"count": len(files)},
        function="incassa.jobs.services.einvoices_import_job",
        kwargs={"files": files, "skip_invalid": form.cleaned_data["skip_invalid"]},
        files=[path for _name, path in files],
        back_url=reverse("web:imports"),
    )
    return redirect("web:job", pk=job.pk)


# --------------------------------------------------------------------------------------
# Checking, mapping, confirming
# --------------------------------------------------------------------------------------


@company_page
def import_check(request: HttpRequest, access: Access, token: str) -> HttpResponse:
    if not _may_import(access):
        raise PermissionDenied(_("Only administrators and credit managers import."))
    upload = _pending(request, access, token)
    job = _upload_job(access, upload)
    if job is not None and not job.is_finished:
        return redirect("web:job", pk=job.pk)  # being imported: nothing to do here
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

    refused = job is not None and (job.result or {}).get("error") == "refused"
    context: dict[str, Any] = {
        **_base_context(request, access),
        "token": token,
        "upload": {**upload, "refused": bool(upload.get("refused") or refused)},
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


def _upload_job(access: Access, upload: dict[str, Any]) -> Job | None:
    """The job that imports (or imported) this pending upload, if one was started."""
    if not upload.get("job"):
        return None
    return Job.objects.filter(company=access.company, pk=upload["job"]).first()


def _confirm(
    request: HttpRequest, access: Access, token: str, upload: dict[str, Any]
) -> HttpResponse:
    """Start the import of the checked file; its job's page follows it. The pending upload
    remembers the job: while it runs the check page sends there, and if the import is
    refused as a likely mistake the check page offers to apply it anyway."""
    job = job_start(
        company=access.company,
        user=request.user,
        kind=JobKind.RECEIVABLES_IMPORT,
        title=_("Import of %(file)s") % {"file": upload["name"]},
        function="incassa.jobs.services.receivables_import_job",
        kwargs={
            "path": upload["path"],
            "as_of": upload["as_of"],
            "partial": upload["partial"],
            "force": request.POST.get("force") == "1",
            "skip_invalid": request.POST.get("skip_invalid") == "1",
            "mapping": upload["mapping"] or None,
            "save_mapping": bool(upload.get("save_mapping")) and bool(upload["mapping"]),
            "source": "web",
        },
        files=[upload["path"]],
        back_url=reverse("web:import_check", kwargs={"token": token}),
    )
    upload["job"] = job.pk
    upload.pop("refused", None)
    _remember(request, token, upload)
    return redirect("web:job", pk=job.pk)


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
    is_einvoices = run.kind == ImportKind.EINVOICES
    context = {
        **_base_context(request, access),
        "run": run,
        "report": report,
        # An e-invoice import lists its refused files among its documents, with the reason.
        "errors": [] if is_einvoices else report.get("errors", []),
        "errors_total": report.get("errors_total", 0),
        "recognised": [
            (header, FIELD_LABELS.get(field, field))
            for header, field in (report.get("columns") or {}).items()
        ],
        "is_receivables": run.kind == ImportKind.RECEIVABLES,
        "is_einvoices": is_einvoices,
        "is_statement": run.kind == ImportKind.STATEMENT,
        "statement_applied": run.kind == ImportKind.STATEMENT
        and run.status == ImportStatus.APPLIED
        and "new_credits" in report,
        "amount_booked": _decimal_or_none(report.get("amount_booked")),
    }
    if is_einvoices:
        context["documents"] = _einvoice_documents(access, report.get("documents") or [])
        context["documents_total"] = report.get("documents_total", len(context["documents"]))
    return render(request, "web/import_detail.html", context)


def _decimal_or_none(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _einvoice_documents(access: Access, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's documents ready to show: dates and totals as values, labels for the
    codes, and the customer when the company has one under the code the report gives."""
    codes = {d.get("customer_code") for d in documents if d.get("customer_code")}
    known = set(access.customers.filter(code__in=codes).values_list("code", flat=True))
    rows = []
    for document in documents:
        status = document.get("status", "")
        label, tag = EINVOICE_STATUSES.get(status, (status, "event"))
        code = document.get("document_type", "")
        day = document.get("date") or ""
        try:
            date = dt.date.fromisoformat(day) if day else None
        except ValueError:
            date = None
        rows.append(
            {
                **document,
                "date": date,
                "total": _decimal_or_none(document.get("total")),
                "type_label": fatturapa.DOCUMENT_TYPES.get(code, code),
                "status_label": label,
                "status_tag": tag,
                "customer_known": document.get("customer_code") in known,
            }
        )
    return rows


urlpatterns = [
    path("imports/", import_list, name="imports"),
    path("imports/check/<str:token>/", import_check, name="import_check"),
    path("imports/<int:pk>/", import_detail, name="import_detail"),
]
