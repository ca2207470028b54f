"""Page latency: every main page, as the user of each role opens it, with 1,000,000 items in
the database (SQLite), served by gunicorn and requested by a load generator.

The ledger is built once (not timed) through the real commands: the import benchmark's
first snapshot and the next day's, each followed by the scores and the engine's run, the
day's KPI snapshot; then ``benchmarks/pages_world.py`` adds a user per role, portfolios,
sixty working days of bank statements (a credit per 50 items, matched, proposed, to match
and set aside, with their allocations and the items the bank paid before the ERP), of
e-invoice imports, of daily cycle runs with their stages and inbox files, 500 background
jobs, and a team's day of calls. ``--rows`` builds a smaller ledger to try it out (the
report is written for 1,000,000 items only).

gunicorn serves it with ``WORKERS`` processes; the load generator keeps ``CLIENTS``
requests in flight (each client its own session, its own connection per request) over a
shuffled list holding every page ``REQUESTS`` times, so that pages are measured while
other pages are being served. A pass is one such list; the figures are the medians over
the passes of each page's 50th and 95th percentile.

The floor is the login page in the same passes: the same server, middleware and session,
a template and no ledger query. The ratio is a page's 95th percentile to the floor's.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from benchmarks import common
from benchmarks.dunning_run import AGENT_EMAILS, PREPARE
from benchmarks.receivables_data import snapshots

NAME = "pages"
TITLE = "Page latency"
TARGET = 0.300  # seconds, 95th percentile of every page
WORKERS = 2
CLIENTS = 2
REQUESTS = 20  # per page and pass
PASSWORD = "page-benchmark-password"
FLOOR = "Login page (floor: no ledger query)"


@dataclass
class Session:
    cookie: str


@dataclass
class Timings:
    by_page: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------


def build(env: dict[str, str], rows: int = 1_000_000) -> dict:
    """Two days of a ledger of ``rows`` items (1,000,000: the reference), as the daily cycle
    leaves it; the world's description (users, pages and what it holds) from
    ``pages_world``."""
    data = snapshots(rows=rows, customers=max(1, rows // 10))
    first, following = data.first_as_of.isoformat(), data.next_as_of.isoformat()
    steps = [
        ("migrate", "--noinput"),
        ("shell", "-c", PREPARE),
        ("import-receivables", data.first, "--as-of", first),
        ("shell", "-c", AGENT_EMAILS),
        ("scores", "--date", first),
        ("dunning", "run", "--date", first),
        ("import-receivables", data.next_day, "--as-of", following),
        ("scores", "--date", following),
        ("dunning", "run", "--date", following),
        ("kpi", "--as-of", following, "--snapshot"),
    ]
    for step in steps:
        started = time.perf_counter()
        common.incassa(*step, env=env)
        print(f"  built: incassa {step[0]} ({time.perf_counter() - started:.0f} s)")
    world = common.run(
        [common.BIN / "python", "-m", "benchmarks.pages_world", PASSWORD, following], env
    )
    print(
        "  built: users, portfolios, sixty days of payments, cycle runs and jobs, a day of "
        f"calls ({world.seconds:.0f} s)"
    )
    return world.json()


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(env: dict[str, str]) -> Iterator[int]:
    """gunicorn on a free loopback port, as a deployment runs it (DEBUG off)."""
    port = _free_port()
    env = {**env, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    log = open(Path(env["INCASSA_VAR_DIR"]).parent / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            str(common.BIN / "gunicorn"),
            "incassa.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "300",
        ],
        env=env,
        cwd=common.ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _request(port, "GET", "/login/", None)
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise common.BenchmarkError("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# --------------------------------------------------------------------------------------
# The load generator
# --------------------------------------------------------------------------------------


def _request(
    port: int, method: str, path: str, session: Session | None, body: str | None = None
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Accept-Language": "it", "Host": "127.0.0.1"}
    if session is not None:
        headers["Cookie"] = session.cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    conn.close()
    return response


def _cookies(response: http.client.HTTPResponse) -> dict[str, str]:
    found = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        found[name.strip()] = rest.split(";", 1)[0]
    return found


def login(port: int, username: str) -> Session:
    page = _request(port, "GET", "/login/", None)
    cookies = _cookies(page)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)  # type: ignore[attr-defined]
    if token is None:
        raise common.BenchmarkError("no CSRF token on the login page")
    body = urlencode(
        {
            "csrfmiddlewaretoken": token.group(1).decode(),
            "username": username,
            "password": PASSWORD,
        }
    )
    session = Session(cookie="; ".join(f"{k}={v}" for k, v in cookies.items()))
    answer = _request(port, "POST", "/login/", session, body)
    cookies.update(_cookies(answer))
    if answer.status != 302 or "sessionid" not in cookies:
        raise common.BenchmarkError(f"{username} could not log in (HTTP {answer.status})")
    return Session(cookie="; ".join(f"{k}={v}" for k, v in cookies.items()))


def one_pass(port: int, pages: list[list[str]], sessions: dict[str, Session], seed: int) -> Timings:
    """Every page ``REQUESTS`` times in a shuffled order, ``CLIENTS`` at a time."""
    queue = [(label, role, path) for label, role, path in pages for _ in range(REQUESTS)]
    queue += [(FLOOR, "", "/login/")] * REQUESTS
    random.Random(seed).shuffle(queue)
    timings = Timings()
    lock = threading.Lock()

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                label, role, path = queue.pop()
            started = time.perf_counter()
            response = _request(port, "GET", path, sessions.get(role))
            elapsed = time.perf_counter() - started
            with lock:
                if response.status != 200:
                    timings.errors.append(f"{label} {path}: HTTP {response.status}")
                timings.by_page.setdefault(label, []).append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with ``share`` of them at or below."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil
    return ordered[int(rank) - 1]


def measure(env: dict[str, str], world: dict, runs: int) -> dict[str, dict[str, list[float]]]:
    """Per page: the 50th and 95th percentiles of each pass."""
    pages = world["pages"]
    found: dict[str, dict[str, list[float]]] = {}
    with server(env) as port:
        sessions = {role: login(port, name) for role, name in world["users"].items()}
        warm = one_pass(port, pages, sessions, seed=0)  # caches, first imports of modules
        if warm.errors:
            raise common.BenchmarkError("pages failed:\n" + "\n".join(sorted(set(warm.errors))))
        for number in range(1, runs + 1):
            timings = one_pass(port, pages, sessions, seed=number)
            if timings.errors:
                raise common.BenchmarkError("\n".join(sorted(set(timings.errors))))
            for label, values in timings.by_page.items():
                figures = found.setdefault(label, {"p50": [], "p95": []})
                figures["p50"].append(percentile(values, 0.5))
                figures["p95"].append(percentile(values, 0.95))
            slowest = max(found, key=lambda k: found[k]["p95"][-1])
            print(
                f"  pass {number}/{runs}: slowest {slowest} "
                f"p95 {found[slowest]['p95'][-1] * 1000:.0f} ms"
            )
    return found


def _ms(value: float) -> str:
    return f"{value * 1000:,.0f} ms"


def _world_text(world: dict, rows: int) -> str:
    """What the ledger holds, in one sentence of the report."""
    facts = world.get("facts")
    if not facts:
        work = ""
    else:
        status = facts["by_status"]
        work = (
            f"{facts['days']} working days of daily work: {facts['credits']:,} bank credits "
            f"on daily statements ({status.get('matched', 0):,} matched, "
            f"{status.get('proposed', 0):,} proposed, {status.get('unmatched', 0):,} to "
            f"match, {status.get('ignored', 0):,} set aside; {facts['allocations']:,} "
            f"allocations; {facts['bank_paid_items']:,} items paid by the bank before the "
            f"ERP booked them, {facts['differs']:,} of them flagged), "
            f"{facts['einvoice_documents']:,} e-invoices in daily imports, "
            f"{facts['cycle_runs']} daily cycle runs with {facts['cycle_stages']} stages and "
            f"{facts['inbox_files']} inbox files, {facts['jobs']} background jobs; "
        )
    return (
        f"The ledger: the import benchmark's two snapshots ({rows:,} open items of "
        f"{max(1, rows // 10):,} customers, then the next day's), each scored and run through "
        "the engine, the day's KPI snapshot, a user per role, portfolios by category, "
        f"{work}and a team's day of 1,500 calls with their promises, disputes, plans and "
        "settlements."
    )


def section(
    found: dict[str, dict[str, list[float]]],
    world: dict,
    runs: int,
    ledger_rows: int = 1_000_000,
) -> common.Section:
    floor = statistics.median(found[FLOOR]["p95"])
    rows, failures = [], []
    roles = {label: role for label, role, _path in world["pages"]}
    for label, figures in sorted(found.items(), key=lambda kv: -statistics.median(kv[1]["p95"])):
        p50, p95 = statistics.median(figures["p50"]), statistics.median(figures["p95"])
        is_floor = label == FLOOR
        ok = p95 <= TARGET
        if not ok and not is_floor:
            failures.append(f"{label}: p95 {_ms(p95)}, target ≤ {_ms(TARGET)}")
        rows.append(
            [
                label,
                roles.get(label, "anonymous").replace("_", " "),
                _ms(p50),
                f"**{_ms(p95)}**",
                " / ".join(_ms(v) for v in figures["p95"]),
                "" if is_floor else f"≤ {_ms(TARGET)}",
                "" if is_floor else ("PASS" if ok else "**FAIL**"),
                f"{p95 / floor:.1f}×",
            ]
        )
    header = ["Page", "Role", "p50", "p95", "p95 per pass", "Target", "Result", "Ratio to floor"]
    lines = [
        f"Measured {common.today()} on {common.machine_summary()}.",
        "",
        _world_text(world, ledger_rows) + " Served by gunicorn "
        f"({WORKERS} workers, DEBUG off) on SQLite; the load generator "
        "(`benchmarks/pages.py`) keeps "
        f"{CLIENTS} requests in flight over a shuffled list of every page {REQUESTS} times "
        f"per pass, each request a new connection with the role's session; {runs} passes "
        "after a warm-up pass. Each figure is the median over the passes of the page's "
        "percentile; the floor is the login page in the same passes (same server, "
        "middleware and session, no ledger query), and the ratio is the page's p95 to the "
        f"floor's ({_ms(floor)}).",
        "",
        common.table(header, rows),
    ]
    return common.Section(name=NAME, title=TITLE, markdown="\n".join(lines), failures=failures)


def run(options: common.Options) -> common.Section:
    print(f"{TITLE}: building the ledger ({options.rows:,} rows), then {options.runs} passes")
    with common.sqlite_env() as env:
        world = build(env, options.rows)
        found = measure(env, world, options.runs)
    result = section(found, world, options.runs, options.rows)
    if not options.reference_size:
        result.markdown = (
            f"**Not the reference size: {options.rows:,} rows.**\n\n" + result.markdown
        )
    return result


def main() -> None:
    """``python -m benchmarks.pages DATABASE_URL VAR_DIR WORLD_JSON``: measure an existing
    ledger (a profiling aid while working on a page)."""
    import sys

    env = common.base_env()
    env["DATABASE_URL"], env["INCASSA_VAR_DIR"] = sys.argv[1], sys.argv[2]
    world = json.loads(Path(sys.argv[3]).read_text())
    only = os.environ.get("PAGES")
    if only:
        world["pages"] = [p for p in world["pages"] if re.search(only, p[0])]
    found = measure(env, world, int(os.environ.get("RUNS", "1")))
    print(section(found, world, 1).markdown)


if __name__ == "__main__":
    main()
