"""``incassa dunning run|preview|history|deliver`` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command

from incassa.dunning.models import Action
from incassa.ledger.models import SalesAgent
from incassa.ledger.services import receivables_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(tmp_path, company):
    path = tmp_path / "s.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Email;Agente;Numero documento;Data scadenza;Importo\n"
        "001;Rossi;a@rossi.it;Mario;F1;01/03/2026;100,00\n"
        "001;Rossi;a@rossi.it;Mario;F2;01/03/2026;50,00\n"
        "002;Bianchi;;;F3;01/03/2026;30,00\n"
        "003;Verdi;v@verdi.it;;F4;10/03/2026;20,00\n",
        encoding="utf-8",
    )
    receivables_import(company=company, path=path, as_of=dt.date(2026, 3, 4))
    SalesAgent.objects.update(email="mario@agenti.it")
    return company


def call(*args: str) -> str:
    out = StringIO()
    call_command("dunning", *args, stdout=out)
    return out.getvalue()


def test_run_json(ledger):
    result = json.loads(call("run", "--date", "2026-03-05", "--json"))
    # 4 days late on 05/03: agent-notice (day 3) for F1+F2 (one action, Mario has an email)
    # and F3 (skipped: no agent); F4 is due 10/03, 5 days ahead: pre-due by email.
    assert result["date"] == "2026-03-05"
    assert result["actions"] == 2
    assert result["item_steps"] == 4
    assert result["by_step"] == {"agent-notice": 1, "pre-due": 1}
    assert result["by_channel"] == {"agent_email": 1, "email": 1}
    again = json.loads(call("run", "--date", "2026-03-05", "--json"))
    assert (again["actions"], again["item_steps"]) == (0, 0)


def test_dry_run_prints_and_changes_nothing(ledger):
    out = call("run", "--date", "2026-03-05", "--dry-run")
    assert "Would create 2 action(s)" in out
    assert "001: agent-notice (agent_email) 2 item(s), 150.00" in out
    assert "002: agent-notice (skipped)" in out
    assert not Action.objects.exists()


def test_history_json(ledger):
    call("run", "--date", "2026-03-05")
    rows = json.loads(call("history", "--customer", "001", "--json"))
    assert [(r["document"], r["step"], r["status"]) for r in rows] == [
        ("F1", "agent-notice", "created"),
        ("F2", "agent-notice", "created"),
    ]
    assert set(rows[0]) >= {"customer", "document", "due_date", "step", "date", "status"}
    assert rows[0]["due_date"] == "2026-03-01"


def test_preview_days(ledger):
    rows = json.loads(call("preview", "--date", "2026-03-05", "--days", "7", "--json"))
    assert len(rows) == 7
    # Day 7 after the due date (08/03): courtesy call for 001 and 002 (their agent-notice
    # was on 05/03 in the simulation; gap 7 - 3 = 4 days -> 09/03).
    by_date = {r["date"]: r["by_step"] for r in rows if r["by_step"]}
    assert by_date["2026-03-05"] == {"agent-notice": 1, "pre-due": 1}
    assert by_date["2026-03-09"] == {"courtesy-call": 2}


def test_deliver_sends_the_emails(ledger, sent_mail):
    call("run", "--date", "2026-03-05")
    out = call("deliver", "--date", "2026-03-05")
    assert "Sent 2 email(s), 0 failed" in out
    recipients = sorted(m["To"] for m in sent_mail())
    assert recipients == ["mario@agenti.it", "v@verdi.it"]
    assert call("deliver").startswith("Sent 0")
