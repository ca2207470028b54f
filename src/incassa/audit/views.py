"""The audit pages: the trail of the current company, filtered, each entry with what it
changed, and the same list as CSV. For the company's administrators and auditors only
(403 for the other roles); an entry of another company is a 404."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from incassa.audit import selectors
from incassa.audit.models import AuditAction, Source
from incassa.core.exports import neutralize_formula
from incassa.ledger.models import Role
from incassa.web.customers import Access, _base_context, _int_or_none, company_page

AUDIT_ROLES = frozenset({Role.ADMINISTRATOR, Role.AUDITOR})
PAGE_SIZE = 50


def _check_role(access: Access) -> None:
    if access.role not in AUDIT_ROLES:
        raise PermissionDenied(_("Only administrators and auditors may read the audit trail."))


def type_label(object_type: str) -> str:
    """``ledger.customer`` -> "customer" in the user's language."""
    if not object_type:
        return ""
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def _date_or_none(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters(request: HttpRequest) -> selectors.EntryFilters:
    action = request.GET.get("action", "")
    return selectors.EntryFilters(
        user_id=_int_or_none(request.GET.get("user")),
        action=action if action in AuditAction.values else "",
        object_type=request.GET.get("type", "")[:100],
        date_from=_date_or_none(request.GET.get("from")),
        date_to=_date_or_none(request.GET.get("to")),
    )


def _query(filters: selectors.EntryFilters) -> dict[str, str]:
    values = {
        "user": str(filters.user_id or ""),
        "action": filters.action,
        "type": filters.object_type,
        "from": filters.date_from.isoformat() if filters.date_from else "",
        "to": filters.date_to.isoformat() if filters.date_to else "",
    }
    return {key: value for key, value in values.items() if value}


@company_page
def entry_list(request: HttpRequest, access: Access) -> HttpResponse:
    _check_role(access)
    filters = _filters(request)
    entries = selectors.filtered_entries(company=access.company, filters=filters)
    page = Paginator(entries, PAGE_SIZE).get_page(_int_or_none(request.GET.get("page")) or 1)
    query = _query(filters)
    context = {
        **_base_context(request, access),
        "page": page,
        "rows": [(entry, type_label(entry.object_type)) for entry in page.object_list],
        "filters": filters,
        "query": urlencode(query),
        "is_filtered": bool(query),
        "users": selectors.entry_users(company=access.company),
        "actions": AuditAction.choices,
        "types": [(t, type_label(t)) for t in selectors.object_types(company=access.company)],
    }
    return render(request, "audit/entries.html", context)


@company_page
def entry_detail(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    _check_role(access)
    entry = selectors.company_entries(company=access.company).filter(pk=pk).first()
    if entry is None:
        raise Http404("No such entry")
    context = {
        **_base_context(request, access),
        "entry": entry,
        "type_label": type_label(entry.object_type),
        "changes": selectors.diff(entry),
        "back_query": request.GET.get("back", "")[:500],
    }
    return render(request, "audit/entry.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_rows(entries: Any) -> Iterator[list[Any]]:
    yield [
        _("When"),
        _("User"),
        _("Action"),
        _("Object type"),
        _("Object id"),
        _("Object"),
        _("Before"),
        _("After"),
        _("Source"),
        _("IP address"),
        _("Request id"),
    ]
    actions = dict(AuditAction.choices)
    sources = dict(Source.choices)
    for entry in entries.iterator(chunk_size=2000):
        yield [
            timezone.localtime(entry.at).isoformat(timespec="seconds"),
            entry.username,
            str(actions.get(entry.action, entry.action)),
            entry.object_type,
            entry.object_id,
            entry.object_repr,
            _json(entry.before),
            _json(entry.after),
            str(sources.get(entry.source, entry.source)),
            entry.ip or "",
            entry.request_id,
        ]


def _json(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


@company_page
def entry_export(request: HttpRequest, access: Access) -> StreamingHttpResponse:
    """The filtered list as CSV; a cell a spreadsheet would run as a formula stays text."""
    _check_role(access)
    entries = selectors.filtered_entries(company=access.company, filters=_filters(request))
    writer = csv.writer(_Echo())
    lines = (
        writer.writerow([neutralize_formula(cell) for cell in row]) for row in _csv_rows(entries)
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    day = timezone.localdate().isoformat()
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{access.company.code}-{day}.csv"'
    )
    return response
