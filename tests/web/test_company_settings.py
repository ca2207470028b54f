"""The company's settings: data and letterhead, the scores' weights, the mail accounts
(shown without their passwords), and who may see and change them."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from incassa.credit.models import ScoringSettings
from incassa.ledger.models import Role
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

SETTINGS = reverse("web:settings")


def company_data(company, **changes) -> dict:
    data = {
        "op": "company",
        "name": company.name,
        "vat_number": company.vat_number,
        "fiscal_code": company.fiscal_code,
        "iban": company.iban,
        "address": "Via Roma 1",
        "postal_code": "20121",
        "city": "Milano",
        "province": "MI",
        "country": "IT",
        "email": "crediti@acme.it",
        "sender_name": "Ufficio crediti",
        "reply_to": "",
        "pec": "acme@pec.it",
        "phone": "",
        "website": "",
        "signature": "Ufficio crediti",
        "letter_footer": "Acme Italia S.p.A. · Capitale sociale 1.000.000 €",
        "max_close_share": "0.5",
    }
    data.update(changes)
    return data


def weights(**changes) -> dict:
    # The defaults: reliability 30/20/10/15/10/5/5/5, criticality 40/10/20/20/10.
    data = {
        "op": "weights",
        "r_days_late": "30", "r_late_share": "20", "r_trend": "10", "r_overdue_share": "15",
        "r_seniority": "10", "r_incidents": "5", "r_limit_breach": "5", "r_external": "5",
        "k_days_overdue": "40", "k_amount_vs_customer": "10", "k_amount_vs_portfolio": "20",
        "k_reliability": "20", "k_seniority": "10",
        "exposure_includes_not_due": "on",
    }  # fmt: skip
    data.update(changes)
    return data


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_letterhead_is_saved(client, company):
    logged_in(client, company, Role.ADMINISTRATOR, language="en")
    response = client.post(SETTINGS, company_data(company))
    assert flashed(response) == ["The company's data are saved."]
    company.refresh_from_db()
    assert (company.city, company.pec, company.sender_name) == (
        "Milano",
        "acme@pec.it",
        "Ufficio crediti",
    )


def test_a_wrong_iban_is_refused_and_nothing_saved(client, company):
    logged_in(client, company, language="en")
    data = company_data(company, iban="IT00X0000000000000000000000", city="Torino")
    response = client.post(SETTINGS, data)
    assert response.status_code == 400
    company.refresh_from_db()
    assert company.city != "Torino"


def test_weights_are_saved_and_checked(client, company):
    logged_in(client, company, language="en")
    response = client.post(SETTINGS, weights(r_days_late="50", exposure_includes_not_due=""))
    assert flashed(response) == [
        "The weights are saved: the scores follow them from the next import."
    ]
    saved = ScoringSettings.objects.get(company=company)
    assert saved.reliability_weights["days_late"] == 50.0
    assert saved.exposure_includes_not_due is False
    # Every weight zero: refused (a score needs at least one positive weight).
    zero = {
        f"k_{n}": "0"
        for n in (
            "days_overdue",
            "amount_vs_customer",
            "amount_vs_portfolio",
            "reliability",
            "seniority",
        )
    }
    response = client.post(SETTINGS, weights(**zero))
    assert "at least one weight must be more than zero" in flashed(response)[-1]


def test_mail_accounts_are_shown_without_their_password(client, company, settings):
    settings.EMAIL_URL = "smtp+tls://crediti%40acme.it:SEGRETISSIMA@smtp.acme.it:587?rate=60"
    settings.PEC_EMAIL_URL = ""
    logged_in(client, company, Role.AUDITOR, language="en")
    html = get(client, SETTINGS)
    assert "smtp.acme.it:587" in html and "at most 60 a minute" in html
    assert "SEGRETISSIMA" not in html
    assert "formal notices are printed as registered letters" in html


@pytest.mark.parametrize(
    ("role", "read", "change"),
    [
        (Role.ADMINISTRATOR, 200, 302),
        (Role.CREDIT_MANAGER, 200, 302),
        (Role.AUDITOR, 200, 403),
        (Role.COLLECTOR, 403, 403),
        (Role.SALES_AGENT, 403, 403),
    ],
)
def test_who_may_see_and_change(client, company, role, read, change):
    logged_in(client, company, role, language="en")
    assert client.get(SETTINGS).status_code == read
    assert client.post(SETTINGS, weights()).status_code == change
