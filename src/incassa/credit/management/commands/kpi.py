"""``incassa kpi``: the credit KPIs of a company, a category, an agent or a customer."""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incassa.core.formatting import format_day, format_money
from incassa.credit.kpi import AGING_BUCKETS
from incassa.credit.kpis import Scope, kpi_report
from incassa.credit.services import kpi_snapshot_take
from incassa.ledger.management.base import parse_date, resolve_company
from incassa.ledger.models import Customer, CustomerCategory, SalesAgent

BUCKET_LABELS = {
    "not_due": "not due",
    "1_30": "1-30 days",
    "31_60": "31-60 days",
    "61_90": "61-90 days",
    "91_180": "91-180 days",
    "over_180": "over 180 days",
}


class Command(BaseCommand):
    help = (
        "Print the credit KPIs (open and overdue amount, aging, DSO simple and countback, "
        "best possible DSO, ADD, CEI, late share, days to pay) as of a date."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default today)")
        parser.add_argument(
            "--from", dest="start", help="first day of the period (default: 3 months back)"
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--category", help="category code")
        which.add_argument("--agent", help="sales agent name")
        which.add_argument("--customer", help="customer code")
        parser.add_argument("--company", help="company code")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument(
            "--snapshot",
            action="store_true",
            help="also keep the figures as the day's snapshot (an import does it by itself)",
        )
        parser.add_argument(
            "--all-scopes",
            action="store_true",
            help="with --snapshot: every category's and sales agent's figures too",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        company = resolve_company(options["company"])
        as_of = parse_date(options["as_of"]) if options["as_of"] else dt.date.today()
        start = parse_date(options["start"]) if options["start"] else None
        scope = self._scope(company, options)
        if options["snapshot"]:
            kpi_snapshot_take(company=company, as_of=as_of, scopes=options["all_scopes"])
        try:
            result = kpi_report(company=company, as_of=as_of, period_start=start, scope=scope)
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json()))
            return
        r = result.report

        def days(value: Any) -> str:
            return "-" if value is None else f"{value} days"

        def pct(value: Any) -> str:
            return "-" if value is None else f"{value}%"

        lines = [
            f"KPIs of {company.name} ({scope.key}) as of {format_day(r.as_of)}, period from "
            f"{format_day(r.period_start)}; credit sales from the {result.sales_source}",
            f"  open amount            {format_money(r.open_amount)}",
            f"  overdue amount         {format_money(r.overdue_amount)}",
            *(f"    {BUCKET_LABELS[b]:<20} {format_money(r.aging[b])}" for b in AGING_BUCKETS),
            f"  DSO                    {days(r.dso)} (countback {days(r.dso_countback)})",
            f"  best possible DSO      {days(r.best_possible_dso)}",
            f"  ADD                    {days(r.add)}",
            f"  CEI                    {pct(r.cei)}",
            f"  late share of turnover {pct(r.late_share)}",
            f"  average days to pay    {days(r.average_days_to_pay)}",
            f"  average days late      {days(r.average_days_late)}",
        ]
        self.stdout.write("\n".join(lines))

    def _scope(self, company: Any, options: dict) -> Scope:
        lookups = (
            ("category", CustomerCategory, {"code": options["category"]}),
            ("agent", SalesAgent, {"name": options["agent"]}),
            ("customer", Customer, {"code": options["customer"]}),
        )
        for kind, model, lookup in lookups:
            value = next(iter(lookup.values()))
            if value is None:
                continue
            found = model.objects.filter(company=company, **lookup).first()
            if found is None:
                raise CommandError(f"no {kind} {value!r} in {company.code}", returncode=2)
            return Scope(kind, found.pk)
        return Scope()
