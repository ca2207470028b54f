"""The demo company's latest e-invoices (FatturaPA), as the exchange system (SdI) delivers them.

``demo_portfolio_build`` loads what the ERP exported; a real company also receives from the
SdI the invoices it issued in the last days, before the ERP's next export lists them. This
module invents about 25 of them, dated yesterday and today: invoices for existing customers
(their name, VAT number and address as the ledger knows them), invoices in two or three
installments, two credit notes that refer to invoices already in the ledger, and invoices for
three new customers. They are numbered in their own series (``FE/2026/0001``), so they never
clash with the ERP's ``FT2026/00123``, and packed the way they arrive: a ZIP of XML files plus
one plain XML.

The generation (``einvoices_generate``, ``einvoice_xml``, ``einvoice_files``) is pure and
deterministic (``random.Random(seed)``); ``demo_einvoices_import`` reads the demo's customers
and invoices and sends the files through the real import, schema validation included.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from incassa.core.fields import CENT
from incassa.ledger import demo
from incassa.ledger.einvoices import EInvoiceImportResult, einvoices_import
from incassa.ledger.fatturapa import due_date_from_terms
from incassa.ledger.models import Company, Customer, DocumentType, EInvoice, Receivable

__all__ = [
    "FALLBACK_IBAN",
    "DemoEInvoice",
    "Line",
    "Party",
    "RelatedInvoice",
    "demo_einvoices_import",
    "demo_einvoices_reset",
    "einvoice_files",
    "einvoice_xml",
    "einvoices_generate",
]

VAT_RATE = Decimal("22.00")
# The company's own account when it has none on file (a valid Italian IBAN).
FALLBACK_IBAN = "IT60X0542811101000000123456"
NO_RECIPIENT_CODE = "0000000"
# Days before ``as_of`` within which an invoice may receive a credit note.
CREDIT_NOTE_WINDOW = 90

# What a hardware wholesaler sells: description, unit of measure, unit price range (euros).
PRODUCTS = (
    ("Trapano avvitatore 18V con due batterie", "PZ", (89, 189)),
    ("Smerigliatrice angolare 125 mm 1200W", "PZ", (59, 139)),
    ("Viti autofilettanti 4x40 zincate (conf. 500)", "CF", (9, 19)),
    ("Tasselli in nylon 8 mm (conf. 100)", "CF", (4, 11)),
    ("Silicone sigillante trasparente 280 ml", "PZ", (3, 8)),
    ("Nastro americano grigio 50 m", "PZ", (4, 9)),
    ("Guanti da lavoro in nitrile (conf. 12 paia)", "CF", (14, 29)),
    ("Scala in alluminio 7 gradini", "PZ", (79, 159)),
    ("Cassetta porta utensili 22 pollici", "PZ", (19, 45)),
    ("Set chiavi combinate 8-22 mm", "KT", (29, 79)),
    ("Idropittura lavabile bianca 14 l", "PZ", (39, 89)),
    ("Rotolo rete elettrosaldata 1,5x25 m", "PZ", (59, 129)),
    ("Tubo multistrato 20x2 (rotolo 100 m)", "PZ", (119, 249)),
    ("Raccordi a pressare 20 mm (conf. 10)", "CF", (24, 59)),
    ("Cavo elettrico FG16OR16 3G2,5 (m)", "M", (1, 3)),
    ("Dischi da taglio inox 115 mm (conf. 25)", "CF", (19, 39)),
    ("Lucchetto in ottone 50 mm", "PZ", (7, 18)),
    ("Carriola da cantiere 100 l", "PZ", (69, 149)),
)
NEW_TRADES = ("Ferramenta", "Termoidraulica", "Edilizia", "Colorificio", "Elettroforniture")
NEW_TERMS = ("Bonifico 30 gg d.f.", "Bonifico 60 gg d.f.", "Ri.Ba. 30-60 gg d.f.f.m.",
             "Ri.Ba. 30-60-90 gg d.f.f.m.")  # fmt: skip
RETURN_REASONS = (
    "Reso merce non conforme",
    "Reso per merce danneggiata nel trasporto",
    "Sconto concordato per ritardo nella consegna",
    "Storno parziale per differenza prezzo",
)


@dataclass(frozen=True)
class Party:
    """A seller or a buyer as the invoice names it."""

    name: str
    vat_number: str  # 11 digits, without the IT
    address: str
    postal_code: str
    city: str
    province: str
    pec: str = ""
    recipient_code: str = ""
    payment_terms: str = ""
    iban: str = ""  # the seller's account, quoted in the payment details


@dataclass(frozen=True)
class Line:
    description: str
    unit: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def total(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class RelatedInvoice:
    """An invoice already in the ledger that a credit note may refer to."""

    number: str
    date: dt.date
    buyer: Party
    total: Decimal


@dataclass(frozen=True)
class DemoEInvoice:
    number: str
    date: dt.date
    document_type: str  # TD01 or TD04
    buyer: Party
    lines: tuple[Line, ...]
    installments: tuple[tuple[dt.date, Decimal], ...]
    related: RelatedInvoice | None = None
    reason: str = ""

    @property
    def taxable(self) -> Decimal:
        return sum((line.total for line in self.lines), Decimal("0.00"))

    @property
    def vat(self) -> Decimal:
        return (self.taxable * VAT_RATE / 100).quantize(CENT, ROUND_HALF_UP)

    @property
    def total(self) -> Decimal:
        return self.taxable + self.vat


# --------------------------------------------------------------------------------------
# Generating
# --------------------------------------------------------------------------------------


def _split(total: Decimal, parts: int) -> list[Decimal]:
    share = (total / parts).quantize(CENT)
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def _schedule(terms: str, date: dt.date, total: Decimal) -> tuple[tuple[dt.date, Decimal], ...]:
    """The installments the customer's terms give ("Ri.Ba. 30-60 gg d.f.f.m.": two, due at
    the end of the month after and the one after that); 30 days when the terms say nothing."""
    found = re.search(r"(\d+(?:-\d+)*)\s*gg", terms)
    periods = [int(days) for days in found.group(1).split("-")] if found else [30]
    end_of_month = "f.m" in terms.lower()
    dues = [due_date_from_terms(date, days, end_of_month) for days in periods]
    return tuple(zip(dues, _split(total, len(dues)), strict=True))


def _lines(rng: random.Random) -> tuple[Line, ...]:
    lines = []
    for description, unit, (low, high) in rng.sample(PRODUCTS, rng.randint(1, 4)):
        quantity = Decimal(rng.choice((1, 2, 3, 5, 6, 10, 12, 20, 24, 50)))
        if unit == "M":
            quantity = Decimal(rng.choice((50, 100, 200, 500)))
        price = Decimal(rng.randint(low * 100, high * 100)) / 100
        lines.append(Line(description, unit, quantity.quantize(CENT), price.quantize(CENT)))
    return tuple(lines)


def _new_customer(rng: random.Random, taken: set[str]) -> Party:
    """A buyer the ledger does not know yet, with a valid VAT number nobody else has."""
    while True:
        vat = demo.vat_number(rng.randint(1_000_000, 9_999_999), office=rng.randint(1, 100))
        if vat not in taken:
            taken.add(vat)
            break
    city, province, postal_code, _prefix = rng.choice(demo.CITIES)
    surname = rng.choice(demo.SURNAMES)
    trade = rng.choice(NEW_TRADES)
    name = rng.choice((f"{trade} {surname} S.r.l.", f"{surname} {trade} S.r.l.s."))
    slug = re.sub(r"[^a-z]", "", f"{trade}{surname}".lower())
    return Party(
        name=name,
        vat_number=vat,
        address=f"{rng.choice(demo.STREETS)} {rng.randint(1, 120)}",
        postal_code=postal_code,
        city=city,
        province=province,
        pec=f"{slug}@pec.it",
        payment_terms=rng.choice(NEW_TERMS),
    )


def einvoices_generate(
    *,
    customers: Sequence[Party],
    invoices: Sequence[RelatedInvoice],
    as_of: dt.date,
    seed: int = demo.DEFAULT_SEED,
    count: int = 25,
    credit_notes: int = 2,
    new_customers: int = 3,
) -> list[DemoEInvoice]:
    """About ``count`` documents dated the day before ``as_of`` and ``as_of``: invoices for
    ``customers`` and for ``new_customers`` invented ones, and ``credit_notes`` credit notes
    on ``invoices``. Pure: the same arguments give the same documents."""
    rng = random.Random(seed)
    known = sorted(customers, key=lambda p: p.vat_number)
    taken = {p.vat_number for p in known}
    fresh = [_new_customer(rng, taken) for _ in range(new_customers)]
    related = sorted(invoices, key=lambda i: (i.date, i.number))
    related = rng.sample(related, min(credit_notes, len(related)))
    buyers = rng.sample(known, min(count - len(related) - len(fresh), len(known))) + fresh
    days = (as_of - dt.timedelta(days=1), as_of)

    drafts: list[tuple[dt.date, str, DemoEInvoice]] = []
    for buyer in buyers:
        date = rng.choice(days)
        lines = _lines(rng)
        total = DemoEInvoice("", date, "TD01", buyer, lines, ()).total
        drafts.append(
            (
                date,
                buyer.name,
                DemoEInvoice(
                    number="",
                    date=date,
                    document_type="TD01",
                    buyer=buyer,
                    lines=lines,
                    installments=_schedule(buyer.payment_terms, date, total),
                ),
            )
        )
    for invoice in related:
        date = rng.choice(days)
        # A return or a discount worth 5-30% of the invoice, VAT included.
        gross = (invoice.total * Decimal(rng.randint(5, 30)) / 100).quantize(CENT)
        taxable = (gross * 100 / (100 + VAT_RATE)).quantize(CENT, ROUND_HALF_UP)
        reason = rng.choice(RETURN_REASONS)
        line = Line(f"{reason} (fattura {invoice.number})", "", Decimal("1.00"), taxable)
        note = DemoEInvoice("", date, "TD04", invoice.buyer, (line,), (), invoice, reason)
        drafts.append((date, invoice.buyer.name, _with_installments(note, ((date, note.total),))))

    # Numbered in date order, one series for invoices and credit notes, as registers are.
    drafts.sort(key=lambda d: (d[0], d[1]))
    result = []
    for position, (date, _name, draft) in enumerate(drafts, 1):
        result.append(_numbered(draft, f"FE/{date.year}/{position:04d}"))
    return result


def _with_installments(
    invoice: DemoEInvoice, installments: tuple[tuple[dt.date, Decimal], ...]
) -> DemoEInvoice:
    return DemoEInvoice(
        invoice.number, invoice.date, invoice.document_type, invoice.buyer, invoice.lines,
        installments, invoice.related, invoice.reason,
    )  # fmt: skip


def _numbered(invoice: DemoEInvoice, number: str) -> DemoEInvoice:
    return DemoEInvoice(
        number, invoice.date, invoice.document_type, invoice.buyer, invoice.lines,
        invoice.installments, invoice.related, invoice.reason,
    )  # fmt: skip


# --------------------------------------------------------------------------------------
# Writing the XML
# --------------------------------------------------------------------------------------

INVOICE_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2" \
versione="FPR12">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{seller_vat}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>{progressive}</ProgressivoInvio>
      <FormatoTrasmissione>FPR12</FormatoTrasmissione>
      <CodiceDestinatario>{recipient_code}</CodiceDestinatario>{recipient_pec}
    </DatiTrasmissione>
    <CedentePrestatore>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{seller_vat}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>{seller_name}</Denominazione></Anagrafica>
        <RegimeFiscale>RF01</RegimeFiscale>
      </DatiAnagrafici>
      <Sede>{seller_address}</Sede>
    </CedentePrestatore>
    <CessionarioCommittente>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{buyer_vat}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>{buyer_name}</Denominazione></Anagrafica>
      </DatiAnagrafici>
      <Sede>{buyer_address}</Sede>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>{document_type}</TipoDocumento>
        <Divisa>EUR</Divisa>
        <Data>{date}</Data>
        <Numero>{number}</Numero>
        <ImportoTotaleDocumento>{total}</ImportoTotaleDocumento>{causale}
      </DatiGeneraliDocumento>{related}
    </DatiGenerali>
    <DatiBeniServizi>{lines}
      <DatiRiepilogo>
        <AliquotaIVA>{rate}</AliquotaIVA>
        <ImponibileImporto>{taxable}</ImponibileImporto>
        <Imposta>{vat}</Imposta>
        <EsigibilitaIVA>I</EsigibilitaIVA>
      </DatiRiepilogo>
    </DatiBeniServizi>
    <DatiPagamento>
      <CondizioniPagamento>{terms}</CondizioniPagamento>{payments}
    </DatiPagamento>
  </FatturaElettronicaBody>
</p:FatturaElettronica>
"""

LINE_TEMPLATE = """
      <DettaglioLinee>
        <NumeroLinea>{position}</NumeroLinea>
        <Descrizione>{description}</Descrizione>
        <Quantita>{quantity}</Quantita>{unit}
        <PrezzoUnitario>{unit_price}</PrezzoUnitario>
        <PrezzoTotale>{total}</PrezzoTotale>
        <AliquotaIVA>{rate}</AliquotaIVA>
      </DettaglioLinee>"""

PAYMENT_TEMPLATE = """
      <DettaglioPagamento>
        <ModalitaPagamento>MP05</ModalitaPagamento>
        <DataScadenzaPagamento>{due}</DataScadenzaPagamento>
        <ImportoPagamento>{amount}</ImportoPagamento>
        <IBAN>{iban}</IBAN>
      </DettaglioPagamento>"""


def _text(value: str, limit: int) -> str:
    """Escaped for XML and cut to the schema's length (counted before escaping)."""
    return escape(value.strip()[:limit])


def _address(party: Party) -> str:
    return (
        f"<Indirizzo>{_text(party.address, 60)}</Indirizzo><CAP>{party.postal_code}</CAP>"
        f"<Comune>{_text(party.city, 60)}</Comune>"
        + (f"<Provincia>{party.province}</Provincia>" if party.province else "")
        + "<Nazione>IT</Nazione>"
    )


def einvoice_xml(invoice: DemoEInvoice, *, seller: Party, progressive: str) -> bytes:
    """The invoice as an FPR12 XML file that follows the official schema 1.2.3."""
    buyer = invoice.buyer
    recipient_code = buyer.recipient_code or NO_RECIPIENT_CODE
    pec = buyer.pec if recipient_code == NO_RECIPIENT_CODE else ""
    related = ""
    causale = ""
    if invoice.related is not None:
        related = (
            "\n      <DatiFattureCollegate>"
            f"<IdDocumento>{_text(invoice.related.number, 20)}</IdDocumento>"
            f"<Data>{invoice.related.date.isoformat()}</Data></DatiFattureCollegate>"
        )
        causale = (
            f"\n        <Causale>{_text(invoice.reason, 120)} - fattura "
            f"{_text(invoice.related.number, 20)} del {invoice.related.date:%d/%m/%Y}</Causale>"
        )
    lines = "".join(
        LINE_TEMPLATE.format(
            position=position,
            description=_text(line.description, 1000),
            quantity=f"{line.quantity:.2f}",
            unit=f"\n        <UnitaMisura>{line.unit}</UnitaMisura>" if line.unit else "",
            unit_price=f"{line.unit_price:.2f}",
            total=f"{line.total:.2f}",
            rate=f"{VAT_RATE:.2f}",
        )
        for position, line in enumerate(invoice.lines, 1)
    )
    payments = "".join(
        PAYMENT_TEMPLATE.format(due=due.isoformat(), amount=f"{amount:.2f}", iban=seller.iban)
        for due, amount in invoice.installments
    )
    xml = INVOICE_TEMPLATE.format(
        seller_vat=seller.vat_number,
        progressive=progressive,
        recipient_code=recipient_code,
        recipient_pec=f"\n      <PECDestinatario>{_text(pec, 256)}</PECDestinatario>"
        if pec
        else "",
        seller_name=_text(seller.name, 80),
        seller_address=_address(seller),
        buyer_vat=buyer.vat_number,
        buyer_name=_text(buyer.name, 80),
        buyer_address=_address(buyer),
        document_type=invoice.document_type,
        date=invoice.date.isoformat(),
        number=_text(invoice.number, 20),
        total=f"{invoice.total:.2f}",
        causale=causale,
        related=related,
        lines=lines,
        rate=f"{VAT_RATE:.2f}",
        taxable=f"{invoice.taxable:.2f}",
        vat=f"{invoice.vat:.2f}",
        terms="TP01" if len(invoice.installments) > 1 else "TP02",
        payments=payments,
    )
    return xml.encode("utf-8")


def einvoice_files(
    invoices: Sequence[DemoEInvoice], *, seller: Party, as_of: dt.date, first_progressive: int = 1
) -> list[tuple[str, bytes]]:
    """The files as the SdI delivers them: one ZIP of all but the last invoice, and the last
    as a plain XML. Each file is named ``IT<VAT>_<progressive>.xml``; the ZIP's entries carry
    a fixed timestamp, so the same invoices always give the same bytes."""
    named = []
    for offset, invoice in enumerate(invoices):
        progressive = f"{first_progressive + offset:05d}"
        named.append(
            (
                f"IT{seller.vat_number}_{progressive}.xml",
                einvoice_xml(invoice, seller=seller, progressive=progressive),
            )
        )
    if len(named) < 2:
        return named
    buffer = io.BytesIO()
    stamp = (as_of.year, as_of.month, as_of.day, 7, 30, 0)
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in named[:-1]:
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data, zipfile.ZIP_DEFLATED)
    return [(f"IT{seller.vat_number}_SDI_{as_of:%Y%m%d}.zip", buffer.getvalue()), named[-1]]


# --------------------------------------------------------------------------------------
# Importing them into the demo company
# --------------------------------------------------------------------------------------


def _fits_the_schema(customer: Customer) -> bool:
    """Customers an FPR12 invoice can name as they are stored: an Italian VAT number and a
    5-digit postal code (the public administration gets FPA12 invoices, not invented here)."""
    return (
        bool(re.fullmatch(r"\d{11}", customer.vat_number or ""))
        and bool(re.fullmatch(r"\d{5}", customer.postal_code or ""))
        and bool(customer.address and customer.city and customer.name)
        and re.fullmatch(r"[A-Z]{2}", customer.province or "") is not None
        and not (customer.category_id and customer.category.code == "PA")
    )


def _party(customer: Customer) -> Party:
    return Party(
        name=customer.name,
        vat_number=customer.vat_number,
        address=customer.address,
        postal_code=customer.postal_code,
        city=customer.city,
        province=customer.province,
        pec=customer.pec,
        recipient_code=customer.recipient_code,
        payment_terms=customer.payment_terms,
    )


def _seller(company: Company) -> Party:
    return Party(
        name=company.name,
        vat_number=company.vat_number,
        address=company.address,
        postal_code=company.postal_code,
        city=company.city,
        province=company.province,
        iban=company.iban or FALLBACK_IBAN,
    )


def _recent_invoices(
    company: Company, parties: dict[int, Party], as_of: dt.date
) -> Iterable[RelatedInvoice]:
    """The ledger's invoices of the last weeks, with their totals over every installment."""
    totals: dict[tuple[int, str, dt.date], Decimal] = {}
    rows = Receivable.objects.filter(
        company=company,
        document_type=DocumentType.INVOICE,
        customer_id__in=parties,
        document_date__gte=as_of - dt.timedelta(days=CREDIT_NOTE_WINDOW),
        document_date__lt=as_of,
    ).values_list("customer_id", "document_number", "document_date", "amount")
    for customer_id, number, date, amount in rows:
        key = (customer_id, number, date)
        totals[key] = totals.get(key, Decimal("0.00")) + amount
    for (customer_id, number, date), total in totals.items():
        if total > 0 and len(number) <= 20:
            yield RelatedInvoice(number=number, date=date, buyer=parties[customer_id], total=total)


def demo_einvoices_reset(*, company: Company) -> int:
    """Remove the company's e-invoices, which keep their customers from being deleted, so
    that the demo can be built again; returns how many there were."""
    deleted, _per_model = EInvoice.objects.filter(company=company).delete()
    return deleted


def demo_einvoices_import(
    *, company: Company, as_of: dt.date, seed: int = demo.DEFAULT_SEED, count: int = 25
) -> EInvoiceImportResult:
    """Generate the demo's e-invoices for ``company`` and import them (one import run)."""
    customers = [
        c
        for c in Customer.objects.filter(company=company).select_related("category")
        if _fits_the_schema(c)
    ]
    parties = {c.pk: _party(c) for c in customers}
    invoices = einvoices_generate(
        customers=list(parties.values()),
        invoices=list(_recent_invoices(company, parties, as_of)),
        as_of=as_of,
        seed=seed,
        count=count,
    )
    files = einvoice_files(
        invoices,
        seller=_seller(company),
        as_of=as_of,
        first_progressive=random.Random(seed).randint(100, 900),
    )
    return einvoices_import(company=company, files=files, source="demo-data", today=as_of)
