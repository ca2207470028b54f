"""The bytes of a reminder email: plain text and HTML alternatives, and a PDF attached.

What Django's ``EmailMultiAlternatives(...).message().as_bytes()`` writes for the same
message, headers encoded by Django's own functions, but written out directly: the email
package's generic message tree and generator take about 0.8 ms a message, more than the
rest of writing it, and a day's cycle writes thousands of the same shape. The structure::

    multipart/mixed
        multipart/alternative
            text/plain; charset="utf-8"   8bit (quoted-printable when a line is too long)
            text/html; charset="utf-8"    the same
        application/pdf                   base64, as an attachment

Lines end with CRLF, as on the wire.
"""

from __future__ import annotations

import base64
import re
import uuid
from email import quoprimime
from email.utils import encode_rfc2231, formatdate

from django.core.mail.message import (
    ADDRESS_HEADERS,
    RFC5322_EMAIL_LINE_LENGTH_LIMIT,
    forbid_multi_line_headers,
)

CRLF = "\r\n"
NEWLINE = re.compile(r"\r\n|\r|\n")


def header(name: str, value: str) -> str:
    """One header line (folded lines included), encoded as Django encodes it: an address
    header's names as encoded words, any other non-ASCII value, and every subject, as a
    ``Header``; a value with a line break is refused (``BadHeaderError``)."""
    name, encoded = forbid_multi_line_headers(name, value, "utf-8")
    if name.lower() not in ADDRESS_HEADERS:
        encoded = CRLF.join(encoded.splitlines())
    return f"{name}: {encoded}"


def _text_part(text: str, subtype: str) -> str:
    """A text part: 8bit, or quoted-printable when a line is longer than email allows."""
    lines = text.splitlines()
    long = any(
        len(line.encode("utf-8", errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT
        for line in lines
    )
    if long:
        # quoprimime encodes characters up to 255: the UTF-8 bytes, one character each.
        octets = text.encode("utf-8", errors="surrogateescape").decode("latin-1")
        body = quoprimime.body_encode(octets, maxlinelen=76, eol=CRLF)
        encoding = "quoted-printable"
    else:
        body = NEWLINE.sub(CRLF, text)
        encoding = "8bit"
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"{CRLF}MIME-Version: 1.0{CRLF}'
        f"Content-Transfer-Encoding: {encoding}{CRLF}{CRLF}{body}"
    )


def _attachment(name: str, data: bytes, mimetype: str) -> str:
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        disposition = f"attachment; filename*={encode_rfc2231(name, 'utf-8')}"
    else:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        disposition = f'attachment; filename="{quoted}"'
    body = CRLF.join(base64.encodebytes(data).decode("ascii").splitlines())
    return (
        f"Content-Type: {mimetype}{CRLF}MIME-Version: 1.0{CRLF}"
        f"Content-Transfer-Encoding: base64{CRLF}Content-Disposition: {disposition}{CRLF}"
        f"{CRLF}{body}"
    )


def _multipart(subtype: str, parts: list[str], headers: list[str]) -> str:
    """A multipart entity with a boundary that none of its parts contains."""
    while True:
        boundary = f"===============incassa-{uuid.uuid4().hex}=="
        if not any(boundary in part for part in parts):
            break
    head = [f'Content-Type: multipart/{subtype};{CRLF} boundary="{boundary}"', "MIME-Version: 1.0"]
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return CRLF.join(head + headers) + f"{CRLF}{CRLF}{body}--{boundary}--{CRLF}"


def email_bytes(
    *,
    subject: str,
    sender: str,
    recipients: list[str],
    text: str,
    html: str,
    reply_to: str = "",
    headers: dict[str, str] | None = None,
    attachment: tuple[str, bytes, str] | None = None,
    date: str | None = None,
) -> bytes:
    """The whole message, ready for the SMTP server's DATA. ``headers`` are added after
    the standard ones (``Message-ID`` among them); ``date`` defaults to now (RFC 5322)."""
    top = [
        header("Subject", subject),
        header("From", sender),
        header("To", ", ".join(recipients)),
    ]
    if reply_to:
        top.append(header("Reply-To", reply_to))
    top.append(header("Date", date or formatdate()))
    top += [header(name, value) for name, value in (headers or {}).items()]
    alternatives = _multipart(
        "alternative", [_text_part(text, "plain"), _text_part(html, "html")], []
    )
    parts = [alternatives.removesuffix(CRLF)]
    if attachment is not None:
        parts.append(_attachment(*attachment))
    return _multipart("mixed", parts, top).encode("utf-8", errors="surrogateescape")
