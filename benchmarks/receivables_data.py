"""A deterministic Italian receivables snapshot (scadenziario) and the next day's snapshot.

The files look like an ERP export: ``;``-delimited UTF-8, Italian dates and amounts,
customer codes with leading zeros, valid VAT numbers, invoices paid in several installments
(one row per installment, same document number), some credit notes. They are generated
once per (rows, customers, seed, generator version) and cached under ``benchmarks/data/``
(gitignored) with a manifest of what an import of each must report.

The next day's snapshot is the first one with 2% of the items gone (paid), 1% with a
smaller open amount (partial payments) and 1% new items, a few of them of new customers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from stdnum import luhn

GENERATOR_VERSION = 1
DATA_DIR = Path(__file__).resolve().parent / "data"

HEADER = (
    "Codice cliente;Ragione sociale;Partita IVA;Email;Agente;Categoria;Numero documento;"
    "Tipo documento;Data documento;Data scadenza;Importo;Residuo"
)
PAID_SHARE = 0.02
PARTIAL_SHARE = 0.01
NEW_SHARE = 0.01
NEW_CUSTOMERS = 100
CREDIT_NOTE_SHARE = 0.04
FIRST_DOCUMENT_DATE = dt.date(2024, 1, 1)
FIRST_AS_OF = dt.date(2026, 3, 31)
NEXT_AS_OF = dt.date(2026, 4, 1)
# Installments per invoice and how often each count occurs.
INSTALLMENTS = (1, 2, 3, 4, 6)
INSTALLMENT_WEIGHTS = (45, 20, 20, 10, 5)

_SURNAMES = (
    "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti "
    "De_Luca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani "
    "Rinaldi Caruso Ferrara Galli Martini Leone Longo Gentile Martinelli Vitale Lombardo Serra "
    "Coppola De_Santis D'Angelo Marchetti Parisi Villa Conte Ferraro Ferri Fabbri Bianco "
    "Marini Grasso Valentini Messina Sala De_Angelis Gatti Pellegrini Palumbo Sanna Farina "
    "Rizzi Monti Cattaneo Morelli Amato Silvestri Mazza Testa Grassi Pellegrino Carbone "
    "Giuliani Benedetti Barone Rossetti Caputo Montanari Guerra Palmieri Bernardi Martino "
    "Fiore De_Rosa Ferretti Bellini Basile Riva Donati Piras Vitali Battaglia Sartori Neri "
    "Costantini Milani Pagano Ruggiero Sorrentino D'Amico Orlando Damico Negri Nicolò"
)
SURNAMES = tuple(_SURNAMES.split())
TRADES = (
    "Costruzioni",
    "Ferramenta",
    "Impianti Elettrici",
    "Trasporti",
    "Alimentari",
    "Caffè & Bar",
    "Arredamenti",
    "Meccanica",
    "Tessuti",
    "Edilizia",
    "Informatica",
    "Logistica",
    "Farmacia",
    "Autoricambi",
    "Vini e Liquori",
    "Serramenti",
    "Ceramiche",
    "Elettronica",
    "Calzature",
    "Ottica",
)
LEGAL_FORMS = ("S.r.l.", "S.p.A.", "S.n.c.", "S.a.s.", "S.r.l.s.", "Società Cooperativa")
_FIRST_NAMES = (
    "Marco Giulia Luca Francesca Andrea Chiara Matteo Sara Alessandro Elena Davide Valentina "
    "Stefano Martina Paolo Federica Simone Silvia Roberto Anna"
)
FIRST_NAMES = tuple(_FIRST_NAMES.split())
CATEGORIES = ("GDO", "INGROSSO", "DETTAGLIO", "PA", "ESTERO", "ARTIGIANI")
CATEGORY_WEIGHTS = (10, 25, 40, 5, 5, 15)
AGENTS = tuple(
    f"{first} {SURNAMES[(i * 7) % len(SURNAMES)].replace('_', ' ')}"
    for i, first in enumerate(FIRST_NAMES)
)


@dataclass(frozen=True)
class Expected:
    """What an import of a snapshot must report (the ``--json`` output of the command)."""

    rows: int
    created: int
    updated: int
    closed: int
    reopened: int
    unchanged: int
    customers_created: int
    open_items: int
    open_amount: str
    customers: int


@dataclass(frozen=True)
class Snapshots:
    first: Path
    next_day: Path
    first_as_of: dt.date
    next_as_of: dt.date
    first_import: Expected
    reimport: Expected
    next_day_import: Expected


# A row: customer index, document number, type, document date and due date (ordinals),
# amount and open amount in cents.
Row = tuple[int, str, str, int, int, int, int]


def snapshots(rows: int = 1_000_000, customers: int = 100_000, seed: int = 20260331) -> Snapshots:
    """The two snapshot files, generated now if they are not cached yet."""
    stem = f"receivables-{rows}r-{customers}c-s{seed}-v{GENERATOR_VERSION}"
    first = DATA_DIR / f"{stem}-2026-03-31.csv"
    next_day = DATA_DIR / f"{stem}-2026-04-01.csv"
    manifest = DATA_DIR / f"{stem}.json"
    if not (first.is_file() and next_day.is_file() and manifest.is_file()):
        started = time.perf_counter()
        print(f"Generating {rows:,} rows for {customers:,} customers in {DATA_DIR} ...")
        _generate(first, next_day, manifest, rows, customers, seed)
        print(f"  done in {time.perf_counter() - started:.1f} s")
    expected = json.loads(manifest.read_text())
    return Snapshots(
        first=first,
        next_day=next_day,
        first_as_of=FIRST_AS_OF,
        next_as_of=NEXT_AS_OF,
        first_import=Expected(**expected["first_import"]),
        reimport=Expected(**expected["reimport"]),
        next_day_import=Expected(**expected["next_day_import"]),
    )


# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------


def vat_number(index: int) -> str:
    """A valid Italian VAT number, different for each index below 9,999,999."""
    serial = (index * 7919 + 12345) % 9_999_999 + 1  # 7 digits, never all zeros
    office = index % 100 + 1  # provincial office 001-100
    base = f"{serial:07d}{office:03d}"
    return base + luhn.calc_check_digit(base)


def _customer_prefix(index: int, rng: random.Random) -> str:
    """The customer's columns of a row, up to and including the ``;`` before the document."""
    surname = rng.choice(SURNAMES).replace("_", " ")
    name = f"{surname} {rng.choice(TRADES)} {rng.choice(LEGAL_FORMS)}"
    code = f"{index:06d}"
    slug = "".join(ch for ch in surname.lower() if ch.isascii() and ch.isalnum())
    email = "" if rng.random() < 0.1 else f"amministrazione@{slug}{code}.it"
    agent = AGENTS[rng.randrange(len(AGENTS))]
    category = rng.choices(CATEGORIES, CATEGORY_WEIGHTS)[0]
    return f"{code};{name};{vat_number(index)};{email};{agent};{category};"


def italian_money(cents: int) -> str:
    """``123456`` -> ``1.234,56``; ``-5000`` -> ``-50,00``."""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros:,}".replace(",", ".") + f",{rest:02d}"


def _documents(
    rng: random.Random,
    counters: dict[tuple[str, int], int],
    forced: list[int],
    pool: int,
    rows: int,
    first_date: int,
    last_date: int,
) -> list[Row]:
    """One document for each of the ``forced`` customers, then documents of random customers
    from 1 to ``pool`` (the lower codes have more), until there are exactly ``rows`` rows."""
    out: list[Row] = []
    position = 0
    while len(out) < rows:
        if position < len(forced):
            customer = forced[position]
            position += 1
        else:
            customer = 1 + int(pool * rng.random() ** 1.3)
        doc_date = rng.randint(first_date, last_date)
        year = dt.date.fromordinal(doc_date).year
        if rng.random() < CREDIT_NOTE_SHARE:
            kind, installments = "NC", 1
        else:
            kind, installments = "FT", rng.choices(INSTALLMENTS, INSTALLMENT_WEIGHTS)[0]
        installments = min(installments, rows - len(out))
        counters[kind, year] = number = counters.get((kind, year), 0) + 1
        document = f"{kind}{year % 100:02d}/{number:06d}"
        total = int(10 ** rng.uniform(3.7, 6.7))  # 50 EUR to 50,000 EUR, log-uniform
        share = total // installments
        partly_paid = kind == "FT" and rng.random() < 0.15
        for k in range(1, installments + 1):
            amount = share if k < installments else total - share * (installments - 1)
            open_amount = amount
            if partly_paid and k == 1:
                open_amount = max(1, int(amount * rng.uniform(0.1, 0.9)))
            if kind == "NC":
                amount, open_amount = -amount, -open_amount
            due = doc_date + 30 * k
            out.append((customer, document, kind, doc_date, due, amount, open_amount))
    return out


def _write(path: Path, rows: list[Row], prefixes: dict[int, str]) -> None:
    dates: dict[int, str] = {}

    def date(ordinal: int) -> str:
        text = dates.get(ordinal)
        if text is None:
            text = dates[ordinal] = dt.date.fromordinal(ordinal).strftime("%d/%m/%Y")
        return text

    temporary = path.with_suffix(f".tmp{os.getpid()}")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\n")
        for start in range(0, len(rows), 50_000):
            handle.write(
                "".join(
                    f"{prefixes[c]}{doc};{kind};{date(d)};{date(due)};"
                    f"{italian_money(a)};{italian_money(o)}\n"
                    for c, doc, kind, d, due, a, o in rows[start : start + 50_000]
                )
            )
    temporary.replace(path)


def _summary(rows: list[Row]) -> tuple[int, str, int]:
    total = sum(r[6] for r in rows)
    sign = "-" if total < 0 else ""
    return len(rows), f"{sign}{abs(total) // 100}.{abs(total) % 100:02d}", len({r[0] for r in rows})


def _generate(
    first_path: Path, next_path: Path, manifest: Path, rows: int, customers: int, seed: int
) -> None:
    rng = random.Random(seed)
    prefixes = {i: _customer_prefix(i, rng) for i in range(1, customers + NEW_CUSTOMERS + 1)}
    counters: dict[tuple[str, int], int] = {}
    first_date = FIRST_DOCUMENT_DATE.toordinal()
    as_of = FIRST_AS_OF.toordinal()
    documents = _documents(
        rng, counters, list(range(1, customers + 1)), customers, rows, first_date, as_of
    )
    # An ERP lists the items by customer, then by document date.
    documents.sort(key=lambda r: (r[0], r[3], r[1], r[4]))

    # The next day: some items paid (gone), some partly paid, some new.
    paid = round(rows * PAID_SHARE)
    partial = round(rows * PARTIAL_SHARE)
    new = round(rows * NEW_SHARE)
    chosen = rng.sample(range(rows), paid + partial)
    gone = set(chosen[:paid])
    reduced = set(chosen[paid:])
    next_rows: list[Row] = []
    for index, row in enumerate(documents):
        if index in gone:
            continue
        if index in reduced:
            customer, doc, kind, d, due, amount, open_amount = row
            smaller = int(open_amount * rng.uniform(0.1, 0.9))
            if smaller == 0 or smaller == open_amount:
                smaller = open_amount // 2 or (1 if open_amount > 0 else -1)
            row = (customer, doc, kind, d, due, amount, smaller)
        next_rows.append(row)
    new_customers = list(range(customers + 1, customers + NEW_CUSTOMERS + 1))
    added = _documents(rng, counters, new_customers, customers, new, as_of, NEXT_AS_OF.toordinal())
    next_rows.extend(added)
    next_rows.sort(key=lambda r: r[0])  # stable: new items last within their customer

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _write(first_path, documents, prefixes)
    _write(next_path, next_rows, prefixes)

    first_items, first_amount, first_customers = _summary(documents)
    next_items, next_amount, next_customers = _summary(next_rows)
    expected = {
        "first_import": Expected(
            rows=rows,
            created=rows,
            updated=0,
            closed=0,
            reopened=0,
            unchanged=0,
            customers_created=first_customers,
            open_items=first_items,
            open_amount=first_amount,
            customers=first_customers,
        ),
        "reimport": Expected(
            rows=rows,
            created=0,
            updated=0,
            closed=0,
            reopened=0,
            unchanged=rows,
            customers_created=0,
            open_items=first_items,
            open_amount=first_amount,
            customers=first_customers,
        ),
        "next_day_import": Expected(
            rows=len(next_rows),
            created=new,
            updated=partial,
            closed=paid,
            reopened=0,
            unchanged=rows - paid - partial,
            customers_created=len({r[0] for r in added if r[0] > customers}),
            open_items=next_items,
            open_amount=next_amount,
            customers=next_customers,
        ),
    }
    manifest.write_text(json.dumps({k: asdict(v) for k, v in expected.items()}, indent=2))
