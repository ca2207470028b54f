"""The engine's pure decisions, without a database."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from incassa.dunning import engine

AS_OF = dt.date(2026, 4, 1)
# A three-step strategy: pre-due at -5, an email at 10, a call at 20.
STEPS = pl.DataFrame(
    {
        "step_id": [1, 2, 3],
        "strategy_id": [1, 1, 1],
        "position": [1, 2, 3],
        "code": ["pre-due", "reminder", "call"],
        "channel": ["email", "email", "call"],
        "days_overdue": [-5, 10, 20],
        "min_days_since_previous": [None, None, None],
        "min_customer_overdue": [None, None, None],
        "categories": [None, None, None],
        "needs_approval": [False, False, False],
    },
    schema=engine.STEPS_SCHEMA,
)


def items(*rows: tuple[int, int, int, int, str]) -> pl.DataFrame:
    """(receivable, customer, days overdue on AS_OF, cents, type)."""
    return pl.DataFrame(
        [(r, c, AS_OF - dt.timedelta(days=d), cents, kind) for r, c, d, cents, kind in rows],
        schema=engine.ITEMS_SCHEMA,
        orient="row",
    )


def customers(*ids: int, email: bool = True, excluded: tuple = (), suspended: tuple = ()):
    return pl.DataFrame(
        [(i, 1, None, email, True, i in excluded, i in suspended) for i in ids],
        schema=engine.CUSTOMERS_SCHEMA,
        orient="row",
    )


def progress(*rows: tuple[int, int, int, bool]) -> pl.DataFrame:
    """(receivable, step, days before AS_OF it was reached, blocking)."""
    return pl.DataFrame(
        [(r, s, AS_OF - dt.timedelta(days=ago), b) for r, s, ago, b in rows],
        schema=engine.PROGRESS_SCHEMA,
        orient="row",
    )


NO_HOLDS = pl.DataFrame(schema={"receivable_id": pl.Int64})


def decide(its, custs, prog=None, held=NO_HOLDS):
    return engine.decide(
        items=its,
        customers=custs,
        steps=STEPS,
        progress=prog if prog is not None else engine.empty(engine.PROGRESS_SCHEMA),
        held=held,
        as_of=AS_OF,
    )


def test_first_step_for_a_new_item_depends_on_whether_it_is_due():
    result = decide(items((1, 1, -3, 100, "invoice"), (2, 1, 12, 100, "invoice")), customers(1))
    # Item 1 is 3 days before due: pre-due (-5 <= -3). Item 2 is 12 days late: pre-due no
    # longer applies, the reminder (10) does.
    assert dict(zip(result["receivable_id"], result["step_id"], strict=True)) == {1: 1, 2: 2}


def test_gap_and_blocking():
    its = items((1, 1, 15, 100, "invoice"), (2, 1, 30, 100, "invoice"), (3, 1, 30, 100, "invoice"))
    prog = progress((1, 2, 5, False), (2, 2, 10, False), (3, 2, 10, True))
    result = decide(its, customers(1), prog)
    # Item 1: call needs 20 days late and a gap of 20 - 10 = 10 days; it is 15 late: waits.
    # Item 2: 30 late, reminder 10 days ago: call. Item 3: its reminder has not gone out.
    assert result["receivable_id"].to_list() == [2]
    assert result["step_id"].to_list() == [3]


def test_never_twice_on_the_same_day():
    result = decide(items((1, 1, 30, 100, "invoice")), customers(1), progress((1, 2, 0, False)))
    assert result.is_empty()


def test_credit_notes_holds_exclusions():
    its = items(
        (1, 1, 12, 100, "invoice"),
        (2, 1, 12, -100, "credit_note"),
        (3, 2, 12, 100, "invoice"),
        (4, 3, 12, 100, "invoice"),
        (5, 4, 12, 100, "invoice"),
    )
    held = pl.DataFrame({"receivable_id": [4]}, schema={"receivable_id": pl.Int64})
    result = decide(its, customers(1, 2, 3, 4, excluded=(2,), suspended=(4,)), held=held)
    # Customer 1: 100 - 100 = 0 net overdue, covered. 2 excluded, item 4 held, 4 suspended.
    assert result.is_empty()


def test_no_email_becomes_letter():
    result = decide(items((1, 1, 12, 100, "invoice")), customers(1, email=False))
    assert result["channel"].to_list() == ["letter"]
    assert result["note"].to_list() == [engine.NOTE_NO_EMAIL]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-30, 120), st.integers(-50_000, 500_000), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    st.lists(
        st.tuples(st.sampled_from([None, 1, 2, 3]), st.integers(0, 60)), min_size=30, max_size=30
    ),
)
def test_properties(rows, states):
    its = items(
        *(
            (i, i % 4, days, cents, "credit_note" if cents < 0 else "invoice")
            for i, (days, cents, _) in enumerate(rows)
        )
    )
    prog = progress(
        *(
            (i, state, ago, rows[i][2])
            for i, (state, ago) in enumerate(states[: len(rows)])
            if state is not None
        )
    )
    result = decide(its, customers(0, 1, 2, 3), prog)
    # At most one step per item per run.
    assert result["receivable_id"].n_unique() == result.height
    # Never a credit note or an item with nothing to pay.
    assert (result["open_amount"] > 0).all()
    current = dict(zip(prog["receivable_id"], prog["step_id"], strict=True))
    blocking = dict(zip(prog["receivable_id"], prog["is_blocking"], strict=True))
    for receivable, step, days in result.select("receivable_id", "step_id", "days_overdue").rows():
        # Always forward, never while a message is pending, never before its trigger day.
        assert step > current.get(receivable, 0)
        assert not blocking.get(receivable, False)
        assert days >= STEPS.filter(pl.col("step_id") == step)["days_overdue"][0]
