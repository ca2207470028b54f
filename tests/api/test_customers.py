"""``/api/customers``: the list with its filters and pages, one customer, its items; what
each role sees. Figures from the world of ``conftest`` (today 01/04/2026)."""

from __future__ import annotations

import pytest

from incassa.ledger.models import Role, SalesAgent
from tests.api.conftest import ROLES, call

pytestmark = pytest.mark.django_db


def codes(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["code"] for row in response.json()["items"]]


def test_the_list_with_what_each_customer_owes(client, world):
    response = call(client, "get", "/api/customers", world, Role.CREDIT_MANAGER)
    body = response.json()
    assert (body["count"], body["limit"], body["offset"]) == (3, 50, 0)
    rows = {row["code"]: row for row in body["items"]}
    # 001: F1 1.000,00 (31 days late) + F2 500,00 (not due) = 1.500,00, overdue 1.000,00.
    assert rows["001"]["open_amount"] == "1500.00"
    assert rows["001"]["overdue_amount"] == "1000.00"
    assert rows["001"]["credit_limit"] == "2000.00"
    assert rows["001"]["category"] == {"code": "INGROSSO", "name": ""}
    assert rows["001"]["sales_agent"]["name"] == "Mario Rossi"
    assert (rows["001"]["credit_class"], rows["001"]["blocked"]) == ("C", False)
    # 002: F3 2.000,00, 45 days late; blocked.
    assert (rows["002"]["open_amount"], rows["002"]["overdue_amount"]) == ("2000.00", "2000.00")
    assert (rows["002"]["credit_class"], rows["002"]["blocked"]) == ("D", True)
    # 003: F4 300,00, due 10/04: nothing overdue.
    assert (rows["003"]["open_amount"], rows["003"]["overdue_amount"]) == ("300.00", "0.00")
    assert rows["003"]["credit_limit"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "rossi"}, ["001"]),  # the name
        ({"q": "00"}, ["001", "002", "003"]),  # part of every code
        ({"category": "DETTAGLIO"}, ["002", "003"]),
        ({"class": "C"}, ["001", "003"]),
        ({"overdue": "true"}, ["001", "002"]),
        ({"overdue": "false"}, ["003"]),
        ({"blocked": "true"}, ["002"]),
        ({"blocked": "false"}, ["001", "003"]),
        ({"order": "-overdue"}, ["002", "001", "003"]),  # 2.000 > 1.000 > 0
        ({"order": "-open"}, ["002", "001", "003"]),  # 2.000 > 1.500 > 300
        ({"order": "name"}, ["002", "001", "003"]),  # Bianchi, Rossi, Verdi
    ],
)
def test_filters_and_orders(client, world, params, expected):
    response = call(client, "get", "/api/customers", world, Role.AUDITOR, data=params)
    assert codes(response) == expected


def test_the_vat_number_with_its_country_prefix_and_the_agent_filter(client, world):
    vat = world.company.customers.get(code="002").vat_number
    response = call(client, "get", "/api/customers", world, Role.AUDITOR, data={"q": f"IT{vat}"})
    assert codes(response) == ["002"]
    mario = SalesAgent.objects.get(company=world.company, name="Mario Rossi")
    response = call(client, "get", "/api/customers", world, Role.AUDITOR, data={"agent": mario.pk})
    assert codes(response) == ["001", "003"]


def test_pages(client, world):
    page = call(client, "get", "/api/customers", world, Role.AUDITOR, data={"limit": 2})
    assert codes(page) == ["001", "002"]
    assert page.json()["count"] == 3
    rest = call(
        client, "get", "/api/customers", world, Role.AUDITOR, data={"limit": 2, "offset": 2}
    )
    assert codes(rest) == ["003"]
    assert rest.json()["count"] == 3
    past = call(client, "get", "/api/customers", world, Role.AUDITOR, data={"offset": 10})
    assert codes(past) == [] and past.json()["count"] == 3
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"class": "Z"}):
        response = call(client, "get", "/api/customers", world, Role.AUDITOR, data=bad)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid"
        assert response.json()["error"]["details"][0]["field"].startswith("query.")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_and_a_sales_agent_only_their_customers(client, world, role):
    response = call(client, "get", "/api/customers", world, role)
    # Mario Rossi (the sales agent) follows 001 and 003.
    expected = ["001", "003"] if role == Role.SALES_AGENT else ["001", "002", "003"]
    assert codes(response) == expected
    detail = call(client, "get", "/api/customers/002", world, role)
    assert detail.status_code == (404 if role == Role.SALES_AGENT else 200)


def test_a_customer(client, world):
    response = call(client, "get", "/api/customers/001", world, Role.CREDIT_MANAGER)
    assert response.status_code == 200
    body = response.json()
    assert body["totals"] == {
        "open_amount": "1500.00",
        "open_items": 2,
        "overdue_amount": "1000.00",
        "overdue_items": 1,
        "oldest_due_date": "2026-03-01",
    }
    credit = body["credit"]
    assert credit["credit_class"] == "C" and credit["score"] == "50.0"
    # Exposure 1.500,00 of a 2.000,00 limit: 75.0%.
    assert credit["exposure"] == "1500.00"
    assert credit["utilisation"] == "75.0"
    assert credit["computed_on"] == "2026-03-31"
    assert credit["blocked"] is False
    assert body["dunning"] == {"strategy": "standard", "excluded": False, "suspended_until": None}


def test_a_blocked_customer_without_a_limit(client, world):
    body = call(client, "get", "/api/customers/002", world, Role.AUDITOR).json()
    assert body["credit"]["blocked"] is True
    assert body["credit"]["blocked_reason"] == "insoluto"
    assert body["credit"]["utilisation"] is None


def test_another_companys_or_an_unknown_customer_is_404(client, world):
    world.other.customers.create(code="999", name="Solo Beta")
    for code in ("999", "nope"):
        response = call(client, "get", f"/api/customers/{code}", world, Role.ADMINISTRATOR)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        items = call(client, "get", f"/api/customers/{code}/items", world, Role.ADMINISTRATOR)
        assert items.status_code == 404


def test_a_code_with_a_slash(client, world):
    world.company.customers.create(code="A/7", name="Con barra")
    response = call(client, "get", "/api/customers/A/7", world, Role.AUDITOR)
    assert response.json()["name"] == "Con barra"
    items = call(client, "get", "/api/customers/A/7/items", world, Role.AUDITOR)
    assert items.json() == {"count": 0, "limit": 50, "offset": 0, "items": []}


def test_a_customers_items(client, world):
    response = call(client, "get", "/api/customers/001/items", world, Role.SALES_AGENT)
    body = response.json()
    assert body["count"] == 2
    assert [(i["document_number"], i["open_amount"], i["days_overdue"]) for i in body["items"]] == [
        ("F1", "1000.00", 31),  # 01/03 -> 01/04: 31 days
        ("F2", "500.00", -29),  # due 30/04: 29 days ahead
    ]
    overdue = call(
        client, "get", "/api/customers/001/items", world, Role.SALES_AGENT, data={"overdue": True}
    )
    assert [i["document_number"] for i in overdue.json()["items"]] == ["F1"]
