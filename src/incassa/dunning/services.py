"""Operations that change the dunning state: the engine run, the operators' decisions on
actions, holds, exclusions and suspensions, and the cancellation of what a payment made
pointless.

``dunning_run`` is one transaction: it loads the company's open items, their customers,
progress and holds into data frames, asks ``engine.decide`` what is due, and writes the
actions (the outbox), the items' steps and their new progress in bulk. A crash leaves
nothing behind and the same date run twice creates nothing the second time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incassa.core import bulk
from incassa.core.fields import to_cents
from incassa.core.users import recorded_user
from incassa.dunning import engine
from incassa.dunning.models import (
    MESSAGE_CHANNELS,
    Action,
    ActionStatus,
    CategoryStrategy,
    CustomerStrategy,
    Exclusion,
    Hold,
    ItemProgress,
    ItemStep,
    ItemStepStatus,
    Run,
    Step,
    Strategy,
    Suspension,
)
from incassa.dunning.standard import STANDARD_CODE, STANDARD_NAME, STANDARD_STEPS
from incassa.ledger.models import Company, Customer, Receivable, SalesAgent


class ActionStateError(Exception):
    """The action is not in a state that allows this (e.g. approving a sent email)."""


@dataclass
class RunResult:
    as_of: dt.date
    dry_run: bool
    items_considered: int
    decisions: pl.DataFrame
    actions: int
    item_steps: int
    skipped: int
    cancelled: int
    by_step: dict[str, int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)
    run: Run | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.as_of.isoformat(),
            "dry_run": self.dry_run,
            "items_considered": self.items_considered,
            "actions": self.actions,
            "item_steps": self.item_steps,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "by_step": self.by_step,
            "by_channel": self.by_channel,
        }


# --------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------


def strategy_install_standard(*, company: Company) -> Strategy:
    """Give a company the shipped ``standard`` strategy (its default if it has none)."""
    with transaction.atomic():
        strategy, created = Strategy.objects.get_or_create(
            company=company,
            code=STANDARD_CODE,
            defaults={
                "name": str(STANDARD_NAME),
                "is_default": not Strategy.objects.filter(
                    company=company, is_default=True
                ).exists(),
            },
        )
        if created:
            Step.objects.bulk_create(
                Step(
                    strategy=strategy,
                    position=(index + 1) * 10,
                    code=spec.code,
                    name=str(spec.name),
                    channel=spec.channel,
                    days_overdue=spec.days_overdue,
                    needs_approval=spec.needs_approval,
                    template_code=spec.code,
                )
                for index, spec in enumerate(STANDARD_STEPS)
            )
    return strategy


# --------------------------------------------------------------------------------------
# Editing a strategy
# --------------------------------------------------------------------------------------

POSITION_GAP = 10


class StrategyError(Exception):
    """A change to a strategy that cannot be made; ``str(exc)`` is meant for the user."""


STEP_FIELDS = (
    "code",
    "name",
    "channel",
    "days_overdue",
    "min_days_since_previous",
    "min_customer_overdue",
    "needs_approval",
    "template_code",
)


def step_save(
    *,
    strategy: Strategy,
    values: dict[str, Any],
    categories: Any = (),
    step: Step | None = None,
) -> Step:
    """Change ``step`` (or add a new last step) to ``values``; ``categories`` of the
    strategy's company limit it (none: every category)."""
    categories = list(categories)
    if any(category.company_id != strategy.company_id for category in categories):
        raise StrategyError(_("A category of another company."))
    with transaction.atomic():
        if step is None:
            last = strategy.steps.order_by("-position").values_list("position", flat=True).first()
            step = Step(strategy=strategy, position=(last or 0) + POSITION_GAP)
        elif step.strategy_id != strategy.pk:
            raise StrategyError(_("This step belongs to another strategy."))
        for name in STEP_FIELDS:
            if name in values:
                setattr(step, name, values[name])
        clash = strategy.steps.filter(code=step.code).exclude(pk=step.pk).exists()
        if clash:
            raise StrategyError(_("Another step of this strategy has the code %s.") % step.code)
        step.save()
        step.categories.set(categories)
    return step


def step_delete(*, step: Step) -> None:
    """Remove a step nobody has reached yet; a step with a history stays (the history
    says which step each reminder was)."""
    if ItemStep.objects.filter(step=step).exists() or Action.objects.filter(step=step).exists():
        raise StrategyError(
            _("Items have already reached “%s”: change it instead of removing it.") % step.name
        )
    step.delete()


def step_move(*, step: Step, offset: int) -> Step:
    """Move ``step`` one place earlier (-1) or later (+1) by swapping it with its
    neighbour; the first and last steps stay where they are."""
    with transaction.atomic():
        steps = list(
            Step.objects.select_for_update()
            .filter(strategy_id=step.strategy_id)
            .order_by("position")
        )
        index = next(i for i, candidate in enumerate(steps) if candidate.pk == step.pk)
        other = index + offset
        if offset not in (-1, 1) or not 0 <= other < len(steps):
            return step
        first, second = steps[index], steps[other]
        first_position, second_position = first.position, second.position
        # Through a free position: (strategy, position) is unique at every moment.
        free = max(s.position for s in steps) + POSITION_GAP
        Step.objects.filter(pk=first.pk).update(position=free)
        Step.objects.filter(pk=second.pk).update(position=first_position)
        Step.objects.filter(pk=first.pk).update(position=second_position)
        first.position = second_position
        return first


@dataclass(frozen=True)
class PreviewComparison:
    """What tomorrow's run would create, as things are and with a change."""

    day: dt.date
    before: PreviewDay
    after: PreviewDay

    def rows(self, labels: dict[str, str]) -> list[tuple[str, int, int]]:
        """(label, before, after) per step, the steps of either side."""
        codes = list(dict.fromkeys([*self.before.by_step, *self.after.by_step]))
        return [
            (
                labels.get(code, code),
                self.before.by_step.get(code, 0),
                self.after.by_step.get(code, 0),
            )
            for code in codes
        ]


def strategy_change_preview(*, company: Company, day: dt.date, change: Any) -> PreviewComparison:
    """Run ``change()`` (which edits the company's strategies) in a transaction that is
    rolled back, and compare what the run of ``day`` would create without and with it.
    A change that fails raises its own error; nothing is ever kept."""
    (before,) = dunning_preview(company=company, start=day, days=1)
    with transaction.atomic():
        change()
        (after,) = dunning_preview(company=company, start=day, days=1)
        transaction.set_rollback(True)
    return PreviewComparison(day=day, before=before, after=after)


# --------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------


def _table(model: Any) -> str:
    return model._meta.db_table


def _dates(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).str.slice(0, 10).str.to_date("%Y-%m-%d") for c in columns)


def load_items(company: Company, as_of: dt.date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The items that may be chased on ``as_of``, and where each of them stands.

    One query: open items with something to pay, not credit notes, that have not moved
    already on ``as_of``; with their current step and whether its action still holds them
    (a message not yet gone out). Items that moved today are left out in SQL, which makes a
    second run for the same day cheap.
    """
    messages = ", ".join(f"'{c}'" for c in sorted(MESSAGE_CHANNELS))
    frame = bulk.fetch_frame(
        f"SELECT r.id, r.customer_id, CAST(r.due_date AS TEXT), r.open_amount, "
        f"r.document_type, p.step_id, CAST(p.reached_on AS TEXT), "
        f"CASE WHEN a.id IS NULL THEN 0 "
        f"WHEN a.needs_approval AND a.status = 'created' THEN 1 "
        f"WHEN a.channel IN ({messages}) AND a.status IN ('created', 'approved', 'sending', "
        f"'failed') THEN 1 ELSE 0 END "
        f"FROM {_table(Receivable)} r "
        f"LEFT JOIN {_table(ItemProgress)} p ON p.receivable_id = r.id "
        f"LEFT JOIN {_table(Action)} a ON a.id = p.action_id "
        f"WHERE r.company_id = %s AND r.status = 'open' AND r.open_amount > 0 "
        f"AND r.document_type <> 'credit_note' "
        f"AND (p.reached_on IS NULL OR p.reached_on < %s)",
        [company.pk, as_of.isoformat()],
        {
            **engine.ITEMS_SCHEMA,
            "due_date": pl.Utf8,
            "step_id": pl.Int64,
            "reached_on": pl.Utf8,
            "is_blocking": pl.Int8,
        },
    )
    frame = _dates(frame, "due_date", "reached_on").with_columns(
        pl.col("is_blocking").cast(pl.Boolean)
    )
    items = frame.select(list(engine.ITEMS_SCHEMA))
    progress = frame.filter(pl.col("step_id").is_not_null()).select(
        "receivable_id",
        "step_id",
        "reached_on",
        "is_blocking",
    )
    return items, progress


def load_balances(company: Company, as_of: dt.date) -> pl.DataFrame:
    """Net overdue and net open amount per customer (``engine.customer_balances``), in SQL."""
    return bulk.fetch_frame(
        f"SELECT customer_id, SUM(CASE WHEN (due_date < %s AND open_amount > 0) "
        f"OR open_amount < 0 THEN open_amount ELSE 0 END), SUM(open_amount) "
        f"FROM {_table(Receivable)} WHERE company_id = %s AND status = 'open' "
        f"GROUP BY customer_id",
        [as_of.isoformat(), company.pk],
        {"customer_id": pl.Int64, "net_overdue": pl.Int64, "net_open": pl.Int64},
    )


def load_customers(company: Company, as_of: dt.date) -> pl.DataFrame:
    """Each customer's strategy (its own, its category's, or the company's default), whether
    it can be reached by email, and whether it is excluded or suspended on ``as_of``."""
    default = (
        Strategy.objects.filter(company=company, is_default=True).values_list("id", flat=True)
    ).first()
    customers = bulk.fetch_frame(
        f"SELECT c.id, COALESCE(cs.strategy_id, cat.strategy_id, %s), c.category_id, "
        f"CASE WHEN c.emails <> '' THEN 1 ELSE 0 END, "
        f"CASE WHEN a.email IS NOT NULL AND a.email <> '' THEN 1 ELSE 0 END "
        f"FROM {_table(Customer)} c "
        f"LEFT JOIN {_table(CustomerStrategy)} cs ON cs.customer_id = c.id "
        f"LEFT JOIN {_table(CategoryStrategy)} cat ON cat.category_id = c.category_id "
        f"LEFT JOIN {_table(SalesAgent)} a ON a.id = c.sales_agent_id "
        f"WHERE c.company_id = %s",
        [default, company.pk],
        {
            "customer_id": pl.Int64,
            "strategy_id": pl.Int64,
            "category_id": pl.Int64,
            "has_email": pl.Int8,
            "has_agent_email": pl.Int8,
        },
    )
    excluded = list(
        Exclusion.objects.filter(customer__company=company).values_list("customer_id", flat=True)
    )
    suspended = list(
        Suspension.objects.filter(
            customer__company=company, starts_on__lte=as_of, until__gt=as_of
        ).values_list("customer_id", flat=True)
    )
    return customers.with_columns(
        pl.col("has_email").cast(pl.Boolean),
        pl.col("has_agent_email").cast(pl.Boolean),
        pl.col("customer_id").is_in(excluded).alias("is_excluded"),
        pl.col("customer_id").is_in(suspended).alias("is_suspended"),
    )


def load_steps(company: Company) -> pl.DataFrame:
    steps = list(
        Step.objects.filter(strategy__company=company)
        .prefetch_related("categories")
        .order_by("strategy_id", "position")
    )
    return pl.DataFrame(
        [
            {
                "step_id": s.pk,
                "strategy_id": s.strategy_id,
                "position": s.position,
                "code": s.code,
                "channel": s.channel,
                "days_overdue": s.days_overdue,
                "min_days_since_previous": s.min_days_since_previous,
                "min_customer_overdue": (
                    None if s.min_customer_overdue is None else to_cents(s.min_customer_overdue)
                ),
                "categories": [c.pk for c in s.categories.all()] or None,
                "needs_approval": s.needs_approval,
            }
            for s in steps
        ],
        schema=engine.STEPS_SCHEMA,
    )


def load_held(company: Company, as_of: dt.date) -> pl.DataFrame:
    ids = (
        Hold.objects.filter(receivable__company=company, starts_on__lte=as_of)
        .exclude(released_on__lte=as_of)
        .exclude(until__lte=as_of)
        .values_list("receivable_id", flat=True)
    )
    return pl.DataFrame({"receivable_id": list(ids)}, schema={"receivable_id": pl.Int64})


def _summaries(decisions: pl.DataFrame, steps: pl.DataFrame) -> tuple[dict, dict]:
    actions = (
        decisions.filter(~pl.col("is_skipped"))
        .select("customer_id", "step_id", "channel")
        .unique()
        .join(steps.select("step_id", "code"), on="step_id")
    )
    by_step = dict(actions.group_by("code").len().sort("code").iter_rows())
    by_channel = dict(actions.group_by("channel").len().sort("channel").iter_rows())
    return by_step, by_channel


def _decide(
    company: Company,
    items: pl.DataFrame,
    steps: pl.DataFrame,
    progress: pl.DataFrame,
    as_of: dt.date,
) -> pl.DataFrame:
    """The engine's decisions for ``as_of``, with the customers, holds and balances of that
    day read from the database."""
    return engine.decide(
        items=items,
        customers=load_customers(company, as_of),
        steps=steps,
        progress=progress,
        held=load_held(company, as_of),
        as_of=as_of,
        balances=load_balances(company, as_of),
    )


def dunning_run(*, company: Company, as_of: dt.date, dry_run: bool = False) -> RunResult:
    """Run the strategies of ``company`` for ``as_of``: decide and (unless ``dry_run``)
    write the day's actions and the items' steps."""
    started = timezone.now()
    with transaction.atomic():
        bulk.lock_for_writing(Action)
        bulk.prefer_hash_joins()
        cancelled = 0 if dry_run else pending_cancel_for_closed(company=company)
        items, progress = load_items(company, as_of)
        steps = load_steps(company)
        decisions = _decide(company, items, steps, progress, as_of)
        by_step, by_channel = _summaries(decisions, steps)
        result = RunResult(
            as_of=as_of,
            dry_run=dry_run,
            items_considered=items.height,
            decisions=decisions,
            actions=sum(by_step.values()),
            item_steps=decisions.height,
            skipped=decisions.filter(pl.col("is_skipped")).height,
            cancelled=cancelled,
            by_step=by_step,
            by_channel=by_channel,
        )
        if dry_run:
            transaction.set_rollback(True)
            return result
        _write_decisions(company, decisions, as_of)
        result.run = Run.objects.create(
            company=company,
            as_of=as_of,
            started_at=started,
            finished_at=timezone.now(),
            items_considered=result.items_considered,
            actions=result.actions,
            item_steps=result.item_steps,
            skipped=result.skipped,
            cancelled=cancelled,
            summary={"by_step": by_step, "by_channel": by_channel},
        )
    return result


def _same_day_actions(company: Company, as_of: dt.date) -> pl.DataFrame:
    """The actions already written for ``as_of`` (an earlier run of the same day), with
    whether they can still take more items (nothing has gone out for them yet)."""
    rows = Action.objects.filter(company=company, scheduled_on=as_of).values_list(
        "customer_id", "step_id", "id", "status"
    )
    open_statuses = {ActionStatus.CREATED.value, ActionStatus.APPROVED.value}
    return pl.DataFrame(
        [(c, st, pk, status in open_statuses) for c, st, pk, status in rows],
        schema={
            "customer_id": pl.Int64,
            "step_id": pl.Int64,
            "existing_id": pl.Int64,
            "is_open": pl.Boolean,
        },
        orient="row",
    )


def _write_decisions(company: Company, decisions: pl.DataFrame, as_of: dt.date) -> None:
    if decisions.is_empty():
        return
    today = as_of.isoformat()
    # A second run of the day (new items arrived: e-invoices, a later snapshot) adds the
    # new items of a customer and step to the day's action while it waits; once it has
    # gone out, they wait for tomorrow's run (one action per customer, step and day).
    earlier = _same_day_actions(company, as_of)
    if earlier.height:
        decisions = decisions.join(
            earlier.filter(~pl.col("is_open")).select("customer_id", "step_id"),
            on=["customer_id", "step_id"],
            how="anti",
        )
        if decisions.is_empty():
            return
    grouped = (
        decisions.filter(~pl.col("is_skipped"))
        .group_by("customer_id", "step_id", "channel", "needs_approval", "note")
        .agg(pl.len().alias("item_count"), pl.col("open_amount").sum().alias("total_amount"))
        .sort("customer_id", "step_id")
    )
    joined = pl.DataFrame(schema={"customer_id": pl.Int64, "step_id": pl.Int64,
                                  "action_id": pl.Int64})  # fmt: skip
    if earlier.height and grouped.height:
        merged = grouped.join(
            earlier.filter(pl.col("is_open")).select("customer_id", "step_id", "existing_id"),
            on=["customer_id", "step_id"],
            how="inner",
        )
        if merged.height:
            with connection.cursor() as cursor:
                for action_id, count, total in merged.select(
                    "existing_id", "item_count", "total_amount"
                ).iter_rows():
                    cursor.execute(
                        f"UPDATE {_table(Action)} SET item_count = item_count + %s, "
                        "total_amount = total_amount + %s WHERE id = %s",
                        [count, total, action_id],
                    )
            joined = merged.select(
                "customer_id", "step_id", pl.col("existing_id").alias("action_id")
            )
            grouped = grouped.join(joined, on=["customer_id", "step_id"], how="anti")
    if grouped.height:
        first_id = bulk.reserve_ids(Action, grouped.height)
        grouped = grouped.with_columns(
            pl.int_range(first_id, first_id + grouped.height).alias("action_id")
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        columns = [
            "action_id",
            "customer_id",
            "step_id",
            "channel",
            "needs_approval",
            "item_count",
            "total_amount",
            "note",
        ]
        bulk.insert_rows(
            _table(Action),
            [
                "id",
                "customer_id",
                "step_id",
                "channel",
                "needs_approval",
                "item_count",
                "total_amount",
                "note",
                "company_id",
                "scheduled_on",
                "status",
                "uuid",
                "attempts",
                "last_error",
                "created_at",
            ],
            (
                (*row, company.pk, today, ActionStatus.CREATED.value, uuid.uuid4().hex, 0, "", now)
                for row in bulk.frame_rows(grouped, columns)
            ),
        )
        decisions = decisions.join(
            pl.concat([grouped.select("customer_id", "step_id", "action_id"), joined]),
            on=["customer_id", "step_id"],
            how="left",
        ).with_columns(
            pl.when(pl.col("is_skipped"))
            .then(None)
            .otherwise(pl.col("action_id"))
            .alias("action_id")
        )
    elif joined.height:
        decisions = decisions.join(joined, on=["customer_id", "step_id"], how="left").with_columns(
            pl.when(pl.col("is_skipped"))
            .then(None)
            .otherwise(pl.col("action_id"))
            .alias("action_id")
        )
    else:
        decisions = decisions.with_columns(pl.lit(None, dtype=pl.Int64).alias("action_id"))
    decisions = decisions.with_columns(
        pl.when(pl.col("is_skipped"))
        .then(pl.lit(ItemStepStatus.SKIPPED.value))
        .otherwise(pl.lit(ItemStepStatus.CREATED.value))
        .alias("status"),
    )
    first_id = bulk.reserve_ids(ItemStep, decisions.height)
    last_id = first_id + decisions.height - 1
    decisions = decisions.with_columns(
        pl.int_range(first_id, first_id + decisions.height).alias("id")
    )
    columns = [
        "id",
        "receivable_id",
        "step_id",
        "action_id",
        "days_overdue",
        "open_amount",
        "status",
        "note",
    ]
    bulk.insert_rows(
        _table(ItemStep),
        columns,
        bulk.frame_rows(decisions, columns),
        expected=decisions.height,
        constants={"reached_on": today},
    )
    # Each item's progress is its newest step: copied in SQL from the rows just written.
    steps, progress_table = _table(ItemStep), _table(ItemProgress)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {progress_table} SET step_id = s.step_id, action_id = s.action_id, "
            f"reached_on = s.reached_on FROM {steps} s "
            f"WHERE s.id BETWEEN %s AND %s AND {progress_table}.receivable_id = s.receivable_id",
            [first_id, last_id],
        )
        cursor.execute(
            f"INSERT INTO {progress_table} (receivable_id, step_id, action_id, reached_on) "
            f"SELECT s.receivable_id, s.step_id, s.action_id, s.reached_on FROM {steps} s "
            f"WHERE s.id BETWEEN %s AND %s AND NOT EXISTS (SELECT 1 FROM {progress_table} p "
            f"WHERE p.receivable_id = s.receivable_id)",
            [first_id, last_id],
        )


def pending_cancel_for_closed(*, company: Company) -> int:
    """Cancel what has not gone out yet for items that are now closed (paid), and the
    actions left with nothing to ask for. Returns how many item steps were cancelled."""
    pending = (ItemStepStatus.CREATED.value, ItemStepStatus.APPROVED.value)
    open_actions = (ActionStatus.CREATED.value, ActionStatus.APPROVED.value)
    with transaction.atomic(), connection.cursor() as cursor:
        bulk.prefer_hash_joins()
        cursor.execute(
            f"UPDATE {_table(ItemStep)} SET status = %s "
            f"WHERE status IN (%s, %s) "
            f"AND receivable_id IN (SELECT id FROM {_table(Receivable)} "
            f"WHERE company_id = %s AND status = 'closed') "
            f"AND action_id IN (SELECT id FROM {_table(Action)} "
            f"WHERE company_id = %s AND status IN (%s, %s))",
            [ItemStepStatus.CANCELLED.value, *pending, company.pk, company.pk, *open_actions],
        )
        cancelled = cursor.rowcount
        if cancelled:
            cursor.execute(
                f"UPDATE {_table(Action)} SET status = %s "
                f"WHERE company_id = %s AND status IN (%s, %s) AND NOT EXISTS ("
                f"SELECT 1 FROM {_table(ItemStep)} s WHERE s.action_id = {_table(Action)}.id "
                f"AND s.status <> %s)",
                [
                    ActionStatus.CANCELLED.value,
                    company.pk,
                    *open_actions,
                    ItemStepStatus.CANCELLED.value,
                ],
            )
    return max(cancelled, 0)


# --------------------------------------------------------------------------------------
# Preview
# --------------------------------------------------------------------------------------


@dataclass
class PreviewDay:
    day: dt.date
    by_step: dict[str, int]
    by_channel: dict[str, int]
    item_steps: int


def dunning_preview(*, company: Company, start: dt.date, days: int) -> list[PreviewDay]:
    """What the next ``days`` runs would create, assuming every message goes out the day it
    is created and the ledger does not change. Reads only."""
    outlook = []
    with transaction.atomic():
        bulk.prefer_hash_joins()
        items, progress = load_items(company, start)
        steps = load_steps(company)
        for offset in range(days):
            day = start + dt.timedelta(days=offset)
            decisions = _decide(company, items, steps, progress, day)
            by_step, by_channel = _summaries(decisions, steps)
            outlook.append(PreviewDay(day, by_step, by_channel, decisions.height))
            progress = engine.advance_progress(progress, decisions, day)
    return outlook


# --------------------------------------------------------------------------------------
# Operators' decisions on actions
# --------------------------------------------------------------------------------------

_ITEM_STATUS_FOR = {
    ActionStatus.CREATED: ItemStepStatus.CREATED,
    ActionStatus.APPROVED: ItemStepStatus.APPROVED,
    ActionStatus.REJECTED: ItemStepStatus.REJECTED,
    ActionStatus.SENT: ItemStepStatus.SENT,
    ActionStatus.DONE: ItemStepStatus.DONE,
    ActionStatus.FAILED: ItemStepStatus.FAILED,
    ActionStatus.CANCELLED: ItemStepStatus.CANCELLED,
}


def action_status_set(action: Action, status: str, **fields: Any) -> Action:
    """Move an action and its item steps together (call inside a transaction)."""
    action.status = status
    for name, value in fields.items():
        setattr(action, name, value)
    action.save(update_fields=["status", *fields])
    ItemStep.objects.filter(action=action).exclude(
        status__in=[ItemStepStatus.CANCELLED, ItemStepStatus.SKIPPED]
    ).update(status=_ITEM_STATUS_FOR[status])
    return action


def actions_status_set(actions: list[Action], status: str, fields: Sequence[str] = ()) -> None:
    """``action_status_set`` for many actions at once (call inside a transaction): each
    action's ``fields`` already hold their new values; one update for the actions, one for
    their item steps."""
    if not actions:
        return
    for action in actions:
        action.status = status
    # One prepared statement run for every action (a bulk_update's CASE per column costs
    # more to build than to run).
    columns = [Action._meta.get_field(name) for name in ("status", *fields)]
    assignments = ", ".join(f"{column.column} = %s" for column in columns)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {Action._meta.db_table} SET {assignments} WHERE id = %s",
            [
                (
                    *(
                        column.get_db_prep_save(getattr(action, column.attname), connection)
                        for column in columns
                    ),
                    action.pk,
                )
                for action in actions
            ],
        )
    ItemStep.objects.filter(action__in=[a.pk for a in actions]).exclude(
        status__in=[ItemStepStatus.CANCELLED, ItemStepStatus.SKIPPED]
    ).update(status=_ITEM_STATUS_FOR[status])


def _locked(action: Action) -> Action:
    return Action.objects.select_for_update().get(pk=action.pk)


def action_approve(*, action: Action, user: Any = None) -> Action:
    with transaction.atomic():
        action = _locked(action)
        if not action.is_waiting_for_approval:
            raise ActionStateError(_("Only an action waiting for approval can be approved."))
        return action_status_set(
            action,
            ActionStatus.APPROVED,
            decided_by=recorded_user(user),
            decided_at=timezone.now(),
        )


def action_reject(*, action: Action, user: Any = None, reason: str = "") -> Action:
    """A rejected action never goes out; its items go on to the next step after its gap."""
    with transaction.atomic():
        action = _locked(action)
        if action.status not in {ActionStatus.CREATED, ActionStatus.APPROVED}:
            raise ActionStateError(_("Only an action not yet gone out can be rejected."))
        return action_status_set(
            action,
            ActionStatus.REJECTED,
            decided_by=recorded_user(user),
            decided_at=timezone.now(),
            note=(reason or action.note)[:300],
        )


def action_mark_done(*, action: Action, user: Any = None) -> Action:
    """An operator did the call or task, or posted the letter."""
    with transaction.atomic():
        action = _locked(action)
        if action.is_waiting_for_approval:
            raise ActionStateError(_("Approve the action first."))
        if action.status not in {ActionStatus.CREATED, ActionStatus.APPROVED}:
            raise ActionStateError(_("This action is already closed."))
        status = ActionStatus.SENT if action.channel in MESSAGE_CHANNELS else ActionStatus.DONE
        now = timezone.now()
        fields: dict[str, Any] = {"done_at": now, "done_by": recorded_user(user)}
        if status == ActionStatus.SENT:
            fields["sent_at"] = now
        return action_status_set(action, status, **fields)


# --------------------------------------------------------------------------------------
# Holds, exclusions, suspensions
# --------------------------------------------------------------------------------------


def hold_place(
    *,
    receivable: Receivable,
    kind: str,
    starts_on: dt.date,
    until: dt.date | None = None,
    reason: str = "",
    user: Any = None,
) -> Hold:
    return Hold.objects.create(
        receivable=receivable,
        kind=kind,
        starts_on=starts_on,
        until=until,
        reason=reason,
        created_by=recorded_user(user),
    )


def hold_release(*, hold: Hold, on: dt.date) -> Hold:
    hold.released_on = on
    hold.save(update_fields=["released_on"])
    return hold


def customer_exclude(*, customer: Customer, reason: str, user: Any = None) -> Exclusion:
    exclusion, _created = Exclusion.objects.update_or_create(
        customer=customer,
        defaults={"reason": reason, "created_by": recorded_user(user)},
    )
    return exclusion


def customer_include(*, customer: Customer) -> None:
    Exclusion.objects.filter(customer=customer).delete()


def suspension_end(*, suspension: Suspension, on: dt.date) -> Suspension | None:
    """End a suspension so that the flow resumes on ``on``; one that has not started by
    then is simply removed (returns None)."""
    if suspension.starts_on >= on:
        suspension.delete()
        return None
    if suspension.until > on:
        suspension.until = on
        suspension.save(update_fields=["until"])
    return suspension


def customer_suspend(
    *, customer: Customer, starts_on: dt.date, until: dt.date, reason: str, user: Any = None
) -> Suspension:
    suspension = Suspension(
        customer=customer,
        starts_on=starts_on,
        until=until,
        reason=reason,
        created_by=recorded_user(user),
    )
    suspension.full_clean(exclude=["created_by"])
    suspension.save()
    return suspension
