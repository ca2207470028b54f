"""``incassa letters batch|posted|list|registered``: the day's letters for the post room."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incassa.comms import services
from incassa.comms.models import Medium, Message, PrintBatch
from incassa.core.formatting import format_day
from incassa.ledger.management.base import parse_date, resolve_company


class Command(BaseCommand):
    help = "Print the day's letters in one PDF, mark a batch posted, record registered numbers."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        batch = sub.add_parser("batch", help="merge the letters waiting to be printed")
        batch.add_argument("--date", help="letters scheduled up to this date (default today)")
        batch.add_argument("--output", metavar="FILE.pdf", help="also copy the PDF here")
        posted = sub.add_parser("posted", help="the post room sent a batch")
        posted.add_argument("batch", type=int, help="batch number")
        sub.add_parser("list", help="the latest batches")
        registered = sub.add_parser("registered", help="record a registered-mail number")
        registered.add_argument("message", type=int, help="message number")
        registered.add_argument("number", help="the number on the receipt")
        for sub_parser in (batch, posted, registered, sub.choices["list"]):
            sub_parser.add_argument("--company", help="company code")
            sub_parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        company = resolve_company(options["company"])
        try:
            getattr(self, f"_{options['action']}")(company, options)
        except services.CommsError as exc:
            raise CommandError(str(exc), returncode=2) from exc

    def _batch(self, company: Any, options: dict) -> None:
        day = parse_date(options["date"]) if options["date"] else dt.date.today()
        batch = services.print_batch_create(company=company, day=day)
        if options["output"]:
            with batch.document.open("rb") as source, open(options["output"], "wb") as target:
                shutil.copyfileobj(source, target)
        if options["json"]:
            self.stdout.write(json.dumps(_batch_dict(batch)))
            return
        self.stdout.write(
            f"Batch {batch.pk} of {format_day(batch.day)}: {batch.letters} letter(s), "
            f"{batch.registered} registered, {batch.pages} page(s): {batch.document.path}"
        )

    def _posted(self, company: Any, options: dict) -> None:
        batch = _get(PrintBatch, company, options["batch"])
        services.print_batch_mark_posted(batch=batch)
        self.stdout.write(f"Batch {batch.pk} marked as posted: its letters have gone out.")

    def _list(self, company: Any, options: dict) -> None:
        batches = list(PrintBatch.objects.filter(company=company)[:30])
        if options["json"]:
            self.stdout.write(json.dumps([_batch_dict(b) for b in batches]))
            return
        for b in batches:
            state = f"posted {b.posted_at:%d/%m/%Y}" if b.posted_at else "to post"
            self.stdout.write(
                f"{b.pk:>6}  {format_day(b.day)}  {b.letters:>4} letters "
                f"({b.registered} registered)  {state}"
            )

    def _registered(self, company: Any, options: dict) -> None:
        message = _get(Message, company, options["message"])
        if message.medium != Medium.REGISTERED_LETTER:
            raise CommandError(f"message {message.pk} is not a registered letter", returncode=2)
        services.message_registered_number_set(message=message, number=options["number"])
        self.stdout.write(f"Message {message.pk}: registered number {message.registered_number}")


def _get(model: Any, company: Any, pk: int) -> Any:
    try:
        return model.objects.get(company=company, pk=pk)
    except model.DoesNotExist as exc:
        label = {"message": "message", "printbatch": "print batch"}[model._meta.model_name]
        raise CommandError(f"no {label} {pk}", returncode=2) from exc


def _batch_dict(batch: PrintBatch) -> dict:
    return {
        "id": batch.pk,
        "date": batch.day.isoformat(),
        "letters": batch.letters,
        "registered": batch.registered,
        "pages": batch.pages,
        "path": batch.document.path if batch.document else "",
        "posted_at": batch.posted_at.isoformat() if batch.posted_at else None,
    }
