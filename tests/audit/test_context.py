"""Who is acting: the request's user, address and id; a command's; the API's."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from incassa.audit.context import AuditMiddleware, audit_context, client_ip, current
from incassa.audit.models import AuditEntry, Source
from incassa.dunning.models import Exclusion
from incassa.ledger.models import Role
from tests.factories import CustomerFactory, UserFactory
from tests.web.test_customers import logged_in

pytestmark = pytest.mark.django_db


def test_a_change_from_a_page_records_the_user_address_and_request(client, company):
    customer = CustomerFactory(company=company, code="001")
    logged_in(client, company, Role.CREDIT_MANAGER, username="paola")
    response = client.post(
        reverse("web:customer", args=["001"]),
        {"op": "exclude", "reason": "Cliente strategico"},
        REMOTE_ADDR="198.51.100.7",
        HTTP_X_REQUEST_ID="req-42",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "req-42"
    exclusion = Exclusion.objects.get(customer=customer)
    entry = AuditEntry.objects.get(object_type="dunning.exclusion")
    assert (entry.action, entry.username, entry.source, entry.ip, entry.request_id) == (
        "create",
        "paola",
        "web",
        "198.51.100.7",
        "req-42",
    )
    assert entry.company_id == company.pk
    assert entry.after["reason"] == "Cliente strategico"
    assert entry.object_id == str(exclusion.pk)


def test_a_request_id_that_is_not_plain_is_replaced(rf: RequestFactory):
    middleware = AuditMiddleware(lambda request: HttpResponse())
    response = middleware(rf.get("/", HTTP_X_REQUEST_ID="<script>"))
    assert len(response["X-Request-ID"]) == 32


def test_the_api_is_its_own_source(rf: RequestFactory):
    seen = {}

    def view(request):
        seen["source"] = current().source
        return HttpResponse()

    AuditMiddleware(view)(rf.get("/api/v1/customers"))
    assert seen["source"] == Source.API
    # Outside a request: a command.
    assert current().source == Source.COMMAND


def test_the_api_tokens_user_is_the_actor(rf: RequestFactory):
    user = UserFactory(username="integration")
    seen = {}

    def view(request):
        request.auth = type("Access", (), {"user": user})()  # as Django Ninja sets it
        seen["user"] = current().acting_user()
        return HttpResponse()

    request = rf.get("/api/v1/customers")
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    AuditMiddleware(view)(request)
    assert seen["user"] == user


def test_a_command_can_name_its_user(company):
    user = UserFactory(username="batch")
    with audit_context(user=user, source=Source.COMMAND):
        CustomerFactory(company=company, code="B1")
    entry = AuditEntry.objects.get(object_type="ledger.customer")
    assert (entry.username, entry.source) == ("batch", "command")
    assert len(entry.request_id) == 32


def test_client_address_behind_proxies(rf: RequestFactory, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert client_ip(request) == "10.0.0.2"  # no proxy trusted: the forwarded header is ignored
    settings.INCASSA_TRUSTED_PROXIES = 1
    # One proxy: the address it saw is the last one it appended; "1.2.3.4" could be forged.
    assert client_ip(request) == "203.0.113.9"
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="not-an-address")
    assert client_ip(request) is None
