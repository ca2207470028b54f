"""Working days: a company's calendar of weekends, public holidays and its own closures.

Pure (no database): ``WorkingCalendar`` is built from a country, an optional subdivision
(Italian provinces have their patron saint's day: Milan 7 December, Rome 29 June) and the
company's closures; the public holidays come from the ``holidays`` package, computed once
per year and kept. ``comms.calendars.company_calendar`` builds a company's from the
database; everything that moves a date to a working day (tasks, snoozes, the daily cycle)
asks that calendar:

    calendar.is_working_day(day)
    calendar.next_working_day(day)        # day itself when it is a working day
    calendar.add_working_days(day, n)     # the n-th working day after day (before, n < 0)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import holidays

DAY = dt.timedelta(days=1)
SATURDAY, SUNDAY = 5, 6
# A search never walks further than this: a calendar closed for ten years is a mistake.
MAX_SEARCH_DAYS = 3660


class CalendarError(ValueError):
    """A calendar that cannot be built or answered (unknown subdivision, no working day)."""


class Kind:
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    CLOSURE = "closure"


@dataclass(frozen=True)
class Closure:
    """Days the company itself is closed, both ends included (e.g. the August closure)."""

    first: dt.date
    last: dt.date
    description: str = ""

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise CalendarError(f"a closure ends ({self.last}) before it starts ({self.first})")

    def __contains__(self, day: dt.date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Period:
    """One or more consecutive non-working days with one reason, for showing."""

    first: dt.date
    last: dt.date
    kind: str
    reason: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def subdivisions(country: str = "IT") -> dict[str, str]:
    """The country's subdivisions the ``holidays`` package knows, code -> name, by name
    (Italy: the provinces, and the few cities with their own patron saint's day)."""
    return dict(_subdivisions(country.upper()))


@cache
def _subdivisions(country: str) -> tuple[tuple[str, str], ...]:
    try:
        cls = holidays.country_holidays(country).__class__
    except NotImplementedError as exc:
        raise CalendarError(f"no public holidays known for the country {country!r}") from exc
    names: dict[str, str] = {}
    for alias, code in getattr(cls, "subdivisions_aliases", {}).items():
        names.setdefault(code, alias)
    result = {code: names.get(code, code) for code in cls.subdivisions}
    if "Forli" in result:
        result["Forli"] = "Forlì"
    return tuple(sorted(result.items(), key=lambda pair: pair[1].casefold()))


@cache
def _public_holidays(
    country: str, subdivision: str, year: int, language: str | None
) -> dict[dt.date, str]:
    try:
        found = holidays.country_holidays(
            country, subdiv=subdivision or None, years=year, language=language
        )
    except NotImplementedError as exc:
        raise CalendarError(
            f"unknown country {country!r} or subdivision {subdivision!r} for public holidays"
        ) from exc
    return {day: str(name) for day, name in found.items()}


def _language_for(country: str, language: str | None) -> str | None:
    """The ``holidays`` language closest to a Django one ("it" -> "it_IT"), or None (the
    country's own) when the package does not have it."""
    if not language:
        return None
    try:
        supported = holidays.country_holidays(country).supported_languages
    except NotImplementedError:
        return None
    wanted = language.replace("-", "_").lower()
    for candidate in supported:
        if candidate.lower() == wanted:
            return candidate
    for candidate in supported:
        if candidate.split("_")[0].lower() == wanted.split("_")[0]:
            return candidate
    return None


class WorkingCalendar:
    """Which days are working days: not a weekend day, not a public holiday of the country
    (and subdivision), not in one of the company's closures."""

    def __init__(
        self,
        *,
        country: str = "IT",
        subdivision: str = "",
        closures: Iterable[Closure] = (),
        weekend: Iterable[int] = (SATURDAY, SUNDAY),
        language: str | None = None,
    ) -> None:
        self.country = country.upper()
        self.subdivision = subdivision
        self.closures = tuple(sorted(closures, key=lambda c: (c.first, c.last)))
        self.weekend = frozenset(weekend)
        if len(self.weekend) >= 7 or not self.weekend <= set(range(7)):
            raise CalendarError("the weekend must be some of the days 0 (Monday) to 6 (Sunday)")
        if subdivision and subdivision not in subdivisions(self.country):
            raise CalendarError(f"unknown subdivision {subdivision!r} of {self.country}")
        self.language = _language_for(self.country, language)

    def __repr__(self) -> str:
        where = f"{self.country}-{self.subdivision}" if self.subdivision else self.country
        return f"<WorkingCalendar {where}, {len(self.closures)} closure(s)>"

    # --- single days -----------------------------------------------------------------------

    def holiday(self, day: dt.date) -> str | None:
        """The public holiday's name on ``day``, or None."""
        return _public_holidays(self.country, self.subdivision, day.year, self.language).get(day)

    def closure(self, day: dt.date) -> Closure | None:
        """The company's closure ``day`` falls in, or None."""
        for closure in self.closures:
            if day in closure:
                return closure
        return None

    def reason(self, day: dt.date) -> tuple[str, str] | None:
        """Why ``day`` is not a working day, as (kind, words): a public holiday first, then a
        closure, then the weekend; None for a working day."""
        name = self.holiday(day)
        if name:
            return Kind.HOLIDAY, name
        closure = self.closure(day)
        if closure is not None:
            return Kind.CLOSURE, closure.description
        if day.weekday() in self.weekend:
            return Kind.WEEKEND, ""
        return None

    def is_working_day(self, day: dt.date) -> bool:
        return (
            day.weekday() not in self.weekend
            and self.closure(day) is None
            and self.holiday(day) is None
        )

    # --- moving dates ----------------------------------------------------------------------

    def next_working_day(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the first working day after it."""
        return self._walk(day, DAY, include_start=True)

    def previous_working_day(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the last working day before it."""
        return self._walk(day, -DAY, include_start=True)

    def add_working_days(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (``day`` itself not counted, as for "within
        five working days"): Thursday 24/12/2026 + 1 is Monday 28/12 (Christmas, St Stephen,
        Sunday in between). ``n`` < 0 counts back; ``n`` = 0 is ``next_working_day(day)``."""
        if n == 0:
            return self.next_working_day(day)
        step = DAY if n > 0 else -DAY
        for _ in range(abs(n)):
            day = self._walk(day, step, include_start=False)
        return day

    def working_days_between(self, first: dt.date, last: dt.date) -> int:
        """How many working days in ``first`` .. ``last``, both included (0 if last < first)."""
        count, day = 0, first
        while day <= last:
            count += self.is_working_day(day)
            day += DAY
        return count

    def _walk(self, day: dt.date, step: dt.timedelta, *, include_start: bool) -> dt.date:
        candidate = day if include_start else day + step
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_working_day(candidate):
                return candidate
            candidate += step
        raise CalendarError(f"no working day within {MAX_SEARCH_DAYS} days of {day}")

    # --- showing ---------------------------------------------------------------------------

    def non_working_periods(self, first: dt.date, last: dt.date) -> list[Period]:
        """The public holidays and closures in ``first`` .. ``last``, in order, for showing:
        each holiday a day of its own (even on a Sunday), consecutive days of one closure
        joined. Plain weekends are left out: everyone knows them."""
        periods: list[Period] = []
        day = first
        while day <= last:
            reason = self.reason(day)
            if reason is not None and reason[0] != Kind.WEEKEND:
                kind, words = reason
                previous = periods[-1] if periods else None
                if (
                    kind == Kind.CLOSURE
                    and previous is not None
                    and previous.kind == Kind.CLOSURE
                    and previous.reason == words
                    and previous.last + DAY == day
                ):
                    periods[-1] = Period(previous.first, day, kind, words)
                else:
                    periods.append(Period(day, day, kind, words))
            day += DAY
        return periods
