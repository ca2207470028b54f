"""Message templates in the web app: the list, the preview on a customer, saving a new
version, a text with errors, and who may edit."""

from __future__ import annotations

import datetime as dt
import re
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


# --- the customer previewed on ----------------------------------------------------------------
# Chosen by bounded reads of the indexes (the customers of the items that fell due last),
# first the earliest of them owing at most PREVIEW_ITEMS_MAX (3) open items: a one-page
# statement, never the ledger's longest one.


def owing(company, name: str, dues: list[dt.date]):
    customer = CustomerFactory(company=company, name=name)
    for n, due in enumerate(dues):
        ReceivableFactory(
            company=company,
            customer=customer,
            document_number=f"{name[:3]}-{n}",
            due_date=due,
            open_amount=Decimal("100.00"),
        )
    return customer


def preview_select(html: str) -> tuple[list[str], str]:
    select = html[html.index('<select id="preview-customer"') :]
    select = select[: select.index("</select>")]
    names = re.findall(r"<option [^>]*>([^<]+)</option>", select)
    chosen = re.search(r"<option [^>]*selected>([^<]+)</option>", select)
    return names, chosen.group(1) if chosen else ""


def test_the_customer_previewed_first_owes_few_items(client, company, reminder):
    # Rossi's F1 fell due on 01/03; Verdi's 4 items on 20/03 (more than 3); Bianchi's 2 on
    # 10/03; Neri's item falls due on 30/04 (not late: only if nobody were).
    owing(company, "Verdi", [dt.date(2026, 3, 20)] * 4)
    owing(company, "Bianchi", [dt.date(2026, 3, 10), dt.date(2026, 2, 1)])
    owing(company, "Neri", [dt.date(2026, 4, 30)])
    logged_in(client, company, language="en")
    html = get(client, reverse("web:message_template", args=[reminder.pk]))
    names, chosen = preview_select(html)
    # The latest due first: Verdi (20/03), Bianchi (10/03), Rossi (01/03).
    assert names == ["Verdi", "Bianchi", "Rossi S.r.l."]
    assert chosen == "Bianchi"  # Verdi owes 4 items


def test_when_nobody_is_late_the_next_due_are_offered(client, company):
    template = MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="email", language="it"
    )
    owing(company, "Neri", [dt.date(2026, 4, 30)])
    owing(company, "Gialli", [dt.date(2026, 4, 10)] * 5)
    logged_in(client, company, language="en")
    names, chosen = preview_select(get(client, reverse("web:message_template", args=[template.pk])))
    assert names == ["Gialli", "Neri"]  # due 10/04, then 30/04
    assert chosen == "Neri"  # Gialli owes 5


def test_every_customer_owes_many_the_one_owing_fewest_is_first(client, company, monkeypatch):
    monkeypatch.setattr("incassa.web.message_templates.PREVIEW_ITEMS_MAX", 1)
    template = MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="email", language="it"
    )
    owing(company, "Verdi", [dt.date(2026, 3, 20)] * 3)
    owing(company, "Bianchi", [dt.date(2026, 3, 10)] * 2)
    logged_in(client, company, language="en")
    names, chosen = preview_select(get(client, reverse("web:message_template", args=[template.pk])))
    assert (names, chosen) == (["Verdi", "Bianchi"], "Bianchi")


def test_another_companys_customers_are_not_offered(client, company, reminder):
    owing(CompanyFactory(code="altra"), "Estranei", [dt.date(2026, 3, 30)])
    logged_in(client, company, language="en")
    names, chosen = preview_select(get(client, reverse("web:message_template", args=[reminder.pk])))
    assert (names, chosen) == (["Rossi S.r.l."], "Rossi S.r.l.")
