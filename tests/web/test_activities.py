"""Recording an activity on a customer's page, and the activities and agreements listed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from incassa.dunning.models import Hold, HoldKind
from incassa.ledger.models import Role
from incassa.workspace.models import Activity, Promise, PromiseStatus, Task, TaskKind
from tests.web import test_customers
from tests.web.test_customers import (
    customer_url,
    get,
    item_of,
    logged_in,
    member,
    post,
    section,
    shown_messages,
)

# The fixtures of the customers' tests: their ledger of 01/04/2026, and that day.
ledger = test_customers.ledger
today = test_customers.today

PROMISE = {
    "op": "activity",
    "kind": "call",
    "contact_person": "Sig.ra Rossi",
    "direction": "outbound",
    "reaction": "promises_to_pay",
    "outcome": "Paga entro il 15",
    "notes": "",
    "promise_amount": "800,00",
    "promise_on": "2026-04-15",
}


def test_a_call_with_a_promise(client, ledger):
    logged_in(client, ledger)
    f1 = item_of(ledger, "F1")
    response = post(client, customer_url("001"), {**PROMISE, "items": [f1.pk]})
    assert shown_messages(response) == ["L'attività è registrata."]
    activity = Activity.objects.get()
    assert activity.kind == "call"
    assert activity.reaction == "promises_to_pay"
    assert activity.contact_person == "Sig.ra Rossi"
    assert list(activity.items.all()) == [f1]
    promise = Promise.objects.get()
    assert promise.status == PromiseStatus.OPEN
    assert promise.amount == Decimal("800.00")
    assert promise.promised_on == dt.date(2026, 4, 15)
    assert list(promise.items.all()) == [f1]
    assert promise.holds.filter(kind=HoldKind.PROMISE, receivable=f1).exists()


def test_says_already_paid_holds_the_items_for_verification(client, ledger):
    logged_in(client, ledger)
    f1, f2 = item_of(ledger, "F1"), item_of(ledger, "F2")
    data = {"op": "activity", "kind": "email", "direction": "inbound"}
    post(
        client,
        customer_url("001"),
        {**data, "reaction": "says_already_paid", "items": [f1.pk, f2.pk]},
    )
    holds = Hold.objects.filter(kind=HoldKind.VERIFICATION, released_on__isnull=True)
    assert {hold.receivable for hold in holds} == {f1, f2}
    assert not Promise.objects.exists()


def test_the_next_action_becomes_a_task(client, ledger):
    user = member(ledger, Role.COLLECTOR)
    client.force_login(user)
    data = {
        "op": "activity",
        "kind": "call",
        "direction": "outbound",
        "reaction": "unreachable",
        "next_action": "Richiamare",
        "next_action_on": "2026-04-03",
    }
    post(client, customer_url("001"), data)
    task = Task.objects.get(kind=TaskKind.FOLLOW_UP)
    assert task.title == "Richiamare"
    assert task.due_on == dt.date(2026, 4, 3)
    assert task.customer.code == "001"
    assert task.assignee == user
    assert Activity.objects.get().follow_up == task


def test_a_promise_without_its_amount_records_nothing(client, ledger):
    logged_in(client, ledger)
    f1 = item_of(ledger, "F1")
    data = {**PROMISE, "promise_amount": "", "items": [f1.pk]}
    response = post(client, customer_url("001"), data)
    assert shown_messages(response) == ["Importo promesso: Una promessa richiede importo e data."]
    assert not Activity.objects.exists()
    assert not Promise.objects.exists()
    assert not Hold.objects.filter(kind=HoldKind.PROMISE).exists()


def test_a_promise_without_items_records_nothing(client, ledger):
    logged_in(client, ledger)
    response = post(client, customer_url("001"), PROMISE)
    assert len(shown_messages(response)) == 1
    assert not Activity.objects.exists()
    assert not Promise.objects.exists()


def test_an_item_of_another_customer_is_refused(client, ledger):
    logged_in(client, ledger)
    f3 = item_of(ledger, "F3")  # customer 002's
    post(client, customer_url("001"), {**PROMISE, "items": [f3.pk]})
    assert not Activity.objects.exists()


def test_an_auditor_may_not_record(client, ledger):
    logged_in(client, ledger, Role.AUDITOR)
    f1 = item_of(ledger, "F1")
    post(client, customer_url("001"), {**PROMISE, "items": [f1.pk]}, status=403)
    assert not Activity.objects.exists()
    html = get(client, customer_url("001"))
    assert 'value="activity"' not in html
    assert "Attività e accordi" in html


def test_the_page_lists_the_activity_and_the_promise(client, ledger):
    logged_in(client, ledger, first_name="Laura", last_name="Bassi")
    f1 = item_of(ledger, "F1")
    html = get(client, customer_url("001"))
    assert 'value="activity"' in html
    assert f'name="items" value="{f1.pk}"' in html
    post(client, customer_url("001"), {**PROMISE, "items": [f1.pk]})
    html = section(get(client, customer_url("001")), "activities-title")
    assert "Telefonata" in html or "Chiamata" in html
    assert "Promette di pagare" in html
    assert "Paga entro il 15" in html
    assert "Laura Bassi" in html
    assert "15/04/2026" in html
    assert "800,00" in html
