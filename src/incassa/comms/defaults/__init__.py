"""The texts Incassa ships for the ``standard`` strategy's messages, in Italian and English.

Each file ``<language>/<code>.<kind>.txt`` holds a ``name:`` and a ``subject:`` line, a
``---`` line, then the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class DefaultTemplate:
    code: str
    kind: str
    language: str
    name: str
    subject: str
    body: str


def load(path: Path) -> DefaultTemplate:
    head, _sep, body = path.read_text(encoding="utf-8").partition("\n---\n")
    meta = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)
    code, kind, _ext = path.name.split(".")
    return DefaultTemplate(
        code=code,
        kind=kind,
        language=path.parent.name,
        name=meta["name"],
        subject=meta["subject"].strip(),
        body=body.replace("\r\n", "\n").strip() + "\n",
    )


def default_templates() -> list[DefaultTemplate]:
    return [load(p) for p in sorted(HERE.glob("*/*.txt"))]
