"""``incassa extract-messages``: refresh the .po catalogues from the source, with Babel.

Django's ``makemessages`` needs GNU gettext; this finds the same strings with Babel (Python
files through its extractor, templates through Django's own ``templatize``), then merges them
into every catalogue under ``locale/``: translations of unchanged strings are kept, new
strings arrive untranslated, strings no longer in the source are dropped. Compile with
``scripts/compile_messages.py`` (``make messages``).
"""

from __future__ import annotations

import io
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po
from django.core.management.base import BaseCommand
from django.utils.translation import templatize

KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
SKIPPED_DIRS = {"migrations", "__pycache__", "static", "locale"}


def _sources(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        if any(part in SKIPPED_DIRS for part in path.relative_to(root).parts[:-1]):
            continue
        if path.suffix == ".py" or (path.suffix in {".html", ".txt"} and "templates" in path.parts):
            found.append(path)
    return found


def messages_extract(root: Path) -> Catalog:
    """Every translatable string under ``root``, with where it was found."""
    template = Catalog(project="Incassa", charset="utf-8")
    for path in _sources(root):
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            if "gettext" not in text and "_(" not in text:
                continue
            source = text
        else:
            if "translate" not in text and "trans " not in text:
                continue
            # templatize keeps the template's lines (masked) around gettext() calls; flush
            # them left so Python's tokenizer does not trip on the indentation.
            masked = templatize(text, origin=str(path))
            source = "\n".join(line.strip() for line in masked.splitlines())
        relative = path.relative_to(root.parent).as_posix()
        for lineno, message, comments, context in extract(
            "python",
            io.BytesIO(source.encode("utf-8")),
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
        ):
            template.add(
                message,
                locations=[(relative, lineno)],
                auto_comments=comments,
                context=context,
                flags=("python-format",)
                if "%" in (message if isinstance(message, str) else message[0])
                else (),
            )
    return template


def _translated(string: str | tuple[str, ...]) -> bool:
    return all(string) if isinstance(string, tuple) else bool(string)


class Command(BaseCommand):
    help = "Refresh the .po catalogues under locale/ from the source (Babel, no gettext)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="exit 1 if a catalogue would change or lacks a translation",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import incassa

        root = Path(incassa.__file__).resolve().parent
        template = messages_extract(root)
        changed = False
        for po_path in sorted((root / "locale").glob("*/LC_MESSAGES/django.po")):
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file, locale=po_path.parent.parent.name)
            catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
            buffer = io.BytesIO()
            write_po(
                buffer,
                catalog,
                width=100,
                ignore_obsolete=True,
                include_lineno=False,  # so that editing a file does not churn the catalogue
            )
            new = buffer.getvalue()
            untranslated = [
                m.id
                for m in catalog
                if m.id and catalog.locale.language != "en" and not _translated(m.string)
            ]
            if new != po_path.read_bytes():
                changed = True
                if not options["check"]:
                    po_path.write_bytes(new)
                self.stdout.write(f"updated {po_path.relative_to(root.parent)}")
            for message_id in untranslated:
                self.stdout.write(f"  untranslated in {catalog.locale}: {message_id!r}")
                changed = changed or options["check"]
        if options["check"] and changed:
            raise SystemExit(1)
