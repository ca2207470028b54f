"""A company's working calendar from the database, and changing it.

``company_calendar(company)`` is what every date that must fall on a working day asks
(follow-up tasks, snoozes, the notice of ``incassa dunning run``, and the daily cycle): a
``core.calendar.WorkingCalendar`` of Italy's public holidays, the company's province's
patron saint's day and the company's own closures. The rules live in the pure module; this
one only reads and writes the company's choices. (They sit in comms beside the company's
mail accounts: both are the company's settings page's.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from incassa.comms.models import CompanyCalendar, CompanyClosure
from incassa.core.calendar import Closure, WorkingCalendar, subdivisions
from incassa.ledger.models import Company

DEFAULT_COUNTRY = "IT"
# A closure longer than this is a typing mistake (a year instead of a month), not a closure.
MAX_CLOSURE_DAYS = 92


def calendar_settings(company: Company) -> CompanyCalendar:
    """The company's stored choices, or the default (Italy, no province) unsaved."""
    found = CompanyCalendar.objects.filter(company=company).first()
    return found or CompanyCalendar(company=company, country=DEFAULT_COUNTRY)


def company_calendar(company: Company, *, language: str | None = None) -> WorkingCalendar:
    """The company's working calendar; holiday names in ``language`` (default: the active
    one)."""
    chosen = calendar_settings(company)
    closures = [
        Closure(first, last, description)
        for first, last, description in CompanyClosure.objects.filter(company=company)
        .order_by("starts_on")
        .values_list("starts_on", "ends_on", "description")
    ]
    return WorkingCalendar(
        country=chosen.country,
        subdivision=chosen.subdivision,
        closures=closures,
        language=language or translation.get_language(),
    )


def calendar_set(*, company: Company, subdivision: str, user: Any = None) -> CompanyCalendar:
    """Choose the company's province (empty: the national holidays only)."""
    with transaction.atomic():
        chosen = CompanyCalendar.objects.select_for_update().filter(company=company).first()
        chosen = chosen or CompanyCalendar(company=company, country=DEFAULT_COUNTRY)
        subdivision = subdivision.strip()
        if subdivision and subdivision not in subdivisions(chosen.country):
            raise ValidationError(_("Unknown province: %(code)s.") % {"code": subdivision})
        chosen.subdivision = subdivision
        chosen.save()
        return chosen


def closure_add(
    *,
    company: Company,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    description: str,
    user: Any = None,
) -> CompanyClosure:
    """Add days the company is closed (one day when ``ends_on`` is None)."""
    ends_on = ends_on or starts_on
    description = description.strip()
    if not description:
        raise ValidationError(_("Say what the closure is, e.g. the August closure."))
    if ends_on < starts_on:
        raise ValidationError(_("A closure cannot end before it starts."))
    if (ends_on - starts_on).days + 1 > MAX_CLOSURE_DAYS:
        raise ValidationError(
            _("A closure lasts at most %(days)d days: check the dates.")
            % {"days": MAX_CLOSURE_DAYS}
        )
    with transaction.atomic():
        closure = CompanyClosure(
            company=company,
            starts_on=starts_on,
            ends_on=ends_on,
            description=description[:200],
        )
        closure.full_clean(exclude=["company"])
        closure.save()
        return closure


def closure_remove(*, closure: CompanyClosure, user: Any = None) -> None:
    with transaction.atomic():
        closure.delete()
