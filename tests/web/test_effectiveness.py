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
from django.utils import timezone

from incassa.credit.models import ReportKind, ReportSnapshot
from incassa.dunning.models import ActionStatus, ItemProgress, Step
from incassa.jobs.models import Job, JobStatus
from incassa.ledger.models import Role
from incassa.workspace.report_snapshots import effectiveness_snapshot_take
from tests.factories import CompanyFactory, CustomerFactory, ImportRunFactory, action_with_items
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


# --- figures computed ahead ------------------------------------------------------------------
# The page reads the stored report (workspace.report_snapshots); the fixture's clock is
# 30/04/2026 09:00 UTC, 11:00 in Rome.


def snapshot_notice(html: str) -> str:
    found = re.search(
        r'<div class="notice notice--(\w+) report-snapshot"[^>]*>\s*<p>(.*?)</p>', html, re.S
    )
    assert found, "no notice of when the figures were computed"
    return (
        found.group(1) + ": " + " ".join(unescape(re.sub(r"<[^>]+>", "", found.group(2))).split())
    )


def test_the_page_shows_the_stored_figures_and_when(client, ledger):
    stored = effectiveness_snapshot_take(company=ledger, today=D(2026, 4, 30))
    ReportSnapshot.objects.filter(pk=stored.pk).update(data={**stored.data, "not_working": []})
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL)
    assert listed(html) == []  # the stored list (emptied by hand), not a new computation
    assert snapshot_notice(html) == (
        "info: Figures as of 30/04/2026 11:00, computed ahead for the ledger on 30/04/2026."
    )


def test_without_stored_figures_the_page_computes_and_keeps_them(client, ledger):
    logged_in(client, ledger, Role.COLLECTOR, language="en")
    assert listed(get(client, URL)) == ["BETA"]
    stored = ReportSnapshot.objects.get(company=ledger, kind=ReportKind.EFFECTIVENESS)
    # The default period, 31/01 to 30/04.
    assert (stored.key, stored.preset, stored.as_of) == (
        "2026-01-31|2026-04-30",
        True,
        D(2026, 4, 30),
    )


def test_older_figures_are_shown_as_stale(client, ledger):
    effectiveness_snapshot_take(company=ledger, today=D(2026, 4, 28))
    # A snapshot of 30/04 applied since: the figures of 28/04 may have changed.
    ImportRunFactory(company=ledger, as_of=D(2026, 4, 30))
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL)
    # The default period of 28/04: the 90 days from 29/01.
    assert "Contacts from 29/01/2026 to 28/04/2026" in html
    assert snapshot_notice(html).startswith("warning: Figures as of 30/04/2026 11:00")
    assert "Newer data may have arrived since: recompute them to include it." in html


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMINISTRATOR, 302),
        (Role.CREDIT_MANAGER, 302),
        (Role.COLLECTOR, 403),
        (Role.AUDITOR, 403),
        (Role.SALES_AGENT, 403),
    ],
)
def test_who_may_recompute(client, ledger, role, status, django_capture_on_commit_callbacks):
    stored = effectiveness_snapshot_take(company=ledger, today=D(2026, 4, 28))
    logged_in(client, ledger, role, language="en")
    # A background job, run (the queue being immediate under the tests) at commit.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, {"recompute": "1"})
    assert response.status_code == status
    if status == 302:
        job = Job.objects.get()
        assert response.url == reverse("web:job", args=[job.pk])
        assert job.status == JobStatus.SUCCEEDED
        # Recomputed as of today: the default period up to 30/04, now the newest.
        newest = ReportSnapshot.objects.filter(kind=ReportKind.EFFECTIVENESS).latest("as_of")
        assert (newest.key, newest.as_of) == ("2026-01-31|2026-04-30", D(2026, 4, 30))
        # The job's page leads back to the page.
        assert f'href="{URL}">' in get(client, response.url)
    else:
        assert ReportSnapshot.objects.get() == stored
        assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.ADMINISTRATOR, True),
        (Role.CREDIT_MANAGER, True),
        (Role.COLLECTOR, False),
        (Role.AUDITOR, False),
    ],
)
def test_the_button_is_offered_to_who_may_use_it(client, ledger, role, offered):
    logged_in(client, ledger, role, language="en")
    assert ("Recompute now" in get(client, URL)) is offered


def test_recompute_a_chosen_period(client, ledger, django_capture_on_commit_callbacks):
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    html = get(client, URL, {"from": "2026-02-02", "to": "2026-04-30"})
    assert '<input type="hidden" name="from" value="2026-02-02">' in html
    stored = ReportSnapshot.objects.get(key="2026-02-02|2026-04-30")
    ReportSnapshot.objects.filter(pk=stored.pk).update(
        computed_at=stored.computed_at - dt.timedelta(days=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, {"from": "2026-02-02", "to": "2026-04-30", "recompute": "1"})
    assert Job.objects.get().back_url == f"{URL}?from=2026-02-02&to=2026-04-30"
    stored.refresh_from_db()
    assert stored.computed_at == timezone.now()


def test_another_companys_stored_figures_are_not_shown(client, ledger):
    other = CompanyFactory(code="altra")
    effectiveness_snapshot_take(company=other, today=D(2026, 4, 30))
    logged_in(client, ledger, Role.CREDIT_MANAGER, language="en")
    assert listed(get(client, URL)) == ["BETA"]
    assert ReportSnapshot.objects.filter(company=ledger).count() == 1


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
