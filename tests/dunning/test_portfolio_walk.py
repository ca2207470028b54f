"""The standard strategy walked day by day over a small but realistic portfolio: what each
customer receives, and when.

Due dates and the standard strategy's trigger days (pre-due -5, agent-notice 3,
courtesy-call 7, first-reminder 15, second-call 25, formal-notice 40, final-call 50,
escalation 65; default gap = difference of trigger days) give every expected date below;
operators approve, post and call on the day an action is created.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from incassa.comms.services import outbox_deliver
from incassa.dunning.models import Action, ActionStatus
from incassa.dunning.services import action_approve, action_mark_done, dunning_run
from incassa.ledger.models import SalesAgent
from incassa.ledger.services import receivables_import

pytestmark = pytest.mark.django_db

HEADER = "Codice cliente;Ragione sociale;Email;Agente;Numero documento;Data scadenza;Importo"
PORTFOLIO = [
    # Alfa: email and an agent; two installments of one invoice, due 01/03 and 31/03.
    "001;Alfa S.r.l.;amm@alfa.it;Mario Rossi;A1;01/03/2026;100,00",
    "001;Alfa S.r.l.;amm@alfa.it;Mario Rossi;A1;31/03/2026;100,00",
    # Beta: no email and no agent.
    "002;Beta S.n.c.;;;B1;10/03/2026;250,00",
    # Gamma: pays on 10/03 (gone from the snapshot of that day).
    "003;Gamma S.p.A.;g@gamma.it;Mario Rossi;C1;01/03/2026;80,00",
    # Delta: its credit note covers the invoice: never chased.
    "004;Delta S.r.l.;d@delta.it;Mario Rossi;D1;01/03/2026;100,00",
    "004;Delta S.r.l.;d@delta.it;Mario Rossi;NC1;15/02/2026;-150,00",
]
START, END = dt.date(2026, 2, 20), dt.date(2026, 5, 10)
PAYMENT_DAY = dt.date(2026, 3, 10)


def d(day: str) -> dt.date:
    return dt.datetime.strptime(day, "%d/%m/%Y").date()


def load(tmp_path: Path, company, rows: list[str], on: dt.date) -> None:
    path = tmp_path / f"{on}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    receivables_import(company=company, path=path, as_of=on)


def operators(company, day: dt.date) -> None:
    for action in Action.objects.filter(needs_approval=True, status=ActionStatus.CREATED):
        action_approve(action=action)
    outbox_deliver(company=company, today=day)
    for action in Action.objects.filter(
        status__in=[ActionStatus.CREATED, ActionStatus.APPROVED],
        channel__in=["letter", "registered_letter", "call", "escalation"],
    ):
        action_mark_done(action=action)


def test_what_each_customer_receives_and_when(tmp_path, company):
    load(tmp_path, company, PORTFOLIO, START)
    SalesAgent.objects.update(email="mario@agenti.it")
    day = START
    while day <= END:
        if day == PAYMENT_DAY:
            load(tmp_path, company, [r for r in PORTFOLIO if not r.startswith("003")], day)
        dunning_run(company=company, as_of=day)
        operators(company, day)
        day += dt.timedelta(days=1)

    received: dict[str, list[tuple[dt.date, str, str, list[str]]]] = defaultdict(list)
    for action in Action.objects.select_related("customer", "step").order_by(
        "scheduled_on", "step__position"
    ):
        documents = sorted(
            f"{s.receivable.document_number}/{s.receivable.due_date:%d%m}"
            for s in action.item_steps.select_related("receivable")
        )
        received[action.customer.code].append(
            (action.scheduled_on, action.step.code, action.channel, documents)
        )

    assert received["001"] == [
        # A1 (due 01/03): pre-due on 24/02 (-5), then one step per gap.
        (d("24/02/2026"), "pre-due", "email", ["A1/0103"]),
        (d("04/03/2026"), "agent-notice", "agent_email", ["A1/0103"]),  # day 3, gap 8
        (d("08/03/2026"), "courtesy-call", "call", ["A1/0103"]),  # day 7, gap 4
        (d("16/03/2026"), "first-reminder", "letter", ["A1/0103"]),  # day 15, gap 8
        # 26/03: A1's second call (day 25) and A2's pre-due (31/03 - 5) on the same day.
        (d("26/03/2026"), "pre-due", "email", ["A1/3103"]),
        (d("26/03/2026"), "second-call", "call", ["A1/0103"]),
        (d("03/04/2026"), "agent-notice", "agent_email", ["A1/3103"]),  # A2 day 3, gap 8
        (d("07/04/2026"), "courtesy-call", "call", ["A1/3103"]),
        (d("10/04/2026"), "formal-notice", "registered_letter", ["A1/0103"]),  # day 40
        (d("15/04/2026"), "first-reminder", "letter", ["A1/3103"]),
        (d("20/04/2026"), "final-call", "call", ["A1/0103"]),  # day 50, gap 10
        (d("25/04/2026"), "second-call", "call", ["A1/3103"]),
        (d("05/05/2026"), "escalation", "escalation", ["A1/0103"]),  # day 65, gap 15
        (d("10/05/2026"), "formal-notice", "registered_letter", ["A1/3103"]),  # A2 day 40
    ]
    # Beta has no email: the pre-due email becomes a letter; its agent notice is skipped
    # (no agent) on 13/03, and the courtesy call follows 4 days later.
    assert received["002"][:3] == [
        (d("05/03/2026"), "pre-due", "letter", ["B1/1003"]),
        (d("17/03/2026"), "courtesy-call", "call", ["B1/1003"]),
        (d("25/03/2026"), "first-reminder", "letter", ["B1/1003"]),
    ]
    # Gamma paid on 10/03, after its courtesy call of 08/03: nothing more.
    assert [step for _, step, _, _ in received["003"]] == [
        "pre-due",
        "agent-notice",
        "courtesy-call",
    ]
    # Delta owes 100,00 but holds a 150,00 credit note: never chased.
    assert received["004"] == []
