"""``/api/items``: filters, orders, one item with its dunning state and holds."""

from __future__ import annotations

import datetime as dt

import pytest

from incassa.dunning.services import hold_place
from incassa.ledger.models import Role
from tests.api.conftest import call

pytestmark = pytest.mark.django_db


def documents(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["document_number"] for row in response.json()["items"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["F3", "F1", "F4", "F2"]),  # by due date: 15/02, 01/03, 10/04, 30/04
        ({"order": "-due_date"}, ["F2", "F4", "F1", "F3"]),
        ({"order": "-amount"}, ["F3", "F1", "F2", "F4"]),  # 2.000, 1.000, 500, 300
        ({"order": "amount"}, ["F4", "F2", "F1", "F3"]),
        ({"order": "-criticality"}, ["F3", "F1", "F4", "F2"]),  # 70.8, 48.9, 28.0, 23.3
        ({"overdue": "true"}, ["F3", "F1"]),  # due before 01/04
        ({"overdue": "false"}, ["F4", "F2"]),
        ({"customer": "001"}, ["F1", "F2"]),
        ({"status": "closed"}, []),
        ({"status": "open", "min_amount": "500.00"}, ["F3", "F1", "F2"]),
        ({"due_from": "2026-03-01", "due_to": "2026-04-10"}, ["F1", "F4"]),
    ],
)
def test_filters_and_orders(client, world, params, expected):
    response = call(client, "get", "/api/items", world, Role.AUDITOR, data=params)
    assert documents(response) == expected
    assert response.json()["count"] == len(expected)


def test_figures_of_an_item(client, world):
    response = call(client, "get", "/api/items", world, Role.AUDITOR, data={"customer": "002"})
    (f3,) = response.json()["items"]
    assert f3 == {
        "id": world.item("F3").pk,
        "customer": {"code": "002", "name": "Bianchi S.p.A."},
        "document_number": "F3",
        "document_type": "invoice",
        "document_date": None,
        "due_date": "2026-02-15",
        "amount": "2000.00",
        "open_amount": "2000.00",
        "currency": "EUR",
        "status": "open",
        "closed_on": None,
        "days_overdue": 45,  # 13 days left of February + 31 of March + 1
        "criticality": "70.8",
    }


def test_a_money_filter_must_be_a_string_amount(client, world):
    response = call(client, "get", "/api/items", world, Role.AUDITOR, data={"min_amount": "1e3"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.min_amount"


def test_an_item_with_its_step_and_holds(client, world):
    f1 = world.item("F1")
    hold_place(
        receivable=f1,
        kind="manual",
        starts_on=dt.date(2026, 4, 1),
        until=dt.date(2026, 4, 10),
        reason="verifica",
    )
    body = call(client, "get", f"/api/items/{f1.pk}", world, Role.COLLECTOR).json()
    assert body["step"]["code"] == "courtesy-call"
    assert body["step"]["channel"] == "call"
    assert body["step_reached_on"] == "2026-03-31"
    assert body["step_status"] == "created"  # waiting for approval
    assert [(h["kind"], h["until"], h["reason"]) for h in body["holds"]] == [
        ("manual", "2026-04-10", "verifica")
    ]


def test_an_item_not_yet_in_the_flow(client, world):
    body = call(client, "get", f"/api/items/{world.item('F2').pk}", world, Role.AUDITOR).json()
    assert (body["step"], body["step_status"], body["holds"]) == (None, None, [])


def test_sales_agents_see_their_customers_items_only(client, world):
    response = call(client, "get", "/api/items", world, Role.SALES_AGENT)
    assert documents(response) == ["F1", "F4", "F2"]  # 001 and 003, not 002's F3
    f3 = world.item("F3").pk
    assert call(client, "get", f"/api/items/{f3}", world, Role.SALES_AGENT).status_code == 404


def test_another_companys_item_or_an_impossible_id(client, world):
    beta_f1 = world.item("F1", world.other).pk
    response = call(client, "get", f"/api/items/{beta_f1}", world, Role.ADMINISTRATOR)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    huge = call(client, "get", f"/api/items/{2**64}", world, Role.ADMINISTRATOR)
    assert huge.status_code == 422
