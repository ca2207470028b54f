"""Shared by the jobs' tests: an empty queue store for each test, and ``work``, a stand-in
for the function a job runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from huey.contrib.djhuey import HUEY

# The job function the stand-in replaces: a real one, so that the job's checks (a function
# of a services module) pass as they do for the real work.
FUNCTION = "incassa.jobs.services.report_recompute_job"


@pytest.fixture(autouse=True)
def queue_store():
    """The queue (in memory under the tests) and its key-value store, empty."""
    HUEY.flush()
    yield HUEY
    HUEY.flush()


class Work:
    """Records each call; does what ``body`` says (return a value, raise...)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.body: Callable[..., Any] = lambda **kwargs: {"ok": True}

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def report_recompute_job(*, company, user, on_progress, **kwargs):
            self.calls.append({"company": company, "user": user, **kwargs})
            return self.body(company=company, user=user, on_progress=on_progress, **kwargs)

        monkeypatch.setattr("incassa.jobs.services.report_recompute_job", report_recompute_job)


@pytest.fixture
def work(monkeypatch) -> Work:
    stand_in = Work()
    stand_in.install(monkeypatch)
    return stand_in
