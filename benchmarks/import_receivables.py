"""``incassa import-receivables`` on a 1,000,000-row snapshot: first import, identical
re-import, next day's snapshot, peak memory; against the floor of the same machine.

Each run starts from a fresh database (``incassa migrate``, then a company), imports the
first snapshot, imports it again, then imports the next day's, each as a subprocess timed
end to end (interpreter start-up included). The ``--json`` output of every import is checked
against what the generator knows the file contains.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.receivables_data import Expected, Snapshots, snapshots

NAME = "import"
TITLE = "Receivables snapshot import"

CREATE_COMPANY = (
    "from incassa.ledger.models import Company; "
    "Company.objects.create(code='bench', name='Benchmark S.r.l.')"
)
MEMORY_TARGET = 2e9  # bytes: < 2 GB


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    target: float | None  # seconds, for SQLite


STEPS = (
    Step("first", "First import (all items created)", 15.0),
    Step("reimport", "Identical re-import (all unchanged)", 10.0),
    Step("next_day", "Next-day snapshot (2% paid, 1% part-paid, 1% new)", 12.0),
)


@dataclass
class Measurements:
    """The figures of one database, one value per run."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    memory: dict[str, list[int]] = field(default_factory=dict)
    startup: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    floor_memory: list[int] = field(default_factory=list)
    floor_read: list[float] = field(default_factory=list)

    def add(self, key: str, done: common.Completed) -> None:
        self.seconds.setdefault(key, []).append(done.seconds)
        self.memory.setdefault(key, []).append(done.max_rss)

    @property
    def peak_memory(self) -> list[int]:
        """Per run, the largest peak of its imports."""
        return [max(values) for values in zip(*self.memory.values(), strict=True)]


def check(result: dict[str, Any], expected: Expected, what: str) -> None:
    """Fail loudly when an import did not do what the file asks for."""
    wanted: dict[str, Any] = asdict(expected)
    wanted["rows_read"] = wanted.pop("rows")
    wanted["status"] = "applied"
    wanted["rows_rejected"] = 0
    wrong = {k: (result.get(k), v) for k, v in wanted.items() if result.get(k) != v}
    if wrong:
        details = ", ".join(
            f"{k} = {got!r} (expected {want!r})" for k, (got, want) in wrong.items()
        )
        raise common.BenchmarkError(f"{what}: wrong result: {details}\nfull output: {result}")


def _expected(data: Snapshots, key: str) -> tuple[Path, dt.date, Expected]:
    if key == "first":
        return data.first, data.first_as_of, data.first_import
    if key == "reimport":
        return data.first, data.first_as_of, data.reimport
    return data.next_day, data.next_as_of, data.next_day_import


def _measure(
    label: str,
    data: Snapshots,
    runs: int,
    database: Callable[[], AbstractContextManager[dict[str, str]]],
    floor: Callable[[], common.Completed],
) -> Measurements:
    found = Measurements()
    for number in range(1, runs + 1):
        with database() as env:
            common.incassa("migrate", "--noinput", env=env)
            common.incassa("shell", "-c", CREATE_COMPANY, env=env)
            found.startup.append(common.incassa("import-receivables", "--help", env=env).seconds)
            for step in STEPS:
                path, as_of, expected = _expected(data, step.key)
                done = common.incassa(
                    "import-receivables", path, "--as-of", as_of.isoformat(), "--json", env=env
                )
                check(done.json(), expected, f"{label} run {number}, {step.label}")
                found.add(step.key, done)
        done = floor()
        floor_result = done.json()
        if floor_result["rows"] != data.first_import.rows:
            raise common.BenchmarkError(f"floor read {floor_result['rows']} rows: {floor_result}")
        found.floor.append(done.seconds)
        found.floor_memory.append(done.max_rss)
        found.floor_read.append(floor_result["read_seconds"])
        figures = ", ".join(f"{step.key} {found.seconds[step.key][-1]:.2f} s" for step in STEPS)
        print(
            f"  {label} run {number}/{runs}: {figures}, "
            f"peak {common.gb(found.peak_memory[-1])}, floor {found.floor[-1]:.2f} s"
        )
    return found


def _sqlite_floor(data: Snapshots) -> common.Completed:
    with common.scratch_dir() as path:
        return common.python("-m", "benchmarks.floor", "sqlite", data.first, path / "floor.sqlite3")


def _postgres_floor(server: str, data: Snapshots) -> common.Completed:
    with common.postgres_database(server) as url:
        return common.python("-m", "benchmarks.floor", "postgres", data.first, url)


def _postgres_env(server: str) -> Callable[[], AbstractContextManager[dict[str, str]]]:
    def database() -> AbstractContextManager[dict[str, str]]:
        return common.postgres_env(server)

    return database


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _verdict(value: float, target: float | None, strict: bool = False) -> tuple[str, bool]:
    if target is None:
        return "", True
    ok = value < target if strict else value <= target
    return ("PASS" if ok else "**FAIL**"), ok


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.1f}×" if floor else ""


def _all(values: list[float], fmt: Callable[[float], str]) -> str:
    return " / ".join(fmt(v) for v in values)


def _rows(found: Measurements, with_targets: bool) -> Iterator[tuple[list[str], str | None]]:
    """Table rows, each with the failure it shows (None when it meets its target)."""
    floor = common.median(found.floor)
    for step in STEPS:
        values = found.seconds[step.key]
        value = common.median(values)
        target = step.target if with_targets else None
        verdict, ok = _verdict(value, target)
        row = [step.label, f"**{common.seconds(value)}**", _all(values, common.seconds)]
        if with_targets:
            row += [f"≤ {target:.0f} s", verdict]
        row += [common.seconds(floor), _ratio(value, floor)]
        failure = None if ok else f"{step.label}: {value:.2f} s, target ≤ {target:.0f} s"
        yield row, failure
    peaks = [float(v) for v in found.peak_memory]
    peak = common.median(peaks)
    floor_memory = common.median([float(v) for v in found.floor_memory])
    target = MEMORY_TARGET if with_targets else None
    verdict, ok = _verdict(peak, target, strict=True)
    row = ["Peak memory (max RSS of the largest import)", f"**{common.gb(peak)}**"]
    row.append(_all(peaks, common.gb))
    if with_targets:
        row += [f"< {common.gb(MEMORY_TARGET)}", verdict]
    row += [common.gb(floor_memory), _ratio(peak, floor_memory)]
    yield row, None if ok else f"peak memory {common.gb(peak)}, target < 2 GB"


def _table(found: Measurements, with_targets: bool, floor_name: str) -> tuple[str, list[str]]:
    header = ["Figure", "Median", "Runs"]
    if with_targets:
        header += ["Target", "Result"]
    header += [f"Floor ({floor_name})", "Ratio to floor"]
    rows, failures = [], []
    for row, failure in _rows(found, with_targets):
        rows.append(row)
        if failure:
            failures.append(failure)
    return common.table(header, rows), failures


def _details(found: Measurements) -> str:
    memory = ", ".join(
        f"{step.label.split(' (')[0].lower()} "
        + common.gb(common.median([float(v) for v in found.memory[step.key]]))
        for step in STEPS
    )
    return (
        f"Peak memory of each import (median): {memory}. "
        f"Command start-up (`incassa import-receivables --help`, median): "
        f"{common.seconds(common.median(found.startup))}. "
        f"Floor: reading the file takes {common.seconds(common.median(found.floor_read))} "
        "of it (median)."
    )


def run(options: common.Options) -> common.Section:
    customers = max(1, options.rows // 10)
    data = snapshots(rows=options.rows, customers=customers)
    print(f"{TITLE}: {options.runs} run(s) on SQLite")
    sqlite = _measure("SQLite", data, options.runs, common.sqlite_env, lambda: _sqlite_floor(data))
    postgres: Measurements | None = None
    postgres_version = ""
    postgres_note = "Not measured: run without `--no-postgres`."
    server = common.postgres_server() if options.postgres else None
    if options.postgres and server is None:
        postgres_note = "Not measured: the PostgreSQL server could not be started."
    if server:
        postgres_version = common.postgres_version(server)
        print(f"{TITLE}: {options.runs} run(s) on PostgreSQL {postgres_version}")
        postgres = _measure(
            "PostgreSQL",
            data,
            options.runs,
            _postgres_env(server),
            lambda: _postgres_floor(server, data),
        )

    first, next_day = data.first_import, data.next_day_import
    sqlite_table, failures = _table(sqlite, True, "executemany")
    lines = [
        f"Measured {common.today()} on {common.machine_summary(postgres_version or None)}.",
        "",
        f"The file: {first.rows:,} rows (installments) of {first.customers:,} customers, "
        "`;`-delimited UTF-8 with Italian dates and amounts, invoices in up to 6 installments "
        "and some credit notes; the next day's snapshot has "
        f"{next_day.closed:,} items fewer (paid), {next_day.updated:,} with a smaller open "
        f"amount and {next_day.created:,} new ({next_day.customers_created} of new customers). "
        "Generated by `benchmarks/receivables_data.py` (fixed seed) into `benchmarks/data/`.",
        "",
        f"Each figure is the median of {options.runs} run{'s' if options.runs > 1 else ''} "
        "(all runs listed); each run starts "
        "from a fresh database (`incassa migrate`, one company) and times "
        "`incassa import-receivables FILE --as-of DATE --json` end to end as a subprocess "
        "(interpreter and Django start-up included) for the first import, the same file "
        "again, then the next day's file. Peak memory is the max RSS of the import process "
        "(`wait4`). Every run's JSON output was checked: created, updated, closed, reopened, "
        "unchanged, customers created, open items and open amount exactly as generated.",
        "",
        "The floor is the least an import can cost here, measured in the same runs: "
        "`python -m benchmarks.floor` reads the first file with polars "
        "(`infer_schema=False`) and inserts all its rows into a bare all-TEXT table with "
        "the same unique key (customer code, document number, due date), in one transaction "
        "of a fresh database: one `executemany` on SQLite (with Incassa's pragmas), one "
        "`COPY` on PostgreSQL.",
        "",
        "### SQLite",
        "",
        sqlite_table,
        "",
        _details(sqlite),
        "",
        "### PostgreSQL",
        "",
    ]
    if postgres is not None:
        postgres_table, _ = _table(postgres, False, "COPY")
        lines += [
            f"PostgreSQL {postgres_version}, local server started by "
            "`scripts/postgres-server start` (fsync off); a fresh database per run. "
            "Informational: no targets.",
            "",
            postgres_table,
            "",
            _details(postgres),
        ]
    else:
        lines.append(postgres_note)
    if not options.reference_size:
        lines[0:0] = [f"**Not the reference size: {options.rows:,} rows.**", ""]
    return common.Section(name=NAME, title=TITLE, markdown="\n".join(lines), failures=failures)
