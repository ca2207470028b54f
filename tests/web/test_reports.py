"""The reports page: the KPIs of the command's ledger (tests/credit/management/commands/
test_kpi.py explains every figure), by scope, exported, and what a sales agent sees."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from incassa.credit.models import ReportKind, ReportSnapshot
from incassa.credit.services import kpi_snapshot_take
from incassa.jobs.models import Job, JobStatus
from incassa.ledger.models import CustomerCategory, Role, SalesAgent
from tests.credit.management.commands.test_kpi import ledger  # noqa: F401  (the fixture)
from tests.factories import CompanyFactory, ImportRunFactory
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


# --- figures computed ahead ------------------------------------------------------------------
# The page reads stored figures (credit.report_snapshots); the clock is 01/04/2026 09:00 UTC,
# 11:00 in Rome. The day's KPI snapshot of 31/03 keeps the company's figures for the default
# period (01/01 to 31/03): asked for no date, the page shows them.

COMPANY_KEY = "company|2026-01-01|2026-03-31"


def test_asked_for_no_date_the_page_shows_the_newest_stored_figures(client, ledger):  # noqa: F811
    kpi_snapshot_take(company=ledger, as_of=dt.date(2026, 3, 31))
    stored = ReportSnapshot.objects.get(kind=ReportKind.KPI)
    ReportSnapshot.objects.filter(pk=stored.pk).update(data={**stored.data, "open_amount": "7.00"})
    logged_in(client, ledger, language="en")
    html = get(client, REPORTS)
    assert "on 31/03/2026, for the period from 01/01/2026" in html
    assert "€7.00" in html  # the stored figure (changed by hand), not a new computation
    # They describe 31/03, the latest snapshot: seen on 01/04 they are not stale.
    assert "Figures as of 01/04/2026 11:00, computed ahead for the ledger on 31/03/2026." in html
    assert "Newer data may have arrived since" not in html
    response = client.get(REPORTS, {"export": "csv"})
    assert "7,00;EUR" in response.content.decode("utf-8-sig")
    # A snapshot of 01/04 arrives: newer data may change them.
    ImportRunFactory(company=ledger, as_of=dt.date(2026, 4, 1))
    assert "Newer data may have arrived since" in get(client, REPORTS)


def test_without_stored_figures_today_s_are_computed_and_kept(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="en")
    html = get(client, REPORTS)
    # Today 01/04, the period from 02/01; F5 (due 09/04) and F3 are not due yet.
    assert "on 01/04/2026, for the period from 02/01/2026" in html
    stored = ReportSnapshot.objects.get(company=ledger, kind=ReportKind.KPI)
    assert (stored.key, stored.preset) == ("company|2026-01-02|2026-04-01", True)
    assert stored.data["open_amount"] == "4500.00"


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
def test_who_may_recompute(
    client,
    ledger,  # noqa: F811
    role,
    status,
    django_capture_on_commit_callbacks,
):
    kpi_snapshot_take(company=ledger, as_of=dt.date(2026, 3, 31))
    stored = ReportSnapshot.objects.get(kind=ReportKind.KPI)
    ReportSnapshot.objects.filter(pk=stored.pk).update(data={**stored.data, "open_amount": "7.00"})
    logged_in(client, ledger, role, language="en")
    # The recompute is a background job, run (the queue being immediate under the tests)
    # when the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{REPORTS}?scope=company",
            {"as_of": "2026-03-31", "start": "2026-01-01", "scope": "company", "recompute": "1"},
        )
    assert response.status_code == status
    stored.refresh_from_db()
    if status == 302:
        job = Job.objects.get()
        assert response.url == reverse("web:job", args=[job.pk])
        assert job.status == JobStatus.SUCCEEDED
        assert stored.data["open_amount"] == "4500.00"  # computed again
        page = get(client, response.url)
        assert "The figures have been recomputed." in page
        # The way back to the page as it was.
        assert f'href="{REPORTS}?scope=company">Back to the report' in page
    else:
        assert stored.data["open_amount"] == "7.00"
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
def test_the_button_is_offered_to_who_may_use_it(client, ledger, role, offered):  # noqa: F811
    logged_in(client, ledger, role, language="en")
    html = get(client, REPORTS, PARAMS)
    assert ("Recompute now" in html) is offered
    if offered:
        assert '<input type="hidden" name="as_of" value="2026-03-31">' in html


def test_another_companys_stored_figures_are_not_shown(client, ledger):  # noqa: F811
    other = CompanyFactory(code="altra")
    ReportSnapshot.objects.create(
        company=other,
        kind=ReportKind.KPI,
        key=COMPANY_KEY,
        preset=True,
        as_of=dt.date(2026, 3, 31),
        data={},
        computed_at=timezone.now(),
    )
    logged_in(client, ledger, language="en")
    html = get(client, REPORTS)
    assert "on 01/04/2026" in html  # not the other company's day
    assert "€4,500.00" in html
