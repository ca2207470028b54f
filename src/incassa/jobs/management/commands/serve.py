"""``incassa serve [ADDR:PORT]``: the web server and one worker, together.

What ``make run`` starts: Django's development server (without its auto-reloader, which
would run the application twice) and one Huey worker (``incassa run_huey``) that runs the
background jobs and the periodic schedule, each as a child process. The command prints
both, forwards SIGINT and SIGTERM to them, and when one of them stops on its own stops the
other and exits with the code of the one that stopped. With ``INCASSA_QUEUE_URL=immediate``
there is no queue to work on: tasks run in the web process and no worker is started.

Each child runs in its own process group, so that a Ctrl+C in the terminal reaches them
once, through this command, and not twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

DEFAULT_ADDRESS = "127.0.0.1:8000"
# How long the children have to stop after being asked before they are killed.
STOP_SECONDS = 20.0
POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = "Run the web server and one background worker; stop both when one stops."
    requires_system_checks: list[str] = []  # the children run their own

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?", default=DEFAULT_ADDRESS, help="ADDR:PORT to serve on"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        children = self._start(options["addrport"])
        code = self._supervise(children)
        if code:
            raise SystemExit(code)

    # ----------------------------------------------------------------------------------

    def _command(self, *arguments: str) -> list[str]:
        return [sys.executable, "-m", "incassa", *arguments]

    def _start(self, addrport: str) -> dict[str, subprocess.Popen]:
        environment = {**os.environ}
        environment.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
        wanted = {"web": self._command("runserver", "--noreload", addrport)}
        if settings.QUEUE_URL == "immediate":
            self.stdout.write(
                "INCASSA_QUEUE_URL=immediate: background tasks run in the web server's "
                "process, no worker is started."
            )
        else:
            wanted["worker"] = self._command("run_huey")
        children: dict[str, subprocess.Popen] = {}
        for name, command in wanted.items():
            children[name] = subprocess.Popen(command, env=environment, start_new_session=True)
            self.stdout.write(f"{name}: pid {children[name].pid}: {' '.join(command[2:])}")
        self.stdout.flush()
        return children

    def _supervise(self, children: dict[str, subprocess.Popen]) -> int:
        """Wait until a signal comes or a child stops; stop the others; the exit code."""
        received: list[int] = []

        def forward(signum: int, _frame: Any) -> None:
            received.append(signum)

        previous = {
            signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not received:
                stopped = [(n, c) for n, c in children.items() if c.poll() is not None]
                if stopped:
                    name, child = stopped[0]
                    code = _exit_code(child.returncode)
                    self.stderr.write(f"{name} stopped (exit code {child.returncode}): stopping.")
                    self._stop(children, signal.SIGTERM)
                    return code
                time.sleep(POLL_SECONDS)
            self.stdout.write(f"{signal.Signals(received[0]).name}: stopping.")
            self._stop(children, received[0])
            return 0
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _stop(self, children: dict[str, subprocess.Popen], signum: int) -> None:
        for child in children.values():
            if child.poll() is None:
                _signal_group(child, signum)
        deadline = time.monotonic() + STOP_SECONDS
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_SECONDS:.0f} s: killed.")
                _signal_group(child, signal.SIGKILL)
                child.wait()


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    """Signal the child's whole process group (the worker's own workers, the server)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def _exit_code(returncode: int) -> int:
    """A child's code as this command's: killed by signal N is 128 + N, as a shell says;
    a child that stopped on its own with 0 still stopped unexpectedly (1)."""
    if returncode < 0:
        return 128 - returncode
    return returncode or 1
