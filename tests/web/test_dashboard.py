"""The dashboard: who may see which company, and figures in the user's language."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from incassa.credit.models import KpiSnapshot
from incassa.dunning.models import Action, ActionStatus
from incassa.ledger.models import Receivable, ReceivableStatus, Role
from incassa.web.views import SESSION_COMPANY
from incassa.workspace.agreements import dispute_open, promise_record
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ImportRunFactory,
    MembershipFactory,
    ReceivableFactory,
    UserFactory,
    action_with_items,
)
from tests.web.test_customers import section

# Today is 01/04/2026 in Rome for every test here.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
DASHBOARD = reverse("web:dashboard")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def ledger(company):
    ReceivableFactory(
        company=company,
        customer__name="Ferramenta Bianchi S.r.l.",
        due_date=dt.date(2026, 3, 2),  # 30 days late
        open_amount=Decimal("1234.56"),
    )
    ImportRunFactory(company=company, as_of=dt.date(2026, 3, 31))


def page(client, language: str | None = None, **params) -> str:
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(DASHBOARD, params)
    assert response.status_code == 200
    return response.content.decode()


def test_login_is_required(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_italian_by_default(client_logged_in, ledger):
    html = page(client_logged_in)
    assert '<html lang="it">' in html
    assert "Cruscotto" in html
    assert "Residuo aperto" in html
    assert "1.234,56\xa0€" in html
    assert "02/03/2026" in html  # the oldest due date
    assert "31/03/2026" in html  # data as of
    assert "30 giorni di ritardo" in html
    assert "Ferramenta Bianchi S.r.l." in html
    assert "Attenzione" not in html  # yesterday's snapshot is fresh


def test_english(client_logged_in, ledger):
    html = page(client_logged_in, "en")
    assert '<html lang="en">' in html
    assert "Open amount" in html
    assert "€1,234.56" in html
    assert "02/03/2026" in html
    assert "30 days late" in html
    assert "Residuo" not in html


def test_every_figure_is_shown(client_logged_in, ledger, company):
    ReceivableFactory(company=company, due_date=dt.date(2026, 5, 1), open_amount=Decimal("765.44"))
    html = page(client_logged_in, "en")
    assert "€2,000.00" in html  # open: 1,234.56 + 765.44
    assert "61.7% of the open amount" in html  # overdue 1,234.56 / 2,000.00
    assert "2 open items" in html
    assert "1 customer" not in html  # two customers, one item each
    assert "2 customers" in html
    aging = {bucket["key"]: bucket["amount"] for bucket in chart_data(html)["aging"]}
    assert aging["1_30"] == 1234.56 and aging["not_due"] == 765.44


def chart_data(html: str) -> dict:
    """The figures the page hands to the charts (json_script)."""
    found = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


def test_chart_figures_are_not_localized(client_logged_in, ledger, company):
    ReceivableFactory(company=company, due_date=dt.date(2026, 5, 1), open_amount=Decimal("765.44"))
    html = page(client_logged_in, "it")
    # The charts get plain numbers; the tables beside them the Italian amounts.
    assert [b["amount"] for b in chart_data(html)["aging"]][:2] == [765.44, 1234.56]
    assert "61,7%" in html
    assert "chart-4.6.1.umd.min.js" in html


def test_trend_from_the_daily_snapshots(client_logged_in, ledger, company):
    for day, open_amount, overdue, dso in [
        (dt.date(2026, 3, 30), "1500.00", "900.00", "40.5"),
        (dt.date(2026, 3, 31), "1234.56", "1234.56", None),
        (dt.date(2025, 9, 1), "99.00", "0", "1"),  # older than 180 days: left out
    ]:
        KpiSnapshot.objects.create(
            company=company,
            on_date=day,
            figures={"open_amount": open_amount, "overdue_amount": overdue, "dso": dso},
        )
    html = page(client_logged_in, "it")
    trend = chart_data(html)["trend"]
    assert trend == {
        "dates": ["2026-03-30", "2026-03-31"],
        "open": [1500.0, 1234.56],
        "overdue": [900.0, 1234.56],
        "dso": [40.5, None],
    }
    assert "1.500,00\xa0€" in html  # the table under the charts
    assert "40,5" in html


def test_trend_needs_two_snapshots(client_logged_in, ledger):
    assert "The trend appears after two daily snapshots" in page(client_logged_in, "en")


def test_todays_actions_and_what_the_reminders_brought_in(client_logged_in, company):
    customer = CustomerFactory(company=company)
    paid = ReceivableFactory(company=company, customer=customer, open_amount=Decimal("300.00"))
    part = ReceivableFactory(company=company, customer=customer, open_amount=Decimal("700.00"))
    # A letter of 20/03 reminded 300.00 + 700.00; since then the first item was paid and
    # the second fell to 200.00: 300.00 + 500.00 = 800.00 collected, 80%.
    action_with_items(company, customer, "first-reminder", [paid, part], day=dt.date(2026, 3, 20))
    Action.objects.update(status=ActionStatus.SENT)
    Receivable.objects.filter(pk=paid.pk).update(status=ReceivableStatus.CLOSED)
    Receivable.objects.filter(pk=part.pk).update(open_amount=Decimal("200.00"))
    # Today: a call waiting and an email to the agent sent.
    part.refresh_from_db()
    action_with_items(company, customer, "courtesy-call", [part], day=dt.date(2026, 4, 1))
    sent_today = action_with_items(
        company, customer, "agent-notice", [part], day=dt.date(2026, 4, 1)
    )
    Action.objects.filter(pk=sent_today.pk).update(status=ActionStatus.SENT)
    html = page(client_logged_in, "en")
    channels = chart_data(html)["channels"]
    assert channels["labels"] == ["Email to the sales agent", "Phone call"]
    assert (channels["gone_out"], channels["waiting"]) == ([1, 0], [0, 1])
    results = section(html, "results-title")
    assert "Letter" in results  # the first reminder goes by post
    assert "€1,000.00" in results and "€800.00" in results and "80%" in results


def test_promises_falling_due_and_open_disputes(client_logged_in, company):
    customer = CustomerFactory(company=company, name="Rossi S.r.l.")
    item = ReceivableFactory(company=company, customer=customer, open_amount=Decimal("450.00"))
    other = ReceivableFactory(company=company, customer=customer, open_amount=Decimal("90.00"))
    for day in (dt.date(2026, 4, 3), dt.date(2026, 4, 20)):
        promise_record(customer=customer, items=[other], amount=Decimal("10.00"), promised_on=day)
    dispute_open(customer=customer, items=[item], reason="quality", deadline=dt.date(2026, 3, 30))
    html = page(client_logged_in, "en")
    promises = section(html, "promises-title")
    assert "03/04/2026" in promises and "20/04/2026" not in promises  # within 7 days only
    disputes = section(html, "disputes-title")
    assert "€450.00 on hold" in disputes
    assert "1 past its deadline" in disputes


def test_stale_snapshot_is_flagged(client_logged_in, company):
    ImportRunFactory(company=company, as_of=dt.date(2026, 3, 20))
    html = page(client_logged_in, "it")
    assert "Attenzione:" in html
    assert "L'ultimo scadenziario è del 20/03/2026, 12 giorni fa" in html
    html = page(client_logged_in, "en")
    assert "The latest snapshot is dated 20/03/2026, 12 days ago" in html


def test_no_snapshot_is_flagged(client_logged_in, company):
    html = page(client_logged_in, "en")
    assert "No receivables snapshot has been imported" in html
    assert "No customer owes anything." in html


def test_only_the_members_company(client_logged_in, company):
    other = CompanyFactory(name="Concorrente S.p.A.")
    ReceivableFactory(company=other, customer__name="Cliente Segreto S.r.l.")
    html = page(client_logged_in)
    assert company.name in html
    assert "Concorrente" not in html
    assert "Cliente Segreto" not in html
    assert 'name="company"' not in html  # one company: no switcher
    response = client_logged_in.get(DASHBOARD, {"company": other.code})
    assert response.status_code == 404
    response = client_logged_in.get(DASHBOARD, {"company": "no-such-company"})
    assert response.status_code == 404


def test_switching_company_is_remembered(client, company):
    second = CompanyFactory(code="zeta", name="Zeta Forniture S.r.l.")
    user = UserFactory()
    MembershipFactory(user=user, company=company, role=Role.CREDIT_MANAGER)
    MembershipFactory(user=user, company=second, role=Role.COLLECTOR)
    client.force_login(user)
    html = page(client)
    assert 'name="company"' in html
    assert f'<span class="site-header__company">{company.name}</span>' in html
    html = page(client, company="zeta")
    assert '<span class="site-header__company">Zeta Forniture S.r.l.</span>' in html
    assert client.session[SESSION_COMPANY] == "zeta"
    html = page(client)
    assert '<span class="site-header__company">Zeta Forniture S.r.l.</span>' in html


def test_superusers_see_every_company(client, company):
    other = CompanyFactory(code="altra", name="Altra S.r.l.")
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    html = page(client, company=other.code)
    assert '<span class="site-header__company">Altra S.r.l.</span>' in html
    assert reverse("admin:index") in html


def test_user_without_company(client, db):
    client.force_login(UserFactory())
    response = client.get(DASHBOARD)
    assert response.status_code == 403
    assert "Nessuna azienda da mostrare" in response.content.decode()


def test_header_has_language_switch_and_post_logout(client_logged_in, company):
    html = page(client_logged_in)
    assert f'action="{reverse("set_language")}" method="post"' in html
    assert f'action="{reverse("logout")}" method="post"' in html
    assert reverse("admin:index") not in html  # not staff
    response = client_logged_in.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Log out" in page(client_logged_in)


def test_logout(client_logged_in):
    response = client_logged_in.post(reverse("logout"))
    assert response.status_code == 302
    assert client_logged_in.get(DASHBOARD).status_code == 302


def test_login_page(client, db):
    html = client.get(reverse("login")).content.decode()
    assert "Accedi a Incassa" in html
    assert 'autocomplete="current-password"' in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("login")).content.decode()
    assert "Sign in to Incassa" in html


def test_login_flow(client, user_with_membership):
    from tests.factories import PASSWORD

    response = client.post(reverse("login"), {"username": "manager", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    response = client.post(reverse("login"), {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD


def test_stylesheet_is_served_by_staticfiles():
    from django.contrib.staticfiles import finders

    assert finders.find("web/incassa.css")
    assert finders.find("web/admin.css")


def test_static_files_are_served_without_debug(client, settings):
    settings.DEBUG = False
    response = client.get("/static/web/incassa.css")
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)
    assert client.get("/static/admin/css/base.css").status_code == 200
    # A path that climbs out of the static folders is refused (400 Bad Request).
    client.raise_request_exception = False
    assert client.get("/static/..%2Fsettings.py").status_code in {400, 404}
    assert client.get("/static/admin/../../settings.py").status_code in {400, 404}
