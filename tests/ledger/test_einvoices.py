"""Importing the company's e-invoices (FatturaPA) into the ledger, end to end on the database.

The samples under ``data/fatturapa/`` were all issued by Officine Meccaniche Brambilla S.p.A.
(VAT IT01234567890), so the company of these tests has that VAT number:

- FPR01: invoice FT 2025/0142 of 14/03/2025 to Rossi Costruzioni S.r.l. (VAT IT09876543210,
  SdI code M5UXCR1), 3660.00 in three installments of 1220.00 due 30/04, 31/05 and 30/06/2025
  by bank transfer (MP05) to IT60X0542811101000000123456;
- FPR02: credit note NC 2025/0007 of 28/03/2025 to the same buyer, 305.00 due 28/03/2025, by
  PEC (CodiceDestinatario 0000000);
- FPR03: invoice FT 2025/0150 of 20/03/2025 to a private person, Laura Bianchi (fiscal code
  BNCLRA80A41F205Z), 177.00 with no payment data at all;
- FPR04: two documents of 02/04/2025 to Müller Maschinenbau GmbH (VAT DE123456789): invoice
  FT 2025/0160, 500.00 by RIBA due 31/05/2025, and debit note ND 2025/0003, 40.00 by bank
  transfer with no due date;
- FPA01: invoice PA/2025/18 of 10/03/2025 to the Comune di Lecco (fiscal code 80012345678
  only), 1220.00 of which 1000.00 is due (split payment), 30 days from 10/03/2025.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from incassa.ledger import services
from incassa.ledger.einvoices import einvoices_import, read_paths
from incassa.ledger.models import (
    Customer,
    DocumentType,
    EInvoice,
    EInvoiceInstallment,
    EventKind,
    ImportKind,
    ImportRun,
    ImportStatus,
    Receivable,
    ReceivableEvent,
    ReceivableStatus,
)
from incassa.ledger.services import ImportRejected
from tests.factories import CompanyFactory, CustomerFactory, ReceivableFactory
from tests.ledger.test_fatturapa import envelope, zip_of

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "fatturapa"
IBAN = "IT60X0542811101000000123456"
TODAY = dt.date(2025, 4, 3)
FPR01 = "IT01234567890_FPR01.xml"
FPR02 = "IT01234567890_FPR02.xml"
FPR03 = "IT01234567890_FPR03.xml"
FPR04 = "IT01234567890_FPR04.xml"
FPA01 = "IT01234567890_FPA01.xml"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def company(db):
    return CompanyFactory(
        code="brambilla", name="Officine Meccaniche Brambilla S.p.A.", vat_number="01234567890"
    )


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def edited(name: str, *replacements: tuple[str, str]) -> bytes:
    """A UTF-8 sample with each ``(old, new)`` replaced once (the text must be there)."""
    text = sample(name).decode()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode()


def retyped(name: str, old: str, new: str) -> bytes:
    """A sample whose first document of type ``old`` is of type ``new``."""
    return edited(
        name, (f"<TipoDocumento>{old}</TipoDocumento>", f"<TipoDocumento>{new}</TipoDocumento>")
    )


def run_import(company, *names_or_files, **options):
    """Import sample names, or ``(name, bytes)`` pairs, on ``TODAY`` unless told otherwise."""
    files = [(item, sample(item)) if isinstance(item, str) else item for item in names_or_files]
    options.setdefault("today", TODAY)
    return einvoices_import(company=company, files=files, **options)


def items(number: str) -> list[tuple[dt.date, Decimal]]:
    return [
        (r.due_date, r.open_amount)
        for r in Receivable.objects.filter(document_number=number).order_by("due_date")
    ]


def counts() -> dict[str, int]:
    return {
        "customers": Customer.objects.count(),
        "items": Receivable.objects.count(),
        "events": ReceivableEvent.objects.count(),
        "einvoices": EInvoice.objects.count(),
        "installments": EInvoiceInstallment.objects.count(),
    }


NOTHING = {"customers": 0, "items": 0, "events": 0, "einvoices": 0, "installments": 0}


# --- customers from the buyer ----------------------------------------------------------------


def test_new_company_buyer_becomes_a_customer_coded_by_its_vat_id(company):
    result = run_import(company, FPR01)
    customer = Customer.objects.get()
    assert customer.company == company
    # The code is the VAT id as registers write it: country and number together.
    assert customer.code == "IT09876543210"
    assert customer.name == "Rossi Costruzioni S.r.l."
    # Street and number joined as "street, number".
    assert customer.address == "Corso Vittorio Emanuele II, 45/B"
    assert (customer.postal_code, customer.city, customer.province, customer.country) == (
        "10121",
        "Torino",
        "TO",
        "IT",
    )
    # An Italian VAT number is stored without its IT, as the ERP snapshots write it.
    assert (customer.vat_number, customer.fiscal_code) == ("09876543210", "09876543210")
    assert (customer.recipient_code, customer.pec) == ("M5UXCR1", "")
    assert customer.language == "it"
    assert result.import_run.customers_created == 1
    (outcome,) = result.outcomes
    assert (outcome.status, outcome.customer_code, outcome.customer_name) == (
        "imported",
        "IT09876543210",
        "Rossi Costruzioni S.r.l.",
    )


def test_buyer_delivered_by_pec_keeps_the_pec_and_no_recipient_code(company):
    # FPR02 is windows-1252 encoded and names the PEC address with CodiceDestinatario 0000000,
    # which is no recipient code at all.
    run_import(company, FPR02)
    customer = Customer.objects.get()
    assert customer.code == "IT09876543210"
    assert customer.pec == "amministrazione@pec.rossicostruzioni.it"
    assert customer.recipient_code == ""
    # No CodiceFiscale in this file: only the VAT number is known.
    assert (customer.vat_number, customer.fiscal_code) == ("09876543210", "")


def test_private_person_is_coded_by_fiscal_code(company):
    run_import(company, FPR03)
    customer = Customer.objects.get()
    assert customer.code == "BNCLRA80A41F205Z"
    # No Denominazione: first and last name.
    assert customer.name == "Laura Bianchi"
    assert (customer.vat_number, customer.fiscal_code) == ("", "BNCLRA80A41F205Z")
    assert (customer.address, customer.city, customer.province) == (
        "Via Garibaldi 8",
        "Milano",
        "MI",
    )
    assert (customer.recipient_code, customer.language) == ("", "it")


def test_foreign_buyer_keeps_its_country_in_the_vat_number_and_speaks_english(company):
    run_import(company, FPR04)
    # Two documents in one file, one buyer: one customer.
    customer = Customer.objects.get()
    assert customer.code == "DE123456789"
    assert customer.vat_number == "DE123456789"
    assert customer.name == "Müller Maschinenbau GmbH"
    assert (customer.city, customer.province, customer.country) == ("München", "", "DE")
    assert customer.language == "en"


def test_public_administration_is_coded_by_its_fiscal_code(company):
    run_import(company, FPA01)
    customer = Customer.objects.get()
    assert (customer.code, customer.name) == ("80012345678", "Comune di Lecco")
    assert (customer.vat_number, customer.fiscal_code) == ("", "80012345678")
    # An IPA office code has 6 characters.
    assert customer.recipient_code == "UF7K2Q"


@pytest.mark.parametrize("stored", ["09876543210", "IT09876543210", "IT 098 7654 3210"])
def test_existing_customer_is_found_by_vat_number_with_or_without_the_it(company, stored):
    erp = CustomerFactory(
        company=company,
        code="00045",
        name="ROSSI COSTR. SRL",
        vat_number=stored,
        fiscal_code="",
        address="Via Vecchia 1",
        city="Torino",
        province="TO",
        pec="rossi@pec.example.it",
        payment_terms="RB 60 gg DFFM",
    )
    result = run_import(company, FPR01)
    customer = Customer.objects.get()  # no second customer
    assert customer.pk == erp.pk and customer.code == "00045"
    # The invoice is the legal document: the name and the address follow it ...
    assert customer.name == "Rossi Costruzioni S.r.l."
    assert customer.address == "Corso Vittorio Emanuele II, 45/B"
    assert customer.recipient_code == "M5UXCR1"
    # ... what it does not say (no PEC in FPR01) is not wiped, nor is what it never speaks of.
    assert customer.pec == "rossi@pec.example.it"
    assert customer.payment_terms == "RB 60 gg DFFM"
    # The VAT number is kept as the ERP wrote it; the missing fiscal code is filled in.
    assert (customer.vat_number, customer.fiscal_code) == (stored, "09876543210")
    run = result.import_run
    assert (run.customers_created, run.updated) == (0, 1)
    assert set(Receivable.objects.values_list("customer_id", flat=True)) == {erp.pk}
    assert result.outcomes[0].customer_code == "00045"


def test_existing_customer_is_found_by_fiscal_code(company):
    # Stored in lower case: the comparison ignores the case.
    erp = CustomerFactory(
        company=company, code="P-0007", vat_number="", fiscal_code="bnclra80a41f205z"
    )
    run_import(company, FPR03)
    customer = Customer.objects.get()
    assert customer.pk == erp.pk and customer.code == "P-0007"
    assert customer.name == "Laura Bianchi"
    # Identifiers are filled in, never replaced: the fiscal code stays as it was stored.
    assert customer.fiscal_code == "bnclra80a41f205z"
    assert Receivable.objects.get().customer_id == erp.pk


def test_vat_number_is_matched_before_the_code(company):
    # A customer that happens to have the buyer's VAT id as its code, and the ERP's customer
    # with the buyer's VAT number: the VAT number decides.
    by_code = CustomerFactory(company=company, code="IT09876543210", vat_number="", name="Altro")
    by_vat = CustomerFactory(company=company, code="00045", vat_number="09876543210")
    run_import(company, FPR01)
    assert Customer.objects.count() == 2
    assert set(Receivable.objects.values_list("customer_id", flat=True)) == {by_vat.pk}
    by_code.refresh_from_db()
    assert by_code.name == "Altro"  # untouched


def test_fiscal_code_is_matched_before_the_code(company):
    by_code = CustomerFactory(company=company, code="80012345678", vat_number="", name="Altro")
    by_cf = CustomerFactory(
        company=company, code="ENTE-1", vat_number="", fiscal_code="80012345678"
    )
    run_import(company, FPA01)
    assert Receivable.objects.get().customer_id == by_cf.pk
    by_code.refresh_from_db()
    assert by_code.name == "Altro"


def test_customer_created_by_an_earlier_einvoice_is_found_by_its_code(company):
    # Its identifiers were cleared by hand after the first import: the code still finds it,
    # and the identifiers are filled in again.
    earlier = CustomerFactory(
        company=company, code="IT09876543210", vat_number="", fiscal_code="", name="Rossi"
    )
    result = run_import(company, FPR01)
    customer = Customer.objects.get()
    assert customer.pk == earlier.pk
    assert (customer.vat_number, customer.fiscal_code) == ("09876543210", "09876543210")
    assert result.import_run.customers_created == 0


def test_existing_identifiers_are_never_replaced(company):
    # The ERP stored another fiscal code (say, the legal representative's, by mistake): the
    # e-invoice does not overwrite it, as it would not overwrite a VAT number.
    erp = CustomerFactory(
        company=company, code="00045", vat_number="09876543210", fiscal_code="RSSMRA70A01L219K"
    )
    run_import(company, FPR01)
    erp.refresh_from_db()
    assert (erp.vat_number, erp.fiscal_code) == ("09876543210", "RSSMRA70A01L219K")


def test_two_invoices_of_one_buyer_make_one_customer(company):
    result = run_import(company, FPR01, FPR02)
    assert Customer.objects.count() == 1
    assert result.import_run.customers_created == 1
    # 3 installments of the invoice + 1 of the credit note.
    assert Receivable.objects.filter(customer__code="IT09876543210").count() == 4


def test_one_batch_or_one_file_at_a_time_gives_the_same_customer(company):
    fields = ("vat_number", "fiscal_code", "recipient_code", "pec", "name", "address")
    run_import(company, FPR01)
    run_import(company, FPR02)
    one_at_a_time = Customer.objects.values(*fields).get()
    # FPR01 gives the fiscal code 09876543210 and the SdI code M5UXCR1; FPR02 (later) gives
    # neither (no CodiceFiscale, CodiceDestinatario 0000000) but the PEC address: together
    # the customer knows all three.
    assert (
        one_at_a_time["fiscal_code"],
        one_at_a_time["recipient_code"],
        one_at_a_time["pec"],
    ) == ("09876543210", "M5UXCR1", "amministrazione@pec.rossicostruzioni.it")

    other = CompanyFactory(code="same-vat", vat_number="01234567890")
    run_import(other, FPR01, FPR02)
    assert other.customers.values(*fields).get() == one_at_a_time


def test_customers_of_another_company_are_never_matched(company):
    other = CompanyFactory(code="other")
    CustomerFactory(company=other, code="00045", vat_number="09876543210")
    run_import(company, FPR01)
    assert company.customers.get().code == "IT09876543210"
    assert not other.receivables.exists()


# --- items -------------------------------------------------------------------------------------


def test_every_installment_is_an_open_item(company):
    result = run_import(company, FPR01)
    ledger = Receivable.objects.order_by("due_date")
    # 3660.00 in three installments of 1220.00 (3 x 1220.00 = 3660.00), each due on its date.
    assert items("FT 2025/0142") == [
        (dt.date(2025, 4, 30), Decimal("1220.00")),
        (dt.date(2025, 5, 31), Decimal("1220.00")),
        (dt.date(2025, 6, 30), Decimal("1220.00")),
    ]
    for item in ledger:
        assert item.company == company and item.customer.code == "IT09876543210"
        assert item.amount == Decimal("1220.00")
        assert item.document_date == dt.date(2025, 3, 14)
        assert item.document_type == DocumentType.INVOICE
        assert (item.status, item.closed_on, item.currency) == (ReceivableStatus.OPEN, None, "EUR")
        assert (item.first_seen_on, item.last_changed_on) == (TODAY, TODAY)
    run = result.import_run
    assert (run.rows_read, run.rows_rejected, run.created, run.unchanged) == (1, 0, 3, 0)
    assert result.outcomes[0].items == 3


def test_credit_note_is_a_negative_item(company):
    run_import(company, FPR02)
    item = Receivable.objects.get()
    # 250.00 + 22% VAT (55.00) = 305.00, owed back to the customer.
    assert (item.document_number, item.amount, item.open_amount) == (
        "NC 2025/0007",
        Decimal("-305.00"),
        Decimal("-305.00"),
    )
    assert item.document_type == DocumentType.CREDIT_NOTE
    assert item.due_date == dt.date(2025, 3, 28) and item.status == ReceivableStatus.OPEN
    assert EInvoice.objects.get().total == Decimal("-305.00")


def test_debit_note_and_invoice_of_one_file(company):
    result = run_import(company, FPR04)
    invoice = Receivable.objects.get(document_number="FT 2025/0160")
    assert (invoice.document_type, invoice.amount, invoice.due_date) == (
        DocumentType.INVOICE,
        Decimal("500.00"),
        dt.date(2025, 5, 31),
    )
    debit = Receivable.objects.get(document_number="ND 2025/0003")
    # A debit note adds to the debt: positive. It has no due date and the new customer no
    # terms, so it is due on its date, 02/04/2025.
    assert (debit.document_type, debit.amount, debit.due_date) == (
        DocumentType.DEBIT_NOTE,
        Decimal("40.00"),
        dt.date(2025, 4, 2),
    )
    assert [(o.number, o.document_type, o.status) for o in result.outcomes] == [
        ("FT 2025/0160", "TD01", "imported"),
        ("ND 2025/0003", "TD05", "imported"),
    ]
    assert sorted(EInvoice.objects.values_list("body_index", "number")) == [
        (1, "FT 2025/0160"),
        (2, "ND 2025/0003"),
    ]


def test_split_payment_item_is_what_the_administration_pays(company):
    run_import(company, FPA01)
    item = Receivable.objects.get()
    # 1000.00 + 220.00 VAT = 1220.00 on the document; the VAT goes to the State, 1000.00 is
    # due 30 days from 10/03/2025: 21 days to 31/03, 9 into April = 09/04/2025.
    assert (item.amount, item.due_date) == (Decimal("1000.00"), dt.date(2025, 4, 9))
    document = EInvoice.objects.get()
    assert (document.total, document.transmission_format) == (Decimal("1220.00"), "FPA12")
    assert EInvoiceInstallment.objects.get().due_date_source == "terms"


def test_installments_due_the_same_day_are_one_item(company):
    # The second installment moved to the first one's date: 1220.00 + 1220.00 = 2440.00 on
    # 30/04/2025, 1220.00 on 30/06/2025.
    content = edited(
        FPR01,
        (
            "<DataScadenzaPagamento>2025-05-31</DataScadenzaPagamento>",
            "<DataScadenzaPagamento>2025-04-30</DataScadenzaPagamento>",
        ),
    )
    result = run_import(company, ("FT0142.xml", content))
    assert items("FT 2025/0142") == [
        (dt.date(2025, 4, 30), Decimal("2440.00")),
        (dt.date(2025, 6, 30), Decimal("1220.00")),
    ]
    # The three installments stay three, two of them pointing at the same item.
    assert [
        (i.position, i.amount, i.receivable.due_date)
        for i in EInvoiceInstallment.objects.order_by("position")
    ] == [
        (1, Decimal("1220.00"), dt.date(2025, 4, 30)),
        (2, Decimal("1220.00"), dt.date(2025, 4, 30)),
        (3, Decimal("1220.00"), dt.date(2025, 6, 30)),
    ]
    assert result.import_run.created == 2 and result.outcomes[0].items == 2


def test_invoice_without_payment_data_is_due_on_its_date(company):
    run_import(company, FPR03)
    item = Receivable.objects.get()
    # No DatiPagamento and no total: 100.00 + 22.00 + 50.00 + 5.00 = 177.00 from the summary,
    # due on the invoice date.
    assert (item.amount, item.due_date) == (Decimal("177.00"), dt.date(2025, 3, 20))
    (installment,) = EInvoiceInstallment.objects.all()
    assert (installment.position, installment.amount) == (1, Decimal("177.00"))
    assert (installment.due_date_source, installment.payment_method) == ("invoice", "")


@pytest.mark.parametrize(
    ("terms", "due", "source"),
    [
        # 60 days end of month from 20/03/2025: two whole months on, the end of May.
        ("RB 60 gg DFFM", dt.date(2025, 5, 31), "customer"),
        # 30 days from 20/03/2025: 11 to 31/03, 19 into April = 19/04/2025.
        ("Bonifico 30 gg data fattura", dt.date(2025, 4, 19), "customer"),
        # 45 days end of month: 20/03 + 45 = 04/05/2025 (11 + 30 + 4), then the month's end.
        ("Bonifico 45 gg f.m.", dt.date(2025, 5, 31), "customer"),
        ("Rimessa diretta vista fattura", dt.date(2025, 3, 20), "customer"),
        # Terms that name no days do not decide: the invoice date does.
        ("Bonifico bancario", dt.date(2025, 3, 20), "invoice"),
        ("", dt.date(2025, 3, 20), "invoice"),
    ],
)
def test_installment_without_due_date_follows_the_customers_terms(company, terms, due, source):
    CustomerFactory(
        company=company,
        code="P-7",
        vat_number="",
        fiscal_code="BNCLRA80A41F205Z",
        payment_terms=terms,
    )
    run_import(company, FPR03)
    assert Receivable.objects.get().due_date == due
    assert EInvoiceInstallment.objects.get().due_date_source == source


def test_debit_note_without_due_date_follows_the_customers_terms(company):
    CustomerFactory(company=company, code="D-1", vat_number="DE123456789", payment_terms="60 DF")
    run_import(company, FPR04)
    # 02/04/2025 + 60 days: 28 to 30/04, 31 in May (59), 1 into June = 01/06/2025.
    assert Receivable.objects.get(document_number="ND 2025/0003").due_date == dt.date(2025, 6, 1)
    # The invoice's own due date wins over the customer's terms.
    assert Receivable.objects.get(document_number="FT 2025/0160").due_date == dt.date(2025, 5, 31)


def test_events_are_written_with_the_import_run(company):
    result = run_import(company, FPR01, FPR02)
    run = result.import_run
    events = ReceivableEvent.objects.order_by("amount_after", "receivable__due_date")
    # One CREATED event per new item: -305.00 and three times 1220.00.
    assert [(e.kind, e.amount_before, e.amount_after) for e in events] == [
        (EventKind.CREATED, None, Decimal("-305.00")),
        (EventKind.CREATED, None, Decimal("1220.00")),
        (EventKind.CREATED, None, Decimal("1220.00")),
        (EventKind.CREATED, None, Decimal("1220.00")),
    ]
    assert {(e.import_run_id, e.on_date) for e in events} == {(run.pk, TODAY)}
    assert {e.receivable_id for e in events} == set(Receivable.objects.values_list("id", flat=True))


def test_the_document_and_its_installments_are_kept(company):
    result = run_import(company, FPR01)
    document = EInvoice.objects.get()
    assert document.customer.code == "IT09876543210"
    assert document.import_run == result.import_run
    assert (document.document_type, document.number, document.date) == (
        "TD01",
        "FT 2025/0142",
        dt.date(2025, 3, 14),
    )
    assert (document.total, document.currency, document.transmission_format) == (
        Decimal("3660.00"),
        "EUR",
        "FPR12",
    )
    assert (document.file_name, document.body_index, document.payment_terms) == (FPR01, 1, "TP01")
    installments = list(document.installments.order_by("position"))
    assert [(i.position, i.amount, i.due_date) for i in installments] == [
        (1, Decimal("1220.00"), dt.date(2025, 4, 30)),
        (2, Decimal("1220.00"), dt.date(2025, 5, 31)),
        (3, Decimal("1220.00"), dt.date(2025, 6, 30)),
    ]
    for installment in installments:
        # Paid by bank transfer to the company's IBAN: what a bank statement will show.
        assert (installment.payment_method, installment.iban, installment.bic) == ("MP05", IBAN, "")
        assert installment.due_date_source == "file" and installment.erp_listed_on is None
        assert installment.receivable.due_date == installment.due_date


def test_riba_and_foreign_transfer_keep_their_method_iban_and_bic(company):
    run_import(company, FPR04)
    riba = EInvoiceInstallment.objects.get(einvoice__number="FT 2025/0160")
    assert (riba.payment_method, riba.iban) == ("MP12", "")
    transfer = EInvoiceInstallment.objects.get(einvoice__number="ND 2025/0003")
    assert (transfer.payment_method, transfer.iban, transfer.bic) == (
        "MP05",
        "DE89370400440532013000",
        "COBADEFFXXX",
    )
    assert transfer.due_date_source == "invoice"


def test_import_run_records_the_batch(company, user_with_membership):
    result = run_import(company, FPR01, FPR03, user=user_with_membership, source="tests")
    run = ImportRun.objects.get()
    assert run == result.import_run
    assert (run.kind, run.status, run.as_of) == (ImportKind.EINVOICES, ImportStatus.APPLIED, TODAY)
    assert run.file_name == f"{FPR01}, {FPR03}"
    assert len(run.checksum) == 64 and run.finished_at is not None
    assert (run.imported_by, run.source, run.message) == (user_with_membership, "tests", "")
    # 3 items of FPR01 + 1 of FPR03; two new customers.
    assert (run.rows_read, run.created, run.customers_created) == (2, 4, 2)
    assert run.report["documents_total"] == 2 and run.report["errors"] == []
    assert [d["status"] for d in run.report["documents"]] == ["imported", "imported"]
    assert run.report["documents"][0]["total"] == "3660.00"


@pytest.mark.parametrize("vat_number", ["01234567890", "IT01234567890", "it 01234567890"])
def test_the_companys_vat_number_may_be_stored_with_or_without_the_it(vat_number):
    company = CompanyFactory(code="brambilla", vat_number=vat_number)
    result = run_import(company, FPR01)
    assert [o.status for o in result.outcomes] == ["imported"]


# --- nothing twice -----------------------------------------------------------------------------


def test_same_invoice_twice_changes_nothing(company):
    run_import(company, FPR01)
    before = counts()
    # Meanwhile the customer was renamed by hand and an installment was paid and closed.
    Customer.objects.update(name="Rossi (renamed)")
    paid = Receivable.objects.get(due_date=dt.date(2025, 4, 30))
    Receivable.objects.filter(pk=paid.pk).update(
        open_amount=0, status=ReceivableStatus.CLOSED, closed_on=TODAY
    )

    result = run_import(company, FPR01, today=TODAY + dt.timedelta(days=1))
    assert counts() == before
    (outcome,) = result.outcomes
    assert outcome.status == "already imported"
    run = result.import_run
    assert run.status == ImportStatus.APPLIED
    # One document read, counted as unchanged; no item, no customer created or updated.
    assert (run.rows_read, run.unchanged) == (1, 1)
    assert (run.created, run.customers_created, run.updated) == (0, 0, 0)
    assert Customer.objects.get().name == "Rossi (renamed)"
    paid.refresh_from_db()
    assert (paid.status, paid.open_amount) == (ReceivableStatus.CLOSED, Decimal("0.00"))
    assert EInvoice.objects.get().import_run != run


def test_same_invoice_in_a_zip_and_as_a_plain_file_is_imported_once(company):
    archive = zip_of({f"marzo/{FPR01}": sample(FPR01), f"marzo/{FPR02}": sample(FPR02)})
    result = run_import(company, FPR01, ("marzo.zip", archive))
    # FT 2025/0142 once (3 items) and NC 2025/0007 (1 item).
    assert counts() == {
        "customers": 1,
        "items": 4,
        "events": 4,
        "einvoices": 2,
        "installments": 4,
    }
    assert sorted((o.file, o.number, o.status) for o in result.outcomes) == [
        (FPR01, "FT 2025/0142", "imported"),
        (f"marzo.zip/marzo/{FPR01}", "FT 2025/0142", "already imported"),
        (f"marzo.zip/marzo/{FPR02}", "NC 2025/0007", "imported"),
    ]
    assert EInvoice.objects.get(number="FT 2025/0142").file_name == FPR01


def test_signed_p7m_is_imported(company):
    result = run_import(company, (f"{FPR01}.p7m", envelope(sample(FPR01))))
    assert [o.status for o in result.outcomes] == ["imported"]
    assert EInvoice.objects.get().file_name == f"{FPR01}.p7m"
    assert Receivable.objects.count() == 3


def test_item_the_snapshot_listed_first_is_linked_not_duplicated(tmp_path, company):
    erp = CustomerFactory(company=company, code="00045", vat_number="09876543210")
    # The ERP's snapshot listed the first installment, already partly paid: 500.00 open.
    snapshot = write_snapshot(
        tmp_path, "s.csv", ["00045;Rossi;FT 2025/0142;14/03/2025;30/04/2025;500,00"]
    )
    services.receivables_import(company=company, path=snapshot, as_of=dt.date(2025, 4, 1))
    listed = Receivable.objects.get()

    result = run_import(company, FPR01)
    assert Receivable.objects.count() == 3  # 1 linked + 2 new, not 4
    listed.refresh_from_db()
    # The ledger knows better than the invoice what is still open.
    assert (listed.open_amount, listed.amount) == (Decimal("500.00"), Decimal("500.00"))
    assert listed.first_seen_on == dt.date(2025, 4, 1)
    first = EInvoiceInstallment.objects.get(position=1)
    assert first.receivable_id == listed.pk and first.amount == Decimal("1220.00")
    assert items("FT 2025/0142") == [
        (dt.date(2025, 4, 30), Decimal("500.00")),
        (dt.date(2025, 5, 31), Decimal("1220.00")),
        (dt.date(2025, 6, 30), Decimal("1220.00")),
    ]
    assert set(Receivable.objects.values_list("customer_id", flat=True)) == {erp.pk}
    run = result.import_run
    assert (run.created, run.unchanged) == (2, 1)
    assert result.outcomes[0].status == "linked"
    # Only the two new items have a CREATED event from this import.
    assert ReceivableEvent.objects.filter(import_run=run).count() == 2
    assert not listed.events.filter(import_run=run).exists()


# --- all or nothing ----------------------------------------------------------------------------

ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE x [\n <!ENTITY a "'
    + b"a" * 1000
    + b'">\n <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
    + b' <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n]>\n'
    + b'<FatturaElettronica versione="FPR12">&c;</FatturaElettronica>'
)


def _other_seller() -> bytes:
    """FPR03 with another company as the seller (the transmitter's IdCodice stays)."""
    return edited(
        FPR03,
        (
            "<IdCodice>01234567890</IdCodice>\n        </IdFiscaleIVA>",
            "<IdCodice>11111111111</IdCodice></IdFiscaleIVA>",
        ),
        ("Officine Meccaniche Brambilla S.p.A.", "Concorrenti S.r.l."),
    )


def _truncated() -> bytes:
    content = sample(FPR03)
    return content[: len(content) // 2]


BROKEN = {
    "truncated": (lambda: _truncated(), "", "not well-formed XML"),
    "entity bomb": (lambda: ENTITY_BOMB, "", "refused for safety"),
    "missing element": (
        lambda: edited(FPR03, ("<Numero>FT 2025/0150</Numero>", "")),
        "",
        "does not follow the FatturaPA 1.2.3 schema",
    ),
    "another seller": (
        lambda: _other_seller(),
        "FT 2025/0150",
        "issued by Concorrenti S.r.l. (VAT IT11111111111), not by Officine Meccaniche "
        "Brambilla S.p.A. (VAT 01234567890)",
    ),
    "self-billing": (
        lambda: retyped(FPR03, "TD01", "TD17"),
        "FT 2025/0150",
        "document type TD17 (Integrazione/autofattura per acquisto servizi dall'estero) is "
        "not a claim on a customer",
    ),
    "empty": (lambda: b"", "", "the file is empty"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_one_broken_file_refuses_the_whole_batch(company, case):
    build, number, reason = BROKEN[case]
    bad = "IT01234567890_FPR99.xml"
    with pytest.raises(ImportRejected) as raised:
        run_import(company, FPR01, (bad, build()), FPR04)
    assert counts() == NOTHING
    run = ImportRun.objects.get()
    assert raised.value.import_run == run and raised.value.exit_code == 2
    assert (run.kind, run.status) == (ImportKind.EINVOICES, ImportStatus.REJECTED)
    # 1 + 2 good documents and the bad file: 4 read, 1 refused.
    assert (run.rows_read, run.rows_rejected, run.created) == (4, 1, 0)
    assert run.message == (
        "1 file(s) or document(s) refused: nothing was imported "
        "(remove them, or use --skip-invalid to import the others)"
    )
    assert str(raised.value) == run.message
    (error,) = run.report["errors"]
    assert (error["row"], error["column"], error["value"]) == (1, bad, number)
    assert reason in error["reason"]
    assert run.report["errors_total"] == 1
    assert [(d["file"], d["status"]) for d in run.report["documents"]] == [(bad, "rejected")]


def test_refused_zip_member_is_named_inside_the_archive(company):
    archive = zip_of({FPR01: sample(FPR01), "rotto.xml": _truncated()})
    with pytest.raises(ImportRejected) as raised:
        run_import(company, ("lotto.zip", archive))
    assert counts() == NOTHING
    (error,) = raised.value.import_run.report["errors"]
    assert error["column"] == "lotto.zip/rotto.xml"


def test_a_refused_document_in_a_file_refuses_the_batch_too(company):
    # The second body of FPR04 turned into self-billing: the first one is not imported alone.
    content = retyped(FPR04, "TD05", "TD17")
    with pytest.raises(ImportRejected):
        run_import(company, (FPR04, content))
    assert counts() == NOTHING


def test_skip_invalid_imports_the_good_files_and_reports_the_bad(company):
    td17 = retyped(FPR03, "TD01", "TD17")
    result = run_import(
        company, FPR01, ("cut.xml", _truncated()), ("td17.xml", td17), skip_invalid=True
    )
    # FPR01 alone: one customer, three items.
    assert counts() == {
        "customers": 1,
        "items": 3,
        "events": 3,
        "einvoices": 1,
        "installments": 3,
    }
    assert [(o.file, o.status) for o in result.rejected] == [
        ("cut.xml", "rejected"),
        ("td17.xml", "rejected"),
    ]
    run = result.import_run
    assert run.status == ImportStatus.APPLIED
    assert (run.rows_read, run.rows_rejected, run.created) == (3, 2, 3)
    assert run.message == "2 file(s) or document(s) skipped: see the report"
    assert [e["column"] for e in run.report["errors"]] == ["cut.xml", "td17.xml"]
    assert run.report["errors"][1]["value"] == "FT 2025/0150"
    assert sorted(d["status"] for d in run.report["documents"]) == [
        "imported",
        "rejected",
        "rejected",
    ]


def test_skip_invalid_keeps_the_good_document_of_a_file(company):
    content = retyped(FPR04, "TD05", "TD17")
    result = run_import(company, (FPR04, content), skip_invalid=True)
    assert list(Receivable.objects.values_list("document_number", flat=True)) == ["FT 2025/0160"]
    assert [(o.number, o.status) for o in result.rejected] == [("ND 2025/0003", "rejected")]


def test_skip_invalid_with_nothing_good_still_refuses(company):
    with pytest.raises(ImportRejected) as raised:
        run_import(company, ("cut.xml", _truncated()), skip_invalid=True)
    assert counts() == NOTHING
    assert str(raised.value) == "1 file(s) or document(s) refused: nothing could be imported"
    assert ImportRun.objects.get().status == ImportStatus.REJECTED


# --- reading paths -----------------------------------------------------------------------------


def test_read_paths_takes_the_invoices_of_a_folder_and_named_files(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.XML").write_bytes(b"<b/>")
    (folder / "sub" / "a.xml.p7m").write_bytes(b"0")
    (folder / "c.zip").write_bytes(b"PK")
    (folder / "notes.txt").write_text("not an invoice")
    single = tmp_path / "single.xml"
    single.write_bytes(b"<s/>")
    files = read_paths([folder, str(single)])
    # Sorted by path within the folder; .txt left out; the named file as given.
    assert files == [
        ("b.XML", b"<b/>"),
        ("c.zip", b"PK"),
        ("a.xml.p7m", b"0"),
        ("single.xml", b"<s/>"),
    ]


def test_file_over_the_size_limit_is_reported_as_too_large(company, tmp_path, monkeypatch):
    from incassa.ledger import fatturapa

    # Limits lowered to 1,000 bytes for the test; the sample FPR03 is larger.
    monkeypatch.setattr(fatturapa, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(fatturapa, "MAX_ZIP_TOTAL_BYTES", 1000)
    (tmp_path / FPR03).write_bytes(sample(FPR03))
    assert len(sample(FPR03)) > 1000
    with pytest.raises(ImportRejected) as raised:
        einvoices_import(company=company, files=read_paths([tmp_path]), today=TODAY)
    (error,) = raised.value.import_run.report["errors"]
    assert "empty" not in error["reason"] and "bytes" in error["reason"]


# --- the ERP snapshot and the e-invoices it has not caught up with ------------------------------

HEADER = "Codice cliente;Ragione sociale;Numero documento;Data documento;Data scadenza;Importo"
OTHER_ROW = "00046;Verdi S.n.c.;FT-9;01/02/2025;31/05/2025;100,00"
FIRST_INSTALLMENT_ROW = "00045;Rossi;FT 2025/0142;14/03/2025;30/04/2025;1.220,00"


def write_snapshot(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def erp_company(company):
    """The company with the ERP's Rossi (the e-invoice buyer) and a snapshot that may close
    any share of the items: these tests are about which ones it closes."""
    company.max_close_share = Decimal("1.000")
    company.save()
    CustomerFactory(company=company, code="00045", vat_number="09876543210")
    return company


def snapshot_import(company, tmp_path, as_of: dt.date, rows: list[str]):
    path = write_snapshot(tmp_path, f"{as_of:%Y%m%d}.csv", rows)
    return services.receivables_import(company=company, path=path, as_of=as_of).import_run


def statuses() -> list[tuple[dt.date, str]]:
    return list(
        Receivable.objects.filter(document_number="FT 2025/0142")
        .order_by("due_date")
        .values_list("due_date", "status")
    )


ALL_OPEN = [
    (dt.date(2025, 4, 30), "open"),
    (dt.date(2025, 5, 31), "open"),
    (dt.date(2025, 6, 30), "open"),
]


def test_recent_einvoice_the_snapshot_does_not_list_yet_stays_open(erp_company, tmp_path):
    run_import(erp_company, FPR01, today=dt.date(2025, 3, 15))
    # Snapshot of 17/03/2025, 3 days after the invoice of 14/03/2025: within the 7 days the
    # ERP may take to catch up, so its silence about FT 2025/0142 is no payment.
    run = snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 17), [OTHER_ROW])
    assert statuses() == ALL_OPEN
    assert run.closed == 0
    assert not EInvoiceInstallment.objects.filter(erp_listed_on__isnull=False).exists()


def test_einvoice_item_once_listed_is_closed_by_a_snapshot_without_it(erp_company, tmp_path):
    run_import(erp_company, FPR01, today=dt.date(2025, 3, 15))
    # 17/03: the ERP lists the first installment (matched: the same item) ...
    snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 17), [FIRST_INSTALLMENT_ROW, OTHER_ROW])
    listed = EInvoiceInstallment.objects.get(position=1)
    assert listed.erp_listed_on == dt.date(2025, 3, 17)
    assert EInvoiceInstallment.objects.filter(erp_listed_on__isnull=True).count() == 2
    assert Receivable.objects.filter(document_number="FT 2025/0142").count() == 3
    # ... 18/03, still within the grace: it no longer lists it, so it was paid. The other two
    # installments were never listed and the invoice is 4 days old: they stay open.
    run = snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 18), [OTHER_ROW])
    assert statuses() == [
        (dt.date(2025, 4, 30), "closed"),
        (dt.date(2025, 5, 31), "open"),
        (dt.date(2025, 6, 30), "open"),
    ]
    assert run.closed == 1
    closed = listed.receivable
    closed.refresh_from_db()
    assert (closed.open_amount, closed.closed_on) == (Decimal("0.00"), dt.date(2025, 3, 18))
    event = closed.events.get(kind=EventKind.CLOSED)
    assert (event.amount_before, event.amount_after, event.import_run) == (
        Decimal("1220.00"),
        Decimal("0.00"),
        run,
    )


def test_old_einvoice_no_snapshot_listed_is_closed_after_the_grace(erp_company, tmp_path):
    # Imported late: on 31/03/2025 the invoice of 14/03 is 17 days old, past the 7 days.
    run_import(erp_company, FPR01, today=dt.date(2025, 3, 31))
    run = snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 31), [OTHER_ROW])
    assert [status for _due, status in statuses()] == ["closed"] * 3
    assert run.closed == 3


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        # 14/03 + 6 days: still within the grace.
        (dt.date(2025, 3, 20), "open"),
        # 14/03 + 8 days: past it.
        (dt.date(2025, 3, 22), "closed"),
    ],
)
def test_grace_counts_from_the_invoice_date(erp_company, tmp_path, as_of, status):
    run_import(erp_company, FPR01, today=dt.date(2025, 3, 15))
    snapshot_import(erp_company, tmp_path, as_of, [OTHER_ROW])
    assert [s for _due, s in statuses()] == [status] * 3


def test_grace_period_is_a_setting(erp_company, tmp_path, settings):
    settings.INCASSA_EINVOICE_ERP_GRACE_DAYS = 30
    run_import(erp_company, FPR01, today=dt.date(2025, 3, 31))
    # 17 days old, within 30.
    snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 31), [OTHER_ROW])
    assert statuses() == ALL_OPEN


def test_item_listed_before_the_einvoice_arrived_is_closed_by_a_snapshot_without_it(
    erp_company, tmp_path
):
    # 16/03: the ERP lists the first installment, then the e-invoice is imported and linked.
    snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 16), [FIRST_INSTALLMENT_ROW, OTHER_ROW])
    run_import(erp_company, FPR01, today=dt.date(2025, 3, 16))
    assert EInvoiceInstallment.objects.get(position=1).receivable.first_seen_on == dt.date(
        2025, 3, 16
    )
    # 17/03: the ERP no longer lists it: paid, as for any item a snapshot listed. The other two
    # installments were never listed and the invoice is 3 days old: they stay open.
    snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 17), [OTHER_ROW])
    assert statuses() == [
        (dt.date(2025, 4, 30), "closed"),
        (dt.date(2025, 5, 31), "open"),
        (dt.date(2025, 6, 30), "open"),
    ]


def test_items_not_from_einvoices_are_closed_as_ever(erp_company, tmp_path):
    ReceivableFactory(
        company=erp_company,
        customer=Customer.objects.get(code="00045"),
        document_number="FT-OLD",
        document_date=dt.date(2025, 3, 14),
        due_date=dt.date(2025, 4, 30),
    )
    run_import(erp_company, FPR01, today=dt.date(2025, 3, 15))
    run = snapshot_import(erp_company, tmp_path, dt.date(2025, 3, 17), [OTHER_ROW])
    # The ERP's own item of the same day is closed; the e-invoice's three are not.
    assert Receivable.objects.get(document_number="FT-OLD").status == ReceivableStatus.CLOSED
    assert statuses() == ALL_OPEN
    assert run.closed == 1
