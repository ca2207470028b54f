"""The effectiveness statistics as pure functions: items' amounts through time, the shares
collected within 7, 15 and 30 days (censoring included), the median days to payment and
the customers for whom nothing works. Every figure is worked out by hand in a comment.

Amounts are in cents; the last snapshot (``observed_until``) is 30/04/2026 unless a test
says otherwise.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.workspace.effectiveness import (
    ACTION,
    ACTIVITY,
    BROKEN_PROMISES_MIN,
    FINISHED_GRACE_DAYS,
    FRUITLESS_CONTACTS_MIN,
    HORIZONS,
    NO_FIGURES,
    Dimension,
    Inputs,
    Suggestion,
    effectiveness,
    item_levels,
    suggestion_for,
)

D = dt.date
END = D(2026, 4, 30)
START = D(2026, 1, 1)


def frame(rows: list[dict], name: str) -> pl.DataFrame:
    from incassa.workspace.effectiveness import SCHEMAS

    return pl.DataFrame(rows, schema=SCHEMAS[name], orient="row")


def item(item_id: int, customer: int = 1, open_amount: int = 0, due: dt.date = START) -> dict:
    return {
        "item_id": item_id,
        "customer_id": customer,
        "due_date": due,
        "open_amount": open_amount,
    }


def created(item_id: int, on: dt.date, event_id: int) -> dict:
    return {"item_id": item_id, "on_date": on, "event_id": event_id, "amount_before": None}


def changed(item_id: int, on: dt.date, before: int, event_id: int) -> dict:
    return {"item_id": item_id, "on_date": on, "event_id": event_id, "amount_before": before}


def action(
    action_id: int,
    day: dt.date,
    *,
    customer: int = 1,
    step: int = 1,
    strategy: int = 1,
    channel: str = "email",
) -> dict:
    return {
        "action_id": action_id,
        "customer_id": customer,
        "day": day,
        "step_id": step,
        "strategy_id": strategy,
        "channel": channel,
    }


def inputs(
    *,
    actions=(),
    action_items=(),
    activities=(),
    activity_items=(),
    items=(),
    events=(),
    finished=(),
    broken_promises=(),
    broken_plans=(),
    observed_until: dt.date = END,
) -> Inputs:
    return Inputs(
        observed_until=observed_until,
        actions=frame(list(actions), "actions"),
        action_items=frame(
            [{"action_id": a, "item_id": i} for a, i in action_items], "action_items"
        ),
        activities=frame(
            [
                {"activity_id": a, "customer_id": c, "day": d, "kind": k}
                for a, c, d, k in activities
            ],
            "activities",
        ),
        activity_items=frame(
            [{"activity_id": a, "item_id": i} for a, i in activity_items], "activity_items"
        ),
        items=frame(list(items), "items"),
        events=frame(list(events), "events"),
        finished=frame(
            [
                {
                    "customer_id": c,
                    "item_id": i,
                    "reached_on": d,
                    "open_amount": a,
                    "handed_over": h,
                }
                for c, i, d, a, h in finished
            ],
            "finished",
        ),
        broken_promises=frame(
            [{"customer_id": c, "count": n} for c, n in broken_promises], "broken_promises"
        ),
        broken_plans=frame(
            [{"customer_id": c, "count": n} for c, n in broken_plans], "broken_plans"
        ),
    )


def amount_on(levels: pl.DataFrame, item_id: int, day: dt.date) -> int:
    rows = levels.filter((pl.col("item_id") == item_id) & (pl.col("start") <= day))
    return rows.sort("start")["amount"][-1]


# --------------------------------------------------------------------------------------
# Items through time
# --------------------------------------------------------------------------------------


def test_levels_read_the_history_like_open_amounts_on():
    # Item 1: created 01/03 at 1.000,00, part-paid on 10/03 (400,00 left), closed 20/03.
    # Item 2: no event in the window: its amount now, on every day.
    levels = item_levels(
        frame([item(1, open_amount=0), item(2, open_amount=25_000)], "items"),
        frame(
            [
                created(1, D(2026, 3, 1), 1),
                changed(1, D(2026, 3, 10), 100_000, 2),
                changed(1, D(2026, 3, 20), 40_000, 3),
            ],
            "events",
        ),
    )
    assert amount_on(levels, 1, D(2026, 2, 28)) == 0  # not there yet
    assert amount_on(levels, 1, D(2026, 3, 1)) == 100_000
    assert amount_on(levels, 1, D(2026, 3, 9)) == 100_000
    assert amount_on(levels, 1, D(2026, 3, 10)) == 40_000
    assert amount_on(levels, 1, D(2026, 3, 20)) == 0  # closed: zero now
    assert amount_on(levels, 2, D(2020, 1, 1)) == 25_000
    assert amount_on(levels, 2, END) == 25_000


def test_two_events_on_one_day_read_the_first_ones_before():
    # Two imports on 05/03 (600 -> 500 -> 300): on 04/03 the item owed 600,00.
    levels = item_levels(
        frame([item(1, open_amount=30_000)], "items"),
        frame(
            [changed(1, D(2026, 3, 5), 60_000, 7), changed(1, D(2026, 3, 5), 50_000, 8)], "events"
        ),
    )
    assert amount_on(levels, 1, D(2026, 3, 4)) == 60_000
    assert amount_on(levels, 1, D(2026, 3, 5)) == 30_000


@st.composite
def histories(draw):
    """An item's events (day offset, amount before) and its amount now."""
    days = sorted(draw(st.lists(st.integers(1, 60), max_size=6)))
    befores = draw(st.lists(st.integers(0, 10_000), min_size=len(days), max_size=len(days)))
    return list(zip(days, befores, strict=True)), draw(st.integers(0, 10_000))


@settings(max_examples=60, deadline=None)
@given(history=histories(), probe=st.integers(0, 62))
def test_levels_match_open_amounts_on_rule(history, probe):
    """On any day: the amount before the first change after it, else the amount now."""
    events, now = history
    base = D(2026, 1, 1)
    levels = item_levels(
        frame([item(1, open_amount=now)], "items"),
        frame(
            [changed(1, base + dt.timedelta(days=d), b, n) for n, (d, b) in enumerate(events)],
            "events",
        ),
    )
    day = base + dt.timedelta(days=probe)
    later = [b for d, b in events if base + dt.timedelta(days=d) > day]
    assert amount_on(levels, 1, day) == (later[0] if later else now)


# --------------------------------------------------------------------------------------
# Shares and medians
# --------------------------------------------------------------------------------------

# Two first reminders (step 1, email) and a call (step 2) on 01/02, all followed long enough:
#   item 10 (customer 1): 1.000,00, paid in full on 06/02 (5 days after)
#   item 11 (customer 1): 3.000,00, 1.000,00 paid on 13/02 (12 days), the rest on 20/03 (47)
#   item 12 (customer 2): 2.000,00, never paid
# Action 1 (step 1) lists 10 and 11; action 2 (step 1) lists 12; action 3 (step 2, call,
# customer 2) lists 12 too.
FEB = D(2026, 2, 1)
LEDGER = {
    "items": [item(10, 1, 0), item(11, 1, 0), item(12, 2, 200_000)],
    "events": [
        created(10, D(2026, 1, 1), 1),
        changed(10, D(2026, 2, 6), 100_000, 2),
        created(11, D(2026, 1, 1), 3),
        changed(11, D(2026, 2, 13), 300_000, 4),
        changed(11, D(2026, 3, 20), 200_000, 5),
        created(12, D(2026, 1, 1), 6),
    ],
}
ACTIONS = {
    "actions": [
        action(1, FEB, step=1),
        action(2, FEB, customer=2, step=1),
        action(3, FEB, customer=2, step=2, channel="call"),
    ],
    "action_items": [(1, 10), (1, 11), (2, 12), (3, 12)],
}


def test_shares_by_step_and_channel_when_every_window_elapsed():
    result = effectiveness(inputs(**LEDGER, **ACTIONS), today=END)
    step_1 = result.tables[Dimension.STEP][1]
    # Open on 01/02: 1.000 + 3.000 + 2.000 = 6.000,00 over two actions.
    assert (step_1.contacts, step_1.amount) == (2, Decimal("6000.00"))
    # Within 7 days: item 10's 1.000 -> 1/6; within 15 and 30: + 1.000 of item 11 -> 2/6.
    assert step_1.share(7) == pytest.approx(1 / 6)
    assert step_1.share(15) == pytest.approx(2 / 6)
    assert step_1.share(30) == pytest.approx(2 / 6)
    assert step_1.followed == {7: 2, 15: 2, 30: 2}
    # Items paid in full: 10 after 5 days, 11 after 47; 12 still open. Median of 5 and 47.
    assert (step_1.median_days, step_1.paid_items, step_1.open_items) == (26.0, 2, 1)
    assert step_1.percent(7) == Decimal("16.7")

    step_2 = result.tables[Dimension.STEP][2]
    assert (step_2.contacts, step_2.amount) == (1, Decimal("2000.00"))
    assert [step_2.share(h) for h in HORIZONS] == [0.0, 0.0, 0.0]
    assert (step_2.median_days, step_2.paid_items, step_2.open_items) == (None, 0, 1)

    channels = result.tables[Dimension.CHANNEL]
    assert set(channels) == {"email", "call"}
    assert channels["email"] == step_1
    strategy = result.tables[Dimension.STRATEGY][1]
    # The three actions: 8.000 open, 1.000 then 2.000 collected.
    assert strategy.amount == Decimal("8000.00")
    assert strategy.share(7) == pytest.approx(1 / 8)
    assert strategy.share(30) == pytest.approx(2 / 8)
    assert result.totals[ACTION] == strategy
    assert result.totals[ACTIVITY] == NO_FIGURES
    assert result.tables[Dimension.ACTIVITY_KIND] == {}


def test_recent_contacts_count_as_far_as_they_were_followed():
    # Last snapshot 20/02: the actions of 01/02 are followed 19 days; one more action on
    # 15/02 (step 1, customer 3) for item 13 of 1.000,00, paid on 18/02 (3 days after),
    # followed 5 days.
    data = inputs(
        items=[*LEDGER["items"], item(13, 3, 0)],
        events=[
            *LEDGER["events"],
            created(13, D(2026, 1, 1), 7),
            changed(13, D(2026, 2, 18), 100_000, 8),
        ],
        actions=[*ACTIONS["actions"], action(4, D(2026, 2, 15), customer=3, step=1)],
        action_items=[*ACTIONS["action_items"], (4, 13)],
        observed_until=D(2026, 2, 20),
    )
    step_1 = effectiveness(data, today=END).tables[Dimension.STEP][1]
    # Day by day, over the contacts followed that long (owed = still owed by them):
    #   day 3: actions 1, 2, 4 followed; owed 7.000; 1.000 paid (item 13) -> 1 - 1/7 left
    #   day 5: actions 1, 2, 4; owed 6.000; 1.000 paid (item 10) -> x (1 - 1/6)
    #   days 6..19: actions 1, 2 only (6.000 on their day); day 12: owed 6.000 - 1.000
    #   (item 10) = 5.000, 1.000 paid (item 11) -> x (1 - 1/5)
    #   day 20 on: nobody followed that long.
    # Within 7: 1 - 6/7 x 5/6 = 2/7. Within 15: 1 - 5/7 x 4/5 = 3/7. The plain ratio of
    # the actions followed 15 days (2.000 of 6.000, 1/3) would ignore action 4.
    assert step_1.share(7) == pytest.approx(2 / 7)
    assert step_1.share(15) == pytest.approx(3 / 7)
    assert step_1.share(30) is None
    assert step_1.followed == {7: 2, 15: 2, 30: 0}
    assert step_1.percent(30) is None
    # Paid in full by 20/02: item 10 (5 days), item 13 (3); 11 and 12 still open.
    assert (step_1.median_days, step_1.paid_items, step_1.open_items) == (4.0, 2, 2)
    assert step_1.contacts == 3 and step_1.amount == Decimal("7000.00")


def test_a_reopened_item_keeps_what_it_paid_in_the_window():
    # 500,00 closed on 03/02 then reopened on 10/02 (a payment reversed): the contact of
    # 01/02 collected 500 within 7 days, and the lowest point stays within 15 and 30.
    data = inputs(
        items=[item(1, 1, 50_000)],
        events=[
            created(1, START, 1),
            changed(1, D(2026, 2, 3), 50_000, 2),
            changed(1, D(2026, 2, 10), 0, 3),
        ],
        actions=[action(1, FEB)],
        action_items=[(1, 1)],
    )
    figures = effectiveness(data, today=END).totals[ACTION]
    assert [figures.share(h) for h in HORIZONS] == [1.0, 1.0, 1.0]
    assert (figures.median_days, figures.paid_items) == (2.0, 1)


def test_items_owing_nothing_on_the_day_are_left_out():
    # A credit note (-200,00), an item paid before the action (closed 20/01) and one that
    # did not exist yet (created 10/02): only item 4's 300,00 counts.
    data = inputs(
        items=[item(1, 1, -20_000), item(2, 1, 0), item(3, 1, 10_000), item(4, 1, 30_000)],
        events=[
            changed(2, D(2026, 1, 20), 10_000, 1),
            created(3, D(2026, 2, 10), 2),
        ],
        actions=[action(1, FEB)],
        action_items=[(1, 1), (1, 2), (1, 3), (1, 4)],
    )
    figures = effectiveness(data, today=END).totals[ACTION]
    assert (figures.contacts, figures.amount) == (1, Decimal("300.00"))
    assert figures.share(30) == 0.0
    assert (figures.paid_items, figures.open_items) == (0, 1)


def test_activities_concern_their_items_or_else_the_customers_late_items():
    # Customer 1: item 1 due 01/01 (late on 01/02), item 2 due 15/02 (not yet due), both
    # 1.000,00 and paid on 05/02. Activity 1 (a call) names item 2; activity 2 (an email)
    # names nothing: it concerns item 1 only. Customer 2's item 3 is nobody's business here.
    data = inputs(
        items=[item(1, 1, 0, due=START), item(2, 1, 0, due=D(2026, 2, 15)), item(3, 2, 5_000)],
        events=[
            changed(1, D(2026, 2, 5), 100_000, 1),
            changed(2, D(2026, 2, 5), 100_000, 2),
        ],
        activities=[(1, 1, FEB, "call"), (2, 1, FEB, "email")],
        activity_items=[(1, 2)],
    )
    result = effectiveness(data, today=END)
    kinds = result.tables[Dimension.ACTIVITY_KIND]
    assert (kinds["call"].amount, kinds["email"].amount) == (Decimal("1000.00"), Decimal("1000.00"))
    assert kinds["call"].share(7) == 1.0 and kinds["email"].share(7) == 1.0
    assert kinds["email"].median_days == 4.0
    assert result.totals[ACTIVITY].contacts == 2
    assert result.totals[ACTION] == NO_FIGURES


def test_no_contacts_no_figures():
    result = effectiveness(inputs(), today=END)
    assert all(table == {} for table in result.tables.values())
    assert result.totals == {ACTION: NO_FIGURES, ACTIVITY: NO_FIGURES}
    assert result.flags == []


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------


@st.composite
def ledgers(draw):
    """Up to 6 items with random histories, up to 6 actions on random days over them, and
    a last snapshot that may cut some windows short."""
    base = D(2026, 1, 1)
    n_items = draw(st.integers(1, 6))
    items, events, event_id = [], [], 0
    for item_id in range(1, n_items + 1):
        history, now = draw(histories())
        items.append(item(item_id, customer=item_id % 3, open_amount=now))
        for day, before in history:
            event_id += 1
            events.append(changed(item_id, base + dt.timedelta(days=day), before, event_id))
    actions, links = [], []
    for action_id in range(1, draw(st.integers(1, 6)) + 1):
        day = base + dt.timedelta(days=draw(st.integers(0, 50)))
        actions.append(
            action(
                action_id,
                day,
                step=draw(st.integers(1, 2)),
                channel=draw(st.sampled_from(["email", "call"])),
            )
        )
        for item_id in draw(st.sets(st.integers(1, n_items), min_size=1)):
            links.append((action_id, item_id))
    observed = base + dt.timedelta(days=draw(st.integers(0, 100)))
    return inputs(
        items=items, events=events, actions=actions, action_items=links, observed_until=observed
    )


def _every_figures(result):
    yield from result.totals.values()
    for table in result.tables.values():
        yield from table.values()


@settings(max_examples=150, deadline=None)
@given(data=ledgers())
def test_shares_lie_in_0_1_and_never_fall_with_a_longer_window(data):
    result = effectiveness(data, today=D(2026, 6, 1))
    for figures in _every_figures(result):
        known = [figures.share(h) for h in HORIZONS if figures.share(h) is not None]
        assert all(0.0 <= share <= 1.0 for share in known)
        assert known == sorted(known)
        # A share is known only while someone was followed that long.
        assert [figures.share(h) is None for h in HORIZONS] == sorted(
            figures.share(h) is None for h in HORIZONS
        )
        assert figures.paid_items + figures.open_items >= 0


@settings(max_examples=150, deadline=None)
@given(data=ledgers())
def test_without_censoring_a_share_is_collected_over_open(data):
    """Followed 100+ days each: share = sum(open - lowest in window) / sum(open)."""
    data = Inputs(**{**data.__dict__, "observed_until": D(2026, 12, 31)})
    figures = effectiveness(data, today=D(2027, 1, 1)).totals[ACTION]
    levels = item_levels(data.items, data.events)
    days = dict(zip(data.actions["action_id"], data.actions["day"], strict=True))
    total, collected = 0, dict.fromkeys(HORIZONS, 0)
    for action_id, item_id in data.action_items.iter_rows():
        day = days[action_id]
        opened = amount_on(levels, item_id, day)
        if opened <= 0:
            continue
        total += opened
        for h in HORIZONS:
            lowest = min(
                [opened]
                + [amount_on(levels, item_id, day + dt.timedelta(days=t)) for t in range(1, h + 1)]
            )
            collected[h] += opened - max(lowest, 0)
    assert figures.amount == Decimal(total) / 100
    for h in HORIZONS:
        if total == 0:
            assert figures.share(h) is None
        else:
            assert figures.share(h) == pytest.approx(collected[h] / total)


# --------------------------------------------------------------------------------------
# Not working
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        ({}, None),
        ({"finished": True}, Suggestion.STRICTER_STRATEGY),
        ({"finished": True, "handed_over_step": True}, Suggestion.HAND_OVER),
        ({"finished": True, "broken_promises": BROKEN_PROMISES_MIN}, Suggestion.HAND_OVER),
        ({"broken_plans": 1}, Suggestion.HAND_OVER),
        ({"broken_promises": BROKEN_PROMISES_MIN}, Suggestion.PLAN_OR_NOTICE),
        ({"broken_promises": BROKEN_PROMISES_MIN - 1}, None),
        ({"fruitless": True}, Suggestion.CALL),
        ({"fruitless": True, "spoken": True}, Suggestion.STRICTER_STRATEGY),
        ({"fruitless": True, "broken_promises": 2}, Suggestion.PLAN_OR_NOTICE),
    ],
)
def test_the_strongest_suggestion_wins(signals, expected):
    base = {
        "finished": False,
        "handed_over_step": False,
        "broken_promises": 0,
        "broken_plans": 0,
        "fruitless": False,
        "spoken": False,
    }
    assert suggestion_for(**{**base, **signals}) == expected


TODAY = D(2026, 4, 30)


def test_a_sequence_finished_long_enough_ago_and_still_owed():
    grace = dt.timedelta(days=FINISHED_GRACE_DAYS)
    data = inputs(
        finished=[
            # customer 1: two items past the grace, 30 and 45 days; one too recent
            (1, 1, TODAY - grace, 10_000, False),
            (1, 2, TODAY - dt.timedelta(days=45), 20_000, False),
            (1, 3, TODAY - grace + dt.timedelta(days=1), 99_900, False),
            # customer 2: at the hand-over step for 60 days
            (2, 4, TODAY - dt.timedelta(days=60), 5_000, True),
            # customer 3: only 29 days
            (3, 5, TODAY - grace + dt.timedelta(days=1), 5_000, False),
        ]
    )
    flags = {flag.customer_id: flag for flag in effectiveness(data, today=TODAY).flags}
    assert set(flags) == {1, 2}
    one = flags[1]
    assert (one.finished_items, one.finished_amount, one.finished_days) == (
        2,
        Decimal("300.00"),
        45,
    )
    assert one.suggestion == Suggestion.STRICTER_STRATEGY
    assert (flags[2].handed_over_step, flags[2].suggestion) == (True, Suggestion.HAND_OVER)


def test_broken_promises_and_plans():
    data = inputs(broken_promises=[(1, 2), (2, 1)], broken_plans=[(3, 1)])
    flags = {flag.customer_id: flag for flag in effectiveness(data, today=TODAY).flags}
    assert set(flags) == {1, 3}  # one broken promise alone is not enough
    assert (flags[1].broken_promises, flags[1].suggestion) == (2, Suggestion.PLAN_OR_NOTICE)
    assert (flags[3].broken_plans, flags[3].suggestion) == (1, Suggestion.HAND_OVER)


def _contacts_for(customer: int, item_id: int, channels: list[str], first_id: int):
    return [
        action(first_id + n, D(2026, 1, 10 + n), customer=customer, channel=channel)
        for n, channel in enumerate(channels)
    ], [(first_id + n, item_id) for n in range(len(channels))]


def test_contacts_followed_by_no_payment():
    # Customer 1: three emails, nothing paid -> call. Customer 2: two emails and a call,
    # nothing paid -> stricter strategy. Customer 3: three emails, a payment 5 days after
    # the second (100,00 of 500) -> fine. Customer 4: two emails only -> too few to judge.
    # Customer 5: three emails, the last on 10/04, not yet followed 30 days by 30/04:
    # two measured contacts are too few.
    a1, l1 = _contacts_for(1, 1, ["email"] * FRUITLESS_CONTACTS_MIN, 10)
    a2, l2 = _contacts_for(2, 2, ["email", "email", "call"], 20)
    a3, l3 = _contacts_for(3, 3, ["email"] * 3, 30)
    a4, l4 = _contacts_for(4, 4, ["email"] * 2, 40)
    a5, l5 = _contacts_for(5, 5, ["email"] * 2, 50)
    a5.append(action(59, D(2026, 4, 10), customer=5))
    l5.append((59, 5))
    data = inputs(
        items=[item(i, i, 50_000) for i in (1, 2, 4, 5)] + [item(3, 3, 40_000)],
        events=[changed(3, D(2026, 1, 16), 50_000, 1)],
        actions=a1 + a2 + a3 + a4 + a5,
        action_items=l1 + l2 + l3 + l4 + l5,
    )
    flags = {flag.customer_id: flag for flag in effectiveness(data, today=TODAY).flags}
    assert set(flags) == {1, 2}
    assert (flags[1].fruitless_contacts, flags[1].spoken, flags[1].suggestion) == (
        3,
        False,
        Suggestion.CALL,
    )
    assert (flags[2].spoken, flags[2].suggestion) == (True, Suggestion.STRICTER_STRATEGY)
    assert flags[1].as_json()["suggestion"] == "call"


def test_inputs_refuse_a_frame_without_its_columns():
    with pytest.raises(ValueError, match="actions: missing columns"):
        Inputs(observed_until=END, actions=pl.DataFrame({"action_id": [1]}))
