"""The demo's days of dunning: runs every day, operators a little behind."""

from __future__ import annotations

import datetime as dt

import pytest

from incassa.dunning.demo import OPERATOR_DELAY, demo_days_play
from incassa.dunning.models import Action, ActionStatus
from incassa.ledger.models import SalesAgent
from incassa.ledger.services import receivables_import

pytestmark = pytest.mark.django_db


def test_days_are_played_and_recent_work_waits(tmp_path, company):
    path = tmp_path / "s.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Email;Agente;Numero documento;Data scadenza;Importo\n"
        "001;Rossi;a@rossi.it;Mario;F1;01/03/2026;100,00\n",
        encoding="utf-8",
    )
    receivables_import(company=company, path=path, as_of=dt.date(2026, 3, 4))
    SalesAgent.objects.update(email="mario@agenti.it")
    created = demo_days_play(company=company, start=dt.date(2026, 3, 4), until=dt.date(2026, 3, 9))
    # Days 3..7 after the due date (first seen late, so no pre-due): agent-notice on day 3,
    # courtesy-call on day 7 (gap 7 - 3 = 4 days).
    assert created == 2
    assert Action.objects.get(step__code="agent-notice").status == ActionStatus.SENT
    # The call of day 7 (the last day played) is younger than the operators' delay: waiting.
    assert OPERATOR_DELAY > 0
    assert Action.objects.get(step__code="courtesy-call").status == ActionStatus.CREATED


def test_what_was_done_on_a_played_day_is_dated_that_day(tmp_path, company):
    from django.utils import timezone

    path = tmp_path / "s.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Email;Agente;Numero documento;Data scadenza;Importo\n"
        "001;Rossi;a@rossi.it;Mario;F1;01/03/2026;100,00\n",
        encoding="utf-8",
    )
    receivables_import(company=company, path=path, as_of=dt.date(2026, 3, 4))
    SalesAgent.objects.update(email="mario@agenti.it")
    demo_days_play(company=company, start=dt.date(2026, 3, 4), until=dt.date(2026, 3, 20))
    # The courtesy call of 08/03 is done by the operators OPERATOR_DELAY days later, on
    # 10/03 of the demo's calendar, not on the day the demo was built.
    call = Action.objects.get(step__code="courtesy-call")
    assert timezone.localdate(call.done_at) == dt.date(2026, 3, 8) + dt.timedelta(
        days=OPERATOR_DELAY
    )
