"""Reliability and criticality scores: worked examples by hand, class boundaries, explanations
that add up, and properties (monotone, bounded, weights that behave). No database."""

from __future__ import annotations

import itertools
import math
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from incassa.credit.scoring import (
    CLASS_LIMITS,
    CLASSES,
    CUSTOMER_SCHEMA,
    ITEM_SCHEMA,
    NEUTRAL,
    Component,
    CriticalityWeights,
    ReliabilityWeights,
    ScoringError,
    criticality,
    describe,
    klass_of,
    portfolio_reference,
    reliability,
)

RELIABILITY_COMPONENTS = tuple(f"c_{name}" for name in ReliabilityWeights.names())
CRITICALITY_COMPONENTS = tuple(f"k_{name}" for name in CriticalityWeights.names())

# A customer with nothing remarkable, to vary one input at a time.
BASE_CUSTOMER = {
    "customer_id": 1,
    "avg_days_late": 10.0,
    "late_share": 0.2,
    "recent_days_late": 10.0,
    "older_days_late": 10.0,
    "open_amount": 10_000.0,
    "overdue_amount": 1_000.0,
    "customer_days": 1_000,
    "broken_promises": 0,
    "disputes": 0,
    "limit_breach": False,
    "external_penalty": 0.0,
}


def customers_frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(
        [{name: row.get(name) for name in CUSTOMER_SCHEMA} for row in rows], schema=CUSTOMER_SCHEMA
    )


def items_frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ITEM_SCHEMA)


def customer(**changes) -> dict:
    return {**BASE_CUSTOMER, **changes}


# --- reliability: worked examples -------------------------------------------------------------

# Default weights: days_late 30, late_share 20, trend 10, overdue_share 15, seniority 10,
# incidents 5, limit_breach 5, external 5 (total 100).
WORKED_CUSTOMERS = customers_frame(
    # 1. Punctual for ten years.
    {
        "customer_id": 1,
        "avg_days_late": 0.0,
        "late_share": 0.0,
        "recent_days_late": 2.0,
        "older_days_late": 2.0,
        "open_amount": 10_000.0,
        "overdue_amount": 0.0,
        "customer_days": 3_650,
        "broken_promises": 0,
        "disputes": 0,
        "limit_breach": False,
        "external_penalty": 0.0,
    },
    # 2. Slipping.
    {
        "customer_id": 2,
        "avg_days_late": 18.0,
        "late_share": 0.4,
        "recent_days_late": 30.0,
        "older_days_late": 15.0,
        "open_amount": 20_000.0,
        "overdue_amount": 5_000.0,
        "customer_days": 730,
        "broken_promises": 1,
        "disputes": 0,
        "limit_breach": False,
        "external_penalty": 0.0,
    },
    # 3. In trouble.
    {
        "customer_id": 3,
        "avg_days_late": 120.0,
        "late_share": 0.9,
        "recent_days_late": 60.0,
        "older_days_late": 20.0,
        "open_amount": 8_000.0,
        "overdue_amount": 8_000.0,
        "customer_days": 400,
        "broken_promises": 2,
        "disputes": 1,
        "limit_breach": True,
        "external_penalty": 100.0,
    },
    # 4. New, no payment history yet.
    {
        "customer_id": 4,
        "open_amount": 1_000.0,
        "overdue_amount": 0.0,
        "customer_days": 10,
        "broken_promises": 0,
        "disputes": 0,
        "limit_breach": False,
        "external_penalty": 0.0,
    },
)


def test_worked_reliability_scores():
    result = reliability(WORKED_CUSTOMERS, ReliabilityWeights())
    assert result.columns == ["customer_id", "score", "klass", *RELIABILITY_COMPONENTS]
    rows = {row["customer_id"]: row for row in result.iter_rows(named=True)}

    # 1. days_late 100 (0 days), late_share 100 (0%), trend 50 (2 vs 2 days: steady),
    #    overdue_share 100 (nothing overdue), seniority 100 (10 years > 5), incidents 100,
    #    limit 100, external 100.
    #    (30x100 + 20x100 + 10x50 + 15x100 + 10x100 + 5x100 + 5x100 + 5x100) / 100
    #    = (3000 + 2000 + 500 + 1500 + 1000 + 500 + 500 + 500) / 100 = 95.0 -> A
    assert rows[1]["score"] == 95.0
    assert rows[1]["klass"] == "A"
    assert rows[1]["c_trend"] == pytest.approx(50.0)

    # 2. days_late 100 x (90 - 18) / 90 = 80; late_share 100 x (1 - 0.4) = 60;
    #    trend: 15 days worse, 50 - 15 x 50 / 30 = 25; overdue_share 5000 / 20000 = 0.25 -> 75;
    #    seniority 100 x 730 / 1825 = 40; incidents 1 broken promise -> 100 - 25 = 75;
    #    limit 100; external 100.
    #    (30x80 + 20x60 + 10x25 + 15x75 + 10x40 + 5x75 + 5x100 + 5x100) / 100
    #    = (2400 + 1200 + 250 + 1125 + 400 + 375 + 500 + 500) / 100 = 67.5 -> B
    assert rows[2] == pytest.approx(
        {
            "customer_id": 2,
            "score": 67.5,
            "klass": "B",
            "c_days_late": 80.0,
            "c_late_share": 60.0,
            "c_trend": 25.0,
            "c_overdue_share": 75.0,
            "c_seniority": 40.0,
            "c_incidents": 75.0,
            "c_limit_breach": 100.0,
            "c_external": 100.0,
        }
    )

    # 3. days_late 0 (120 >= 90); late_share 10; trend 40 days worse -> 50 - 66.7 -> 0;
    #    overdue_share 8000 / 8000 -> 0; seniority 100 x 400 / 1825 = 21.92;
    #    incidents 2 + 1 = 3 -> 100 - 75 = 25; limit breached 0; protest (penalty 100) 0.
    #    (20x10 + 10x21.92 + 5x25) / 100 = (200 + 219.2 + 125) / 100 = 5.44 -> 5.4 -> E
    assert rows[3]["score"] == 5.4
    assert rows[3]["klass"] == "E"
    assert rows[3]["c_trend"] == pytest.approx(0.0)
    assert rows[3]["c_incidents"] == pytest.approx(25.0)

    # 4. No history: days_late, late_share, trend neutral 50; overdue_share 100;
    #    seniority 100 x 10 / 1825 = 0.548; incidents, limit, external 100.
    #    (30x50 + 20x50 + 10x50 + 15x100 + 10x0.548 + 5x100 x 3) / 100
    #    = (1500 + 1000 + 500 + 1500 + 5.48 + 1500) / 100 = 60.05 -> 60.1 -> C
    assert rows[4]["score"] == 60.1
    assert rows[4]["klass"] == "C"
    assert rows[4]["c_days_late"] == rows[4]["c_late_share"] == rows[4]["c_trend"] == NEUTRAL
    assert rows[4]["c_seniority"] == pytest.approx(100 * 10 / 1825)


def test_component_functions_at_their_edges():
    result = reliability(
        customers_frame(
            # Early payments count as on time; an improving trend is capped at 100.
            customer(
                customer_id=1,
                avg_days_late=-5.0,
                recent_days_late=5.0,
                older_days_late=50.0,
                customer_days=-3,
            ),
            # Exactly at the ends of the linear ranges.
            customer(
                customer_id=2,
                avg_days_late=90.0,
                late_share=1.0,
                recent_days_late=40.0,
                older_days_late=10.0,
                customer_days=1825,
                broken_promises=4,
            ),
            # Credit notes exceed what the customer owes: nothing is really overdue.
            customer(customer_id=3, open_amount=-500.0, overdue_amount=200.0),
            # More overdue than open (credit notes not yet due): capped at 0, not negative.
            customer(customer_id=4, open_amount=100.0, overdue_amount=300.0),
            # Unknown: open amount, counts, limit, external penalty.
            customer(
                customer_id=5,
                open_amount=None,
                disputes=None,
                limit_breach=None,
                external_penalty=None,
            ),
            # A bad rating, 45 days late on average, half the amount late.
            customer(customer_id=6, avg_days_late=45.0, late_share=0.5, external_penalty=60.0),
        )
    )
    rows = {row["customer_id"]: row for row in result.iter_rows(named=True)}
    assert rows[1]["c_days_late"] == pytest.approx(100.0)
    assert rows[1]["c_trend"] == pytest.approx(100.0)  # 45 days better: 50 + 75, capped
    assert rows[1]["c_seniority"] == pytest.approx(0.0)
    assert rows[2]["c_days_late"] == pytest.approx(0.0)
    assert rows[2]["c_late_share"] == pytest.approx(0.0)
    assert rows[2]["c_trend"] == pytest.approx(0.0)  # 30 days worse: 50 - 50
    assert rows[2]["c_seniority"] == pytest.approx(100.0)
    assert rows[2]["c_incidents"] == pytest.approx(0.0)
    assert rows[3]["c_overdue_share"] == pytest.approx(100.0)
    assert rows[4]["c_overdue_share"] == pytest.approx(0.0)
    for name in ("c_overdue_share", "c_incidents", "c_limit_breach", "c_external"):
        assert rows[5][name] == NEUTRAL
    assert rows[6]["c_days_late"] == pytest.approx(50.0)
    assert rows[6]["c_late_share"] == pytest.approx(50.0)
    assert rows[6]["c_external"] == pytest.approx(40.0)


def test_reliability_keeps_the_order_and_ignores_other_columns():
    frame = customers_frame(*(customer(customer_id=i) for i in (5, 3, 9))).with_columns(
        pl.lit("x").alias("name")
    )
    assert reliability(frame)["customer_id"].to_list() == [5, 3, 9]


def test_reliability_accepts_integer_amounts_in_cents():
    # Only ratios are used: cents as Int64 give the score that euros as floats give.
    euros = reliability(customers_frame(BASE_CUSTOMER))
    cents = customers_frame(BASE_CUSTOMER).with_columns(
        (pl.col("open_amount", "overdue_amount") * 100).cast(pl.Int64)
    )
    assert reliability(cents).equals(euros)


def test_reliability_needs_every_input_column():
    with pytest.raises(ScoringError, match="late_share"):
        reliability(customers_frame(BASE_CUSTOMER).drop("late_share"))


# --- classes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "klass"),
    [
        (100.0, "A"),
        (80.0, "A"),
        (79.9, "B"),
        (65.0, "B"),
        (64.9, "C"),
        (50.0, "C"),
        (49.9, "D"),
        (35.0, "D"),
        (34.9, "E"),
        (0.0, "E"),
    ],
)
def test_class_boundaries(score, klass):
    assert klass_of(score) == klass


def test_class_limits():
    assert CLASS_LIMITS == (("A", 80.0), ("B", 65.0), ("C", 50.0), ("D", 35.0))
    assert CLASSES == ("A", "B", "C", "D", "E")


@pytest.mark.parametrize(
    ("penalty", "score", "klass"),
    [
        (20.0, 80.0, "A"),
        (20.04, 80.0, "A"),  # 79.96 shows as 80.0, and is an A like the figure says
        (20.1, 79.9, "B"),
        (35.0, 65.0, "B"),
        (35.1, 64.9, "C"),
        (50.0, 50.0, "C"),
        (50.1, 49.9, "D"),
        (65.0, 35.0, "D"),
        (65.1, 34.9, "E"),
    ],
)
def test_class_boundaries_in_bulk(penalty, score, klass):
    # Only the external component counts: score = 100 - penalty.
    only_external = ReliabilityWeights.from_dict(
        {name: 0 for name in ReliabilityWeights.names()} | {"external": 1}
    )
    result = reliability(customers_frame(customer(external_penalty=penalty)), only_external)
    assert result.row(0, named=True)["score"] == score
    assert result.row(0, named=True)["klass"] == klass


# --- weights ----------------------------------------------------------------------------------


def test_default_weights_add_up_to_100():
    assert ReliabilityWeights().total() == 100
    assert CriticalityWeights().total() == 100
    assert ReliabilityWeights().as_dict() == {
        "days_late": 30.0,
        "late_share": 20.0,
        "trend": 10.0,
        "overdue_share": 15.0,
        "seniority": 10.0,
        "incidents": 5.0,
        "limit_breach": 5.0,
        "external": 5.0,
    }


@pytest.mark.parametrize("weights_class", [ReliabilityWeights, CriticalityWeights])
def test_weights_round_trip(weights_class):
    weights = weights_class.from_dict({name: i + 1 for i, name in enumerate(weights_class.names())})
    assert weights_class.from_dict(weights.as_dict()) == weights
    assert all(isinstance(value, float) for value in weights.as_dict().values())


def test_weights_from_dict_keeps_defaults_and_takes_any_real_number():
    weights = ReliabilityWeights.from_dict({"days_late": Decimal("12.5"), "trend": 0})
    assert weights.days_late == 12.5
    assert weights.trend == 0.0
    assert weights.late_share == ReliabilityWeights().late_share
    assert CriticalityWeights.from_dict({}) == CriticalityWeights()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"days_late": -1}, "zero or more"),
        ({"days_late": math.nan}, "zero or more"),
        ({"days_late": math.inf}, "zero or more"),
        ({"days_late": True}, "must be a number"),
        ({"days_late": "30"}, "must be a number"),
        ({"days_late": None}, "must be a number"),
        ({"days_lat": 30}, "unknown weights"),
        (dict.fromkeys(ReliabilityWeights.names(), 0), "at least one"),
        ([("days_late", 30)], "mapping"),
    ],
)
def test_weights_from_dict_rejects(data, message):
    with pytest.raises(ScoringError, match=message):
        ReliabilityWeights.from_dict(data)


def test_weights_are_validated_on_construction_too():
    with pytest.raises(ScoringError):
        CriticalityWeights(days_overdue=-5)
    assert ScoringError.__mro__[1] is ValueError


def test_weights_are_normalised_by_their_total():
    # Doubling every weight changes nothing.
    doubled = ReliabilityWeights.from_dict(
        {k: 2 * v for k, v in ReliabilityWeights().as_dict().items()}
    )
    assert reliability(WORKED_CUSTOMERS, doubled).equals(reliability(WORKED_CUSTOMERS))


# --- explanation ------------------------------------------------------------------------------


def test_describe_a_customer():
    scores = reliability(WORKED_CUSTOMERS)
    row = WORKED_CUSTOMERS.row(1, named=True) | scores.row(1, named=True)
    lines = describe(row, ReliabilityWeights())
    assert [line.name for line in lines] == list(ReliabilityWeights.names())
    by_name = {line.name: line for line in lines}
    # Inputs as the components see them.
    assert by_name["days_late"] == Component("days_late", 18.0, 80.0, 30.0, 24.0)
    assert by_name["trend"].value == 15.0  # 30 recent - 15 older: 15 days worse
    assert by_name["overdue_share"].value == 0.25
    assert by_name["incidents"].value == 1
    assert by_name["limit_breach"].value is False
    assert by_name["seniority"].contribution == pytest.approx(4.0)  # 40 x 10 / 100
    assert sum(line.contribution for line in lines) == pytest.approx(67.5)


def test_describe_without_inputs_or_history():
    scores = reliability(WORKED_CUSTOMERS)
    # The inputs are optional: only the components are needed.
    lines = describe(scores.row(0, named=True), ReliabilityWeights())
    assert all(line.value is None for line in lines)
    assert sum(line.contribution for line in lines) == pytest.approx(95.0)
    # Unknown history: value None, neutral sub-score.
    new = describe(
        WORKED_CUSTOMERS.row(3, named=True) | scores.row(3, named=True), ReliabilityWeights()
    )
    assert new[0] == Component("days_late", None, NEUTRAL, 30.0, 15.0)


def test_describe_needs_the_components():
    with pytest.raises(ScoringError, match="c_days_late"):
        describe(BASE_CUSTOMER, ReliabilityWeights())
    with pytest.raises(TypeError):
        describe(BASE_CUSTOMER, {"days_late": 1})  # type: ignore[arg-type]


def test_describe_with_custom_weights_adds_up():
    weights = ReliabilityWeights.from_dict({"days_late": 3, "late_share": 1, "external": 0})
    scores = reliability(WORKED_CUSTOMERS, weights)
    for row in scores.iter_rows(named=True):
        lines = describe(row, weights)
        assert round(sum(line.contribution for line in lines), 1) == pytest.approx(row["score"])
        assert next(line for line in lines if line.name == "external").contribution == 0


# --- criticality: worked examples -------------------------------------------------------------

# Default weights: days_overdue 40, amount_vs_customer 10, amount_vs_portfolio 20,
# reliability 20, seniority 10 (total 100). Portfolio pinned to p50 = 100, p99 = 10,000, so
# amount_vs_portfolio = 100 x ln(a / 100) / ln(100).
PORTFOLIO = (100.0, 10_000.0)
SCORES = pl.DataFrame({"customer_id": [1, 2], "score": [95.0, 67.5]})
CUSTOMER_FIGURES = pl.DataFrame(
    {"customer_id": [1, 2], "customer_days": [3_650, 730], "open_amount": [10_000.0, 20_000.0]}
)
WORKED_ITEMS = items_frame(
    {"receivable_id": 11, "customer_id": 2, "days_overdue": 45, "open_amount": 1_000.0},
    {"receivable_id": 12, "customer_id": 1, "days_overdue": 180, "open_amount": 10_000.0},
    {"receivable_id": 13, "customer_id": 2, "days_overdue": -10, "open_amount": 1_000.0},
    {"receivable_id": 14, "customer_id": 2, "days_overdue": 300, "open_amount": -300.0},
    {"receivable_id": 15, "customer_id": 99, "days_overdue": 720, "open_amount": 50.0},
    {"receivable_id": 16, "customer_id": 1, "days_overdue": 0, "open_amount": 0.0},
)


def test_worked_criticality():
    result = criticality(
        WORKED_ITEMS, SCORES, CUSTOMER_FIGURES, CriticalityWeights(), portfolio=PORTFOLIO
    )
    assert result.columns == ["receivable_id", "criticality", *CRITICALITY_COMPONENTS]
    assert result["receivable_id"].to_list() == [11, 12, 13, 14, 15, 16]
    rows = {row["receivable_id"]: row for row in result.iter_rows(named=True)}

    # 11: days 100 x sqrt(45 / 180) = 50; vs customer 1000 / 20000 = 5%; vs portfolio
    #     ln(10) / ln(100) = 0.5 -> 50; reliability 100 - 67.5 = 32.5;
    #     seniority 100 x (1825 - 730) / 1825 = 60.
    #     (40x50 + 10x5 + 20x50 + 20x32.5 + 10x60) / 100 = (2000 + 50 + 1000 + 650 + 600) / 100
    #     = 43.0
    assert rows[11] == pytest.approx(
        {
            "receivable_id": 11,
            "criticality": 43.0,
            "k_days_overdue": 50.0,
            "k_amount_vs_customer": 5.0,
            "k_amount_vs_portfolio": 50.0,
            "k_reliability": 32.5,
            "k_seniority": 60.0,
        }
    )
    # 12: 180 days -> 100; the whole of what the customer owes -> 100; at p99 -> 100;
    #     reliability 100 - 95 = 5; ten-year customer -> 0.
    #     (4000 + 1000 + 2000 + 100 + 0) / 100 = 71.0
    assert rows[12]["criticality"] == 71.0
    assert rows[12]["k_seniority"] == 0.0
    # 13: as 11 but not yet due: the days component is 0, 43 - 40x50/100 = 23.0; below 11.
    assert rows[13]["criticality"] == 23.0
    assert rows[13]["k_days_overdue"] == 0.0
    # 14: a credit note, 16: nothing left to pay: nothing to collect.
    for receivable_id in (14, 16):
        assert rows[receivable_id]["criticality"] == 0.0
        assert all(rows[receivable_id][name] == 0.0 for name in CRITICALITY_COMPONENTS)
    # 15: unknown customer: vs customer, reliability and seniority neutral (50); 720 days -> 100;
    #     50 is below p50 -> 0. (4000 + 10x50 + 0 + 20x50 + 10x50) / 100 = 60.0
    assert rows[15] == pytest.approx(
        {
            "receivable_id": 15,
            "criticality": 60.0,
            "k_days_overdue": 100.0,
            "k_amount_vs_customer": NEUTRAL,
            "k_amount_vs_portfolio": 0.0,
            "k_reliability": NEUTRAL,
            "k_seniority": NEUTRAL,
        }
    )


def test_days_overdue_is_concave():
    # 100 x sqrt(d / 180): 1 day 7.45, 20 days 33.3, 80 days 66.7, 180 and more 100.
    days = [-30, 0, 1, 20, 80, 180, 365]
    items = items_frame(
        *(
            {"receivable_id": i, "customer_id": 1, "days_overdue": d, "open_amount": 100.0}
            for i, d in enumerate(days)
        )
    )
    result = criticality(items, SCORES, CUSTOMER_FIGURES, portfolio=PORTFOLIO)
    assert result["k_days_overdue"].to_list() == pytest.approx(
        [0.0, 0.0, 100 / math.sqrt(180), 100 / 3, 200 / 3, 100.0, 100.0]
    )


def test_amount_larger_than_the_customers_open_amount_is_all_of_it():
    items = items_frame(
        {"receivable_id": 1, "customer_id": 1, "days_overdue": 10, "open_amount": 50_000.0}
    )
    row = criticality(items, SCORES, CUSTOMER_FIGURES, portfolio=PORTFOLIO).row(0, named=True)
    assert row["k_amount_vs_customer"] == 100.0
    assert row["k_amount_vs_portfolio"] == 100.0  # above p99


def test_portfolio_reference_uses_positive_amounts_only():
    amounts = [-5.0, 0.0, *(float(a) for a in range(1, 102))]
    items = items_frame(
        *(
            {"receivable_id": i, "customer_id": 1, "days_overdue": 1, "open_amount": a}
            for i, a in enumerate(amounts)
        )
    )
    # 1..101: the median is 51, the 99th percentile 1 + 0.99 x 100 = 100.
    assert portfolio_reference(items) == pytest.approx((51.0, 100.0))
    assert portfolio_reference(items.filter(pl.col("open_amount") <= 0)) is None
    computed = criticality(items, SCORES, CUSTOMER_FIGURES)
    pinned = criticality(items, SCORES, CUSTOMER_FIGURES, portfolio=(51.0, 100.0))
    assert computed.equals(pinned)


def test_portfolio_of_equal_amounts():
    items = items_frame(
        *(
            {"receivable_id": i, "customer_id": 1, "days_overdue": 1, "open_amount": 100.0}
            for i in range(100)
        ),
        {"receivable_id": 100, "customer_id": 1, "days_overdue": 1, "open_amount": 100.5},
    )
    # p50 = p99 = 100 (the 99th percentile of 101 amounts is the 100th, 100.5 the 101st):
    # 0 at p50, 100 above it.
    assert portfolio_reference(items) == (100.0, 100.0)
    result = criticality(items, SCORES, CUSTOMER_FIGURES)
    assert result["k_amount_vs_portfolio"].to_list() == [0.0] * 100 + [100.0]


def test_pinned_portfolio_is_validated():
    for portfolio in [(0.0, 10.0), (10.0, 5.0), (-1.0, 5.0), (1.0, math.inf)]:
        with pytest.raises(ScoringError, match="portfolio"):
            criticality(WORKED_ITEMS, SCORES, CUSTOMER_FIGURES, portfolio=portfolio)


def test_criticality_rejects_duplicate_customers_and_missing_columns():
    with pytest.raises(ScoringError, match="more than one row"):
        criticality(WORKED_ITEMS, pl.concat([SCORES, SCORES]), CUSTOMER_FIGURES)
    with pytest.raises(ScoringError, match="more than one row"):
        criticality(WORKED_ITEMS, SCORES, pl.concat([CUSTOMER_FIGURES, CUSTOMER_FIGURES]))
    with pytest.raises(ScoringError, match="days_overdue"):
        criticality(WORKED_ITEMS.drop("days_overdue"), SCORES, CUSTOMER_FIGURES)
    with pytest.raises(ScoringError, match="customer_days"):
        criticality(WORKED_ITEMS, SCORES, CUSTOMER_FIGURES.drop("customer_days"))


def test_criticality_takes_the_output_of_reliability():
    # The whole reliability frame (with klass and components) is a valid ``reliability`` input.
    scores = reliability(WORKED_CUSTOMERS)
    figures = WORKED_CUSTOMERS.select("customer_id", "customer_days", "open_amount")
    items = items_frame(
        *(
            {"receivable_id": i, "customer_id": i, "days_overdue": 30, "open_amount": 500.0}
            for i in (1, 2, 3, 4)
        )
    )
    result = criticality(items, scores, figures)
    by_id = dict(zip(result["receivable_id"], result["k_reliability"], strict=True))
    assert by_id == pytest.approx({1: 5.0, 2: 32.5, 3: 94.6, 4: 39.9})


def test_describe_an_item():
    result = criticality(WORKED_ITEMS, SCORES, CUSTOMER_FIGURES, portfolio=PORTFOLIO)
    row = {
        "days_overdue": 45,
        "open_amount": 1_000.0,
        "customer_open_amount": 20_000.0,
        "customer_days": 730,
        "reliability_score": 67.5,
    } | result.row(0, named=True)
    lines = describe(row, CriticalityWeights())
    assert [(line.name, line.value) for line in lines] == [
        ("days_overdue", 45),
        ("amount_vs_customer", 0.05),
        ("amount_vs_portfolio", 1_000.0),
        ("reliability", 67.5),
        ("seniority", 730),
    ]
    assert [line.contribution for line in lines] == pytest.approx([20.0, 0.5, 10.0, 6.5, 6.0])
    assert sum(line.contribution for line in lines) == pytest.approx(43.0)


# --- properties -------------------------------------------------------------------------------

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)
any_float = st.floats()  # NaN and infinities included: they must not escape 0..100
int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)


def maybe(values: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | values


customers = st.fixed_dictionaries(
    {
        "avg_days_late": maybe(st.floats(0, 400)),
        "late_share": maybe(st.floats(0, 1)),
        "recent_days_late": maybe(st.floats(0, 400)),
        "older_days_late": maybe(st.floats(0, 400)),
        "open_amount": maybe(finite),
        "overdue_amount": maybe(finite),
        "customer_days": maybe(st.integers(0, 20_000)),
        "broken_promises": maybe(st.integers(0, 10)),
        "disputes": maybe(st.integers(0, 10)),
        "limit_breach": maybe(st.booleans()),
        "external_penalty": maybe(st.floats(0, 100)),
    }
)
wild_customers = st.fixed_dictionaries(
    {
        "avg_days_late": maybe(any_float),
        "late_share": maybe(any_float),
        "recent_days_late": maybe(any_float),
        "older_days_late": maybe(any_float),
        "open_amount": maybe(any_float),
        "overdue_amount": maybe(any_float),
        "customer_days": maybe(int32),
        "broken_promises": maybe(int32),
        "disputes": maybe(int32),
        "limit_breach": maybe(st.booleans()),
        "external_penalty": maybe(any_float),
    }
)
reliability_weights = st.fixed_dictionaries(
    {name: st.floats(0, 100) for name in ReliabilityWeights.names()}
).filter(lambda weights: sum(weights.values()) > 0.001)
criticality_weights = st.fixed_dictionaries(
    {name: st.floats(0, 100) for name in CriticalityWeights.names()}
).filter(lambda weights: sum(weights.values()) > 0.001)


def numbered(rows: list[dict]) -> pl.DataFrame:
    return customers_frame(*({**row, "customer_id": i} for i, row in enumerate(rows)))


def non_increasing(values: list[float]) -> bool:
    return all(a >= b for a, b in itertools.pairwise(values))


def non_decreasing(values: list[float]) -> bool:
    return all(a <= b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("avg_days_late", st.floats(-10, 400)),
        ("late_share", st.floats(-0.5, 1.5)),
        ("overdue_amount", finite),
    ],
)
@settings(max_examples=100, deadline=None)
@given(data=st.data(), base=customers, weights=reliability_weights)
def test_reliability_does_not_grow_with_lateness(column, values, data, base, weights):
    grid = sorted(data.draw(st.lists(values, min_size=2, max_size=20)))
    frame = numbered([{**base, column: value} for value in grid])
    scores = reliability(frame, ReliabilityWeights.from_dict(weights))["score"].to_list()
    assert non_increasing(scores)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(wild_customers, min_size=1, max_size=20), weights=reliability_weights)
def test_reliability_is_bounded_and_explained(rows, weights):
    weights = ReliabilityWeights.from_dict(weights)
    result = reliability(numbered(rows), weights)
    assert result.null_count().sum_horizontal().item() == 0
    total = weights.total()
    for row in result.iter_rows(named=True):
        assert 0 <= row["score"] <= 100
        assert all(0 <= row[name] <= 100 for name in RELIABILITY_COMPONENTS)
        assert row["klass"] == klass_of(row["score"])
        # The components shown, weighted, give the score.
        weighted = sum(row[f"c_{name}"] * w / total for name, w in weights.as_dict().items())
        assert abs(weighted - row["score"]) <= 0.05 + 1e-9


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    rows=st.lists(customers, min_size=1, max_size=10),
    weights=reliability_weights,
)
def test_a_component_with_zero_weight_has_no_effect(data, rows, weights):
    name = data.draw(st.sampled_from(ReliabilityWeights.names()))
    weights = {**weights, name: 0.0}
    assume(sum(weights.values()) > 0.001)
    # Scramble every input of the component (and only its inputs).
    inputs = {
        "days_late": ["avg_days_late"],
        "late_share": ["late_share"],
        "trend": ["recent_days_late", "older_days_late"],
        "overdue_share": ["overdue_amount"],
        "seniority": ["customer_days"],
        "incidents": ["broken_promises", "disputes"],
        "limit_breach": ["limit_breach"],
        "external": ["external_penalty"],
    }[name]
    scrambled = [
        {**row, **{column: data.draw(customers)[column] for column in inputs}} for row in rows
    ]
    weights = ReliabilityWeights.from_dict(weights)
    assert reliability(numbered(scrambled), weights)["score"].equals(
        reliability(numbered(rows), weights)["score"]
    )


items_base = st.fixed_dictionaries(
    {
        "days_overdue": st.integers(-400, 2_000),
        "open_amount": st.floats(0.01, 1e9),
        "customer_open_amount": maybe(st.floats(-1e9, 1e9)),
        "customer_days": maybe(st.integers(0, 20_000)),
        "score": maybe(st.floats(0, 100)),
    }
)


def item_frames(rows: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Items, scores and customer figures, one customer per item."""
    items = items_frame(
        *(
            {
                "receivable_id": i,
                "customer_id": i,
                "days_overdue": row["days_overdue"],
                "open_amount": row["open_amount"],
            }
            for i, row in enumerate(rows)
        )
    )
    scores = pl.DataFrame(
        {"customer_id": list(range(len(rows))), "score": [row["score"] for row in rows]},
        schema={"customer_id": pl.Int64, "score": pl.Float64},
    )
    figures = pl.DataFrame(
        {
            "customer_id": list(range(len(rows))),
            "customer_days": [row["customer_days"] for row in rows],
            "open_amount": [row["customer_open_amount"] for row in rows],
        },
        schema={"customer_id": pl.Int64, "customer_days": pl.Int32, "open_amount": pl.Float64},
    )
    return items, scores, figures


portfolios = st.tuples(st.floats(0.01, 1e6), st.floats(1, 1e4)).map(
    lambda pair: (pair[0], pair[0] * pair[1])
)


@pytest.mark.parametrize(
    ("column", "values"),
    [("days_overdue", st.integers(-400, 2_000)), ("open_amount", st.floats(0.01, 1e9))],
)
@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    base=items_base,
    weights=criticality_weights,
    portfolio=maybe(portfolios),
)
def test_criticality_grows_with_days_and_amount(column, values, data, base, weights, portfolio):
    # The same item, customer and portfolio reference, one input varied.
    grid = sorted(data.draw(st.lists(values, min_size=2, max_size=20)))
    items, scores, figures = item_frames([{**base, column: value} for value in grid])
    if portfolio is None:
        portfolio = portfolio_reference(data.draw(st.sampled_from([items, WORKED_ITEMS])))
    result = criticality(
        items, scores, figures, CriticalityWeights.from_dict(weights), portfolio=portfolio
    )
    assert non_decreasing(result["criticality"].to_list())


@settings(max_examples=200, deadline=None)
@given(
    others=st.lists(st.floats(-1e6, 1e9), max_size=30),
    amounts=st.tuples(st.floats(0.01, 1e9), st.floats(0.01, 1e9)).map(sorted),
    base=items_base,
    weights=criticality_weights,
)
def test_a_larger_item_is_not_less_critical_against_its_own_portfolio(
    others, amounts, base, weights
):
    # The portfolio reference is recomputed from the items, the growing one included.
    weights = CriticalityWeights.from_dict(weights)
    results = []
    for amount in amounts:
        rows = [{**base, "open_amount": amount}, *({**base, "open_amount": a} for a in others)]
        items, scores, figures = item_frames(rows)
        results.append(criticality(items, scores, figures, weights).row(0, named=True))
    assert results[0]["k_amount_vs_portfolio"] <= results[1]["k_amount_vs_portfolio"] + 1e-9
    assert results[0]["criticality"] <= results[1]["criticality"]


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "days_overdue": maybe(int32),
                "open_amount": maybe(any_float),
                "customer_open_amount": maybe(any_float),
                "customer_days": maybe(int32),
                "score": maybe(any_float),
            }
        ),
        min_size=1,
        max_size=20,
    ),
    weights=criticality_weights,
)
def test_criticality_is_bounded_and_explained(rows, weights):
    weights = CriticalityWeights.from_dict(weights)
    result = criticality(*item_frames(rows), weights)
    assert result.null_count().sum_horizontal().item() == 0
    total = weights.total()
    for row, given_row in zip(result.iter_rows(named=True), rows, strict=True):
        assert 0 <= row["criticality"] <= 100
        assert all(0 <= row[name] <= 100 for name in CRITICALITY_COMPONENTS)
        weighted = sum(row[f"k_{name}"] * w / total for name, w in weights.as_dict().items())
        assert abs(weighted - row["criticality"]) <= 0.05 + 1e-9
        amount = given_row["open_amount"]
        if amount is None or math.isnan(amount) or amount <= 0:
            assert row["criticality"] == 0


@settings(max_examples=100, deadline=None)
@given(
    base=items_base,
    days=st.integers(1, 2_000),
    not_due=st.integers(-400, 0),
    portfolio=portfolios,
)
def test_an_item_not_yet_due_ranks_below_an_overdue_one(base, days, not_due, portfolio):
    items, scores, figures = item_frames(
        [{**base, "days_overdue": not_due}, {**base, "days_overdue": days}]
    )
    # Both items belong to customer 0 here.
    items = items.with_columns(pl.lit(0, dtype=pl.Int64).alias("customer_id"))
    result = criticality(items, scores, figures, portfolio=portfolio)["criticality"].to_list()
    assert result[0] < result[1]
