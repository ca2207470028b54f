"""A credit manager's morning in a real browser: log in, upload the ERP's snapshot and
confirm it, see the dashboard change, open a customer, approve a formal notice, log a call
with a promise, switch the language.

Today is 01/04/2026 for the server (the live server runs in this process, under
time_machine). The snapshot lists Rossi's F1 (due 15/02/2026, 1.200,00 €, 45 days late)
and F2 (due 30/04/2026, 500,00 €): 1.700,00 € open, 1.200,00 € of it overdue.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine

from incassa.dunning.models import Action, ActionStatus
from incassa.ledger.models import Customer, Receivable, Role
from incassa.workspace.models import Activity, Promise, PromiseStatus
from tests.factories import MembershipFactory, UserFactory, action_with_items

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
PASSWORD = "una-password-lunga-2026"
SNAPSHOT = (
    "Codice cliente;Ragione sociale;Email;Numero documento;Data scadenza;Importo\n"
    "001;Rossi S.r.l.;amm@rossi.it;F1;15/02/2026;1.200,00\n"
    "001;Rossi S.r.l.;amm@rossi.it;F2;30/04/2026;500,00\n"
)


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=True):
        yield


@pytest.fixture
def manager(company):
    user = UserFactory(username="laura", first_name="Laura", last_name="Conti")
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory(user=user, company=company, role=Role.CREDIT_MANAGER)
    return user


def log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "laura")
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(f"{live_server.url}/")


def test_a_credit_managers_morning(page, live_server, company, manager, tmp_path):
    log_in(page, live_server)
    assert page.locator("h1").inner_text() == "Cruscotto"
    assert "non è ancora stato importato" in page.content()

    # Upload the snapshot, look at how it was read, confirm.
    page.click("nav.site-nav summary:has-text('Altro')")  # the pages used less often
    page.click("nav.site-nav >> text=Importazioni")
    snapshot = tmp_path / "scadenziario.csv"
    snapshot.write_text(SNAPSHOT, encoding="utf-8")
    page.set_input_files("input[name=file]", str(snapshot))
    page.fill("input[name=as_of]", "2026-04-01")
    page.click("text=Carica e controlla")
    page.wait_for_url(re.compile(r".*/imports/check/.*"))
    assert "Righe lette" in page.content()
    page.click("button:has-text('Importa')")
    page.wait_for_url(re.compile(r".*/jobs/\d+/"))
    assert "Importati: 2 nuovi" in page.content()

    # The dashboard now shows the items.
    page.click("nav.site-nav >> text=Cruscotto")
    figures = page.locator("section.cards").inner_text()
    assert "1.700,00\xa0€" in figures
    assert "1.200,00\xa0€" in figures

    # The engine proposed a formal notice for F1, waiting for approval.
    rossi = Customer.objects.get(company=company, code="001")
    f1 = Receivable.objects.get(company=company, document_number="F1")
    notice = action_with_items(company, rossi, "formal-notice", [f1], day=dt.date(2026, 4, 1))
    assert notice.is_waiting_for_approval

    # Open the customer and approve it.
    page.click("nav.site-nav >> text=Clienti")
    page.click("text=Rossi S.r.l.")
    page.wait_for_url(re.compile(r".*/customers/001/"))
    page.click("#actions-title ~ div >> button:has-text('Approva')")
    page.wait_for_load_state()
    notice.refresh_from_db()
    assert notice.status == ActionStatus.APPROVED

    # Log a call: Rossi promises the 1.200,00 € by 10/04.
    page.select_option("#activity-kind", "call")
    page.fill("#activity-contact", "Sig.ra Rossi")
    page.select_option("#activity-reaction", "promises_to_pay")
    page.check(f"#activity-item-{f1.pk}")
    page.fill("#activity-promise-amount", "1.200,00")
    page.fill("#activity-promise-on", "2026-04-10")
    page.click("button:has-text('Registra')")
    page.wait_for_load_state()
    assert "L'attività è registrata." in page.content()
    promise = Promise.objects.get()
    assert (promise.amount, promise.status) == (Decimal("1200.00"), PromiseStatus.OPEN)
    assert Activity.objects.get().operator == manager
    assert Action.objects.count() == 1

    # Switch to English.
    page.select_option("#language-select", "en")
    page.click("text=Cambia lingua")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Record an activity" in page.content()
