"""The reminder's bytes say what Django's own message says, part for part."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.comms import mime

DATE = "Wed, 25 Nov 2026 15:01:07 -0000"


def _django(subject, sender, recipients, text, html, reply_to, headers, attachment) -> bytes:
    email = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=sender,
        to=recipients,
        reply_to=[reply_to] if reply_to else None,
        headers={"Date": DATE, **headers},
    )
    email.attach_alternative(html, "text/html")
    if attachment:
        email.attach(*attachment)
    return email.message().as_bytes(linesep="\r\n")


def _ours(subject, sender, recipients, text, html, reply_to, headers, attachment) -> bytes:
    return mime.email_bytes(
        subject=subject,
        sender=sender,
        recipients=recipients,
        text=text,
        html=html,
        reply_to=reply_to,
        headers=headers,
        attachment=attachment,
        date=DATE,
    )


def _read(raw: bytes) -> dict:
    """What a mail client sees: the headers decoded, each part's type, text or bytes."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    parts = [
        (
            part.get_content_type(),
            part.get_filename(),
            part.get_content() if not part.is_multipart() else None,
        )
        for part in message.walk()
    ]
    names = ("Subject", "From", "To", "Reply-To", "Date", "Message-ID", "X-Incassa-Reference")
    # Django's generator moves a long encoded subject to a folded line of its own, which a
    # reader decodes with a leading space; ours starts on the header's line.
    return {"headers": {n: str(message[n]).strip() for n in names}, "parts": parts}


SAMPLE = (
    "Sollecito di pagamento - Società Benchmark S.r.l.",
    '"Benchmark S.r.l." <crediti@benchmark.example>',
    ["amministrazione@rossi.it", "Mario Rossi <mario@rossi.it>"],
    "Gentile cliente,\n\nrisultano aperti 1.234,56\xa0€.\n\nCordiali saluti\n",
    "<p>" + "Gentile cliente, " * 80 + "</p>\n<p>1.234,56&nbsp;€</p>",
    "crediti@benchmark.example",
    {"Message-ID": "<incassa-1@benchmark.example>", "X-Incassa-Reference": "RF18539007547034"},
    (
        "estratto-conto-000024-20260401.pdf",
        b"%PDF-1.4\n" + bytes(range(256)) * 20,
        "application/pdf",
    ),
)


def test_a_reminder_reads_as_djangos():
    ours, theirs = _read(_ours(*SAMPLE)), _read(_django(*SAMPLE))
    assert ours == theirs
    # The HTML has a line of 1,360 characters, too long for email: quoted-printable.
    raw = _ours(*SAMPLE)
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    assert b"Content-Transfer-Encoding: 8bit" in raw  # the text's lines are short
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends with CRLF


def test_a_header_with_a_line_break_is_refused():
    with pytest.raises(BadHeaderError):
        mime.email_bytes(
            subject="Sollecito\r\nBcc: spam@example.com",
            sender="a@b.it",
            recipients=["c@d.it"],
            text="x",
            html="<p>x</p>",
        )


def test_an_attachment_named_outside_ascii():
    attachment = ("estratto-società.pdf", b"%PDF-1.4", "application/pdf")
    raw = _ours(*SAMPLE[:-1], attachment)
    assert _read(raw) == _read(_django(*SAMPLE[:-1], attachment))
    assert b"filename*=utf-8''estratto-societ%C3%A0.pdf" in raw


texts = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r\x85\u2028\u2029")
    | st.just("\n"),
    min_size=1,  # a reminder always has a text (Django leaves out an empty one)
    max_size=400,
)
words = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=120)


@settings(max_examples=100, deadline=None)
@given(
    subject=words,
    name=words,
    text=texts,
    html=texts,
    long_line=st.booleans(),
    data=st.binary(max_size=3000),
)
def test_any_reminder_reads_as_djangos(subject, name, text, html, long_line, data):
    if long_line:
        html += "x" * 1200
    sender = (name.replace('"', "").replace("\\", ""), "crediti@benchmark.example")
    from email.utils import formataddr

    args = (
        subject,
        formataddr(sender) if sender[0].strip() else sender[1],
        ["amministrazione@rossi.it"],
        text,
        html,
        "",
        {"Message-ID": "<incassa-2@benchmark.example>"},
        ("statement.pdf", data, "application/pdf"),
    )
    assert _read(_ours(*args)) == _read(_django(*args))
