"""A collector's fortnight, end to end through the real import, engine and pages: import,
run, call, promise, next import with the payment, promise kept.

The standard strategy's trigger days (agent notice 3, courtesy call 7, first reminder 15;
the default gap between two steps is the difference of their trigger days) and the dates
below give every expected figure:

- 20/03: the ERP's snapshot lists Rossi's F1 (due 01/03, 1.000,00 €, 19 days late) and F2
  (due 30/04, not due). The engine sends the agent notice for F1 (the first step due).
- 24/03: four days later (gap 7 - 3) the courtesy call for F1 is due: it reaches the
  collector's worklist. She calls; Rossi promises to pay 1.000,00 € by 31/03: F1 is held
  by the promise, the call is done, and she plans to check the payment on 01/04.
- 01/04 would be the first reminder (gap 15 - 7 = 8 days after 24/03) if F1 were not held.
- 31/03: the next snapshot no longer lists F1 (paid): the promise is kept the same day,
  its hold released; F2 stays open and untouched.
- 01/04: the engine sends nothing for F1; the collector's worklist shows the check she
  planned, and the customer's page says the promise was kept.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse

from incassa.comms.services import outbox_deliver
from incassa.dunning import services as dunning
from incassa.dunning.models import Action, ActionStatus, Hold, HoldKind
from incassa.ledger.models import Receivable, ReceivableStatus, Role, SalesAgent
from incassa.ledger.services import receivables_import
from incassa.workspace.models import Activity, Promise, PromiseStatus, Task, TaskKind, TaskStatus
from tests.web.test_customers import get, member
from tests.workspace.factories_work import PortfolioRuleFactory

pytestmark = pytest.mark.django_db

HEADER = "Codice cliente;Ragione sociale;Email;Agente;Numero documento;Data scadenza;Importo"
F1 = "001;Rossi S.r.l.;amm@rossi.it;Mario Rossi;F1;01/03/2026;1.000,00"
F2 = "001;Rossi S.r.l.;amm@rossi.it;Mario Rossi;F2;30/04/2026;500,00"
WORKLIST = reverse("web:worklist")
ROSSI = reverse("web:customer", args=["001"])


def on(day: dt.date):
    """Rome at nine in the morning of ``day``."""
    return time_machine.travel(dt.datetime.combine(day, dt.time(8, 0), tzinfo=dt.UTC), tick=False)


def snapshot(tmp_path: Path, company, day: dt.date, rows: list[str], commit_hooks) -> None:
    path = tmp_path / f"scadenziario-{day}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    # What runs after the import commits (the agreements' review) runs here too.
    with commit_hooks(execute=True):
        receivables_import(company=company, path=path, as_of=day)


def worklist_tasks(client) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-task="(\d+)">', get(client, WORKLIST))]


def test_import_run_call_promise_payment_promise_kept(
    tmp_path, company, client, django_capture_on_commit_callbacks
):
    collector = member(company, Role.COLLECTOR, username="giulia", first_name="Giulia")
    PortfolioRuleFactory(company=company, operator=collector)  # every customer is hers

    # 20/03: the morning import and run.
    day = dt.date(2026, 3, 20)
    with on(day):
        snapshot(tmp_path, company, day, [F1, F2], django_capture_on_commit_callbacks)
        SalesAgent.objects.filter(company=company).update(email="mario@agenti.it")
        dunning.dunning_run(company=company, as_of=day)
        outbox_deliver(company=company, today=day)
    notice = Action.objects.get(step__code="agent-notice")
    assert notice.status == ActionStatus.SENT
    f1 = Receivable.objects.get(document_number="F1")
    f2 = Receivable.objects.get(document_number="F2")

    # 24/03: the courtesy call is on Giulia's worklist.
    day = dt.date(2026, 3, 24)
    with on(day):
        dunning.dunning_run(company=company, as_of=day)
        call = Action.objects.get(step__code="courtesy-call")
        client.force_login(collector)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"
        tasks = worklist_tasks(client)  # opening the worklist brings it up to date
        call_task = Task.objects.get(source_action=call)
        assert call_task.kind == TaskKind.CALL
        assert tasks == [call_task.pk]

        # She calls: Rossi promises the whole 1.000,00 € by 31/03.
        response = client.post(
            ROSSI,
            {
                "op": "activity",
                "kind": "call",
                "contact_person": "Sig.ra Rossi",
                "direction": "outbound",
                "reaction": "promises_to_pay",
                "outcome": "Bonifico entro fine mese",
                "items": [f1.pk],
                "promise_amount": "1.000,00",
                "promise_on": "2026-03-31",
                "next_action": "Verificare l'incasso",
                "next_action_on": "2026-04-01",
            },
        )
        assert response.status_code == 302
        assert [str(m) for m in get_messages(response.wsgi_request)] == ["L'attività è registrata."]
        client.post(WORKLIST, {"op": "done", "task": call_task.pk})

    promise = Promise.objects.get()
    assert (promise.amount, promise.promised_on) == (Decimal("1000.00"), dt.date(2026, 3, 31))
    assert promise.status == PromiseStatus.OPEN
    assert Hold.objects.get(receivable=f1).kind == HoldKind.PROMISE
    call.refresh_from_db()
    assert call.status == ActionStatus.DONE
    assert Activity.objects.get().operator == collector
    follow_up = Task.objects.get(kind=TaskKind.FOLLOW_UP)
    assert (follow_up.due_on, follow_up.assignee) == (dt.date(2026, 4, 1), collector)

    # 27/03: nothing for F1 while the promise holds it.
    with on(dt.date(2026, 3, 27)):
        dunning.dunning_run(company=company, as_of=dt.date(2026, 3, 27))
    assert Action.objects.count() == 2  # the agent notice and the call

    # 31/03: the snapshot no longer lists F1: paid, and the promise is kept.
    day = dt.date(2026, 3, 31)
    with on(day):
        snapshot(tmp_path, company, day, [F2], django_capture_on_commit_callbacks)
    f1.refresh_from_db()
    assert f1.status == ReceivableStatus.CLOSED
    promise.refresh_from_db()
    assert (promise.status, promise.closed_on) == (PromiseStatus.KEPT, day)
    assert not Hold.objects.get(receivable=f1).is_active(dt.date(2026, 4, 1))

    # 01/04: the engine leaves Rossi alone (F1 paid, F2 not due: first reminder no longer
    # applies), and Giulia's worklist holds the check she planned.
    day = dt.date(2026, 4, 1)
    with on(day):
        client.force_login(collector)  # a new morning, a new session (they last 8 hours)
        result = dunning.dunning_run(company=company, as_of=day)
        assert Action.objects.count() == 2, result
        assert worklist_tasks(client) == [follow_up.pk]
        page = get(client, ROSSI)
    history = page[page.index('id="history-title"') :]
    assert "Promessa rispettata" in history  # the customer's history tells the story
    f2.refresh_from_db()
    assert f2.open_amount == Decimal("500.00")
    assert Task.objects.get(pk=call_task.pk).status == TaskStatus.DONE
