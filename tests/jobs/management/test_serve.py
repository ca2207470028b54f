"""``incassa serve`` for real: it starts the web server and a Huey worker as child
processes, the server answers, and a signal, or the death of either child, stops both.

Each test runs the command in a subprocess with its own files (database, queue, media) in
the test's directory, on a free port, and never for more than a few seconds.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(tmp_path: Path, queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "incassa.settings",
        "INCASSA_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'incassa.sqlite3'}",
        "INCASSA_MEDIA_ROOT": str(tmp_path / "media"),
        "INCASSA_QUEUE_URL": queue,
        "SECRET_KEY": "serve-test",
        "PYTHONUNBUFFERED": "1",
    }


class Serving:
    """``incassa serve`` running on a free port, with the children it printed."""

    def __init__(self, tmp_path: Path, queue: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "incassa", "serve", f"127.0.0.1:{self.port}"],
            env=environment(tmp_path, queue),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.output: list[str] = []
        self.children: dict[str, int] = {}

    def read_children(self, expected: set[str]) -> None:
        deadline = time.monotonic() + START_SECONDS
        while set(self.children) != expected and time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            found = re.match(r"(web|worker): pid (\d+):", line)
            if found:
                self.children[found[1]] = int(found[2])
        assert set(self.children) == expected, "".join(self.output)

    def wait_for_the_server(self) -> int:
        """The server's first answer (any HTTP status: the database is not even set up)."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/login/", timeout=2):
                    return 200
            except urllib.error.HTTPError as answer:
                return answer.code
            except OSError:
                assert self.process.poll() is None, "".join(self.output)
                time.sleep(0.2)
        raise AssertionError("the server never answered")

    def finish(self, timeout: float = 40.0) -> tuple[int, str]:
        try:
            rest, _errors = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            rest, _errors = self.process.communicate()
            raise
        return self.process.returncode, "".join(self.output) + rest

    def kill_everything(self) -> None:
        """Kill what is still running of what this test started (by its process group)."""
        running = [pid for pid in self.children.values() if not gone(pid)]
        if self.process.poll() is None:
            running.append(self.process.pid)
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait()


def gone(pid: int) -> bool:
    """Whether no process has this id any more (a zombie, dead but not waited for by its
    parent, counts as gone too)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


@pytest.fixture
def serving(tmp_path):
    started: list[Serving] = []

    def start(queue: str) -> Serving:
        started.append(Serving(tmp_path, queue))
        return started[-1]

    yield start
    for running in started:
        running.kill_everything()  # whatever a failed test left running


def test_serve_starts_the_server_and_a_worker_and_stops_both(serving, tmp_path):
    running = serving(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    running.read_children({"web", "worker"})
    assert running.wait_for_the_server() in {200, 302, 500}
    assert not gone(running.children["worker"])
    running.process.send_signal(signal.SIGTERM)
    code, output = running.finish()
    assert code == 0, output
    assert "SIGTERM: stopping." in output
    assert gone(running.children["web"]) and gone(running.children["worker"])
    assert (tmp_path / "queue.sqlite3").exists()  # the worker opened its queue


def test_when_a_child_dies_the_other_is_stopped_with_its_exit_code(serving, tmp_path):
    running = serving(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    running.read_children({"web", "worker"})
    running.wait_for_the_server()
    os.kill(running.children["worker"], signal.SIGKILL)
    code, output = running.finish()
    # Killed by signal 9: 128 + 9, as a shell tells it.
    assert code == 137, output
    assert "worker stopped (exit code -9): stopping." in output
    assert gone(running.children["web"])


def test_with_the_immediate_queue_no_worker_is_started(serving):
    running = serving("immediate")
    running.read_children({"web"})
    running.wait_for_the_server()
    running.process.send_signal(signal.SIGINT)
    code, output = running.finish()
    assert code == 0, output
    assert "no worker is started" in output
    assert gone(running.children["web"])
