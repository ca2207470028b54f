"""The engine's decisions, as a pure function of data frames and a date.

Given the open items, their customers, the strategies' steps, where each item stands and
what is on hold, ``decide`` says which items reach which step on ``as_of``. It reads no
database and no clock, so a run can be dry-run, replayed for a past date, previewed for the
coming days and tested on its own. The service (``services.dunning_run``) loads the frames
and writes what it returns.

The rules (DESIGN.md, "Engine rules"):

- An item moves at most one step per run, to the first step after its current one whose
  conditions apply (categories, minimum overdue amount of the customer), once it is late
  enough for that step and enough days have passed since its previous step (by default
  the difference of the two steps' days overdue). Missed runs never cause a burst.
- Steps before the due date (negative days) apply only to items not yet due; items that
  are already late pass over them. An item first seen 45 days late starts at the first
  overdue step, never at the formal notice.
- A message that has not gone out (waiting for approval, not yet delivered) holds the item
  at its step; calls and tasks do not.
- Closed items, credit notes, items with nothing left to pay, items on hold, customers
  excluded or suspended, customers without a strategy and customers whose credit notes
  cover their overdue balance are never chased.
- A step that cannot reach anyone (an agent notice for a customer without an agent email)
  is recorded as skipped, and the item goes on from there. An email step for a customer
  without an email address becomes a letter.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

CREDIT_NOTE = "credit_note"

ITEMS_SCHEMA = {
    "receivable_id": pl.Int64,
    "customer_id": pl.Int64,
    "due_date": pl.Date,
    "open_amount": pl.Int64,
    "document_type": pl.Utf8,
}
CUSTOMERS_SCHEMA = {
    "customer_id": pl.Int64,
    "strategy_id": pl.Int64,
    "category_id": pl.Int64,
    "has_email": pl.Boolean,
    "has_agent_email": pl.Boolean,
    "is_excluded": pl.Boolean,
    "is_suspended": pl.Boolean,
}
STEPS_SCHEMA = {
    "step_id": pl.Int64,
    "strategy_id": pl.Int64,
    "position": pl.Int64,
    "code": pl.Utf8,
    "channel": pl.Utf8,
    "days_overdue": pl.Int64,
    "min_days_since_previous": pl.Int64,
    "min_customer_overdue": pl.Int64,
    "categories": pl.List(pl.Int64),
    "needs_approval": pl.Boolean,
}
PROGRESS_SCHEMA = {
    "receivable_id": pl.Int64,
    "step_id": pl.Int64,
    "reached_on": pl.Date,
    "is_blocking": pl.Boolean,
}
DECISIONS_SCHEMA = {
    "receivable_id": pl.Int64,
    "customer_id": pl.Int64,
    "step_id": pl.Int64,
    "channel": pl.Utf8,
    "needs_approval": pl.Boolean,
    "days_overdue": pl.Int64,
    "open_amount": pl.Int64,
    "is_skipped": pl.Boolean,
    "note": pl.Utf8,
}

NOTE_NO_AGENT = "the customer has no sales agent with an email address"
NOTE_NO_EMAIL = "the customer has no email address: sent as a letter"


def empty(schema: dict) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def customer_balances(items: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """Per customer, the net overdue amount (late items less every open credit note, since a
    credit note can be set against any invoice) and the net open amount (everything open)."""
    late = (pl.col("due_date") < as_of) & (pl.col("open_amount") > 0)
    credit = pl.col("open_amount") < 0
    return items.group_by("customer_id").agg(
        pl.when(late | credit).then(pl.col("open_amount")).otherwise(0).sum().alias("net_overdue"),
        pl.col("open_amount").sum().alias("net_open"),
    )


def decide(
    *,
    items: pl.DataFrame,
    customers: pl.DataFrame,
    steps: pl.DataFrame,
    progress: pl.DataFrame,
    held: pl.DataFrame,
    as_of: dt.date,
    balances: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The items that reach a step on ``as_of``; see the module docstring for the rules.

    ``items`` are the company's open items; ``held`` has one column ``receivable_id`` of the
    items on hold on ``as_of``; ``balances`` (``customer_id``, ``net_overdue``, ``net_open``)
    is computed
    from ``items`` when not given, in which case ``items`` must include the credit notes.
    Returns a frame with ``DECISIONS_SCHEMA``.
    """
    if balances is None:
        balances = customer_balances(items, as_of)
    chased = (
        items.filter((pl.col("open_amount") > 0) & (pl.col("document_type") != CREDIT_NOTE))
        .join(held.select("receivable_id"), on="receivable_id", how="anti")
        .join(customers, on="customer_id", how="inner")
        .filter(
            ~pl.col("is_excluded") & ~pl.col("is_suspended") & pl.col("strategy_id").is_not_null()
        )
        .join(balances, on="customer_id", how="left")
        .with_columns((pl.lit(as_of) - pl.col("due_date")).dt.total_days().alias("days"))
    )
    last_steps = steps.select(
        pl.col("step_id"),
        pl.col("strategy_id").alias("last_strategy_id"),
        pl.col("position").alias("last_position"),
        pl.col("days_overdue").alias("last_days"),
    )
    current = progress.join(last_steps, on="step_id", how="left").rename(
        {"step_id": "last_step_id"}
    )
    chased = chased.join(current, on="receivable_id", how="left").filter(
        # One step per item per day, and a message not yet gone out holds the item.
        (pl.col("reached_on").is_null() | (pl.col("reached_on") < as_of))
        & ~pl.col("is_blocking").fill_null(False)
    )

    # The first applicable step after the current one, found with one expression per step
    # (a handful) rather than by joining every item to every step.
    first_step = pl.coalesce(
        [
            pl.when(_applicable(step)).then(pl.lit(step["step_id"], dtype=pl.Int64))
            for step in steps.sort("strategy_id", "position").iter_rows(named=True)
        ]
        or [pl.lit(None, dtype=pl.Int64)]
    )
    first = (
        chased.with_columns(first_step.alias("step_id"))
        .filter(pl.col("step_id").is_not_null())
        .join(steps.drop("strategy_id"), on="step_id", how="inner")
    )

    gap = pl.coalesce(
        pl.col("min_days_since_previous"),
        pl.max_horizontal(pl.col("days_overdue") - pl.col("last_days"), pl.lit(0)),
        pl.lit(0),
    )
    since_previous = (pl.lit(as_of) - pl.col("reached_on")).dt.total_days()
    due = first.filter(
        (pl.col("days") >= pl.col("days_overdue"))
        & (pl.col("reached_on").is_null() | (since_previous >= gap))
    )

    unreachable_agent = (pl.col("channel") == "agent_email") & ~pl.col("has_agent_email")
    no_email = (pl.col("channel") == "email") & ~pl.col("has_email")
    return due.select(
        "receivable_id",
        "customer_id",
        "step_id",
        pl.when(no_email).then(pl.lit("letter")).otherwise(pl.col("channel")).alias("channel"),
        pl.col("needs_approval"),
        pl.col("days").alias("days_overdue"),
        "open_amount",
        unreachable_agent.alias("is_skipped"),
        pl.when(unreachable_agent)
        .then(pl.lit(NOTE_NO_AGENT))
        .when(no_email)
        .then(pl.lit(NOTE_NO_EMAIL))
        .otherwise(pl.lit(""))
        .alias("note"),
    ).sort("customer_id", "step_id", "receivable_id")


def _applicable(step: dict) -> pl.Expr:
    """Whether ``step`` may be an item's next step: it belongs to the item's strategy, comes
    after the item's current step, and its conditions hold."""
    days = step["days_overdue"]
    after_current = (
        pl.col("last_step_id").is_null()
        | (
            (pl.col("last_strategy_id") == step["strategy_id"])
            & (pl.col("last_position") < step["position"])
        )
        # The customer moved to another strategy: go on from the same lateness.
        | ((pl.col("last_strategy_id") != step["strategy_id"]) & (pl.col("last_days") < days))
    )
    # Steps before the due date only for items not yet due, and the others only for late ones.
    condition = (pl.col("strategy_id") == step["strategy_id"]) & after_current
    condition &= (pl.col("days") <= 0) if days < 0 else (pl.col("days") > 0)
    # Nothing to remind a customer whose credit notes cover what it owes.
    condition &= pl.col("net_overdue" if days >= 0 else "net_open") > 0
    if step["categories"]:
        condition &= pl.col("category_id").is_in(step["categories"])
    if step["min_customer_overdue"] is not None:
        condition &= pl.col("net_overdue") >= step["min_customer_overdue"]
    return condition.fill_null(False)


def advance_progress(
    progress: pl.DataFrame, decisions: pl.DataFrame, as_of: dt.date
) -> pl.DataFrame:
    """Progress after ``decisions``, assuming every message goes out the same day: what
    ``preview`` uses to look several days ahead."""
    moved = decisions.select(
        "receivable_id",
        "step_id",
        pl.lit(as_of).alias("reached_on"),
        pl.lit(False).alias("is_blocking"),
    )
    kept = progress.join(
        moved.select("receivable_id"), on="receivable_id", how="anti"
    ).with_columns(pl.lit(False).alias("is_blocking"))
    return pl.concat([kept, moved], how="vertical_relaxed")
