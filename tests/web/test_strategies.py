"""Strategies and steps: reading them, changing a step with a preview of tomorrow's run,
adding, removing and reordering steps, and who may do what."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from incassa.dunning.models import Step, Strategy
from incassa.ledger.models import Role
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ReceivableFactory,
    SalesAgentFactory,
    action_with_items,
)
from tests.web.test_customers import get, logged_in

pytestmark = pytest.mark.django_db

# Today is 01/04/2026 in Rome; tomorrow's run is the one of 02/04/2026.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
STRATEGIES = reverse("web:strategies")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def standard(company):
    return Strategy.objects.get(company=company, code="standard")


def step(standard, code: str) -> Step:
    return standard.steps.get(code=code)


def form_of(s: Step, **changes) -> dict:
    data = {
        "code": s.code,
        "name": s.name,
        "channel": s.channel,
        "days_overdue": s.days_overdue,
        "min_days_since_previous": s.min_days_since_previous or "",
        "min_customer_overdue": "",
        "template_code": s.template_code,
    }
    if s.needs_approval:
        data["needs_approval"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def codes(standard) -> list[str]:
    return list(standard.steps.order_by("position").values_list("code", flat=True))


def test_the_list_and_a_strategys_steps(client, company, standard):
    logged_in(client, company, language="en")
    html = get(client, STRATEGIES)
    assert reverse("web:strategy", args=[standard.pk]) in html and "default" in html
    html = get(client, reverse("web:strategy", args=[standard.pk]))
    names = re.findall(r'<th scope="row">([^<]+) <span class="muted">', html)
    assert len(names) == standard.steps.count()
    assert "Add a step" in html


def test_preview_shows_tomorrows_run_with_the_change_and_saves_nothing(client, company, standard):
    # One item 14 days overdue tomorrow (due 19/03) that has had no reminder: tomorrow's
    # run brings the agent notice (3 days). Moved to 20 days, the notice is not due yet
    # (14 < 20) and tomorrow's run creates no agent notice.
    agent = SalesAgentFactory(company=company, email="mario@agenti.it")
    customer = CustomerFactory(company=company, sales_agent=agent)
    ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 19))
    logged_in(client, company, language="en")
    notice = step(standard, "agent-notice")
    url = reverse("web:step", args=[standard.pk, notice.pk])
    response = client.post(url, {**form_of(notice, days_overdue=20), "preview": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    preview = html[html.index('id="preview-title"') :]
    assert "Tomorrow&#x27;s run (02/04/2026)" in html or "Tomorrow's run (02/04/2026)" in html
    row = re.search(
        rf"<th scope=\"row\">{notice.name}</th><td class=\"num\">(\d+)</td>"
        r"<td class=\"num[^\"]*\">(\d+)</td>",
        preview,
    )
    assert row and row.groups() == ("1", "0")
    notice.refresh_from_db()
    assert notice.days_overdue == 3  # nothing saved


def test_save_a_step(client, company, standard):
    logged_in(client, company, language="en")
    call = step(standard, "courtesy-call")
    response = client.post(
        reverse("web:step", args=[standard.pk, call.pk]),
        {**form_of(call, days_overdue=10, min_customer_overdue="1,000.00"), "save": "1"},
    )
    assert response["Location"] == reverse("web:strategy", args=[standard.pk])
    call.refresh_from_db()
    assert (call.days_overdue, call.min_customer_overdue) == (10, Decimal("1000.00"))


def test_add_a_last_step_and_remove_it(client, company, standard):
    logged_in(client, company, language="en")
    last = standard.steps.order_by("-position").first()
    client.post(
        reverse("web:step_new", args=[standard.pk]),
        {"code": "lawyer", "name": "Lettera dell'avvocato", "channel": "letter",
         "days_overdue": 90, "save": "1"},
    )  # fmt: skip
    new = step(standard, "lawyer")
    assert new.position == last.position + 10
    response = client.post(
        reverse("web:strategy", args=[standard.pk]), {"op": "delete", "step": new.pk}
    )
    assert flashed(response)[-1] == "The step “Lettera dell'avvocato” is removed."
    assert not standard.steps.filter(code="lawyer").exists()


def test_a_step_with_a_history_cannot_be_removed(client, company, standard):
    customer = CustomerFactory(company=company)
    item = ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 1))
    action_with_items(company, customer, "agent-notice", [item], day=dt.date(2026, 3, 4))
    logged_in(client, company, language="en")
    notice = step(standard, "agent-notice")
    response = client.post(
        reverse("web:strategy", args=[standard.pk]), {"op": "delete", "step": notice.pk}
    )
    assert flashed(response) == [
        f"Items have already reached “{notice.name}”: change it instead of removing it."
    ]


def test_reorder(client, company, standard):
    logged_in(client, company, language="en")
    before = codes(standard)
    url = reverse("web:strategy", args=[standard.pk])
    client.post(url, {"op": "down", "step": step(standard, before[0]).pk})
    assert codes(standard) == [before[1], before[0], *before[2:]]
    client.post(url, {"op": "up", "step": step(standard, before[0]).pk})
    assert codes(standard) == before
    client.post(url, {"op": "up", "step": step(standard, before[0]).pk})  # already first
    assert codes(standard) == before


def test_duplicate_code_is_refused(client, company, standard):
    logged_in(client, company, language="en")
    call = step(standard, "courtesy-call")
    response = client.post(
        reverse("web:step", args=[standard.pk, call.pk]),
        {**form_of(call, code="agent-notice"), "save": "1"},
    )
    assert response.status_code == 200
    assert flashed(response) == ["Another step of this strategy has the code agent-notice."]


@pytest.mark.parametrize(
    ("role", "read", "change"),
    [
        (Role.ADMINISTRATOR, 200, 302),
        (Role.CREDIT_MANAGER, 200, 302),
        (Role.COLLECTOR, 200, 403),
        (Role.AUDITOR, 200, 403),
        (Role.SALES_AGENT, 403, 403),
    ],
)
def test_who_may_change_strategies(client, company, standard, role, read, change):
    logged_in(client, company, role, language="en")
    assert client.get(reverse("web:strategy", args=[standard.pk])).status_code == read
    first = standard.steps.order_by("position").first()
    response = client.post(
        reverse("web:strategy", args=[standard.pk]), {"op": "down", "step": first.pk}
    )
    assert response.status_code == change


def test_another_companys_strategy_is_not_found(client, company):
    other = CompanyFactory()
    logged_in(client, company, language="en")
    strategy = Strategy.objects.get(company=other, code="standard")
    assert client.get(reverse("web:strategy", args=[strategy.pk])).status_code == 404
