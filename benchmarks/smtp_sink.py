"""``python -m benchmarks.smtp_sink PORT COUNT_FILE``: an SMTP server on loopback that
accepts every message and counts them, for the daily cycle benchmark.

It writes ``{"messages": N}`` to COUNT_FILE when it is ready (0) and again when it is
stopped (SIGTERM or SIGINT). Messages are counted, not stored: the benchmark checks that
the server received exactly what the outbox marked sent. It offers ESMTP PIPELINING, as
Postfix and most mail servers do (aiosmtpd handles pipelined commands but does not say so).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.messages = 0
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            self.messages += 1
        return "250 2.0.0 Ok: queued"


def main(port: int, count_file: Path) -> None:
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    stopped = threading.Event()

    def stop(*_args: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    count_file.write_text(json.dumps({"messages": 0}))
    stopped.wait()
    controller.stop()
    count_file.write_text(json.dumps({"messages": counter.messages}))


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
