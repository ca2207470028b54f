"""The demo company's bank statement of the day: customers paying their open items.

After the demo's snapshots and e-invoices, ``demo_statement_import`` invents the camt.053
statement the bank would deliver for ``as_of`` and imports it through the real import, so that
the Payments page shows what a credit manager finds on a morning:

- payments of one invoice quoting its number, each in its own style ("SALDO FT 2026/123",
  "Fatt. n. 123 del 31/01/2026", "pagamento fattura 123", a structured reference): booked
  automatically;
- payments of several invoices of one customer quoting them all: booked automatically;
- partial payments quoting the invoice, payments without any reference from a payer named as
  a customer for the amount of one of its items, and payments whose amount fits two items:
  proposed, for a person to confirm;
- payments from people who are not customers: to be matched by hand;
- and the bank's own debits (fees, stamp duty), which the import skips.

The generation (``statement_generate``, ``camt053_xml``) is pure and deterministic
(``random.Random(seed)``): it reads the open items as plain values, chooses the documents it
quotes among those whose number no other open item shares (so that what is meant to match
does), and balances the statement (opening + credits - debits = closing).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from xml.sax.saxutils import escape

from schwifty import IBAN

from incassa.ledger.demo import DEFAULT_SEED
from incassa.ledger.models import Company, Customer, Receivable, ReceivableStatus
from incassa.payments.matching import document_key, normalise_name
from incassa.payments.models import BankEntry, BankStatement, PayerAccount
from incassa.payments.services import StatementImportResult, statement_import

__all__ = [
    "FALLBACK_IBAN",
    "DemoCredit",
    "DemoDebit",
    "DemoItem",
    "DemoStatement",
    "camt053_xml",
    "demo_payments_reset",
    "demo_statement_import",
    "statement_generate",
]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
FALLBACK_IBAN = "IT60X0542811101000000123456"

# How many credits of each kind the statement holds (fewer when the ledger has too few items).
PLAN = {
    "invoice": 20,  # one invoice paid in full, its number quoted
    "invoices": 6,  # several invoices of one customer, all quoted
    "partial": 5,  # part of an invoice, its number quoted
    "payer": 4,  # no reference; payer named as the customer, the amount of one of its items
    "ambiguous": 3,  # no reference; the amount of two items
    "unknown": 2,  # not a customer, nothing fits
}
# Banks (ABI codes) the customers' accounts are at.
BANKS = ("03069", "02008", "05034", "05387", "01030", "06230", "03104", "05696", "08327")
UNKNOWN_PAYERS = (
    ("Studio Tecnico Geom. Paolo Neri", "Rimborso spese sopralluogo"),
    ("Caterina Lodi", "Caparra ordine banco vendita"),
    ("Assicurazioni Padane Agenzia Centro", "Liquidazione sinistro"),
    ("Giovanni Perini", "Acquisto al banco"),
)
NO_REFERENCE = (
    "Pagamento fornitura",
    "Bonifico a Vostro favore",
    "Saldo come da accordi telefonici",
    "Pagamento materiale",
    "Saldo",
)
DEBITS = (
    ("COMMISSIONI BONIFICI IN ENTRATA", "CHRG"),
    ("CANONE MENSILE SERVIZIO CORPORATE BANKING", "CHRG"),
    ("IMPOSTA DI BOLLO ESTRATTO CONTO", "TAXE"),
)


@dataclass(frozen=True)
class DemoItem:
    """An open item as the statement's author sees it."""

    customer_code: str
    customer_name: str
    document_number: str
    document_date: dt.date
    due_date: dt.date
    open_amount: Decimal


@dataclass(frozen=True)
class DemoCredit:
    kind: str
    amount: Decimal
    payer_name: str
    payer_iban: str
    remittance: str = ""  # unstructured (Ustrd)
    references: tuple[tuple[str, dt.date], ...] = ()  # structured: document number and date
    value_date: dt.date | None = None


@dataclass(frozen=True)
class DemoDebit:
    amount: Decimal
    description: str
    family: str  # the bank transaction code's family: CHRG (fees) or TAXE


@dataclass(frozen=True)
class DemoStatement:
    account_iban: str
    account_owner: str
    day: dt.date
    sequence: int
    opening_balance: Decimal
    credits: tuple[DemoCredit, ...]
    debits: tuple[DemoDebit, ...]

    @property
    def closing_balance(self) -> Decimal:
        return (
            self.opening_balance
            + sum((c.amount for c in self.credits), ZERO)
            - sum((d.amount for d in self.debits), ZERO)
        )

    @property
    def name(self) -> str:
        return f"camt053_{self.account_iban}_{self.day:%Y%m%d}.xml"


# --------------------------------------------------------------------------------------
# Choosing what is paid
# --------------------------------------------------------------------------------------


def payer_iban(code: str, seed: int) -> str:
    """A valid Italian IBAN for a customer's account, the same on every build."""
    rng = random.Random(f"{seed}:{code}")
    bank = rng.choice(BANKS) + f"{rng.randint(1000, 99999):05d}"
    return str(
        IBAN.generate("IT", bank_code=bank, account_code=f"{rng.randint(1, 10**12 - 1):012d}")
    )


@dataclass(frozen=True)
class _Document:
    customer_code: str
    customer_name: str
    number: str
    date: dt.date
    items: tuple[DemoItem, ...]

    @property
    def amount(self) -> Decimal:
        return sum((i.open_amount for i in self.items), ZERO)

    @property
    def due(self) -> dt.date:
        return min(i.due_date for i in self.items)

    @property
    def serial(self) -> int:
        """The document's progressive number: 123 for "FT2026/00123"."""
        return int(re.findall(r"\d+", self.number)[-1])


def _quotable(items: Sequence[DemoItem], as_of: dt.date) -> list[_Document]:
    """The invoices a customer may quote by number and be understood: wholly positive, with a
    progressive of three digits or more, due by now or soon, issued a while ago, and with a
    number no other open item shares (in any year: "fattura 123" names no year)."""
    owners: dict[tuple[str, ...], set[tuple[str, str]]] = defaultdict(set)
    grouped: dict[tuple[str, str], list[DemoItem]] = defaultdict(list)
    for item in items:
        owners[document_key(item.document_number, item.document_date.year)].add(
            (item.customer_code, item.document_number)
        )
        grouped[(item.customer_code, item.document_number)].append(item)
    documents = []
    for (code, number), group in sorted(grouped.items()):
        first = group[0]
        document = _Document(code, first.customer_name, number, first.document_date, tuple(group))
        if (
            all(i.open_amount > 0 for i in group)
            and re.fullmatch(r"\D*\d{4}/\d+", number)
            and document.serial >= 100
            and document.due <= as_of + dt.timedelta(days=20)
            and document.date <= as_of - dt.timedelta(days=15)
            and len(owners[document_key(number, first.document_date.year)]) == 1
        ):
            documents.append(document)
    return documents


def _invoice_remittance(rng: random.Random, document: _Document) -> tuple[str, tuple]:
    """How a payer quotes one invoice: free text in one of the usual styles, or structured."""
    n, year, date = document.serial, document.date.year, document.date
    style = rng.randrange(7)
    if style == 0:
        return f"SALDO FT {year}/{n}", ()
    if style == 1:
        return f"Fatt. n. {n} del {date:%d/%m/%Y}", ()
    if style == 2:
        return f"pagamento fattura {n}", ()
    if style == 3:
        return f"BONIFICO SEPA - RIF. {document.number}", ()
    if style == 4:
        return f"Saldo fattura nr. {n}/{year % 100:02d}", ()
    if style == 5:
        return f"FATTURA N.{n} DEL {date:%d.%m.%Y} SALDO", ()
    return "Pagamento fattura", ((document.number, date),)


def _invoices_remittance(rng: random.Random, documents: Sequence[_Document]) -> tuple[str, tuple]:
    numbers = [str(d.serial) for d in documents]
    style = rng.randrange(3)
    if style == 0:
        listed = ", ".join(numbers[:-1]) + f" e {numbers[-1]}"
        return f"Saldo fatture n. {listed}", ()
    if style == 1:
        return " - ".join(f"FT {d.date.year}/{d.serial}" for d in documents), ()
    return "Saldo fatture", tuple((d.number, d.date) for d in documents)


def _partial_remittance(rng: random.Random, document: _Document) -> str:
    n, year = document.serial, document.date.year
    return rng.choice(
        (
            f"ACCONTO FT {n}/{year}",
            f"Pagamento parziale fattura n. {n}",
            f"Acconto su fatt. {n} del {document.date:%d/%m/%Y}",
        )
    )


def _payer_style(rng: random.Random, name: str) -> str:
    """Banks print payer names as the payer's bank wrote them: often upper case."""
    return name.upper() if rng.random() < 0.5 else name


def statement_generate(
    *,
    items: Sequence[DemoItem],
    customer_names: Mapping[str, str],
    as_of: dt.date,
    account_iban: str = FALLBACK_IBAN,
    account_owner: str = "",
    seed: int = DEFAULT_SEED,
    plan: Mapping[str, int] = PLAN,
) -> DemoStatement:
    """The statement of ``as_of``: credits against ``items`` (the open items) as ``plan``
    says, and the bank's fees. ``customer_names`` (code -> name, every customer) tells which
    names are unambiguous. Pure: the same arguments give the same statement."""
    rng = random.Random(seed)
    items = sorted(
        items, key=lambda i: (i.customer_code, i.document_number, i.due_date, i.open_amount)
    )
    name_count = Counter(normalise_name(name) for name in customer_names.values())

    def unambiguous(code: str) -> bool:
        return name_count[normalise_name(customer_names.get(code, ""))] == 1

    used: set[str] = set()  # customers already paying: one credit each
    credits: list[DemoCredit] = []

    def credit(kind: str, code: str, name: str, amount: Decimal, text: str, refs=()) -> None:
        used.add(code)
        late = rng.random() < 0.15  # the bank booked some of yesterday's transfers today
        credits.append(
            DemoCredit(
                kind=kind,
                amount=amount,
                payer_name=name,
                payer_iban=payer_iban(code, seed),
                remittance=text,
                references=tuple(refs),
                value_date=as_of - dt.timedelta(days=1) if late else as_of,
            )
        )

    documents = _quotable(items, as_of)
    by_customer: dict[str, list[_Document]] = defaultdict(list)
    for document in documents:
        by_customer[document.customer_code].append(document)

    # Several invoices of one customer, all quoted.
    several = [code for code, docs in sorted(by_customer.items()) if len(docs) >= 2]
    for code in rng.sample(several, min(plan.get("invoices", 0), len(several))):
        chosen = sorted(
            rng.sample(by_customer[code], min(len(by_customer[code]), rng.choice((2, 2, 3)))),
            key=lambda d: d.serial,
        )
        text, refs = _invoices_remittance(rng, chosen)
        name = _payer_style(rng, chosen[0].customer_name)
        credit("invoices", code, name, sum((d.amount for d in chosen), ZERO), text, refs)

    # One invoice each: paid in full, or in part.
    singles = [d for d in documents if d.customer_code not in used]
    rng.shuffle(singles)
    for kind in ("invoice", "partial"):
        wanted = plan.get(kind, 0)
        for document in list(singles):
            if wanted == 0:
                break
            if document.customer_code in used:
                continue
            amount = document.amount
            if kind == "partial":
                if len(document.items) != 1 or amount < 200:
                    continue
                # A round sum on account: 30-60% of the invoice, down to ten euros.
                share = amount * Decimal(rng.randint(30, 60)) / 100
                amount = (share / 10).quantize(Decimal("1"), ROUND_DOWN) * 10
                text, refs = _partial_remittance(rng, document), ()
            else:
                text, refs = _invoice_remittance(rng, document)
            singles.remove(document)
            payer = _payer_style(rng, document.customer_name)
            credit(kind, document.customer_code, payer, amount, text, refs)
            wanted -= 1

    # No reference: a payer named as one customer, the amount of one of its items (payer), or
    # of two (ambiguous).
    by_code: dict[str, list[DemoItem]] = defaultdict(list)
    for item in items:
        by_code[item.customer_code].append(item)
    payers = [
        code
        for code, owned in sorted(by_code.items())
        if code not in used and unambiguous(code) and all(i.open_amount > 0 for i in owned)
    ]
    rng.shuffle(payers)
    for kind in ("ambiguous", "payer"):
        wanted = plan.get(kind, 0)
        for code in payers:
            if wanted == 0:
                break
            if code in used:
                continue
            # What was invoiced a while ago: nobody pays yesterday's invoice unasked.
            amounts = Counter(
                i.open_amount
                for i in by_code[code]
                if i.document_date <= as_of - dt.timedelta(days=15)
            )
            if kind == "ambiguous":
                fitting = sorted(a for a, n in amounts.items() if n >= 2)
            else:
                fitting = sorted(a for a, n in amounts.items() if n == 1)
            if not fitting:
                continue
            name = _payer_style(rng, by_code[code][0].customer_name)
            credit(kind, code, name, rng.choice(fitting), rng.choice(NO_REFERENCE))
            wanted -= 1

    # Not customers at all, for amounts no item has.
    open_amounts = {i.open_amount for i in items}
    known = set(name_count)
    strangers = [p for p in UNKNOWN_PAYERS if normalise_name(p[0]) not in known]
    for name, text in rng.sample(strangers, min(plan.get("unknown", 0), len(strangers))):
        amount = Decimal(rng.randint(5000, 90000)) / 100
        while amount in open_amounts:
            amount += CENT
        credits.append(
            DemoCredit(
                "unknown",
                amount.quantize(CENT),
                name,
                payer_iban(name, seed),
                text,
                value_date=as_of,
            )
        )

    rng.shuffle(credits)
    debits = (
        DemoDebit((Decimal("0.35") * len(credits)).quantize(CENT), *DEBITS[0]),
        DemoDebit(Decimal("18.50"), *DEBITS[1]),
        DemoDebit(Decimal("34.20"), *DEBITS[2]),
    )
    opening = Decimal(rng.randint(15_000_000, 40_000_000)) / 100
    return DemoStatement(
        account_iban=account_iban,
        account_owner=account_owner,
        day=as_of,
        sequence=as_of.timetuple().tm_yday,
        opening_balance=opening.quantize(CENT),
        credits=tuple(credits),
        debits=debits,
    )


# --------------------------------------------------------------------------------------
# Writing the camt.053
# --------------------------------------------------------------------------------------

STATEMENT_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr>
      <MsgId>CBI-STMT-{day:%Y%m%d}-{sequence:04d}</MsgId>
      <CreDtTm>{created}</CreDtTm>
    </GrpHdr>
    <Stmt>
      <Id>{day:%Y%m%d}-{iban}</Id>
      <ElctrncSeqNb>{sequence}</ElctrncSeqNb>
      <CreDtTm>{created}</CreDtTm>
      <Acct>
        <Id><IBAN>{iban}</IBAN></Id>
        <Ccy>EUR</Ccy>{owner}
      </Acct>
      <Bal>
        <Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{opening}</Amt>
        <CdtDbtInd>{opening_sign}</CdtDbtInd>
        <Dt><Dt>{day:%Y-%m-%d}</Dt></Dt>
      </Bal>
      <Bal>
        <Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="EUR">{closing}</Amt>
        <CdtDbtInd>{closing_sign}</CdtDbtInd>
        <Dt><Dt>{day:%Y-%m-%d}</Dt></Dt>
      </Bal>
      <TxsSummry>
        <TtlNtries><NbOfNtries>{entries}</NbOfNtries></TtlNtries>
        <TtlCdtNtries><NbOfNtries>{credit_count}</NbOfNtries><Sum>{credit_sum}</Sum></TtlCdtNtries>
        <TtlDbtNtries><NbOfNtries>{debit_count}</NbOfNtries><Sum>{debit_sum}</Sum></TtlDbtNtries>
      </TxsSummry>{body}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""

CREDIT_TEMPLATE = """
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{day:%Y-%m-%d}</Dt></BookgDt>
        <ValDt><Dt>{value:%Y-%m-%d}</Dt></ValDt>
        <AcctSvcrRef>{reference}</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>
        </BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>{end_to_end}</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls>
            <RltdPties>
              <Dbtr><Nm>{payer}</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>{payer_iban}</IBAN></Id></DbtrAcct>
            </RltdPties>
            <RmtInf>{remittance}
            </RmtInf>
          </TxDtls>
        </NtryDtls>
        <AddtlNtryInf>BONIFICO SEPA A VOSTRO FAVORE</AddtlNtryInf>
      </Ntry>"""

DEBIT_TEMPLATE = """
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{day:%Y-%m-%d}</Dt></BookgDt>
        <ValDt><Dt>{day:%Y-%m-%d}</Dt></ValDt>
        <AcctSvcrRef>{reference}</AcctSvcrRef>
        <BkTxCd>
          <Domn><Cd>ACMT</Cd><Fmly><Cd>MDOP</Cd><SubFmlyCd>{family}</SubFmlyCd></Fmly></Domn>
        </BkTxCd>
        <AddtlNtryInf>{description}</AddtlNtryInf>
      </Ntry>"""


def _signed(amount: Decimal) -> tuple[str, str]:
    return f"{abs(amount):.2f}", "CRDT" if amount >= 0 else "DBIT"


def _remittance(credit: DemoCredit) -> str:
    parts = []
    if credit.remittance:
        parts.append(f"\n              <Ustrd>{escape(credit.remittance[:140])}</Ustrd>")
    if credit.references:
        documents = "".join(
            "\n                <RfrdDocInf>"
            "<Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp>"
            f"<Nb>{escape(number)}</Nb><RltdDt>{date:%Y-%m-%d}</RltdDt></RfrdDocInf>"
            for number, date in credit.references
        )
        parts.append(f"\n              <Strd>{documents}\n              </Strd>")
    return "".join(parts)


def camt053_xml(statement: DemoStatement) -> bytes:
    """The statement as a camt.053.001.02 file, as Italian banks deliver it through CBI."""
    day = statement.day
    body = []
    for number, credit in enumerate(statement.credits, 1):
        body.append(
            CREDIT_TEMPLATE.format(
                amount=f"{credit.amount:.2f}",
                day=day,
                value=credit.value_date or day,
                reference=f"{day:%Y%m%d}{number:05d}",
                end_to_end=f"E2E-{day:%y%m%d}-{number:05d}",
                payer=escape(credit.payer_name[:70]),
                payer_iban=credit.payer_iban,
                remittance=_remittance(credit),
            )
        )
    for number, debit in enumerate(statement.debits, len(statement.credits) + 1):
        body.append(
            DEBIT_TEMPLATE.format(
                amount=f"{debit.amount:.2f}",
                day=day,
                reference=f"{day:%Y%m%d}{number:05d}",
                family=debit.family,
                description=escape(debit.description),
            )
        )
    opening, opening_sign = _signed(statement.opening_balance)
    closing, closing_sign = _signed(statement.closing_balance)
    owner = (
        f"\n        <Ownr><Nm>{escape(statement.account_owner[:70])}</Nm></Ownr>"
        if statement.account_owner
        else ""
    )
    xml = STATEMENT_TEMPLATE.format(
        day=day,
        sequence=statement.sequence,
        created=f"{day + dt.timedelta(days=1):%Y-%m-%d}T06:15:00",
        iban=statement.account_iban,
        owner=owner,
        opening=opening,
        opening_sign=opening_sign,
        closing=closing,
        closing_sign=closing_sign,
        entries=len(statement.credits) + len(statement.debits),
        credit_count=len(statement.credits),
        credit_sum=f"{sum((c.amount for c in statement.credits), ZERO):.2f}",
        debit_count=len(statement.debits),
        debit_sum=f"{sum((d.amount for d in statement.debits), ZERO):.2f}",
        body="".join(body),
    )
    return xml.encode("utf-8")


# --------------------------------------------------------------------------------------
# Importing it into the demo company
# --------------------------------------------------------------------------------------


def _open_items(company: Company) -> list[DemoItem]:
    rows = (
        Receivable.objects.filter(company=company, status=ReceivableStatus.OPEN)
        .exclude(open_amount=0)
        .values_list(
            "customer__code",
            "customer__name",
            "document_number",
            "document_date",
            "due_date",
            "open_amount",
        )
    )
    return [
        DemoItem(code, name, number, document_date or due, due, amount)
        for code, name, number, document_date, due, amount in rows
    ]


def demo_payments_reset(*, company: Company) -> int:
    """Remove the company's bank entries (their allocations keep items from being deleted),
    statements and learned payers, so that the demo can be built again; returns the entries
    removed."""
    entries = BankEntry.objects.filter(company=company)
    count = entries.count()
    entries.delete()
    BankStatement.objects.filter(company=company).delete()
    PayerAccount.objects.filter(company=company).delete()
    return count


def demo_statement_import(
    *, company: Company, as_of: dt.date, seed: int = DEFAULT_SEED
) -> StatementImportResult:
    """Generate the demo's bank statement of ``as_of`` against the company's open items and
    import it (matching and booking included)."""
    names = dict(Customer.objects.filter(company=company).values_list("code", "name"))
    statement = statement_generate(
        items=_open_items(company),
        customer_names=names,
        as_of=as_of,
        account_iban=company.iban or FALLBACK_IBAN,
        account_owner=company.name,
        seed=seed,
    )
    return statement_import(
        company=company,
        name=statement.name,
        data=camt053_xml(statement),
        source="demo-data",
        today=as_of,
    )
