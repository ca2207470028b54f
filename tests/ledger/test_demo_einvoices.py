"""The demo's e-invoices: schema-valid FatturaPA files, packed as the SdI delivers them, that
the real import turns into open items and new customers, the same on every build."""

from __future__ import annotations

import datetime as dt
import functools
import io
import zipfile
from decimal import Decimal

import pytest
from stdnum.it import iva

from incassa.ledger import demo
from incassa.ledger.demo_einvoices import (
    DemoEInvoice,
    Line,
    Party,
    RelatedInvoice,
    demo_einvoices_import,
    einvoice_files,
    einvoices_generate,
)
from incassa.ledger.fatturapa import read_einvoices
from incassa.ledger.models import (
    Customer,
    DocumentType,
    EInvoice,
    EInvoiceInstallment,
    ImportStatus,
    Receivable,
)

AS_OF = dt.date(2026, 3, 31)
YESTERDAY = dt.date(2026, 3, 30)
IBAN = "IT60X0542811101000000123456"
TERMS = ("Bonifico 30 gg d.f.", "Ri.Ba. 30-60 gg d.f.f.m.", "Ri.Ba. 30-60-90 gg d.f.f.m.")
SELLER = Party(
    name="Ferramenta Rossi S.p.A.",
    vat_number=demo.vat_number(2_345_678, office=37),
    address="Via dell'Industria 24",
    postal_code="40138",
    city="Bologna",
    province="BO",
    iban=IBAN,
)


def customers(count: int = 25) -> list[Party]:
    """Known buyers: one with '&' in its name, one with a recipient code, half with a PEC,
    the three payment terms in turn."""
    return [
        Party(
            name=f"{demo.SURNAMES[i]} & Figli S.r.l." if i == 0 else f"{demo.SURNAMES[i]} S.r.l.",
            vat_number=demo.vat_number(1_000_000 + i, office=1 + i % 100),
            address=f"Via Roma {i + 1}",
            postal_code="40121",
            city="Bologna",
            province="BO",
            pec=f"cliente{i}@pec.it" if i % 2 else "",
            recipient_code="M5UXCR1" if i == 1 else "",
            payment_terms=TERMS[i % 3],
        )
        for i in range(count)
    ]


def related(buyers: list[Party]) -> list[RelatedInvoice]:
    return [
        RelatedInvoice("FT2026/00123", dt.date(2026, 3, 2), buyers[3], Decimal("1000.00")),
        RelatedInvoice("FT2026/00150", dt.date(2026, 3, 9), buyers[4], Decimal("2440.00")),
        RelatedInvoice("FT2026/00160", dt.date(2026, 3, 12), buyers[5], Decimal("610.00")),
    ]


def generate(seed: int = 1) -> list[DemoEInvoice]:
    buyers = customers()
    return einvoices_generate(customers=buyers, invoices=related(buyers), as_of=AS_OF, seed=seed)


def test_an_invoice_adds_up():
    invoice = DemoEInvoice(
        number="FE/2026/0001",
        date=AS_OF,
        document_type="TD01",
        buyer=customers(1)[0],
        lines=(
            Line("Viti", "CF", Decimal("2.00"), Decimal("10.00")),
            Line("Silicone", "PZ", Decimal("3.00"), Decimal("1.85")),
        ),
        installments=(),
    )
    # 2 x 10.00 + 3 x 1.85 = 25.55 taxable; VAT 22% = 5.621, rounded to 5.62; total 31.17.
    assert invoice.taxable == Decimal("25.55")
    assert invoice.vat == Decimal("5.62")
    assert invoice.total == Decimal("31.17")


def test_generated_documents():
    invoices = generate()
    known = {p.vat_number for p in customers()}
    # 20 invoices for known customers, 3 for new ones and 2 credit notes: 25 documents.
    assert len(invoices) == 25
    assert [i.number for i in invoices] == [f"FE/2026/{n:04d}" for n in range(1, 26)]
    assert [i.date for i in invoices] == sorted(i.date for i in invoices)
    assert {i.date for i in invoices} == {YESTERDAY, AS_OF}
    notes = [i for i in invoices if i.document_type == "TD04"]
    assert len(notes) == 2
    for note in notes:
        assert note.related in related(customers())
        assert note.buyer == note.related.buyer
        # A return or a discount worth 5% to 30% of the invoice, VAT included; splitting it
        # into taxable amount and VAT may move the total by a cent.
        assert note.related.total * Decimal("0.05") - Decimal("0.01") <= note.total
        assert note.total <= note.related.total * Decimal("0.30") + Decimal("0.01")
        assert note.installments == ((note.date, note.total),)
    new = {i.buyer.vat_number for i in invoices} - known
    assert len(new) == 3
    assert all(iva.is_valid(vat) for vat in new)
    for invoice in invoices:
        assert sum(amount for _due, amount in invoice.installments) == invoice.total
    # The terms decide the installments: "Ri.Ba. 30-60-90 gg d.f.f.m." from 30 or 31 March
    # is due at the end of April, May and June; "Bonifico 30 gg d.f." 30 days after the date.
    for invoice in invoices:
        if invoice.document_type == "TD04" or invoice.buyer.vat_number in new:
            continue
        dues = [due for due, _amount in invoice.installments]
        if invoice.buyer.payment_terms == TERMS[2]:
            assert dues == [dt.date(2026, 4, 30), dt.date(2026, 5, 31), dt.date(2026, 6, 30)]
        elif invoice.buyer.payment_terms == TERMS[1]:
            assert dues == [dt.date(2026, 4, 30), dt.date(2026, 5, 31)]
        else:
            assert dues == [invoice.date + dt.timedelta(days=30)]
    assert sum(1 for i in invoices if len(i.installments) > 1) >= 5


def test_files_follow_the_schema_and_read_back():
    invoices = generate()
    files = einvoice_files(invoices, seller=SELLER, as_of=AS_OF, first_progressive=101)
    # A ZIP of 24 files and the 25th as a plain XML, named after the seller and progressive.
    assert [name for name, _data in files] == [
        f"IT{SELLER.vat_number}_SDI_20260331.zip",
        f"IT{SELLER.vat_number}_00125.xml",
    ]
    archive = zipfile.ZipFile(io.BytesIO(files[0][1]))
    assert len(archive.namelist()) == 24
    read = [r for name, data in files for r in read_einvoices(name, data)]
    assert [r.error for r in read] == [""] * 25
    documents = [d for r in read for d in r.invoices]
    assert [d.number for d in documents] == [i.number for i in invoices]
    for document, invoice in zip(documents, invoices, strict=True):
        assert document.seller.vat_number == SELLER.vat_number
        assert document.buyer.vat_number == invoice.buyer.vat_number
        assert document.buyer.name == invoice.buyer.name  # '&' escaped and read back
        assert document.buyer.address == invoice.buyer.address
        sign = -1 if invoice.document_type == "TD04" else 1
        assert document.total == sign * invoice.total
        assert [(i.due_date, i.amount, i.method, i.iban) for i in document.installments] == [
            (due, sign * amount, "MP05", IBAN) for due, amount in invoice.installments
        ]
        if invoice.buyer.recipient_code:
            assert (document.recipient_code, document.recipient_pec) == ("M5UXCR1", "")
        else:
            assert (document.recipient_code, document.recipient_pec) == (
                "0000000",
                invoice.buyer.pec,
            )
    # A credit note names the invoice it corrects.
    note = next(i for i in invoices if i.document_type == "TD04")
    contents = {name: archive.read(name) for name in archive.namelist()}
    contents[files[1][0]] = files[1][1]
    position = invoices.index(note)
    content = contents[f"IT{SELLER.vat_number}_{101 + position:05d}.xml"].decode()
    assert f"<IdDocumento>{note.related.number}</IdDocumento>" in content


def test_generation_is_deterministic():
    first = einvoice_files(generate(seed=4), seller=SELLER, as_of=AS_OF)
    assert einvoice_files(generate(seed=4), seller=SELLER, as_of=AS_OF) == first
    assert einvoice_files(generate(seed=5), seller=SELLER, as_of=AS_OF) != first


@pytest.fixture
def small_demo(db, monkeypatch):
    """The demo portfolio with 60 customers instead of 400: the same imports, in a second."""
    monkeypatch.setattr(
        demo, "portfolio_generate", functools.partial(demo.portfolio_generate, customers=60)
    )
    return demo.demo_portfolio_build(as_of=AS_OF, company_code="demo-small", seed=5).company


def test_import_into_the_demo(small_demo):
    company = small_demo
    names = dict(Customer.objects.filter(company=company).values_list("vat_number", "name"))
    result = demo_einvoices_import(company=company, as_of=AS_OF, seed=5)
    run = result.import_run
    assert run.status == ImportStatus.APPLIED
    assert run.source == "demo-data"
    assert [o.status for o in result.outcomes] == ["imported"] * 25
    assert run.customers_created == 3
    einvoices = EInvoice.objects.filter(company=company)
    assert einvoices.count() == 25
    assert einvoices.filter(document_type="TD04").count() == 2
    # Every installment became an item of its own (the installments of one invoice fall due
    # on different days), linked to its e-invoice.
    installments = EInvoiceInstallment.objects.filter(einvoice__company=company)
    assert run.created == installments.count() > 25
    assert installments.filter(einvoice__document_type="TD01", receivable__amount__gt=0).count()
    # Credit notes are negative items of the customer of the invoice they correct.
    for note in einvoices.filter(document_type="TD04"):
        item = note.installments.get().receivable
        assert item.amount < 0 and item.document_type == DocumentType.CREDIT_NOTE
        assert item.customer_id == note.customer_id
    # Known customers keep the name the ERP gave them; new ones get one from the invoice.
    for einvoice in einvoices.select_related("customer"):
        customer = einvoice.customer
        if customer.vat_number in names:
            assert customer.name == names[customer.vat_number]
        else:
            assert customer.code == f"IT{customer.vat_number}"
    # The series is the e-invoices' own: no item of the ERP shares a number with them.
    numbers = set(einvoices.values_list("number", flat=True))
    erp = Receivable.objects.filter(company=company, einvoice_installments__isnull=True)
    assert not erp.filter(document_number__in=numbers).exists()
