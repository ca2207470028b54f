"""``incassa dunning run|preview|history|deliver``: the engine from the command line."""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from incassa.core.formatting import format_day
from incassa.dunning import selectors
from incassa.dunning.services import dunning_preview, dunning_run
from incassa.ledger.management.base import parse_date, resolve_company

SHOWN_ACTIONS = 50


class Command(BaseCommand):
    help = "Run the dunning strategies, preview the coming days, list an item's history."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="create today's actions (or those of --date)")
        run.add_argument("--date", help="run as of this date (YYYY-MM-DD; default today)")
        run.add_argument("--dry-run", action="store_true", help="show, change nothing")
        preview = sub.add_parser("preview", help="what the next days will bring")
        preview.add_argument("--days", type=int, default=7)
        preview.add_argument("--date", help="first day (default tomorrow)")
        history = sub.add_parser("history", help="every step reached, item by item")
        history.add_argument("--customer", help="customer code")
        history.add_argument("--document", help="document number")
        deliver = sub.add_parser(
            "deliver", help="send the emails waiting in the outbox (same as `incassa send`)"
        )
        deliver.add_argument("--date", help="deliver actions up to this date (default today)")
        for sub_parser in (run, preview, history, deliver):
            sub_parser.add_argument("--company", help="company code")
            sub_parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        company = resolve_company(options["company"])
        getattr(self, f"_{options['action']}")(company, options)

    def _run(self, company: Any, options: dict) -> None:
        as_of = parse_date(options["date"]) if options["date"] else dt.date.today()
        notice = _non_working_notice(company, as_of)
        result = dunning_run(company=company, as_of=as_of, dry_run=options["dry_run"])
        if options["json"]:
            if notice:
                self.stderr.write(notice)
            self.stdout.write(json.dumps(result.as_dict()))
            return
        if notice:
            self.stdout.write(self.style.WARNING(notice))
        verb = "Would create" if result.dry_run else "Created"
        self.stdout.write(
            f"{verb} {result.actions} action(s) for {result.item_steps} item step(s) "
            f"on {format_day(as_of)} ({result.skipped} skipped, {result.cancelled} "
            f"cancelled because paid; {result.items_considered} open items considered)"
        )
        for code, count in result.by_step.items():
            self.stdout.write(f"  {code}: {count}")
        if result.dry_run:
            for line in selectors.describe_decisions(
                company=company, decisions=result.decisions, limit=SHOWN_ACTIONS
            ):
                self.stdout.write(f"  {line}")

    def _preview(self, company: Any, options: dict) -> None:
        if options["days"] < 1 or options["days"] > 90:
            raise CommandError("--days must be between 1 and 90", returncode=2)
        start = (
            parse_date(options["date"])
            if options["date"]
            else dt.date.today() + dt.timedelta(days=1)
        )
        outlook = dunning_preview(company=company, start=start, days=options["days"])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    [
                        {
                            "date": day.day.isoformat(),
                            "by_step": day.by_step,
                            "by_channel": day.by_channel,
                            "item_steps": day.item_steps,
                        }
                        for day in outlook
                    ]
                )
            )
            return
        for day in outlook:
            steps = ", ".join(f"{code} {count}" for code, count in day.by_step.items()) or "-"
            channels = ", ".join(f"{c} {n}" for c, n in day.by_channel.items()) or "-"
            self.stdout.write(f"{format_day(day.day)}  steps: {steps}  |  channels: {channels}")

    def _history(self, company: Any, options: dict) -> None:
        rows = selectors.item_history(
            company=company, customer_code=options["customer"], document=options["document"]
        )
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        for row in rows:
            self.stdout.write(
                f"{row['customer']:<10} {row['document']:<14} due {row['due_date']}  "
                f"{row['step']:<16} {row['date']}  {row['status']:<10} "
                f"{row['open_amount']:>12} {row['note']}"
            )

    def _deliver(self, company: Any, options: dict) -> None:
        from incassa.comms.services import outbox_deliver

        today = parse_date(options["date"]) if options["date"] else dt.date.today()
        result = outbox_deliver(company=company, today=today)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(f"Sent {result.sent} email(s), {result.failed} failed")
        for error in result.errors:
            self.stderr.write(f"  {error}")


def _non_working_notice(company: Any, day: dt.date) -> str:
    """A notice when ``day`` is not one of the company's working days (the run goes on as
    usual: the engine's decisions do not depend on the calendar)."""
    from incassa.comms.calendars import company_calendar

    calendar = company_calendar(company, language="en")
    reason = calendar.reason(day)
    if reason is None:
        return ""
    kind, words = reason
    weekday = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[
        day.weekday()
    ]
    why = {"weekend": weekday, "holiday": words, "closure": f"closure: {words}"}[kind]
    return (
        f"Notice: {format_day(day)} is not a working day for {company.code} ({why}); "
        f"the next working day is {format_day(calendar.next_working_day(day))}. "
        "The run goes on as usual."
    )
