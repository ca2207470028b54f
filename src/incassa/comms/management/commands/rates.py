"""``incassa rates check``: warn when the rate of the current half-year is missing."""

from __future__ import annotations

import datetime as dt
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from incassa.comms.selectors import missing_rates
from incassa.ledger.management.base import parse_date


class Command(BaseCommand):
    help = "Check the interest-rate table (exit 1 when the current half-year is missing)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="warn when a current rate is missing")
        check.add_argument("--date", help="as of this date (default today)")

    def handle(self, *args: Any, **options: Any) -> None:
        today = parse_date(options["date"]) if options["date"] else dt.date.today()
        missing = missing_rates(today=today)
        if not missing:
            self.stdout.write(f"Rates are complete for {today:%d/%m/%Y}.")
            return
        for what in missing:
            self.stderr.write(
                f"warning: no {what}: add it in the admin (Communications > Interest rates)"
            )
        sys.exit(1)
