"""``/api/dunning/preview`` and ``/api/actions``: the outlook, the actions, and who may
approve or reject them. The world's two actions are courtesy calls of 31/03 waiting for
approval: 001's (F1, 1.000,00; in the collector's portfolio) and 002's (F3, 2.000,00)."""

from __future__ import annotations

import pytest

from incassa.dunning.models import Action, ActionStatus
from incassa.ledger.models import Role
from tests.api.conftest import ROLES, call

pytestmark = pytest.mark.django_db


def action_of(world, code: str, company=None) -> Action:
    return Action.objects.get(company=company or world.company, customer__code=code)


def test_the_outlook(client, world):
    response = call(
        client, "get", "/api/dunning/preview", world, Role.CREDIT_MANAGER, data={"days": 7}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["start"] == "2026-04-01"
    assert [day["day"] for day in body["days"]][::6] == ["2026-04-01", "2026-04-07"]
    busy = {day["day"]: day for day in body["days"] if day["item_steps"]}
    # F4 (due 10/04) gets the friendly reminder 5 days before: on 05/04. F1 and F3 wait for
    # their call's approval; F2 (due 30/04) is too far. 003 has no email address, so the
    # reminder goes out as a letter.
    assert list(busy) == ["2026-04-05"]
    assert busy["2026-04-05"]["by_step"] == {"pre-due": 1}
    assert busy["2026-04-05"]["by_channel"] == {"letter": 1}


def test_the_outlook_is_bounded_and_company_wide(client, world):
    for days in (0, 32):
        response = call(
            client, "get", "/api/dunning/preview", world, Role.AUDITOR, data={"days": days}
        )
        assert response.status_code == 422
    agent = call(client, "get", "/api/dunning/preview", world, Role.SALES_AGENT)
    assert agent.status_code == 403


def test_the_actions(client, world):
    body = call(client, "get", "/api/actions", world, Role.AUDITOR).json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["customer"]["code"] == "001"
    assert first["step"]["code"] == "courtesy-call"
    assert (first["channel"], first["status"], first["scheduled_on"]) == (
        "call",
        "created",
        "2026-03-31",
    )
    assert (first["waiting_for_approval"], first["item_count"], first["total_amount"]) == (
        True,
        1,
        "1000.00",
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "created"}, ["001", "002"]),
        ({"status": "sent"}, []),
        ({"channel": "call"}, ["001", "002"]),
        ({"channel": "email"}, []),
        ({"date": "2026-03-31"}, ["001", "002"]),
        ({"date": "2026-03-27"}, []),
        ({"customer": "002"}, ["002"]),
        ({"waiting": "true"}, ["001", "002"]),
        ({"waiting": "false"}, []),
    ],
)
def test_action_filters(client, world, params, expected):
    body = call(client, "get", "/api/actions", world, Role.AUDITOR, data=params).json()
    assert [row["customer"]["code"] for row in body["items"]] == expected


def test_a_sales_agent_sees_their_customers_actions(client, world):
    body = call(client, "get", "/api/actions", world, Role.SALES_AGENT).json()
    assert [row["customer"]["code"] for row in body["items"]] == ["001"]


def test_approve_then_reject(client, world):
    action = action_of(world, "001")
    response = call(client, "post", f"/api/actions/{action.pk}/approve", world, Role.CREDIT_MANAGER)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["waiting_for_approval"]) == ("approved", False)
    assert body["decided_by"] == "api-credit-manager"
    again = call(client, "post", f"/api/actions/{action.pk}/approve", world, Role.CREDIT_MANAGER)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    # An approved call not yet made may still be rejected.
    rejected = call(
        client,
        "post",
        f"/api/actions/{action.pk}/reject",
        world,
        Role.CREDIT_MANAGER,
        json={"reason": "cliente in trattativa"},
    )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["note"]) == (
        "rejected",
        "cliente in trattativa",
    )
    late = call(
        client,
        "post",
        f"/api/actions/{action.pk}/reject",
        world,
        Role.CREDIT_MANAGER,
        json={"reason": "ancora"},
    )
    assert late.status_code == 409


def test_a_rejection_needs_its_reason(client, world):
    action = action_of(world, "001")
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        response = call(
            client, "post", f"/api/actions/{action.pk}/reject", world, Role.ADMINISTRATOR, json=body
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid"
    assert action_of(world, "001").status == ActionStatus.CREATED


# Who may decide on 001's action (the collector's portfolio) and on 002's (not theirs).
DECIDES = {
    Role.ADMINISTRATOR: (200, 200),
    Role.CREDIT_MANAGER: (200, 200),
    Role.COLLECTOR: (200, 403),
    Role.SALES_AGENT: (403, 403),
    Role.AUDITOR: (403, 403),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_who_may_decide(client, world, role, decision):
    for code, expected in zip(("001", "002"), DECIDES[role], strict=True):
        action = action_of(world, code)
        response = call(
            client,
            "post",
            f"/api/actions/{action.pk}/{decision}",
            world,
            role,
            json={"reason": "no"},
        )
        assert response.status_code == expected, (code, response.content)
        if expected == 403:
            assert response.json()["error"]["code"] == "forbidden"
            assert action_of(world, code).status == ActionStatus.CREATED


def test_another_companys_action_is_404(client, world):
    beta = action_of(world, "001", world.other)
    response = call(client, "post", f"/api/actions/{beta.pk}/approve", world, Role.ADMINISTRATOR)
    assert response.status_code == 404
    assert action_of(world, "001", world.other).status == ActionStatus.CREATED
