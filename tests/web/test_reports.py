"""The reports page: the KPIs of the command's ledger (tests/credit/management/commands/
test_kpi.py explains every figure), by scope, exported, and what a sales agent sees."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from incassa.ledger.models import CustomerCategory, Role, SalesAgent
from tests.credit.management.commands.test_kpi import ledger  # noqa: F401  (the fixture)
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

REPORTS = reverse("web:reports")
PARAMS = {"as_of": "2026-03-31", "start": "2026-01-01"}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


def test_the_company_figures(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="it")
    html = get(client, REPORTS, PARAMS)
    # Open 4.500,00 and overdue 2.500,00 (F2 500 + F4 2.000), as in the command's tests.
    assert "4.500,00\xa0€" in html and "2.500,00\xa0€" in html
    assert "31/03/2026" in html and "01/01/2026" in html


def test_a_category(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="it")
    category = CustomerCategory.objects.get(company=ledger, code="DIS")
    html = get(client, REPORTS, {**PARAMS, "scope": f"category:{category.pk}"})
    # Beta alone: F2 500 + F4 2.000 open, both overdue.
    assert html.count("2.500,00\xa0€") >= 2


def test_export(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="it")
    response = client.get(REPORTS, {**PARAMS, "export": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="kpi-20260331.csv"'
    text = response.content.decode("utf-8-sig")
    assert "4500,00;EUR" in text


def test_a_period_after_the_date_is_explained(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="en")
    html = get(client, REPORTS, {"as_of": "2026-03-01", "start": "2026-03-15"})
    assert "The period must start on or before the date of the report." in html


def test_a_sales_agent_sees_their_customers(client, ledger):  # noqa: F811
    logged_in(client, ledger, Role.SALES_AGENT, language="it")
    user = client.session["_auth_user_id"]
    SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user_id=user)
    # Asking for the whole company still gives Alfa's figures: F3 1.234,56 + F5 765,44.
    html = get(client, REPORTS, {**PARAMS, "scope": "company"})
    assert "2.000,00\xa0€" in html
    assert "4.500,00" not in html
