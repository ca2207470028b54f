"""``incassa demo-data``: an Italian demo portfolio loaded through the real imports, with
the dunning engine run for every day between the snapshots.

It lives in ``web`` because it spans every app, and the apps below must not know each other.
"""

from __future__ import annotations

import datetime as dt
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from incassa.core.formatting import format_money, format_number
from incassa.dunning.demo import WRITTEN_DAYS, demo_days_play
from incassa.ledger.demo import DEFAULT_COMPANY_CODE, DEFAULT_SEED, demo_portfolio_build
from incassa.ledger.demo_einvoices import demo_einvoices_import, demo_einvoices_reset
from incassa.ledger.models import Company, Receivable
from incassa.ledger.selectors import ledger_summary
from incassa.payments.demo import demo_payments_reset, demo_statement_import
from incassa.workspace.demo import demo_team_build, demo_work_play


def _date(value: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"invalid date {value!r}: use YYYY-MM-DD", returncode=2) from exc


def _dunning_permissions(username: str) -> None:
    """The demo login, a credit manager, may also work in the admin: approve actions, manage
    holds, edit the message templates (with their live preview), print the day's letters,
    record credit events and weights, look at the team's tasks and agreements."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.get(username=username)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=["dunning", "comms", "credit", "workspace"]
        )
    )


def _play(company, day: dt.date, until: dt.date, as_of: dt.date) -> None:
    """The days between two snapshots: the engine's runs and the team's calls."""
    demo_team_build(company=company)
    demo_days_play(
        company=company,
        start=day,
        until=until,
        written_from=as_of - dt.timedelta(days=WRITTEN_DAYS),
        on_day=lambda company, day: demo_work_play(company=company, day=day, today=as_of),
    )


class Command(BaseCommand):
    help = (
        "Build a deterministic demo portfolio (about 400 customers, 5,000 open items) for a "
        "company by importing three snapshots and the issued invoices, and print the demo "
        "login with a fresh password."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--as-of", type=_date, default=None, help="date of the last snapshot (default: today)"
        )
        parser.add_argument(
            "--company",
            default=DEFAULT_COMPANY_CODE,
            help=f"company code (default: {DEFAULT_COMPANY_CODE})",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="keep the company's data if it already has items (the login is still reset)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"random seed (default: {DEFAULT_SEED})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = options["as_of"] or timezone.localdate()
        started = time.perf_counter()
        existing = Company.objects.filter(code=options["company"]).first()
        if existing is not None and not (
            options["if_empty"] and Receivable.objects.filter(company=existing).exists()
        ):
            # Bank payments and e-invoices hold on to the items and customers a rebuild deletes.
            demo_payments_reset(company=existing)
            demo_einvoices_reset(company=existing)
        result = demo_portfolio_build(
            as_of=as_of,
            company_code=options["company"],
            seed=options["seed"],
            if_empty=options["if_empty"],
            after_snapshot=lambda company, day, until: _play(company, day, until, as_of),
        )
        _dunning_permissions(result.username)
        company = result.company
        if result.built:
            # What the exchange system and the bank delivered since the ERP's last export.
            einvoices = demo_einvoices_import(company=company, as_of=as_of, seed=options["seed"])
            statement = demo_statement_import(company=company, as_of=as_of, seed=options["seed"])
        summary = ledger_summary(company=company)
        if result.built:
            self.stdout.write(
                f"Built the demo portfolio of {company.name} ({company.code}) as of "
                f"{as_of:%d/%m/%Y} in {time.perf_counter() - started:.1f} s: "
                f"{len(result.imports) + 2} imports."
            )
            run = einvoices.import_run
            notes = sum(1 for o in einvoices.outcomes if o.document_type == "TD04")
            self.stdout.write(
                f"E-invoices: {len(einvoices.outcomes)} documents ({notes} credit notes) from "
                f"{run.file_name}: {run.created} new items, {run.customers_created} new "
                "customers."
            )
            self.stdout.write(
                f"Bank statement {statement.import_run.file_name}: "
                f"{statement.new_credits} credits ({statement.matched} matched, "
                f"{statement.proposed} proposed, {statement.unmatched} to be matched), "
                f"{statement.debits} debits skipped, "
                f"{format_money(statement.amount_booked, language='en')} booked."
            )
        else:
            self.stdout.write(f"{company.name} ({company.code}) already has data: kept it.")
        self.stdout.write(
            f"{format_number(summary.open_items, 'en')} open items, "
            f"{format_number(summary.customers, 'en')} customers, "
            f"{format_money(summary.open_amount, language='en')} open."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: http://127.0.0.1:8000/  user: {result.username}  "
                f"password: {result.password}"
            )
        )
