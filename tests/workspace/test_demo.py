"""The demo's team at work: portfolios by category, calls done with what the debtor said."""

from __future__ import annotations

import datetime as dt

import pytest

from incassa.dunning.demo import demo_days_play
from incassa.dunning.models import Action, ActionStatus
from incassa.ledger.models import CustomerCategory, Membership, Role, SalesAgent
from incassa.ledger.services import receivables_import
from incassa.workspace.demo import (
    OPERATOR_DELAY,
    REACTIONS,
    RULES,
    TEAM,
    demo_team_build,
    demo_work_play,
)
from incassa.workspace.models import (
    Activity,
    PortfolioRule,
    Promise,
    Reaction,
    Task,
    TaskKind,
    TaskStatus,
)

pytestmark = pytest.mark.django_db


def test_the_team_and_its_portfolios(company):
    for code in ("DIST", "RIV", "INST"):
        CustomerCategory.objects.create(company=company, code=code, name=code)
    demo_team_build(company=company)
    demo_team_build(company=company)  # idempotent
    collectors = Membership.objects.filter(company=company, role=Role.COLLECTOR)
    assert sorted(collectors.values_list("user__username", flat=True)) == sorted(
        username for username, _first, _last in TEAM
    )
    assert not collectors.first().user.has_usable_password()
    rules = {
        (rule.category.code if rule.category else None): rule.operator.username
        for rule in PortfolioRule.objects.filter(company=company)
    }
    # GDO has no category in this company, so its rule is skipped; the others follow RULES.
    assert rules == {code: user for code, user in RULES.items() if code != "GDO"}


def test_a_call_is_made_with_a_reaction_and_its_consequence(tmp_path, company):
    path = tmp_path / "s.csv"
    path.write_text(
        "Codice cliente;Ragione sociale;Email;Agente;Numero documento;Data scadenza;Importo\n"
        "001;Rossi;a@rossi.it;Mario;F1;01/03/2026;100,00\n",
        encoding="utf-8",
    )
    receivables_import(company=company, path=path, as_of=dt.date(2026, 3, 4))
    SalesAgent.objects.update(email="mario@agenti.it")
    demo_team_build(company=company)
    # The courtesy call falls on 08/03 (7 days late); the team does it OPERATOR_DELAY days
    # later, on 10/03, before the engine's operators mark calls done themselves.
    today = dt.date(2026, 3, 11)
    demo_days_play(
        company=company,
        start=dt.date(2026, 3, 4),
        until=today,
        on_day=lambda company, day: demo_work_play(company=company, day=day, today=today),
    )
    call = Action.objects.get(step__code="courtesy-call")
    assert call.status == ActionStatus.DONE
    task = Task.objects.get(source_action=call)
    assert task.kind == TaskKind.CALL and task.status == TaskStatus.DONE
    activity = Activity.objects.get(task=task)
    assert activity.happened_at.date() == dt.date(2026, 3, 8) + dt.timedelta(days=OPERATOR_DELAY)
    reaction = REACTIONS[call.pk % len(REACTIONS)]
    assert activity.reaction == reaction
    assert activity.operator.username == "chiara"  # no category: the default rule
    if reaction == Reaction.PROMISES_TO_PAY:
        assert Promise.objects.get().items.get().document_number == "F1"


def test_days_long_ago_are_not_worked(company):
    assert demo_work_play(company=company, day=dt.date(2026, 1, 1), today=dt.date(2026, 3, 1)) == 0
    assert not Task.objects.exists()
