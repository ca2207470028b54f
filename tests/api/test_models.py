"""When a token works: not revoked, and through its expiry day."""

from __future__ import annotations

import datetime as dt

from incassa.api.models import ApiToken


def test_a_token_works_through_its_expiry_day_and_not_once_revoked():
    token = ApiToken(name="erp", prefix="inc_AAAAAAAA", key_hash="0" * 64)
    day = dt.date(2026, 4, 1)
    assert token.is_valid_on(day)  # no expiry
    token.expires_on = day
    assert token.is_valid_on(day)  # its last day
    assert not token.is_valid_on(day + dt.timedelta(days=1))
    token.expires_on = None
    token.revoked_at = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    assert not token.is_valid_on(day)
