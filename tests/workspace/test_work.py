"""The operators' work: portfolios, tasks from the engine's actions, tasks by hand,
activities and what they put in motion, the worklist and punctuality.

Every date is fixed around DAY, Tuesday 31/03/2026 (its ISO week starts on Monday 30/03).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from incassa.credit.models import ItemCriticality
from incassa.dunning.models import ActionStatus, Hold, HoldKind
from incassa.dunning.services import action_approve, action_mark_done, action_reject
from incassa.ledger.models import Role
from incassa.workspace import work
from incassa.workspace.models import Activity, Reaction, Task, TaskKind, TaskStatus
from incassa.workspace.selectors import punctuality, worklist
from incassa.workspace.work import WorkError
from tests.factories import (
    FIXED_DAY,
    CustomerCategoryFactory,
    CustomerFactory,
    MembershipFactory,
    ReceivableFactory,
    UserFactory,
    action_with_items,
)
from tests.workspace.factories_work import (
    CustomerAssignmentFactory,
    PortfolioRuleFactory,
    TaskFactory,
)

DAY = FIXED_DAY


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def member(company, username: str, role=Role.COLLECTOR):
    user = UserFactory(username=username)
    MembershipFactory(user=user, company=company, role=role)
    return user


@pytest.fixture
def anna(company):
    return member(company, "anna")


@pytest.fixture
def bruno(company):
    return member(company, "bruno")


# --------------------------------------------------------------------------------------
# Portfolios
# --------------------------------------------------------------------------------------


def test_operator_for_hand_assignment_then_category_then_default(company, anna, bruno):
    carla = member(company, "carla")
    retail, wholesale = CustomerCategoryFactory.create_batch(2, company=company)
    PortfolioRuleFactory(company=company, category=retail, operator=anna)
    by_rule = CustomerFactory(company=company, category=retail)
    by_hand = CustomerFactory(company=company, category=retail)
    CustomerAssignmentFactory(customer=by_hand, operator=bruno)
    no_rule = CustomerFactory(company=company, category=wholesale)

    assert work.operator_for(by_rule) == anna
    assert work.operator_for(by_hand) == bruno
    assert work.operator_for(no_rule) is None

    PortfolioRuleFactory(company=company, category=None, operator=carla)
    assert work.operator_for(no_rule) == carla
    assert work.operator_for(CustomerFactory(company=company)) == carla
    assert work.operator_for(by_rule) == anna


def test_customer_assign_only_to_members(company, anna):
    customer = CustomerFactory(company=company)
    with pytest.raises(WorkError):
        work.customer_assign(customer=customer, operator=UserFactory(username="outsider"))
    work.customer_assign(customer=customer, operator=anna)
    assert work.operator_for(customer) == anna
    work.customer_assign(customer=customer, operator=None)
    assert work.operator_for(customer) is None


# --------------------------------------------------------------------------------------
# Tasks from the engine's actions
# --------------------------------------------------------------------------------------


def _actions(company, count: int, step_code: str, day=DAY):
    """``count`` actions of ``step_code``, one per new customer with one item."""
    actions = []
    for _ in range(count):
        item = ReceivableFactory(company=company, due_date=day - dt.timedelta(days=30))
        actions.append(action_with_items(company, item.customer, step_code, [item], day=day))
    return actions


def test_sync_makes_one_task_per_action_that_needs_an_operator(company, anna):
    PortfolioRuleFactory(company=company, operator=anna)
    (call,) = _actions(company, 1, "courtesy-call")
    (letter,) = _actions(company, 1, "first-reminder")
    (notice,) = _actions(company, 1, "formal-notice")  # needs approval
    (escalation,) = _actions(company, 1, "escalation")  # needs approval
    _actions(company, 1, "pre-due")  # an email: nothing to do
    _actions(company, 1, "agent-notice")  # an email to the agent: nothing to do
    _actions(company, 1, "second-call", day=DAY + dt.timedelta(days=1))  # not yet

    assert work.tasks_sync_from_actions(company=company, as_of=DAY) == 4
    tasks = {t.source_action_id: t for t in Task.objects.all()}
    assert {a: t.kind for a, t in tasks.items()} == {
        call.pk: TaskKind.CALL,
        letter.pk: TaskKind.LETTER,
        notice.pk: TaskKind.APPROVAL,
        escalation.pk: TaskKind.APPROVAL,
    }
    assert all(t.assignee == anna and t.due_on == DAY for t in tasks.values())
    assert tasks[call.pk].title == call.step.name

    # Idempotent: a second sync creates nothing.
    assert work.tasks_sync_from_actions(company=company, as_of=DAY) == 0
    assert Task.objects.count() == 4


def test_sync_follows_what_others_did_to_the_actions(company, anna):
    (call,) = _actions(company, 1, "courtesy-call")
    (letter,) = _actions(company, 1, "first-reminder")
    (notice,) = _actions(company, 1, "formal-notice")
    (escalation,) = _actions(company, 1, "escalation")
    work.tasks_sync_from_actions(company=company, as_of=DAY)

    action_mark_done(action=call, user=anna)  # called from the dunning pages
    action_reject(action=letter, user=anna)
    action_approve(action=notice, user=anna)
    action_approve(action=escalation, user=anna)
    assert work.tasks_sync_from_actions(company=company, as_of=DAY) == 0

    tasks = {t.source_action_id: t for t in Task.objects.all()}
    assert tasks[call.pk].status == TaskStatus.CANCELLED
    assert tasks[letter.pk].status == TaskStatus.CANCELLED
    # Approved: the same task is now the letter to post and the hand-over to do.
    assert (tasks[notice.pk].status, tasks[notice.pk].kind) == (TaskStatus.OPEN, TaskKind.LETTER)
    assert (tasks[escalation.pk].status, tasks[escalation.pk].kind) == (
        TaskStatus.OPEN,
        TaskKind.ESCALATION,
    )


def test_sync_with_nothing_to_do_only_reads(company, anna, django_assert_num_queries):
    _actions(company, 2, "courtesy-call")
    work.tasks_sync_from_actions(company=company, as_of=DAY)
    # Three reads (closed actions, decided approvals, actions without a task) and no
    # transaction: a page that syncs on every view never waits for the database's writer.
    with django_assert_num_queries(3) as captured:
        assert work.tasks_sync_from_actions(company=company, as_of=DAY) == 0
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries)


@pytest.mark.parametrize("count", [2, 25])
def test_sync_is_set_based(company, anna, count, django_assert_max_num_queries):
    retail = CustomerCategoryFactory(company=company)
    PortfolioRuleFactory(company=company, category=retail, operator=anna)
    actions = _actions(company, count, "courtesy-call") + _actions(company, count, "escalation")
    for action in actions[::2]:
        CustomerAssignmentFactory(customer=action.customer, operator=anna)
    work.tasks_sync_from_actions(company=company, as_of=DAY - dt.timedelta(days=1))
    # 14 queries for 4 actions as for 50: 3 reads to see that there is work, savepoint and
    # release, 2 cancels, 5 re-kinds, select, insert.
    with django_assert_max_num_queries(14):
        created = work.tasks_sync_from_actions(company=company, as_of=DAY)
    assert created == 2 * count
    assert Task.objects.filter(assignee=anna).count() == count


# --------------------------------------------------------------------------------------
# Tasks by operators
# --------------------------------------------------------------------------------------


def test_done_call_task_marks_its_action_done(company, anna):
    (call,) = _actions(company, 1, "courtesy-call")
    work.tasks_sync_from_actions(company=company, as_of=DAY)
    task = Task.objects.get()

    task = work.task_done(task=task, user=anna, at=at(DAY))
    call.refresh_from_db()
    assert (task.status, task.done_by, task.done_at) == (TaskStatus.DONE, anna, at(DAY))
    assert (call.status, call.done_by) == (ActionStatus.DONE, anna)
    with pytest.raises(WorkError):
        work.task_done(task=task, user=anna)


def test_done_approval_task_approves_and_becomes_the_work(company, anna):
    (escalation,) = _actions(company, 1, "escalation")
    work.tasks_sync_from_actions(company=company, as_of=DAY)
    task = work.task_done(task=Task.objects.get(), user=anna)
    escalation.refresh_from_db()
    assert escalation.status == ActionStatus.APPROVED
    assert (task.status, task.kind) == (TaskStatus.OPEN, TaskKind.ESCALATION)

    task = work.task_done(task=task, user=anna)
    escalation.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert escalation.status == ActionStatus.DONE


def test_reassign_snooze_and_manual_task(company, anna, bruno):
    customer = CustomerFactory(company=company)
    CustomerAssignmentFactory(customer=customer, operator=anna)
    task = work.task_create_manual(
        customer=customer, title="  Chiedere estratto conto ", due_on=DAY, user=bruno
    )
    assert (task.assignee, task.title, task.kind, task.created_by) == (
        anna,
        "Chiedere estratto conto",
        TaskKind.MANUAL,
        bruno,
    )
    with pytest.raises(WorkError):
        work.task_create_manual(customer=customer, title=" ", due_on=DAY)

    task = work.task_reassign(task=task, assignee=bruno)
    assert Task.objects.get(pk=task.pk).assignee == bruno
    with pytest.raises(WorkError):
        work.task_reassign(task=task, assignee=UserFactory(username="outsider"))

    work.task_snooze(task=task, until=DAY + dt.timedelta(days=2))
    assert worklist(company=company, user=bruno, today=DAY) == []
    assert worklist(company=company, user=bruno, today=DAY + dt.timedelta(days=1)) == []
    (item,) = worklist(company=company, user=bruno, today=DAY + dt.timedelta(days=2))
    assert item.task == task and item.is_overdue  # snoozing does not move its date


# --------------------------------------------------------------------------------------
# Activities
# --------------------------------------------------------------------------------------


def test_already_paid_holds_the_items_completes_the_task_and_plans_the_next(company, anna):
    first = ReceivableFactory(company=company, document_number="FT1")
    customer = first.customer
    second = ReceivableFactory(company=company, customer=customer, document_number="FT2")
    untouched = ReceivableFactory(company=company, customer=customer, document_number="FT3")
    action = action_with_items(company, customer, "courtesy-call", [first, second], day=DAY)
    work.tasks_sync_from_actions(company=company, as_of=DAY)
    call_task = Task.objects.get()

    activity = work.activity_record(
        customer=customer,
        kind="call",
        user=anna,
        items=[first, second],
        contact_person="Sig.ra Rossi (amministrazione)",
        reaction=Reaction.SAYS_ALREADY_PAID,
        outcome="Dice di aver pagato con bonifico il 25/03",
        next_action="Verificare l'incasso con la banca",
        next_action_on=DAY + dt.timedelta(days=2),
        task=call_task,
        happened_at=at(DAY, 9),
    )

    holds = Hold.objects.filter(kind=HoldKind.VERIFICATION)
    assert sorted(h.receivable_id for h in holds) == [first.pk, second.pk]
    assert all(
        (h.starts_on, h.until, h.reason, h.created_by)
        == (DAY, None, work.VERIFICATION_REASON, anna)
        for h in holds
    )
    assert not Hold.objects.filter(receivable=untouched).exists()
    call_task.refresh_from_db()
    action.refresh_from_db()
    assert call_task.status == TaskStatus.DONE and action.status == ActionStatus.DONE
    follow_up = activity.follow_up
    assert (follow_up.kind, follow_up.due_on, follow_up.assignee, follow_up.title) == (
        TaskKind.FOLLOW_UP,
        DAY + dt.timedelta(days=2),
        anna,
        "Verificare l'incasso con la banca",
    )
    assert activity.task == call_task
    assert set(activity.items.all()) == {first, second}

    # Said again: the items are not held twice.
    work.activity_record(
        customer=customer, kind="call", user=anna, items=[first], reaction="says_already_paid"
    )
    assert Hold.objects.filter(kind=HoldKind.VERIFICATION).count() == 2
    assert Activity.objects.count() == 2


def test_activity_checks_what_it_is_given(company, anna):
    item = ReceivableFactory(company=company)
    other = ReceivableFactory(company=company)
    customer = item.customer
    with pytest.raises(WorkError):
        work.activity_record(customer=customer, kind="call", user=anna, items=[other])
    with pytest.raises(WorkError):
        work.activity_record(customer=customer, kind="call", user=anna, reaction="disputes")
    with pytest.raises(WorkError):
        work.activity_record(
            customer=customer, kind="call", user=anna, items=[item], reaction="promises_to_pay"
        )
    with pytest.raises(WorkError):
        work.activity_record(
            customer=customer,
            kind="note",
            user=anna,
            task=TaskFactory(company=company, customer=other.customer),
        )
    assert not Activity.objects.exists()


def _agreements():
    return pytest.importorskip(
        "incassa.workspace.agreements",
        reason="incassa.workspace.agreements (promise_record, dispute_open) is not there yet",
    )


def _spy(monkeypatch, module, name):
    calls = []
    original = getattr(module, name)

    def spy(**kwargs):
        calls.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_promise_to_pay_records_a_promise(company, anna, monkeypatch):
    agreements = _agreements()
    calls = _spy(monkeypatch, agreements, "promise_record")
    item = ReceivableFactory(company=company)
    activity = work.activity_record(
        customer=item.customer,
        kind="call",
        user=anna,
        items=[item],
        reaction=Reaction.PROMISES_TO_PAY,
        outcome="Paga entro il 15",
        promise_amount=Decimal("100.00"),
        promise_on=DAY + dt.timedelta(days=15),
        happened_at=at(DAY),
    )
    assert activity.reaction == Reaction.PROMISES_TO_PAY
    assert calls == [
        {
            "customer": item.customer,
            "items": [item],
            "amount": Decimal("100.00"),
            "promised_on": DAY + dt.timedelta(days=15),
            "user": anna,
            "note": "Paga entro il 15",
            "today": DAY,
        }
    ]
    assert Hold.objects.filter(receivable=item, kind=HoldKind.PROMISE).exists()


def test_promise_errors_are_work_errors(company, anna):
    _agreements()
    item = ReceivableFactory(company=company)
    with pytest.raises(WorkError):
        work.activity_record(
            customer=item.customer,
            kind="call",
            user=anna,
            items=[item],
            reaction=Reaction.PROMISES_TO_PAY,
            promise_amount=Decimal("100.00"),
            promise_on=DAY - dt.timedelta(days=1),
            happened_at=at(DAY),
        )
    assert not Activity.objects.exists()


def test_dispute_opens_a_dispute(company, anna, monkeypatch):
    agreements = _agreements()
    calls = _spy(monkeypatch, agreements, "dispute_open")
    item = ReceivableFactory(company=company)
    work.activity_record(
        customer=item.customer,
        kind="email",
        user=anna,
        items=[item],
        direction="inbound",
        reaction=Reaction.DISPUTES,
        notes="Merce arrivata danneggiata",
        dispute_reason="quality",
        happened_at=at(DAY),
    )
    assert calls == [
        {
            "customer": item.customer,
            "items": [item],
            "reason": "quality",
            "description": "Merce arrivata danneggiata",
            "owner": anna,
            "user": anna,
            "today": DAY,
        }
    ]
    assert Hold.objects.filter(receivable=item, kind=HoldKind.DISPUTE).exists()


# --------------------------------------------------------------------------------------
# Worklist and punctuality
# --------------------------------------------------------------------------------------


def _critical(item, score: str) -> None:
    ItemCriticality.objects.create(
        receivable=item, company=item.company, score=Decimal(score), computed_on=DAY
    )


def test_worklist_is_ordered_by_criticality(company, anna, bruno, django_assert_max_num_queries):
    PortfolioRuleFactory(company=company, operator=anna)
    late = DAY - dt.timedelta(days=20)
    # Customer "mild": best item 40.0. "severe": 85.0 (its closed item's 99 does not count).
    # "tie_small" and "tie_large" both 60.0: the larger overdue amount (500 > 300) first.
    mild = ReceivableFactory(company=company, due_date=late)
    _critical(mild, "40.0")
    severe = ReceivableFactory(company=company, due_date=late)
    _critical(severe, "85.0")
    _critical(ReceivableFactory(company=company, customer=severe.customer, due_date=late), "10")
    closed = ReceivableFactory(
        company=company, customer=severe.customer, status="closed", closed_on=DAY
    )
    _critical(closed, "99.0")
    tie_small = ReceivableFactory(company=company, due_date=late, open_amount=Decimal("300"))
    _critical(tie_small, "60.0")
    tie_large = ReceivableFactory(company=company, due_date=late, open_amount=Decimal("500"))
    _critical(tie_large, "60.0")
    plain = ReceivableFactory(company=company, due_date=late)  # never scored: last

    mine = TaskFactory(company=company, customer=mild.customer, assignee=anna)
    pool = TaskFactory(company=company, customer=severe.customer, due_on=DAY - dt.timedelta(1))
    t_small = TaskFactory(company=company, customer=tie_small.customer, assignee=anna)
    t_large = TaskFactory(company=company, customer=tie_large.customer, assignee=anna)
    t_plain = TaskFactory(company=company, customer=plain.customer, assignee=anna)
    # Not on Anna's list today: Bruno's, tomorrow's, snoozed, done.
    TaskFactory(company=company, customer=severe.customer, assignee=bruno)
    TaskFactory(
        company=company, customer=severe.customer, assignee=anna, due_on=DAY + dt.timedelta(1)
    )
    TaskFactory(company=company, customer=severe.customer, snoozed_until=DAY + dt.timedelta(1))
    TaskFactory(company=company, customer=severe.customer, assignee=anna, status=TaskStatus.DONE)

    with django_assert_max_num_queries(1):
        items = worklist(company=company, user=anna, today=DAY)
    assert [i.task for i in items] == [pool, t_large, t_small, mine, t_plain]
    assert [i.criticality for i in items] == [
        Decimal("85.0"),
        Decimal("60.0"),
        Decimal("60.0"),
        Decimal("40.0"),
        None,
    ]
    assert [i.overdue_amount for i in items] == [
        Decimal("200.00"),
        Decimal("500.00"),
        Decimal("300.00"),
        Decimal("100.00"),
        Decimal("100.00"),
    ]
    assert [i.is_overdue for i in items] == [True, False, False, False, False]
    # Bruno has no portfolio: only his own task.
    assert [i.task.assignee for i in worklist(company=company, user=bruno, today=DAY)] == [bruno]


def test_punctuality_per_operator_and_week(company, anna, bruno, django_assert_max_num_queries):
    monday = dt.date(2026, 3, 30)
    next_monday = monday + dt.timedelta(days=7)

    def task(assignee, due_on, done_on=None, status=TaskStatus.OPEN):
        t = TaskFactory(company=company, assignee=assignee, due_on=due_on, status=status)
        if done_on is not None:
            work.task_done(task=t, user=assignee, at=at(done_on, 16))

    # Anna, week of 30/03: 4 planned (the cancelled one does not count);
    #   due 30/03 done 30/03 (on time), due 31/03 done 30/03 (early: on time),
    #   due 01/04 done 02/04 (late), due 02/04 still open (late) -> 2/4 = 0.5.
    task(anna, monday, monday)
    task(anna, monday + dt.timedelta(1), monday)
    task(anna, monday + dt.timedelta(2), monday + dt.timedelta(3))
    task(anna, monday + dt.timedelta(3))
    task(anna, monday + dt.timedelta(3), status=TaskStatus.CANCELLED)
    # Anna, week of 06/04: 1 planned, done on its day -> 1/1 = 1.0.
    task(anna, next_monday + dt.timedelta(1), next_monday + dt.timedelta(1))
    # Bruno, week of 30/03: 3 planned, 1 done on time -> 1/3.
    task(bruno, monday + dt.timedelta(4), monday + dt.timedelta(4))
    task(bruno, monday + dt.timedelta(4), monday + dt.timedelta(7))
    task(bruno, monday + dt.timedelta(6))
    # Outside the period (due 29/03 and 13/04): not counted.
    task(anna, monday - dt.timedelta(1), monday - dt.timedelta(1))
    task(bruno, next_monday + dt.timedelta(7), next_monday + dt.timedelta(7))

    with django_assert_max_num_queries(2):
        rows = punctuality(company=company, start=monday, end=next_monday + dt.timedelta(6))
    assert sorted((r.operator.username, r.week_start, r.planned, r.done_on_time) for r in rows) == [
        ("anna", monday, 4, 2),
        ("anna", next_monday, 1, 1),
        ("bruno", monday, 3, 1),
    ]
    shares = {(r.operator.username, r.week_start): r.share for r in rows}
    assert shares[("anna", monday)] == 0.5
    assert shares[("bruno", monday)] == pytest.approx(1 / 3)
