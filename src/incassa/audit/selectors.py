"""Reading the audit trail of one company."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from incassa.audit.models import ACCOUNT_ACTIONS, AuditEntry
from incassa.ledger.models import Company, Membership


@dataclass(frozen=True)
class EntryFilters:
    user_id: int | None = None
    action: str = ""
    object_type: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def company_entries(*, company: Company) -> QuerySet[AuditEntry]:
    """The company's entries, and the sign-ins and account changes of its members (which
    belong to no company); never another company's."""
    members = Membership.objects.filter(company=company).values("user_id")
    return AuditEntry.objects.filter(
        Q(company_id=company.pk)
        | Q(company_id__isnull=True, action__in=ACCOUNT_ACTIONS, user_id__in=members)
    )


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered_entries(*, company: Company, filters: EntryFilters) -> QuerySet[AuditEntry]:
    """Newest first; dates are whole days in the installation's time zone, both included."""
    entries = company_entries(company=company)
    if filters.user_id:
        entries = entries.filter(user_id=filters.user_id)
    if filters.action:
        entries = entries.filter(action=filters.action)
    if filters.object_type:
        entries = entries.filter(object_type=filters.object_type)
    if filters.date_from:
        entries = entries.filter(at__gte=_day_start(filters.date_from))
    if filters.date_to:
        entries = entries.filter(at__lt=_day_start(filters.date_to + dt.timedelta(days=1)))
    return entries.order_by("-at", "-id")


def object_types(*, company: Company) -> list[str]:
    return sorted(
        set(
            company_entries(company=company)
            .exclude(object_type="")
            .values_list("object_type", flat=True)
            .distinct()
        )
    )


def entry_users(*, company: Company) -> list[tuple[int, str]]:
    """(user id, name) of everyone with an entry of the company, by name."""
    rows = (
        company_entries(company=company)
        .exclude(user_id__isnull=True)
        .values_list("user_id", "username")
        .distinct()
    )
    names: dict[int, str] = {}
    for user_id, username in rows:
        names.setdefault(user_id, username)
    return sorted(names.items(), key=lambda row: (row[1].casefold(), row[0]))


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any
    changed: bool


def diff(entry: AuditEntry) -> list[FieldChange]:
    """Every field the entry names, with its value before and after, in the order the
    entry lists them."""
    before = entry.before if isinstance(entry.before, dict) else {}
    after = entry.after if isinstance(entry.after, dict) else {}
    names = list(dict.fromkeys([*before, *after]))
    return [
        FieldChange(
            field=name,
            before=before.get(name),
            after=after.get(name),
            changed=name not in before or name not in after or before[name] != after[name],
        )
        for name in names
    ]
