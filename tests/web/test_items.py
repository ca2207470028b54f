"""The items list: filters, the criticality order, bulk actions, exports, permissions."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from incassa.credit.models import ItemCriticality
from incassa.dunning.models import Hold, HoldKind
from incassa.ledger.models import ReceivableStatus, Role
from incassa.workspace.models import CustomerAssignment
from tests.factories import CompanyFactory, CustomerFactory, ReceivableFactory
from tests.web.test_customers import get, logged_in, member

pytestmark = pytest.mark.django_db

# Today is 01/04/2026 in Rome for every test here.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 1)
ITEMS = reverse("web:items")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def ledger(company):
    """Four items of two customers, three of them scored, and one closed."""
    rossi = CustomerFactory(company=company, code="001", name="Rossi S.r.l.")
    bianchi = CustomerFactory(company=company, code="002", name="Bianchi S.p.A.")
    items = {
        "F1": ReceivableFactory(
            company=company, customer=rossi, document_number="F1",
            due_date=dt.date(2026, 3, 1), open_amount=Decimal("1000.00"),
        ),
        "F2": ReceivableFactory(
            company=company, customer=rossi, document_number="F2",
            due_date=dt.date(2026, 4, 30), open_amount=Decimal("500.00"),
        ),
        "F3": ReceivableFactory(
            company=company, customer=bianchi, document_number="F3",
            due_date=dt.date(2026, 2, 15), open_amount=Decimal("2000.00"),
        ),
        "F4": ReceivableFactory(
            company=company, customer=bianchi, document_number="F4",
            due_date=dt.date(2026, 1, 10), open_amount=Decimal("0.00"),
            status=ReceivableStatus.CLOSED,
        ),
    }  # fmt: skip
    for document, score in [("F1", "60.5"), ("F2", "10.0"), ("F3", "85.0")]:
        ItemCriticality.objects.create(
            receivable=items[document], company=company, score=Decimal(score), computed_on=DAY
        )
    return items


def documents(html: str) -> list[str]:
    import re

    return re.findall(r'<th scope="row"><a href="/items/\d+/">([^<]+)</a>', html)


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_open_items_most_critical_first(client, company, ledger):
    logged_in(client, company, language="en")
    html = get(client, ITEMS)
    assert documents(html) == ["F3", "F1", "F2"]  # 85.0, 60.5, 10.0; F4 is closed
    assert "3 items" in html
    assert "€2,000.00" in html and "45" in html  # F3: 15/02 to 01/04 is 45 days late


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sort": "due_date"}, ["F3", "F1", "F2"]),
        ({"sort": "-open_amount"}, ["F3", "F1", "F2"]),
        ({"sort": "customer"}, ["F3", "F1", "F2"]),  # Bianchi before Rossi
        ({"overdue": "on"}, ["F3", "F1"]),
        ({"q": "Rossi"}, ["F1", "F2"]),
        ({"q": "F3"}, ["F3"]),
        ({"min_amount": "1.000,00"}, ["F3", "F1"]),
        ({"due_from": "2026-03-01", "due_to": "2026-03-31"}, ["F1"]),
        ({"status": "closed"}, ["F4"]),
        ({"status": "all", "sort": "due_date"}, ["F4", "F3", "F1", "F2"]),
    ],
)
def test_filters_and_orders(client, company, ledger, params, expected):
    logged_in(client, company, language="it")
    assert documents(get(client, ITEMS, params)) == expected


def test_without_scores_the_oldest_due_date_comes_first(client, company, ledger):
    ItemCriticality.objects.all().delete()
    logged_in(client, company, language="en")
    assert documents(get(client, ITEMS)) == ["F3", "F1", "F2"]


def test_bulk_hold_and_release(client, company, ledger):
    logged_in(client, company, Role.COLLECTOR, language="en")
    f1, f3, f4 = ledger["F1"], ledger["F3"], ledger["F4"]
    response = client.post(
        ITEMS,
        {
            "op": "hold",
            "items": [f1.pk, f3.pk, f4.pk],
            "kind": HoldKind.MANUAL,
            "reason": "Verifica",
        },
    )
    assert flashed(response) == ["2 items put on hold.", "Closed items were left alone."]
    assert sorted(Hold.objects.values_list("receivable__document_number", flat=True)) == [
        "F1",
        "F3",
    ]
    assert documents(get(client, ITEMS, {"held": "on"})) == ["F3", "F1"]
    response = client.post(ITEMS, {"op": "release", "items": [f1.pk]})
    assert flashed(response) == ["1 hold released."]
    assert Hold.objects.get(receivable=f1).released_on == DAY


def test_bulk_hold_refuses_the_agreements_kinds(client, company, ledger):
    logged_in(client, company, language="en")
    response = client.post(ITEMS, {"op": "hold", "items": [ledger["F1"].pk], "kind": "promise"})
    assert flashed(response) == ["Promises, disputes and plans hold their items themselves."]
    assert not Hold.objects.exists()


def test_bulk_assign_their_customers(client, company, ledger):
    logged_in(client, company, Role.CREDIT_MANAGER, language="en")
    giulia = member(
        company, Role.COLLECTOR, username="giulia", first_name="Giulia", last_name="Verdi"
    )
    response = client.post(
        ITEMS, {"op": "assign", "items": [ledger["F1"].pk, ledger["F2"].pk], "operator": giulia.pk}
    )
    # Both items are Rossi's: one customer assigned.
    assert flashed(response) == ["1 customer assigned to Giulia Verdi."]
    assert CustomerAssignment.objects.get().customer.code == "001"


def test_collectors_do_not_assign(client, company, ledger):
    logged_in(client, company, Role.COLLECTOR, language="en")
    giulia = member(company, Role.COLLECTOR, username="giulia")
    response = client.post(
        ITEMS, {"op": "assign", "items": [ledger["F1"].pk], "operator": giulia.pk}
    )
    assert flashed(response) == ["Only administrators and credit managers assign portfolios."]


def test_export_csv_and_excel_neutralise_formulas(client, company, ledger):
    ledger["F1"].customer.__class__.objects.filter(code="001").update(name='=HYPERLINK("x")')
    logged_in(client, company, language="en")
    response = client.get(ITEMS, {"export": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="scadenze-20260401.csv"'
    text = response.content.decode("utf-8-sig")
    assert '\'=HYPERLINK(""x"")' in text
    assert "F3;002;Bianchi S.p.A.;15/02/2026;45;" in text
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(client.get(ITEMS, {"export": "xlsx"}).content)).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["F3", "F1", "F2"]


def test_sales_agents_see_their_customers_and_only_read(client, company, ledger):
    agent_user = logged_in(client, company, Role.SALES_AGENT, language="en")
    user = agent_user.session["_auth_user_id"]
    from incassa.ledger.models import Customer, SalesAgent

    agent = SalesAgent.objects.create(company=company, name="Anna", user_id=user)
    Customer.objects.filter(code="002").update(sales_agent=agent)
    assert documents(get(client, ITEMS)) == ["F3"]
    assert client.post(ITEMS, {"op": "release", "items": [ledger["F3"].pk]}).status_code == 403


def test_another_companys_items_are_never_touched(client, company, ledger):
    other = ReceivableFactory(company=CompanyFactory())
    logged_in(client, company, language="en")
    client.post(ITEMS, {"op": "hold", "items": [other.pk], "kind": HoldKind.MANUAL})
    assert not Hold.objects.exists()
    assert other.document_number not in documents(get(client, ITEMS, {"status": "all"}))
