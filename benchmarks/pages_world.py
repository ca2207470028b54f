"""The people and the day's work on the page benchmark's ledger; prints the pages to request.

Run by ``benchmarks/pages.py`` as ``python -m benchmarks.pages_world PASSWORD DAY`` on a
database that already holds two snapshots, their scores, the engine's runs and the KPI
snapshot. It adds a user per role and portfolio rules; then what the last sixty working
days up to ``DAY`` left behind, written set-based (bulk inserts, never a query per row): the
bank's daily statements with their credits matched, proposed, still to match and set aside
(allocations against the ledger's items, the matcher's readings as the services store them,
the items the bank paid before the ERP booked them), the e-invoices received, the daily
cycle's runs with their stages and inbox files, and the background jobs people started.
Last, through the real services, the tasks of the engine's actions and a team's day of
calls (with their promises, disputes, plans and settlements). It prints one JSON object:
``{"users": {role: username}, "pages": [...], "facts": {...}}`` where each page is
``[label, role, path]``.

The sizes follow the ledger: a bank credit per 50 items (20,000 at 1,000,000 items) and an
item paid by the bank per 500 (2,000); sixty working days, 500 jobs and about 200 inbox
files whatever its size.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import re
import sys
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
django.setup()

import polars as pl  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import Count, F, OuterRef, Subquery, Sum  # noqa: E402
from django.urls import reverse  # noqa: E402

from incassa.comms.models import MessageTemplate  # noqa: E402
from incassa.core import bulk  # noqa: E402
from incassa.cycle.models import (  # noqa: E402
    CycleRun,
    CycleSchedule,
    CycleStage,
    InboxFile,
    InboxKind,
    InboxStatus,
    RunStatus,
    StageStatus,
    Trigger,
)
from incassa.dunning.models import Strategy  # noqa: E402
from incassa.jobs.models import Job, JobKind, JobStatus  # noqa: E402
from incassa.ledger.balances import fresh_open_balances, open_balances_refresh  # noqa: E402
from incassa.ledger.models import (  # noqa: E402
    BankPaidItem,
    BankPaidStatus,
    Company,
    Customer,
    CustomerCategory,
    EventKind,
    ImportKind,
    ImportRun,
    ImportStatus,
    Membership,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
    Role,
    SalesAgent,
)
from incassa.ledger.signals import ledger_changed  # noqa: E402
from incassa.payments.demo import payer_iban  # noqa: E402
from incassa.payments.models import (  # noqa: E402
    BankEntry,
    BankStatement,
    Confidence,
    EntryStatus,
    PayerAccount,
    PaymentAllocation,
)
from incassa.payments.signals import payments_booked  # noqa: E402
from incassa.workspace.demo import demo_work_play  # noqa: E402
from incassa.workspace.models import (  # noqa: E402
    Dispute,
    PortfolioRule,
    Promise,
    RepaymentPlan,
    TaskKind,
)
from incassa.workspace.work import task_create_manual, tasks_sync_from_actions  # noqa: E402

USERS = {
    Role.ADMINISTRATOR: "bench-admin",
    Role.CREDIT_MANAGER: "bench-manager",
    Role.COLLECTOR: "bench-collector",
    Role.SALES_AGENT: "bench-agent",
    Role.AUDITOR: "bench-auditor",
}
SECOND_COLLECTOR = "bench-collector-2"
# A team works a day's calls, not the whole ledger's: enough for every kind of agreement.
CALLS = 1_500

SEED = 20260401
ZONE = ZoneInfo(settings.TIME_ZONE)
DAYS = 60  # working days of statements, cycle runs, e-invoices and jobs
ITEMS_PER_CREDIT = 50  # 20,000 bank credits at 1,000,000 items
ITEMS_PER_WATCH = 500  # 2,000 items paid by the bank and watched until the ERP agrees
ITEMS_PER_EINVOICE = 1_600  # documents of a day's e-invoices: 625 at 1,000,000 items
JOBS = 500
ACCOUNT_IBAN = "IT60X0542811101000000123456"
COMPANY_VAT = "01234567897"
INBOX_SOURCE = "cartella di arrivo"  # the source the inbox records, in the company's language

# What becomes of a credit: booked at import (auto), matched by a person (manual), proposed,
# nothing fits (unmatched), set aside (ignored), booked at import and undone since (undone).
KINDS = ("auto", "manual", "proposed", "unmatched", "ignored", "undone")
RECENT_DAYS = 10  # the last days' credits are the ones still waiting for people
RECENT_WEIGHTS = (40, 5, 25, 19, 10, 1)
OLDER_WEIGHTS = (62, 15, 10, 6, 7, 0)
NO_REFERENCE = (
    "Pagamento fornitura",
    "Bonifico a Vostro favore",
    "Saldo come da accordi telefonici",
    "Pagamento materiale",
    "Saldo",
)
UNKNOWN_PAYERS = (
    ("Studio Tecnico Geom. Paolo Neri", "Rimborso spese sopralluogo"),
    ("Caterina Lodi", "Caparra ordine banco vendita"),
    ("Assicurazioni Padane Agenzia Centro", "Liquidazione sinistro"),
    ("Giovanni Perini", "Acquisto al banco"),
    ("Regione Lombardia", "Contributo bando digitalizzazione"),
)
# The matcher's words for its own reading (``payments.matching``), stored as it wrote them.
READING_TEXTS = {
    "single_amount": "Amount equals one open item of the payer.",
    "combination": "Amount equals a set of the payer's open items.",
    "amount_partial": "Partial payment of the quoted documents.",
    "oldest_first": "No amount fits: the oldest open items are paid first.",
}
SET_ASIDE = (
    ("BENCHMARK S.R.L.", "Giroconto da c/c 000012345678", "Giroconto tra conti della società."),
    ("Agenzia delle Entrate", "Rimborso IVA 2025", "Rimborso d'imposta, non un incasso."),
    ("Assicurazioni Padane", "Liquidazione sinistro n. 2026/0413", "Rimborso assicurativo."),
)


@dataclass(frozen=True)
class Item:
    """An item as the bank world uses it: cents are the open amount (or, closed, the amount)."""

    pk: int
    customer_id: int
    number: str
    date: dt.date | None
    cents: int


@dataclass
class Credit:
    """A bank credit before it is stored: the entry's fields and the items it paid."""

    day: dt.date
    kind: str
    cents: int = 0
    payer_name: str = ""
    payer_iban: str = ""
    remittance: str = ""
    customer_id: int | None = None
    confidence: int = Confidence.NONE
    reasons: list[dict[str, str]] = field(default_factory=list)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    # (item, cents paid, the item was open: the world books it and the bank watches it)
    paid: list[tuple[Item, int, bool]] = field(default_factory=list)
    user: Any = None
    decided_at: dt.datetime | None = None
    note: str = ""
    tag: str = ""
    entry: BankEntry | None = None


class Pool:
    """Items grouped by customer, handed out a customer at a time, oldest due first. A pool
    of open items gives each item once; a pool of closed items starts again when empty."""

    def __init__(self, by_customer: dict[int, list[Item]], rng: random.Random, *, again: bool):
        self._original = {c: list(items) for c, items in by_customer.items() if items}
        self._rng = rng
        self._again = again
        self._fill()

    def _fill(self) -> None:
        self._items = {c: list(items) for c, items in self._original.items()}
        order = sorted(self._items)
        self._rng.shuffle(order)
        self._queue = deque(order)

    def take(self, count: int) -> list[Item]:
        if not self._queue and self._again and self._original:
            self._fill()
        while self._queue:
            items = self._items[self._queue.popleft()]
            taken, items[:] = items[:count], items[count:]
            if taken:
                return taken
        return []


def working_days(last: dt.date, count: int) -> list[dt.date]:
    """The ``count`` weekdays up to ``last``, oldest first."""
    days, day = [], last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days[::-1]


def _at(day: dt.date, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZONE)


def _eur(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _text(cents: int) -> str:
    return f"{_eur(cents):.2f}"


def _checksum(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


# --------------------------------------------------------------------------------------
# The people
# --------------------------------------------------------------------------------------


def _users(company: Company, password: str) -> dict[str, Any]:
    model = get_user_model()
    people = {}
    for role, username in [*USERS.items(), (Role.COLLECTOR, SECOND_COLLECTOR)]:
        user, _created = model.objects.get_or_create(
            username=username, defaults={"first_name": username.title()}
        )
        user.set_password(password)
        user.save()
        Membership.objects.update_or_create(user=user, company=company, defaults={"role": role})
        people[username] = user
    # The agent with the most customers is the sales agent's login.
    agent = (
        SalesAgent.objects.filter(company=company)
        .annotate(n=Count("customers"))
        .order_by("-n", "pk")
        .first()
    )
    if agent is not None:
        agent.user = people[USERS[Role.SALES_AGENT]]
        agent.save(update_fields=["user"])
    return people


def _portfolios(company: Company, people: dict[str, Any]) -> None:
    """Half the categories to each collector, the rest to the first one by default."""
    categories = list(CustomerCategory.objects.filter(company=company).order_by("code"))
    for index, category in enumerate(categories):
        operator = people[USERS[Role.COLLECTOR] if index % 2 else SECOND_COLLECTOR]
        PortfolioRule.objects.update_or_create(
            company=company, category=category, defaults={"operator": operator}
        )
    PortfolioRule.objects.update_or_create(
        company=company, category=None, defaults={"operator": people[USERS[Role.COLLECTOR]]}
    )


def _largest_customer(company: Company) -> Customer:
    return (
        Customer.objects.filter(company=company)
        .annotate(open=Sum("receivables__open_amount"))
        .order_by("-open", "pk")
        .first()
    )


# --------------------------------------------------------------------------------------
# The bank: statements, credits, allocations, the items it paid before the ERP
# --------------------------------------------------------------------------------------


def _items(company: Company, status: str) -> pl.DataFrame:
    """The company's positive invoices of ``status`` (id, customer, number, date, due date,
    cents: the open amount of an open item, the amount of a closed one)."""
    table = Receivable._meta.db_table
    cents = "open_amount" if status == ReceivableStatus.OPEN else "amount"
    return bulk.fetch_frame(
        f"SELECT id, customer_id, document_number, document_date, due_date, {cents} "
        f"FROM {table} WHERE company_id = %s AND status = %s AND currency = 'EUR' "
        f"AND document_type = 'invoice' AND {cents} > 0",
        [company.pk, status],
        {
            "id": pl.Int64,
            "customer_id": pl.Int64,
            "document_number": pl.Utf8,
            "document_date": pl.Date,
            "due_date": pl.Date,
            "cents": pl.Int64,
        },
    )


def _grouped(frame: pl.DataFrame) -> dict[int, list[Item]]:
    grouped: dict[int, list[Item]] = defaultdict(list)
    for pk, customer, number, date, _due, cents in frame.sort(
        ["customer_id", "due_date", "id"]
    ).iter_rows():
        grouped[customer].append(Item(pk, customer, number, date, cents))
    return grouped


def _sample(frame: pl.DataFrame, customers: int, rng: random.Random, skip: int) -> pl.DataFrame:
    """The items of ``customers`` customers chosen at random (never ``skip``)."""
    ids = [c for c in frame.get_column("customer_id").unique().sort().to_list() if c != skip]
    rng.shuffle(ids)
    return frame.filter(pl.col("customer_id").is_in(ids[:customers]))


def _serial(number: str) -> str:
    digits = re.findall(r"\d+", number)
    return (digits[-1].lstrip("0") or "0") if digits else number


def _quote(rng: random.Random, items: Sequence[Item], partial: bool) -> str:
    """How a payer quotes the invoices they pay, in one of the usual styles."""
    first = items[0]
    year = first.date.year if first.date else 2026
    if partial:
        return f"ACCONTO FT {_serial(first.number)}/{year}"
    if len(items) > 1:
        return "Saldo fatture n. " + ", ".join(_serial(i.number) for i in items)
    n = _serial(first.number)
    day = f"{first.date:%d/%m/%Y}" if first.date else ""
    return rng.choice(
        (
            f"SALDO FT {year}/{n}",
            f"Fatt. n. {n} del {day}",
            f"pagamento fattura {n}",
            f"BONIFICO SEPA - RIF. {first.number}",
            f"FATTURA N.{n} SALDO",
        )
    )


def _reading(items: Sequence[tuple[Item, int]], reason: str) -> dict[str, Any]:
    """A suggestion as ``payments.services`` stores it: ids and amounts as text."""
    return {
        "customer_id": items[0][0].customer_id,
        "allocations": [[item.pk, _text(cents)] for item, cents in items],
        "reason": reason,
    }


class CreditMaker:
    """The credits of the sixty days, newest first, so that the items the bank paid lately
    (and the ERP has not booked yet) are the newest days' open items."""

    def __init__(
        self,
        *,
        as_of: dt.date,
        open_pool: Pool,
        closed_pool: Pool,
        watch_target: int,
        customers: dict[int, tuple[str, str]],
        deciders: Sequence[Any],
        rng: random.Random,
    ):
        self.as_of = as_of
        self.open_pool, self.closed_pool = open_pool, closed_pool
        self.watch_target = watch_target
        self.watched = 0
        self.customers = customers
        self.customer_ids = sorted(customers)
        self.deciders = deciders
        self.rng = rng
        self._ibans: dict[int, str] = {}

    def _iban(self, customer: int) -> str:
        if customer not in self._ibans:
            self._ibans[customer] = payer_iban(self.customers[customer][0], SEED)
        return self._ibans[customer]

    def _payer(self, credit: Credit, customer: int, iban_share: float = 0.8) -> None:
        name = self.customers[customer][1] or self.customers[customer][0]
        credit.customer_id = customer
        credit.payer_name = name.upper() if self.rng.random() < 0.5 else name
        credit.payer_iban = self._iban(customer) if self.rng.random() < iban_share else ""

    def _later(self, day: dt.date, hour_from: int = 9) -> dt.datetime:
        later = min(day + dt.timedelta(days=self.rng.randint(0, 3)), self.as_of)
        return _at(later, self.rng.randint(hour_from, 17), self.rng.randint(0, 59))

    def make(self, day: dt.date, kind: str) -> Credit:
        credit = Credit(day=day, kind=kind)
        if kind in ("auto", "manual", "undone") and not self._paying(credit):
            credit.kind = kind = "unmatched"
        if kind == "proposed":
            readings = self.rng.choices((1, 2, 3, 4, 5, 6), (55, 25, 8, 5, 4, 3))[0]
            items = self.open_pool.take(readings * self.rng.choice((1, 1, 2, 3)))
            if not self._proposed(credit, items, readings):
                credit.kind = kind = "unmatched"
        if kind == "unmatched":
            self._unmatched(credit)
        elif kind == "ignored":
            payer, text, note = self.rng.choice(SET_ASIDE)
            credit.payer_name, credit.remittance, credit.note = payer, text, note
            credit.cents = self.rng.randint(10_000, 5_000_000)
            credit.reasons = [
                {"code": "unmatched", "text": "No document number, payer or amount fits."}
            ]
            credit.user = self.deciders[0]
            credit.decided_at = self._later(day, 10)
        return credit

    def _paying(self, credit: Credit) -> bool:
        """A credit that paid items: booked at import, by a person, or booked and undone."""
        rng = self.rng
        count = rng.choices((1, 2, 3, 4), (75, 15, 7, 3))[0]
        fresh = credit.kind == "undone" or self.watched < self.watch_target
        items = (self.open_pool if fresh else self.closed_pool).take(count)
        if not items:
            return False
        partial = len(items) == 1 and credit.kind != "undone" and rng.random() < 0.12
        credit.paid = [(i, i.cents // 2 if partial else i.cents, fresh) for i in items]
        if fresh:
            self.watched += len(items)
        paid = sum(cents for _i, cents, _f in credit.paid)
        on_account = rng.randint(100, 5_000) if rng.random() < 0.04 else 0
        credit.cents = paid + on_account
        self._payer(credit, items[0].customer_id)
        reading = [(i, cents) for i, cents, _f in credit.paid]
        if credit.kind == "manual":
            credit.remittance = rng.choice(NO_REFERENCE)
            credit.confidence = Confidence.MEDIUM
            credit.reasons = [
                {"code": "payer_name", "text": f"Payer name {credit.payer_name!r} is known."},
                {"code": "combination", "text": READING_TEXTS["combination"]},
            ]
            credit.suggestions = [_reading(reading, "combination")]
            credit.user = rng.choice(self.deciders)
            credit.decided_at = self._later(credit.day)
            return True
        credit.remittance = _quote(rng, items, partial)
        credit.confidence = Confidence.HIGH
        numbers = ", ".join(i.number for i in items)
        credit.reasons = [
            {"code": "reference", "text": f"Remittance quotes document(s) {numbers}."}
        ]
        if credit.payer_iban:
            credit.reasons.insert(
                0, {"code": "payer_iban", "text": f"Payer IBAN {credit.payer_iban} is known."}
            )
        if partial:
            credit.reasons.append(
                {"code": "amount_partial", "text": "Partial payment of the quoted documents."}
            )
        credit.decided_at = _at(credit.day, 7, rng.randint(1, 9), rng.randint(0, 59))
        if credit.kind == "undone":
            # A person took the match back: the reading is proposed again, never booked.
            credit.suggestions = [_reading(reading, "reference")]
            credit.user = self.deciders[0]
            credit.decided_at = self._later(credit.day)
        return True

    def _proposed(self, credit: Credit, items: list[Item], readings: int, own: str = "") -> bool:
        """Readings a person must choose among: the matcher's own, then its alternatives
        (``readings`` of them, the items shared out among them)."""
        if not items:
            return False
        rng = self.rng
        readings = min(readings, len(items))
        size = len(items) // readings
        groups = [items[n * size : (n + 1) * size] for n in range(readings)]
        own = own or rng.choice(sorted(READING_TEXTS))
        for n, group in enumerate(groups):
            reading = [(i, i.cents) for i in group]
            if n == 0 and own == "amount_partial":
                reading = [(group[0], group[0].cents // 2)]
            credit.suggestions.append(_reading(reading, own if n == 0 else "ambiguous"))
        first = credit.suggestions[0]["allocations"]
        credit.cents = sum(int(Decimal(amount) * 100) for _pk, amount in first)
        self._payer(credit, items[0].customer_id, iban_share=0.4)
        credit.remittance = rng.choice(NO_REFERENCE)
        credit.confidence = Confidence.MEDIUM if readings == 1 else Confidence.LOW
        credit.reasons = [
            {"code": "payer_name", "text": f"Payer name {credit.payer_name!r} is known."},
            {"code": "ambiguous", "text": "Several of the payer's items or sets fit the amount."}
            if readings > 1
            else {"code": own, "text": READING_TEXTS[own]},
        ]
        return True

    def _unmatched(self, credit: Credit) -> None:
        rng = self.rng
        credit.cents = rng.randint(2_000, 900_000)
        if rng.random() < 0.3:  # a known payer with nothing open for that amount
            self._payer(credit, rng.choice(self.customer_ids))
            credit.remittance = rng.choice(NO_REFERENCE)
            credit.reasons = [
                {"code": "payer_name", "text": f"Payer name {credit.payer_name!r} is known."},
                {"code": "no_open_items", "text": "The payer has no open items."},
            ]
            return
        credit.payer_name, credit.remittance = rng.choice(UNKNOWN_PAYERS)
        credit.reasons = [
            {"code": "unmatched", "text": "No document number, payer or amount fits."}
        ]

    def largest(self, day: dt.date, items: list[Item]) -> list[Credit]:
        """What the largest customer paid without saying what for: three readings each."""
        credits = []
        for start in range(0, min(len(items), 24), 8):
            credit = Credit(day=day, kind="proposed", tag="largest")
            if self._proposed(credit, items[start : start + 8], 3, own="oldest_first"):
                credits.append(credit)
        return credits


def _statement_report(credits: list[Credit], run_id: int | None) -> dict[str, Any]:
    """The statement import's report (``StatementImportResult.as_dict``) as it was made:
    the credits booked then (undone later or not), proposed, and left to match."""
    booked = [c for c in credits if c.kind in ("auto", "undone")]
    paid = [(item, cents) for c in booked for item, cents, _f in c.paid]
    closed = sum(1 for item, cents in paid if cents == item.cents)
    return {
        "import_id": run_id,
        "status": ImportStatus.APPLIED.value,
        "statements": 1,
        "new_credits": len(credits),
        "known_credits": 0,
        "debits_skipped": 0,
        "pending_skipped": 0,
        "matched": len(booked),
        "proposed": sum(1 for c in credits if c.kind in ("manual", "proposed")),
        "unmatched": sum(1 for c in credits if c.kind in ("unmatched", "ignored")),
        "items_closed": closed,
        "items_reduced": len(paid) - closed,
        "amount_booked": _text(sum(cents for _i, cents in paid)),
        "errors_total": 0,
        "errors": [],
    }


@dataclass
class BankFacts:
    runs_by_day: dict[dt.date, ImportRun]
    credits: list[Credit]
    watches: int
    differs: int
    differs_item: int | None  # the newest item the ERP still shows open


def _bank(
    company: Company,
    days: list[dt.date],
    people: dict[str, Any],
    largest: Customer,
    items_total: int,
    rng: random.Random,
) -> BankFacts:
    as_of = days[-1]
    credits_total = max(len(days), items_total // ITEMS_PER_CREDIT)
    customers = {
        pk: (code, name)
        for pk, code, name in Customer.objects.filter(company=company).values_list(
            "pk", "code", "name"
        )
    }
    open_frame = _items(company, ReceivableStatus.OPEN)
    open_pool = Pool(
        _grouped(_sample(open_frame, credits_total, rng, largest.pk)), rng, again=False
    )
    largest_items = _grouped(open_frame.filter(pl.col("customer_id") == largest.pk))[largest.pk]
    del open_frame
    closed_pool = Pool(_grouped(_items(company, ReceivableStatus.CLOSED)), rng, again=True)
    manager, collector = people[USERS[Role.CREDIT_MANAGER]], people[USERS[Role.COLLECTOR]]
    maker = CreditMaker(
        as_of=as_of,
        open_pool=open_pool,
        closed_pool=closed_pool,
        watch_target=max(10, items_total // ITEMS_PER_WATCH),
        customers=customers,
        deciders=[manager, collector, people[SECOND_COLLECTOR]],
        rng=rng,
    )
    by_day: dict[dt.date, list[Credit]] = {day: [] for day in days}
    by_day[as_of] += maker.largest(as_of, largest_items)
    for age, day in enumerate(reversed(days)):
        weights = RECENT_WEIGHTS if age < RECENT_DAYS else OLDER_WEIGHTS
        count = credits_total // len(days) + (age < credits_total % len(days))
        for kind in rng.choices(KINDS, weights, k=count):
            by_day[day].append(maker.make(day, kind))

    # One import, and one statement, per day, as the inbox imported them at 07:00.
    runs = []
    for day in days:
        report = _statement_report(by_day[day], None)
        runs.append(
            ImportRun(
                company=company,
                kind=ImportKind.STATEMENT,
                file_name=f"camt053_{ACCOUNT_IBAN}_{day:%Y%m%d}.xml",
                checksum=_checksum("statement", day),
                as_of=day,
                status=ImportStatus.APPLIED,
                rows_read=len(by_day[day]) + 3,
                created=len(by_day[day]),
                closed=report["items_closed"],
                updated=report["items_reduced"],
                report=report,
                source=INBOX_SOURCE,
                started_at=_at(day, 7, 0, 40),
                finished_at=_at(day, 7, 0, 40 + min(19, len(by_day[day]) // 50)),
            )
        )
    runs = ImportRun.objects.bulk_create(runs)
    for run in runs:
        run.report["import_id"] = run.pk
    ImportRun.objects.bulk_update(runs, ["report"], batch_size=100)
    runs_by_day = {run.as_of: run for run in runs}
    balance = 25_000_000
    statements = []
    for day in days:
        received = sum(c.cents for c in by_day[day])
        fees = 3 * 250
        statements.append(
            BankStatement(
                company=company,
                import_run=runs_by_day[day],
                format="camt.053",
                statement_id=f"{ACCOUNT_IBAN}-{day:%Y%m%d}",
                account=ACCOUNT_IBAN,
                opening_balance=_eur(balance),
                closing_balance=_eur(balance + received - fees),
                opening_date=day,
                closing_date=day,
                entries_read=len(by_day[day]) + 3,
                credits_new=len(by_day[day]),
            )
        )
        balance += received - fees - rng.randint(0, received)  # the payments going out
    statements = BankStatement.objects.bulk_create(statements)
    statement_by_day = {s.opening_date: s for s in statements}

    status_of = {
        "auto": EntryStatus.MATCHED,
        "manual": EntryStatus.MATCHED,
        "proposed": EntryStatus.PROPOSED,
        "undone": EntryStatus.PROPOSED,
        "unmatched": EntryStatus.UNMATCHED,
        "ignored": EntryStatus.IGNORED,
    }
    entries = []
    credits = [c for day in days for c in by_day[day]]
    for number, credit in enumerate(credits):
        matched = credit.kind in ("auto", "manual")
        decided = matched or credit.kind == "ignored"
        credit.entry = BankEntry(
            company=company,
            statement=statement_by_day[credit.day],
            key=f"{ACCOUNT_IBAN}-{credit.day:%Y%m%d}-{number:06d}",
            booking_date=credit.day,
            value_date=credit.day,
            amount=_eur(credit.cents),
            payer_name=credit.payer_name[:200],
            payer_iban=credit.payer_iban,
            remittance=credit.remittance,
            end_to_end_id=f"E2E{credit.day:%y%m%d}{number:08d}" if credit.payer_iban else "",
            bank_reference=f"{credit.day:%y%m%d}{number:07d}",
            status=status_of[credit.kind],
            confidence=int(credit.confidence),
            reasons=credit.reasons,
            suggestions=credit.suggestions,
            customer_id=credit.customer_id,
            allocated_amount=_eur(sum(c for _i, c, _f in credit.paid)) if matched else Decimal(0),
            is_automatic=credit.kind == "auto",
            matched_at=credit.decided_at if decided else None,
            matched_by=credit.user if credit.kind in ("manual", "ignored") else None,
            note=credit.note,
        )
        entries.append(credit.entry)
    BankEntry.objects.bulk_create(entries, batch_size=1000)
    if not all(e.pk for e in entries):
        ids = dict(BankEntry.objects.filter(company=company).values_list("key", "pk"))
        for entry in entries:
            entry.pk = ids[entry.key]

    allocations, events, watches, changed = [], [], [], []
    latest_snapshot = (
        ImportRun.objects.filter(
            company=company, kind=ImportKind.RECEIVABLES, status=ImportStatus.APPLIED
        )
        .order_by("-as_of", "-pk")
        .first()
    )
    differs, differs_item = 0, None
    for credit in credits:
        run = runs_by_day[credit.day]
        undone = credit.kind == "undone"
        for item, cents, fresh in credit.paid:
            allocations.append(
                PaymentAllocation(
                    entry=credit.entry,
                    receivable_id=item.pk,
                    amount=_eur(cents),
                    open_amount_before=_eur(item.cents),
                    is_automatic=credit.kind != "manual",
                    created_by=credit.user if credit.kind == "manual" else None,
                    reversed_at=credit.decided_at if undone else None,
                    reversed_by=credit.user if undone else None,
                )
            )
            if not fresh:
                continue
            after = item.cents - (0 if undone else cents)
            closed = after == 0
            event = ReceivableEvent(
                receivable_id=item.pk,
                kind=EventKind.CLOSED if closed or undone else EventKind.AMOUNT_CHANGED,
                on_date=credit.day,
                amount_before=_eur(item.cents),
                amount_after=_eur(0 if undone else after),
                import_run=run,
            )
            events.append(event)
            watch = BankPaidItem(
                receivable_id=item.pk, company=company, paid_amount=_eur(cents), paid_on=credit.day
            )
            if undone:
                events.append(
                    ReceivableEvent(
                        receivable_id=item.pk,
                        kind=EventKind.REOPENED,
                        on_date=credit.decided_at.date(),
                        amount_before=_eur(0),
                        amount_after=_eur(item.cents),
                        import_run=run,
                    )
                )
                watch.status, watch.paid_amount = BankPaidStatus.REVERSED, _eur(0)
            elif credit.day == as_of:
                watch.status = BankPaidStatus.WAITING  # the snapshot came before the bank
            elif not closed or rng.random() < 0.45:
                # The day's snapshot still shows it owing what it did before the payment.
                watch.status = BankPaidStatus.DIFFERS
                watch.erp_open_amount = _eur(item.cents)
                watch.flagged_on = as_of
                watch.flagged_by_import = latest_snapshot
                if rng.random() < 0.25:
                    watch.checked_at = _at(as_of, 15, rng.randint(0, 59))
                    watch.checked_by = people[USERS[Role.CREDIT_MANAGER]]
                    watch.note = "Segnalato all'amministrazione per la registrazione."
                differs += 1
                differs_item = item.pk
            else:
                watch.status = BankPaidStatus.BOOKED
                watch.settled_on = as_of
            watches.append(watch)
            if not undone:
                changed.append(
                    Receivable(
                        pk=item.pk,
                        open_amount=_eur(after),
                        status=ReceivableStatus.CLOSED if closed else ReceivableStatus.OPEN,
                        closed_on=credit.day if closed else None,
                        last_changed_on=credit.day,
                    )
                )
    PaymentAllocation.objects.bulk_create(allocations, batch_size=1000)
    # Recorded when they were made, not when the world was written.
    PaymentAllocation.objects.filter(entry__company=company, reversed_at__isnull=True).update(
        created_at=Subquery(BankEntry.objects.filter(pk=OuterRef("entry_id")).values("matched_at"))
    )
    PaymentAllocation.objects.filter(entry__company=company, reversed_at__isnull=False).update(
        created_at=F("reversed_at") - dt.timedelta(days=1)
    )
    ReceivableEvent.objects.bulk_create(events, batch_size=1000)
    BankPaidItem.objects.bulk_create(watches, batch_size=1000)
    Receivable.objects.bulk_update(
        changed, ["open_amount", "status", "closed_on", "last_changed_on"], batch_size=500
    )
    PayerAccount.objects.bulk_create(
        [
            PayerAccount(
                company=company, customer_id=c.customer_id, iban=c.payer_iban, name=c.payer_name
            )
            for c in credits
            if c.kind == "manual" and c.payer_iban
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    closed_items = sum(1 for r in changed if r.status == ReceivableStatus.CLOSED)
    payments_booked.send(sender=BankEntry, company=company, on_date=as_of, closed=closed_items)
    return BankFacts(runs_by_day, credits, len(watches), differs, differs_item)


# --------------------------------------------------------------------------------------
# E-invoices received (the SdI's files of the day, through the inbox)
# --------------------------------------------------------------------------------------


def _einvoice_runs(
    company: Company, days: list[dt.date], items_total: int, rng: random.Random
) -> dict[dt.date, ImportRun]:
    """A day's e-invoices as the import reports them: every document and what became of it
    (most were in the ERP's snapshot already, a few are refused)."""
    customers = list(Customer.objects.filter(company=company).values_list("code", "name"))
    per_day = max(3, min(1000, items_total // ITEMS_PER_EINVOICE))
    statuses = ("linked", "imported", "already imported", "rejected")
    runs, serial = [], 0
    for day in days:
        documents, rejected = [], []
        for _n in range(per_day):
            serial += 1
            code, name = rng.choice(customers)
            status = rng.choices(statuses, (70, 24, 4, 2))[0]
            kind = rng.choices(("TD01", "TD04", "TD24", "TD20"), (88, 4, 6, 2))[0]
            if kind == "TD20":
                status = "rejected"
            reason = ""
            if status == "rejected":
                reason = (
                    "document type TD20 (autofattura) is not a claim on a customer"
                    if kind == "TD20"
                    else "the buyer has neither a VAT number nor a fiscal code"
                )
            document = {
                "file": f"IT{COMPANY_VAT}_{serial:05X}.xml",
                "number": f"FE/{day.year}/{serial:05d}",
                "date": (day - dt.timedelta(days=1)).isoformat(),
                "document_type": kind,
                "customer_code": code,
                "customer_name": name,
                "total": _text(rng.randint(5_000, 2_500_000)),
                "items": 0 if status == "rejected" else rng.choice((1, 1, 2, 3)),
                "status": status,
                "reason": reason,
            }
            documents.append(document)
            if status == "rejected":
                rejected.append(document)
        runs.append(
            ImportRun(
                company=company,
                kind=ImportKind.EINVOICES,
                file_name=f"IT{COMPANY_VAT}_{day:%Y%m%d}.zip",
                checksum=_checksum("einvoices", day),
                as_of=day,
                status=ImportStatus.APPLIED,
                rows_read=len(documents),
                rows_rejected=len(rejected),
                created=sum(d["items"] for d in documents if d["status"] == "imported"),
                message=f"{len(rejected)} file(s) or document(s) skipped: see the report"
                if rejected
                else "",
                report={
                    "documents": documents,
                    "documents_total": len(documents),
                    "errors_total": len(rejected),
                    "errors": [
                        {"row": n, "column": d["file"], "value": d["number"], "reason": d["reason"]}
                        for n, d in enumerate(rejected, 1)
                    ],
                },
                source=INBOX_SOURCE,
                started_at=_at(day, 7, 0, 20),
                finished_at=_at(day, 7, 0, 20 + min(20, per_day // 40)),
            )
        )
    return {run.as_of: run for run in ImportRun.objects.bulk_create(runs)}


# --------------------------------------------------------------------------------------
# The daily cycle: runs, stages, inbox files
# --------------------------------------------------------------------------------------


def _day_text(day: dt.date) -> str:
    return f"{day:%d/%m/%Y}"


def _inbox_files(
    company: Company,
    days: list[dt.date],
    statements: dict[dt.date, ImportRun],
    einvoices: dict[dt.date, ImportRun],
    snapshots: dict[dt.date, ImportRun],
    stale: set[dt.date],
    items_total: int,
    rng: random.Random,
) -> dict[dt.date, list[InboxFile]]:
    """The files each day's run found in the inbox: the ERP's snapshot (not on the days it
    did not come), the SdI's e-invoices, the bank's statement; a statement sent twice, a
    file that is not an import, a snapshot the import rejected."""
    files: dict[dt.date, list[InboxFile]] = {day: [] for day in days}

    def add(day: dt.date, minute: int, name: str, kind: str, size: int, **fields: Any) -> None:
        files[day].append(
            InboxFile(
                company=company,
                name=name,
                size=size,
                checksum=fields.pop("checksum", _checksum("inbox", day, name)),
                kind=kind,
                source=INBOX_SOURCE,
                received_at=_at(day, 6, minute, rng.randint(0, 59)),
                processed_at=_at(day, 7, 0, rng.randint(1, 59)),
                **fields,
            )
        )

    for day in days:
        snapshot = snapshots.get(day)
        if day not in stale:
            rows = items_total - rng.randint(0, items_total // 50)
            message = (
                f"Istantanea al {_day_text(day)} applicata: {rows} righe, "
                f"{rows // 100} nuove partite, {rows // 100} variate, {rows // 50} chiuse "
                "(pagate), 0 riaperte."
            )
            add(
                day,
                5,
                f"scadenziario_{day:%Y-%m-%d}.csv",
                InboxKind.SNAPSHOT,
                rows * 118,
                status=InboxStatus.DONE,
                import_run=snapshot,
                report={
                    "status": "done",
                    "kind": "snapshot",
                    "message": message,
                    "as_of": day.isoformat(),
                    "result": {"import_id": snapshot.pk if snapshot else None, "rows": rows},
                },
            )
        run = einvoices[day]
        by_status: dict[str, int] = defaultdict(int)
        for document in run.report["documents"]:
            by_status[document["status"]] += 1
        known = by_status["already imported"] + by_status["linked"]
        add(
            day,
            20,
            run.file_name,
            InboxKind.EINVOICES,
            run.rows_read * 3_100,
            status=InboxStatus.DONE,
            import_run=run,
            report={
                "status": "done",
                "kind": "einvoices",
                "message": f"{run.rows_read} documento/i: {by_status['imported']} importati, "
                f"{known} già noti, {run.rows_rejected} rifiutati.",
                "result": {"import_id": run.pk, "by_status": dict(by_status)},
                "errors": [d for d in run.report["documents"] if d["status"] == "rejected"],
                "errors_total": run.rows_rejected,
            },
        )
        run = statements[day]
        report = run.report
        add(
            day,
            40,
            run.file_name,
            InboxKind.STATEMENT,
            report["new_credits"] * 1_400 + 4_000,
            status=InboxStatus.DONE,
            import_run=run,
            report={
                "status": "done",
                "kind": "statement",
                "message": f"{report['new_credits']} nuovi pagamenti: {report['matched']} "
                f"abbinati e registrati, {report['proposed']} in attesa di una persona, "
                f"{report['unmatched']} non collocati; {report['items_closed']} partite pagate.",
                "result": report,
            },
        )
    # The odd ones: a statement the bank sent again (checksum of the first, linked below),
    # a scan dropped by mistake, a snapshot with invalid rows.
    for n in range(8):
        day, earlier = days[5 + 7 * n], days[4 + 7 * n]
        add(
            day,
            45,
            f"camt053_{ACCOUNT_IBAN}_{earlier:%Y%m%d} (1).xml",
            InboxKind.STATEMENT,
            40_000,
            status=InboxStatus.DUPLICATE,
            checksum=_checksum("inbox", earlier, statements[earlier].file_name),
            import_run=statements[earlier],
            report={
                "status": "duplicate",
                "kind": "statement",
                "message": "Già elaborato: lo stesso contenuto è stato importato come "
                f"{statements[earlier].file_name} il {_day_text(earlier)}.",
            },
        )
    for n in range(5):
        day = days[3 + 11 * n]
        add(
            day,
            50,
            f"Scansione contabile {day:%d-%m}.pdf",
            InboxKind.UNKNOWN,
            880_000,
            status=InboxStatus.FAILED,
            report={
                "status": "failed",
                "kind": "unknown",
                "message": "Questo file non è tra quelli che la cartella di arrivo importa: "
                "non è un'istantanea, una fattura elettronica o un estratto conto",
            },
        )
    for n in range(4):
        day = days[9 + 13 * n]
        total = 137 + 61 * n
        errors = [
            {
                "row": 2 + 211 * e,
                "column": "Data scadenza",
                "value": f"31/02/{day.year}",
                "reason": "not a valid date (dd/mm/yyyy)",
            }
            for e in range(50)
        ]
        add(
            day,
            10,
            f"scadenziario_{day:%Y-%m-%d}_bis.csv",
            InboxKind.SNAPSHOT,
            items_total * 118,
            status=InboxStatus.FAILED,
            report={
                "status": "failed",
                "kind": "snapshot",
                "message": f"{total} problema/i nel file: non è stato importato nulla "
                "(correggere il file, o usare --skip-invalid per importare le righe valide)",
                "errors": errors,
                "errors_total": total,
            },
        )
    return files


def _stage_results(
    day: dt.date, files: list[InboxFile], items_total: int, customers: int, rng: random.Random
) -> dict[str, dict[str, Any]]:
    """What each stage did that day, in the shapes the services return."""
    actions = rng.randint(items_total // 80, items_total // 40)
    sent = rng.randint(actions // 3, actions // 2)
    letters = rng.choice((0, 0, rng.randint(5, 60)))
    return {
        "inbox": {
            "files": [
                {
                    "id": f.pk,
                    "name": f.name,
                    "kind": f.kind,
                    "status": f.status,
                    "message": f.message,
                    "import_run": f.import_run_id,
                }
                for f in files
            ],
            "waiting": [],
        },
        "scores": {
            "customers": customers,
            "items": items_total,
            "alerts": rng.randint(customers // 100, customers // 40),
            "by_class": {},
        },
        "strategies": {
            "date": day.isoformat(),
            "dry_run": False,
            "items_considered": items_total,
            "actions": actions,
            "item_steps": actions * 3,
            "skipped": rng.randint(0, actions // 10),
            "cancelled": rng.randint(0, actions // 20),
            "by_step": {},
            "by_channel": {"email": sent, "letter": letters},
        },
        "delivery": {
            "prepared": sent,
            "sent": sent,
            "failed": rng.randint(0, 3),
            "retried": 0,
            "deferred": 0,
            "withdrawn": 0,
            "duplicates_avoided": 0,
            "errors": [],
        },
        "print": {
            "batch": None,
            "letters": letters,
            "registered": letters // 4,
            "pages": 2 * letters,
        },
        "summary": {
            "recipients": ["crediti@benchmark.example"],
            "subject": f"Incassa: ciclo giornaliero del {_day_text(day)} per Benchmark S.r.l.",
            "response": "250 2.0.0 Ok: queued",
            "already_sent": False,
        },
    }


STAGES = ("inbox", "scores", "strategies", "delivery", "print", "summary")
STAGE_SECONDS = {
    "inbox": 90,
    "scores": 50,
    "strategies": 30,
    "delivery": 20,
    "print": 8,
    "summary": 1,
}


def _cycle(
    company: Company,
    days: list[dt.date],
    people: dict[str, Any],
    statements: dict[dt.date, ImportRun],
    einvoices: dict[dt.date, ImportRun],
    items_total: int,
    rng: random.Random,
) -> dict[str, int]:
    """Sixty working days of the daily cycle: one scheduled run a day at 07:00 with its six
    stages and the files its inbox took; a few days without the ERP's snapshot (the
    reminders waited), a few whose emails failed, one whose inbox failed and was run again
    by hand."""
    CycleSchedule.objects.update_or_create(
        company=company, defaults={"recipients": "crediti@benchmark.example"}
    )
    snapshots = {
        run.as_of: run
        for run in ImportRun.objects.filter(
            company=company, kind=ImportKind.RECEIVABLES, status=ImportStatus.APPLIED
        )
    }
    stale = {days[-13], days[-14], days[-37], days[-52]}
    partial = {days[-8], days[-31], days[-45]}
    broken = days[-24]
    customers = Customer.objects.filter(company=company).count()
    files = _inbox_files(company, days, statements, einvoices, snapshots, stale, items_total, rng)
    # Two files arrived after today's run: the next run takes them.
    waiting = [
        InboxFile(
            company=company,
            name=f"ordine_cliente_{n}.xml" if n else f"scadenziario_{days[-1]:%Y-%m-%d}_sera.csv",
            size=12_000 if n else items_total * 118,
            checksum=_checksum("waiting", n),
            kind=InboxKind.UNKNOWN if n else InboxKind.SNAPSHOT,
            status=InboxStatus.RECEIVED,
            source="caricato da bench-manager",
            received_at=_at(days[-1], 18, 10 + n),
        )
        for n in range(2)
    ]

    runs = []
    for day in days:
        # Finished when their last stage is, below.
        runs.append(
            CycleRun(
                company=company,
                day=day,
                trigger=Trigger.SCHEDULE,
                status=RunStatus.PARTIAL
                if day in partial or day == broken
                else RunStatus.SUCCEEDED,
                stale=day in stale,
                started_at=_at(day, 7, 0, rng.randint(0, 5)),
            )
        )
        if day == broken:
            runs.append(
                CycleRun(
                    company=company,
                    day=day,
                    trigger=Trigger.MANUAL,
                    status=RunStatus.SUCCEEDED,
                    requested_by=people[USERS[Role.CREDIT_MANAGER]],
                    started_at=_at(day, 9, 42, 10),
                )
            )
    runs = CycleRun.objects.bulk_create(runs)
    # The inbox of the broken day's scheduled run failed: the manual run took its files.
    run_of_day = {run.day: run for run in runs}  # the later run of a day wins
    for day, day_files in files.items():
        for f in day_files:
            f.cycle_run = run_of_day[day]
            if day == broken:
                f.processed_at = f.processed_at.replace(hour=9, minute=43)
    stored = InboxFile.objects.bulk_create(
        [f for day in days for f in files[day]] + waiting, batch_size=500
    )

    stages, last_snapshot = [], None
    for run in runs:
        day_files = files[run.day] if run_of_day[run.day] is run else []
        results = _stage_results(run.day, day_files, items_total, customers, rng)
        if run.day not in stale:
            last_snapshot = run.day
        moment = run.started_at
        records = []
        for position, name in enumerate(STAGES, start=1):
            seconds = STAGE_SECONDS[name] * rng.uniform(0.6, 1.6)
            stage = CycleStage(
                run=run,
                position=position,
                name=name,
                status=StageStatus.SUCCEEDED,
                attempts=1,
                started_at=moment,
                finished_at=moment + dt.timedelta(seconds=seconds),
                result=results[name],
            )
            moment = stage.finished_at
            if run.trigger == Trigger.SCHEDULE and run.day == broken:
                if name == "inbox":
                    stage.status, stage.attempts, stage.result = StageStatus.FAILED, 3, {}
                    stage.error = "il database ha rifiutato la modifica (database is locked)"
                elif name != "summary":
                    stage.status, stage.result, stage.attempts = StageStatus.SKIPPED, {}, 0
                    needs = "inbox" if name in ("scores", "strategies") else "strategies"
                    stage.reason = f"needs:{needs}"
            elif name in ("delivery", "print") and run.stale:
                stage.status, stage.reason, stage.result, stage.attempts = (
                    StageStatus.SKIPPED, "stale", {}, 1,
                )  # fmt: skip
            elif name == "delivery" and run.day in partial and run.trigger == Trigger.SCHEDULE:
                stage.status, stage.attempts, stage.result = StageStatus.FAILED, 3, {}
                stage.error = "SMTPServerDisconnected: Connection unexpectedly closed"
            elif name == "print" and not results["print"]["letters"]:
                stage.status, stage.reason, stage.result = StageStatus.SKIPPED, "no_letters", {}
            records.append(stage)
        stages += records
        run.finished_at = moment + dt.timedelta(seconds=1)
        run.summary = {
            "status": run.status,
            "stale": run.stale,
            "send_when_stale": False,
            "last_snapshot": last_snapshot.isoformat() if last_snapshot else None,
            "files": results["inbox"]["files"],
            "waiting_files": [],
            "actions": results["strategies"]["actions"],
            "sent": results["delivery"]["sent"],
            "delivery_failed": results["delivery"]["failed"],
            "delivery_skipped": run.stale,
            "letters": results["print"]["letters"],
            "waiting_approval": 0,
            "problems": [
                {"stage": s.name, "error": s.error}
                for s in records
                if s.status == StageStatus.FAILED
            ],
            "stages": {s.name: s.status for s in records},
        }
    CycleStage.objects.bulk_create(stages, batch_size=1000)
    CycleRun.objects.bulk_update(runs, ["summary", "finished_at"], batch_size=100)
    CycleRun.objects.filter(company=company).update(created_at=F("started_at"))
    # A statement sent twice says which file it repeats.
    done = {f.checksum: f for f in stored if f.status == InboxStatus.DONE}
    repeats = [f for f in stored if f.status == InboxStatus.DUPLICATE]
    for f in repeats:
        f.report["same_as"] = done[f.checksum].pk
    InboxFile.objects.bulk_update(repeats, ["report"])
    latest = max(runs, key=lambda r: (r.day, r.pk))
    worst = max(
        (f for f in stored if f.status == InboxStatus.FAILED),
        key=lambda f: (f.report.get("errors_total", 0), f.pk),
    )
    return {
        "runs": len(runs),
        "stages": len(stages),
        "files": len(stored),
        "latest": latest.pk,
        "worst_file": worst.pk,
    }


# --------------------------------------------------------------------------------------
# Background jobs
# --------------------------------------------------------------------------------------


def _jobs(
    company: Company,
    days: list[dt.date],
    people: dict[str, Any],
    statements: dict[dt.date, ImportRun],
    einvoices: dict[dt.date, ImportRun],
    rng: random.Random,
) -> int | None:
    """The imports and recomputations people started from the pages, a few failed; the
    newest statement import of the credit manager is returned."""
    snapshot_runs = list(
        ImportRun.objects.filter(company=company, kind=ImportKind.RECEIVABLES).values_list(
            "pk", "file_name", "created", "updated", "closed", "unchanged"
        )
    )
    manager, admin = people[USERS[Role.CREDIT_MANAGER]], people[USERS[Role.ADMINISTRATOR]]
    kinds = (
        JobKind.STATEMENT_IMPORT,
        JobKind.EINVOICES_IMPORT,
        JobKind.RECEIVABLES_IMPORT,
        JobKind.REPORT_RECOMPUTE,
        JobKind.EFFECTIVENESS_RECOMPUTE,
    )
    jobs = []
    for n in range(JOBS):
        day = days[n * len(days) // JOBS]
        kind = rng.choices(kinds, (30, 25, 15, 20, 10))[0]
        created = _at(day, rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59))
        seconds = rng.randint(3, 40) if kind == JobKind.STATEMENT_IMPORT else rng.randint(10, 240)
        job = Job(
            company=company,
            kind=kind,
            status=JobStatus.SUCCEEDED,
            stage="writing",
            created_by=manager if rng.random() < 0.7 else admin,
            created_at=created,
            started_at=created + dt.timedelta(seconds=1),
            finished_at=created + dt.timedelta(seconds=seconds),
            heartbeat_at=created + dt.timedelta(seconds=seconds),
            attempts=1,
            runner=f"worker-{rng.randint(1, 2)}-{n}",
        )
        if kind == JobKind.STATEMENT_IMPORT:
            run = statements[day]
            name = f"movimenti_{day:%Y%m%d}.xml"
            job.title = f"Importazione dell'estratto conto {name}"
            job.function = "incassa.jobs.services.statement_import_job"
            job.kwargs = {
                "name": name,
                "path": f"/var/incassa/media/uploads/bench/statement-{n:04d}/{name}",
                "mapping": None,
                "account_iban": "",
                "skip_invalid": False,
                "source": "caricamento dal web",
            }
            job.back_url = "/payments/"
            report = run.report
            job.result = {
                "import_run": run.pk,
                "new": report["new_credits"],
                "known": 0,
                "booked": report["matched"],
                "proposed": report["proposed"],
                "left": report["unmatched"],
            }
        elif kind == JobKind.EINVOICES_IMPORT:
            run = einvoices[day]
            count = rng.randint(1, 40)
            job.title = f"Importazione di {count} file di fatture elettroniche"
            job.function = "incassa.jobs.services.einvoices_import_job"
            job.kwargs = {"files": [[f"fattura_{k}.xml", f"/tmp/e{n}-{k}"] for k in range(3)]}
            job.back_url = "/imports/"
            job.result = {
                "import_run": run.pk,
                "imported": run.rows_read - run.rows_rejected,
                "items": run.created,
                "skipped": 0,
                "refused": run.rows_rejected,
            }
        elif kind == JobKind.RECEIVABLES_IMPORT:
            pk, file_name, created_n, updated, closed, unchanged = rng.choice(snapshot_runs)
            job.title = f"Importazione di {file_name.rsplit('/', 1)[-1]}"
            job.function = "incassa.jobs.services.receivables_import_job"
            job.kwargs = {"path": file_name, "as_of": day.isoformat(), "partial": False}
            job.back_url = f"/imports/check/token{n:04d}/"
            job.result = {
                "import_run": pk,
                "created": created_n,
                "updated": updated,
                "closed": closed,
                "unchanged": unchanged,
                "rows_rejected": 0,
            }
        elif kind == JobKind.REPORT_RECOMPUTE:
            job.title = f"Report crediti al {_day_text(day)} ricalcolato"
            job.function = "incassa.jobs.services.report_recompute_job"
            job.kwargs = {"as_of": day.isoformat()}
            job.back_url = "/reports/"
            job.result = {"snapshot": None}
        else:
            job.title = "Efficacia ricalcolata"
            job.function = "incassa.jobs.services.effectiveness_recompute_job"
            job.kwargs = {"today": day.isoformat()}
            job.back_url = "/effectiveness/"
            job.result = {}
        job.done = job.total = rng.randint(1, 5_000)
        if rng.random() < 0.06:
            job.status = JobStatus.FAILED
            if rng.random() < 0.5:
                job.result = {"error": "unexpected"}
                job.message = "The work stopped on an unexpected error."
            else:
                job.result = {"error": "interrupted", "attempts": 3}
                job.attempts = 3
        jobs.append(job)
    jobs = Job.objects.bulk_create(jobs, batch_size=500)
    newest = max(
        (
            j
            for j in jobs
            if j.kind == JobKind.STATEMENT_IMPORT
            and j.status == JobStatus.SUCCEEDED
            and j.created_by == manager
        ),
        key=lambda j: (j.created_at, j.pk),
        default=None,
    )
    return newest.pk if newest else None


# --------------------------------------------------------------------------------------
# The pages
# --------------------------------------------------------------------------------------


def _picks(
    bank: BankFacts,
    cycle: dict[str, int],
    job: int | None,
    einvoices: dict[dt.date, ImportRun],
    days: list[dt.date],
) -> dict[str, int | None]:
    """The objects the detail pages open: the ones that show the most."""

    def pk(credit: Credit | None) -> int | None:
        return credit.entry.pk if credit is not None and credit.entry is not None else None

    most = max(
        (c for c in bank.credits if c.kind == "proposed"),
        key=lambda c: (
            len(c.suggestions),
            sum(len(s["allocations"]) for s in c.suggestions),
            c.entry.pk,
        ),
        default=None,
    )
    largest = next((c for c in bank.credits if c.tag == "largest"), None)
    matched = max(
        (c for c in bank.credits if c.kind in ("auto", "manual")),
        key=lambda c: (len(c.paid), c.day, c.entry.pk),
        default=None,
    )
    return {
        "most_suggestions": pk(most),
        "largest_customer": pk(largest),
        "most_allocations": pk(matched),
        "bank_paid_item": bank.differs_item,
        "statement_import": bank.runs_by_day[days[-1]].pk,
        "einvoice_import": einvoices[days[-1]].pk,
        "cycle_run": cycle["latest"],
        "inbox_file": cycle["worst_file"],
        "job": job,
    }


def _pages(company: Company, largest: str, picks: dict[str, int | None]) -> list[list[str]]:
    """The pages an operator opens during the day, with real objects of this ledger."""
    item = (
        Receivable.objects.filter(customer__company=company, status=ReceivableStatus.OPEN)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    agent_customer = (
        Customer.objects.filter(company=company, sales_agent__user__isnull=False)
        .order_by("code")
        .values_list("code", flat=True)
        .first()
    )
    promise = Promise.objects.filter(company=company).order_by("pk").first()
    dispute = Dispute.objects.filter(company=company).order_by("pk").first()
    plan = RepaymentPlan.objects.filter(company=company).order_by("pk").first()
    strategy = Strategy.objects.filter(company=company).order_by("pk").first()
    template = MessageTemplate.objects.filter(company=company).order_by("pk").first()
    run = (
        ImportRun.objects.filter(company=company, kind=ImportKind.RECEIVABLES)
        .order_by("-pk")
        .first()
    )
    manager, collector = Role.CREDIT_MANAGER, Role.COLLECTOR
    agent, auditor = Role.SALES_AGENT, Role.AUDITOR
    pages = [
        ["Dashboard", manager, "/"],
        ["Dashboard (sales agent)", agent, "/"],
        ["Customers", manager, "/customers/"],
        ["Customers, search", manager, "/customers/?q=rossi"],
        ["Customers, overdue and blocked", manager, "/customers/?overdue=1&blocked=1"],
        ["Customer 360 (the largest)", manager, f"/customers/{largest}/"],
        ["Customer 360 (sales agent)", agent, f"/customers/{agent_customer}/"],
        ["Item", manager, f"/items/{item}/"],
        ["Items by criticality", manager, "/items/"],
        ["Items, overdue, by amount", manager, "/items/?overdue=1&sort=-open_amount"],
        ["Items (collector's portfolio)", collector, "/items/"],
        ["Worklist (collector)", collector, "/worklist/"],
        ["Worklist (credit manager)", manager, "/worklist/"],
        ["Agreements", manager, "/agreements/"],
        ["Team", manager, "/team/"],
        ["Effectiveness", manager, "/effectiveness/"],
        ["Imports", manager, "/imports/"],
        ["Strategies", manager, "/strategies/"],
        ["Message templates", manager, "/templates/"],
        ["Suspensions and exclusions", manager, "/suspensions/"],
        ["Reports", manager, "/reports/"],
        ["Settings", manager, "/settings/"],
        ["Audit trail", auditor, "/audit/"],
        ["Payments, to review", manager, reverse("web:payments")],
        ["Payments, to review (collector)", collector, reverse("web:payments")],
        ["Payments, matched", manager, reverse("web:payments") + "?tab=matched"],
        ["Payments, set aside", manager, reverse("web:payments") + "?tab=ignored"],
        ["Payments, all", manager, reverse("web:payments") + "?tab=all"],
        ["Bank reconciliation", manager, reverse("web:payments_reconciliation")],
        ["Daily cycle", manager, reverse("web:cycle")],
        ["Daily cycle (collector)", collector, reverse("web:cycle")],
        ["Jobs", manager, reverse("web:jobs")],
    ]
    for label, obj, name in [
        ("Promise", promise, "web:promise"),
        ("Dispute", dispute, "web:dispute"),
        ("Repayment plan", plan, "web:plan"),
        ("Strategy", strategy, "web:strategy"),
        ("Message template", template, "web:message_template"),
        ("Import", run, "web:import_detail"),
    ]:
        if obj is not None:
            pages.append([label, manager, reverse(name, args=[obj.pk])])
    for label, role, key, name in [
        ("Payment (the most suggestions)", manager, "most_suggestions", "web:payment"),
        ("Payment (the largest customer's)", manager, "largest_customer", "web:payment"),
        (
            "Payment (the largest customer's, collector)",
            collector,
            "largest_customer",
            "web:payment",
        ),
        ("Payment (matched, the most items)", manager, "most_allocations", "web:payment"),
        ("Item (paid by the bank)", manager, "bank_paid_item", "web:item"),
        ("Import (bank statement)", manager, "statement_import", "web:import_detail"),
        ("Import (e-invoices)", manager, "einvoice_import", "web:import_detail"),
        ("Cycle run (the latest)", manager, "cycle_run", "web:cycle_run"),
        ("Inbox file (the most problems)", manager, "inbox_file", "web:cycle_inbox_file"),
        ("Job (statement import)", manager, "job", "web:job"),
    ]:
        if picks.get(key) is not None:
            pages.append([label, role, reverse(name, args=[picks[key]])])
    return pages


def main(password: str, day: str) -> None:
    company = Company.objects.get(code="bench")
    as_of = dt.date.fromisoformat(day)
    people = _users(company, password)
    _portfolios(company, people)
    largest = _largest_customer(company)
    items_total = Receivable.objects.filter(company=company).count()
    days = working_days(as_of, DAYS)
    rng = random.Random(SEED)
    with transaction.atomic():
        bank = _bank(company, days, people, largest, items_total, rng)
        einvoices = _einvoice_runs(company, days, items_total, rng)
        # The open balances follow (once this commits), as after a statement's import.
        ledger_changed.send(sender=BankEntry, company=company, as_of=as_of)
    with transaction.atomic():
        cycle = _cycle(company, days, people, bank.runs_by_day, einvoices, items_total, rng)
        job = _jobs(company, days, people, bank.runs_by_day, einvoices, rng)
    if fresh_open_balances(company) is None:
        open_balances_refresh(company=company, as_of=as_of)

    tasks_sync_from_actions(company=company, as_of=as_of)
    # Two days into the ledger the strategy has not reached its calls yet: a collector's
    # day of calls is planned by hand on every 40th customer, then worked two days later
    # (the demo's operator delay) with what the debtors said.
    customers = Customer.objects.filter(company=company).order_by("code")[: CALLS * 40 : 40]
    for customer in customers:
        task_create_manual(
            customer=customer, title="Sollecito telefonico", due_on=as_of, kind=TaskKind.CALL
        )
    worked = as_of + dt.timedelta(days=2)
    demo_work_play(company=company, day=worked, today=worked, limit=CALLS)

    picks = _picks(bank, cycle, job, einvoices, days)
    counts = defaultdict(int)
    for credit in bank.credits:
        counts[credit.entry.status] += 1
    facts = {
        "days": len(days),
        "credits": len(bank.credits),
        "by_status": dict(counts),
        "allocations": sum(len(c.paid) for c in bank.credits),
        "bank_paid_items": bank.watches,
        "differs": bank.differs,
        "einvoice_documents": sum(r.rows_read for r in einvoices.values()),
        "cycle_runs": cycle["runs"],
        "cycle_stages": cycle["stages"],
        "inbox_files": cycle["files"],
        "jobs": JOBS,
    }
    print(
        json.dumps(
            {
                "users": {str(k): v for k, v in USERS.items()},
                "pages": _pages(company, largest.code, picks),
                "facts": facts,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
