"""Suspensions and exclusions: the list, ending a suspension, including a customer again."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from incassa.dunning.models import Exclusion, Suspension
from incassa.ledger.models import Role
from tests.factories import CompanyFactory, CustomerFactory
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

# Today is 01/04/2026 in Rome.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 1)
PAGE = reverse("web:suspensions")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def left_alone(company):
    rossi = CustomerFactory(company=company, name="Rossi S.r.l.")
    bianchi = CustomerFactory(company=company, name="Bianchi S.p.A.")
    verdi = CustomerFactory(company=company, name="Verdi S.n.c.")
    return {
        "active": Suspension.objects.create(
            customer=rossi, starts_on=dt.date(2026, 3, 20), until=dt.date(2026, 4, 20),
            reason="Ferie",
        ),
        "upcoming": Suspension.objects.create(
            customer=bianchi, starts_on=dt.date(2026, 4, 10), until=dt.date(2026, 4, 30),
            reason="Trattativa",
        ),
        "over": Suspension.objects.create(
            customer=bianchi, starts_on=dt.date(2026, 3, 1), until=dt.date(2026, 3, 15),
            reason="Vecchia",
        ),
        "excluded": Exclusion.objects.create(customer=verdi, reason="Società del gruppo"),
    }  # fmt: skip


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_the_list(client, company, left_alone):
    logged_in(client, company, language="en")
    html = get(client, PAGE)
    assert "Ferie" in html and "Trattativa" in html and "Società del gruppo" in html
    assert "Vecchia" not in html  # over on 15/03
    assert "upcoming" in html


def test_end_an_active_suspension_today(client, company, left_alone):
    logged_in(client, company, Role.COLLECTOR, language="en")
    active = left_alone["active"]
    response = client.post(PAGE, {"op": "end", "suspension": active.pk})
    assert flashed(response) == [
        "The suspension of Rossi S.r.l. ends: the flow resumes on 01/04/2026."
    ]
    active.refresh_from_db()
    assert active.until == DAY and not active.is_active(DAY)


def test_cancel_an_upcoming_suspension(client, company, left_alone):
    logged_in(client, company, language="en")
    response = client.post(PAGE, {"op": "end", "suspension": left_alone["upcoming"].pk})
    assert flashed(response) == ["The suspension of Bianchi S.p.A. is cancelled."]
    assert not Suspension.objects.filter(pk=left_alone["upcoming"].pk).exists()


def test_include_again(client, company, left_alone):
    logged_in(client, company, language="en")
    response = client.post(PAGE, {"op": "include", "exclusion": left_alone["excluded"].pk})
    assert flashed(response) == ["Verdi S.n.c. is chased again."]
    assert not Exclusion.objects.exists()


def test_read_only_roles_and_other_companies(client, company, left_alone):
    logged_in(client, company, Role.AUDITOR, language="en")
    assert (
        client.post(PAGE, {"op": "include", "exclusion": left_alone["excluded"].pk}).status_code
        == 403
    )
    other = Exclusion.objects.create(customer=CustomerFactory(company=CompanyFactory()), reason="x")
    client.logout()
    logged_in(client, company, language="en", username="manager-2")
    assert client.post(PAGE, {"op": "include", "exclusion": other.pk}).status_code == 404
