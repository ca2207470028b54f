"""The effectiveness page: who may see it, the period, the tables and the customers for whom
nothing works, with a link to each and a suggestion.

Today is 30/04/2026; the default period is the last 90 days, 31/01 to 30/04. Company acme:
  Alfa: F1 1.000,00 paid on 06/02, F2 500,00 open (both due 01/01); the first reminder
        (a letter) went out on 01/02 for both: 1.000 of 1.500 collected within 7 days
        (66.7%), F1 paid after 5 days, F2 still open.
  Beta: G1 200,00 due 01/02, at the hand-over step since 01/03 (60 days) and still open:
        not working, hand it over.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.urls import reverse

from incassa.dunning.models import ActionStatus, ItemProgress, Step
from incassa.ledger.models import Role
from tests.factories import CompanyFactory, CustomerFactory, action_with_items
from tests.web.test_customers import get, logged_in
from tests.workspace.test_selectors import at, gone_out, item

pytestmark = pytest.mark.django_db

D = dt.date
URL = reverse("web:effectiveness")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 4, 30, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def ledger(company):
    alfa = CustomerFactory(company=company, code="ALFA", name="Alfa S.r.l.")
    beta = CustomerFactory(company=company, code="BETA", name="Beta S.p.A.")
    f1 = item(company, alfa, "F1", "1000.00", D(2026, 1, 1), paid_on=D(2026, 2, 6))
    f2 = item(company, alfa, "F2", "500.00", D(2026, 1, 1))
    g1 = item(company, beta, "G1", "200.00", D(2026, 2, 1))
    reminder = action_with_items(company, alfa, "first-reminder", [f1, f2], day=D(2026, 2, 1))
    gone_out(reminder, ActionStatus.SENT, at(D(2026, 2, 1)))
    last = Step.objects.filter(strategy__company=company).order_by("-position").first()
    ItemProgress.objects.create(receivable=g1, step=last, reached_on=D(2026, 3, 1))
    return company


def notices(html: str) -> list[str]:
    found = re.findall(r'<div class="notice notice--\w+" role="\w+">\s*<p>(.*?)</p>', html, re.S)
    return [unescape(text) for text in found]


def rows(html: str, table: str) -> list[str]:
    return re.findall(rf'<tr data-row="{table}:([^"]+)">', html)


def listed(html: str) -> list[str]:
    return re.findall(r'<tr data-customer="([^"]+)">', html)


def test_login_is_required(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "login" in response.url


@pytest.mark.parametrize(
    "role", [Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.AUDITOR]
)
def test_every_role_but_sales_agents_sees_it(client, ledger, role):
    logged_in(client, ledger, role, language="en")
    html = get(client, URL)
    assert "<h1>Effectiveness</h1>" in html
    assert f'href="{URL}" aria-current="page"' in html  # the navigation's link


def test_sales_agents_are_refused_and_not_offered_the_link(client, ledger):
    logged_in(client, ledger, Role.SALES_AGENT, language="en")
    get(client, URL, status=403)
    assert f'href="{URL}"' not in get(client, reverse("web:dashboard"))


def test_it_only_reads(client, ledger):
    logged_in(client, ledger, Role.CREDIT_MANAGER)
    assert client.post(URL).status_code == 405
    logged_in(client, ledger, Role.AUDITOR)
    assert client.post(URL).status_code == 403


def test_the_tables_with_their_figures(client, ledger):
    logged_in(client, ledger, Role.COLLECTOR, language="en")
    html = get(client, URL)
    assert "Contacts from 31/01/2026 to 30/04/2026" in html
    assert 'name="from" value="2026-01-31"' in html and 'name="to" value="2026-04-30"' in html
    step = Step.objects.get(strategy__company=ledger, code="first-reminder")
    assert rows(html, "steps") == [str(step.pk)]
    assert rows(html, "channels") == ["letter"]
    assert rows(html, "strategies") == [str(step.strategy_id)]
    assert rows(html, "activity-kinds") == []
    assert "No contact of this kind in the period." in html
    row = html[html.index('<tr data-row="channels:letter">') :]
    row = row[: row.index("</tr>")]
    # 1.000 of 1.500 within 7, 15 and 30 days; F1 paid after 5 days; F2 still open.
    assert "€1,500.00" in row
    assert row.count("66.7%") == 3
    assert '<td class="num" data-label="Median days to payment">5</td>' in row
    assert "1 / 1" in row


def test_the_customers_where_it_is_not_working(client, ledger):
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL)
    assert listed(html) == ["BETA"]
    entry = html[html.index('<tr data-customer="BETA">') :]
    entry = entry[: entry.index("</tr>")]
    assert f'href="{reverse("web:customer", args=["BETA"])}"' in entry
    assert "The sequence ended 60 days ago and €200.00 is still open on 1 item" in entry
    assert "Hand the items over to a collection agency or lawyer" in entry
    assert "€200.00" in entry  # overdue today


def test_a_chosen_period(client, ledger):
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL, {"from": "2026-02-02", "to": "2026-04-30"})
    assert "Contacts from 02/02/2026 to 30/04/2026" in html
    assert rows(html, "steps") == []  # the reminder went out on 01/02
    # Only "to": the 90 days before it.
    html = get(client, URL, {"to": "2026-03-31"})
    assert "Contacts from 01/01/2026 to 31/03/2026" in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "2026-04-30", "to": "2026-02-01"}, "The period ends before it starts."),
        ({"from": "31/02/2026"}, "From: Enter a valid date."),
        ({"from": "2026-05-10"}, "The period ends before it starts."),
    ],
)
def test_a_wrong_period_is_a_message_and_the_default(client, ledger, params, message):
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL, params)
    assert message in notices(html)
    assert "Contacts from 31/01/2026 to 30/04/2026" in html


def test_another_companys_contacts_do_not_count(client, ledger):
    other = CompanyFactory(code="altra")
    customer = CustomerFactory(company=other, code="ZETA")
    receivable = item(other, customer, "Z1", "900.00", D(2026, 1, 1))
    action = action_with_items(other, customer, "courtesy-call", [receivable], day=D(2026, 2, 1))
    gone_out(action, ActionStatus.DONE, at(D(2026, 2, 1)))
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL)
    assert rows(html, "channels") == ["letter"]
    assert "ZETA" not in html


def test_italian_numbers(client, ledger):
    logged_in(client, ledger, Role.CREDIT_MANAGER)
    html = get(client, URL)
    assert "1.500,00\xa0€" in html and "66,7%" in html


def test_a_long_list_is_cut_and_says_how_many_more(client, ledger, monkeypatch):
    monkeypatch.setattr("incassa.web.effectiveness.NOT_WORKING_SHOWN", 0)
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL)
    assert listed(html) == []
    assert "And 1 more customer: the command <code>incassa effectiveness --json</code>" in html
