"""When repeated failures lock sign-in, worked out minute by minute."""

from __future__ import annotations

import datetime as dt

import pytest

from incassa.audit import throttling
from incassa.audit.models import LoginFailure

T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
LIMITS = throttling.Limits(
    max_failures=5, window=dt.timedelta(minutes=15), lock=dt.timedelta(minutes=15)
)


def minutes(*values: float) -> list[dt.datetime]:
    return [T0 + dt.timedelta(minutes=m) for m in values]


def test_four_failures_do_not_lock():
    assert (
        throttling.locked_until(minutes(0, 1, 2, 3), LIMITS, T0 + dt.timedelta(minutes=4)) is None
    )


def test_the_fifth_failure_in_the_window_locks_for_fifteen_minutes_after_it():
    # Failures at 0, 1, 2, 3, 4: the fifth at 09:04 locks until 09:19.
    times = minutes(0, 1, 2, 3, 4)
    assert throttling.locked_until(
        times, LIMITS, T0 + dt.timedelta(minutes=5)
    ) == T0 + dt.timedelta(minutes=19)
    # At 09:19 the lock is over.
    assert throttling.locked_until(times, LIMITS, T0 + dt.timedelta(minutes=19)) is None


def test_failures_spread_wider_than_the_window_do_not_lock():
    # 0, 4, 8, 12, 16: the first and fifth are 16 minutes apart, more than the 15 allowed.
    assert (
        throttling.locked_until(minutes(0, 4, 8, 12, 16), LIMITS, T0 + dt.timedelta(minutes=17))
        is None
    )
    # One more at 17: 4, 8, 12, 16, 17 span 13 minutes: locked until 17 + 15 = 09:32.
    assert throttling.locked_until(
        minutes(0, 4, 8, 12, 16, 17), LIMITS, T0 + dt.timedelta(minutes=18)
    ) == T0 + dt.timedelta(minutes=32)


@pytest.fixture
def limits(settings):
    settings.INCASSA_LOGIN_MAX_FAILURES = 3
    settings.INCASSA_LOGIN_WINDOW_MINUTES = 10
    settings.INCASSA_LOGIN_LOCK_MINUTES = 20


def test_per_username_whatever_the_case_and_address(db, limits):
    for n, ip in enumerate(["10.0.0.1", "10.0.0.2", "10.0.0.3"]):
        throttling.failure_record(username="Anna" if n else "anna", ip=ip, now=T0)
    # Three failures for "anna" from three addresses: locked until 09:20.
    until = throttling.lock_status(username="ANNA", ip="10.0.0.9", now=T0)
    assert until == T0 + dt.timedelta(minutes=20)
    # Another username from a fresh address is not locked.
    assert throttling.lock_status(username="bruno", ip="10.0.0.9", now=T0) is None


def test_per_address_whatever_the_username(db, limits):
    for name in ["a", "b", "c"]:
        throttling.failure_record(username=name, ip="192.0.2.7", now=T0)
    assert throttling.lock_status(username="d", ip="192.0.2.7", now=T0) == T0 + dt.timedelta(
        minutes=20
    )
    assert throttling.lock_status(username="d", ip="192.0.2.8", now=T0) is None


def test_success_clears_the_usernames_failures_only(db, limits):
    for name in ["anna", "anna", "bruno"]:
        throttling.failure_record(username=name, ip="192.0.2.7", now=T0)
    throttling.failures_clear(username="Anna")
    assert list(LoginFailure.objects.values_list("username", flat=True)) == ["bruno"]


def test_old_failures_are_dropped(db, limits):
    throttling.failure_record(username="anna", ip=None, now=T0)
    # 31 minutes later (more than window 10 + lock 20) the first one can lock nothing.
    throttling.failure_record(username="anna", ip=None, now=T0 + dt.timedelta(minutes=31))
    assert LoginFailure.objects.count() == 1
