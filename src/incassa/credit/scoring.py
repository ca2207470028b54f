"""Explainable scores: customer reliability and item criticality. Pure: no database, no clock.

Both scores are weighted averages of *components*, each a sub-score from 0 to 100 computed
from one input (or a ratio of two) by a documented, monotone, bounded function, so that a
credit manager can see why a score is what it is: ``describe`` lists the components with their
input, sub-score, weight and contribution, and the contributions add up to the score.

    score = Σ component x weight ÷ Σ weights

With the default weights, which add up to 100, a contribution is component x weight ÷ 100.
A company may configure other weights (any non-negative numbers, not all zero): they are
normalised by their total, so that the score stays within 0..100. A component with weight 0
has no effect at all.

Everything is computed for a whole frame at once with polars expressions (one pass, no Python
per row): 100,000 customers and 1,000,000 items take a fraction of a second.

Reliability (per customer; 100 = reliable; ``c_<name>`` columns, 100 = good)
---------------------------------------------------------------------------
==============  =========================================  =====================================
component       input                                      sub-score
==============  =========================================  =====================================
days_late       avg_days_late (d)                          100 x (1 - clip(d, 0, 90) ÷ 90): 100
                                                           on time, 0 at 90 days late or more
late_share      late_share (s, 0..1)                       100 x (1 - clip(s, 0, 1))
trend           recent - older days late (t)               clip(50 - t x 50 ÷ 30, 0, 100): 50
                                                           steady, 100 when 30 days better or
                                                           more, 0 when 30 days worse or more
overdue_share   overdue ÷ open amount (o; 0 when the       100 x (1 - clip(o, 0, 1))
                customer owes nothing, open <= 0)
seniority       customer_days (n)                          100 x clip(n, 0, 1825) ÷ 1825: 0 for a
                                                           new customer, 100 after 5 years
incidents       broken_promises + disputes (k)             max(0, 100 - 25 x k)
limit_breach    limit_breach (b)                           0 if breached, else 100
external        external_penalty (p, 0..100)               100 - clip(p, 0, 100)
==============  =========================================  =====================================

Class (``klass``) from the score rounded to one decimal, so that the figure and the letter on a
screen agree: A >= 80, B >= 65, C >= 50, D >= 35, E below.

Criticality (per item; 100 = most urgent; ``k_<name>`` columns, 100 = urgent)
---------------------------------------------------------------------------
===================  =====================================  ====================================
component            input                                  sub-score
===================  =====================================  ====================================
days_overdue         days_overdue (d)                       100 x sqrt(clip(d, 0, 180) ÷ 180):
                                                            0 when not yet due, 100 at 180 days;
                                                            concave, the first weeks count most
amount_vs_customer   amount ÷ max(customer's open, amount)  100 x share (the item is all the
                                                            customer owes: 100)
amount_vs_portfolio  amount (a) against the 50th (p50) and  100 x clip(ln(a ÷ p50) ÷
                     99th (p99) percentile of the           ln(p99 ÷ p50), 0, 1): 0 up to the
                     positive open amounts of the items     median, 100 from the 99th percentile
seniority            customer_days (n)                      100 x (1 - clip(n, 0, 1825) ÷ 1825):
                                                            new customers are riskier
reliability          the customer's reliability score (r)   100 - clip(r, 0, 100)
===================  =====================================  ====================================

When p99 = p50 (a portfolio of equal amounts), amount_vs_portfolio is 100 above p50 and 0 up to
it. Credit notes and items with nothing left to pay (open amount <= 0) have criticality 0 and
every component 0: there is nothing to collect. Items not yet due get days_overdue 0, so they
rank below an overdue item of the same amount and customer.

Missing inputs
--------------
A component whose input is unknown (null, NaN, a customer without history, an item whose
customer has no score) is neutral: 50, neither good nor bad. This applies to every component,
so a caller should pass 0 (not null) where 0 is the truth: no broken promises, no external
event, no limit breach (a customer without a credit limit cannot breach it).

Amounts
-------
The amounts here are score inputs, never money that gets stored or shown: only their ratios
are used (overdue ÷ open, item ÷ customer's open, item ÷ portfolio percentiles), so they may be
floats, in euros or in cents, as long as one call uses one unit throughout.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Self

import polars as pl

#: Input of ``reliability``, one row per customer. Other columns are ignored; columns of other
#: numeric types are cast.
CUSTOMER_SCHEMA: dict[str, pl.DataType] = {
    "customer_id": pl.Int64(),
    # Amount-weighted average days late (max(0, paid on - due date)) over the items settled in
    # the last 12 months, as ``kpi.average_days_late``; null when nothing was settled.
    "avg_days_late": pl.Float64(),
    # Share (0..1) of the amount settled in the last 12 months that was paid late.
    "late_share": pl.Float64(),
    # The trend: amount-weighted days late over the items settled in the last 3 months, and
    # over the 9 months before them; null when nothing was settled in that window.
    "recent_days_late": pl.Float64(),
    "older_days_late": pl.Float64(),
    # What the customer owes now (credit notes with their sign) and how much of it is overdue.
    # Score inputs, not money: any unit, floats are fine (see the module docstring).
    "open_amount": pl.Float64(),
    "overdue_amount": pl.Float64(),
    # Days since the customer became one (customer_since, or the first item seen); null when
    # unknown.
    "customer_days": pl.Int32(),
    # Promises to pay broken and disputes opened in the last 12 months (0 when none).
    "broken_promises": pl.Int32(),
    "disputes": pl.Int32(),
    # The exposure exceeds the credit limit (False when there is no limit).
    "limit_breach": pl.Boolean(),
    # 0..100 from the external events recorded for the customer, computed by the caller: 0 =
    # nothing adverse known; 100 = a protest (protesto) or an insolvency proceeding (procedura
    # concorsuale); an information provider's rating maps between (its worst class about 80,
    # its best 0); a new balance sheet with a loss or negative equity about 30-60. Combine
    # several events with the maximum, not the sum, and let old events fade as policy says.
    "external_penalty": pl.Float64(),
}

#: Input of ``criticality``, one row per open item (credit notes included: they score 0).
ITEM_SCHEMA: dict[str, pl.DataType] = {
    "receivable_id": pl.Int64(),
    "customer_id": pl.Int64(),
    # As-of date - due date: 0 on the due date, negative before it.
    "days_overdue": pl.Int32(),
    # Open amount of the item, negative for a credit note. Same unit as the customers'.
    "open_amount": pl.Float64(),
}

#: Score at or above which a customer is in each class; below the last one the class is "E".
CLASS_LIMITS: tuple[tuple[str, float], ...] = (("A", 80.0), ("B", 65.0), ("C", 50.0), ("D", 35.0))
LOWEST_CLASS = "E"
CLASSES: tuple[str, ...] = (*(name for name, _ in CLASS_LIMITS), LOWEST_CLASS)

#: The sub-score of a component whose input is unknown.
NEUTRAL = 50.0

# Parameters of the component functions (see the tables in the module docstring).
DAYS_LATE_FOR_ZERO = 90.0
TREND_FULL_SWING_DAYS = 30.0
SENIORITY_FULL_DAYS = 5 * 365
INCIDENT_PENALTY = 25.0
DAYS_OVERDUE_FOR_FULL = 180.0
PORTFOLIO_LOW_QUANTILE = 0.50
PORTFOLIO_HIGH_QUANTILE = 0.99


class ScoringError(ValueError):
    """Invalid weights or input frames."""


# --- weights ----------------------------------------------------------------------------------


class _Weights:
    """Validation and (de)serialisation shared by the two sets of weights."""

    prefix: ClassVar[str]

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, field.name)
            # Decimal is not a numbers.Real, but a configuration read from the database may hold it.
            if isinstance(value, bool) or not isinstance(value, numbers.Real | Decimal):
                raise ScoringError(f"the weight {field.name!r} must be a number, not {value!r}")
            try:
                value = float(value)
            except ValueError:  # Decimal("sNaN")
                value = math.nan
            if not math.isfinite(value) or value < 0:
                raise ScoringError(f"the weight {field.name!r} must be zero or more, not {value!r}")
            # Frozen: store the validated float (a JSON round trip gives back the same thing).
            object.__setattr__(self, field.name, value)
        if not 0 < self.total() < math.inf:
            raise ScoringError("at least one weight must be more than zero, and their total finite")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in dataclasses.fields(cls))  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.names()}

    def total(self) -> float:
        return sum(getattr(self, name) for name in self.names())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Weights from a company's configuration (e.g. JSON). Unknown names are an error (a
        typo would otherwise be ignored silently); names not given keep their default, so that
        a configuration saved before a component existed still loads."""
        if not isinstance(data, Mapping):
            raise ScoringError(f"weights must be a mapping of names to numbers, not {data!r}")
        unknown = sorted(set(data) - set(cls.names()), key=str)
        if unknown:
            raise ScoringError(
                f"unknown weights {unknown}; the weights are {', '.join(cls.names())}"
            )
        return cls(**data)


@dataclass(frozen=True)
class ReliabilityWeights(_Weights):
    """Weights of the reliability components (defaults add up to 100)."""

    prefix: ClassVar[str] = "c_"

    days_late: float = 30.0
    late_share: float = 20.0
    trend: float = 10.0
    overdue_share: float = 15.0
    seniority: float = 10.0
    incidents: float = 5.0
    limit_breach: float = 5.0
    external: float = 5.0


@dataclass(frozen=True)
class CriticalityWeights(_Weights):
    """Weights of the criticality components (defaults add up to 100)."""

    prefix: ClassVar[str] = "k_"

    days_overdue: float = 40.0
    amount_vs_customer: float = 10.0
    amount_vs_portfolio: float = 20.0
    reliability: float = 20.0
    seniority: float = 10.0


# --- the components ---------------------------------------------------------------------------

_open = pl.col("open_amount")
_overdue = pl.col("overdue_amount")

# The input of each reliability component, over CUSTOMER_SCHEMA; null when unknown.
_RELIABILITY_INPUTS: dict[str, pl.Expr] = {
    "days_late": pl.col("avg_days_late"),
    "late_share": pl.col("late_share"),
    # Positive when the customer pays later than it used to.
    "trend": pl.col("recent_days_late") - pl.col("older_days_late"),
    # A customer who owes nothing (credit notes may make it negative) has nothing overdue.
    "overdue_share": pl.when(_open > 0).then(_overdue / _open).when(_open <= 0).then(0.0),
    "seniority": pl.col("customer_days"),
    "incidents": pl.col("broken_promises").cast(pl.Int64) + pl.col("disputes").cast(pl.Int64),
    "limit_breach": pl.col("limit_breach"),
    "external": pl.col("external_penalty"),
}


def _float(x: pl.Expr) -> pl.Expr:
    # Integer ÷ integer in polars may be off by one ulp (1825 ÷ 1825 < 1): compute in floats.
    return x.cast(pl.Float64)


def _falling(x: pl.Expr, zero_at: float) -> pl.Expr:
    """100 at x <= 0, 0 at x >= zero_at, linear between."""
    return 100.0 * (zero_at - _float(x).clip(0.0, zero_at)) / zero_at


def _rising(x: pl.Expr, full_at: float) -> pl.Expr:
    """0 at x <= 0, 100 at x >= full_at, linear between."""
    return 100.0 * _float(x).clip(0.0, full_at) / full_at


# Each maps its input to 0..100, 100 = good; monotone; null in, null out.
_RELIABILITY_SCORES: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "days_late": lambda d: _falling(d, DAYS_LATE_FOR_ZERO),
    "late_share": lambda s: _falling(s, 1.0),
    "trend": lambda t: (50.0 - _float(t) * 50.0 / TREND_FULL_SWING_DAYS).clip(0.0, 100.0),
    "overdue_share": lambda o: _falling(o, 1.0),
    "seniority": lambda n: _rising(n, SENIORITY_FULL_DAYS),
    # 100 - 25 per incident: 0 from the fourth one.
    "incidents": lambda k: _falling(k, 100.0 / INCIDENT_PENALTY),
    "limit_breach": lambda b: _float(~b) * 100.0,
    "external": lambda p: _falling(p, 100.0),
}

# The input of each criticality component, over the items joined to their customer's figures
# (_ITEM_ROW_SCHEMA); null when unknown.
_ITEM_ROW_SCHEMA: dict[str, pl.DataType] = {
    "days_overdue": pl.Int32(),
    "open_amount": pl.Float64(),
    "customer_open_amount": pl.Float64(),
    "customer_days": pl.Int32(),
    "reliability_score": pl.Float64(),
}
_CRITICALITY_INPUTS: dict[str, pl.Expr] = {
    "days_overdue": pl.col("days_overdue"),
    # Never above 1, also when the customer's open amount is smaller than the item (credit
    # notes) or stale: the item is then all the customer owes.
    "amount_vs_customer": pl.when(pl.col("customer_open_amount").is_not_null()).then(
        _open / pl.max_horizontal(pl.col("customer_open_amount"), _open)
    ),
    "amount_vs_portfolio": _open,
    "reliability": pl.col("reliability_score"),
    "seniority": pl.col("customer_days"),
}


def _criticality_scores(
    portfolio: tuple[float, float] | None,
) -> dict[str, Callable[[pl.Expr], pl.Expr]]:
    """Each maps its input to 0..100, 100 = urgent; monotone; null in, null out."""
    if portfolio is None:

        def vs_portfolio(a: pl.Expr) -> pl.Expr:
            return pl.lit(None, dtype=pl.Float64)

    else:
        low, high = portfolio
        if high > low:
            span = math.log(high) - math.log(low)

            def vs_portfolio(a: pl.Expr) -> pl.Expr:
                # Only positive amounts get here (the others score 0 before), so log is defined.
                return 100.0 * ((a.log() - math.log(low)) / span).clip(0.0, 1.0)

        else:

            def vs_portfolio(a: pl.Expr) -> pl.Expr:
                return (a > low).cast(pl.Float64) * 100.0

    return {
        "days_overdue": lambda d: (
            100.0 * (_float(d).clip(0.0, DAYS_OVERDUE_FOR_FULL) / DAYS_OVERDUE_FOR_FULL).sqrt()
        ),
        "amount_vs_customer": lambda share: _rising(share, 1.0),
        "amount_vs_portfolio": vs_portfolio,
        "reliability": lambda r: _falling(r, 100.0),
        "seniority": lambda n: _falling(n, SENIORITY_FULL_DAYS),
    }


assert tuple(_RELIABILITY_INPUTS) == tuple(_RELIABILITY_SCORES) == ReliabilityWeights.names()
assert tuple(_CRITICALITY_INPUTS) == tuple(_criticality_scores(None)) == CriticalityWeights.names()


def _component(sub_score: pl.Expr) -> pl.Expr:
    # NaN can come from infinite inputs (inf - inf, inf ÷ inf): unknown, like null.
    return sub_score.cast(pl.Float64).fill_nan(None).fill_null(NEUTRAL)


def _weighted(weights: _Weights) -> pl.Expr:
    """Σ component x weight ÷ Σ weights, within 0..100, rounded to one decimal. Components
    with weight 0 are left out, so they cannot change the score at all."""
    total = weights.total()
    terms = [
        pl.col(f"{weights.prefix}{name}") * (weight / total)
        for name, weight in weights.as_dict().items()
        if weight > 0
    ]
    return pl.sum_horizontal(terms).clip(0.0, 100.0).round(1, mode="half_away_from_zero")


def klass_of(score: float) -> str:
    """The class (A..E) of a reliability score (already rounded to one decimal)."""
    for name, limit in CLASS_LIMITS:
        if score >= limit:
            return name
    return LOWEST_CLASS


def _klass(score: pl.Expr) -> pl.Expr:
    name, limit = CLASS_LIMITS[0]
    chain = pl.when(score >= limit).then(pl.lit(name))
    for name, limit in CLASS_LIMITS[1:]:
        chain = chain.when(score >= limit).then(pl.lit(name))
    return chain.otherwise(pl.lit(LOWEST_CLASS))


# --- input frames -----------------------------------------------------------------------------


def _conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType], what: str) -> pl.LazyFrame:
    """The columns of ``schema``, cast to its types, NaN as null; other columns dropped."""
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ScoringError(f"{what} lack the columns {', '.join(missing)}")
    return frame.lazy().select(_column(name, dtype) for name, dtype in schema.items())


def _column(name: str, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(name).cast(dtype)
    return column.fill_nan(None) if dtype.is_float() else column


def _unique_customers(frame: pl.DataFrame, what: str) -> None:
    if "customer_id" not in frame.columns:
        raise ScoringError(f"{what} lack the column customer_id")
    if frame.get_column("customer_id").is_duplicated().any():
        raise ScoringError(f"{what} have more than one row for the same customer_id")


# --- reliability ------------------------------------------------------------------------------


def reliability(customers: pl.DataFrame, weights: ReliabilityWeights | None = None) -> pl.DataFrame:
    """Reliability of each customer (``CUSTOMER_SCHEMA``), in the order given.

    Returns ``customer_id``, ``score`` (0..100, one decimal), ``klass`` (A..E) and one column
    ``c_<name>`` per component (0..100, 100 = good, not rounded), so that
    ``score = round(Σ c_<name> x weight ÷ Σ weights, 1)``.
    """
    weights = ReliabilityWeights() if weights is None else weights
    components = [
        _component(_RELIABILITY_SCORES[name](expression)).alias(f"c_{name}")
        for name, expression in _RELIABILITY_INPUTS.items()
    ]
    return (
        _conform(customers, CUSTOMER_SCHEMA, "the customers")
        .select(pl.col("customer_id"), *components)
        .with_columns(_weighted(weights).alias("score"))
        .with_columns(_klass(pl.col("score")).alias("klass"))
        .select("customer_id", "score", "klass", *(f"c_{name}" for name in weights.names()))
        .collect()
    )


# --- criticality ------------------------------------------------------------------------------


def portfolio_reference(items: pl.DataFrame) -> tuple[float, float] | None:
    """The 50th and 99th percentile (linear interpolation) of the positive open amounts of
    ``items``, the reference of the amount_vs_portfolio component; None when no item has a
    positive open amount."""
    amount = pl.col("open_amount").cast(pl.Float64).fill_nan(None)
    row = (
        items.lazy()
        .select(amount)
        .filter(amount > 0)
        .select(
            amount.quantile(PORTFOLIO_LOW_QUANTILE, "linear").alias("low"),
            amount.quantile(PORTFOLIO_HIGH_QUANTILE, "linear").alias("high"),
        )
        .collect()
        .row(0)
    )
    return None if row[0] is None else (float(row[0]), float(row[1]))


def criticality(
    items: pl.DataFrame,
    reliability: pl.DataFrame,
    customers: pl.DataFrame,
    weights: CriticalityWeights | None = None,
    *,
    portfolio: tuple[float, float] | None = None,
) -> pl.DataFrame:
    """Criticality of each open item (``ITEM_SCHEMA``), in the order given.

    ``reliability`` has one row per customer with ``customer_id`` and ``score`` (what
    ``reliability()`` returns); ``customers`` one row per customer with ``customer_id``,
    ``customer_days`` and ``open_amount`` (the customer's, in the items' unit). A customer
    missing from either gets the neutral sub-score for what is missing. ``portfolio`` is the
    (p50, p99) reference of the amount_vs_portfolio component; by default
    ``portfolio_reference(items)``, so pass all the company's open items, or pin it to rescore
    a few items against the whole portfolio.

    Returns ``receivable_id``, ``criticality`` (0..100, one decimal, higher = more urgent) and
    one column ``k_<name>`` per component (0..100, not rounded).
    """
    weights = CriticalityWeights() if weights is None else weights
    if portfolio is None:
        portfolio = portfolio_reference(items)
    else:
        low, high = (float(value) for value in portfolio)
        if not (0 < low <= high < math.inf):
            raise ScoringError(f"the portfolio reference must be 0 < p50 <= p99, not {portfolio}")
        portfolio = (low, high)
    _unique_customers(reliability, "the reliability scores")
    _unique_customers(customers, "the customers")
    scores = _conform(
        reliability.rename({"score": "reliability_score"}, strict=False),
        {"customer_id": pl.Int64(), "reliability_score": pl.Float64()},
        "the reliability scores (customer_id, score)",
    )
    figures = _conform(
        customers.rename({"open_amount": "customer_open_amount"}, strict=False),
        {
            "customer_id": pl.Int64(),
            "customer_days": pl.Int32(),
            "customer_open_amount": pl.Float64(),
        },
        "the customers (customer_id, customer_days, open_amount)",
    )
    collectable = (_open > 0).fill_null(False)
    functions = _criticality_scores(portfolio)
    components = [
        pl.when(collectable)
        .then(_component(functions[name](expression)))
        .otherwise(0.0)
        .alias(f"k_{name}")
        for name, expression in _CRITICALITY_INPUTS.items()
    ]
    return (
        _conform(items, ITEM_SCHEMA, "the items")
        # One lookup table of the customers (100,000 rows) and one join that keeps the items'
        # order: twice as fast as two ordered joins of the items.
        .join(
            scores.join(figures, on="customer_id", how="full", coalesce=True),
            on="customer_id",
            how="left",
            maintain_order="left",
        )
        .select(pl.col("receivable_id"), *components)
        .with_columns(_weighted(weights).alias("criticality"))
        .select("receivable_id", "criticality", *(f"k_{name}" for name in weights.names()))
        .collect()
    )


# --- explanation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    """One line of a score's explanation: ``contribution`` = ``score`` x ``weight`` ÷ the
    total of the weights, and the contributions add up to the score (before rounding)."""

    name: str
    value: float | int | bool | None  # the component's input; None when unknown
    score: float  # the sub-score, 0..100 (NEUTRAL when the input is unknown)
    weight: float
    contribution: float


def describe(
    row: Mapping[str, Any], weights: ReliabilityWeights | CriticalityWeights
) -> list[Component]:
    """The components of one customer's reliability or one item's criticality, in the order
    of the weights, for the explanation on its page.

    ``row`` must hold the component columns of the score (``c_<name>`` from ``reliability``,
    ``k_<name>`` from ``criticality``) and may hold the inputs, which fill ``value``: for a
    customer the columns of ``CUSTOMER_SCHEMA``; for an item ``days_overdue``,
    ``open_amount``, ``customer_open_amount``, ``customer_days`` and ``reliability_score``.
    The values are derived as the scores derive them: trend = recent - older days late,
    overdue_share = overdue ÷ open, incidents = broken promises + disputes, amount_vs_customer
    = the item's share of what the customer owes.
    """
    if isinstance(weights, ReliabilityWeights):
        schema, inputs = CUSTOMER_SCHEMA, _RELIABILITY_INPUTS
    elif isinstance(weights, CriticalityWeights):
        schema, inputs = _ITEM_ROW_SCHEMA, _CRITICALITY_INPUTS
    else:
        raise TypeError(f"describe needs ReliabilityWeights or CriticalityWeights, not {weights!r}")
    missing = [
        f"{weights.prefix}{name}"
        for name in weights.names()
        if f"{weights.prefix}{name}" not in row
    ]
    if missing:
        raise ScoringError(f"the row lacks the components {', '.join(missing)}")
    # One row: the same expressions as the bulk computation, so that the values shown are the
    # ones the scores were computed from.
    frame = pl.DataFrame(
        [pl.Series(name, [row.get(name)]).cast(dtype) for name, dtype in schema.items()]
    ).select(_column(name, dtype) for name, dtype in schema.items())
    values = frame.select(expression.alias(name) for name, expression in inputs.items()).row(
        0, named=True
    )
    total = weights.total()
    lines = []
    for name, weight in weights.as_dict().items():
        score = float(row[f"{weights.prefix}{name}"])
        value = values[name]
        if isinstance(value, float) and math.isnan(value):
            value = None
        lines.append(Component(name, value, score, weight, score * weight / total))
    return lines
