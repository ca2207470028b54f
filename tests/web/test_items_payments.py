"""The item's page: the e-invoice the item came with, the bank payments set against it, and
the warning when the ERP still shows open what the bank paid."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from incassa.ledger.einvoices import einvoices_import
from incassa.ledger.models import (
    BankPaidItem,
    BankPaidStatus,
    EInvoiceInstallment,
    ImportKind,
    Receivable,
    Role,
)
from incassa.payments.models import BankEntry, BankStatement, PaymentAllocation
from tests.factories import (
    ImportRunFactory,
    ReceivableFactory,
    SalesAgentFactory,
    UserFactory,
)
from tests.web.test_customers import get, logged_in, section

pytestmark = pytest.mark.django_db

# Today is 01/04/2026 in Rome for every test here.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
FATTURAPA = Path(__file__).resolve().parents[1] / "ledger" / "data" / "fatturapa"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def seller(company):
    """The company that issued the sample invoices (VAT 01234567890)."""
    company.vat_number = "01234567890"
    company.save(update_fields=["vat_number"])
    return company


def imported(company, *names: str) -> None:
    einvoices_import(
        company=company,
        files=[(name, (FATTURAPA / name).read_bytes()) for name in names],
        source="tests",
    )


def item_page(client, item: Receivable) -> str:
    return get(client, reverse("web:item", args=[item.pk]))


def payment_url(entry_id: int) -> str:
    try:
        return reverse("web:payment", args=[entry_id])
    except NoReverseMatch:
        pytest.skip("the payment page is not there yet")


def test_the_einvoice_panel_of_an_installment(client, seller):
    imported(seller, "IT01234567890_FPR01.xml")
    # FPR01 (FT 2025/0142 of 14/03/2025) pays in three installments of 1,220.00 by bank
    # transfer (MP05), due 30/04, 31/05 and 30/06/2025: the second is the May one.
    item = Receivable.objects.get(company=seller, due_date=dt.date(2025, 5, 31))
    logged_in(client, seller, Role.COLLECTOR, language="en")
    panel = section(item_page(client, item), "einvoice-title")
    assert "<dt>Number</dt><dd>FT 2025/0142</dd>" in panel
    assert "<dt>Date</dt><dd>14/03/2025</dd>" in panel
    assert '<dt>Type</dt><dd>Fattura <span class="muted">TD01</span></dd>' in panel
    assert "<dt>Format</dt><dd>FPR12</dd>" in panel  # to a business
    assert "<dt>Total</dt><dd>€3,660.00</dd>" in panel
    assert "<dt>Installment</dt><dd>2 of 3 · €1,220.00</dd>" in panel
    assert '<dd>bonifico <span class="muted">MP05</span></dd>' in panel
    assert "<code>IT60X0542811101000000123456</code>" in panel
    assert "<dt>Due date from</dt><dd>the invoice&#x27;s own due date</dd>" in panel
    assert "<dt>In the ERP</dt><dd>not listed yet</dd>" in panel

    EInvoiceInstallment.objects.filter(receivable=item).update(erp_listed_on=dt.date(2025, 4, 1))
    panel = section(item_page(client, item), "einvoice-title")
    assert "<dt>In the ERP</dt><dd>listed since 01/04/2025</dd>" in panel


def test_an_invoice_to_a_public_administration(client, seller):
    imported(seller, "IT01234567890_FPA01.xml")
    # PA/2025/18 of 10/03/2025 to the Comune di Lecco: one installment, due 30 days from
    # 10/03/2025, that is 09/04/2025, computed from the invoice's payment days.
    item = Receivable.objects.get(company=seller, document_number="PA/2025/18")
    assert item.due_date == dt.date(2025, 4, 9)
    logged_in(client, seller, Role.CREDIT_MANAGER, language="en")
    panel = section(item_page(client, item), "einvoice-title")
    assert '<dt>Format</dt><dd>FPA12 <span class="muted">public administration</span></dd>' in (
        panel
    )
    assert "<dt>Installment</dt><dd>1 of 1 · €1,000.00</dd>" in panel  # the taxable amount only
    assert "<dt>Due date from</dt><dd>the invoice&#x27;s payment days</dd>" in panel


def test_an_item_without_einvoice_or_payments_has_no_such_panels(client, company):
    item = ReceivableFactory(company=company)
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    html = item_page(client, item)
    assert 'id="einvoice-title"' not in html
    assert 'id="bank-payments-title"' not in html
    assert "Flagged for the accountants" not in html


def entry_of(company, *, key: str, booked_on: dt.date, amount: str, payer: str) -> BankEntry:
    run = ImportRunFactory(company=company, kind=ImportKind.STATEMENT, file_name=f"{key}.xml")
    statement = BankStatement.objects.create(company=company, import_run=run, format="camt.053")
    return BankEntry.objects.create(
        company=company,
        statement=statement,
        key=key,
        booking_date=booked_on,
        amount=Decimal(amount),
        payer_name=payer,
    )


def test_the_bank_payments_of_an_item(client, company):
    item = ReceivableFactory(company=company, open_amount=Decimal("0.00"), amount=Decimal("500.00"))
    first = entry_of(
        company, key="E1", booked_on=dt.date(2026, 3, 2), amount="200.00", payer="ROSSI SRL"
    )
    second = entry_of(
        company, key="E2", booked_on=dt.date(2026, 3, 20), amount="300.00", payer="Rossi Srl"
    )
    wrong = entry_of(
        company, key="E3", booked_on=dt.date(2026, 3, 10), amount="500.00", payer="Verdi Spa"
    )
    luigi = UserFactory(username="luigi", first_name="Luigi", last_name="Neri")
    PaymentAllocation.objects.create(
        entry=first,
        receivable=item,
        amount=Decimal("200.00"),
        open_amount_before=Decimal("500.00"),
        is_automatic=True,
    )
    PaymentAllocation.objects.create(
        entry=wrong,
        receivable=item,
        amount=Decimal("300.00"),
        open_amount_before=Decimal("300.00"),
        created_by=luigi,
        reversed_at=timezone.make_aware(dt.datetime(2026, 3, 15, 10, 0)),
        reversed_by=luigi,
    )
    PaymentAllocation.objects.create(
        entry=second,
        receivable=item,
        amount=Decimal("300.00"),
        open_amount_before=Decimal("300.00"),
        created_by=luigi,
    )
    logged_in(client, company, Role.COLLECTOR, language="en")
    panel = section(item_page(client, item), "bank-payments-title")
    rows = panel.split("<tr>")[2:]  # after the header's row
    # By booking date: 02/03 (automatic), 10/03 (undone on 15/03), 20/03 (by Luigi Neri).
    assert len(rows) == 3
    assert f'<a href="{payment_url(first.pk)}">02/03/2026</a>' in rows[0]
    assert "ROSSI SRL" in rows[0] and "€200.00" in rows[0] and "automatically" in rows[0]
    assert f'<a href="{payment_url(wrong.pk)}">10/03/2026</a>' in rows[1]
    assert "<s>€300.00</s>" in rows[1] and "undone on 15/03/2026" in rows[1]
    assert "by Luigi Neri" in rows[1]
    assert f'<a href="{payment_url(second.pk)}">20/03/2026</a>' in rows[2]
    assert "by Luigi Neri" in rows[2] and "<s>" not in rows[2] and "undone" not in rows[2]


def test_a_sales_agent_sees_the_payments_without_the_links(client, company):
    logged_in(client, company, Role.SALES_AGENT, language="en")
    agent = SalesAgentFactory(company=company, user_id=client.session["_auth_user_id"])
    item = ReceivableFactory(company=company, customer__sales_agent=agent)
    entry = entry_of(
        company, key="E1", booked_on=dt.date(2026, 3, 2), amount="100.00", payer="Rossi"
    )
    PaymentAllocation.objects.create(
        entry=entry,
        receivable=item,
        amount=Decimal("100.00"),
        open_amount_before=Decimal("100.00"),
        is_automatic=True,
    )
    panel = section(item_page(client, item), "bank-payments-title")
    assert "02/03/2026" in panel and "<a href" not in panel


def test_the_erp_still_showing_open_what_the_bank_paid_is_a_warning(client, company):
    item = ReceivableFactory(company=company, open_amount=Decimal("0.00"), amount=Decimal("500.00"))
    watch = BankPaidItem.objects.create(
        receivable=item,
        company=company,
        paid_amount=Decimal("500.00"),
        paid_on=dt.date(2026, 3, 20),
        status=BankPaidStatus.DIFFERS,
        erp_open_amount=Decimal("500.00"),
        flagged_on=dt.date(2026, 3, 31),
    )
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    html = item_page(client, item)
    assert (
        "The ERP still shows €500.00 open; the bank paid it on 20/03/2026. "
        "Flagged for the accountants."
    ) in html

    # Once a snapshot agrees, nothing is flagged.
    watch.status = BankPaidStatus.BOOKED
    watch.save(update_fields=["status"])
    assert "Flagged for the accountants" not in item_page(client, item)
