"""The daily cycle benchmark's company, on a database holding the first snapshot; prints
the users and pages to request while the cycle runs.

Run by ``benchmarks/daily_cycle.py`` as ``python -m benchmarks.cycle_world PASSWORD DAY``.
It gives the company what a company that sends its reminders by email has: an address, an
IBAN (so every statement carries its payment QR code), a schedule whose summary goes to the
credit manager, and a strategy of nine email reminders (five days before the due date, then
1, 8, 15, 22, 30, 45, 60 and 75 days after it). Then it writes, set-based, where every open
item stands in that strategy on ``DAY`` as if the engine had run every day before: the last
step whose days it has reached, reached on the day it reached them, its message long sent.
The next day's engine run then moves on exactly the items that reach their next step that
day, as on any ordinary day: about one customer in ten of the 100,000 gets an email.

It prints one JSON object: ``{"users": {role: username}, "pages": [[label, role, path]],
"facts": {...}}``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
django.setup()

import polars as pl  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import Sum, Value  # noqa: E402
from django.db.models.functions import Concat  # noqa: E402

from incassa.core import bulk  # noqa: E402
from incassa.cycle.models import CycleSchedule  # noqa: E402
from incassa.dunning.models import CategoryStrategy, ItemProgress, Step, Strategy  # noqa: E402
from incassa.ledger.models import (  # noqa: E402
    Company,
    Customer,
    Receivable,
    ReceivableStatus,
    Role,
)

# The strategy's steps: (code, days overdue, template).
STEPS = (
    ("pre-due", -5, "pre-due"),
    ("reminder-1", 1, "first-reminder"),
    ("reminder-8", 8, "first-reminder"),
    ("reminder-15", 15, "first-reminder"),
    ("reminder-22", 22, "first-reminder"),
    ("reminder-30", 30, "first-reminder"),
    ("reminder-45", 45, "first-reminder"),
    ("reminder-60", 60, "first-reminder"),
    ("reminder-75", 75, "first-reminder"),
)
MANAGER_EMAIL = "crediti@benchmark.example"


def _company() -> Company:
    company = Company.objects.get()
    company.name = "Benchmark S.r.l."
    company.address = "Via Roma 1"
    company.postal_code = "20121"
    company.city = "Milano"
    company.province = "MI"
    company.vat_number = "IT01234567890"
    company.email = MANAGER_EMAIL
    company.iban = "IT60X0542811101000000123456"
    company.save()
    CycleSchedule.objects.update_or_create(company=company, defaults={"recipients": MANAGER_EMAIL})
    return company


def _addresses(company: Company) -> int:
    """An address for every customer the ERP's file gave none: this benchmark measures a
    day of emails (letters are the print batch's, measured on their own)."""
    missing = Customer.objects.filter(company=company, emails="")
    return missing.update(emails=Concat(Value("amministrazione@c"), "code", Value(".example")))


def _strategy(company: Company) -> list[Step]:
    strategy = Strategy.objects.get(company=company, is_default=True)
    CategoryStrategy.objects.filter(strategy__company=company).delete()
    strategy.steps.all().delete()
    return Step.objects.bulk_create(
        Step(
            strategy=strategy,
            position=(index + 1) * 10,
            code=code,
            name=code.replace("-", " ").capitalize(),
            channel="email",
            days_overdue=days,
            template_code=template,
        )
        for index, (code, days, template) in enumerate(STEPS)
    )


def _progress(company: Company, steps: list[Step], day: dt.date) -> int:
    """Each open item's last step reached by ``day``, in one set-based insert."""
    items = bulk.fetch_frame(
        f"SELECT id, CAST(due_date AS TEXT) FROM {Receivable._meta.db_table} "
        "WHERE company_id = %s AND status = 'open' AND open_amount > 0 "
        "AND document_type <> 'credit_note'",
        [company.pk],
        {"receivable_id": pl.Int64, "due_date": pl.Utf8},
    ).with_columns(pl.col("due_date").str.to_date())
    days = (pl.lit(day) - pl.col("due_date")).dt.total_days()
    step_id, reached = pl.lit(None, pl.Int64), pl.lit(None, pl.Date)
    for step in steps:  # ascending days: the last one that applies wins
        reach = days >= step.days_overdue
        step_id = pl.when(reach).then(pl.lit(step.pk)).otherwise(step_id)
        reached = (
            pl.when(reach)
            .then(pl.col("due_date") + pl.duration(days=step.days_overdue))
            .otherwise(reached)
        )
    frame = (
        items.with_columns(step_id.alias("step_id"), reached.alias("reached_on"))
        .filter(pl.col("step_id").is_not_null())
        .with_columns(pl.col("reached_on").cast(pl.Utf8))
    )
    columns = ("receivable_id", "step_id", "reached_on")
    with transaction.atomic():
        return bulk.insert_rows(
            ItemProgress._meta.db_table,
            columns,
            bulk.frame_rows(frame, columns),
            expected=frame.height,
        )


def main(password: str, day: str) -> None:
    from benchmarks.pages_world import USERS, _users

    company = _company()
    addresses = _addresses(company)
    steps = _strategy(company)
    written = _progress(company, steps, dt.date.fromisoformat(day))
    people = _users(company, password)
    manager = people[USERS[Role.CREDIT_MANAGER]]
    manager.email = MANAGER_EMAIL
    manager.save(update_fields=["email"])
    largest = (
        Customer.objects.filter(company=company)
        .annotate(open=Sum("receivables__open_amount"))
        .order_by("-open", "pk")
        .values_list("code", flat=True)
        .first()
    )
    item = (
        Receivable.objects.filter(company=company, status=ReceivableStatus.OPEN)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    manager_role, collector = Role.CREDIT_MANAGER, Role.COLLECTOR
    pages = [
        ["Dashboard", manager_role, "/"],
        ["Customers, overdue and blocked", manager_role, "/customers/?overdue=1&blocked=1"],
        ["Customer 360 (the largest)", manager_role, f"/customers/{largest}/"],
        ["Item", manager_role, f"/items/{item}/"],
        ["Items, overdue, by amount", manager_role, "/items/?overdue=1&sort=-open_amount"],
        ["Worklist (collector)", collector, "/worklist/"],
        ["Daily cycle", manager_role, "/cycle/"],
    ]
    print(
        json.dumps(
            {
                "users": {role: USERS[role] for role in (manager_role, collector)},
                "pages": pages,
                "facts": {
                    "progress": written,
                    "steps": [s[1] for s in STEPS],
                    "addresses_added": addresses,
                },
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
