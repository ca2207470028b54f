"""Whether a company's daily cycle is due at a given instant. Pure: no database, no clock.

The schedule says at what local time (in its own time zone) and on which weekdays the cycle
runs, and whether the company's non-working days (public holidays, the patron saint's day,
its closures) are skipped. The cycle is due from that time on, for the rest of the local
day, until the day has a scheduled run: a scheduler that was down at 07:00 starts the
cycle when it comes back. Wall-clock times are compared, so a daylight-saving change moves
nothing: 07:00 is 07:00 in winter and in summer, and on the night the clocks go forward an
hour that does not exist (02:30) is simply passed at 03:00.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Why a day is not a working day: a name (the holiday, the closure), or None if it is one.
ClosedReason = Callable[[dt.date], str | None]


class ScheduleError(ValueError):
    """A schedule that cannot be followed (an unknown time zone, no weekday)."""


@dataclass(frozen=True)
class Schedule:
    at: dt.time
    time_zone: str
    weekdays: frozenset[int]
    skip_non_working: bool = True
    enabled: bool = True

    def __post_init__(self) -> None:
        zone(self.time_zone)
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ScheduleError("a schedule runs on some of the weekdays 0 (Monday) to 6")


@dataclass(frozen=True)
class Decision:
    """Whether the cycle is due, for which local day, and why (or why not)."""

    due: bool
    day: dt.date
    reason: str


@cache
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name!r}") from exc


@cache
def time_zones() -> tuple[str, ...]:
    """The time zones a schedule may name, sorted."""
    return tuple(sorted(available_timezones()))


def local_day(now: dt.datetime, schedule: Schedule) -> dt.date:
    """The date it is at ``now`` (an aware instant) where the schedule's clock hangs."""
    return _local(now, schedule).date()


def _local(now: dt.datetime, schedule: Schedule) -> dt.datetime:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return now.astimezone(zone(schedule.time_zone))


def decide(
    now: dt.datetime,
    schedule: Schedule,
    *,
    closed: ClosedReason = lambda day: None,
    has_run: bool = False,
) -> Decision:
    """Whether the cycle is due at ``now``: enabled, the local time at or past ``at``, a
    scheduled weekday, a working day (when non-working days are skipped: ``closed`` names
    why a day is not one), and no scheduled run of the local day yet (``has_run``)."""
    local = _local(now, schedule)
    day = local.date()
    if not schedule.enabled:
        return Decision(False, day, "disabled")
    if day.weekday() not in schedule.weekdays:
        return Decision(False, day, f"not on {WEEKDAY_NAMES[day.weekday()]}")
    if schedule.skip_non_working:
        why = closed(day)
        if why:
            return Decision(False, day, f"not a working day: {why}")
    if local.time().replace(tzinfo=None) < schedule.at:
        return Decision(False, day, f"not before {schedule.at:%H:%M}")
    if has_run:
        return Decision(False, day, "already run")
    return Decision(True, day, "due")


def is_due(
    now: dt.datetime,
    schedule: Schedule,
    *,
    closed: ClosedReason = lambda day: None,
    has_run: bool = False,
) -> bool:
    return decide(now, schedule, closed=closed, has_run=has_run).due


def next_run(
    now: dt.datetime,
    schedule: Schedule,
    *,
    closed: ClosedReason = lambda day: None,
    has_run: bool = False,
    horizon_days: int = 400,
) -> dt.datetime | None:
    """When the cycle will next start (an aware instant in the schedule's zone): ``now``
    itself when it is due, else the first later scheduled working day at ``at`` (an hour
    that the clocks skip that day is taken as the first instant after the change). None
    when disabled or nothing within ``horizon_days``."""
    if not schedule.enabled:
        return None
    if decide(now, schedule, closed=closed, has_run=has_run).due:
        return now.astimezone(zone(schedule.time_zone))
    tz = zone(schedule.time_zone)
    local = _local(now, schedule)
    day = local.date()
    for offset in range(horizon_days + 1):
        candidate = day + dt.timedelta(days=offset)
        if candidate.weekday() not in schedule.weekdays:
            continue
        if schedule.skip_non_working and closed(candidate):
            continue
        start = _wall_clock(candidate, schedule.at, tz)
        if offset == 0 and (has_run or start <= now):
            continue
        return start
    return None


def _wall_clock(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    """``day`` at ``at`` in ``tz``; a time the clocks skip becomes the instant they land."""
    naive = dt.datetime.combine(day, at)
    aware = naive.replace(tzinfo=tz)
    back = aware.astimezone(dt.UTC).astimezone(tz)
    if back.replace(tzinfo=None) == naive:
        return back
    # A skipped time does not survive a round trip through UTC: walk from the earlier of
    # its two readings to the first minute whose wall clock is at or past it.
    instant = min(aware.astimezone(dt.UTC), aware.replace(fold=1).astimezone(dt.UTC))
    for _ in range(24 * 60):
        local = instant.astimezone(tz)
        if local.replace(tzinfo=None) >= naive:
            return local
        instant += dt.timedelta(minutes=1)
    return back  # pragma: no cover - no zone skips a whole day


def parse_weekdays(values: Iterable[int | str]) -> str:
    """The stored form of a set of weekdays: their digits in order ("01234")."""
    days = sorted({int(v) for v in values})
    if not days or days[0] < 0 or days[-1] > 6:
        raise ScheduleError("choose at least one weekday, 0 (Monday) to 6 (Sunday)")
    return "".join(str(d) for d in days)
