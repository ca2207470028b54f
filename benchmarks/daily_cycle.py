"""The whole daily cycle for 1,000,000 open items, run by background workers: the next
day's snapshot picked up from the import inbox, scores and KPIs, the engine's run, and the
delivery of about 10,000 emails (each with its PDF statement) to a local SMTP server.

The world (not timed) is built once per database engine and copied for each run: the first
snapshot imported, the company of ``benchmarks/cycle_world.py`` (nine email reminders, every
item where the engine would have left it), users, and the next day's snapshot waiting in the
company's inbox. Each run starts the workers (``incassa run_huey``, no scheduler), an SMTP
server on loopback that counts what it accepts (``benchmarks/smtp_sink.py``), queues the
day's cycle as the schedule would and waits for it to end. The figure is the run's own
record: from the moment it was queued to the moment it finished; the stages' times come
from their records too. Every run is checked: the cycle succeeded, every stage did its
work, and the SMTP server received exactly the messages marked sent, plus the summary.

On SQLite one worker runs it (the target: 2 minutes); one more run has gunicorn serve the
main pages to two clients the whole time (their latency is reported beside the same pages
measured before the cycle, idle). On PostgreSQL the cycle runs with 1, 2 and 4 workers
(``INCASSA_DELIVERY_WORKERS``): the delivery is shared among them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import common, pages
from benchmarks.dunning_run import PREPARE
from benchmarks.receivables_data import snapshots

NAME = "cycle"
TITLE = "Daily cycle"
TARGET = 120.0  # seconds, SQLite, one worker
POSTGRES_WORKERS = (1, 2, 4)
POSTGRES_RUNS = 1  # per worker count: three counts of several minutes each
PASSWORD = pages.PASSWORD
RUN_TIMEOUT = 1200.0
STAGES = ("inbox", "scores", "strategies", "delivery", "print", "summary")
STAGE_LABELS = {
    "inbox": "Inbox: next-day snapshot imported (scores and KPIs follow its commit)",
    "scores": "Scores",
    "strategies": "Strategies: the engine's run",
    "delivery": "Delivery: messages written (PDF statement each) and sent",
    "print": "Print batch",
    "summary": "Summary email",
}


# --------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------


def build(env: dict[str, str], rows: int) -> dict[str, Any]:
    """The first snapshot, the company and its users, the next day's file in the inbox."""
    data = snapshots(rows=rows, customers=rows // 10)
    common.incassa("migrate", "--noinput", env=env)
    common.incassa("shell", "-c", PREPARE, env=env)
    common.incassa(
        "import-receivables", data.first, "--as-of", data.first_as_of.isoformat(), env=env
    )
    done = common.python(
        "-m", "benchmarks.cycle_world", PASSWORD, data.first_as_of.isoformat(), env=env
    )
    world = done.json()
    inbox = Path(env["INCASSA_VAR_DIR"]) / "inbox" / "bench"
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data.next_day, inbox / data.next_day.name)
    world["day"] = data.next_as_of.isoformat()
    world["snapshot"] = data.next_day.name
    return world


@contextmanager
def sqlite_copies(world_env: dict[str, str]) -> Iterator[Any]:
    """Each run on a copy of the world's database file and its var directory."""

    @contextmanager
    def copy() -> Iterator[dict[str, str]]:
        with common.scratch_dir() as path:
            source = Path(world_env["DATABASE_URL"].removeprefix("sqlite:///"))
            shutil.copytree(world_env["INCASSA_VAR_DIR"], path / "var")
            shutil.copyfile(source, path / "bench.sqlite3")
            env = {
                **world_env,
                "INCASSA_VAR_DIR": str(path / "var"),
                "DATABASE_URL": f"sqlite:///{path / 'bench.sqlite3'}",
            }
            yield env

    yield copy


@contextmanager
def postgres_copies(server: str, world_env: dict[str, str]) -> Iterator[Any]:
    """Each run on a copy of the world's database (``CREATE DATABASE ... TEMPLATE``)."""
    import psycopg

    admin = common.with_database(server, "postgres")
    template = world_env["DATABASE_URL"].rsplit("/", 1)[1]

    @contextmanager
    def copy() -> Iterator[dict[str, str]]:
        name = f"{template}_run_{int(time.time() * 1000) % 10**9}"
        with common.scratch_dir() as path, psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            try:
                shutil.copytree(world_env["INCASSA_VAR_DIR"], path / "var")
                url = common.with_database(server, name)
                yield {
                    **world_env,
                    "INCASSA_VAR_DIR": str(path / "var"),
                    "DATABASE_URL": url,
                    "INCASSA_QUEUE_URL": url,
                }
            finally:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    yield copy


# --------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------


def _cycle_env(env: dict[str, str], port: int, workers: int) -> dict[str, str]:
    return {
        **env,
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "INCASSA_SCHEDULER": "0",  # the benchmark queues the run itself
        "INCASSA_SCORES_AFTER_IMPORT": "1",  # as in production: scores follow an import
        "INCASSA_INBOX_SETTLE_SECONDS": "0",
        "INCASSA_DELIVERY_WORKERS": str(workers),
        "INCASSA_MAIL_DOMAIN": "benchmark.example",
    }


@contextmanager
def smtp_sink(env: dict[str, str]) -> Iterator[tuple[int, Path]]:
    """The SMTP server on a free loopback port; the file it writes its count to."""
    port = pages._free_port()
    count = Path(env["INCASSA_VAR_DIR"]).parent / "smtp-count.json"
    process = subprocess.Popen(
        [str(common.BIN / "python"), "-m", "benchmarks.smtp_sink", str(port), str(count)],
        cwd=common.ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while not count.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise common.BenchmarkError("the SMTP sink did not start")
            time.sleep(0.1)
        yield port, count
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def workers(env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen]]:
    """``count`` worker processes of one thread each, as ``scripts/production-local``."""
    log = open(Path(env["INCASSA_VAR_DIR"]).parent / "workers.log", "ab")  # noqa: SIM115
    started = [
        subprocess.Popen(
            [str(common.INCASSA), "run_huey", "-w", "1"],
            env=env,
            cwd=common.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        for process in started:
            process.send_signal(signal.SIGINT)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


class Database:
    """Reads the run's records while the workers write them (no Django in this process)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite:")

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.sqlite:
            path = self.url.removeprefix("sqlite:///")
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
                return db.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()


def _json(value: Any) -> dict:
    """A JSON column: text on SQLite, already decoded by psycopg."""
    return value if isinstance(value, dict) else json.loads(value or "{}")


def _moment(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


ENQUEUE = (
    "from incassa.cycle.services import cycle_enqueue; "
    "from incassa.ledger.models import Company; import datetime as dt; "
    "run = cycle_enqueue(company=Company.objects.get(), day=dt.date.fromisoformat('{day}'), "
    "trigger='schedule'); print(run.pk)"
)


def run_cycle(env: dict[str, str], world: dict, count: int, *, load: bool) -> dict[str, Any]:
    """One run of the cycle with ``count`` workers; its figures, checked."""
    with smtp_sink(env) as (port, counter):
        env = _cycle_env(env, port, count)
        database = Database(env["DATABASE_URL"])
        with workers(env, count), _page_load(env, world, load) as latency:
            queued = common.incassa("shell", "-c", ENQUEUE.format(day=world["day"]), env=env)
            run_id = int(queued.stdout.strip().splitlines()[-1])
            deadline = time.monotonic() + RUN_TIMEOUT
            while True:
                ((status,),) = database.rows(
                    "SELECT status FROM cycle_cyclerun WHERE id = ?", (run_id,)
                )
                if status not in ("queued", "running"):
                    break
                if time.monotonic() > deadline:
                    raise common.BenchmarkError(f"the cycle did not end in {RUN_TIMEOUT:.0f} s")
                time.sleep(0.5)
            latency["stop"].set()
        time.sleep(1.0)  # the last SMTP sessions close
    received = json.loads(counter.read_text())["messages"]
    return _checked(database, run_id, status, received, latency, count)


def _checked(
    database: Database,
    run_id: int,
    status: str,
    received: int,
    latency: dict,
    count: int,
) -> dict[str, Any]:
    ((created, finished),) = database.rows(
        "SELECT created_at, finished_at FROM cycle_cyclerun WHERE id = ?", (run_id,)
    )
    stages = {
        name: (state, _moment(start), _moment(end), _json(result), error)
        for name, state, start, end, result, error in database.rows(
            "SELECT name, status, started_at, finished_at, result, error FROM cycle_cyclestage "
            "WHERE run_id = ?",
            (run_id,),
        )
    }
    failed = {name: s[4] for name, s in stages.items() if s[0] not in ("succeeded", "skipped")}
    if status != "succeeded" or failed:
        raise common.BenchmarkError(f"the cycle ended {status}: {failed}")
    inbox = stages["inbox"][3]
    if [f["status"] for f in inbox.get("files", [])] != ["done"]:
        raise common.BenchmarkError(f"the inbox did not import the snapshot: {inbox}")
    delivery = stages["delivery"][3]
    ((sent,),) = database.rows("SELECT COUNT(*) FROM comms_message WHERE status = 'sent'")
    # The summary goes to the credit manager outside the outbox: one more message.
    if received != sent + 1 or delivery.get("errors"):
        raise common.BenchmarkError(
            f"the SMTP server received {received} messages, the outbox marked {sent} sent "
            f"(+1 summary): {delivery.get('errors')}"
        )
    strategies = stages["strategies"][3]
    return {
        "total": (_moment(finished) - _moment(created)).total_seconds(),
        "stages": {name: (s[2] - s[1]).total_seconds() for name, s in stages.items()},
        "emails": sent,
        "actions": strategies.get("actions", 0),
        "workers": count,
        "latency": latency.get("by_page", {}),
    }


PAGE_CLIENTS = 2
PAGE_PAUSE = 0.5  # seconds each client waits between two pages: two people at work


@contextmanager
def _page_load(env: dict[str, str], world: dict, load: bool) -> Iterator[dict]:
    """While the cycle runs: two clients, each opening one of the pages every half second
    (about four requests a second), their latencies recorded."""
    state: dict[str, Any] = {"stop": threading.Event(), "by_page": {}}
    if not load:
        yield state
        return
    with pages.server(env) as port:
        sessions = {role: pages.login(port, name) for role, name in world["users"].items()}
        lock = threading.Lock()

        def client(seed: int) -> None:
            rng = random.Random(seed)
            while not state["stop"].is_set():
                label, role, path = rng.choice(world["pages"])
                started = time.perf_counter()
                response = pages._request(port, "GET", path, sessions.get(role))
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status != 200:
                        state.setdefault("errors", []).append(f"{label}: {response.status}")
                    state["by_page"].setdefault(label, []).append(elapsed)
                state["stop"].wait(max(0.0, PAGE_PAUSE - elapsed))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(PAGE_CLIENTS)]
        for thread in threads:
            thread.start()
        try:
            yield state
        finally:
            state["stop"].set()
            for thread in threads:
                thread.join()
        if state.get("errors"):
            raise common.BenchmarkError("pages failed: " + ", ".join(sorted(set(state["errors"]))))


def idle_latency(env: dict[str, str], world: dict) -> dict[str, list[float]]:
    """The same pages before the cycle, nothing else running: the comparison."""
    with pages.server(env) as port:
        sessions = {role: pages.login(port, name) for role, name in world["users"].items()}
        pages.one_pass(port, world["pages"], sessions, seed=0)  # warm-up
        timings = pages.one_pass(port, world["pages"], sessions, seed=1)
    return timings.by_page


# --------------------------------------------------------------------------------------
# The section
# --------------------------------------------------------------------------------------


def _stage_rows(results: list[dict]) -> list[list[str]]:
    rows = []
    for name in STAGES:
        values = [r["stages"].get(name, 0.0) for r in results]
        rows.append(
            [
                STAGE_LABELS[name],
                f"{common.median(values):.2f} s",
                " / ".join(f"{v:.2f}" for v in values),
            ]
        )
    return rows


def _latency_rows(idle: dict, busy: dict[str, list[float]]) -> tuple[list[list[str]], list[str]]:
    rows, failures = [], []
    for label, values in sorted(busy.items(), key=lambda kv: -pages.percentile(kv[1], 0.95)):
        p95 = pages.percentile(values, 0.95)
        ok = p95 <= pages.TARGET
        before = idle.get(label)
        rows.append(
            [
                label,
                f"{pages.percentile(before, 0.95) * 1000:,.0f} ms" if before else "",
                f"{pages.percentile(values, 0.5) * 1000:,.0f} ms",
                f"**{p95 * 1000:,.0f} ms**",
                f"{len(values)}",
                f"≤ {pages.TARGET * 1000:.0f} ms",
                "PASS" if ok else "**FAIL**",
            ]
        )
        if not ok and label != pages.FLOOR:
            failures.append(f"{label} during the cycle: p95 {p95 * 1000:.0f} ms")
    return rows, failures


def run(options: common.Options) -> common.Section:
    runs = options.runs
    lines: list[str] = []
    failures: list[str] = []
    print(f"{TITLE}: building the world on SQLite ({options.rows:,} items)")
    with common.sqlite_env() as world_env:
        world = build(world_env, options.rows)
        idle = idle_latency(world_env, world)
        results = []
        with sqlite_copies(world_env) as copy:
            for number in range(1, runs + 1):
                with copy() as env:
                    result = run_cycle(env, world, 1, load=False)
                results.append(result)
                print(
                    f"  SQLite run {number}/{runs}: {result['total']:.1f} s, "
                    f"{result['emails']:,} emails"
                )
            with copy() as env:
                loaded = run_cycle(env, world, 1, load=True)
            print(f"  SQLite run with the pages open: {loaded['total']:.1f} s")
    totals = [r["total"] for r in results]
    total = common.median(totals)
    ok = total <= TARGET
    if not ok:
        failures.append(f"daily cycle on SQLite: {total:.1f} s, target ≤ {TARGET:.0f} s")
    latency_rows, latency_failures = _latency_rows(idle, loaded["latency"])
    failures += latency_failures
    emails = [r["emails"] for r in results]
    lines += [
        f"Measured {common.today()} on {common.machine_summary(None)}.",
        "",
        " ".join(__doc__.split("\n\n", 1)[1].split()).replace("``", "`"),
        "",
        f"The day: {results[0]['actions']:,} actions of the engine, "
        f"{min(emails):,} emails sent and received (each run: "
        f"{' / '.join(f'{e:,}' for e in emails)}).",
        "",
        "### SQLite, one worker",
        "",
        common.table(
            ["Figure", "Median", "Runs", "Target", "Result"],
            [
                [
                    "The whole cycle (queued → finished)",
                    f"**{common.seconds(total)}**",
                    " / ".join(common.seconds(v) for v in totals),
                    f"≤ {TARGET:.0f} s",
                    "PASS" if ok else "**FAIL**",
                ]
            ],
        ),
        "",
        "Where the time goes (each stage's record, median):",
        "",
        common.table(["Stage", "Median", "Runs (s)"], _stage_rows(results)),
        "",
        f"Pages while the cycle runs: one more run, with gunicorn (2 workers) serving "
        f"{PAGE_CLIENTS} clients that each open one of these pages every "
        f"{PAGE_PAUSE:g} s for as long as the cycle lasts (that run took "
        f"{common.seconds(loaded['total'])}: the machine's two cores are shared with the "
        "web server); p95 over all its requests, beside the same page's p95 before the "
        "cycle, idle:",
        "",
        common.table(
            ["Page", "p95 idle", "p50", "p95 during the cycle", "Requests", "Target", "Result"],
            latency_rows,
        ),
        "",
        "### PostgreSQL",
        "",
    ]
    server = common.postgres_server() if options.postgres else None
    if server is None:
        lines.append("Not measured: run without `--no-postgres`, with a server that starts.")
    else:
        lines += _postgres(server, options)
    return common.Section(name=NAME, title=TITLE, markdown="\n".join(lines), failures=failures)


def _postgres(server: str, options: common.Options) -> list[str]:
    version = common.postgres_version(server)
    print(f"{TITLE}: building the world on PostgreSQL {version}")
    rows = []
    stage_tables = []
    with common.postgres_env(server) as world_env:
        # The queue's tables are created with the database (by ``migrate``, as a
        # deployment does), not by the first processes that start at once.
        world_env["INCASSA_QUEUE_URL"] = world_env["DATABASE_URL"]
        world = build(world_env, options.rows)
        with postgres_copies(server, world_env) as copy:
            for count in POSTGRES_WORKERS:
                results = []
                runs = min(options.runs, POSTGRES_RUNS)
                for number in range(1, runs + 1):
                    with copy() as env:
                        result = run_cycle(env, world, count, load=False)
                    results.append(result)
                    print(
                        f"  PostgreSQL, {count} worker(s), run {number}/{runs}: "
                        f"{result['total']:.1f} s, {result['emails']:,} emails"
                    )
                totals = [r["total"] for r in results]
                rows.append(
                    [
                        f"{count}",
                        f"**{common.seconds(common.median(totals))}**",
                        " / ".join(common.seconds(v) for v in totals),
                        f"{common.median([r['stages'].get('delivery', 0) for r in results]):.2f} s",
                    ]
                )
                stage_tables.append((count, results))
    lines = [
        f"PostgreSQL {version}, local server (`scripts/postgres-server`, fsync off); the "
        "world copied for each run (`CREATE DATABASE … TEMPLATE`); the queue in the same "
        "database (PostgresHuey); one run per number of workers (each lasts minutes). "
        "Informational: no targets.",
        "",
        common.table(["Workers", "The whole cycle (median)", "Runs", "Delivery stage"], rows),
        "",
    ]
    for count, results in stage_tables:
        lines += [
            f"Stages with {count} worker(s):",
            "",
            common.table(["Stage", "Median", "Runs (s)"], _stage_rows(results)),
            "",
        ]
    return lines


def main() -> None:
    """``python -m benchmarks.daily_cycle [ROWS]``: one SQLite run, printed, no report."""
    import sys

    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with common.sqlite_env() as world_env:
        world = build(world_env, rows)
        with sqlite_copies(world_env) as copy, copy() as env:
            result = run_cycle(env, world, 1, load=os.environ.get("LOAD", "0") == "1")
    print(json.dumps({k: v for k, v in result.items() if k != "latency"}, indent=2))


if __name__ == "__main__":
    main()
