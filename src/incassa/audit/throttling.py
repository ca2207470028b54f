"""Throttling of repeated failed sign-ins, per username and per IP address.

Failures are rows in the database, so every worker process sees the same count. After
``INCASSA_LOGIN_MAX_FAILURES`` failures within ``INCASSA_LOGIN_WINDOW_MINUTES`` (for one
username, or from one address), sign-in is refused for ``INCASSA_LOGIN_LOCK_MINUTES``
after the last of them, whatever the password: a refused attempt is not checked, so it
neither reveals whether the password was right nor extends the lock. A successful sign-in
clears the failures of that username. Usernames are counted as typed (case-folded) whether
or not such a user exists, so the answer never tells which usernames exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from incassa.audit.models import LoginFailure


@dataclass(frozen=True)
class Limits:
    max_failures: int
    window: dt.timedelta
    lock: dt.timedelta


def limits() -> Limits:
    return Limits(
        max_failures=max(1, settings.INCASSA_LOGIN_MAX_FAILURES),
        window=dt.timedelta(minutes=settings.INCASSA_LOGIN_WINDOW_MINUTES),
        lock=dt.timedelta(minutes=settings.INCASSA_LOGIN_LOCK_MINUTES),
    )


def normal_username(username: str) -> str:
    return (username or "").strip().casefold()[:150]


def locked_until(times: list[dt.datetime], limit: Limits, now: dt.datetime) -> dt.datetime | None:
    """When the lock that ``times`` (failures, any order) cause ends, or None if there is
    none now: some failure was the ``max_failures``-th within ``window`` and happened less
    than ``lock`` ago. Pure, so that it is tested without a database."""
    ordered = sorted(times)
    until = None
    for index in range(limit.max_failures - 1, len(ordered)):
        last = ordered[index]
        first = ordered[index - limit.max_failures + 1]
        if last - first <= limit.window and last + limit.lock > now:
            until = last + limit.lock
    return until


def lock_status(
    *, username: str, ip: str | None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """The end of the lock on this username or address, or None when sign-in may go on."""
    now = now or timezone.now()
    limit = limits()
    since = now - limit.lock - limit.window
    name = normal_username(username)
    keys = Q(username=name) if name else Q(pk__in=[])
    if ip:
        keys |= Q(ip=ip)
    rows = list(
        LoginFailure.objects.filter(keys, at__gte=since).values_list("username", "ip", "at")
    )
    by_name = [at for user, _, at in rows if name and user == name]
    by_ip = [at for _, address, at in rows if ip and address == ip]
    ends = [
        end for end in (locked_until(by_name, limit, now), locked_until(by_ip, limit, now)) if end
    ]
    return max(ends) if ends else None


def failure_record(*, username: str, ip: str | None, now: dt.datetime | None = None) -> None:
    """Count one failure; old ones (past any window that could still lock) are dropped."""
    now = now or timezone.now()
    limit = limits()
    LoginFailure.objects.create(username=normal_username(username), ip=ip, at=now)
    LoginFailure.objects.filter(at__lt=now - limit.lock - limit.window).delete()


def failures_clear(*, username: str) -> None:
    """A successful sign-in forgives the username's failures (not the address's)."""
    LoginFailure.objects.filter(username=normal_username(username)).delete()
