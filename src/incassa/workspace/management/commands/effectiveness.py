"""``incassa effectiveness``: which steps, channels, activity types and strategies bring
money in, and the customers for whom what is done is not working."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from incassa.core.formatting import format_day, format_money
from incassa.ledger.management.base import parse_date, resolve_company
from incassa.workspace import effectiveness as eff
from incassa.workspace.selectors import (
    EffectivenessReport,
    EffectivenessRow,
    NotWorking,
    effectiveness_report,
)


class Command(BaseCommand):
    help = (
        "Print the share of the amount collected within 7, 15 and 30 days after each step, "
        "channel, activity type and strategy, the median days to payment, and the customers "
        "for whom the activities are not working, with a suggestion for each."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--company", help="company code (needed when there are several)")
        parser.add_argument(
            "--from",
            dest="start",
            help=f"first day of the period, YYYY-MM-DD (default: {eff.DEFAULT_PERIOD_DAYS} "
            "days before --to)",
        )
        parser.add_argument("--to", dest="end", help="last day of the period (default today)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        company = resolve_company(options["company"])
        today = timezone.localdate()
        default_start, default_end = eff.default_period(today)
        end = parse_date(options["end"]) if options["end"] else default_end
        start = (
            parse_date(options["start"])
            if options["start"]
            else end - (default_end - default_start)
        )
        if end < start:
            raise CommandError(f"the period ends ({end}) before it starts ({start})", returncode=2)
        with translation.override("en"):
            report = effectiveness_report(company=company, start=start, end=end, today=today)
            if options["json"]:
                self.stdout.write(json.dumps({"company": company.code, **report.as_json()}))
            else:
                self.stdout.write("\n".join(_text(company.name, report)))


def _percent(value: Any) -> str:
    return "-" if value is None else f"{value}%"


def _table(title: str, rows: list[EffectivenessRow]) -> list[str]:
    lines = [
        "",
        title,
        f"  {'':<40} {'contacts':>8} {'amount':>16} "
        + " ".join(f"{f'{d} days':>8}" for d in eff.HORIZONS)
        + f" {'median':>7} {'paid/open':>10}",
    ]
    if not rows:
        lines.append("  (no contact of this kind in the period)")
    for row in rows:
        figures = row.figures
        median = "-" if figures.median_days is None else f"{figures.median_days:g}"
        lines.append(
            f"  {str(row.label)[:40]:<40} {figures.contacts:>8} "
            f"{format_money(figures.amount):>16} "
            + " ".join(f"{_percent(p):>8}" for _, p in figures.percents)
            + f" {median:>7} {f'{figures.paid_items}/{figures.open_items}':>10}"
        )
    return lines


def _reasons(entry: NotWorking) -> list[str]:
    flag = entry.flag
    reasons = []
    if flag.finished_items:
        reasons.append(
            f"sequence ended {flag.finished_days} days ago, {format_money(flag.finished_amount)}"
            f" still open on {flag.finished_items} item(s)"
        )
    if flag.broken_promises:
        reasons.append(f"{flag.broken_promises} broken promise(s)")
    if flag.broken_plans:
        reasons.append(f"{flag.broken_plans} broken repayment plan(s)")
    if flag.fruitless_contacts:
        reasons.append(
            f"{flag.fruitless_contacts} contacts, none followed by a payment within "
            f"{eff.LONGEST} days"
        )
    return reasons


def _text(company_name: str, report: EffectivenessReport) -> list[str]:
    lines = [
        f"Effectiveness of {company_name}: contacts from {format_day(report.start)} to "
        f"{format_day(report.end)}, payments known up to {format_day(report.observed_until)}",
        f"  engine actions: {report.actions.contacts}, "
        f"{_percent(report.actions.longest_percent)} collected within {eff.LONGEST} days",
        f"  activities:     {report.activities.contacts}, "
        f"{_percent(report.activities.longest_percent)} collected within {eff.LONGEST} days",
    ]
    lines += _table("By step", report.steps)
    lines += _table("By channel", report.channels)
    lines += _table("By strategy", report.strategies)
    lines += _table("By activity type", report.activity_kinds)
    lines += ["", f"Customers where it is not working: {len(report.not_working)}"]
    for entry in report.not_working:
        customer = entry.customer
        lines.append(
            f"  {customer.code} {customer.name} - overdue {format_money(entry.overdue_amount)}"
            f", strategy {entry.strategy.name if entry.strategy else '-'}"
        )
        lines.append(f"    why: {'; '.join(_reasons(entry))}")
        lines.append(f"    suggestion: {eff.SUGGESTION_LABELS[entry.flag.suggestion]}")
    return lines
