"""``/api/activities``: recording a contact (with the web form's checks) and the list; who
may record on which customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incassa.dunning.models import Hold, HoldKind
from incassa.ledger.models import Role
from incassa.workspace.models import Activity, Promise, Task, TaskKind
from tests.api.conftest import ROLES, call

pytestmark = pytest.mark.django_db


def record(client, world, role, **fields):
    body = {"customer": "001", "kind": "call", **fields}
    return call(client, "post", "/api/activities", world, role, json=body)


def test_a_call_with_a_promise(client, world):
    f1 = world.item("F1")
    response = record(
        client,
        world,
        Role.COLLECTOR,
        items=[f1.pk],
        contact_person="Sig.ra Rossi",
        reaction="promises_to_pay",
        outcome="Paga entro il 15",
        promise_amount="800.00",
        promise_on="2026-04-15",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["reaction"], body["operator"]) == (
        "call",
        "promises_to_pay",
        "api-collector",
    )
    assert body["items"] == [f1.pk]
    assert body["customer"] == {"code": "001", "name": "Rossi S.r.l."}
    promise = Promise.objects.get()
    assert (promise.amount, promise.promised_on) == (Decimal("800.00"), dt.date(2026, 4, 15))
    assert promise.holds.filter(kind=HoldKind.PROMISE, receivable=f1).exists()


def test_the_next_action_becomes_a_task(client, world):
    response = record(
        client,
        world,
        Role.CREDIT_MANAGER,
        reaction="unreachable",
        next_action="Richiamare",
        next_action_on="2026-04-03",
    )
    assert response.status_code == 201
    task = Task.objects.get(kind=TaskKind.FOLLOW_UP)
    assert (task.title, task.due_on) == ("Richiamare", dt.date(2026, 4, 3))


def test_says_already_paid_holds_the_items(client, world):
    f1, f2 = world.item("F1"), world.item("F2")
    response = record(
        client, world, Role.ADMINISTRATOR, reaction="says_already_paid", items=[f1.pk, f2.pk]
    )
    assert response.status_code == 201
    held = Hold.objects.filter(kind=HoldKind.VERIFICATION, released_on__isnull=True)
    assert {hold.receivable for hold in held} == {f1, f2}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        # The web form's checks: a promise needs amount and date, items of the customer...
        ({"reaction": "promises_to_pay", "items": "F1", "promise_on": "2026-04-15"}, None),
        ({"reaction": "disputes"}, "items"),
        ({"next_action": "Richiamare"}, "next_action_on"),
        ({"items": "F3"}, "items"),  # 002's item
    ],
)
def test_invalid_activities_record_nothing(client, world, fields, field):
    if "items" in fields:
        fields = {**fields, "items": [world.item(fields["items"]).pk]}
    response = record(client, world, Role.CREDIT_MANAGER, **fields)
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["details"]
    if field:
        assert field in {detail["field"] for detail in error["details"]}
    assert not Activity.objects.exists()
    assert not Promise.objects.exists()


def test_schema_checks(client, world):
    for fields in ({"kind": "fax"}, {"promise_amount": 800}, {"items": [0]}):
        response = record(client, world, Role.CREDIT_MANAGER, **fields)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["field"].startswith("body.")


# Recording on 001 (the collector's portfolio) and on 002 (not theirs).
RECORDS = {
    Role.ADMINISTRATOR: (201, 201),
    Role.CREDIT_MANAGER: (201, 201),
    Role.COLLECTOR: (201, 403),
    Role.SALES_AGENT: (403, 403),
    Role.AUDITOR: (403, 403),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_record(client, world, role):
    for code, expected in zip(("001", "002"), RECORDS[role], strict=True):
        response = record(client, world, role, customer=code, kind="note")
        assert response.status_code == expected, (code, response.content)
    assert Activity.objects.count() == RECORDS[role].count(201)


def test_another_companys_customer_is_404(client, world):
    world.other.customers.create(code="999")
    response = record(client, world, Role.ADMINISTRATOR, customer="999")
    assert response.status_code == 404


def test_the_list(client, world):
    record(client, world, Role.CREDIT_MANAGER, customer="001", kind="note")
    record(client, world, Role.CREDIT_MANAGER, customer="002", kind="email")
    body = call(client, "get", "/api/activities", world, Role.AUDITOR).json()
    assert body["count"] == 2
    assert [(a["customer"]["code"], a["kind"]) for a in body["items"]] == [
        ("002", "email"),  # the latest first (same moment: the higher id)
        ("001", "note"),
    ]
    for params, expected in [
        ({"kind": "note"}, ["001"]),
        ({"customer": "002"}, ["002"]),
        ({"date_from": "2026-04-01", "date_to": "2026-04-01"}, ["002", "001"]),
        ({"date_from": "2026-04-02"}, []),
    ]:
        body = call(client, "get", "/api/activities", world, Role.AUDITOR, data=params).json()
        assert [a["customer"]["code"] for a in body["items"]] == expected
    agent = call(client, "get", "/api/activities", world, Role.SALES_AGENT).json()
    assert [a["customer"]["code"] for a in agent["items"]] == ["001"]
