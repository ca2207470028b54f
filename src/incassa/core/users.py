"""Who did something, as the history records it."""

from __future__ import annotations

from typing import Any


def recorded_user(user: Any) -> Any:
    """The user to record as having done something, or None for the command line and the
    engine (no user, or an anonymous one)."""
    return user if getattr(user, "pk", None) else None
