"""``incassa scores`` over 1,000,000 open items of 100,000 customers: the reliability of every
customer, the criticality of every item, the day's score history and KPI snapshots, and the
alerts, as after an import; then again the next day (replacing the day before's scores).

Each run starts from a fresh database holding the import benchmark's first snapshot (loaded
with ``incassa import-receivables``, not timed) and times ``incassa scores --date D --json``
twice as subprocesses, end to end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from benchmarks import common
from benchmarks.receivables_data import snapshots

NAME = "scores"
TITLE = "Scores after an import"

PREPARE = (
    "from incassa.ledger.models import Company; "
    "Company.objects.create(code='bench', name='Benchmark S.r.l.')"
)
TARGETS = {"first": 10.0, "next": 10.0, "kpi": None}
LABELS = {
    "first": "First computation (1,000,000 items, 100,000 customers)",
    "next": "Next day's computation (replaces the criticality, adds a day of history)",
    "kpi": "The day's KPI snapshot (`incassa kpi --snapshot`, informational)",
}


def _measure(
    label: str,
    runs: int,
    database: Callable[[], AbstractContextManager[dict[str, str]]],
) -> tuple[dict[str, list[float]], dict]:
    data = snapshots()
    found: dict[str, list[float]] = {"first": [], "next": [], "kpi": []}
    counts: dict = {}
    for number in range(1, runs + 1):
        with database() as env:
            common.incassa("migrate", "--noinput", env=env)
            common.incassa("shell", "-c", PREPARE, env=env)
            common.incassa(
                "import-receivables", data.first, "--as-of", data.first_as_of.isoformat(), env=env
            )
            day = data.first_as_of
            first = common.incassa("scores", "--date", day.isoformat(), "--json", env=env)
            following = (day + dt.timedelta(days=1)).isoformat()
            again = common.incassa("scores", "--date", following, "--json", env=env)
            kpi = common.incassa("kpi", "--as-of", following, "--snapshot", "--json", env=env)
        result = first.json()
        if result["items"] < 900_000 or result["customers"] < 90_000:
            raise common.BenchmarkError(f"{label}: too little was scored: {result}")
        found["first"].append(first.seconds)
        found["next"].append(again.seconds)
        found["kpi"].append(kpi.seconds)
        counts = result
        print(
            f"  {label} run {number}/{runs}: first {first.seconds:.2f} s "
            f"({result['customers']:,} customers, {result['items']:,} items), "
            f"next day {again.seconds:.2f} s, KPI snapshot {kpi.seconds:.2f} s"
        )
    return found, counts


def _intro(counts: dict, version: str | None) -> list[str]:
    classes = ", ".join(f"{k} {v:,}" for k, v in counts.get("by_class", {}).items())
    return [
        f"Measured {common.today()} on {common.machine_summary(version)}.",
        "",
        "The ledger: the import benchmark's first snapshot (1,000,000 open items of 100,000 "
        "customers). `incassa scores` reads the open items, the year's settled items, the "
        "customers, their external events and disputes; scores every customer (reliability "
        "and class) and every open item (criticality) with polars; replaces the current "
        "standing and the items' criticality, adds the day to the score history, raises "
        "the alerts and computes the customers' open balances that the long lists rank by, "
        "in one transaction. After an import, the day's KPI snapshot follows with the "
        "precomputed effectiveness and KPI report (timed separately below). "
        f"Classes: {classes or '-'}. Each figure is the median of "
        "the runs of `incassa scores --date D --json`, timed end to end as a subprocess "
        "(start-up included), each on a fresh database. The imports in the other benchmarks "
        "run with `INCASSA_SCORES_AFTER_IMPORT=0`, so that each figure times one step; by "
        "default an import is followed by this computation.",
    ]


def run(options: common.Options) -> common.Section:
    return common.timed_section(
        name=NAME,
        title=TITLE,
        options=options,
        measure=_measure,
        labels=LABELS,
        targets=TARGETS,
        intro=_intro,
    )
