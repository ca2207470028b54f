"""Payments: the bank's incoming credits, their matching, and what the ERP has not booked.

The list shows what waits for a person first (proposed and unmatched payments), with the
statement upload above it. A payment's page offers the matcher's readings as one-click
confirmations, a split across the customer's open items with the amounts prefilled, the
customer's items oldest first, setting it aside, and undoing a match. The reconciliation
page lists the items the bank paid that the ERP's latest snapshot still shows owing more,
for the accountants.

A statement is imported as a background job (``incassa.jobs``): the upload (or, for a CSV
export, its check page) starts it and shows the job's page, which follows it and then links
to the payments and to the import's report. The job removes the stored file when done.

Who: administrators, credit managers and collectors match; administrators and credit
managers import statements and check the reconciliation; auditors read; sales agents do
not see the company's bank account.
"""

from __future__ import annotations

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
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incassa.core.fields import CENT
from incassa.jobs.models import JobKind
from incassa.jobs.services import job_start
from incassa.ledger.models import BankPaidItem, BankPaidStatus, Customer, ImportKind, Role
from incassa.payments import selectors, services
from incassa.payments.models import BankEntry, EntryStatus
from incassa.payments.statements import StatementError
from incassa.payments.statements_csv import CSV_FIELDS, csv_headers, read_csv_statement
from incassa.web.customers import Access, _base_context, _int_or_none, company_page

IMPORTING_ROLES = frozenset({Role.ADMINISTRATOR, Role.CREDIT_MANAGER})
PAGE_SIZE = 50
SESSION_STATEMENTS = "incassa_statements"
TABS = ("review", EntryStatus.MATCHED.value, EntryStatus.IGNORED.value, "all")

FIELD_LABELS = {
    "booking_date": gettext_lazy("Booking date"),
    "value_date": gettext_lazy("Value date"),
    "amount": gettext_lazy("Amount (signed)"),
    "credit_amount": gettext_lazy("Credit (incoming)"),
    "debit_amount": gettext_lazy("Debit (outgoing)"),
    "currency": gettext_lazy("Currency"),
    "counterparty_name": gettext_lazy("Payer or payee"),
    "counterparty_iban": gettext_lazy("Payer's IBAN"),
    "remittance": gettext_lazy("Description"),
    "bank_reference": gettext_lazy("Bank reference"),
    "transaction_code": gettext_lazy("Transaction code"),
    "account_iban": gettext_lazy("Account IBAN"),
}


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Bank statement (camt.053, camt.054, MT940 or CSV export)")
    )
    account_iban = forms.CharField(
        label=gettext_lazy("Account IBAN (CSV exports that do not name it)"),
        required=False,
        max_length=40,
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


def _may_import(access: Access) -> bool:
    return access.role in IMPORTING_ROLES


def _refuse_sales_agents(access: Access) -> None:
    if access.is_sales_agent:
        raise PermissionDenied(_("Sales agents do not see the company's bank payments."))


# --------------------------------------------------------------------------------------
# The list and the upload
# --------------------------------------------------------------------------------------


@company_page
def payment_list(request: HttpRequest, access: Access) -> HttpResponse:
    _refuse_sales_agents(access)
    form = StatementUploadForm()
    if request.method == "POST":
        operation = request.POST.get("op", "")
        if operation == "rematch":
            booked, proposed, unmatched = services.entries_rematch(
                company=access.company, user=request.user
            )
            messages.success(
                request,
                _("Matched again: %(booked)s booked, %(proposed)s proposed, %(left)s to match.")
                % {"booked": booked, "proposed": proposed, "left": unmatched},
            )
            return redirect("web:payments")
        if operation != "upload":
            return HttpResponseBadRequest(_("Unknown operation."))
        if not _may_import(access):
            raise PermissionDenied(_("Only administrators and credit managers import."))
        form = StatementUploadForm(request.POST, request.FILES)
        if form.is_valid():
            return _upload(request, access, form)
    tab = request.GET.get("tab", "review")
    if tab not in TABS:
        tab = "review"
    entries = selectors.entries_for_review(access.company, tab)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **_base_context(request, access),
        "form": form,
        "may_import": _may_import(access),
        "tab": tab,
        "tabs": [
            ("review", _("To review")),
            (EntryStatus.MATCHED.value, _("Matched")),
            (EntryStatus.IGNORED.value, _("Set aside")),
            ("all", _("All")),
        ],
        "counts": selectors.entry_counts(access.company),
        "page": page,
        "statements": selectors.statement_history(access.company)[:10],
        "differs": BankPaidItem.objects.filter(
            company=access.company, status=BankPaidStatus.DIFFERS
        ).count(),
        "max_upload_mb": settings.INCASSA_MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "web/payments.html", context, status=400 if form.errors else 200)


def _upload(request: HttpRequest, access: Access, form: StatementUploadForm) -> HttpResponse:
    upload = form.cleaned_data["file"]
    data = b"".join(upload.chunks())
    name = Path(upload.name).name[:200]
    if not services.is_structured_statement(data):
        return _store_csv(request, access, name, data, form.cleaned_data["account_iban"])
    folder = _uploads_dir(access) / f"statement-{secrets.token_urlsafe(16)}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (get_valid_filename(name) or "statement")
    target.write_bytes(data)
    return _run_import(request, access, name, target, mapping=None, account_iban="")


def _run_import(
    request: HttpRequest,
    access: Access,
    name: str,
    path: Path,
    *,
    mapping: dict[str, str] | None,
    account_iban: str,
    skip_invalid: bool = False,
) -> HttpResponse:
    """Start the import of the statement stored at ``path`` and show its job's page."""
    job = job_start(
        company=access.company,
        user=request.user,
        kind=JobKind.STATEMENT_IMPORT,
        title=_("Import of the statement %(file)s") % {"file": name},
        function="incassa.jobs.services.statement_import_job",
        kwargs={
            "name": name,
            "path": str(path),
            "mapping": mapping,
            "account_iban": account_iban,
            "skip_invalid": skip_invalid,
            "source": _("web upload"),
        },
        files=[str(path)],
        back_url=reverse("web:payments"),
    )
    return redirect("web:job", pk=job.pk)


# --------------------------------------------------------------------------------------
# CSV exports: which column holds what
# --------------------------------------------------------------------------------------


def _uploads_dir(access: Access) -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads" / access.company.code


def _store_csv(
    request: HttpRequest, access: Access, name: str, data: bytes, account_iban: str
) -> HttpResponse:
    token = secrets.token_urlsafe(16)
    folder = _uploads_dir(access) / f"statement-{token}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (get_valid_filename(name) or "statement.csv")
    target.write_bytes(data)
    pending = request.session.get(SESSION_STATEMENTS, {})
    pending[token] = {
        "company": access.company.code,
        "path": str(target),
        "name": name,
        "account_iban": account_iban,
    }
    request.session[SESSION_STATEMENTS] = pending
    return redirect("web:payment_statement_check", token=token)


def _pending(request: HttpRequest, access: Access, token: str) -> dict[str, Any]:
    upload = request.session.get(SESSION_STATEMENTS, {}).get(token)
    if not upload or upload["company"] != access.company.code:
        raise Http404
    if not Path(upload["path"]).is_file():
        _forget(request, token)
        raise Http404
    return upload


def _forget(request: HttpRequest, token: str, *, keep_file: bool = False) -> None:
    pending = request.session.get(SESSION_STATEMENTS, {})
    upload = pending.pop(token, None)
    request.session[SESSION_STATEMENTS] = pending
    if upload and not keep_file:
        shutil.rmtree(Path(upload["path"]).parent, ignore_errors=True)


def _mapping_from(request: HttpRequest, headers: list[str]) -> dict[str, str]:
    mapping = {}
    for index, header in enumerate(headers):
        value = request.POST.get(f"column_{index}", "")
        if value == "auto":
            continue
        if value and value not in CSV_FIELDS and value != "ignore":
            continue
        mapping[header] = value or "ignore"
    return mapping


@company_page
def statement_check(request: HttpRequest, access: Access, token: str) -> HttpResponse:
    """How a CSV export was read, a column mapping to correct it, and the import."""
    _refuse_sales_agents(access)
    if not _may_import(access):
        raise PermissionDenied(_("Only administrators and credit managers import."))
    upload = _pending(request, access, token)
    data = Path(upload["path"]).read_bytes()
    name = upload["name"]
    mapping: dict[str, str] = upload.get("mapping", {})
    try:
        headers = csv_headers(name, data)
    except StatementError as exc:
        _forget(request, token)
        messages.error(request, str(exc))
        return redirect("web:payments")
    if request.method == "POST":
        operation = request.POST.get("op", "")
        if operation == "cancel":
            _forget(request, token)
            return redirect("web:payments")
        mapping = _mapping_from(request, headers)
        upload["mapping"] = mapping
        upload["account_iban"] = request.POST.get("account_iban", "")[:40]
        pending = request.session.get(SESSION_STATEMENTS, {})
        pending[token] = upload
        request.session[SESSION_STATEMENTS] = pending
        if operation == "import":
            response = _run_import(
                request,
                access,
                name,
                Path(upload["path"]),
                mapping=mapping or None,
                account_iban=upload["account_iban"],
                skip_invalid=request.POST.get("skip_invalid") == "on",
            )
            _forget(request, token, keep_file=True)  # the job reads it, then removes it
            return response
    problem = ""
    read = None
    try:
        read = read_csv_statement(
            name, data, mapping=mapping or None, account_iban=upload.get("account_iban", "")
        )
    except StatementError as exc:
        problem = str(exc)
    columns = read.columns if read else {}
    context = {
        **_base_context(request, access),
        "token": token,
        "name": name,
        "problem": problem,
        "read": read,
        "account_iban": upload.get("account_iban", ""),
        "rows": [
            {
                "index": index,
                "header": header,
                "field": mapping.get(header, "auto"),
                "understood": FIELD_LABELS.get(columns.get(header, ""), ""),
            }
            for index, header in enumerate(headers)
        ],
        "fields": list(FIELD_LABELS.items()),
        "credits": [e for e in read.statement.entries if e.credit][:10]
        if read and read.statement
        else [],
        "errors": read.errors[:200] if read else [],
        "errors_total": len(read.errors) if read else 0,
    }
    return render(request, "web/payment_statement_check.html", context)


# --------------------------------------------------------------------------------------
# One payment
# --------------------------------------------------------------------------------------


def _amount(text: str) -> Decimal | None:
    """An amount typed in a form, Italian (1.234,56) or not (1234.56)."""
    text = (text or "").strip().replace(" ", "").replace("€", "")
    if not text:
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value.as_tuple().exponent < -2:
        return None
    return value.quantize(CENT)


@company_page
def payment_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    _refuse_sales_agents(access)
    entry = get_object_or_404(
        BankEntry.objects.filter(company=access.company).select_related(
            "customer", "statement__import_run", "matched_by"
        ),
        pk=pk,
    )
    if request.method == "POST":
        return _payment_post(request, access, entry)
    customer = None
    code = request.GET.get("customer", "").strip()
    if code:
        customer = Customer.objects.filter(company=access.company, code=code).first()
        if customer is None:
            messages.error(request, _("No customer with code %(code)s.") % {"code": code})
    customer = customer or entry.customer
    suggestions = selectors.entry_suggestions(entry)
    prefill: dict[int, Decimal] = {}
    if suggestions and customer is not None and suggestions[0].customer == customer:
        prefill = {item.pk: amount for item, amount in suggestions[0].allocations}
    items = selectors.customer_open_items(customer) if customer is not None else []
    search = request.GET.get("q", "").strip()
    found = []
    if search:
        found = list(
            Customer.objects.filter(company=access.company)
            .filter(Q(code__icontains=search) | Q(name__icontains=search))
            .order_by("name")[:20]
        )
    context = {
        **_base_context(request, access),
        "entry": entry,
        "suggestions": suggestions,
        "customer": customer,
        "items": [(item, prefill.get(item.pk)) for item in items],
        "allocations": entry.allocations.select_related(
            "receivable", "created_by", "reversed_by"
        ).order_by("id"),
        "search": search,
        "found": found,
        "is_open": entry.status in (EntryStatus.UNMATCHED, EntryStatus.PROPOSED)
        or (entry.status == EntryStatus.MATCHED and entry.unallocated_amount > 0),
        "confidence_label": entry.get_confidence_display(),
    }
    return render(request, "web/payment.html", context)


def _payment_post(request: HttpRequest, access: Access, entry: BankEntry) -> HttpResponse:
    operation = request.POST.get("op", "")
    try:
        if operation == "confirm":
            index = _int_or_none(request.POST.get("suggestion"))
            chosen = next((s for s in selectors.entry_suggestions(entry) if s.index == index), None)
            if chosen is None:
                messages.error(request, _("This suggestion no longer fits: choose again."))
                return redirect("web:payment", pk=entry.pk)
            services.entry_allocate(
                entry=entry,
                allocations=[(item.pk, amount) for item, amount in chosen.allocations],
                user=request.user,
            )
            messages.success(request, _("Payment matched."))
        elif operation == "split":
            allocations = []
            for key, value in request.POST.items():
                if not key.startswith("amount_") or not value.strip():
                    continue
                item_id = _int_or_none(key.removeprefix("amount_"))
                amount = _amount(value)
                if item_id is None or amount is None:
                    messages.error(request, _("%(value)s is not an amount.") % {"value": value})
                    return redirect("web:payment", pk=entry.pk)
                if amount:
                    allocations.append((item_id, amount))
            _check_items_of_company(access, [item_id for item_id, _a in allocations])
            services.entry_allocate(
                entry=entry,
                allocations=allocations,
                user=request.user,
                note=request.POST.get("note", ""),
            )
            messages.success(request, _("Payment matched."))
        elif operation == "assign":
            customer = get_object_or_404(
                Customer.objects.filter(company=access.company),
                pk=_int_or_none(request.POST.get("customer")),
            )
            services.entry_assign(entry=entry, customer=customer, user=request.user)
            messages.success(
                request,
                _("Payment set against the items of %(name)s, oldest first.")
                % {"name": customer.name or customer.code},
            )
        elif operation == "ignore":
            services.entry_ignore(entry=entry, user=request.user, note=request.POST.get("note", ""))
            messages.success(request, _("Payment set aside."))
        elif operation == "undo":
            services.entry_undo(entry=entry, user=request.user)
            messages.success(request, _("Match undone: the items owe again what it paid."))
        else:
            return HttpResponseBadRequest(_("Unknown operation."))
    except services.PaymentError as exc:
        messages.error(request, str(exc))
    return redirect("web:payment", pk=entry.pk)


def _check_items_of_company(access: Access, item_ids: list[int]) -> None:
    from incassa.ledger.models import Receivable

    found = Receivable.objects.filter(company=access.company, pk__in=item_ids).count()
    if found != len(set(item_ids)):
        raise Http404


# --------------------------------------------------------------------------------------
# Reconciliation with the ERP
# --------------------------------------------------------------------------------------


class CheckForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000)


@company_page
def reconciliation(request: HttpRequest, access: Access) -> HttpResponse:
    _refuse_sales_agents(access)
    if request.method == "POST":
        if not _may_import(access):
            raise PermissionDenied(_("Only administrators and credit managers check this."))
        watch = get_object_or_404(
            BankPaidItem.objects.filter(company=access.company),
            pk=_int_or_none(request.POST.get("item")),
        )
        form = CheckForm(request.POST)
        if form.is_valid():
            services.bank_paid_check(watch=watch, user=request.user, note=form.cleaned_data["note"])
            messages.success(request, _("Marked as checked."))
        return redirect("web:payments_reconciliation")
    status = request.GET.get("status", BankPaidStatus.DIFFERS.value)
    if status not in BankPaidStatus.values:
        status = BankPaidStatus.DIFFERS.value
    watches = (
        BankPaidItem.objects.filter(company=access.company, status=status)
        .select_related("receivable__customer", "checked_by", "flagged_by_import")
        .order_by("-flagged_on", "-paid_on", "receivable_id")
    )
    page = Paginator(watches, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **_base_context(request, access),
        "status": status,
        "statuses": BankPaidStatus.choices,
        "page": page,
        "may_check": _may_import(access),
        "statement_kind": ImportKind.STATEMENT,
    }
    return render(request, "web/payments_reconciliation.html", context)


urlpatterns = [
    path("payments/", payment_list, name="payments"),
    path("payments/reconciliation/", reconciliation, name="payments_reconciliation"),
    path("payments/statement/<str:token>/", statement_check, name="payment_statement_check"),
    path("payments/<int:pk>/", payment_detail, name="payment"),
]
