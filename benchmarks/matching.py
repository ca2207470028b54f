"""Payment matching: 10,000 incoming credits against 100,000 open items of 10,000 customers.

The ledger and the payments are generated (seeded, the same every run) so that the right
answer of every payment is known: one invoice paid in full quoting its number, with the
usual noise in the remittance ("FT", "Fatt. n.", slashes, the year), one invoice paid
without a reference by a payer known by IBAN, several invoices paid together, a partial
payment quoting its invoice, a payer known only by name, and payments nobody can place (an
unknown payer and amount). ``payments.matching.match_batch`` reads them all in one process;
the figures are the share matched automatically (HIGH confidence, which closes the items),
the share of those matched wrongly (must be zero), the share proposed for review, and the
time of the matching alone (median of the runs), beside the same run's floor: indexing
the items by customer and document number, which any matching must do.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections import defaultdict
from decimal import Decimal

from benchmarks import common
from incassa.payments.matching import (
    Confidence,
    Credit,
    KnownPayers,
    OpenItem,
    document_key,
    match_batch,
)

NAME = "matching"
TITLE = "Payment matching"
ITEMS, CUSTOMERS, PAYMENTS = 100_000, 10_000, 10_000
DAY = dt.date(2026, 4, 1)
# What kind of payment, out of twenty.
KINDS = (
    ["quoted"] * 8 + ["iban_only"] * 4 + ["several"] * 3 + ["partial"] * 2 + ["name_only"] * 2
) + ["unknown"]


def _iban(customer: int) -> str:
    return f"IT60X05428111010000{customer:08d}"


def _ledger(rng: random.Random) -> tuple[list[OpenItem], KnownPayers, dict[int, list[OpenItem]]]:
    items, by_customer = [], defaultdict(list)
    for n in range(ITEMS):
        customer = n % CUSTOMERS
        issued = DAY - dt.timedelta(days=rng.randint(10, 300))
        item = OpenItem(
            item_id=n,
            customer_id=customer,
            document_number=f"{issued.year}/{n + 1:06d}",
            document_date=issued,
            due_date=issued + dt.timedelta(days=60),
            open_amount=Decimal(rng.randint(5_000, 900_000)) / 100,
        )
        items.append(item)
        by_customer[customer].append(item)
    payers = KnownPayers(
        customers_by_iban={_iban(c): c for c in range(CUSTOMERS) if c % 5},
        names_by_customer={c: [f"Cliente {c} S.r.l."] for c in range(CUSTOMERS)},
    )
    return items, payers, by_customer


def _reference(rng: random.Random, item: OpenItem) -> str:
    year, number = item.document_number.split("/")
    forms = [
        f"Saldo FT {int(number)}/{year}",
        f"Fatt. n. {number}",
        f"pagamento fattura {year}/{number}",
        f"FT{number} del {item.document_date:%d/%m/%Y}",
    ]
    return rng.choice(forms)


def _payments(
    rng: random.Random, by_customer: dict[int, list[OpenItem]]
) -> tuple[list[Credit], dict[str, tuple[frozenset, str]]]:
    """The credits and, for each, the items it truly pays and its kind."""
    credits, truth = [], {}
    customers = rng.sample(range(CUSTOMERS), PAYMENTS)  # one payment per customer
    for index, customer in enumerate(customers):
        kind = KINDS[index % len(KINDS)]
        owned = by_customer[customer]
        known_iban = customer % 5 != 0
        iban = _iban(customer) if known_iban else ""
        name = f"Cliente {customer} S.r.l."
        key = f"P{index:05d}"
        if kind == "quoted":
            item = rng.choice(owned)
            credit = Credit(key, item.open_amount, DAY, name, iban, _reference(rng, item))
            paid = frozenset([item.item_id])
        elif kind == "iban_only":
            item = rng.choice(owned)
            credit = Credit(key, item.open_amount, DAY, name, _iban(customer), "Bonifico")
            paid = frozenset([item.item_id])
        elif kind == "several":
            chosen = rng.sample(owned, 3)
            amount = sum((i.open_amount for i in chosen), Decimal(0))
            text = "Saldo fatture " + " ".join(i.document_number for i in chosen)
            credit = Credit(key, amount, DAY, name, iban, text)
            paid = frozenset(i.item_id for i in chosen)
        elif kind == "partial":
            item = rng.choice(owned)
            amount = (item.open_amount / 2).quantize(Decimal("0.01"))
            credit = Credit(key, amount, DAY, name, iban, "Acconto " + _reference(rng, item))
            paid = frozenset([item.item_id])
        elif kind == "name_only":
            item = rng.choice(owned)
            credit = Credit(key, item.open_amount, DAY, name, "", "Pagamento")
            paid = frozenset([item.item_id])
        else:
            amount = Decimal(rng.randint(100, 999_999)) / 100 + Decimal("0.01")
            credit = Credit(key, amount, DAY, "Sconosciuto SpA", "IT00X0000000000", "Giroconto")
            paid = frozenset()
        credits.append(credit)
        truth[key] = (paid, kind)
    return credits, truth


def _floor(items: list[OpenItem]) -> float:
    started = time.perf_counter()
    by_customer: dict = defaultdict(list)
    by_number: dict = defaultdict(list)
    for item in items:
        by_customer[item.customer_id].append(item)
        by_number[document_key(item.document_number)].append(item)
    return time.perf_counter() - started


def _measure(runs: int) -> tuple[dict, list[float], list[float]]:
    rng = random.Random(20260401)
    items, payers, by_customer = _ledger(rng)
    credits, truth = _payments(rng, by_customer)
    times, floors, matches = [], [], []
    for number in range(1, runs + 1):
        floors.append(_floor(items))
        started = time.perf_counter()
        matches = match_batch(credits, items, payers)
        times.append(time.perf_counter() - started)
        print(f"  run {number}/{runs}: {times[-1]:.2f} s (floor {floors[-1]:.2f} s)")
    counts: dict = defaultdict(lambda: defaultdict(int))
    for match in matches:
        paid, kind = truth[match.credit_key]
        got = frozenset(a.item_id for a in match.allocations)
        level = match.confidence.name.lower()
        counts[kind][level] += 1
        counts["all"][level] += 1
        if match.confidence == Confidence.HIGH and got != paid:
            counts[kind]["high_wrong"] += 1
            counts["all"]["high_wrong"] += 1
        counts[kind]["n"] += 1
        counts["all"]["n"] += 1
    return counts, times, floors


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def run(options: common.Options) -> common.Section:
    print(f"{TITLE}: {options.runs} run(s), {PAYMENTS:,} payments against {ITEMS:,} items")
    counts, times, floors = _measure(options.runs)
    median, floor = statistics.median(times), statistics.median(floors)
    rows = []
    labels = {
        "quoted": "one invoice, its number in the remittance",
        "iban_only": "one invoice, no reference (payer known by IBAN when it is)",
        "several": "three invoices together, their numbers quoted",
        "partial": "half of one invoice, its number quoted",
        "name_only": "one invoice, no reference, payer known by name only",
        "unknown": "unknown payer and amount",
        "all": "**all payments**",
    }
    for kind, label in labels.items():
        c = counts[kind]
        rows.append(
            [
                label,
                f"{c['n']:,}",
                _share(c["high"], c["n"]),
                str(c["high_wrong"]),
                _share(c["medium"] + c["low"], c["n"]),
                _share(c["none"], c["n"]),
            ]
        )
    wrong = counts["all"]["high_wrong"]
    failures = [f"{wrong} payments matched wrongly at high confidence"] if wrong else []
    lines = [
        f"Measured {common.today()} on {common.machine_summary()}.",
        "",
        __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "",
        common.table(
            [
                "Payments",
                "Count",
                "Matched automatically (HIGH)",
                "Of which wrong",
                "Proposed for review",
                "Unmatched",
            ],
            rows,
        ),
        "",
        common.table(
            ["Figure", "Median", "Runs", "Floor (indexing the items)", "Ratio"],
            [
                [
                    f"Matching {PAYMENTS:,} payments against {ITEMS:,} items",
                    f"**{common.seconds(median)}**",
                    " / ".join(common.seconds(t) for t in times),
                    common.seconds(floor),
                    f"{median / floor:.1f}×" if floor else "",
                ]
            ],
        ),
        "",
        "Target: no payment matched wrongly at high confidence "
        + ("(PASS)." if not wrong else "(**FAIL**)."),
    ]
    return common.Section(name=NAME, title=TITLE, markdown="\n".join(lines), failures=failures)
