"""The cycle's settings, each read from Django's settings when set there, else from the
environment, else its default (so that the app works before ``settings.py`` names them)."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def _setting(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return str(value)


def inbox_dir() -> Path:
    """The folder of the import inboxes: one sub-folder per company code."""
    default = Path(getattr(settings, "VAR_DIR", Path.cwd() / "var")) / "inbox"
    return Path(_setting("INCASSA_INBOX_DIR", str(default)))


def inbox_settle_seconds() -> float:
    """A file modified less than this long ago may still be being written: it waits for
    the next run."""
    return float(_setting("INCASSA_INBOX_SETTLE_SECONDS", "60"))


def max_upload_bytes() -> int:
    return int(getattr(settings, "INCASSA_MAX_UPLOAD_BYTES", 512 * 1024 * 1024))


def stage_attempts() -> int:
    """How many times a failing stage is tried before it is recorded as failed."""
    return max(1, int(_setting("INCASSA_CYCLE_STAGE_ATTEMPTS", "3")))


def retry_seconds() -> float:
    """The wait before a stage's second attempt; it doubles before each next one."""
    return max(0.0, float(_setting("INCASSA_CYCLE_RETRY_SECONDS", "10")))


def queued_grace_seconds() -> float:
    """A scheduled run still waiting to start after this long is enqueued again (its task
    was lost: the queue emptied, the worker died before taking it)."""
    return float(_setting("INCASSA_CYCLE_REQUEUE_SECONDS", "900"))


def stuck_after_seconds() -> float:
    """A run still "running" this long after it started was abandoned (its worker was
    killed): it is recorded as failed and no longer holds back a new run."""
    return float(_setting("INCASSA_CYCLE_STUCK_SECONDS", str(6 * 3600)))
