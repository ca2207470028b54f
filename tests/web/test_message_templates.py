"""Message templates in the web app: the list, the preview on a customer, saving a new
version, a text with errors, and who may edit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from incassa.comms.models import MessageTemplate
from incassa.ledger.models import Role
from tests.factories import CompanyFactory, CustomerFactory, ReceivableFactory
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
LIST = reverse("web:message_templates")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def reminder(company):
    """The Italian email of the first reminder, and a customer with a late item."""
    customer = CustomerFactory(company=company, name="Rossi S.r.l.", emails="amm@rossi.it")
    ReceivableFactory(
        company=company,
        customer=customer,
        document_number="F1",
        due_date=dt.date(2026, 3, 1),
        open_amount=Decimal("1234.56"),
    )
    return MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="email", language="it"
    )


def test_the_list(client, company, reminder):
    logged_in(client, company, language="en")
    html = get(client, LIST)
    assert reverse("web:message_template", args=[reminder.pk]) in html


def test_preview_on_a_customer(client, company, reminder):
    logged_in(client, company, language="en")
    html = get(client, reverse("web:message_template", args=[reminder.pk]))
    preview = html[html.index('id="preview-title"') :]
    assert "Rossi S.r.l." in preview
    assert "F1" in preview and "1.234,56" in preview  # the Italian text lists the item
    assert "<iframe" in preview and "sandbox" in preview


def test_preview_an_unsaved_text_then_save_it(client, company, reminder):
    logged_in(client, company, language="en")
    url = reverse("web:message_template", args=[reminder.pk])
    data = {
        "name": reminder.name,
        "subject": "Promemoria {{ customer.name }}",
        "body": reminder.body,
    }
    response = client.post(url, {**data, "preview": "1"})
    assert response.status_code == 200
    assert "Promemoria Rossi S.r.l." in response.content.decode()
    reminder.refresh_from_db()
    assert reminder.version == 1  # a preview saves nothing
    response = client.post(url, {**data, "save": "1"})
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert (reminder.version, reminder.subject) == (2, "Promemoria {{ customer.name }}")


def test_a_text_with_errors_is_not_saved(client, company, reminder):
    logged_in(client, company, language="en")
    url = reverse("web:message_template", args=[reminder.pk])
    response = client.post(
        url, {"name": reminder.name, "subject": "{{ customer.name", "body": "x", "save": "1"}
    )
    assert response.status_code == 400
    assert "The text has errors and was not saved:" in response.content.decode()
    reminder.refresh_from_db()
    assert reminder.version == 1


def test_the_pdf_of_a_letter(client, company, reminder):
    letter = MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="letter", language="it"
    )
    logged_in(client, company, language="en")
    response = client.get(reverse("web:message_template_pdf", args=[letter.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("role", "read", "save"),
    [
        (Role.CREDIT_MANAGER, 200, 302),
        (Role.COLLECTOR, 200, 403),
        (Role.AUDITOR, 200, 403),
        (Role.SALES_AGENT, 403, 403),
    ],
)
def test_who_may_edit(client, company, reminder, role, read, save):
    logged_in(client, company, role, language="en")
    url = reverse("web:message_template", args=[reminder.pk])
    assert client.get(url).status_code == read
    data = {"name": "x", "subject": "s", "body": "b", "save": "1"}
    assert client.post(url, data).status_code == save


def test_another_companys_template_is_not_found(client, company):
    other = MessageTemplate.objects.filter(company=CompanyFactory()).first()
    logged_in(client, company, language="en")
    assert client.get(reverse("web:message_template", args=[other.pk])).status_code == 404
