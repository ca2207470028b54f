"""The API as a whole: its OpenAPI description and docs, the one error format, and
schemathesis fuzzing every operation against the description (no server error, no answer
the description does not allow)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from incassa.ledger.models import Role

pytestmark = pytest.mark.django_db

# Bounded so that the fuzzing takes about half a minute in all.
EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_openapi_description_is_served_and_valid(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Incassa API"
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }
    expected = {
        "/api/customers": {"get"},
        "/api/customers/{code}": {"get"},
        "/api/customers/{code}/items": {"get"},
        "/api/items": {"get"},
        "/api/items/{item_id}": {"get"},
        "/api/imports": {"get", "post"},
        "/api/inbox": {"get", "post"},
        "/api/imports/{import_id}": {"get"},
        "/api/dunning/preview": {"get"},
        "/api/actions": {"get"},
        "/api/actions/{action_id}/approve": {"post"},
        "/api/actions/{action_id}/reject": {"post"},
        "/api/activities": {"get", "post"},
        "/api/promises": {"get", "post"},
        "/api/disputes": {"get", "post"},
        "/api/disputes/{dispute_id}": {"patch"},
    }
    assert {path: set(ops) for path, ops in schema["paths"].items()} == expected
    # Money is documented as a string with two decimals.
    amount = schema["components"]["schemas"]["CustomerOut"]["properties"]["open_amount"]
    assert (amount["type"], amount["pattern"]) == ("string", r"^-?[0-9]+\.[0-9]{2}$")
    # schemathesis refuses an invalid OpenAPI document.
    loaded = schemathesis.openapi.from_dict(schema)
    assert len([op for op in loaded.get_all_operations() if op.ok()]) == 21  # 13 reads, 8 writes


def test_the_docs_are_served(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger" in page.lower() and "/api/openapi.json" in page


def test_an_unknown_address_is_a_404_in_the_error_format(client, world):
    for url in ("/api/nothing", "/api/items/1/nothing", "/api/nothing%0A"):
        response = client.get(url, **world.headers(Role.AUDITOR))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/api/nothing").status_code == 404  # without a token too


def test_an_invalid_json_body(client, world):
    response = client.post(
        "/api/activities",
        data="{not json",
        content_type="application/json",
        **world.headers(Role.CREDIT_MANAGER),
    )
    assert response.status_code in {400, 422}
    assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.fixture
def fuzzed_schema():
    """The schema, called through the WSGI application. Like Django's test client, the
    requests must not close the database connection at their end (``close_old_connections``
    on request_started/finished): on PostgreSQL that would close the test's own
    transaction's connection (SQLite's in-memory database ignores the close)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def fuzz(schema, role_key: str, methods: set[str], examples: int) -> list[str]:
    """Run every operation of ``methods`` on generated requests with the token; return the
    operations run."""
    headers = {"Authorization": f"Bearer {role_key}"}
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in methods:
            continue

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(headers=headers))
        def check(case) -> None:
            response = case.call()
            case.validate_response(response, checks=CHECKS)

        check()
        ran.append(f"{operation.method.upper()} {operation.path}")
    return ran


def test_fuzzing_the_reads_with_every_role(world, fuzzed_schema):
    # The sales agent's narrower view, fewer examples: the same code answers.
    for role, examples in ((Role.CREDIT_MANAGER, EXAMPLES_PER_OPERATION), (Role.SALES_AGENT, 5)):
        ran = fuzz(fuzzed_schema, world.keys[role], {"GET"}, examples)
        assert len(ran) == 13


def test_fuzzing_the_writes_with_a_credit_managers_token(world, fuzzed_schema):
    ran = fuzz(
        fuzzed_schema, world.keys[Role.CREDIT_MANAGER], {"POST", "PATCH"}, EXAMPLES_PER_OPERATION
    )
    assert len(ran) == 8
