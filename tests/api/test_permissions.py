"""The permission matrix of the REST API: every operation of its OpenAPI description, for
every role's token, against the world of ``tests/web/test_permissions.py`` (Alfa with a
member and a token of each role, its customers A01, the sales agent's and in the
collector's portfolio, and A02, another agent's and in nobody's; Beta with B01).

``OPERATIONS`` says which roles may call each operation and what they get;
``test_every_operation_is_in_the_table`` reads ``/api/openapi.json``: an endpoint added
without deciding its permissions fails it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.web import test_permissions as matrix
from tests.web.test_permissions import (
    ACTING,
    ADM,
    ALL,
    AUD,
    B_MARKS,
    CM,
    COL,
    HIDDEN_MARKS,
    MANAGERS,
    ROLES,
    SA,
    WHOLE_COMPANY,
    World,
    snapshot_file,
)

pytestmark = pytest.mark.django_db

# The web matrix's world and its files, built once for this module too.
media_root = matrix.media_root
world = matrix.world
_mail_and_files = matrix._mail_and_files
scratch = matrix.scratch

Build = Callable[[World, str], dict[str, Any]]


def _none(w: World, scope: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Operation:
    """Who may call one operation. ``portfolio``: a write a collector may make only for the
    customers of their portfolio (403 otherwise). ``customer_scoped``: its object belongs
    to a customer, so a sales agent reaches it only for their own (404 otherwise)."""

    roles: frozenset[str]
    status: int
    path: Build = _none
    body: Build = _none
    portfolio: bool = False
    customer_scoped: bool = False
    upload: bool = False

    @property
    def has_object(self) -> bool:
        return self.path is not _none or self.body is not _none


def _obj(name: str, key: str) -> Build:
    return lambda w, scope: {key: w.of(scope, name)}


def _items(name: str, **extra: Any) -> Build:
    return lambda w, scope: {
        "customer": w.of(scope, "customer"),
        "items": [w.of(scope, "spare_item")],
        **extra,
    }


OPERATIONS: dict[tuple[str, str], Operation] = {
    ("GET", "/api/customers"): Operation(ALL, 200),
    ("GET", "/api/customers/{code}"): Operation(
        ALL, 200, _obj("customer", "code"), customer_scoped=True
    ),
    ("GET", "/api/customers/{code}/items"): Operation(
        ALL, 200, _obj("customer", "code"), customer_scoped=True
    ),
    ("GET", "/api/items"): Operation(ALL, 200),
    ("GET", "/api/items/{item_id}"): Operation(
        ALL, 200, _obj("item", "item_id"), customer_scoped=True
    ),
    ("POST", "/api/imports"): Operation(MANAGERS, 201, upload=True),
    ("GET", "/api/imports"): Operation(WHOLE_COMPANY, 200),
    ("POST", "/api/inbox"): Operation(MANAGERS, 201, upload=True),
    ("GET", "/api/inbox"): Operation(WHOLE_COMPANY, 200),
    ("GET", "/api/imports/{import_id}"): Operation(
        WHOLE_COMPANY, 200, _obj("import_run", "import_id")
    ),
    ("GET", "/api/dunning/preview"): Operation(WHOLE_COMPANY, 200),
    ("GET", "/api/actions"): Operation(ALL, 200),
    ("POST", "/api/actions/{action_id}/approve"): Operation(
        ACTING, 200, _obj("action", "action_id"), portfolio=True, customer_scoped=True
    ),
    ("POST", "/api/actions/{action_id}/reject"): Operation(
        ACTING,
        200,
        _obj("action", "action_id"),
        lambda w, s: {"reason": "già pagato"},
        portfolio=True,
        customer_scoped=True,
    ),
    ("GET", "/api/activities"): Operation(ALL, 200),
    ("POST", "/api/activities"): Operation(
        ACTING,
        201,
        body=lambda w, scope: {"customer": w.of(scope, "customer"), "kind": "note"},
        portfolio=True,
        customer_scoped=True,
    ),
    ("GET", "/api/promises"): Operation(ALL, 200),
    ("POST", "/api/promises"): Operation(
        ACTING,
        201,
        body=_items("promise", promised_on="2026-04-15"),
        portfolio=True,
        customer_scoped=True,
    ),
    ("GET", "/api/disputes"): Operation(ALL, 200),
    ("POST", "/api/disputes"): Operation(
        ACTING,
        201,
        body=_items("dispute", reason="quality"),
        portfolio=True,
        customer_scoped=True,
    ),
    ("PATCH", "/api/disputes/{dispute_id}"): Operation(
        ACTING,
        200,
        _obj("dispute", "dispute_id"),
        lambda w, s: {"note": "sollecitata"},
        portfolio=True,
        customer_scoped=True,
    ),
}


def send(client, world: World, method: str, path: str, key: str | None, scope: str = "own"):
    """The operation ``(method, path)`` on ``scope``'s objects, with the token ``key``."""
    operation = OPERATIONS[(method, path)]
    url = path.format(**{k: str(v) for k, v in operation.path(world, scope).items()})
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    if operation.upload:
        content = snapshot_file(matrix._scratch(), world.a.code, ["own", "hidden"]).read_bytes()
        data = {
            "file": SimpleUploadedFile("scadenziario.csv", content, content_type="text/csv"),
            "as_of": "2026-04-01",
        }
        return client.post(url, data, **headers)
    if method == "GET":
        return client.get(url, **headers)
    return getattr(client, method.lower())(
        url, operation.body(world, scope), content_type="application/json", **headers
    )


def test_every_operation_is_in_the_table(client):
    schema = client.get("/api/openapi.json").json()
    described = {
        (method.upper(), path) for path, methods in schema["paths"].items() for method in methods
    }
    assert described == set(OPERATIONS)


CASES = [
    pytest.param(method, path, role, id=f"{method} {path}-{role}")
    for (method, path) in OPERATIONS
    for role in ROLES
]


@pytest.mark.parametrize(("method", "path", "role"), CASES)
def test_each_role(client, world, method, path, role):
    """Alfa's token of ``role`` on A01 (the sales agent's customer, in the collector's
    portfolio): the operation's answer for the roles that may, 403 for the others; and
    no answer names Beta's data, nor another agent's for the sales agent."""
    operation = OPERATIONS[(method, path)]
    response = send(client, world, method, path, world.keys[role])
    if role not in operation.roles:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
        return
    assert response.status_code == operation.status, response.content[:300]
    text = response.content.decode()
    for mark in B_MARKS:
        assert mark not in text
    if role == SA:
        for mark in HIDDEN_MARKS:
            assert mark not in text


OBJECT_CASES = [
    pytest.param(method, path, role, id=f"{method} {path}-{role}")
    for (method, path), operation in OPERATIONS.items()
    if operation.has_object
    for role in ROLES
]


@pytest.mark.parametrize(("method", "path", "role"), OBJECT_CASES)
def test_beta_ids_are_not_found(client, world, method, path, role):
    """Beta's ids and codes with Alfa's token answer as ids that do not exist: 404 for
    the roles that may call the operation, the same refusal for the others."""
    operation = OPERATIONS[(method, path)]
    key = world.keys[role]
    missing = send(client, world, method, path, key, "missing").status_code
    found = send(client, world, method, path, key, "b").status_code
    assert found == missing
    assert found == (404 if role in operation.roles else 403)


@pytest.mark.parametrize(
    ("method", "path"), [op for op, operation in OPERATIONS.items() if operation.has_object]
)
def test_beta_token_on_alfa_ids(client, world, method, path):
    """And the other way round: Beta's credit manager on Alfa's objects."""
    assert send(client, world, method, path, world.keys["b"]).status_code == 404


SCOPED = [op for op, operation in OPERATIONS.items() if operation.customer_scoped]


@pytest.mark.parametrize(("method", "path"), SCOPED)
def test_sales_agent_on_another_agents_customer(client, world, method, path):
    """Another agent's customer is a 404 for reads; writes are refused before (403)."""
    operation = OPERATIONS[(method, path)]
    status = send(client, world, method, path, world.keys[SA], "hidden").status_code
    assert status == (403 if SA not in operation.roles else 404)


PORTFOLIO = [op for op, operation in OPERATIONS.items() if operation.portfolio]


@pytest.mark.parametrize(("method", "path"), PORTFOLIO)
def test_collector_writes_only_for_their_portfolio(client, world, method, path):
    """A02 is in nobody's portfolio: the collector may not work it, a manager may."""
    operation = OPERATIONS[(method, path)]
    response = send(client, world, method, path, world.keys[COL], "hidden")
    assert response.status_code == 403
    assert send(client, world, method, path, world.keys[CM], "hidden").status_code == (
        operation.status
    )


@pytest.mark.parametrize(("method", "path"), list(OPERATIONS))
def test_no_token_is_unauthenticated(client, world, method, path):
    response = send(client, world, method, path, None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "path",
    [
        "/api/customers",
        "/api/items",
        "/api/actions",
        "/api/activities",
        "/api/promises",
        "/api/disputes",
    ],
)
@pytest.mark.parametrize("role", [ADM, AUD, SA])
def test_filtering_by_a_beta_customer_finds_nothing(client, world, path, role):
    """A list filtered by Beta's customer code is empty (or that code is not found)."""
    params = {"q": "B01"} if path in {"/api/customers"} else {"customer": "B01"}
    response = client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {world.keys[role]}")
    if response.status_code == 404:
        return
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_a_sales_agents_lists_hold_their_customer_only(client, world):
    """A01's promise, dispute, item and activity lists: the agent sees A01 alone."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.keys[SA]}"}
    for path in ("/api/customers", "/api/items", "/api/promises", "/api/disputes"):
        rows = client.get(path, **headers).json()["items"]
        codes = {row["code"] if "code" in row else row["customer"]["code"] for row in rows}
        assert codes == {"A01"}, path
