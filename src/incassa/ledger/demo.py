"""A realistic, deterministic Italian portfolio for trying Incassa.

``demo_portfolio_build`` invents about 400 customers of a hardware wholesaler and 13 months of
their invoices, credit notes and debit notes, each with its installments and the day each
installment was (or was not) paid. It then writes what the ERP would have exported on three
days (two weeks ago, one week ago and today) as Italian CSV snapshots and loads them through
the real import, so the ledger has a history: items paid in between disappear, partly paid
ones shrink, new invoices appear. The documents of the last 12 months go through the
issued-invoices import too.

Everything comes from ``random.Random(seed)`` and ``as_of``: the same seed and date give the
same customers, items and amounts. The generation (``portfolio_generate``) touches no
database and is tested on its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
import secrets
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import transaction
from stdnum import luhn

from incassa.core.fields import CENT
from incassa.ledger.models import (
    ColumnMapping,
    Company,
    Customer,
    CustomerCategory,
    DocumentType,
    EInvoice,
    ImportRun,
    IssuedInvoice,
    Membership,
    Receivable,
    ReceivableEvent,
    Role,
    SalesAgent,
)

DEFAULT_COMPANY_CODE = "demo"
DEFAULT_SEED = 2026
DEMO_USERNAME = "demo"
# Days before ``as_of`` of the three snapshots that are imported, oldest first.
SNAPSHOT_OFFSETS = (70, 42, 28, 14, 7, 0)
HISTORY_DAYS = 400
ISSUED_INVOICE_DAYS = 365

COMPANY = {
    "name": "Ferramenta Rossi S.p.A.",
    "vat_number": "",  # filled in by _company_vat_number
    "iban": "IT60X0542811101000000123456",
    "address": "Via dell'Industria 24",
    "postal_code": "40138",
    "city": "Bologna",
    "province": "BO",
    "country": "IT",
    "email": "amministrazione@ferramentarossi.example.it",
    "sender_name": "Ferramenta Rossi - Ufficio crediti",
    "pec": "ferramentarossi@pec.example.it",
    "phone": "+39 051 6012345",
    "website": "www.ferramentarossi.example.it",
    "signature": "Ufficio Crediti\nFerramenta Rossi S.p.A.",
    "letter_footer": (
        "Ferramenta Rossi S.p.A. - Capitale sociale EUR 1.200.000,00 i.v. - "
        "Registro Imprese di Bologna e REA BO-123456"
    ),
}

# A plain letterhead logo for the demo company (a real company uploads its own).
DEMO_LOGO = """<svg xmlns="http://www.w3.org/2000/svg" width="380" height="64" viewBox="0 0 380 64">
<rect x="2" y="6" width="52" height="52" rx="10" fill="#9b2c1f"/>
<path d="M16 44 L28 18 L40 44 Z" fill="#fff"/>
<rect x="24" y="34" width="8" height="10" fill="#9b2c1f"/>
<text x="64" y="30" font-family="DejaVu Sans, sans-serif" font-size="20" font-weight="bold"
 fill="#222">Ferramenta Rossi</text>
<text x="64" y="50" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#666">utensileria
 e forniture industriali dal 1962</text>
</svg>
"""


def vat_number(serial: int, office: int = 1) -> str:
    """A valid Italian VAT number (partita IVA) from a 7-digit serial and a 3-digit office.

    The eleventh digit is the Luhn check digit of the first ten; the office (digits 8-10)
    must be 001-100, 120, 121, 888 or 999 for the number to be valid.
    """
    if not 1 <= serial <= 9_999_999:
        raise ValueError(f"serial {serial} out of range")
    body = f"{serial:07d}{office:03d}"
    return body + luhn.calc_check_digit(body)


# --------------------------------------------------------------------------------------
# The invented world
# --------------------------------------------------------------------------------------

SURNAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino",
    "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo",
    "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi", "Caruso",
    "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile", "Martinelli", "Vitale",
    "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti", "Parisi", "Villa",
    "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini", "Grasso", "Valentini",
    "Messina", "Sala", "De Angelis", "Gatti", "Pellegrini", "Palumbo", "Sanna", "Farina",
    "Rizzi", "Monti", "Cattaneo", "Morelli", "Amato", "Silvestri", "Mazza", "Testa", "Grassi",
    "Carbone", "Giuliani", "Benedetti", "Barone", "Rossetti", "Caputo", "Montanari", "Guerra",
    "Palmieri", "Bernardi", "Fiore", "De Rosa", "Ferretti", "Bellini", "Basile", "Riva",
    "Donati", "Piras", "Vitali", "Battaglia", "Sartori", "Neri", "Costantini", "Milani",
    "Pagano", "Ruggiero", "Sorrentino", "D'Amico", "Orlando", "Negri", "Zanetti", "Bertolini",
)  # fmt: skip

FIRST_NAMES = (
    "Mario", "Giuseppe", "Luigi", "Paolo", "Franco", "Giorgio", "Roberto", "Stefano", "Anna",
    "Maria", "Laura", "Elena", "Davide", "Simone", "Chiara", "Alessandro", "Federica", "Enrico",
)  # fmt: skip

# (city, province, postal code, telephone prefix); Emilia-Romagna first, the firm's home.
CITIES = (
    ("Bologna", "BO", "40121", "051"), ("Modena", "MO", "41121", "059"),
    ("Reggio Emilia", "RE", "42121", "0522"), ("Parma", "PR", "43121", "0521"),
    ("Ferrara", "FE", "44121", "0532"), ("Ravenna", "RA", "48121", "0544"),
    ("Forlì", "FC", "47121", "0543"), ("Rimini", "RN", "47921", "0541"),
    ("Piacenza", "PC", "29121", "0523"), ("Imola", "BO", "40026", "0542"),
    ("Carpi", "MO", "41012", "059"), ("Sassuolo", "MO", "41049", "0536"),
    ("Faenza", "RA", "48018", "0546"), ("Cesena", "FC", "47521", "0547"),
    ("Milano", "MI", "20121", "02"), ("Bergamo", "BG", "24121", "035"),
    ("Brescia", "BS", "25121", "030"), ("Mantova", "MN", "46100", "0376"),
    ("Cremona", "CR", "26100", "0372"), ("Verona", "VR", "37121", "045"),
    ("Padova", "PD", "35121", "049"), ("Vicenza", "VI", "36100", "0444"),
    ("Treviso", "TV", "31100", "0422"), ("Venezia", "VE", "30121", "041"),
    ("Trento", "TN", "38121", "0461"), ("Udine", "UD", "33100", "0432"),
    ("Torino", "TO", "10121", "011"), ("Genova", "GE", "16121", "010"),
    ("Firenze", "FI", "50121", "055"), ("Prato", "PO", "59100", "0574"),
    ("Pisa", "PI", "56121", "050"), ("Lucca", "LU", "55100", "0583"),
    ("Arezzo", "AR", "52100", "0575"), ("Ancona", "AN", "60121", "071"),
    ("Perugia", "PG", "06121", "075"), ("Pescara", "PE", "65121", "085"),
    ("Roma", "RM", "00185", "06"), ("Napoli", "NA", "80133", "081"),
    ("Bari", "BA", "70121", "080"), ("Lecce", "LE", "73100", "0832"),
)  # fmt: skip

STREETS = (
    "Via Roma", "Via Garibaldi", "Via Mazzini", "Via dell'Industria", "Via dell'Artigianato",
    "Via Emilia", "Viale Europa", "Via della Repubblica", "Via Matteotti", "Via Gramsci",
    "Via dei Mille", "Via Marconi", "Via Volta", "Via Galilei", "Via Cavour", "Via Nazionale",
    "Via del Lavoro", "Via dell'Agricoltura", "Viale della Libertà", "Via Fermi",
)  # fmt: skip


@dataclass(frozen=True)
class CategorySpec:
    code: str
    name: str
    weight: int
    trades: tuple[str, ...]
    invoices_per_month: float
    median_invoice: int  # euros
    credit_limit: tuple[int, int] | None  # thousands of euros
    has_agent: bool = True


CATEGORIES = (
    CategorySpec(
        "DIST", "Distributori", 14, ("Distribuzione", "Forniture Industriali", "Ingrosso",
        "Commerciale", "Forniture Edili"), 3.0, 2400, (50, 200)
    ),
    CategorySpec(
        "RIV", "Rivenditori", 36, ("Ferramenta", "Colorificio", "Utensileria", "Casalinghi",
        "Bricolage", "Edilcentro", "Agraria"), 1.8, 900, (5, 30)
    ),
    CategorySpec(
        "GDO", "Grande distribuzione", 7, ("Supermercati", "Brico Center", "Ipermercati",
        "Market"), 4.0, 3200, (100, 300)
    ),
    CategorySpec(
        "PA", "Pubblica amministrazione", 11, ("Comune di", "Unione dei Comuni", "Azienda USL",
        "Consorzio di Bonifica"), 0.6, 1800, None, has_agent=False
    ),
    CategorySpec(
        "INST", "Installatori", 32, ("Impianti", "Termoidraulica", "Elettroimpianti",
        "Serramenti", "Costruzioni", "Climatizzazione"), 1.2, 750, (3, 20)
    ),
)  # fmt: skip

AGENTS = (
    ("Marco Bellini", "m.bellini@ferramentarossi.example.it"),
    ("Giulia Ferri", "g.ferri@ferramentarossi.example.it"),
    ("Luca Moretti", "l.moretti@ferramentarossi.example.it"),
    ("Sara Colombo", "s.colombo@ferramentarossi.example.it"),
    ("Andrea Galli", "a.galli@ferramentarossi.example.it"),
    ("Francesca Neri", "f.neri@ferramentarossi.example.it"),
)

# Payment habits: (weight, days late for most installments, share never paid).
PROFILES = {
    "punctual": (46, (-5, 4), 0.0),
    "slow": (28, (3, 35), 0.004),
    "late": (15, (25, 95), 0.02),
    "bad": (8, (80, 260), 0.18),
    "defaulted": (3, (150, 400), 0.7),
}
LEGAL_FORMS = (("S.r.l.", 55), ("S.p.A.", 8), ("S.n.c.", 16), ("S.a.s.", 13), ("S.r.l.s.", 8))
PAYMENT_TERMS = {
    1: ("Bonifico 30 gg d.f.", "Ri.Ba. 60 gg d.f.f.m.", "Bonifico 60 gg d.f."),
    2: ("Ri.Ba. 30-60 gg d.f.f.m.",),
    3: ("Ri.Ba. 30-60-90 gg d.f.f.m.",),
}


@dataclass
class DemoCustomer:
    code: str
    name: str
    vat_number: str
    email: str
    pec: str
    phone: str
    address: str
    postal_code: str
    city: str
    province: str
    category: CategorySpec
    agent: str
    credit_limit: Decimal | None
    profile: str
    installments: int
    payment_terms: str
    large: bool = False


@dataclass
class Installment:
    """One installment of one document and its fate: paid on ``paid_on`` (``None``: never),
    ``partial`` paid on ``partial_on`` before that."""

    customer: DemoCustomer
    document_number: str
    document_type: str
    document_date: dt.date
    due_date: dt.date
    amount: Decimal
    paid_on: dt.date | None
    partial: Decimal = Decimal("0.00")
    partial_on: dt.date | None = None

    def open_amount(self, on: dt.date) -> Decimal:
        """What is still owed at the end of ``on``; zero once paid or before it was issued."""
        if self.document_date > on or (self.paid_on is not None and self.paid_on <= on):
            return Decimal("0.00")
        if self.partial_on is not None and self.partial_on <= on:
            return self.amount - self.partial
        return self.amount


@dataclass
class Portfolio:
    as_of: dt.date
    seed: int
    customers: list[DemoCustomer]
    installments: list[Installment] = field(default_factory=list)

    def open_on(self, on: dt.date) -> list[Installment]:
        return [item for item in self.installments if item.open_amount(on) != 0]


def _pick(rng: random.Random, weighted: Iterable[tuple[object, int]]):
    options, weights = zip(*weighted, strict=True)
    return rng.choices(options, weights=weights)[0]


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9 ]", " ", ascii_text.lower()).split()
    legal = {"srl", "spa", "snc", "sas", "srls", "s", "r", "l", "p", "a", "n", "c", "di", "e"}
    return "".join(w for w in words if w not in legal)[:30] or "cliente"


def _company_name(rng: random.Random, category: CategorySpec, city: str) -> str:
    trade = rng.choice(category.trades)
    if category.code == "PA":
        if trade == "Comune di":
            return f"Comune di {city}"
        if trade == "Azienda USL":
            return f"Azienda USL di {city}"
        return f"{trade} {rng.choice(('della Pianura', 'del Reno', 'della Bassa', 'Valli'))}"
    surname = rng.choice(SURNAMES)
    if category.code in {"DIST", "GDO"}:
        form = _pick(rng, (("S.r.l.", 6), ("S.p.A.", 4)))
    else:
        form = _pick(rng, LEGAL_FORMS)
    style = rng.randrange(4)
    if form in {"S.n.c.", "S.a.s."}:
        return f"{trade} {surname} di {rng.choice(FIRST_NAMES)} {surname} & C. {form}"
    if style == 0:
        return f"{trade} {surname} {form}"
    if style == 1:
        return f"{surname} {trade} {form}"
    if style == 2:
        return f"{trade} {city} {form}"
    return f"{surname} & {rng.choice(SURNAMES)} {trade} {form}"


def _customers(rng: random.Random, count: int) -> list[DemoCustomer]:
    customers = []
    serials = rng.sample(range(1_000_000, 9_999_999), count)
    for index in range(count):
        category = _pick(rng, ((c, c.weight) for c in CATEGORIES))
        # Two customers in three are near Bologna; the rest anywhere.
        city, province, postal_code, prefix = (
            rng.choice(CITIES[:14]) if rng.random() < 0.66 else rng.choice(CITIES)
        )
        name = _company_name(rng, category, city)
        slug = _slug(name)
        profile = _pick(rng, ((name, spec[0]) for name, spec in PROFILES.items()))
        if category.code == "PA":
            profile = rng.choice(("slow", "late", "late"))
        installments = _pick(rng, ((1, 45), (2, 30), (3, 25)))
        limit = None
        if category.credit_limit:
            low, high = category.credit_limit
            limit = Decimal(rng.randint(low, high) * 1000)
        customers.append(
            DemoCustomer(
                code=f"C{10001 + index * 3:05d}",
                name=name,
                vat_number=vat_number(serials[index], office=rng.randint(1, 100)),
                email=f"amministrazione@{slug}.it",
                pec=f"{slug}@{rng.choice(('pec.it', 'legalmail.it', 'pec.aruba.it'))}"
                if category.code == "PA" or rng.random() < 0.55
                else "",
                phone=f"+39 {prefix} {rng.randint(100000, 9999999)}",
                address=f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
                postal_code=postal_code,
                city=city,
                province=province,
                category=category,
                agent=rng.choice(AGENTS)[0] if category.has_agent else "",
                credit_limit=limit,
                profile=profile,
                installments=installments,
                payment_terms=rng.choice(PAYMENT_TERMS[installments]),
            )
        )
    # A few large debtors: big distributors and chains that pay slowly.
    big = [c for c in customers if c.category.code in {"DIST", "GDO"}]
    for customer in rng.sample(big, min(6, len(big))):
        customer.large = True
        customer.profile = rng.choice(("slow", "late"))
        customer.credit_limit = Decimal(rng.randint(250, 400) * 1000)
    return customers


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(CENT)


def _split(total: Decimal, parts: int) -> list[Decimal]:
    share = (total / parts).quantize(CENT)
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def _end_of_month(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def _add_months_eom(day: dt.date, months: int) -> dt.date:
    """The last day of the month ``months`` after ``day`` (Italian "d.f.f.m." terms)."""
    month = day.month - 1 + months
    first = dt.date(day.year + month // 12, month % 12 + 1, 1)
    return _end_of_month(first)


def _payment_day(rng: random.Random, customer: DemoCustomer, due: dt.date) -> dt.date | None:
    _weight, (early, late), never = PROFILES[customer.profile]
    if rng.random() < never:
        return None
    if rng.random() < 0.08:  # even good payers forget one now and then
        late += 40
    paid = due + dt.timedelta(days=rng.randint(early, late))
    # Nobody pays a long time before the due date; what is paid after today is still open.
    return max(paid, due - dt.timedelta(days=10))


def portfolio_generate(
    *, as_of: dt.date, seed: int = DEFAULT_SEED, customers: int = 400
) -> Portfolio:
    """The whole invented history up to ``as_of``: pure, deterministic, no database."""
    rng = random.Random(seed)
    people = _customers(rng, customers)
    portfolio = Portfolio(as_of=as_of, seed=seed, customers=people)
    start = as_of - dt.timedelta(days=HISTORY_DAYS)
    numbers: dict[tuple[str, int], int] = {}

    def next_number(series: str, day: dt.date) -> str:
        key = (series, day.year)
        numbers[key] = numbers.get(key, 0) + 1
        return f"{series}{day.year}/{numbers[key]:05d}"

    # Documents in date order, so that numbers grow with dates as in a real ERP.
    documents: list[tuple[dt.date, DemoCustomer, str]] = []
    for customer in people:
        rate = customer.category.invoices_per_month * (2.5 if customer.large else 1.0)
        day = start + dt.timedelta(days=rng.randint(0, 20))
        while day <= as_of:
            documents.append((day, customer, "invoice"))
            if rng.random() < 0.04:
                documents.append((day + dt.timedelta(days=rng.randint(3, 25)), customer, "credit"))
            day += dt.timedelta(days=max(1, round(rng.expovariate(rate / 30.4))))
    documents = [d for d in documents if d[0] <= as_of]
    documents.sort(key=lambda d: (d[0], d[1].code, d[2]))

    for day, customer, kind in documents:
        if day.weekday() == 6:  # nothing is invoiced on Sundays
            day += dt.timedelta(days=1)
            if day > as_of:
                continue
        if kind == "credit":
            amount = -_money(rng.uniform(20, 600))
            due = day
            portfolio.installments.append(
                Installment(
                    customer=customer,
                    document_number=next_number("NC", day),
                    document_type=DocumentType.CREDIT_NOTE,
                    document_date=day,
                    due_date=due,
                    amount=amount,
                    # Offset against a later payment, or left open for a while.
                    paid_on=due + dt.timedelta(days=rng.randint(5, 90))
                    if rng.random() < 0.85
                    else None,
                )
            )
            continue
        median = customer.category.median_invoice * (6 if customer.large else 1)
        total = _money(min(max(rng.lognormvariate(0, 0.85) * median, 45), 95_000))
        parts = _split(total, customer.installments)
        number = next_number("FT", day)
        for index, part in enumerate(parts):
            if customer.installments == 1 and "Bonifico" in customer.payment_terms:
                days = 60 if "60" in customer.payment_terms else 30
                due = day + dt.timedelta(days=days)
            else:
                due = _add_months_eom(day, (index + 1) if customer.installments > 1 else 2)
            item = Installment(
                customer=customer,
                document_number=number,
                document_type=DocumentType.INVOICE,
                document_date=day,
                due_date=due,
                amount=part,
                paid_on=_payment_day(rng, customer, due),
            )
            # Some late payers send a payment on account before settling.
            if customer.profile in {"late", "bad", "defaulted"} and rng.random() < 0.12:
                item.partial = (part * Decimal(rng.choice(("0.3", "0.4", "0.5")))).quantize(CENT)
                after = item.paid_on or due + dt.timedelta(days=300)
                span = max((after - due).days, 2)
                item.partial_on = due + dt.timedelta(days=rng.randint(1, span - 1))
            portfolio.installments.append(item)
        # Collection fees charged to late payers as a debit note.
        if customer.profile in {"late", "bad"} and rng.random() < 0.05:
            fee_day = day + dt.timedelta(days=rng.randint(60, 120))
            if fee_day <= as_of:
                portfolio.installments.append(
                    Installment(
                        customer=customer,
                        document_number=next_number("ND", fee_day),
                        document_type=DocumentType.DEBIT_NOTE,
                        document_date=fee_day,
                        due_date=fee_day + dt.timedelta(days=30),
                        amount=Decimal(rng.choice(("5.00", "7.50", "12.00", "25.00"))),
                        paid_on=_payment_day(rng, customer, fee_day + dt.timedelta(days=30)),
                    )
                )
    return portfolio


# --------------------------------------------------------------------------------------
# Files as the ERP would export them
# --------------------------------------------------------------------------------------

SNAPSHOT_HEADER = (
    "Codice cliente", "Ragione sociale", "Partita IVA", "Email", "PEC", "Telefono", "Indirizzo",
    "CAP", "Città", "Provincia", "Agente", "Categoria", "Condizioni di pagamento", "Fido",
    "Numero documento", "Tipo documento", "Data documento", "Data scadenza", "Importo",
    "Residuo",
)  # fmt: skip
INVOICES_HEADER = (
    "Codice cliente", "Ragione sociale", "Partita IVA", "Numero documento", "Tipo documento",
    "Data documento", "Data scadenza", "Importo",
)  # fmt: skip
DOCUMENT_TYPE_LABELS = {
    DocumentType.INVOICE: "Fattura",
    DocumentType.CREDIT_NOTE: "Nota di credito",
    DocumentType.DEBIT_NOTE: "Nota di debito",
}


def italian_amount(value: Decimal) -> str:
    """``-1234.5`` as ``-1.234,50``, the way Italian ERPs export amounts."""
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{'.'.join(groups)},{cents}"


def _customer_columns(customer: DemoCustomer) -> list[str]:
    return [
        customer.code,
        customer.name,
        customer.vat_number,
        customer.email,
        customer.pec,
        customer.phone,
        customer.address,
        customer.postal_code,
        customer.city,
        customer.province,
        customer.agent,
        customer.category.code,
        customer.payment_terms,
        italian_amount(customer.credit_limit) if customer.credit_limit is not None else "",
    ]


def snapshot_write(portfolio: Portfolio, on: dt.date, path: Path) -> int:
    """The open items at the end of ``on`` as a ``;``-separated Italian CSV; returns rows."""
    items = sorted(
        portfolio.open_on(on), key=lambda i: (i.customer.code, i.due_date, i.document_number)
    )
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(SNAPSHOT_HEADER)
        for item in items:
            writer.writerow(
                [
                    *_customer_columns(item.customer),
                    item.document_number,
                    DOCUMENT_TYPE_LABELS[item.document_type],
                    f"{item.document_date:%d/%m/%Y}",
                    f"{item.due_date:%d/%m/%Y}",
                    italian_amount(item.amount),
                    italian_amount(item.open_amount(on)),
                ]
            )
    return len(items)


def invoices_write(portfolio: Portfolio, path: Path) -> int:
    """Every document of the last 12 months, paid or not, one row per installment."""
    since = portfolio.as_of - dt.timedelta(days=ISSUED_INVOICE_DAYS)
    items = [i for i in portfolio.installments if since < i.document_date <= portfolio.as_of]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow(INVOICES_HEADER)
        for item in items:
            writer.writerow(
                [
                    item.customer.code,
                    item.customer.name,
                    item.customer.vat_number,
                    item.document_number,
                    DOCUMENT_TYPE_LABELS[item.document_type],
                    f"{item.document_date:%d/%m/%Y}",
                    f"{item.due_date:%d/%m/%Y}",
                    italian_amount(item.amount),
                ]
            )
    return len(items)


# --------------------------------------------------------------------------------------
# Loading it
# --------------------------------------------------------------------------------------


@dataclass
class DemoResult:
    company: Company
    built: bool
    imports: list[ImportRun]
    username: str
    password: str


def _company_vat_number() -> str:
    return vat_number(2_345_678, office=37)  # 37: Bologna's office


def demo_company_reset(*, code: str) -> Company:
    """The demo company with its data removed (memberships stay)."""
    company, _created = Company.objects.update_or_create(
        code=code, defaults={**COMPANY, "vat_number": _company_vat_number()}
    )
    if not company.logo:
        company.logo.save("ferramenta-rossi.svg", ContentFile(DEMO_LOGO.encode()), save=True)
    # Later apps' rows that point at items (dunning steps, holds) go with them (CASCADE).
    ReceivableEvent.objects.filter(receivable__company=company).delete()
    EInvoice.objects.filter(company=company).delete()  # its customers are protected
    Receivable.objects.filter(company=company).delete()
    IssuedInvoice.objects.filter(company=company).delete()
    ImportRun.objects.filter(company=company).delete()
    Customer.objects.filter(company=company).delete()
    SalesAgent.objects.filter(company=company).delete()
    CustomerCategory.objects.filter(company=company).delete()
    ColumnMapping.objects.filter(company=company).delete()
    return company


def demo_login_reset(*, company: Company) -> tuple[object, str]:
    """The ``demo`` user, credit manager of ``company``, with a fresh random password.

    Staff (so the admin opens) but not a superuser: it sees only the demo company, and may
    use the ledger's models in the admin.
    """
    password = secrets.token_urlsafe(9)
    user_model = get_user_model()
    user, _created = user_model.objects.get_or_create(username=DEMO_USERNAME)
    user.first_name, user.last_name = "Utente", "Demo"
    user.email = "demo@example.it"
    user.is_active = True
    user.is_staff = True
    user.is_superuser = False
    user.set_password(password)
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="ledger"))
    Membership.objects.update_or_create(
        user=user, company=company, defaults={"role": Role.CREDIT_MANAGER}
    )
    return user, password


def demo_portfolio_build(
    *,
    as_of: dt.date,
    company_code: str = DEFAULT_COMPANY_CODE,
    seed: int = DEFAULT_SEED,
    if_empty: bool = False,
    after_snapshot: Callable[[Company, dt.date, dt.date], None] | None = None,
) -> DemoResult:
    """Fill ``company_code`` with the demo portfolio through the real imports, and reset the
    demo login. With ``if_empty``, a company that already has items keeps them.

    ``after_snapshot(company, day, until)`` is called after each snapshot is imported, with
    the day of the next one (or the day after ``as_of``), so that later apps can play the
    days in between (the dunning engine's daily runs) without the ledger knowing them.
    """
    from incassa.ledger.services import invoices_import, receivables_import

    company = Company.objects.filter(code=company_code).first()
    imports: list[ImportRun] = []
    built = False
    if not (if_empty and company and Receivable.objects.filter(company=company).exists()):
        portfolio = portfolio_generate(as_of=as_of, seed=seed)
        with transaction.atomic():
            company = demo_company_reset(code=company_code)
            for category in CATEGORIES:
                CustomerCategory.objects.create(
                    company=company, code=category.code, name=category.name
                )
            for name, email in AGENTS:
                SalesAgent.objects.create(company=company, name=name, email=email)
        with tempfile.TemporaryDirectory(prefix="incassa-demo-") as folder:
            days = [as_of - dt.timedelta(days=offset) for offset in SNAPSHOT_OFFSETS]
            for day, until in zip(days, [*days[1:], as_of + dt.timedelta(days=1)], strict=True):
                path = Path(folder) / f"scadenziario_{day:%Y%m%d}.csv"
                snapshot_write(portfolio, day, path)
                result = receivables_import(
                    company=company, path=path, as_of=day, source="demo-data"
                )
                imports.append(result.import_run)
                if after_snapshot is not None:
                    after_snapshot(company, day, until)
            path = Path(folder) / f"fatture_emesse_{as_of:%Y%m%d}.csv"
            invoices_write(portfolio, path)
            imports.append(
                invoices_import(
                    company=company, path=path, as_of=as_of, source="demo-data"
                ).import_run
            )
        built = True
    user, password = demo_login_reset(company=company)
    return DemoResult(
        company=company,
        built=built,
        imports=imports,
        username=user.get_username(),
        password=password,
    )
