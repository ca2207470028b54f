"""``incassa inbox process|receive``: the import inbox from the command line.

``process`` imports what waits in a company's inbox folder now (the daily cycle does the
same as its first stage); ``receive FILE`` copies a file into the inbox, as the API and
the page do, for the next run. Exit code 1 when a file failed.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from incassa.cycle.models import InboxFile, InboxStatus
from incassa.cycle.services import InboxError, inbox_folder, inbox_process, inbox_receive
from incassa.ledger.management.base import resolve_company

READ_BLOCK = 1 << 20


def _file_line(row: InboxFile) -> str:
    return f"  {row.name}: {row.status} ({row.kind}). {row.message}".rstrip()


class Command(BaseCommand):
    help = "Import what waits in a company's inbox, or put a file into it."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        process = sub.add_parser("process", help="import the files waiting in the inbox")
        process.add_argument("--company", help="company code (needed when there are several)")
        process.add_argument("--json", action="store_true", help="print JSON")
        receive = sub.add_parser("receive", help="put a file into the inbox")
        receive.add_argument("path", help="the file")
        receive.add_argument("--company", help="company code (needed when there are several)")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override("en"):
            getattr(self, f"_{options['action']}")(options)

    def _process(self, options: dict) -> None:
        company = resolve_company(options["company"])
        result = inbox_process(company=company, today=timezone.localdate())
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), default=str))
        else:
            folder = inbox_folder(company)
            if not result.files and not result.waiting:
                self.stdout.write(f"Nothing waits in {folder}.")
            for row in result.files:
                self.stdout.write(_file_line(row))
            for name in result.waiting:
                self.stdout.write(f"  {name}: still being written, left for the next run")
        if any(row.status == InboxStatus.FAILED for row in result.files):
            raise CommandError("a file could not be imported", returncode=1)

    def _receive(self, options: dict) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        company = resolve_company(options["company"])

        def chunks():
            with path.open("rb") as handle:
                while block := handle.read(READ_BLOCK):
                    yield block

        try:
            row = inbox_receive(
                company=company, name=path.name, data=chunks(), source="command line"
            )
        except InboxError as exc:
            self.stderr.write(f"error: {exc}")
            sys.exit(2)
        if row.status == InboxStatus.DUPLICATE:
            self.stdout.write(f"{path.name}: {row.message}")
        else:
            self.stdout.write(
                f"{path.name} is in the inbox of {company.code} as {row.name} "
                f"({row.kind}); it is imported by the next run."
            )
