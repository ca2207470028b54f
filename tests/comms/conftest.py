"""An SMTP server on loopback (aiosmtpd), for the transport's and the delivery's tests."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

QUEUED = "250 2.0.0 Ok: queued as 4F3A1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    peer: tuple
    tls: bool
    auth: object


@dataclass
class Handler:
    """Stores what arrives; answers what it is told to."""

    received: list[Received] = field(default_factory=list)
    data_reply: str | None = None
    mail_reply: str | None = None
    refuse: dict[str, str] = field(default_factory=dict)
    next_mail_replies: list[str] = field(default_factory=list)  # one-shot answers to MAIL
    abort_after_data: bool = False  # take the message, then drop the connection unanswered
    pipelining: bool = False  # offer ESMTP PIPELINING (aiosmtpd does not by itself)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.next_mail_replies:
            return self.next_mail_replies.pop(0)
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content,
                peer=session.peer,
                tls=session.ssl is not None,
                auth=session.auth_data,
            )
        )
        if self.abort_after_data:
            server.transport.abort()
        return QUEUED


class RecordingController(Controller):
    """Keeps the server side of every connection, so that a test can hang up on the client."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections: list[SMTP] = []

    def factory(self):
        server = super().factory()
        self.connections.append(server)
        return server

    def hang_up(self) -> None:
        async def close_all():
            for server in self.connections:
                if server.transport is not None:
                    server.transport.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=10)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"mario", b"p@ss:w0rd")
    if not ok:  # not "handled": aiosmtpd then answers 535 itself
        return AuthResult(success=False, handled=False)
    return AuthResult(success=True, auth_data="mario")


@pytest.fixture
def smtp_server():
    """Factory: starts an aiosmtpd server on a free loopback port, stopped after the test."""
    started: list[Controller] = []

    def start(handler: Handler | None = None, **kwargs) -> tuple[RecordingController, Handler]:
        handler = handler or Handler()
        kwargs.setdefault("server_hostname", "mx.test")
        controller = RecordingController(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        controller.connections.clear()  # the one start() makes to check that it is up
        started.append(controller)
        return controller, handler

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (cert.pem, key.pem)."""
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert), "-days", "1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls_context(certificate) -> ssl.SSLContext:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
