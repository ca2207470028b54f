"""``/api/promises`` and ``/api/disputes``: made with the web forms' checks, held in the
flow, disputes moved on and resolved; who may do it on which customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incassa.dunning.models import Hold, HoldKind
from incassa.ledger.models import Role
from incassa.workspace.models import Dispute, DisputeStatus, Promise
from tests.api.conftest import ROLES, call

pytestmark = pytest.mark.django_db


def promise(client, world, role, **fields):
    body = {"customer": "001", "items": [world.item("F1").pk], "promised_on": "2026-04-15"}
    return call(client, "post", "/api/promises", world, role, json={**body, **fields})


def dispute(client, world, role, **fields):
    body = {"customer": "001", "items": [world.item("F1").pk], "reason": "quality"}
    return call(client, "post", "/api/disputes", world, role, json={**body, **fields})


def test_a_promise_of_the_whole_open_amount(client, world):
    response = promise(client, world, Role.CREDIT_MANAGER, note="al telefono")
    assert response.status_code == 201, response.content
    body = response.json()
    # No amount: all of F1, 1.000,00.
    assert (body["amount"], body["promised_on"], body["status"]) == (
        "1000.00",
        "2026-04-15",
        "open",
    )
    assert (body["recorded_on"], body["recorded_by"], body["note"]) == (
        "2026-04-01",
        "api-credit-manager",
        "al telefono",
    )
    # Held until the day after 15/04 + 3 days of grace: 19/04.
    hold = Hold.objects.get(kind=HoldKind.PROMISE)
    assert hold.until == dt.date(2026, 4, 19)


def test_a_promise_of_part(client, world):
    response = promise(client, world, Role.ADMINISTRATOR, amount="400.50")
    assert response.status_code == 201
    assert Promise.objects.get().amount == Decimal("400.50")


@pytest.mark.parametrize(
    "fields",
    [
        {"promised_on": "2026-03-31"},  # in the past
        {"amount": "1000.01"},  # more than F1's 1.000,00
        {"items": "F3"},  # another customer's item
    ],
)
def test_invalid_promises(client, world, fields):
    if fields.get("items") == "F3":
        fields = {"items": [world.item("F3").pk]}
    response = promise(client, world, Role.CREDIT_MANAGER, **fields)
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert not Promise.objects.exists()


def test_the_promises_list(client, world):
    promise(client, world, Role.CREDIT_MANAGER)
    body = call(client, "get", "/api/promises", world, Role.AUDITOR).json()
    assert body["count"] == 1
    assert body["items"][0]["items"] == [world.item("F1").pk]
    kept = call(client, "get", "/api/promises", world, Role.AUDITOR, data={"status": "kept"})
    assert kept.json()["count"] == 0
    other = call(client, "get", "/api/promises", world, Role.AUDITOR, data={"customer": "002"})
    assert other.json()["count"] == 0


def test_a_dispute_opened_moved_on_and_resolved(client, world):
    response = dispute(client, world, Role.COLLECTOR, deadline="2026-04-30", note="merce rotta")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["owner"], body["opened_by"]) == (
        "open",
        "api-collector",  # no owner given: who opened it
        "api-collector",
    )
    assert (body["description"], body["deadline"]) == ("merce rotta", "2026-04-30")
    assert Hold.objects.filter(kind=HoldKind.DISPUTE, released_on__isnull=True).count() == 1
    url = f"/api/disputes/{body['id']}"
    moved = call(
        client,
        "patch",
        url,
        world,
        Role.COLLECTOR,
        json={"status": "waiting_customer", "owner": "api-credit-manager", "note": "foto"},
    )
    assert moved.status_code == 200, moved.content
    assert (moved.json()["status"], moved.json()["owner"]) == (
        "waiting_customer",
        "api-credit-manager",
    )
    assert moved.json()["description"] == "merce rotta\nfoto"
    resolved = call(
        client,
        "patch",
        url,
        world,
        Role.CREDIT_MANAGER,
        json={"status": "resolved_credit_note", "note": "NC 12"},
    )
    assert resolved.status_code == 200
    assert (resolved.json()["resolution"], resolved.json()["resolved_on"]) == (
        "NC 12",
        "2026-04-01",
    )
    # Resolved: the hold is released, and the dispute changes no more.
    assert not Hold.objects.filter(kind=HoldKind.DISPUTE, released_on__isnull=True).exists()
    again = call(client, "patch", url, world, Role.CREDIT_MANAGER, json={"note": "x"})
    assert again.status_code == 409


def test_invalid_dispute_changes(client, world):
    dispute_id = dispute(client, world, Role.CREDIT_MANAGER).json()["id"]
    url = f"/api/disputes/{dispute_id}"
    for body, field in [
        ({}, None),  # nothing to change
        ({"status": "open"}, None),  # already open
        ({"deadline": "2026-03-31"}, "deadline"),
        ({"owner": "api-auditor"}, "owner"),  # not an acting member
        ({"status": "lost"}, "body.status"),
    ]:
        response = call(client, "patch", url, world, Role.CREDIT_MANAGER, json=body)
        assert response.status_code == 422, (body, response.content)
        details = response.json()["error"]["details"]
        assert field is None or field in {d["field"] for d in details}
    assert Dispute.objects.get().status == DisputeStatus.OPEN


def test_the_disputes_list(client, world):
    dispute(client, world, Role.CREDIT_MANAGER)
    for params, count in [({}, 1), ({"open": "true"}, 1), ({"open": "false"}, 0)]:
        body = call(client, "get", "/api/disputes", world, Role.AUDITOR, data=params).json()
        assert body["count"] == count
    agent = call(client, "get", "/api/disputes", world, Role.SALES_AGENT).json()
    assert agent["count"] == 1  # 001 is Mario Rossi's


# On 001 (the collector's portfolio) and 002 (not theirs).
WRITES = {
    Role.ADMINISTRATOR: (201, 201),
    Role.CREDIT_MANAGER: (201, 201),
    Role.COLLECTOR: (201, 403),
    Role.SALES_AGENT: (403, 403),
    Role.AUDITOR: (403, 403),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_make_agreements(client, world, role):
    for code, document, expected in [
        ("001", "F1", WRITES[role][0]),
        ("002", "F3", WRITES[role][1]),
    ]:
        items = [world.item(document).pk]
        made = promise(client, world, role, customer=code, items=items)
        assert made.status_code == expected, (code, made.content)
        # The promise holds the item; a dispute on another one of 001's would need F2.
        opened = dispute(client, world, role, customer=code, items=items)
        assert opened.status_code == expected, (code, opened.content)


@pytest.mark.parametrize("role", ROLES)
def test_who_may_change_a_dispute(client, world, role):
    ids = {
        code: dispute(
            client, world, Role.ADMINISTRATOR, customer=code, items=[world.item(doc).pk]
        ).json()["id"]
        for code, doc in [("001", "F1"), ("002", "F3")]
    }
    expected = {201: 200, 403: 403}
    for code, allowed in zip(("001", "002"), WRITES[role], strict=True):
        response = call(
            client,
            "patch",
            f"/api/disputes/{ids[code]}",
            world,
            role,
            json={"status": "waiting_internal"},
        )
        assert response.status_code == expected[allowed], (code, response.content)


def test_another_companys_dispute_and_customer_are_404(client, world):
    beta_manager_key = {"HTTP_AUTHORIZATION": f"Bearer {world.other_key}"}
    beta_f1 = world.item("F1", world.other).pk
    beta_dispute = client.post(
        "/api/disputes",
        data={"customer": "001", "items": [beta_f1], "reason": "price"},
        content_type="application/json",
        **beta_manager_key,
    ).json()["id"]
    response = call(
        client,
        "patch",
        f"/api/disputes/{beta_dispute}",
        world,
        Role.ADMINISTRATOR,
        json={"status": "waiting_internal"},
    )
    assert response.status_code == 404
    # Acme's 001 with Beta's item: the item is not one of this customer's.
    mixed = dispute(client, world, Role.ADMINISTRATOR, items=[beta_f1])
    assert mixed.status_code == 422
    assert Dispute.objects.filter(company=world.company).count() == 0
