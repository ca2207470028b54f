"""The operator's worklist: today's tasks by criticality, and done, snooze and reassign."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incassa.credit.models import ItemCriticality
from incassa.ledger.models import Role
from incassa.workspace.models import Task, TaskKind, TaskStatus
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    ReceivableFactory,
    action_with_items,
)
from tests.web.test_customers import get, logged_in, member
from tests.workspace.factories_work import PortfolioRuleFactory, TaskFactory

# Today is 01/04/2026 in Rome for every test here.
TODAY = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 4, 1)
WORKLIST = reverse("web:worklist")


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


def critical_task(company, user, score: str, name: str, **fields) -> Task:
    """A task for ``user`` on a new customer whose open item has criticality ``score``."""
    customer = CustomerFactory(company=company, name=name)
    item = ReceivableFactory(company=company, customer=customer, open_amount=Decimal("250.00"))
    ItemCriticality.objects.create(
        receivable=item, company=company, score=Decimal(score), computed_on=DAY
    )
    return TaskFactory(company=company, customer=customer, assignee=user, **fields)


def task_rows(html: str) -> list[str]:
    return re.findall(r'<tr data-task="(\d+)">', html)


def post(client, task: Task, op: str, **data):
    return client.post(WORKLIST, {"op": op, "task": task.pk, **data})


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _user(client):
    return get_user_model().objects.get(pk=client.session["_auth_user_id"])


def test_lists_the_users_tasks_most_critical_first(client, company):
    logged_in(client, company, Role.COLLECTOR)
    user = _user(client)
    low = critical_task(company, user, "20.0", "Bassa S.r.l.")
    high = critical_task(company, user, "90.0", "Alta S.r.l.")
    middle = critical_task(company, user, "55.5", "Media S.r.l.", due_on=DAY)
    someone_else = critical_task(
        company, member(company, Role.COLLECTOR, username="altro"), "99", "Altrui S.r.l."
    )
    later = critical_task(company, user, "95", "Futura S.r.l.", due_on=DAY + dt.timedelta(days=3))

    html = get(client, WORKLIST)
    assert task_rows(html) == [str(high.pk), str(middle.pk), str(low.pk)]
    assert str(someone_else.pk) not in task_rows(html)
    assert str(later.pk) not in task_rows(html)
    assert "Lavoro di oggi" in html
    assert f'href="{reverse("web:customer", args=[high.customer.code])}"' in html
    # Due yesterday: late, highlighted; due today: not.
    assert html.count('<span class="tag tag--failed">In ritardo</span>') == 2
    assert 'class="num is-overdue"' in html
    assert "55,5" in html
    assert 'name="op" value="done"' in html


def test_a_page_at_a_time_most_critical_first(client, company, monkeypatch):
    monkeypatch.setattr("incassa.web.worklist.WORKLIST_PAGE", 2)
    logged_in(client, company, Role.COLLECTOR)
    user = _user(client)
    tasks = [critical_task(company, user, score, f"Cliente {score}") for score in "9876"]
    # Criticality 9, 8 | 7, 6: two pages of two, the counter counts all four.
    first = get(client, WORKLIST)
    assert task_rows(first) == [str(tasks[0].pk), str(tasks[1].pk)]
    assert "4 compiti" in first
    assert 'rel="next" href="?page=2"' in first
    second = get(client, WORKLIST, {"page": "2"})
    assert task_rows(second) == [str(tasks[2].pk), str(tasks[3].pk)]
    assert 'rel="prev" href="?page=1"' in second


def test_english_and_the_empty_state(client, company):
    logged_in(client, company, Role.COLLECTOR, language="en")
    html = get(client, WORKLIST)
    assert "Today&#x27;s work" in html or "Today's work" in html
    assert "Nothing to do today" in html
    assert task_rows(html) == []


def test_tasks_come_from_the_engines_actions(client, company):
    logged_in(client, company, Role.COLLECTOR)
    user = _user(client)
    PortfolioRuleFactory(company=company, operator=user)
    customer = CustomerFactory(company=company, name="Rossi S.r.l.")
    item = ReceivableFactory(company=company, customer=customer)
    action = action_with_items(company, customer, "courtesy-call", [item], day=DAY, approved=True)

    html = get(client, WORKLIST)
    task = Task.objects.get(source_action=action)
    assert task.kind == TaskKind.CALL
    assert task_rows(html) == [str(task.pk)]
    assert "Rossi S.r.l." in html


def test_done(client, company):
    logged_in(client, company, Role.COLLECTOR)
    task = TaskFactory(company=company, assignee=_user(client))
    response = post(client, task, "done")
    assert response.status_code == 302
    assert response.url == WORKLIST
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.done_by == _user(client)
    assert task_rows(get(client, WORKLIST)) == []
    # Done twice: a message, no error page.
    response = post(client, task, "done")
    assert response.status_code == 302
    assert texts(response) == ["Questo compito è già chiuso."]


def test_snooze(client, company):
    logged_in(client, company, Role.COLLECTOR)
    task = TaskFactory(company=company, assignee=_user(client))
    response = post(client, task, "snooze", until="2026-04-08")
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.snoozed_until == dt.date(2026, 4, 8)
    assert task.status == TaskStatus.OPEN
    assert task_rows(get(client, WORKLIST)) == []


@pytest.mark.parametrize("until", ["2026-04-01", "2026-03-15", "", "domani"])
def test_a_bad_snooze_date_changes_nothing(client, company, until):
    logged_in(client, company, Role.COLLECTOR)
    task = TaskFactory(company=company, assignee=_user(client))
    response = post(client, task, "snooze", until=until)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.snoozed_until is None
    assert len(texts(response)) == 1
    assert texts(response)[0].startswith("Rimanda al: ")


def test_reassign(client, company):
    logged_in(client, company, Role.COLLECTOR)
    colleague = member(company, Role.CREDIT_MANAGER, username="collega", first_name="Luca")
    auditor = member(company, Role.AUDITOR, username="revisore")
    outsider = member(CompanyFactory(), Role.COLLECTOR, username="esterno")
    task = TaskFactory(company=company, assignee=_user(client))

    html = get(client, WORKLIST)
    assert f'value="{colleague.pk}"' in html
    assert f'value="{auditor.pk}"' not in html

    for stranger in (auditor, outsider):
        response = post(client, task, "reassign", assignee=stranger.pk)
        task.refresh_from_db()
        assert task.assignee == _user(client)
        assert texts(response)[-1] == "Scegli un collega che si occupa di recupero crediti."

    response = post(client, task, "reassign", assignee=colleague.pk)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.assignee == colleague
    assert task_rows(get(client, WORKLIST)) == []

    response = post(client, task, "reassign", assignee="")
    task.refresh_from_db()
    assert task.assignee is None


@pytest.mark.parametrize("role", [Role.SALES_AGENT, Role.AUDITOR])
def test_read_only_roles_see_without_acting(client, company, role):
    logged_in(client, company, role)
    user = _user(client)
    task = TaskFactory(company=company, assignee=user)
    html = get(client, WORKLIST)
    assert task_rows(html) == [str(task.pk)]
    assert 'name="op"' not in html
    for op, data in [("done", {}), ("snooze", {"until": "2026-04-08"}), ("reassign", {})]:
        assert post(client, task, op, **data).status_code == 403
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task.snoozed_until is None
    # Nothing is synchronised for them either.
    assert Task.objects.count() == 1


def test_another_companys_task_is_404(client, company):
    logged_in(client, company, Role.COLLECTOR)
    other = CompanyFactory()
    task = TaskFactory(company=other, assignee=_user(client))
    for op in ("done", "snooze", "reassign"):
        assert post(client, task, op, until="2026-04-08").status_code == 404
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task.snoozed_until is None
    assert client.post(WORKLIST, {"op": "done", "task": "x"}).status_code == 404
    assert client.post(WORKLIST, {"op": "burn", "task": task.pk}).status_code == 400


def test_queries_do_not_grow_with_the_tasks(client, company, django_assert_max_num_queries):
    logged_in(client, company, Role.COLLECTOR)
    user = _user(client)
    member(company, Role.CREDIT_MANAGER, username="collega")

    def count(tasks: int) -> int:
        Task.objects.all().delete()
        for n in range(tasks):
            critical_task(company, user, str(n % 90), f"Cliente {tasks}-{n}")
        with CaptureQueriesContext(connection) as queries:
            html = get(client, WORKLIST)
        assert len(task_rows(html)) == tasks
        return len(queries)

    few = count(3)
    assert count(30) == few
    with django_assert_max_num_queries(few):
        get(client, WORKLIST)
