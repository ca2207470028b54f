"""Which contacts bring money in: the effectiveness of each step, channel, activity type and
strategy, and the customers for whom what is done is not working. Pure: plain polars frames
in, figures out; no database, no clock (``today`` and the last snapshot's day are passed in).

A *contact* is an engine action that went out (an email or letter sent, a call or hand-over
done) or an activity an operator recorded. It concerns some items: an action its items (the
item steps not cancelled or skipped), an activity the items it names, or else the
customer's items that were late on its day (due before it: an item not yet due would be
paid at its due date whatever was said). Its *day* is the day it went out or happened.

Amounts come from the ledger's history as ``open_amounts_on`` reads it: an item's open
amount on a day is its amount now (zero once closed) unless an import changed it later, in
which case the amount before the first such change. For an item and a contact:

- its *open amount on the day* is what the contact concerned (items owing nothing, credit
  notes included, are left out);
- the amount *collected within N days* is how far the item's open amount fell below that,
  at its lowest in the N days after the day (a reopened item does not undo it): never
  negative, never more than the open amount;
- its *day of payment* is the first day after the contact on which its open amount is zero.

Figures of a group of contacts (one step, channel, activity type or strategy):

- **share collected within 7, 15, 30 days**: collected ÷ open on the day, summed over the
  group, weighted by amount. Payments show on the day of the snapshot that first lacks them.
  Contacts too recent for a window to have elapsed (the last snapshot is ``observed_until``)
  count as far as they were followed: day by day, the share of the amount still owed that
  was paid that day is taken over the contacts followed that long, and the shares chain
  these daily rates (the Kaplan-Meier method, weighted by amount). Where every window has
  elapsed this is exactly collected ÷ open; the shares always lie in [0, 1] and never fall
  from 7 to 15 to 30 days. A share is ``None`` when no contact of the group has been
  followed that long yet.
- **median days to payment**: the median, over the group's items (each item once per
  contact, not weighted: the shares already weigh by amount, and one large invoice should
  not decide how long debtors take), of the days from the contact to the item's day of
  payment. Items still open at the last snapshot have no such day: they are left out of the
  median and counted as ``open_items``; ``paid_items`` is how many it is the median of.

Not working: a customer is listed when, by ``today``,

- the sequence is over and did not work: some of its items reached the last step of their
  strategy at least ``FINISHED_GRACE_DAYS`` days ago and still owe something (items handed
  over to an agency or in an unresolved dispute are the agency's or the dispute's business,
  and the caller leaves them out);
- it broke ``BROKEN_PROMISES_MIN`` promises to pay, or one repayment plan, in the period;
- at least ``FRUITLESS_CONTACTS_MIN`` of its contacts in the period were followed for 30
  days and not one of them was followed by any payment within 30 days.

Each gets one suggestion (``Suggestion``), the strongest that applies, in this order: hand
over to an agency or lawyer (the sequence ended with a hand-over step and nothing came, a
plan was broken, or the sequence ended and promises were broken too); a stricter strategy
(the sequence ended without a hand-over, or calls did not work either); stop taking
promises and ask for a repayment plan or send the formal notice (broken promises); call
instead of writing (only written reminders were tried).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import polars as pl
from django.utils.translation import gettext_lazy as _

from incassa.core.fields import from_cents

HORIZONS: tuple[int, ...] = (7, 15, 30)
LONGEST = max(HORIZONS)

DEFAULT_PERIOD_DAYS = 90  # the last 90 days, today included, unless told otherwise

FINISHED_GRACE_DAYS = 30
BROKEN_PROMISES_MIN = 2
BROKEN_PLANS_MIN = 1
FRUITLESS_CONTACTS_MIN = 3

# Contacts in which one speaks with the debtor (an action's channel or an activity's kind).
SPOKEN = frozenset({"call", "meeting", "visit"})

ACTION = "action"
ACTIVITY = "activity"
_EPOCH = dt.date(1, 1, 1)


class Dimension:
    STEP = "step"
    CHANNEL = "channel"
    ACTIVITY_KIND = "activity_kind"
    STRATEGY = "strategy"


# Which contacts each dimension groups, and by which column.
DIMENSIONS: dict[str, tuple[str, str]] = {
    Dimension.STEP: (ACTION, "step_id"),
    Dimension.CHANNEL: (ACTION, "channel"),
    Dimension.STRATEGY: (ACTION, "strategy_id"),
    Dimension.ACTIVITY_KIND: (ACTIVITY, "kind"),
}


class Suggestion:
    HAND_OVER = "hand_over"
    STRICTER_STRATEGY = "stricter_strategy"
    PLAN_OR_NOTICE = "plan_or_notice"
    CALL = "call"


SUGGESTION_LABELS = {
    Suggestion.HAND_OVER: _("Hand the items over to a collection agency or lawyer"),
    Suggestion.STRICTER_STRATEGY: _("Move the customer to a stricter strategy"),
    Suggestion.PLAN_OR_NOTICE: _(
        "Stop accepting promises: propose a repayment plan or send the formal notice"
    ),
    Suggestion.CALL: _("Call instead of writing"),
}


# The frames the caller gathers; amounts in cents, days as dates.
SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "actions": {
        "action_id": pl.Int64,
        "customer_id": pl.Int64,
        "day": pl.Date,
        "step_id": pl.Int64,
        "strategy_id": pl.Int64,
        "channel": pl.Utf8,
    },
    "action_items": {"action_id": pl.Int64, "item_id": pl.Int64},
    "activities": {
        "activity_id": pl.Int64,
        "customer_id": pl.Int64,
        "day": pl.Date,
        "kind": pl.Utf8,
    },
    "activity_items": {"activity_id": pl.Int64, "item_id": pl.Int64},
    # open_amount: now, zero once closed
    "items": {
        "item_id": pl.Int64,
        "customer_id": pl.Int64,
        "due_date": pl.Date,
        "open_amount": pl.Int64,
    },
    # amount_before: null for the event that created the item
    "events": {
        "item_id": pl.Int64,
        "on_date": pl.Date,
        "event_id": pl.Int64,
        "amount_before": pl.Int64,
    },
    # items still open at the last step of their strategy; handed_over: that step is a
    # hand-over to an agency or lawyer
    "finished": {
        "customer_id": pl.Int64,
        "item_id": pl.Int64,
        "reached_on": pl.Date,
        "open_amount": pl.Int64,
        "handed_over": pl.Boolean,
    },
    "broken_promises": {"customer_id": pl.Int64, "count": pl.Int64},
    "broken_plans": {"customer_id": pl.Int64, "count": pl.Int64},
}


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    return today - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), today


def empty(name: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[name])


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with exactly the columns and types of ``SCHEMAS[name]``."""
    schema = SCHEMAS[name]
    missing = [c for c in schema if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {', '.join(missing)}")
    return frame.select(pl.col(c).cast(t) for c, t in schema.items())


@dataclass(frozen=True)
class Inputs:
    """What happened in the period and what the ledger says about the items concerned."""

    observed_until: dt.date  # the last snapshot: payments are known up to this day
    actions: pl.DataFrame = field(default_factory=lambda: empty("actions"))
    action_items: pl.DataFrame = field(default_factory=lambda: empty("action_items"))
    activities: pl.DataFrame = field(default_factory=lambda: empty("activities"))
    activity_items: pl.DataFrame = field(default_factory=lambda: empty("activity_items"))
    items: pl.DataFrame = field(default_factory=lambda: empty("items"))
    events: pl.DataFrame = field(default_factory=lambda: empty("events"))
    finished: pl.DataFrame = field(default_factory=lambda: empty("finished"))
    broken_promises: pl.DataFrame = field(default_factory=lambda: empty("broken_promises"))
    broken_plans: pl.DataFrame = field(default_factory=lambda: empty("broken_plans"))

    def __post_init__(self) -> None:
        for name in SCHEMAS:
            object.__setattr__(self, name, conform(name, getattr(self, name)))


@dataclass(frozen=True)
class Figures:
    """The effectiveness of one group of contacts."""

    contacts: int
    amount: Decimal  # open on the contacts' days, summed
    shares: dict[int, float | None]  # horizon in days -> share collected, in [0, 1]
    followed: dict[int, int]  # horizon -> contacts followed at least that long
    median_days: float | None
    paid_items: int
    open_items: int  # still open at the last snapshot: not in the median

    def share(self, days: int) -> float | None:
        return self.shares.get(days)

    def percent(self, days: int) -> Decimal | None:
        """The share as a percentage with one decimal, for display."""
        value = self.shares.get(days)
        return None if value is None else Decimal(str(round(value * 100, 1)))

    @property
    def percents(self) -> list[tuple[int, Decimal | None]]:
        """(horizon, percentage) in the order of HORIZONS, for a table's columns."""
        return [(days, self.percent(days)) for days in HORIZONS]

    @property
    def longest_percent(self) -> Decimal | None:
        return self.percent(LONGEST)

    def as_json(self) -> dict:
        return {
            "contacts": self.contacts,
            "amount": f"{self.amount:.2f}",
            **{
                f"share_{days}": None if share is None else round(share, 4)
                for days, share in self.shares.items()
            },
            **{f"followed_{days}": count for days, count in self.followed.items()},
            "median_days": self.median_days,
            "paid_items": self.paid_items,
            "open_items": self.open_items,
        }


NO_FIGURES = Figures(
    contacts=0,
    amount=Decimal("0.00"),
    shares=dict.fromkeys(HORIZONS),
    followed=dict.fromkeys(HORIZONS, 0),
    median_days=None,
    paid_items=0,
    open_items=0,
)


@dataclass(frozen=True)
class Flag:
    """A customer for whom what is done is not working, why, and what to do instead."""

    customer_id: int
    finished_items: int  # open items past the last step for FINISHED_GRACE_DAYS or more
    finished_amount: Decimal  # what they still owe
    finished_days: int | None  # days since the earliest of them reached the last step
    handed_over_step: bool  # that last step was a hand-over
    broken_promises: int
    broken_plans: int
    fruitless_contacts: int  # contacts followed for 30 days, none followed by a payment
    spoken: bool  # some of those contacts were calls, meetings or visits
    suggestion: str

    def as_json(self) -> dict:
        return {
            "finished_items": self.finished_items,
            "finished_amount": f"{self.finished_amount:.2f}",
            "finished_days": self.finished_days,
            "handed_over_step": self.handed_over_step,
            "broken_promises": self.broken_promises,
            "broken_plans": self.broken_plans,
            "fruitless_contacts": self.fruitless_contacts,
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True)
class Result:
    observed_until: dt.date
    tables: dict[str, dict[Hashable, Figures]]  # dimension -> group key -> figures
    totals: dict[str, Figures]  # ACTION, ACTIVITY -> figures of all of them
    flags: list[Flag]


# --------------------------------------------------------------------------------------
# Items' open amounts through time
# --------------------------------------------------------------------------------------


def item_levels(items: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Each item's open amount as a step function: from ``start`` on (until the next row's
    ``start``) it is ``amount``. Read like ``open_amounts_on``: on a day, the amount before
    the first change after it, or the amount now when nothing changed after it."""
    firsts = (
        events.sort("item_id", "on_date", "event_id")
        .group_by("item_id", "on_date", maintain_order=True)
        .agg(pl.col("amount_before").first().fill_null(0).alias("before"))
    )
    now = items.select("item_id", "open_amount")
    after_each = (
        firsts.with_columns(pl.col("before").shift(-1).over("item_id").alias("next"))
        .join(now, on="item_id", how="left")
        .select(
            "item_id",
            pl.col("on_date").alias("start"),
            pl.coalesce("next", "open_amount", pl.lit(0)).cast(pl.Int64).alias("amount"),
        )
    )
    before_all = firsts.group_by("item_id").agg(pl.col("before").first().alias("amount"))
    without_events = now.join(firsts.select("item_id").unique(), on="item_id", how="anti")
    return pl.concat(
        [
            before_all.select("item_id", pl.lit(_EPOCH).alias("start"), "amount"),
            after_each,
            without_events.select(
                "item_id", pl.lit(_EPOCH).alias("start"), pl.col("open_amount").alias("amount")
            ),
        ]
    ).sort("item_id", "start")


# --------------------------------------------------------------------------------------
# Contacts and what followed them
# --------------------------------------------------------------------------------------


def _contacts(inputs: Inputs) -> pl.DataFrame:
    actions = inputs.actions.select(
        pl.lit(ACTION).alias("source"),
        pl.col("action_id").alias("ref"),
        "customer_id",
        "day",
        "step_id",
        "strategy_id",
        "channel",
        pl.lit(None, pl.Utf8).alias("kind"),
    )
    activities = inputs.activities.select(
        pl.lit(ACTIVITY).alias("source"),
        pl.col("activity_id").alias("ref"),
        "customer_id",
        "day",
        pl.lit(None, pl.Int64).alias("step_id"),
        pl.lit(None, pl.Int64).alias("strategy_id"),
        pl.lit(None, pl.Utf8).alias("channel"),
        "kind",
    )
    contacts = pl.concat([actions, activities]).with_row_index("contact")
    return contacts.with_columns(
        pl.col("contact").cast(pl.Int64),
        pl.max_horizontal(
            (pl.lit(inputs.observed_until) - pl.col("day")).dt.total_days(), pl.lit(0)
        )
        .cast(pl.Int64)
        .alias("followed"),
    )


def _pairs(inputs: Inputs, contacts: pl.DataFrame) -> pl.DataFrame:
    """(contact, item_id, day): which items each contact concerned."""

    def of(source: str, links: pl.DataFrame, ref: str) -> pl.DataFrame:
        mine = contacts.filter(pl.col("source") == source).select("contact", "ref", "day")
        return links.join(mine, left_on=ref, right_on="ref").select("contact", "item_id", "day")

    activities = contacts.filter(pl.col("source") == ACTIVITY)
    named = inputs.activity_items.select("activity_id").unique()
    unnamed = activities.join(named, left_on="ref", right_on="activity_id", how="anti")
    late = (
        unnamed.select("contact", "customer_id", "day")
        .join(inputs.items.select("item_id", "customer_id", "due_date"), on="customer_id")
        .filter(pl.col("due_date") < pl.col("day"))
        .select("contact", "item_id", "day")
    )
    return pl.concat(
        [
            of(ACTION, inputs.action_items, "action_id"),
            of(ACTIVITY, inputs.activity_items, "activity_id"),
            late,
        ]
    ).unique(["contact", "item_id"])


def _outcomes(
    pairs: pl.DataFrame, levels: pl.DataFrame, observed_until: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per (contact, item) owing something on the day: ``open`` then and ``paid_after``
    (days to the day of payment, null while still open); and per contact and day after it
    (1..LONGEST) the amount collected that day (``drop``)."""
    opened = (
        pairs.with_row_index("pair")
        .sort("day")
        .join_asof(
            levels.sort("start"),
            left_on="day",
            right_on="start",
            by="item_id",
            strategy="backward",
            check_sortedness=False,  # sorted by the key as a whole, hence within each item
        )
        .filter(pl.col("amount") > 0)
        .select("pair", "contact", "item_id", "day", pl.col("amount").alias("open"))
    )
    later = (
        opened.join(levels.filter(pl.col("start") <= observed_until), on="item_id")
        .filter(pl.col("start") > pl.col("day"))
        .select(
            "pair",
            "contact",
            "open",
            "amount",
            (pl.col("start") - pl.col("day")).dt.total_days().alias("t"),
        )
        .sort("pair", "t")
        .with_columns(
            pl.min_horizontal(pl.col("amount").cum_min().over("pair"), "open")
            .clip(lower_bound=0)
            .alias("low")
        )
        .with_columns((pl.col("open") - pl.col("low")).alias("collected"))
        .with_columns(
            (pl.col("collected") - pl.col("collected").shift(1).over("pair").fill_null(0)).alias(
                "drop"
            )
        )
    )
    paid = (
        later.filter(pl.col("low") == 0).group_by("pair").agg(pl.col("t").min().alias("paid_after"))
    )
    items = opened.join(paid, on="pair", how="left").select(
        "contact", "item_id", "open", "paid_after"
    )
    drops = (
        later.filter((pl.col("t") <= LONGEST) & (pl.col("drop") > 0))
        .group_by("contact", "t")
        .agg(pl.col("drop").sum())
    )
    return items, drops


# --------------------------------------------------------------------------------------
# Figures per group
# --------------------------------------------------------------------------------------


def _kaplan_meier(
    followed: Mapping[int, tuple[int, int]], drops: Iterable[tuple[int, int, int]]
) -> tuple[dict[int, float | None], dict[int, int]]:
    """Shares collected within each horizon, amount-weighted, censoring-aware.

    ``followed``: days followed (capped at LONGEST) -> (contacts, open amount on their
    days); ``drops``: (day after the contact, days its contact was followed, amount
    collected that day)."""
    drops = list(drops)
    shares: dict[int, float | None] = dict.fromkeys(HORIZONS)
    counts = dict.fromkeys(HORIZONS, 0)
    surviving = 1.0
    for day in range(1, LONGEST + 1):
        still = [value for f, value in followed.items() if f >= day]  # followed this long
        contacts, amount = sum(n for n, _ in still), sum(a for _, a in still)
        if contacts == 0:
            break
        # What these contacts still owed on the morning of ``day``, and paid that day.
        owed = amount - sum(a for t, f, a in drops if t < day <= f)
        paid = sum(a for t, _, a in drops if t == day)
        if owed > 0:
            surviving *= 1 - min(paid / owed, 1.0)
        if day in shares:
            counts[day] = contacts
            if amount > 0:
                shares[day] = min(max(1 - surviving, 0.0), 1.0)
    return shares, counts


def _figures_by(
    contacts: pl.DataFrame, items: pl.DataFrame, drops: pl.DataFrame, key: str
) -> dict[Hashable, Figures]:
    """Figures of ``contacts`` grouped by their column ``key``."""
    if contacts.is_empty():
        return {}
    keyed = contacts.select("contact", key, pl.col("followed").clip(0, LONGEST).alias("f"))
    items = items.join(keyed, on="contact")
    keyed = keyed.join(
        items.group_by("contact").agg(pl.col("open").sum()), on="contact", how="left"
    ).with_columns(pl.col("open").fill_null(0))
    followed: dict[Hashable, dict[int, tuple[int, int]]] = {}
    for group, f, n, amount in (
        keyed.group_by(key, "f").agg(pl.len(), pl.col("open").sum()).iter_rows()
    ):
        followed.setdefault(group, {})[f] = (n, amount)
    grouped_drops: dict[Hashable, list[tuple[int, int, int]]] = {}
    for group, t, f, amount in (
        drops.join(keyed.select("contact", key, "f"), on="contact")
        .group_by(key, "t", "f")
        .agg(pl.col("drop").sum())
        .iter_rows()
    ):
        grouped_drops.setdefault(group, []).append((t, f, amount))
    medians = {
        row[0]: row[1:]
        for row in items.group_by(key)
        .agg(
            pl.col("paid_after").median().alias("median"),
            pl.col("paid_after").count().alias("paid"),
            pl.col("paid_after").null_count().alias("still_open"),
        )
        .iter_rows()
    }
    result: dict[Hashable, Figures] = {}
    for group, by_followed in followed.items():
        shares, counts = _kaplan_meier(by_followed, grouped_drops.get(group, []))
        median, paid, still_open = medians.get(group, (None, 0, 0))
        result[group] = Figures(
            contacts=sum(n for n, _ in by_followed.values()),
            amount=from_cents(sum(a for _, a in by_followed.values())),
            shares=shares,
            followed=counts,
            median_days=None if median is None else float(median),
            paid_items=paid,
            open_items=still_open,
        )
    return result


# --------------------------------------------------------------------------------------
# Customers for whom it is not working
# --------------------------------------------------------------------------------------


def suggestion_for(
    *,
    finished: bool,
    handed_over_step: bool,
    broken_promises: int,
    broken_plans: int,
    fruitless: bool,
    spoken: bool,
) -> str | None:
    """The strongest suggestion that applies, or None when nothing shows it is not working."""
    many_promises = broken_promises >= BROKEN_PROMISES_MIN
    if (finished and (handed_over_step or many_promises)) or broken_plans >= BROKEN_PLANS_MIN:
        return Suggestion.HAND_OVER
    if finished:
        return Suggestion.STRICTER_STRATEGY
    if many_promises:
        return Suggestion.PLAN_OR_NOTICE
    if fruitless:
        return Suggestion.STRICTER_STRATEGY if spoken else Suggestion.CALL
    return None


def _flags(
    inputs: Inputs,
    contacts: pl.DataFrame,
    items: pl.DataFrame,
    drops: pl.DataFrame,
    today: dt.date,
) -> list[Flag]:
    finished: dict[int, tuple[int, int, int, bool]] = {}
    for customer_id, n, amount, earliest, handed in (
        inputs.finished.filter(
            (pl.col("open_amount") > 0)
            & ((pl.lit(today) - pl.col("reached_on")).dt.total_days() >= FINISHED_GRACE_DAYS)
        )
        .group_by("customer_id")
        .agg(
            pl.len(),
            pl.col("open_amount").sum(),
            pl.col("reached_on").min(),
            pl.col("handed_over").any(),
        )
        .iter_rows()
    ):
        finished[customer_id] = (n, amount, (today - earliest).days, handed)

    # Contacts followed for LONGEST days that concerned something owed.
    owed = items.group_by("contact").agg(pl.col("open").sum())
    collected = drops.group_by("contact").agg(pl.col("drop").sum().alias("collected"))
    measured = (
        contacts.filter(pl.col("followed") >= LONGEST)
        .join(owed, on="contact")
        .filter(pl.col("open") > 0)
        .join(collected, on="contact", how="left")
        .with_columns(
            pl.col("collected").fill_null(0),
            pl.coalesce("channel", "kind").is_in(list(SPOKEN)).alias("spoken"),
        )
        .group_by("customer_id")
        .agg(
            pl.len().alias("measured"),
            (pl.col("collected") == 0).sum().alias("fruitless"),
            pl.col("spoken").any(),
        )
    )
    fruitless = {
        customer_id: (n, spoken)
        for customer_id, total, n, spoken in measured.iter_rows()
        if n == total and n >= FRUITLESS_CONTACTS_MIN
    }
    promises = dict(
        inputs.broken_promises.group_by("customer_id").agg(pl.col("count").sum()).iter_rows()
    )
    plans = dict(inputs.broken_plans.group_by("customer_id").agg(pl.col("count").sum()).iter_rows())

    flags = []
    for customer_id in sorted(set(finished) | set(fruitless) | set(promises) | set(plans)):
        n, amount, days, handed = finished.get(customer_id, (0, 0, None, False))
        contacts_without, spoken = fruitless.get(customer_id, (0, False))
        suggestion = suggestion_for(
            finished=n > 0,
            handed_over_step=handed,
            broken_promises=promises.get(customer_id, 0),
            broken_plans=plans.get(customer_id, 0),
            fruitless=contacts_without > 0,
            spoken=spoken,
        )
        if suggestion is None:
            continue
        flags.append(
            Flag(
                customer_id=customer_id,
                finished_items=n,
                finished_amount=from_cents(amount),
                finished_days=days,
                handed_over_step=handed,
                broken_promises=promises.get(customer_id, 0),
                broken_plans=plans.get(customer_id, 0),
                fruitless_contacts=contacts_without,
                spoken=spoken,
                suggestion=suggestion,
            )
        )
    return flags


# --------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------


def effectiveness(inputs: Inputs, *, today: dt.date) -> Result:
    """Every table, the totals and the customers for whom it is not working."""
    contacts = _contacts(inputs)
    pairs = _pairs(inputs, contacts)
    items, drops = _outcomes(pairs, item_levels(inputs.items, inputs.events), inputs.observed_until)
    tables = {
        dimension: _figures_by(contacts.filter(pl.col("source") == source), items, drops, key)
        for dimension, (source, key) in DIMENSIONS.items()
    }
    by_source = _figures_by(contacts, items, drops, "source")
    totals = {source: by_source.get(source, NO_FIGURES) for source in (ACTION, ACTIVITY)}
    return Result(
        observed_until=inputs.observed_until,
        tables=tables,
        totals=totals,
        flags=_flags(inputs, contacts, items, drops, today),
    )
