"""The mail transport, against real SMTP servers (aiosmtpd) on loopback, each on its own port."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import multiprocessing
import smtplib
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from incassa.comms.transport import (
    MEMORY_OUTBOX,
    DeliveryError,
    DeliveryJournal,
    MailAccount,
    PermanentFailure,
    RateLimiter,
    TemporaryFailure,
    Transport,
    check_account,
    configured_account,
    open_transport,
    parse_email_url,
)
from tests.comms.conftest import QUEUED, Handler, authenticator, free_port


def make_message(message_id: str = "<m1@incassa.test>", body: str = "Gentile cliente,\n") -> bytes:
    msg = EmailMessage()
    msg["From"] = "crediti@incassa.test"
    msg["To"] = "cliente@example.it"
    msg["Subject"] = "Sollecito di pagamento"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg.as_bytes()  # the default policy: bare LF line endings


@pytest.fixture(params=[False, True], ids=["one-command-at-a-time", "pipelined"])
def smtp_server(smtp_server, request):
    """Every test against a server that offers PIPELINING and one that does not: the
    envelope goes out command by command, or in one write (RFC 2920), with the same
    outcomes."""

    def start(handler: Handler | None = None, **kwargs):
        handler = handler or Handler()
        handler.pipelining = request.param
        return smtp_server(handler, **kwargs)

    start.pipelining = request.param
    return start


@pytest.fixture(autouse=True)
def empty_outbox():
    MEMORY_OUTBOX.clear()
    yield
    MEMORY_OUTBOX.clear()


def account_for(controller: Controller, scheme: str = "smtp", userinfo: str = "", query: str = ""):
    userinfo = f"{userinfo}@" if userinfo else ""
    return parse_email_url(f"{scheme}://{userinfo}127.0.0.1:{controller.port}?timeout=10{query}")


def send(transport: Transport, message_id: str = "<m1@incassa.test>", **kwargs) -> str:
    kwargs.setdefault("sender", "crediti@incassa.test")
    kwargs.setdefault("recipients", ["cliente@example.it"])
    kwargs.setdefault("message", make_message(message_id))
    return transport.send(message_id=message_id, **kwargs)


# --- plain SMTP -------------------------------------------------------------------------------


def test_plain_send_delivers_envelope_and_bytes(smtp_server):
    controller, handler = smtp_server()
    message = make_message("<m1@incassa.test>", body="Riga uno\n.riga con un punto\n")

    with open_transport(account_for(controller)) as t:
        response = send(
            t, recipients=["cliente@example.it", "amministrazione@example.it"], message=message
        )

    assert response == QUEUED
    assert not t.last_was_duplicate
    [got] = handler.received
    assert got.mail_from == "crediti@incassa.test"
    assert got.rcpt_tos == ["cliente@example.it", "amministrazione@example.it"]
    assert not got.tls
    # Sent with CRLF line endings (the message had bare LF), dot-stuffing undone by the server.
    assert got.content == message.replace(b"\n", b"\r\n")
    parsed = email.message_from_bytes(got.content, policy=email.policy.default)
    assert parsed["Message-ID"] == "<m1@incassa.test>"
    assert ".riga con un punto" in parsed.get_content()


def test_one_connection_serves_a_batch(smtp_server):
    controller, handler = smtp_server()
    with open_transport(account_for(controller)) as t:
        for n in range(3):
            send(t, f"<m{n}@incassa.test>")
    assert len(handler.received) == 3
    assert len(controller.connections) == 1
    assert len({r.peer for r in handler.received}) == 1


def test_a_pipelining_server_gets_the_envelope_in_one_write(smtp_server, monkeypatch):
    controller, handler = smtp_server()
    writes = []
    with open_transport(account_for(controller)) as t:
        send(t, "<m1@incassa.test>")  # connects and greets the server first
        original = smtplib.SMTP.send
        monkeypatch.setattr(
            smtplib.SMTP, "send", lambda smtp, s: writes.append(s) or original(smtp, s)
        )
        send(t, "<m2@incassa.test>", recipients=["a@example.it", "b@example.it"])
        written = len(writes)  # not the QUIT of the closing
    # Pipelined: MAIL, both RCPT and DATA in one write, then the message. Otherwise each
    # command on its own, waiting for its reply: MAIL, RCPT, RCPT, DATA, the message.
    assert written == (2 if smtp_server.pipelining else 5)
    assert [r.rcpt_tos for r in handler.received][-1] == ["a@example.it", "b@example.it"]


def test_from_option_overrides_the_envelope_sender(smtp_server):
    controller, handler = smtp_server()
    with open_transport(account_for(controller, query="&from=casella%2Bpec@pec.test")) as t:
        send(t, sender="crediti@incassa.test")
    assert handler.received[0].mail_from == "casella+pec@pec.test"


def test_non_ascii_address_goes_out_with_smtputf8(smtp_server):
    controller, handler = smtp_server()
    with open_transport(account_for(controller)) as t:
        send(t, recipients=["dèbitore@esempio.it"])
    assert handler.received[0].rcpt_tos == ["dèbitore@esempio.it"]


def test_transport_connects_lazily():
    # Nothing listens there: opening and closing the transport must not try.
    with open_transport(parse_email_url(f"smtp://127.0.0.1:{free_port()}")):
        pass


# --- TLS --------------------------------------------------------------------------------------


def test_starttls_with_private_ca(smtp_server, server_tls_context, certificate):
    controller, handler = smtp_server(tls_context=server_tls_context, require_starttls=True)
    account = account_for(controller, "smtp+tls", query=f"&cafile={certificate[0]}")
    assert account.port == controller.port

    with open_transport(account) as t:
        assert send(t) == QUEUED
    assert handler.received[0].tls


def test_starttls_with_auth(smtp_server, server_tls_context, certificate):
    controller, handler = smtp_server(
        tls_context=server_tls_context, require_starttls=True, authenticator=authenticator
    )
    account = account_for(
        controller, "smtp+tls", userinfo="mario:p%40ss%3Aw0rd", query=f"&cafile={certificate[0]}"
    )
    with open_transport(account) as t:
        send(t)
    assert handler.received[0].tls
    assert handler.received[0].auth == "mario"


def test_starttls_untrusted_certificate_is_permanent(smtp_server, server_tls_context):
    controller, handler = smtp_server(tls_context=server_tls_context)
    with (
        pytest.raises(PermanentFailure, match="certificate"),
        open_transport(account_for(controller, "smtp+tls")) as t,
    ):
        send(t)
    assert handler.received == []


def test_starttls_required_but_not_offered_is_permanent(smtp_server):
    controller, handler = smtp_server()  # no tls_context: no STARTTLS in the EHLO reply
    with (
        pytest.raises(PermanentFailure, match="STARTTLS") as excinfo,
        open_transport(account_for(controller, "smtp+tls")) as t,
    ):
        send(t)
    assert excinfo.value.permanent
    assert handler.received == []


def test_missing_cafile_is_permanent(smtp_server, server_tls_context, tmp_path):
    controller, _ = smtp_server(tls_context=server_tls_context)
    account = account_for(controller, "smtp+tls", query=f"&cafile={tmp_path / 'nope.pem'}")
    with pytest.raises(PermanentFailure, match="CA file"), open_transport(account) as t:
        send(t)


@pytest.mark.parametrize("scheme", ["smtps", "smtp+ssl"])
def test_implicit_tls(smtp_server, server_tls_context, certificate, scheme):
    controller, handler = smtp_server(ssl_context=server_tls_context)
    account = account_for(controller, scheme, query=f"&cafile={certificate[0]}")
    assert account.scheme == "smtps"
    with open_transport(account) as t:
        assert send(t) == QUEUED
    [got] = handler.received
    assert got.rcpt_tos == ["cliente@example.it"]


def test_implicit_tls_untrusted_certificate_is_permanent(smtp_server, server_tls_context):
    controller, _ = smtp_server(ssl_context=server_tls_context)
    with (
        pytest.raises(PermanentFailure, match="certificate"),
        open_transport(account_for(controller, "smtps")) as t,
    ):
        send(t)


# --- AUTH -------------------------------------------------------------------------------------


def test_auth_plain_connection(smtp_server):
    controller, handler = smtp_server(authenticator=authenticator, auth_require_tls=False)
    with open_transport(account_for(controller, userinfo="mario:p%40ss%3Aw0rd")) as t:
        send(t)
    assert handler.received[0].auth == "mario"


def test_auth_rejected_is_permanent(smtp_server):
    controller, handler = smtp_server(authenticator=authenticator, auth_require_tls=False)
    with (
        pytest.raises(PermanentFailure) as excinfo,
        open_transport(account_for(controller, userinfo="mario:wrong")) as t,
    ):
        send(t)
    assert excinfo.value.code == 535
    assert excinfo.value.response.startswith("535 ")
    assert handler.received == []


def test_auth_not_offered_is_permanent(smtp_server):
    controller, _ = smtp_server()
    with (
        pytest.raises(PermanentFailure, match="AUTH"),
        open_transport(account_for(controller, userinfo="mario:secret")) as t,
    ):
        send(t)


# --- refusals ---------------------------------------------------------------------------------


def test_451_on_data_is_temporary_and_the_connection_stays_usable(smtp_server):
    controller, handler = smtp_server(Handler(data_reply="451 4.3.0 try later"))
    with open_transport(account_for(controller)) as t:
        with pytest.raises(TemporaryFailure) as excinfo:
            send(t)
        handler.data_reply = None
        assert send(t, "<m2@incassa.test>") == QUEUED
    error = excinfo.value
    assert (error.code, error.response, error.permanent) == (451, "451 4.3.0 try later", False)
    assert isinstance(error, DeliveryError)
    assert len(controller.connections) == 1


def test_550_on_data_is_permanent(smtp_server):
    controller, _ = smtp_server(Handler(data_reply="550 5.1.1 no such user"))
    with pytest.raises(PermanentFailure) as excinfo, open_transport(account_for(controller)) as t:
        send(t)
    assert (excinfo.value.code, excinfo.value.response) == (550, "550 5.1.1 no such user")
    assert excinfo.value.permanent


def test_sender_refused_is_permanent(smtp_server):
    controller, _ = smtp_server(Handler(mail_reply="553 5.7.1 sender not allowed"))
    with pytest.raises(PermanentFailure) as excinfo, open_transport(account_for(controller)) as t:
        send(t)
    assert excinfo.value.code == 553
    assert "sender not allowed" in excinfo.value.response


def test_some_recipients_refused(smtp_server):
    controller, handler = smtp_server(
        Handler(refuse={"ghost@example.it": "550 5.1.1 no such user"})
    )
    with open_transport(account_for(controller)) as t:
        response = send(t, recipients=["ghost@example.it", "cliente@example.it"])
    assert response.startswith(QUEUED)
    assert "ghost@example.it (550 5.1.1 no such user)" in response
    assert t.last_refused == {"ghost@example.it": "550 5.1.1 no such user"}
    assert handler.received[0].rcpt_tos == ["cliente@example.it"]


@pytest.mark.parametrize(
    ("replies", "expected", "code"),
    [
        (["550 5.1.1 no such user", "450 4.2.1 mailbox busy"], PermanentFailure, 550),
        (["452 4.2.2 mailbox full", "450 4.2.1 mailbox busy"], TemporaryFailure, 452),
    ],
)
def test_all_recipients_refused(smtp_server, replies, expected, code):
    refuse = {"a@example.it": replies[0], "b@example.it": replies[1]}
    controller, handler = smtp_server(Handler(refuse=refuse))
    with open_transport(account_for(controller)) as t:
        with pytest.raises(expected) as excinfo:
            send(t, recipients=list(refuse))
        assert send(t, "<m2@incassa.test>") == QUEUED  # the transaction was reset
    assert excinfo.value.code == code
    assert all(reply in excinfo.value.response for reply in replies)
    assert len(handler.received) == 1


def test_connection_refused_is_temporary():
    account = parse_email_url(f"smtp://127.0.0.1:{free_port()}?timeout=5")
    with pytest.raises(TemporaryFailure) as excinfo, open_transport(account) as t:
        send(t)
    assert excinfo.value.code is None
    assert "Connection refused" in excinfo.value.response
    assert not excinfo.value.permanent


def test_reconnects_once_when_the_server_hung_up_between_messages(smtp_server):
    controller, handler = smtp_server()
    with open_transport(account_for(controller)) as t:
        send(t, "<m1@incassa.test>")
        controller.hang_up()
        # Wait (bounded by the socket timeout) until the client sees the end of the stream.
        assert t._smtp.sock.recv(1, socket.MSG_PEEK) == b""
        assert send(t, "<m2@incassa.test>") == QUEUED
    assert len(controller.connections) == 2
    assert [email.message_from_bytes(r.content)["Message-ID"] for r in handler.received] == [
        "<m1@incassa.test>",
        "<m2@incassa.test>",
    ]


def test_reconnects_once_when_a_reused_connection_answers_421(smtp_server):
    controller, handler = smtp_server()
    with open_transport(account_for(controller)) as t:
        send(t, "<m1@incassa.test>")
        handler.next_mail_replies = ["421 4.4.2 idle for too long, closing"]
        assert send(t, "<m2@incassa.test>") == QUEUED
    assert len(handler.received) == 2
    assert len(controller.connections) == 2


def test_reconnects_only_once(smtp_server):
    controller, handler = smtp_server()
    with open_transport(account_for(controller)) as t:
        send(t, "<m1@incassa.test>")
        handler.next_mail_replies = ["421 4.4.2 closing"] * 2
        with pytest.raises(TemporaryFailure) as excinfo:
            send(t, "<m2@incassa.test>")
        assert send(t, "<m3@incassa.test>") == QUEUED  # and the next message connects anew
    assert excinfo.value.code == 421
    assert len(handler.received) == 2


def test_no_retry_when_the_reply_to_the_message_is_lost(smtp_server, tmp_path):
    # The server may have accepted it: retrying on the spot could deliver it twice.
    controller, handler = smtp_server()
    journal = DeliveryJournal(tmp_path / "journal.jsonl")
    with open_transport(account_for(controller), journal=journal) as t:
        send(t, "<m1@incassa.test>")
        handler.abort_after_data = True
        with pytest.raises(TemporaryFailure, match="may have been accepted"):
            send(t, "<m2@incassa.test>")
    assert len(handler.received) == 2
    assert len(controller.connections) == 1
    assert journal.accepted("<m2@incassa.test>") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"recipients": []},
        {"recipients": ["a@x.it\r\nRCPT TO:<b@x.it>"]},
        {"recipients": ["nobody"]},
    ],
)
def test_invalid_recipients_are_permanent(kwargs):
    with pytest.raises(PermanentFailure), open_transport(parse_email_url("memory://")) as t:
        send(t, **kwargs)
    assert MEMORY_OUTBOX == []


def test_a_string_of_recipients_is_a_programming_error():
    with pytest.raises(TypeError), open_transport(parse_email_url("memory://")) as t:
        send(t, recipients="cliente@example.it")


# --- the delivery journal ---------------------------------------------------------------------


def test_journal_prevents_sending_twice(smtp_server, tmp_path):
    controller, handler = smtp_server()
    path = tmp_path / "journal" / "deliveries.jsonl"
    with open_transport(account_for(controller), journal=DeliveryJournal(path)) as t:
        first = send(t)
    assert first == QUEUED
    assert not t.last_was_duplicate

    # "Crash" before the database was told: a new process, a new journal object, a retry.
    with open_transport(account_for(controller), journal=DeliveryJournal(path)) as t:
        again = send(t)
        assert t.last_was_duplicate
        send(t, "<m2@incassa.test>")
        assert not t.last_was_duplicate
    assert again == first
    assert len(handler.received) == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["message_id"] for line in lines] == ["<m1@incassa.test>", "<m2@incassa.test>"]
    assert lines[0]["response"] == QUEUED
    assert "at" in lines[0]


def test_duplicate_needs_no_connection(tmp_path):
    journal = DeliveryJournal(tmp_path / "journal.jsonl")
    journal.record("<m1@incassa.test>", QUEUED)
    dead = parse_email_url(f"smtp://127.0.0.1:{free_port()}?timeout=5")
    with open_transport(dead, journal=journal) as t:
        assert send(t) == QUEUED
        assert t.last_was_duplicate


def test_journal_not_written_on_failure(smtp_server, tmp_path):
    controller, _ = smtp_server(Handler(data_reply="451 4.3.0 try later"))
    journal = DeliveryJournal(tmp_path / "journal.jsonl")
    with (
        pytest.raises(TemporaryFailure),
        open_transport(account_for(controller), journal=journal) as t,
    ):
        send(t)
    assert journal.accepted("<m1@incassa.test>") is None
    assert not (tmp_path / "journal.jsonl").exists()


def test_journal_tolerates_a_torn_last_line(tmp_path, caplog):
    path = tmp_path / "journal.jsonl"
    DeliveryJournal(path).record("<a@x>", "250 ok a")
    with path.open("ab") as f:
        f.write(b'{"message_id": "<b@x>", "respo')  # the crash came mid-write

    journal = DeliveryJournal(path)
    assert journal.accepted("<a@x>") == "250 ok a"
    assert journal.accepted("<b@x>") is None
    journal.record("<c@x>", "250 ok c")

    with caplog.at_level(logging.WARNING):
        fresh = DeliveryJournal(path)
        assert fresh.accepted("<a@x>") == "250 ok a"
        assert fresh.accepted("<c@x>") == "250 ok c"
        assert fresh.accepted("<b@x>") is None
    assert "skipping an unreadable line" in caplog.text
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'{"message_id": "<b@x>", "respo'  # left alone, on a line of its own
    assert json.loads(lines[2])["message_id"] == "<c@x>"


def test_journal_sees_what_another_writer_appended(tmp_path):
    path = tmp_path / "journal.jsonl"
    reader, writer = DeliveryJournal(path), DeliveryJournal(path)
    assert reader.accepted("<a@x>") is None  # index loaded (no file yet)
    writer.record("<a@x>", "250 ok a")
    assert reader.accepted("<a@x>") == "250 ok a"
    writer.record("<b@x>", "250 ok\nmulti-line")
    assert reader.accepted("<b@x>") == "250 ok\nmulti-line"


def test_journal_with_many_lines(tmp_path):
    path = tmp_path / "journal.jsonl"
    with path.open("w") as f:
        for n in range(20_000):
            f.write(json.dumps({"message_id": f"<{n}@x>", "response": f"250 {n}", "at": ""}))
            f.write("\n")
    journal = DeliveryJournal(path)
    assert journal.accepted("<0@x>") == "250 0"
    assert journal.accepted("<19999@x>") == "250 19999"
    assert journal.accepted("<20000@x>") is None


def _append_to_journal(path: str, writer: int, count: int) -> None:
    journal = DeliveryJournal(path)
    for n in range(count):
        journal.record(f"<{writer}-{n}@x>", f"250 ok {writer}-{n}")


def test_journal_shared_by_several_processes(tmp_path):
    path = tmp_path / "journal.jsonl"
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=_append_to_journal, args=(str(path), w, 100)) for w in range(4)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    # 4 processes x 100 records, each on a line of its own: 400 lines, none lost or torn.
    lines = path.read_bytes().splitlines()
    assert len(lines) == 400
    assert {json.loads(line)["message_id"] for line in lines} == {
        f"<{w}-{n}@x>" for w in range(4) for n in range(100)
    }
    assert DeliveryJournal(path).accepted("<3-99@x>") == "250 ok 3-99"


# --- rate limiting ----------------------------------------------------------------------------


class FakeTime:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_sends():
    fake = FakeTime()
    limiter = RateLimiter(60, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        limiter.wait()
    assert fake.sleeps == [1.0, 1.0]

    fake.now += 0.25  # some work between two sends counts
    limiter.wait()
    assert fake.sleeps[-1] == pytest.approx(0.75)

    fake.now += 10  # idle for long: no waiting, and no burst credit either
    limiter.wait()
    limiter.wait()
    assert fake.sleeps[3:] == [1.0]


def test_rate_limiter_reserves_slots_even_if_sleep_returns_early():
    fake = FakeTime()
    limiter = RateLimiter(120, clock=fake.clock, sleep=fake.sleeps.append)  # time stands still
    for _ in range(3):
        limiter.wait()
    assert fake.sleeps == [0.5, 1.0]


def test_rate_limiter_zero_is_unlimited():
    def forbidden(*args):
        raise AssertionError("must not be called")

    limiter = RateLimiter(0, clock=forbidden, sleep=forbidden)
    for _ in range(5):
        limiter.wait()


def test_transport_applies_the_rate_and_skips_it_for_duplicates(tmp_path):
    fake = FakeTime()
    journal = DeliveryJournal(tmp_path / "journal.jsonl")
    limiter = RateLimiter(30, clock=fake.clock, sleep=fake.sleep)
    account = parse_email_url("memory://?rate=30")
    with open_transport(account, journal=journal, rate_limiter=limiter) as t:
        send(t, "<m1@x>")
        send(t, "<m1@x>")  # duplicate: no slot used
        send(t, "<m2@x>")
        send(t, "<m3@x>")
    assert fake.sleeps == [2.0, 2.0]
    assert len(MEMORY_OUTBOX) == 3


def test_transports_of_an_account_share_its_rate_limiter():
    account = parse_email_url("memory://?rate=30")
    assert open_transport(account).rate_limiter is open_transport(account).rate_limiter
    assert open_transport(account).rate_limiter.interval == 2.0


# --- memory:// and file:// --------------------------------------------------------------------


def test_memory_scheme():
    message = make_message()
    with open_transport(parse_email_url("memory://?from=casella@pec.test")) as t:
        response = send(t, message=message, recipients=["a@example.it", "b@example.it"])
    assert response.startswith("250 ")
    [entry] = MEMORY_OUTBOX
    assert entry == {
        "sender": "casella@pec.test",
        "recipients": ["a@example.it", "b@example.it"],
        "message": message,
        "message_id": "<m1@incassa.test>",
    }


def test_file_scheme_writes_a_readable_eml(tmp_path):
    directory = tmp_path / "not" / "yet"
    account = parse_email_url(f"file://{directory}")
    with open_transport(account) as t:
        response = send(t, "<../../evil/1@incassa.test>")
    [written] = directory.iterdir()
    assert response == f"250 written to {written}"
    assert written.suffix == ".eml"
    assert "1@incassa.test" in written.name
    assert "/" not in written.name.removesuffix(".eml").replace("..", "")
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Sollecito di pagamento"
    assert parsed["Message-ID"] == "<../../evil/1@incassa.test>"

    with open_transport(account) as t:  # same id again, no journal: a second file
        send(t, "<../../evil/1@incassa.test>")
    assert len(list(directory.iterdir())) == 2


# --- account URLs -----------------------------------------------------------------------------


def test_parse_percent_encoded_credentials():
    account = parse_email_url("smtp+tls://mario%40rossi.it:p%40ss%3Aw0rd@mail.example.it")
    assert account == MailAccount(
        scheme="smtp+tls",
        host="mail.example.it",
        port=587,
        username="mario@rossi.it",
        password="p@ss:w0rd",
    )


@pytest.mark.parametrize(
    ("url", "scheme", "port"),
    [
        ("smtp://mx.example.it", "smtp", 25),
        ("smtp+tls://mx.example.it", "smtp+tls", 587),
        ("smtps://mx.example.it", "smtps", 465),
        ("smtp+ssl://mx.example.it", "smtps", 465),
        ("SMTP://mx.example.it:2525", "smtp", 2525),
    ],
)
def test_parse_default_ports(url, scheme, port):
    account = parse_email_url(url)
    assert (account.scheme, account.host, account.port) == (scheme, "mx.example.it", port)


def test_parse_query_options():
    account = parse_email_url(
        "smtps://u:p@smtps.pec.example.it:465"
        "?timeout=10&rate=60&cafile=/etc/incassa/ca.pem&from=crediti+pec@pec.example.it"
    )
    assert account.timeout == 10.0
    assert account.rate_per_minute == 60
    assert account.cafile == "/etc/incassa/ca.pem"
    assert account.from_address == "crediti+pec@pec.example.it"  # "+" is not a space


def test_parse_defaults():
    account = parse_email_url("smtp://mx.example.it")
    assert (account.timeout, account.rate_per_minute, account.cafile, account.from_address) == (
        30.0,
        0,
        "",
        "",
    )


def test_account_built_by_hand():
    account = MailAccount(scheme="SMTP+SSL", host="mx.example.it")
    assert account.scheme == "smtps"
    assert account.display() == "smtps://mx.example.it:465"


def test_parse_file_and_memory():
    assert parse_email_url("file:///var/mail/incassa") == MailAccount(
        scheme="file", path="/var/mail/incassa"
    )
    assert parse_email_url("file:///var/mail/con%20spazio").path == "/var/mail/con spazio"
    assert parse_email_url("memory://") == MailAccount(scheme="memory")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("smtpx://mx.example.it", "unknown email URL scheme 'smtpx'"),
        ("mx.example.it", "expected scheme://"),
        ("", "expected scheme://"),
        ("smtp://mx.example.it:abc", "invalid port"),
        ("smtp://mx.example.it:70000", "invalid port"),
        ("smtp://mx.example.it:0", "invalid port"),
        ("smtp://", "no host"),
        ("file://", "no directory"),
        ("smtp://mx.example.it?timeout=soon", "invalid timeout"),
        ("smtp://mx.example.it?timeout=0", "invalid timeout"),
        ("smtp://mx.example.it?rate=-1", "invalid rate"),
        ("smtp://mx.example.it?timout=10", "unknown option 'timout'"),
    ],
)
def test_parse_errors(url, error):
    with pytest.raises(ValueError, match=error):
        parse_email_url(url)


def test_errors_do_not_quote_the_password():
    with pytest.raises(ValueError) as excinfo:
        parse_email_url("smtp://mario:s3cr%40t@mx.example.it:99999")
    assert "s3cr" not in str(excinfo.value)
    assert "mario:***@mx.example.it" in str(excinfo.value)


def test_display_hides_the_password():
    account = parse_email_url("smtp+tls://user:s3cret@host?rate=10")
    assert account.display() == "smtp+tls://user@host:587"
    assert str(account) == "smtp+tls://user@host:587"
    assert "s3cret" not in repr(account)
    assert parse_email_url("smtps://[::1]").display() == "smtps://[::1]:465"
    assert parse_email_url("memory://").display() == "memory://"
    assert parse_email_url("file:///var/mail").display() == "file:///var/mail"


def test_configured_account(settings):
    settings.EMAIL_URL = "smtp+tls://user:pw@mx.example.it"
    settings.PEC_EMAIL_URL = ""
    assert configured_account().host == "mx.example.it"
    assert configured_account("default").host == "mx.example.it"
    assert configured_account("pec") is None
    del settings.PEC_EMAIL_URL
    assert configured_account("pec") is None
    settings.PEC_EMAIL_URL = "smtps://casella%40pec.it:pw@smtps.pec.it"
    assert configured_account("pec").username == "casella@pec.it"
    with pytest.raises(ValueError, match="unknown mail account"):
        configured_account("fax")


# --- checking an account (the settings page's "Test the connection") ---------------------------


def test_check_account_starts_tls_and_logs_in_without_sending(
    smtp_server, server_tls_context, certificate
):
    controller, handler = smtp_server(
        tls_context=server_tls_context, require_starttls=True, authenticator=authenticator
    )
    account = account_for(
        controller, "smtp+tls", userinfo="mario:p%40ss%3Aw0rd", query=f"&cafile={certificate[0]}"
    )
    assert check_account(account) == (
        f"smtp+tls://mario@127.0.0.1:{controller.port}: connected, TLS, logged in as mario"
    )
    assert handler.received == []


def test_check_account_refused_port_says_so():
    account = parse_email_url(f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(TemporaryFailure, match="Connection refused"):
        check_account(account)


def test_check_account_caps_the_timeout(monkeypatch):
    """A wrong host must not hold the page for the account's usual 30 seconds."""
    seen = []

    def fake_connect(self):
        seen.append(self.account.timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(Transport, "_connect", fake_connect)
    with pytest.raises(TemporaryFailure, match="timed out"):
        check_account(parse_email_url("smtp://smtp.example.it"), timeout=3)
    assert seen == [3.0]  # min(30, 3)


def test_check_account_untrusted_certificate_is_permanent(smtp_server, server_tls_context):
    controller, _ = smtp_server(tls_context=server_tls_context, require_starttls=True)
    with pytest.raises(PermanentFailure, match="certificate not trusted"):
        check_account(account_for(controller, "smtp+tls"))
