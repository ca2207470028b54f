"""The dunning engine on the database: the standard strategy walked day by day.

The portfolio is imported through the real import, so the engine sees what a user's
ledger holds. Expected days are worked out from the standard strategy's table:
pre-due -5, agent-notice 3, courtesy-call 7, first-reminder 15, second-call 25,
formal-notice 40 (approval), final-call 50, escalation 65 (approval); the default gap is
the difference of the trigger days.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from incassa.comms.services import outbox_deliver
from incassa.dunning import services
from incassa.dunning.models import (
    Action,
    ActionStatus,
    CategoryStrategy,
    CustomerStrategy,
    HoldKind,
    ItemStep,
    ItemStepStatus,
    Run,
    Step,
    Strategy,
)
from incassa.ledger.models import Customer, CustomerCategory, Receivable
from incassa.ledger.services import receivables_import

pytestmark = pytest.mark.django_db

HEADER = "Codice cliente;Ragione sociale;Email;Agente;Numero documento;Data scadenza;Importo"
DUE = dt.date(2026, 3, 1)


def day(n: int) -> dt.date:
    """The date ``n`` days after DUE (negative: before)."""
    return DUE + dt.timedelta(days=n)


def load(tmp_path: Path, company, rows: list[str], as_of: dt.date, **kwargs) -> None:
    path = tmp_path / f"snap-{as_of}.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    receivables_import(company=company, path=path, as_of=as_of, **kwargs)


def agent(company, email: str = "mario@agenzia.it") -> None:
    from incassa.ledger.models import SalesAgent

    SalesAgent.objects.filter(company=company).update(email=email)


def steps_of(document: str) -> list[tuple[str, dt.date, str]]:
    return list(
        ItemStep.objects.filter(receivable__document_number=document)
        .order_by("reached_on", "id")
        .values_list("step__code", "reached_on", "status")
    )


def close_actions_as_operators_would(as_of: dt.date, company) -> None:
    """Approve what needs approval, post the letters, make the calls, send the emails."""
    for action in Action.objects.filter(status=ActionStatus.CREATED, needs_approval=True):
        services.action_approve(action=action)
    outbox_deliver(company=company, today=as_of)
    for action in Action.objects.filter(
        status__in=[ActionStatus.CREATED, ActionStatus.APPROVED],
        channel__in=["letter", "registered_letter", "call", "task", "escalation"],
    ):
        services.action_mark_done(action=action)


def walk(company, start: int, end: int, operators: bool = True) -> None:
    for n in range(start, end + 1):
        services.dunning_run(company=company, as_of=day(n))
        if operators:
            close_actions_as_operators_would(day(n), company)


ROW = "001;Rossi S.r.l.;amm@rossi.it;Mario Rossi;F1;01/03/2026;1.000,00"


def test_standard_strategy_walked_day_by_day(tmp_path, company):
    load(tmp_path, company, [ROW], day(-10))
    agent(company)
    walk(company, -10, 80)
    # Each step on the first day its trigger allows, the gap being the difference of days.
    assert [(code, reached) for code, reached, _ in steps_of("F1")] == [
        ("pre-due", day(-5)),
        ("agent-notice", day(3)),
        ("courtesy-call", day(7)),
        ("first-reminder", day(15)),
        ("second-call", day(25)),
        ("formal-notice", day(40)),
        ("final-call", day(50)),
        ("escalation", day(65)),
    ]
    statuses = [status for *_, status in steps_of("F1")]
    assert statuses == ["sent", "sent", "done", "sent", "done", "sent", "done", "done"]


def test_a_late_import_starts_at_the_first_overdue_step_one_step_per_run(tmp_path, company):
    load(tmp_path, company, [ROW], day(45))
    agent(company)
    walk(company, 45, 60)
    # 45 days late: not the formal notice, but agent-notice, then one step per gap.
    codes = [(code, reached) for code, reached, _ in steps_of("F1")]
    assert codes[:3] == [
        ("agent-notice", day(45)),
        ("courtesy-call", day(49)),  # gap 7 - 3 = 4 days
        ("first-reminder", day(57)),  # gap 15 - 7 = 8 days
    ]


def test_no_burst_after_missed_runs(tmp_path, company):
    load(tmp_path, company, [ROW], day(2))
    agent(company)
    services.dunning_run(company=company, as_of=day(3))
    close_actions_as_operators_would(day(3), company)
    # Nothing runs for 30 days; the next run moves the item one step only.
    services.dunning_run(company=company, as_of=day(33))
    assert [code for code, *_ in steps_of("F1")] == ["agent-notice", "courtesy-call"]


def test_same_date_twice_creates_nothing(tmp_path, company):
    load(tmp_path, company, [ROW], day(3))
    agent(company)
    first = services.dunning_run(company=company, as_of=day(3))
    second = services.dunning_run(company=company, as_of=day(3))
    assert (first.actions, first.item_steps) == (1, 1)
    assert (second.actions, second.item_steps) == (0, 0)
    assert Action.objects.count() == 1
    assert Run.objects.count() == 2


ROW_F2 = "001;Rossi S.r.l.;amm@rossi.it;Mario Rossi;F2;01/03/2026;500,00"


def test_a_new_item_the_same_day_joins_the_waiting_action(tmp_path, company):
    # F1 is 3 days late on day 3: the agent notice is written for Rossi. An e-invoice (here
    # a partial snapshot) brings F2, due the same day, before anything went out.
    load(tmp_path, company, [ROW], day(3))
    agent(company)
    services.dunning_run(company=company, as_of=day(3))
    load(tmp_path, company, [ROW, ROW_F2], day(3), partial=True)
    second = services.dunning_run(company=company, as_of=day(3))
    # One action per customer, step and day: F2 joins it (1.000,00 + 500,00 = 1.500,00).
    assert second.item_steps == 1
    action = Action.objects.get()
    assert (action.item_count, action.total_amount) == (2, Decimal("1500.00"))
    assert set(action.item_steps.values_list("receivable__document_number", flat=True)) == {
        "F1",
        "F2",
    }


def test_a_new_item_after_the_days_action_went_out_waits_for_tomorrow(tmp_path, company):
    load(tmp_path, company, [ROW], day(3))
    agent(company)
    services.dunning_run(company=company, as_of=day(3))
    Action.objects.update(status=ActionStatus.SENT)
    load(tmp_path, company, [ROW, ROW_F2], day(3), partial=True)
    services.dunning_run(company=company, as_of=day(3))
    # The sent notice listed F1 only; F2 gets its own notice on the next run.
    assert Action.objects.count() == 1 and steps_of("F2") == []
    services.dunning_run(company=company, as_of=day(4))
    assert [code for code, *_ in steps_of("F2")] == ["agent-notice"]


def test_a_crash_mid_run_leaves_nothing_and_the_rerun_does_it_all(tmp_path, company, monkeypatch):
    rows = [ROW, "002;Bianchi;b@bianchi.it;;F2;01/03/2026;50,00"]
    load(tmp_path, company, rows, day(8))
    agent(company)
    from incassa.core import bulk

    real = bulk.insert_rows

    def crash(table, *args, **kwargs):
        real(table, *args, **kwargs)
        if table == ItemStep._meta.db_table:
            raise RuntimeError("killed")

    monkeypatch.setattr(bulk, "insert_rows", crash)
    with pytest.raises(RuntimeError):
        services.dunning_run(company=company, as_of=day(8))
    assert not Action.objects.exists()
    assert not ItemStep.objects.exists()
    monkeypatch.setattr(bulk, "insert_rows", real)
    result = services.dunning_run(company=company, as_of=day(8))
    # F1 (agent) -> agent-notice action; F2 has no agent -> agent-notice skipped.
    assert (result.actions, result.item_steps, result.skipped) == (1, 2, 1)


def test_dry_run_changes_nothing(tmp_path, company):
    load(tmp_path, company, [ROW], day(3))
    agent(company)
    result = services.dunning_run(company=company, as_of=day(3), dry_run=True)
    assert result.actions == 1
    assert not Action.objects.exists()
    assert not Run.objects.exists()


def test_grouping_one_action_per_customer_and_step(tmp_path, company, sent_mail):
    rows = [
        "001;Rossi;amm@rossi.it;Mario;F1;01/03/2026;100,00",
        "001;Rossi;amm@rossi.it;Mario;F2;01/03/2026;200,00",
        "001;Rossi;amm@rossi.it;Mario;F3;01/03/2026;300,00",
    ]
    load(tmp_path, company, rows, day(-5))
    result = services.dunning_run(company=company, as_of=day(-5))
    assert (result.actions, result.item_steps) == (1, 3)
    action = Action.objects.get()
    # 100 + 200 + 300 = 600 in one email.
    assert (action.item_count, action.total_amount) == (3, Decimal("600.00"))
    outbox_deliver(company=company, today=day(-5))
    (email,) = sent_mail()
    body = email.get_body(("plain",)).get_content()
    assert "F1" in body and "F2" in body and "F3" in body


def test_payment_between_two_steps_cancels_and_stops(tmp_path, company):
    load(
        tmp_path,
        company,
        [
            ROW,
            "001;Rossi S.r.l.;amm@rossi.it;Mario Rossi;F9;01/03/2026;5,00",
            "777;Altro;x@altro.it;;X1;01/06/2026;1,00",
        ],
        day(15),
    )
    agent(company)
    services.dunning_run(company=company, as_of=day(15))
    action = Action.objects.get()
    assert action.step.code == "agent-notice"
    # The next snapshot shows both items paid: the pending email is cancelled.
    other = "777;Altro;x@altro.it;;X1;01/06/2026;1,00"
    load(tmp_path, company, [other], day(16), force=True)
    action.refresh_from_db()
    assert action.status == ActionStatus.CANCELLED
    assert {s for *_, s in steps_of("F1")} == {ItemStepStatus.CANCELLED}
    walk(company, 16, 40)
    assert Action.objects.count() == 1


def test_partial_payment_keeps_the_flow_for_what_is_left(tmp_path, company):
    rows = [ROW, "001;Rossi S.r.l.;amm@rossi.it;Mario Rossi;F2;01/03/2026;10,00"]
    load(tmp_path, company, rows, day(3))
    agent(company)
    services.dunning_run(company=company, as_of=day(3))
    close_actions_as_operators_would(day(3), company)
    load(tmp_path, company, [rows[0]], day(4))  # F2 paid, F1 still open
    walk(company, 4, 7)
    assert [c for c, *_ in steps_of("F1")] == ["agent-notice", "courtesy-call"]
    assert [c for c, *_ in steps_of("F2")] == ["agent-notice"]


def test_dispute_hold_and_its_end(tmp_path, company):
    load(tmp_path, company, [ROW], day(3))
    agent(company)
    item = Receivable.objects.get(document_number="F1")
    hold = services.hold_place(receivable=item, kind=HoldKind.DISPUTE, starts_on=day(3))
    walk(company, 3, 20)
    assert steps_of("F1") == []
    services.hold_release(hold=hold, on=day(21))
    walk(company, 21, 21)
    assert [c for c, *_ in steps_of("F1")] == ["agent-notice"]


def test_promise_holds_until_its_date(tmp_path, company):
    load(tmp_path, company, [ROW], day(3))
    agent(company)
    item = Receivable.objects.get(document_number="F1")
    services.hold_place(receivable=item, kind=HoldKind.PROMISE, starts_on=day(3), until=day(10))
    walk(company, 3, 9)
    assert steps_of("F1") == []
    walk(company, 10, 10)
    assert [(c, d) for c, d, _ in steps_of("F1")] == [("agent-notice", day(10))]


def test_exclusion_and_suspension(tmp_path, company):
    rows = [ROW, "002;Bianchi;b@bianchi.it;Mario Rossi;F2;01/03/2026;50,00"]
    load(tmp_path, company, rows, day(3))
    agent(company)
    services.customer_exclude(customer=Customer.objects.get(code="001"), reason="key account")
    services.customer_suspend(
        customer=Customer.objects.get(code="002"),
        starts_on=day(3),
        until=day(6),
        reason="holidays",
    )
    walk(company, 3, 6)
    assert steps_of("F1") == []
    # Suspended until day 6 exclusive: resumes on day 6 by itself.
    assert [(c, d) for c, d, _ in steps_of("F2")] == [("agent-notice", day(6))]


def test_customer_with_items_at_different_stages(tmp_path, company):
    rows = [
        "001;Rossi;amm@rossi.it;Mario;OLD;01/03/2026;100,00",
        "001;Rossi;amm@rossi.it;Mario;NEW;20/03/2026;100,00",
    ]
    load(tmp_path, company, rows, day(-5))
    agent(company)
    walk(company, -5, 8)
    assert [c for c, *_ in steps_of("OLD")] == ["pre-due", "agent-notice", "courtesy-call"]
    # NEW is due 20/03 (day 19): at day 8 it is 11 days before due, so nothing yet.
    assert steps_of("NEW") == []
    walk(company, 9, 14)
    assert [(c, d) for c, d, _ in steps_of("NEW")] == [("pre-due", day(14))]


def test_approval_holds_the_item_until_decided(tmp_path, company):
    load(tmp_path, company, [ROW], day(40))
    agent(company)
    strategy = Strategy.objects.get(company=company, code="standard")
    # Put the item at second-call, reached 15 days ago, so formal-notice is next.
    Step.objects.filter(strategy=strategy).exclude(
        code__in=["second-call", "formal-notice", "final-call"]
    ).delete()
    services.dunning_run(company=company, as_of=day(40))
    formal = Action.objects.get(step__code="second-call")
    services.action_mark_done(action=formal)
    services.dunning_run(company=company, as_of=day(55))
    notice = Action.objects.get(step__code="formal-notice")
    assert notice.is_waiting_for_approval
    # Not approved: final-call does not come, however late the item gets.
    for n in range(56, 90):
        services.dunning_run(company=company, as_of=day(n))
    assert not Action.objects.filter(step__code="final-call").exists()
    services.action_approve(action=notice)
    services.action_mark_done(action=notice)  # posted
    services.dunning_run(company=company, as_of=day(90))
    assert Action.objects.filter(step__code="final-call").exists()


def test_credit_notes_are_never_chased_and_can_cover_the_balance(tmp_path, company):
    rows = [
        "001;Rossi;amm@rossi.it;Mario;F1;01/03/2026;100,00",
        "001;Rossi;amm@rossi.it;Mario;NC1;01/03/2026;-150,00",
        "002;Bianchi;b@b.it;Mario;F2;01/03/2026;100,00",
        "002;Bianchi;b@b.it;Mario;NC2;01/03/2026;-40,00",
    ]
    load(tmp_path, company, rows, day(3))
    agent(company)
    services.dunning_run(company=company, as_of=day(3))
    # 001: 100 - 150 < 0, covered: not chased. 002: 100 - 40 = 60 still due: chased.
    assert steps_of("F1") == []
    assert steps_of("NC1") == []
    assert steps_of("NC2") == []
    assert [c for c, *_ in steps_of("F2")] == ["agent-notice"]


def test_email_step_without_email_becomes_a_letter(tmp_path, company):
    load(tmp_path, company, ["009;Senza Mail;;;F1;01/03/2026;10,00"], day(-5))
    services.dunning_run(company=company, as_of=day(-5))
    action = Action.objects.get()
    assert action.channel == "letter"
    assert "no email address" in action.note


def test_strategy_per_category_and_customer_override(tmp_path, company):
    load(tmp_path, company, [ROW, "002;Bianchi;b@b.it;Mario Rossi;F2;01/03/2026;50,00"], day(3))
    agent(company)
    soft = Strategy.objects.create(company=company, code="soft", name="Soft")
    Step.objects.create(
        strategy=soft, position=1, code="call-only", name="Call", channel="call", days_overdue=3
    )
    category = CustomerCategory.objects.create(company=company, code="PA")
    Customer.objects.filter(code="002").update(category=category)
    CategoryStrategy.objects.create(category=category, strategy=soft)
    services.dunning_run(company=company, as_of=day(3))
    assert [c for c, *_ in steps_of("F2")] == ["call-only"]
    assert [c for c, *_ in steps_of("F1")] == ["agent-notice"]
    CustomerStrategy.objects.create(customer=Customer.objects.get(code="001"), strategy=soft)
    services.dunning_run(company=company, as_of=day(7))
    # Moved to "soft", whose only step (day 3) is not later than agent-notice (day 3): done.
    assert [c for c, *_ in steps_of("F1")] == ["agent-notice"]


def test_changing_a_strategy_while_items_are_in_flight(tmp_path, company):
    load(tmp_path, company, [ROW], day(3))
    agent(company)
    walk(company, 3, 7)
    assert [c for c, *_ in steps_of("F1")] == ["agent-notice", "courtesy-call"]
    strategy = Strategy.objects.get(company=company, code="standard")
    # The credit manager removes the letter and moves the second call earlier.
    Step.objects.filter(strategy=strategy, code="first-reminder").delete()
    Step.objects.filter(strategy=strategy, code="second-call").update(days_overdue=12)
    walk(company, 8, 12)
    # Gap from courtesy-call (day 7) to second-call (12): 5 days -> day 12.
    assert [(c, d) for c, d, _ in steps_of("F1")][-1] == ("second-call", day(12))


def test_conditions_minimum_overdue_amount(tmp_path, company):
    load(tmp_path, company, ["001;Rossi;amm@rossi.it;Mario;F1;01/03/2026;50,00"], day(3))
    agent(company)
    Step.objects.filter(code="agent-notice").update(min_customer_overdue=Decimal("100.00"))
    services.dunning_run(company=company, as_of=day(3))
    # 50,00 is below 100,00: agent-notice does not apply, and courtesy-call waits for day 7.
    assert steps_of("F1") == []
    services.dunning_run(company=company, as_of=day(7))
    assert [c for c, *_ in steps_of("F1")] == ["courtesy-call"]


def test_preview_shows_the_coming_days(tmp_path, company):
    load(tmp_path, company, [ROW], day(-10))
    agent(company)
    outlook = services.dunning_preview(company=company, start=day(-6), days=10)
    by_day = {p.day: p.by_step for p in outlook if p.by_step}
    assert by_day == {day(-5): {"pre-due": 1}, day(3): {"agent-notice": 1}}
    assert not Action.objects.exists()


def test_reject_lets_the_item_go_on(tmp_path, company):
    load(tmp_path, company, [ROW], day(40))
    agent(company)
    strategy = Strategy.objects.get(company=company, code="standard")
    Step.objects.filter(strategy=strategy).exclude(
        code__in=["formal-notice", "final-call"]
    ).delete()
    services.dunning_run(company=company, as_of=day(40))
    notice = Action.objects.get()
    services.action_reject(action=notice, reason="customer called")
    assert [s for *_, s in steps_of("F1")] == [ItemStepStatus.REJECTED]
    services.dunning_run(company=company, as_of=day(50))
    assert [c for c, *_ in steps_of("F1")] == ["formal-notice", "final-call"]
    with pytest.raises(services.ActionStateError):
        services.action_approve(action=notice)


# --------------------------------------------------------------------------------------
# Editing a strategy
# --------------------------------------------------------------------------------------


def test_step_save_adds_a_last_step_and_refuses_a_foreign_category(company):
    from incassa.dunning.models import Strategy
    from tests.factories import CompanyFactory, CustomerCategoryFactory

    standard = Strategy.objects.get(company=company, code="standard")
    last = standard.steps.order_by("-position").first().position
    values = {"code": "lawyer", "name": "Avvocato", "channel": "letter", "days_overdue": 90}
    step = services.step_save(strategy=standard, values=values)
    assert step.position == last + services.POSITION_GAP
    foreign = CustomerCategoryFactory(company=CompanyFactory())
    with pytest.raises(services.StrategyError):
        services.step_save(strategy=standard, values=values, step=step, categories=[foreign])


def test_step_move_swaps_neighbours_and_keeps_the_ends(company):
    from incassa.dunning.models import Strategy

    standard = Strategy.objects.get(company=company, code="standard")
    order = list(standard.steps.order_by("position").values_list("code", flat=True))
    last = standard.steps.get(code=order[-1])
    services.step_move(step=last, offset=1)  # already last: nothing moves
    services.step_move(step=last, offset=-1)
    moved = list(standard.steps.order_by("position").values_list("code", flat=True))
    assert moved == [*order[:-2], order[-1], order[-2]]


def test_change_preview_rolls_the_change_back(company):
    from incassa.dunning.models import Strategy

    standard = Strategy.objects.get(company=company, code="standard")

    def change() -> None:
        standard.steps.all().delete()

    comparison = services.strategy_change_preview(
        company=company, day=dt.date(2026, 4, 2), change=change
    )
    assert comparison.after.item_steps == 0
    assert standard.steps.exists()  # rolled back


def test_suspension_end(company):
    from incassa.dunning.models import Suspension
    from tests.factories import CustomerFactory

    customer = CustomerFactory(company=company)
    active = Suspension.objects.create(
        customer=customer, starts_on=dt.date(2026, 3, 1), until=dt.date(2026, 5, 1), reason="x"
    )
    # Ended on 01/04: the flow resumes that day.
    assert services.suspension_end(suspension=active, on=dt.date(2026, 4, 1)).until == dt.date(
        2026, 4, 1
    )
    upcoming = Suspension.objects.create(
        customer=customer, starts_on=dt.date(2026, 4, 10), until=dt.date(2026, 5, 1), reason="y"
    )
    assert services.suspension_end(suspension=upcoming, on=dt.date(2026, 4, 1)) is None
    assert not Suspension.objects.filter(pk=upcoming.pk).exists()
