"""Downloading a hand-over case's dossier (PDF and CSV): every role that sees the customer
may, nobody else; the files are the dossier's.

On the story of tests/workspace/test_history: Rossi's F3 handed over to Recuperi S.r.l. on
02/04/2026 (closed on 10/04), downloaded on 15/04/2026.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse

from incassa.comms.documents import pdf_text
from incassa.ledger.models import Customer, Role, SalesAgent
from incassa.workspace.models import Case
from tests.factories import CompanyFactory, CustomerFactory, MembershipFactory, UserFactory
from tests.web.test_customers import logged_in, member
from tests.workspace.test_history import item, operator, story  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(dt.datetime(2026, 4, 15, 9, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def case(story):  # noqa: F811
    return Case.objects.get(customer=story)


def urls(case: Case) -> list[str]:
    return [
        reverse("web:case_dossier_pdf", args=[case.pk]),
        reverse("web:case_dossier_csv", args=[case.pk]),
    ]


def test_the_urls():
    assert reverse("web:case_dossier_pdf", args=[7]) == "/cases/7/dossier.pdf"
    assert reverse("web:case_dossier_csv", args=[7]) == "/cases/7/dossier.csv"


@pytest.mark.parametrize(
    "role", [Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.AUDITOR]
)
def test_every_role_that_sees_the_customer_downloads_it(client, company, case, role):
    logged_in(client, company, role)
    pdf_url, csv_url = urls(case)

    response = client.get(pdf_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="dossier-R01-{case.pk}.pdf"'
    text = " ".join(pdf_text(response.content).replace("\xa0", " ").split())
    assert "Rossi S.r.l." in text
    assert "Recuperi S.r.l." in text
    assert "F3" in text
    assert "300,00 €" in text  # F3, open again since 25/03: the items' total
    assert "15/04/2026" in text  # today, the dossier's date

    response = client.get(csv_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="dossier-R01-{case.pk}.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][1:] == ["Acme Italia S.p.A.", "15/04/2026"]
    cells = {cell for row in rows for cell in row}
    assert {"R01", "Rossi S.r.l.", "Recuperi S.r.l.", "F3", "Sollecito di pagamento"} <= cells


def test_the_customers_sales_agent_downloads_it_and_another_agent_does_not(client, company, case):
    own = member(company, Role.SALES_AGENT, username="agente-rossi")
    agent = SalesAgent.objects.create(company=company, name="Mario Rossi", user=own)
    Customer.objects.filter(pk=case.customer_id).update(sales_agent=agent)
    other = member(company, Role.SALES_AGENT, username="agente-altro")
    SalesAgent.objects.create(company=company, name="Anna Verdi", user=other)
    CustomerFactory(company=company, sales_agent=SalesAgent.objects.get(name="Anna Verdi"))

    client.force_login(own)
    for url in urls(case):
        assert client.get(url).status_code == 200
    client.force_login(other)
    for url in urls(case):
        assert client.get(url).status_code == 404


def test_another_companys_case_is_404(client, company, case):
    other = CompanyFactory(code="altra", name="Altra S.r.l.")
    # A user of both companies, and one of the other only.
    both = UserFactory(username="entrambe")
    MembershipFactory(user=both, company=company, role=Role.CREDIT_MANAGER)
    MembershipFactory(user=both, company=other, role=Role.CREDIT_MANAGER)
    outsider = UserFactory(username="esterno")
    MembershipFactory(user=outsider, company=other, role=Role.CREDIT_MANAGER)
    client.force_login(outsider)
    for url in urls(case):
        assert client.get(url).status_code == 404
    # Working in the other company, Acme's case is not found; back in Acme, it is.
    client.force_login(both)
    for url in urls(case):
        assert client.get(url, {"company": "altra"}).status_code == 404
        assert client.get(url, {"company": "acme"}).status_code == 200
    # Theirs is not ours either.
    foreign_customer = CustomerFactory(company=other)
    foreign = Case.objects.create(
        company=other,
        customer=foreign_customer,
        agency="Altra agenzia",
        handed_over_on=dt.date(2026, 4, 1),
        handed_over_amount=0,
    )
    logged_in(client, company)
    for url in urls(foreign):
        assert client.get(url).status_code == 404
    for name in ("web:case_dossier_pdf", "web:case_dossier_csv"):
        assert client.get(reverse(name, args=[999_999])).status_code == 404


def test_login_and_a_membership_are_needed(client, case):
    for url in urls(case):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    client.force_login(UserFactory(username="senza-azienda"))
    for url in urls(case):
        assert client.get(url).status_code == 403
