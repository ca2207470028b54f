"""A method an API address does not accept is answered in the API's error format."""

from __future__ import annotations

import pytest
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_a_wrong_method_gets_the_error_format(client):
    with translation.override("en"):
        response = client.delete("/api/customers", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET"
    body = response.json()["error"]
    assert body["code"] == "method_not_allowed"
    assert "DELETE" in body["message"] and "GET" in body["message"]
    assert body["details"] == []


def test_other_pages_keep_djangos_answer(client):
    # Outside the API, Django's own 405 (the logout accepts POST only) stays as it is.
    response = client.get("/logout/")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("text/html")
