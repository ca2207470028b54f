"""htmx interactions: each page answers an htmx request with the part it swaps (no
``<html>``), and a plain request with the whole page as before; the roles' rights do not
change with the header (read-only roles still get 403 on a POST, another company's objects
are still 404)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incassa.comms.models import MessageTemplate
from incassa.dunning.models import Strategy
from incassa.ledger.models import Role, SalesAgent
from incassa.workspace.models import Task, TaskStatus
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ReceivableFactory,
    SalesAgentFactory,
)
from tests.web.test_customers import (
    CUSTOMERS,
    balances_unknown,
    codes_listed,
    customer_url,
    get,
    ledger,  # noqa: F401  (a fixture)
    logged_in,
    member,
)
from tests.web.test_strategies import form_of
from tests.web.test_worklist import WORKLIST, _user, critical_task
from tests.workspace.factories_work import TaskFactory

# Today is 01/04/2026 in Rome for every test here.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
ITEMS = reverse("web:items")
ROLES = [
    Role.ADMINISTRATOR,
    Role.CREDIT_MANAGER,
    Role.COLLECTOR,
    Role.SALES_AGENT,
    Role.AUDITOR,
]
ACTING = {Role.ADMINISTRATOR, Role.CREDIT_MANAGER, Role.COLLECTOR}


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def hx(target: str | None = None, **more: str) -> dict[str, str]:
    """The headers htmx sends for a swap into the element ``target``."""
    headers = {"HX-Request": "true", **more}
    if target:
        headers["HX-Target"] = target
    return headers


def part(response, status: int = 200) -> str:
    """The body of an answer that must be a part of a page."""
    assert response.status_code == status, response.content.decode()[:500]
    html = response.content.decode()
    assert "<html" not in html and "<body" not in html
    assert "HX-Request" in response.headers.get("Vary", "")
    return html


def whole(response) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith("<!doctype html>") and "<body" in html
    return html


def oob(html: str, element_id: str) -> str:
    """The content of the out-of-band element ``element_id`` of an answer."""
    found = re.search(rf'id="{element_id}" hx-swap-oob="innerHTML">(.*?)</', html, re.S)
    assert found, f"no out-of-band #{element_id}"
    return " ".join(found.group(1).split())


# --------------------------------------------------------------------------------------
# Every page: htmx itself, the CSRF token on each request, the messages area
# --------------------------------------------------------------------------------------


def test_every_page_loads_htmx_and_sends_the_csrf_token(client, company):
    logged_in(client, company, language="en")
    response = client.get(reverse("web:dashboard"))
    html = whole(response)
    script = re.search(r'<script src="([^"]+htmx-(2\.0\.\d+)\.min\.js)" defer></script>', html)
    assert script, "htmx is loaded, deferred"
    # The file served is the vendored one, whose version is the one in its name.
    path = finders.find(f"web/vendor/htmx-{script.group(2)}.min.js")
    assert path and f'version:"{script.group(2)}"' in Path(path).read_text(encoding="utf-8")
    assert finders.find("web/vendor/htmx-LICENSE.md")
    # The token htmx sends in its header is the page's: Django accepts it.
    token = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'>", html).group(1)
    assert len(token) == 64
    assert settings.CSRF_HEADER_NAME == "HTTP_X_CSRFTOKEN"
    # The messages area is always there (empty), so that an htmx answer can fill it.
    assert '<div id="messages" class="messages" aria-live="polite">' in html
    # The back button reloads the page rather than keep copies in the browser.
    assert '"historyCacheSize": 0' in html


def test_an_htmx_post_with_the_header_token_passes_the_csrf_check(company):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    logged_in(client, company, Role.COLLECTOR, language="en")
    task = TaskFactory(company=company, assignee=_user(client))
    html = client.get(WORKLIST).content.decode()
    token = re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'>", html).group(1)
    data = {"op": "done", "task": task.pk}
    # Without the token: refused; with it in the header, as htmx sends it: done.
    assert client.post(WORKLIST, data, headers=hx()).status_code == 403
    response = client.post(WORKLIST, data, headers=hx(**{"X-CSRFToken": token}))
    part(response)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


# --------------------------------------------------------------------------------------
# The worklist: done, snooze, reassign in place
# --------------------------------------------------------------------------------------


def post_task(client, task: Task, op: str, headers: dict | None = None, **data):
    return client.post(WORKLIST, {"op": op, "task": task.pk, **data}, headers=headers or {})


def test_done_in_place_removes_the_task_with_a_confirmation(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    user = _user(client)
    tasks = [critical_task(company, user, score, f"Cliente {score}") for score in "123"]
    html = get(client, WORKLIST)
    # The page: each task in its own <tbody>, which htmx swaps; the counter is live.
    assert f'<tbody id="task-{tasks[0].pk}" hx-target="this" hx-swap="outerHTML"' in html
    assert f'hx-post="{WORKLIST}"' in html
    assert f'id="task-{tasks[0].pk}-done"' in html
    assert '<p class="panel__intro" id="worklist-count" aria-live="polite">3 tasks' in html

    html = part(post_task(client, tasks[0], "done", hx()))
    tasks[0].refresh_from_db()
    assert tasks[0].status == TaskStatus.DONE
    # Its place holds the confirmation, which takes the focus; nothing else of the page.
    assert f'<tbody id="task-{tasks[0].pk}" class="worklist__gone">' in html
    assert 'class="worklist__confirmation" tabindex="-1" autofocus' in html
    assert f"Task done: {tasks[0].title}." in html
    assert "data-task=" not in html
    # Three tasks, one done: two left.
    assert oob(html, "worklist-count").startswith("2 tasks")


def test_the_last_task_done_says_there_is_nothing_left(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    task = TaskFactory(company=company, assignee=_user(client))
    html = part(post_task(client, task, "done", hx()))
    assert oob(html, "worklist-count") == "Nothing to do today: every task is done or not due yet."


def test_snooze_in_place(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    task = TaskFactory(company=company, assignee=_user(client))
    html = part(post_task(client, task, "snooze", hx(), until="2026-04-08"))
    task.refresh_from_db()
    assert task.snoozed_until == dt.date(2026, 4, 8)
    assert f'<tbody id="task-{task.pk}" class="worklist__gone">' in html
    assert "The task is snoozed until 08/04/2026." in html


def test_a_mistake_keeps_the_row_with_the_message_under_it(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    task = TaskFactory(company=company, assignee=_user(client))
    # Today is not after today: refused, the task stays where it was.
    html = part(post_task(client, task, "snooze", hx(), until="2026-04-01"))
    task.refresh_from_db()
    assert task.snoozed_until is None
    assert f'<tbody id="task-{task.pk}" hx-target="this"' in html
    assert f'<tr data-task="{task.pk}">' in html
    assert 'class="worklist__notice"' in html
    assert '<div class="notice notice--error" role="alert">' in html
    assert "Snooze until: Choose a day after today." in html
    # The buttons keep their ids: htmx gives the focus back to the one pressed.
    assert f'id="task-{task.pk}-snooze"' in html
    assert oob(html, "worklist-count").startswith("1 task ")


def test_reassign_in_place(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    user = _user(client)
    colleague = member(company, Role.CREDIT_MANAGER, username="collega", first_name="Luca")
    mine, theirs = (TaskFactory(company=company, assignee=user) for _ in range(2))
    # Given to oneself: still on one's list, the row comes back with the choices.
    html = part(post_task(client, mine, "reassign", hx(), assignee=user.pk))
    assert f'<tr data-task="{mine.pk}">' in html
    assert f'<option value="{colleague.pk}"' in html
    assert '<div class="notice notice--success" role="status">' in html
    assert oob(html, "worklist-count").startswith("2 tasks")
    # Given to a colleague: it leaves the list; one task is left.
    html = part(post_task(client, theirs, "reassign", hx(), assignee=colleague.pk))
    assert f'<tbody id="task-{theirs.pk}" class="worklist__gone">' in html
    assert f"The task is now with {colleague.get_full_name()}." in html
    assert oob(html, "worklist-count").startswith("1 task ")


def test_a_closed_task_says_so_in_place(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    task = TaskFactory(company=company, assignee=_user(client), status=TaskStatus.DONE)
    html = part(post_task(client, task, "done", hx()))
    assert f'<tbody id="task-{task.pk}" class="worklist__gone">' in html
    assert "This task is already closed." in html


def test_without_htmx_the_worklist_still_redirects(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    task = TaskFactory(company=company, assignee=_user(client))
    response = post_task(client, task, "done")
    assert (response.status_code, response.url) == (302, WORKLIST)
    # The message waits for the next page, in the messages area.
    html = get(client, WORKLIST)
    assert f"Task done: {task.title}." in html[html.index('id="messages"') :]


@pytest.mark.parametrize("role", ROLES)
def test_who_may_act_on_the_worklist_with_htmx(client, company, role):
    logged_in(client, company, role, language="en")
    task = TaskFactory(company=company, assignee=_user(client))
    response = post_task(client, task, "done", hx())
    task.refresh_from_db()
    if role in ACTING:
        part(response)
        assert task.status == TaskStatus.DONE
    else:
        assert response.status_code == 403
        assert task.status == TaskStatus.OPEN


def test_another_companys_task_is_404_with_htmx(client, company):
    logged_in(client, company, Role.COLLECTOR)
    task = TaskFactory(company=CompanyFactory(), assignee=_user(client))
    assert post_task(client, task, "done", hx()).status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


# --------------------------------------------------------------------------------------
# The customers list: search as one types, filters, pages
# --------------------------------------------------------------------------------------


def test_the_customers_search_answers_with_the_table(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="en")
    html = whole(client.get(CUSTOMERS))
    assert 'hx-trigger="input changed delay:300ms, search"' in html
    assert '<div id="customer-results">' in html
    assert 'id="customers-count" role="status"' in html

    response = client.get(CUSTOMERS, {"q": "Bianchi"}, headers=hx("customer-results"))
    html = part(response)
    # Bianchi S.p.A. (002) alone: the table, the count out of band, the "Clear" link.
    assert codes_listed(html) == ["002"]
    assert oob(html, "customers-count") == "1 customer"
    assert f'href="{CUSTOMERS}">Clear</a>' in oob(html, "customers-clear") + "</a>"
    assert 'id="customer-filters"' not in html  # the form stays as the user typed it
    # The filters go along: Verdi S.n.c. (003) owes only F4, due 10/04, not overdue yet.
    html = part(
        client.get(CUSTOMERS, {"q": "Verdi", "overdue": "1"}, headers=hx("customer-results"))
    )
    assert codes_listed(html) == []
    assert oob(html, "customers-count") == "0 customers"


def test_the_same_request_without_htmx_is_the_whole_page(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="en")
    html = whole(client.get(CUSTOMERS, {"q": "Bianchi"}))
    assert codes_listed(html) == ["002"]
    # htmx aimed elsewhere, or restoring the page from history: the whole page too.
    whole(client.get(CUSTOMERS, headers=hx("somewhere-else")))
    whole(
        client.get(
            CUSTOMERS,
            headers=hx("customer-results", **{"HX-History-Restore-Request": "true"}),
        )
    )


def test_the_customers_pages_in_place(client, ledger):  # noqa: F811
    CustomerFactory.create_batch(60, company=ledger)
    balances_unknown(ledger)
    logged_in(client, ledger, language="en")
    # 64 customers, 50 a page: page 2 holds 14; its "Previous" link is htmx's too.
    html = part(client.get(CUSTOMERS, {"page": "2"}, headers=hx("customer-results")))
    assert len(codes_listed(html)) == 14
    assert f'hx-get="{CUSTOMERS}?page=1"' in html
    assert 'hx-push-url="true"' in html
    assert oob(html, "customers-count") == "64 customers"


@pytest.mark.parametrize("role", ROLES)
def test_every_role_searches_what_it_may_see(client, ledger, role):  # noqa: F811
    user = member(ledger, role)
    client.force_login(user)
    if role == Role.SALES_AGENT:
        # Mario Rossi is the agent of 001 and 003 only.
        SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user=user)
        expected = ["001", "003"]
    else:
        # Largest overdue first: 002 (2.000,00), 001 (800,00), then 003 and 004.
        expected = ["002", "001", "003", "004"]
    html = part(client.get(CUSTOMERS, headers=hx("customer-results")))
    assert codes_listed(html) == expected


def test_messages_waiting_come_out_of_band(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    task = TaskFactory(company=company, assignee=_user(client))
    post_task(client, task, "done")  # a plain POST: its message waits in the session
    html = part(client.get(CUSTOMERS, headers=hx("customer-results")))
    assert f"Task done: {task.title}." in oob(html, "messages")


# --------------------------------------------------------------------------------------
# The items list: filters, order, pages in place; the bulk form as before
# --------------------------------------------------------------------------------------


def documents(html: str) -> list[str]:
    return re.findall(r'<th scope="row"><a href="/items/\d+/">([^<]+)</a>', html)


def test_the_items_list_sorts_and_filters_in_place(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="en")
    html = whole(client.get(ITEMS))
    assert '<section class="panel" aria-labelledby="items-title" id="item-results">' in html
    assert 'hx-target="#item-results" hx-push-url="true"' in html

    # Open items on 01/04: F3 2.000,00, F1 800,00 (after the payment), F2 500,00, F4
    # 300,00 (F5 was paid): largest first.
    response = client.get(ITEMS, {"sort": "-open_amount"}, headers=hx("item-results"))
    html = part(response)
    assert documents(html) == ["F3", "F1", "F2", "F4"]
    assert oob(html, "items-status") == "4 items"
    # The bulk form comes with the list, and still posts as a plain form, back to the same
    # filters.
    assert '<form method="post" id="bulk-form">' in html
    assert 'name="next" value="sort=-open_amount"' in html
    assert "hx-post" not in html

    # Overdue only: F3 (15/02) and F1 (01/03); F2 and F4 fall due later in April.
    html = part(client.get(ITEMS, {"overdue": "on"}, headers=hx("item-results")))
    assert sorted(documents(html)) == ["F1", "F3"]
    assert oob(html, "items-status") == "2 items"
    assert "Clear" in oob(html, "items-clear")


def test_the_items_pages_in_place(client, company):
    customer = CustomerFactory(company=company)
    ReceivableFactory.create_batch(51, company=company, customer=customer)
    logged_in(client, company, language="en")
    # 51 items, 50 a page: page 2 holds one, and links back to page 1 through htmx.
    html = part(client.get(ITEMS, {"page": "2"}, headers=hx("item-results")))
    assert len(documents(html)) == 1
    assert f'hx-get="{ITEMS}?page=1"' in html
    assert 'id="items-previous"' in html


@pytest.mark.parametrize("role", ROLES)
def test_every_role_filters_items_it_may_see(client, ledger, role):  # noqa: F811
    user = member(ledger, role)
    client.force_login(user)
    if role == Role.SALES_AGENT:
        # Mario Rossi's customers 001 (F1, F2) and 003 (F4).
        SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user=user)
        expected = ["F1", "F2", "F4"]
    else:
        expected = ["F1", "F2", "F3", "F4"]
    html = part(client.get(ITEMS, {"sort": "due_date"}, headers=hx("item-results")))
    assert sorted(documents(html)) == expected
    # The bulk actions for the roles that act; the others only read.
    assert ('<fieldset class="bulk">' in html) == (role in ACTING)


@pytest.mark.parametrize("role", [Role.SALES_AGENT, Role.AUDITOR])
def test_read_only_roles_cannot_post_bulk_actions_with_htmx(client, ledger, role):  # noqa: F811
    logged_in(client, ledger, role)
    response = client.post(ITEMS, {"op": "release", "items": ["1"]}, headers=hx("item-results"))
    assert response.status_code == 403


# --------------------------------------------------------------------------------------
# Customer 360: the history's filter chips
# --------------------------------------------------------------------------------------


def test_a_history_chip_swaps_the_history_alone(client, ledger):  # noqa: F811
    logged_in(client, ledger, language="en")
    url = customer_url("001")
    html = whole(client.get(url))
    assert '<div id="history" hx-target="this" hx-swap="innerHTML"' in html
    assert '<nav class="chips" aria-label="Show in the history" hx-boost="true">' in html

    with CaptureQueriesContext(connection) as whole_page:
        client.get(url, {"history": "ledger"})
    with CaptureQueriesContext(connection) as history_only:
        response = client.get(url, {"history": "ledger"}, headers=hx("history"))
    html = part(response)
    # 001's imports: F1 and F2 appear on 20/03, F1 falls from 1.000,00 to 800,00 on 31/03:
    # three entries.
    assert oob(html, "history-status") == "Payments and imports: 3"
    assert html.count('<li class="timeline__entry') == 3
    # The chosen chip takes the focus of the link pressed.
    assert re.search(r'href="\?history=ledger#history-title" aria-current="true" autofocus>', html)
    # None of the rest of the page, and fewer queries for it.
    assert 'id="actions-title"' not in html and "Record an activity" not in html
    assert len(history_only) < len(whole_page)


def test_history_chips_keep_to_the_rights(client, ledger):  # noqa: F811
    user = member(ledger, Role.SALES_AGENT)
    SalesAgent.objects.filter(company=ledger, name="Mario Rossi").update(user=user)
    client.force_login(user)
    # 002 is Anna Verdi's: not found, with htmx as without.
    assert client.get(customer_url("002"), headers=hx("history")).status_code == 404
    part(client.get(customer_url("001"), headers=hx("history")))
    other = CustomerFactory(company=CompanyFactory(), code="X1")
    client.force_login(member(ledger, Role.CREDIT_MANAGER))
    assert client.get(customer_url(other.code), headers=hx("history")).status_code == 404


# --------------------------------------------------------------------------------------
# Strategies: the preview of tomorrow's run
# --------------------------------------------------------------------------------------


@pytest.fixture
def notice_preview(company):
    """As in test_strategies: one item 14 days overdue tomorrow; the agent notice moved
    from 3 to 20 days overdue leaves tomorrow's run without it (14 < 20)."""
    agent = SalesAgentFactory(company=company, email="mario@agenti.it")
    customer = CustomerFactory(company=company, sales_agent=agent)
    ReceivableFactory(company=company, customer=customer, due_date=dt.date(2026, 3, 19))
    standard = Strategy.objects.get(company=company, code="standard")
    notice = standard.steps.get(code="agent-notice")
    return reverse("web:step", args=[standard.pk, notice.pk]), notice


def test_the_preview_comes_into_the_page(client, company, notice_preview):
    url, notice = notice_preview
    logged_in(client, company, language="en")
    html = whole(client.get(url))
    assert f'hx-post="{url}" hx-target="#step-preview"' in html
    assert 'id="step-preview-busy"' in html

    data = {**form_of(notice, days_overdue=20), "preview": "1"}
    html = part(client.post(url, data, headers=hx("step-preview")))
    assert oob(html, "step-preview-status") == "Tomorrow's run (02/04/2026)"
    row = re.search(
        rf"<th scope=\"row\">{notice.name}</th><td class=\"num\">(\d+)</td>"
        r"<td class=\"num[^\"]*\">(\d+)</td>",
        unescape(html),
    )
    assert row and row.groups() == ("1", "0")  # one notice as it is, none with the change
    notice.refresh_from_db()
    assert notice.days_overdue == 3  # nothing saved


def test_a_preview_of_a_wrong_form_says_what_is_wrong(client, company, notice_preview):
    url, notice = notice_preview
    logged_in(client, company, language="en")
    data = {**form_of(notice, days_overdue="tre"), "preview": "1"}
    html = part(client.post(url, data, headers=hx("step-preview")))
    assert '<div class="notice notice--error" role="alert">' in html
    assert "Days overdue: Enter a whole number." in html
    assert oob(html, "step-preview-status") == ""


@pytest.mark.parametrize("role", ROLES)
def test_who_may_preview_a_strategy_with_htmx(client, company, notice_preview, role):
    url, notice = notice_preview
    logged_in(client, company, role, language="en")
    data = {**form_of(notice, days_overdue=20), "preview": "1"}
    response = client.post(url, data, headers=hx("step-preview"))
    if role in {Role.ADMINISTRATOR, Role.CREDIT_MANAGER}:
        part(response)
    else:
        assert response.status_code == 403


# --------------------------------------------------------------------------------------
# Message templates: the preview on another customer, of the text being typed
# --------------------------------------------------------------------------------------


@pytest.fixture
def reminder(company):
    """The Italian email of the first reminder, and two customers with a late item."""
    for name, amount in [("Rossi S.r.l.", "1234.56"), ("Bianchi S.p.A.", "99.00")]:
        ReceivableFactory(
            company=company,
            customer=CustomerFactory(company=company, name=name, emails="amm@example.it"),
            due_date=dt.date(2026, 3, 1),
            open_amount=Decimal(amount),
        )
    return MessageTemplate.objects.get(
        company=company, code="first-reminder", kind="email", language="it"
    )


def test_another_customer_in_the_preview(client, company, reminder):
    logged_in(client, company, language="en")
    url = reverse("web:message_template", args=[reminder.pk])
    html = whole(client.get(url))
    assert '<div id="template-preview">' in html
    assert '<input type="hidden" id="template-customer" name="customer" value="' in html

    bianchi = company.customers.get(name="Bianchi S.p.A.")
    html = part(client.get(url, {"customer": bianchi.pk}, headers=hx("template-preview")))
    assert "99,00" in html and "1.234,56" not in html  # Bianchi's item, not Rossi's
    assert "<iframe" in html and "sandbox" in html
    # The text form now previews on Bianchi too.
    assert (
        f'<input type="hidden" id="template-customer" name="customer" value="{bianchi.pk}" '
        'hx-swap-oob="true">'
    ) in html
    assert oob(html, "template-preview-status").startswith("Subject: ")


def test_preview_the_text_being_typed(client, company, reminder):
    logged_in(client, company, language="en")
    url = reverse("web:message_template", args=[reminder.pk])
    rossi = company.customers.get(name="Rossi S.r.l.")
    data = {
        "customer": rossi.pk,
        "name": reminder.name,
        "subject": "Promemoria {{ customer.name }}",
        "body": reminder.body,
        "preview": "1",
    }
    html = part(client.post(url, data, headers=hx("template-preview")))
    assert oob(html, "template-preview-status") == "Subject: Promemoria Rossi S.r.l."
    assert oob(html, "template-errors") == ""
    reminder.refresh_from_db()
    assert reminder.version == 1  # a preview saves nothing
    # A subject left empty: the form's error comes out of band (the form is not swapped).
    html = part(client.post(url, {**data, "subject": ""}, headers=hx("template-preview")))
    errors = html[html.index('id="template-errors"') :]
    assert "Subject: This field is required." in errors


@pytest.mark.parametrize("role", ROLES)
def test_who_may_preview_a_typed_text_with_htmx(client, company, reminder, role):
    logged_in(client, company, role, language="en")
    url = reverse("web:message_template", args=[reminder.pk])
    data = {"name": "x", "subject": "y", "body": "z", "preview": "1"}
    response = client.post(url, data, headers=hx("template-preview"))
    if role in {Role.ADMINISTRATOR, Role.CREDIT_MANAGER}:
        part(response)
    else:
        assert response.status_code == 403  # collectors read; the others do not write


def test_another_companys_template_is_404_with_htmx(client, company, reminder):
    logged_in(client, company)
    other = MessageTemplate.objects.filter(company=CompanyFactory()).first()
    assert other is not None
    url = reverse("web:message_template", args=[other.pk])
    assert client.get(url, headers=hx("template-preview")).status_code == 404
