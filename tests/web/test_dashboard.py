"""The dashboard: who may see which company, and figures in the user's language."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from incassa.ledger.models import Role
from incassa.web.views import SESSION_COMPANY
from tests.factories import (
    CompanyFactory,
    ImportRunFactory,
    MembershipFactory,
    ReceivableFactory,
    UserFactory,
)

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
    assert 'style="width: 61.7%"' in html  # the 1-30 days bar
    assert 'style="width: 38.3%"' in html  # the not-yet-due bar


def test_bar_widths_are_not_localized(client_logged_in, ledger, company):
    ReceivableFactory(company=company, due_date=dt.date(2026, 5, 1), open_amount=Decimal("765.44"))
    html = page(client_logged_in, "it")
    assert 'style="width: 61.7%"' in html
    assert "61,7%" in html


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
