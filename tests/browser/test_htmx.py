"""htmx in a real browser: the customers list changes as one types, and a worklist task is
marked done in place, both without loading a new page (a variable set on ``window``
before survives), the address following the search and the focus kept.

Today is 01/04/2026 for the server, as in test_flows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from incassa.ledger.models import Role
from incassa.workspace.models import TaskStatus
from tests.factories import CustomerFactory, MembershipFactory, ReceivableFactory, UserFactory
from tests.workspace.factories_work import TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)

TODAY = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)
PASSWORD = "una-password-lunga-2026"


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


def test_the_customers_list_changes_as_one_types(page, live_server, company, manager):
    from playwright.sync_api import expect

    for code, name in [("001", "Rossi S.r.l."), ("002", "Bianchi S.p.A."), ("003", "Verdi")]:
        customer = CustomerFactory(company=company, code=code, name=name)
        ReceivableFactory(company=company, customer=customer, open_amount=Decimal("100.00"))
    log_in(page, live_server)
    page.goto(f"{live_server.url}/customers/")
    rows = page.locator("#customer-results tbody tr")
    expect(rows).to_have_count(3)
    page.evaluate("window.sameDocument = true")

    # Typing (no Enter, no button): after the pause the table holds Bianchi alone.
    page.locator("#customer-search").press_sequentially("Bianchi", delay=20)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bianchi S.p.A.")
    expect(page.locator("#customers-count")).to_have_text("1 cliente")
    assert page.evaluate("window.sameDocument") is True  # the same page, not a new one
    assert "q=Bianchi" in page.url  # the address follows the search
    # The focus stays in the search box, to go on typing.
    assert page.evaluate("document.activeElement.id") == "customer-search"

    # Emptying the box shows the three again, still on the same page.
    page.fill("#customer-search", "")
    expect(rows).to_have_count(3)
    assert page.evaluate("window.sameDocument") is True


def test_a_worklist_task_is_done_in_place(page, live_server, company, manager):
    from playwright.sync_api import expect

    rossi = CustomerFactory(company=company, name="Rossi S.r.l.")
    bianchi = CustomerFactory(company=company, name="Bianchi S.p.A.")
    call = TaskFactory(company=company, customer=rossi, assignee=manager, title="Chiamare Rossi")
    other = TaskFactory(company=company, customer=bianchi, assignee=manager, title="Scrivere")
    log_in(page, live_server)
    page.goto(f"{live_server.url}/worklist/")
    expect(page.locator("#worklist-count")).to_contain_text("2 compiti")
    page.evaluate("window.sameDocument = true")

    page.click(f"#task-{call.pk}-done")
    confirmation = page.locator(f"#task-{call.pk}.worklist__gone")
    expect(confirmation).to_contain_text("Compito fatto: Chiamare Rossi.")
    # Two tasks, one done: one left; the other task's row is untouched.
    expect(page.locator("#worklist-count")).to_contain_text("1 compito")
    expect(page.locator(f'tr[data-task="{other.pk}"]')).to_be_visible()
    assert page.evaluate("window.sameDocument") is True
    # The focus went to the confirmation, not back to the top of the page.
    expect(page.locator(".worklist__confirmation")).to_be_focused()
    call.refresh_from_db()
    assert call.status == TaskStatus.DONE
