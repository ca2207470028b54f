"""``incassa send``: prepare and send the day's emails and PEC from the outbox.

Several may run at once, on one machine or several, for the same company: each sends only
the messages it claimed (see ``comms.services.outbox_deliver``), so a message goes out once.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from incassa.comms.services import outbox_deliver
from incassa.ledger.management.base import parse_date, resolve_company


class Command(BaseCommand):
    help = (
        "Write and send the emails and PEC that the engine's actions ask for, retrying "
        "temporary failures whose time has come. Several may run at once: each message goes "
        "out once. Exit 1 when a message failed for good."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--company", help="company code")
        parser.add_argument("--date", help="send what is scheduled up to this date (default today)")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        company = resolve_company(options["company"])
        today = parse_date(options["date"]) if options["date"] else dt.date.today()
        result = outbox_deliver(company=company, today=today)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        else:
            self.stdout.write(
                f"Prepared {result.prepared}, sent {result.sent}, failed {result.failed}, "
                f"waiting for a retry {result.deferred}"
                + (f", withdrawn {result.withdrawn} (items changed)" if result.withdrawn else "")
                + (
                    f", {result.duplicates_avoided} already accepted by the server before a "
                    "crash (not sent again)"
                    if result.duplicates_avoided
                    else ""
                )
            )
            for error in result.errors:
                self.stderr.write(f"  {error}")
        if result.failed:
            sys.exit(1)
