"""``incassa dunning run`` over 1,000,000 open items of 100,000 customers: the first run of
the day, and a second run for the same day (nothing left to do).

Each run starts from a fresh database holding the import benchmark's first snapshot (loaded
with ``incassa import-receivables``, not timed) and sales agents with email addresses, then
times ``incassa dunning run --date D --json`` twice as subprocesses, end to end. The second
run must create nothing; both outputs are checked.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from benchmarks import common
from benchmarks.receivables_data import snapshots

NAME = "dunning"
TITLE = "Dunning engine run"

PREPARE = (
    "from incassa.ledger.models import Company; "
    "Company.objects.create(code='bench', name='Benchmark S.r.l.')"
)
AGENT_EMAILS = (
    "from incassa.ledger.models import SalesAgent; "
    "SalesAgent.objects.update(email='agente@example.it')"
)
TARGETS = {"first": 15.0, "again": 5.0}
LABELS = {
    "first": "First run of the day (every late item reaches a step)",
    "again": "Second run for the same day (nothing to do)",
}


def _measure(
    label: str,
    runs: int,
    database: Callable[[], AbstractContextManager[dict[str, str]]],
) -> tuple[dict[str, list[float]], dict[str, int]]:
    data = snapshots()
    found: dict[str, list[float]] = {"first": [], "again": []}
    counts: dict[str, int] = {}
    for number in range(1, runs + 1):
        with database() as env:
            common.incassa("migrate", "--noinput", env=env)
            common.incassa("shell", "-c", PREPARE, env=env)
            common.incassa(
                "import-receivables", data.first, "--as-of", data.first_as_of.isoformat(), env=env
            )
            common.incassa("shell", "-c", AGENT_EMAILS, env=env)
            date = data.first_as_of.isoformat()
            first = common.incassa("dunning", "run", "--date", date, "--json", env=env)
            again = common.incassa("dunning", "run", "--date", date, "--json", env=env)
        result, repeat = first.json(), again.json()
        if result["actions"] <= 0 or result["item_steps"] < 100_000:
            raise common.BenchmarkError(f"{label}: the first run did too little: {result}")
        if repeat["actions"] != 0 or repeat["item_steps"] != 0:
            raise common.BenchmarkError(f"{label}: the second run created something: {repeat}")
        found["first"].append(first.seconds)
        found["again"].append(again.seconds)
        counts = {k: result[k] for k in ("actions", "item_steps", "skipped")}
        print(
            f"  {label} run {number}/{runs}: first {first.seconds:.2f} s "
            f"({result['actions']:,} actions, {result['item_steps']:,} item steps), "
            f"second {again.seconds:.2f} s"
        )
    return found, counts


def _intro(counts: dict[str, int], version: str | None) -> list[str]:
    return [
        f"Measured {common.today()} on {common.machine_summary(version)}.",
        "",
        "The ledger: the import benchmark's first snapshot (1,000,000 open items of 100,000 "
        "customers, as of 31/03/2026, due dates spread over the months before and after), the "
        "`standard` strategy, every sales agent with an email address. The first run of the "
        f"day created {counts.get('actions', 0):,} actions for "
        f"{counts.get('item_steps', 0):,} item steps ({counts.get('skipped', 0):,} skipped: "
        "agent notices for customers without an agent); the second created nothing. "
        "Each figure is the median of the runs of `incassa dunning run --date D --json`, "
        "timed end to end as a subprocess (start-up included), each on a fresh database.",
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
