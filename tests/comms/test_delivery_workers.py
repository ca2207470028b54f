"""Several real worker processes delivering the same outbox at once, against one database
and a real SMTP server on loopback: every message reaches the server exactly once, also when
a worker is killed in the middle of a delivery.

The workers are ``python -m incassa send`` processes. They must see the test's database: on
PostgreSQL they connect to pytest-django's test database itself; SQLite's test database
lives in memory, so it is copied to a file for them (the backup API) and copied back when
they are done, for the assertions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection

from incassa.comms.models import DeliveryReceipt, Medium, Message, MessageStatus
from incassa.dunning.models import Action, ActionStatus
from tests.comms.conftest import free_port
from tests.factories import CustomerFactory, ReceivableFactory, action_with_items

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.date(2026, 3, 26)
# Every wait below is bounded, so that a hung worker fails the test instead of the suite.
WORKER_TIMEOUT = 45


@pytest.fixture(autouse=True)
def _audit_entries_purged(transactional_db):
    """Django empties the tables after a transactional test with DELETE, which the audit
    trail's triggers refuse on SQLite: this test's audit entries are removed first, with
    the triggers lifted for the moment (as in tests/browser/conftest.py)."""
    yield
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


# --------------------------------------------------------------------------------------
# The SMTP server: records every message it accepts, by Message-ID
# --------------------------------------------------------------------------------------


@dataclass
class RecordingHandler:
    """Accepts every message after ``delay`` seconds (so that workers overlap) and records
    its Message-ID. The message whose id is ``block_on`` is held, unanswered, until
    ``release`` is set; then it is refused (``451``) and not recorded: a server that has
    not said 250 has not accepted the message."""

    delay: float = 0.02
    block_on: str | None = None
    received: list[str] = field(default_factory=list)
    blocked: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        message_id = BytesHeaderParser().parsebytes(envelope.original_content)["Message-ID"]
        if message_id == self.block_on and not self.blocked.is_set():
            self.blocked.set()
            while not self.release.is_set():  # not time.sleep: the other sessions go on
                await asyncio.sleep(0.02)
            return "451 4.3.0 the client went away before the reply"
        await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(message_id)
        return "250 2.0.0 Ok: queued"


@pytest.fixture
def smtp_recorder():
    started: list[Controller] = []

    def start(**kwargs) -> tuple[Controller, RecordingHandler]:
        handler = RecordingHandler(**kwargs)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


# --------------------------------------------------------------------------------------
# The outbox and the workers
# --------------------------------------------------------------------------------------


def queue_emails(company, count: int) -> list[Message]:
    """``count`` queued emails, one per customer and action, as preparing them would leave
    them (without rendering a PDF for each: a small raw email with its Message-ID)."""
    messages = []
    for n in range(count):
        customer = CustomerFactory(company=company, code=f"C{n:04}", emails=f"amm{n}@example.it")
        item = ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 31))
        action = action_with_items(company, customer, "pre-due", [item], day=TODAY)
        message_id = f"<worker-test-{n:04}@incassa.test>"
        raw = (
            f"From: crediti@acme.it\r\nTo: amm{n}@example.it\r\nSubject: Promemoria {n}\r\n"
            f"Message-ID: {message_id}\r\n\r\nScadenza in arrivo.\r\n"
        ).encode()
        message = Message(
            company=company,
            customer=customer,
            action=action,
            medium=Medium.EMAIL,
            status=MessageStatus.QUEUED,
            language="it",
            sender="crediti@acme.it",
            recipients=f"amm{n}@example.it",
            subject=f"Promemoria {n}",
            body_text="Scadenza in arrivo.",
            message_id=message_id,
        )
        message.raw.save(f"worker-test-{n:04}.eml", ContentFile(raw), save=False)
        message.save()
        messages.append(message)
    return messages


class SharedDatabase:
    """The test database as the worker processes reach it."""

    def __init__(self, directory: Path) -> None:
        self.settings = connection.settings_dict
        self.sqlite = self.settings["ENGINE"] == "django.db.backends.sqlite3"
        self.file = directory / "workers.sqlite3"

    def url(self) -> str:
        if self.sqlite:
            return f"sqlite:///{self.file}"
        s = self.settings
        user = quote(s["USER"] or "", safe="")
        password = f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else ""
        host = s["HOST"] or "localhost"
        port = f":{s['PORT']}" if s["PORT"] else ""
        return f"postgres://{user}{password}@{host}{port}/{s['NAME']}"

    def hand_over(self) -> None:
        """What the test wrote becomes visible to the workers."""
        if self.sqlite:
            connection.ensure_connection()
            target = sqlite3.connect(self.file)
            connection.connection.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
            target.close()

    def take_back(self) -> None:
        """What the workers wrote becomes visible to the test's ORM."""
        if self.sqlite:
            source = sqlite3.connect(self.file)
            source.backup(connection.connection)
            source.close()

    def fetch_one(self, sql: str, params: tuple) -> tuple | None:
        """A row of the database the workers are changing, read while they run."""
        if self.sqlite:
            with sqlite3.connect(self.file) as db:
                return db.execute(sql, params).fetchone()
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchone()


@pytest.fixture
def shared_db(tmp_path) -> SharedDatabase:
    return SharedDatabase(tmp_path)


@pytest.fixture
def start_worker(shared_db, tmp_path):
    """Factory: ``incassa send`` in a process of its own, with its own local journal file
    (as on another machine: only the database's receipts are shared). Any worker still
    running when the test ends is killed."""
    processes: list[subprocess.Popen] = []

    def start(name: str, *, port: int, lease: float = 300) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": shared_db.url(),
            "EMAIL_URL": f"smtp://127.0.0.1:{port}?timeout=10",
            "PEC_EMAIL_URL": "",
            "INCASSA_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "INCASSA_VAR_DIR": str(tmp_path / "var"),
            "INCASSA_DELIVERY_JOURNAL": str(tmp_path / f"journal-{name}.jsonl"),
            "INCASSA_DELIVERY_LEASE_SECONDS": str(lease),
            "INCASSA_DELIVERY_BATCH": "20",
            "INCASSA_QUEUE_URL": "immediate",
            "SECRET_KEY": settings.SECRET_KEY,
        }
        command = ["send", "--company", "acme", "--date", "2026-03-26", "--json"]
        process = subprocess.Popen(
            [sys.executable, "-m", "incassa", *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def finish(worker: subprocess.Popen) -> dict:
    out, err = worker.communicate(timeout=WORKER_TIMEOUT)
    assert worker.returncode == 0, err
    return json.loads(out)


def assert_each_received_once(handler: RecordingHandler, messages: list[Message]) -> None:
    counts = Counter(handler.received)
    twice = {message_id: n for message_id, n in counts.items() if n > 1}
    assert twice == {}
    assert set(counts) == {m.message_id for m in messages}
    assert len(handler.received) == len(messages)


# --------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------


def test_four_workers_send_every_message_exactly_once(
    company, smtp_recorder, shared_db, start_worker
):
    messages = queue_emails(company, 200)
    controller, handler = smtp_recorder(delay=0.02)
    shared_db.hand_over()

    workers = [start_worker(str(n), port=controller.port) for n in range(4)]
    results = [finish(worker) for worker in workers]
    shared_db.take_back()

    assert_each_received_once(handler, messages)
    # The four workers' counts add up to the 200 messages, none of them sent "again".
    assert sum(r["sent"] for r in results) == 200
    assert sum(r["duplicates_avoided"] for r in results) == 0
    assert all(r["errors"] == [] for r in results)
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert set(Action.objects.values_list("status", flat=True)) == {ActionStatus.SENT}
    # One receipt per message, and the work was shared: 200 messages at 20 ms each keep a
    # lone worker busy for 4 s, longer than the others take to start.
    assert DeliveryReceipt.objects.count() == 200
    workers_seen = set(DeliveryReceipt.objects.values_list("worker", flat=True))
    assert len(workers_seen) >= 2
    assert {worker.split(":")[1] for worker in workers_seen} <= {str(w.pid) for w in workers}


def test_a_worker_killed_mid_delivery_loses_and_duplicates_nothing(
    company, smtp_recorder, shared_db, start_worker
):
    messages = queue_emails(company, 60)
    third = messages[2]
    controller, handler = smtp_recorder(delay=0.02, block_on=third.message_id)
    shared_db.hand_over()

    # The first worker, alone, claims the first batch (messages 1-20) under a 3 s lease,
    # sends messages 1 and 2, and hangs on the third: the server does not answer.
    first = start_worker("killed", port=controller.port, lease=3)
    if not handler.blocked.wait(timeout=WORKER_TIMEOUT):
        first.kill()
        pytest.fail(f"the worker never reached the third message: {first.communicate()[1]}")
    blocked_at = time.monotonic()
    (claimed_by,) = shared_db.fetch_one(
        "SELECT claimed_by FROM comms_message WHERE id = ?", (third.pk,)
    )
    # The lease names the process (host:pid:thread): kill -9 that one.
    assert claimed_by.split(":")[1] == str(first.pid)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=WORKER_TIMEOUT)
    handler.release.set()
    assert handler.received == [messages[0].message_id, messages[1].message_id]
    (held,) = shared_db.fetch_one(
        "SELECT COUNT(*) FROM comms_message WHERE status = 'sending' AND claimed_by = ?",
        (claimed_by,),
    )
    # The whole batch (messages 1 to 20) is left "sending" under the dead worker's lease:
    # a batch is marked sent when it ends, and this one never ended. Messages 1 and 2 have
    # their receipts, committed as the server accepted each.
    assert held == 20
    assert shared_db.fetch_one(
        "SELECT COUNT(*) FROM comms_deliveryreceipt WHERE worker = ?", (claimed_by,)
    ) == (2,)

    # Three others deliver the rest at once (messages 21-60; also the dead worker's, if
    # its lease has ended meanwhile); a worker restarted after the lease surely ended
    # delivers whatever is left.
    others = [start_worker(f"other-{n}", port=controller.port) for n in range(3)]
    results = [finish(worker) for worker in others]
    time.sleep(max(0.0, blocked_at + 3.5 - time.monotonic()))
    restarted = start_worker("restarted", port=controller.port)
    results.append(finish(restarted))
    shared_db.take_back()

    assert_each_received_once(handler, messages)
    # 60 messages, of which the killed worker had sent 2: the others sent 58, and marked
    # those 2 sent from their receipts without sending them again.
    assert sum(r["sent"] for r in results) == 60
    assert sum(r["duplicates_avoided"] for r in results) == 2
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    receipts = dict(DeliveryReceipt.objects.values_list("message_id", "worker"))
    assert len(receipts) == 60
    # Only the two messages the server acknowledged carry the dead worker's receipt; the
    # one it hung on was sent by another, once.
    assert {pk for pk, worker in receipts.items() if worker == claimed_by} == {
        messages[0].pk,
        messages[1].pk,
    }
    assert receipts[third.pk] != claimed_by
    third.refresh_from_db()
    # Claimed twice: by the dead worker, then by the one that sent it.
    assert third.attempts == 2
