"""Mail transport: send an already-built RFC 5322 message through an account configured by URL.

Accounts are URLs (``EMAIL_URL``, ``PEC_EMAIL_URL``)::

    smtp://host[:25]                 plain SMTP (no encryption)
    smtp+tls://user:pw@host[:587]    STARTTLS, required: never falls back to plain
    smtps://user:pw@host[:465]       implicit TLS (``smtp+ssl://`` is the same)
    file:///var/mail                 every message written as an .eml file in that directory
    memory://                        messages appended to ``MEMORY_OUTBOX`` (tests)

with the options ``?timeout=SECONDS``, ``?rate=MESSAGES_A_MINUTE``, ``?cafile=PATH`` (an extra
CA to trust) and ``?from=ADDRESS`` (envelope sender override: PEC providers accept only the
mailbox itself). User and password are percent-decoded (``p%40ss`` is ``p@ss``).

Those URLs are the installation's default. A company may have its own accounts, entered on
its settings page (``comms.accounts``): they become the same ``MailAccount``, and win over
the environment's. ``check_account`` connects and logs in without sending anything.

Failures are classified: ``TemporaryFailure`` (4xx replies, the network, timeouts, TLS
hiccups: retry later) or ``PermanentFailure`` (5xx replies, failed authentication, an
untrusted certificate, bad configuration: retrying will not help).

Exactly-once towards the server, as far as SMTP allows: the ``DeliveryJournal`` records every
message the server accepted, fsync'ed right after its final 250 and before the caller tells
the database, and ``Transport.send`` never sends a message id the journal already holds. It
is a local file, the second record beside the database's ``DeliveryReceipt`` that every
worker shares (``comms.services``): it covers the moment the database cannot be written,
for the workers of one machine. The only window left is the protocol's own (RFC 1047): the
connection dropping after the message was transmitted but before the server's reply
arrived; that is reported as a temporary failure, and a retry may deliver a second copy.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import math
import os
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

log = logging.getLogger(__name__)

MEMORY_OUTBOX: list[dict] = []

SCHEMES = ("smtp", "smtp+tls", "smtps", "file", "memory")
SCHEME_ALIASES = {"smtp+ssl": "smtps"}
DEFAULT_PORTS = {"smtp": 25, "smtp+tls": 587, "smtps": 465}
ACCOUNT_SETTINGS = {"default": "EMAIL_URL", "pec": "PEC_EMAIL_URL"}
_READ_BLOCK = 8 << 20


# --- errors -----------------------------------------------------------------------------------


class DeliveryError(Exception):
    """The message was not delivered. ``response`` holds the server's answer (code included)
    or the text of the exception; ``code`` the SMTP reply code when there is one."""

    permanent: bool = False

    def __init__(self, response: str, code: int | None = None) -> None:
        super().__init__(response)
        self.response = response
        self.code = code

    def __str__(self) -> str:
        return self.response


class TemporaryFailure(DeliveryError):
    """Worth retrying later: 4xx replies, connection refused or reset, timeouts, TLS hiccups."""

    permanent = False


class PermanentFailure(DeliveryError):
    """Retrying will not help: 5xx replies, failed authentication, invalid configuration."""

    permanent = True


def _failure(code: int | None, response: str) -> DeliveryError:
    """The failure a reply code means: 4xx temporary, 5xx permanent (anything else, which a
    conforming server never sends where a failure is expected, temporary)."""
    if code is not None and 500 <= code <= 599:
        return PermanentFailure(response, code)
    return TemporaryFailure(response, code)


def _reply_text(code: int, message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", errors="replace")
    # Multi-line replies come joined by newlines: one line is easier to store and show.
    text = " ".join(line.strip() for line in message.splitlines() if line.strip())
    return f"{code} {text}".strip()


# --- accounts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailAccount:
    scheme: str
    host: str = ""
    port: int = 0
    username: str = ""
    password: str = field(default="", repr=False)
    path: str = ""
    timeout: float = 30.0
    rate_per_minute: int = 0
    cafile: str = ""
    from_address: str = ""

    def display(self) -> str:
        """The account as a URL without the password, for logs and the UI."""
        if self.scheme == "file":
            return f"file://{quote(self.path)}"
        if self.scheme == "memory":
            return "memory://"
        user = f"{quote(self.username, safe='')}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port or DEFAULT_PORTS.get(self.scheme, '')}"

    def __post_init__(self) -> None:
        scheme = self.scheme.lower()
        object.__setattr__(self, "scheme", SCHEME_ALIASES.get(scheme, scheme))

    def __str__(self) -> str:
        return self.display()


def parse_email_url(url: str) -> MailAccount:
    """The account an email URL describes; ValueError, saying what is wrong, if it is invalid."""
    url = (url or "").strip()
    if "://" not in url:
        raise ValueError(f"invalid email URL {_redact(url)!r}: expected scheme://...")
    parts = urlsplit(url, allow_fragments=False)
    scheme = SCHEME_ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in SCHEMES:
        raise ValueError(
            f"unknown email URL scheme {parts.scheme!r} in {_redact(url)!r}: "
            f"use one of {', '.join(SCHEMES)} or smtp+ssl"
        )
    options = _parse_options(parts.query, url)
    if scheme == "file":
        netloc = "" if parts.netloc == "localhost" else parts.netloc
        path = unquote(netloc + parts.path)
        if not path:
            raise ValueError(f"email URL {url!r} has no directory: use file:///path/to/dir")
        return MailAccount(scheme=scheme, path=path, **options)
    if scheme == "memory":
        return MailAccount(scheme=scheme, **options)

    host = parts.hostname or ""
    if not host:
        raise ValueError(f"email URL {_redact(url)!r} has no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(
            f"invalid port in email URL {_redact(url)!r}: expected a number 1-65535"
        ) from None
    if port == 0:
        raise ValueError(f"invalid port 0 in email URL {_redact(url)!r}")
    return MailAccount(
        scheme=scheme,
        host=host,
        port=port or DEFAULT_PORTS[scheme],
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        **options,
    )


def _parse_options(query: str, url: str) -> dict:
    options: dict = {}
    # Not urllib.parse.parse_qsl: it turns "+" into a space, and "from=billing+pec@x.it" must
    # stay what it is.
    for item in filter(None, query.split("&")):
        name, _, raw = item.partition("=")
        name, value = name.lower(), unquote(raw)
        if name == "timeout":
            try:
                options["timeout"] = float(value)
            except ValueError:
                options["timeout"] = math.nan
            if not (math.isfinite(options["timeout"]) and options["timeout"] > 0):
                raise ValueError(
                    f"invalid timeout={raw!r} in email URL {_redact(url)!r}: expected seconds > 0"
                )
        elif name == "rate":
            if not value.isdigit():
                raise ValueError(
                    f"invalid rate={raw!r} in email URL {_redact(url)!r}: "
                    "expected messages a minute (0 = no limit)"
                )
            options["rate_per_minute"] = int(value)
        elif name == "cafile":
            options["cafile"] = value
        elif name == "from":
            options["from_address"] = value
        else:
            raise ValueError(
                f"unknown option {name!r} in email URL {_redact(url)!r}: "
                "known are timeout, rate, cafile, from"
            )
    return options


def _redact(url: str) -> str:
    """The URL with the password, if any, masked, so that errors can quote it."""
    netloc = urlsplit(url, allow_fragments=False).netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    return url.replace(netloc, f"{userinfo.partition(':')[0]}:***@{hostport}", 1)


def configured_account(name: str = "default") -> MailAccount | None:
    """The account of the settings: "default" is ``EMAIL_URL``, "pec" ``PEC_EMAIL_URL``; None
    when the setting is empty or missing. ValueError if the setting is an invalid URL."""
    from django.conf import settings

    try:
        setting = ACCOUNT_SETTINGS[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown mail account {name!r}: known are {', '.join(ACCOUNT_SETTINGS)}"
        ) from None
    url = str(getattr(settings, setting, "") or "").strip()
    return parse_email_url(url) if url else None


# --- rate limiting ----------------------------------------------------------------------------


class RateLimiter:
    """Spaces sends at least 60/rate seconds apart (0: no limit). Thread-safe: each ``wait``
    reserves the next free slot, then sleeps until it."""

    def __init__(
        self,
        rate_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_minute < 0:
            raise ValueError("rate_per_minute must be >= 0")
        self.rate_per_minute = rate_per_minute
        self.interval = 60.0 / rate_per_minute if rate_per_minute else 0.0
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            slot = now if self._next is None else max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


_limiters: dict[tuple, RateLimiter] = {}
_limiters_lock = threading.Lock()


def _shared_limiter(account: MailAccount) -> RateLimiter:
    """One limiter per account and process, so that the limit also holds across batches (each
    batch opening its own transport)."""
    key = (account.scheme, account.host, account.port, account.username, account.path)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None or limiter.rate_per_minute != account.rate_per_minute:
            limiter = _limiters[key] = RateLimiter(account.rate_per_minute)
        return limiter


# --- the delivery journal ---------------------------------------------------------------------


class DeliveryJournal:
    """Append-only file: one line per message the server accepted, written and fsync'ed right
    after the server's 250 reply, before the database is told. Several processes may share
    it: an append holds an exclusive ``flock`` on the file (where the system has one).

    Each line is a JSON object ``{"message_id": ..., "response": ..., "at": iso}``. A torn last
    line (a crash mid-write) is ignored, and the next record starts on a line of its own.

    Lookups use an in-memory index (message id -> response) that each instance loads on its
    first use and then keeps current by reading only what was appended since (by this or any
    other process); a replaced or truncated file is read again from its start, without
    forgetting what was already indexed. A million lines (150 MB) take about two seconds to
    load and 250 MB of memory; lookups are then dict lookups plus a stat() of the file. Prune
    old entries (those the database knows) offline if the file grows beyond that.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._index: dict[str, str] = {}
        self._offset = 0
        self._file_id: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def record(self, message_id: str, response: str) -> None:
        if not message_id:
            raise ValueError("message_id is required")
        entry = {
            "message_id": message_id,
            "response": response,
            "at": dt.datetime.now(dt.UTC).isoformat(),
        }
        line = (json.dumps(entry, ensure_ascii=True) + "\n").encode("ascii")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            with open(self.path, "a+b") as f:
                _lock_file(f)  # released when the file is closed
                f.seek(0, os.SEEK_END)
                if f.tell() > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":  # a torn last line: do not glue onto it
                        line = b"\n" + line
                f.write(line)
                f.flush()
                os.fsync(f.fileno())
            if created:
                _fsync_directory(self.path.parent)
            self._index.setdefault(message_id, response)

    def accepted(self, message_id: str) -> str | None:
        """The response recorded for the message id, or None if it was never accepted."""
        with self._lock:
            self._refresh()
            return self._index.get(message_id)

    def __contains__(self, message_id: str) -> bool:
        return self.accepted(message_id) is not None

    def _refresh(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return
        file_id = (st.st_dev, st.st_ino)
        if file_id != self._file_id or st.st_size < self._offset:
            self._file_id, self._offset = file_id, 0
        if st.st_size == self._offset:
            return
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            pending = b""
            while block := f.read(_READ_BLOCK):
                pending += block
                end = pending.rfind(b"\n") + 1
                if end:
                    self._ingest(pending[:end], complete=True)
                    self._offset += end
                    pending = pending[end:]
        if pending:
            # The last line is incomplete: torn by a crash, or being written right now. Use
            # it if it parses, but read it again next time.
            self._ingest(pending, complete=False)

    def _ingest(self, data: bytes, *, complete: bool) -> None:
        lines = [line for line in data.split(b"\n") if line]
        if not lines:
            return
        try:  # one parse for the lot is twice as fast as one a line
            entries = json.loads(b"[" + b",".join(lines) + b"]")
            if len(entries) != len(lines):
                raise ValueError("lines merged")
        except ValueError:
            entries = []
            for line in lines:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    if complete and line.strip():
                        log.warning("%s: skipping an unreadable line: %.80r", self.path, line)
        index = self._index
        for entry in entries:
            try:
                message_id, response = entry["message_id"], entry["response"]
            except (TypeError, KeyError, IndexError):
                continue
            if type(message_id) is str and type(response) is str:
                index.setdefault(message_id, response)


def _lock_file(f) -> None:
    """Exclusive lock on an open file until it is closed, so that two processes appending
    to the journal do not both see the same torn last line. A no-op where ``fcntl`` is
    missing (Windows): one process per journal there."""
    try:
        import fcntl
    except ImportError:
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)


def _fsync_directory(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # not possible everywhere (Windows): the file's own fsync has to do
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- the transport ----------------------------------------------------------------------------


class _Retry(Exception):
    """The reused connection turned out to be dead before the message could be accepted."""

    def __init__(self, failure: DeliveryError) -> None:
        super().__init__(failure.response)
        self.failure = failure


def _pipelined_envelope(
    smtp: smtplib.SMTP, sender: str, recipients: list[str], options: list[str]
) -> list[tuple[int, bytes]]:
    """MAIL, every RCPT and DATA in one write, then their replies in order (ESMTP
    PIPELINING, RFC 2920, where the server offers it): one round trip to the server instead
    of two plus one per recipient. The replies stop early at a 421 (the server is closing
    the connection)."""
    if any(option.lower() == "smtputf8" for option in options):
        smtp.command_encoding = "utf-8"  # as smtplib's own mail() does
    optionlist = (" " + " ".join(options)) if options else ""
    commands = [f"mail FROM:{smtplib.quoteaddr(sender)}{optionlist}\r\n"]
    commands += [f"rcpt TO:{smtplib.quoteaddr(r)}\r\n" for r in recipients]
    commands.append("data\r\n")
    smtp.send("".join(commands))
    replies: list[tuple[int, bytes]] = []
    for _ in commands:
        replies.append(smtp.getreply())
        if replies[-1][0] == 421:
            break
    return replies


def _end_empty_data(smtp: smtplib.SMTP, replies: list[tuple[int, bytes]], count: int) -> None:
    """A pipelined DATA the server accepted although the message cannot go (its sender or
    every recipient refused): the client ends the data at once, empty (RFC 2920, 3.1), so
    that the server delivers nothing and the connection is ready for the next message."""
    if len(replies) == count + 2 and replies[-1][0] == 354:
        smtp.send(".\r\n")
        smtp.getreply()


class Transport:
    """One connection for a batch of messages::

        with open_transport(account, journal=journal) as t:
            for ...:
                response = t.send(sender=..., recipients=[...], message=raw, message_id=mid)

    Connects on the first message that has to go out, quits on exit. Not thread-safe: one
    transport per thread.
    """

    def __init__(
        self,
        account: MailAccount,
        *,
        journal: DeliveryJournal | None = None,
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        if account.scheme not in SCHEMES:
            raise ValueError(f"unknown mail account scheme {account.scheme!r}")
        self.account = account
        self.journal = journal
        self.rate_limiter = rate_limiter if rate_limiter is not None else _shared_limiter(account)
        self.last_was_duplicate = False
        self.last_refused: dict[str, str] = {}
        self._smtp: smtplib.SMTP | None = None
        self._ssl_context: ssl.SSLContext | None = None

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(
        self, *, sender: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        """Send the message; the server's final reply (e.g. "250 2.0.0 Ok: queued as 4F3A1"),
        with the refused recipients appended if some were. A message id the journal holds is
        not sent again: its recorded response is returned and ``last_was_duplicate`` is set.
        Raises TemporaryFailure or PermanentFailure."""
        self.last_was_duplicate = False
        self.last_refused = {}
        if not message_id:
            raise ValueError("message_id is required (it keys the delivery journal)")
        if isinstance(recipients, str):
            raise TypeError("recipients must be a sequence of addresses, not a string")
        if not isinstance(message, bytes | bytearray | memoryview):
            raise TypeError("message must be bytes (an RFC 5322 message)")
        message = bytes(message)
        if self.journal is not None:
            recorded = self.journal.accepted(message_id)
            if recorded is not None:
                log.info("%s: %s already accepted, not sent again", self.account, message_id)
                self.last_was_duplicate = True
                return recorded
        sender = self.account.from_address or sender
        recipients = list(dict.fromkeys(recipients))  # without repetitions, in order
        _check_addresses(sender, recipients)

        self.rate_limiter.wait()
        if self.account.scheme == "memory":
            response = self._send_memory(sender, recipients, message, message_id)
        elif self.account.scheme == "file":
            response = self._send_file(message, message_id)
        else:
            response = self._send_smtp(sender, recipients, message)
        log.info("%s: %s accepted: %s", self.account, message_id, response)

        if self.journal is not None:
            try:
                self.journal.record(message_id, response)
            except OSError:
                # The server has the message: failing now would have it sent again. The
                # database is told next; only a crash before that would repeat it.
                log.exception(
                    "%s: %s was accepted but could not be journalled", self.account, message_id
                )
        return response

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    # memory:// and file://

    def _send_memory(self, sender, recipients, message, message_id) -> str:
        MEMORY_OUTBOX.append(
            {
                "sender": sender,
                "recipients": list(recipients),
                "message": message,
                "message_id": message_id,
            }
        )
        return f"250 2.0.0 Ok: queued in memory as #{len(MEMORY_OUTBOX)}"

    def _send_file(self, message: bytes, message_id: str) -> str:
        directory = Path(self.account.path)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = re.sub(r"[^A-Za-z0-9@._+-]+", "_", message_id.strip("<> ")).strip("._")[:120]
        try:
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / f"{stamp}-{name or 'message'}.eml"
            n = 1
            while target.exists():
                n += 1
                target = directory / f"{stamp}-{name or 'message'}-{n}.eml"
            partial = target.with_name(f".{target.name}.part")
            partial.write_bytes(message)
            os.replace(partial, target)
        except OSError as exc:
            raise TemporaryFailure(f"cannot write to {directory}: {exc}") from exc
        return f"250 written to {target}"

    # SMTP

    def _send_smtp(self, sender: str, recipients: list[str], message: bytes) -> str:
        data = _dot_stuffed(message)
        for attempt in (1, 2):
            reused = self._smtp is not None
            smtp = self._connection()
            try:
                return self._transaction(smtp, sender, recipients, message, data, reused)
            except _Retry as retry:
                self._drop()
                if attempt == 1:
                    log.info("%s: connection lost (%s), reconnecting", self.account, retry)
                    continue
                raise retry.failure from None
        raise AssertionError("unreachable")

    def _transaction(self, smtp, sender, recipients, message, data, reused) -> str:
        """MAIL, RCPT, DATA. ``_Retry`` if a reused connection is dead before the message was
        transmitted; a DeliveryError otherwise."""
        transmitted = False
        try:
            options = []
            if smtp.has_extn("size"):
                options.append(f"SIZE={len(data)}")
            if smtp.has_extn("8bitmime") and not message.isascii():
                options.append("BODY=8BITMIME")
            if not all(a.isascii() for a in (sender, *recipients)):
                if not smtp.has_extn("smtputf8"):
                    raise PermanentFailure(
                        "the server does not support SMTPUTF8, needed by a non-ASCII address"
                    )
                options.append("SMTPUTF8")
            pipelined = smtp.has_extn("pipelining")
            if pipelined:
                replies = _pipelined_envelope(smtp, sender, recipients, options)
                code, reply = replies[0]
            else:
                code, reply = smtp.mail(sender, options)
            if code != 250:
                if pipelined:
                    _end_empty_data(smtp, replies, len(recipients))
                if reused and code == 421:  # "closing the connection": the idle timeout
                    raise _Retry(_failure(code, _reply_text(code, reply)))
                raise self._rejected(smtp, code, reply)
            refused: dict[str, tuple[int, str]] = {}
            for index, recipient in enumerate(recipients, start=1):
                if pipelined:
                    code, reply = replies[index] if index < len(replies) else (421, b"")
                else:
                    code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    refused[recipient] = (code, _reply_text(code, reply))
                    if code == 421:
                        break
            self.last_refused = {r: text for r, (_, text) in refused.items()}
            if len(refused) == len(recipients) or any(c == 421 for c, _ in refused.values()):
                if pipelined:
                    _end_empty_data(smtp, replies, len(recipients))
                worst = max(c for c, _ in refused.values())
                details = "; ".join(f"{r}: {text}" for r, (_, text) in refused.items())
                self._reset(smtp, worst)
                raise _failure(worst, f"recipients refused: {details}")
            code, reply = replies[-1] if pipelined else smtp.docmd("DATA")
            if code != 354:
                raise self._rejected(smtp, code, reply)
            smtp.send(data)
            transmitted = True
            code, reply = smtp.getreply()
            if code != 250:
                raise self._rejected(smtp, code, reply)
        except DeliveryError:
            raise
        except smtplib.SMTPResponseException as exc:
            self._reset(smtp, exc.smtp_code)
            raise _failure(exc.smtp_code, _reply_text(exc.smtp_code, exc.smtp_error)) from exc
        except smtplib.SMTPNotSupportedError as exc:
            self._reset(smtp, 0)
            raise PermanentFailure(str(exc)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            if transmitted:
                raise TemporaryFailure(
                    f"connection lost after the message was transmitted, before the server's "
                    f"reply (it may have been accepted): {_describe(exc)}"
                ) from exc
            failure = _network_failure(exc, self.account)
            if reused:
                raise _Retry(failure) from exc
            raise failure from exc
        response = _reply_text(code, reply)
        if refused:
            response += "; refused: " + "; ".join(
                f"{r} ({text})" for r, (_, text) in refused.items()
            )
        return response

    def _rejected(self, smtp, code: int, reply: bytes) -> DeliveryError:
        self._reset(smtp, code)
        return _failure(code, _reply_text(code, reply))

    def _reset(self, smtp, code: int) -> None:
        """Abort the transaction so that the connection can serve the next message."""
        if code == 421 or self._smtp is None:
            self._drop()
            return
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        account = self.account
        context = self._tls_context() if account.scheme in ("smtp+tls", "smtps") else None
        port = account.port or DEFAULT_PORTS[account.scheme]
        smtp: smtplib.SMTP | None = None
        try:
            if account.scheme == "smtps":
                smtp = smtplib.SMTP_SSL(
                    account.host,
                    port,
                    local_hostname=_local_hostname(),
                    timeout=account.timeout,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    account.host,
                    port,
                    local_hostname=_local_hostname(),
                    timeout=account.timeout,
                )
            smtp.ehlo_or_helo_if_needed()
            if account.scheme == "smtp+tls":
                if not smtp.has_extn("starttls"):
                    raise PermanentFailure(
                        f"{account.display()} does not offer STARTTLS, which the account "
                        "requires (smtp+tls://): not sending in clear"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if account.username:
                try:
                    smtp.login(account.username, account.password)
                except smtplib.SMTPNotSupportedError as exc:
                    raise PermanentFailure(
                        f"{account.display()} does not offer AUTH: {exc}"
                    ) from exc
                except smtplib.SMTPException as exc:
                    if type(exc) is not smtplib.SMTPException:
                        raise
                    # "No suitable authentication method found."
                    raise PermanentFailure(f"cannot log in to {account.display()}: {exc}") from exc
            return smtp
        except BaseException as exc:
            if smtp is not None:
                smtp.close()
            if isinstance(exc, DeliveryError):
                raise
            if isinstance(exc, smtplib.SMTPResponseException):
                code = exc.smtp_code
                raise _failure(code, _reply_text(code, exc.smtp_error)) from exc
            if isinstance(exc, smtplib.SMTPException | OSError):
                raise _network_failure(exc, account) from exc
            raise

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            context = ssl.create_default_context()
            if self.account.cafile:
                try:
                    context.load_verify_locations(cafile=self.account.cafile)
                except (OSError, ssl.SSLError) as exc:
                    raise PermanentFailure(
                        f"cannot load the CA file {self.account.cafile}: {exc}"
                    ) from exc
            self._ssl_context = context
        return self._ssl_context


def open_transport(
    account: MailAccount,
    *,
    journal: DeliveryJournal | None = None,
    rate_limiter: RateLimiter | None = None,
) -> Transport:
    """A transport for a batch of messages, to use as a context manager. Without a
    ``rate_limiter``, the account's (shared by every transport of the process) applies."""
    return Transport(account, journal=journal, rate_limiter=rate_limiter)


CHECK_TIMEOUT = 10.0


def check_account(account: MailAccount, *, timeout: float = CHECK_TIMEOUT) -> str:
    """Connect to the account's server, start TLS and log in as a delivery would, then quit
    without sending anything: what the settings page's "Test the connection" does. Returns
    what was checked, in one line; raises TemporaryFailure or PermanentFailure with the
    server's answer (or the network's error) otherwise. At most ``timeout`` seconds a step,
    so that a wrong host does not hold the page for the account's usual 30 s."""
    if account.scheme in ("memory", "file"):
        return f"{account.display()}: nothing to connect to"
    account = replace(account, timeout=min(account.timeout, timeout))
    transport = Transport(account, rate_limiter=RateLimiter(0))
    try:
        smtp = transport._connect()
        transport._smtp = smtp
        code, reply = smtp.noop()
        if code != 250:
            raise _failure(code, _reply_text(code, reply))
    except (smtplib.SMTPException, OSError) as exc:
        raise _network_failure(exc, account) from exc
    finally:
        transport.close()
    steps = ["connected"]
    if account.scheme in ("smtp+tls", "smtps"):
        steps.append("TLS")
    if account.username:
        steps.append(f"logged in as {account.username}")
    return f"{account.display()}: {', '.join(steps)}"


def _network_failure(exc: BaseException, account: MailAccount) -> DeliveryError:
    where = account.display()
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentFailure(
            f"{where}: certificate not trusted: {exc.verify_message or exc} "
            "(a private CA can be added with ?cafile=)"
        )
    return TemporaryFailure(f"{where}: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"timed out ({exc})" if str(exc) else "timed out"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, smtplib.SMTPException) else f"{type(exc).__name__}: {text}"


def _check_addresses(sender: str, recipients: list[str]) -> None:
    if not recipients:
        raise PermanentFailure("no recipients")
    for address in (sender, *recipients):
        if not isinstance(address, str) or any(c in address for c in "\r\n\0"):
            raise PermanentFailure(f"invalid address {address!r}")
    for address in recipients:
        if "@" not in address:
            raise PermanentFailure(f"invalid recipient address {address!r}")


def _dot_stuffed(message: bytes) -> bytes:
    """The DATA payload: CRLF line endings (the message may come with bare LF, which many
    servers now refuse), leading dots doubled, then the terminating dot."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", message)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


@functools.cache
def _local_hostname() -> str:
    """The name to greet with (computed once: socket.getfqdn can be slow)."""
    return socket.getfqdn()
