"""``incassa scores``: compute every customer's reliability and every item's criticality."""

from __future__ import annotations

import datetime as dt
import json
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from incassa.core.formatting import format_day
from incassa.credit.services import scores_recompute
from incassa.ledger.management.base import parse_date, resolve_company


class Command(BaseCommand):
    help = (
        "Compute the reliability of every customer and the criticality of every open item, "
        "keep the day's scores, and raise the credit alerts (an import does it by itself)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--date", help="as of this date (default today)")
        parser.add_argument("--company", help="company code")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        company = resolve_company(options["company"])
        as_of = parse_date(options["date"]) if options["date"] else dt.date.today()
        started = time.perf_counter()
        result = scores_recompute(company=company, as_of=as_of)
        elapsed = time.perf_counter() - started
        if options["json"]:
            self.stdout.write(json.dumps({**result.as_dict(), "seconds": round(elapsed, 2)}))
            return
        classes = ", ".join(f"{k} {v}" for k, v in (result.by_class or {}).items())
        self.stdout.write(
            f"Scored {result.customers} customers ({classes}) and {result.items} open items "
            f"as of {format_day(as_of)} in {elapsed:.1f} s; {result.alerts} alert(s) raised."
        )
