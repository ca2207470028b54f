"""Playwright driving Debian's Chromium (``/usr/bin/chromium``, installed by
``scripts/browser-deps`` from ``make test``) against Django's live server."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Chromium as root in a container, on a machine without a network beyond loopback.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    """A browser per test: Playwright's event loop must be gone before Django empties the
    database after the test, which is synchronous work Django refuses next to a loop."""
    if not CHROMIUM.exists():
        pytest.skip("the browser tests need Chromium: sudo apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still synchronous code, which Django would otherwise refuse next to a loop. Only
    # for the browser tests: other tests (the deployment check) must not see it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    context = browser.new_context(locale="it-IT", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _audit_entries_purged(transactional_db):
    """Django empties the tables after a transactional test with DELETE, which the audit
    trail's triggers refuse on SQLite (PostgreSQL's TRUNCATE is not refused). Before that,
    this test's audit entries are removed with the triggers lifted for the moment, as only
    the database's owner can; a trigger does not fire on an empty table."""
    yield
    import importlib

    from django.db import connection

    immutable = importlib.import_module("incassa.audit.migrations.0002_immutable_entries")
    vendor = connection.vendor
    down = {"sqlite": immutable.SQLITE_DOWN, "postgresql": immutable.POSTGRESQL_DOWN}
    up = {"sqlite": immutable.SQLITE_UP, "postgresql": immutable.POSTGRESQL_UP}
    with connection.cursor() as cursor:
        for statement in down.get(vendor, []):
            cursor.execute(statement)
        cursor.execute(f"DELETE FROM {immutable.TABLE}")
        for statement in up.get(vendor, []):
            cursor.execute(statement)
