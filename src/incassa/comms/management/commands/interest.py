"""``incassa interest``: statutory late interest on an amount, period by period."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incassa.comms.interest import Kind, MissingRate, late_interest
from incassa.comms.selectors import rate_table
from incassa.ledger.management.base import parse_date


class Command(BaseCommand):
    help = "Late-payment interest (D.Lgs. 231/2002, food products, or the legal rate)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--amount", required=True, help="principal, e.g. 1000.00")
        parser.add_argument("--due", required=True, help="due date, YYYY-MM-DD")
        parser.add_argument("--until", required=True, help="last day counted, YYYY-MM-DD")
        parser.add_argument("--kind", choices=[k.value for k in Kind], default=Kind.COMMERCIAL)
        parser.add_argument(
            "--pre-2013", action="store_true", help="contract concluded before 2013 (+7)"
        )
        parser.add_argument("--leap-366", action="store_true", help="divide by 366 in leap years")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            amount = Decimal(options["amount"].replace(",", "."))
        except InvalidOperation as exc:
            raise CommandError(f"invalid amount {options['amount']!r}", returncode=2) from exc
        if amount < 0 or amount != amount.quantize(Decimal("0.01")):
            raise CommandError("the amount must be positive, with two decimals", returncode=2)
        due, until = parse_date(options["due"]), parse_date(options["until"])
        try:
            result = late_interest(
                amount=amount,
                due=due,
                until=until,
                rates=rate_table(),
                kind=options["kind"],
                contract_before_2013=options["pre_2013"],
                leap_366=options["leap_366"],
            )
        except MissingRate as exc:
            raise CommandError(
                f"{exc}: add it in the admin (Communications > Interest rates)", returncode=2
            ) from exc
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "amount": f"{amount:.2f}",
                        "kind": options["kind"],
                        "periods": [
                            {
                                "from": p.start.isoformat(),
                                "to": p.end.isoformat(),
                                "days": p.days,
                                "rate": f"{p.rate:.2f}",
                                "principal": f"{p.principal:.2f}",
                                "interest": f"{p.interest:.2f}",
                            }
                            for p in result.periods
                        ],
                        "interest": f"{result.interest:.2f}",
                        "compensation": f"{result.compensation:.2f}",
                    }
                )
            )
            return
        for p in result.periods:
            self.stdout.write(
                f"{p.start:%d/%m/%Y} - {p.end:%d/%m/%Y}  {p.days:>4} days  {p.rate:>6.2f}%  "
                f"{p.interest:>12.2f}"
            )
        self.stdout.write(f"interest      {result.interest:.2f}")
        self.stdout.write(f"compensation  {result.compensation:.2f}")
