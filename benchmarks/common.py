"""What the benchmarks share: measured subprocesses, scratch databases, the machine's
description and the pieces of the markdown report."""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
INCASSA = BIN / "incassa"
TIMEOUT = 1800.0


class BenchmarkError(Exception):
    """A benchmark could not measure what it should (a command failed, a wrong result)."""


@dataclass(frozen=True)
class Options:
    runs: int
    postgres: bool
    rows: int

    @property
    def reference_size(self) -> bool:
        return self.rows == 1_000_000


@dataclass
class Section:
    """One benchmark's part of ``docs/benchmarks.md`` and of the command's exit status."""

    name: str
    title: str
    markdown: str
    failures: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# One measurement at a time
# --------------------------------------------------------------------------------------

LOCK = Path(tempfile.gettempdir()) / "incassa-benchmarks.lock"


@contextmanager
def exclusive() -> Iterator[None]:
    """Wait for any other benchmark run on this machine to finish: two at once on two cores
    would each measure the other."""
    with LOCK.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"note: another benchmark run holds {LOCK}; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------------------
# Measuring subprocesses
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    returncode: int
    seconds: float
    max_rss: int  # bytes
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """The last line of the output that is a JSON object."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise BenchmarkError(f"no JSON in the output of {' '.join(self.args)}:\n{self.stdout}")


def run(
    args: Sequence[str | Path],
    env: dict[str, str],
    *,
    check: bool = True,
    timeout: float = TIMEOUT,
) -> Completed:
    """Run a command to its end; wall-clock time and the peak memory (max RSS) of the
    process, taken from ``wait4`` so that each command's figure is its own."""
    argv = tuple(str(a) for a in args)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=ROOT)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = Completed(
            args=argv,
            returncode=process.returncode,
            seconds=seconds,
            max_rss=usage.ru_maxrss * 1024,  # kilobytes on Linux
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )
    if check and done.returncode != 0:
        raise BenchmarkError(
            f"{' '.join(argv)} exited with {done.returncode}\n"
            f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
        )
    return done


def incassa(*args: str | Path, env: dict[str, str], check: bool = True) -> Completed:
    return run([INCASSA, *args], env, check=check)


def python(*args: str | Path, env: dict[str, str] | None = None) -> Completed:
    return run([sys.executable, *args], env or base_env())


def base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env["PYTHONUNBUFFERED"] = "1"
    # Each benchmark times one step: the scores that follow an import by default are timed
    # on their own (benchmarks/scores.py), not inside the import's figure.
    env["INCASSA_SCORES_AFTER_IMPORT"] = "0"
    return env


# --------------------------------------------------------------------------------------
# Scratch databases
# --------------------------------------------------------------------------------------


@contextmanager
def scratch_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="incassa-bench-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def sqlite_env() -> Iterator[dict[str, str]]:
    """The environment of an ``incassa`` command on a fresh SQLite file in a temp dir."""
    with scratch_dir() as path:
        env = base_env()
        env["INCASSA_VAR_DIR"] = str(path / "var")
        env["DATABASE_URL"] = f"sqlite:///{path / 'bench.sqlite3'}"
        yield env


@functools.cache
def postgres_server() -> str | None:
    """The DATABASE_URL of the local throw-away server (started, and installed, if needed);
    None, with a printed note, when it cannot be started."""
    script = ROOT / "scripts" / "postgres-server"
    try:
        done = subprocess.run(
            [str(script), "start"], capture_output=True, text=True, timeout=900, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"note: PostgreSQL skipped: cannot run {script}: {exc}")
        return None
    url = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    if done.returncode != 0 or not url.startswith("postgres"):
        print(f"note: PostgreSQL skipped: {script} start failed: {done.stderr.strip()[-500:]}")
        return None
    try:
        import psycopg  # noqa: F401
    except ImportError:
        print("note: PostgreSQL skipped: psycopg is not installed (pip install -e '.[postgres]')")
        return None
    return url


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh, empty database on the server; its URL; dropped afterwards."""
    import psycopg

    name = f"incassa_bench_{uuid.uuid4().hex[:12]}"
    admin = with_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_env(server_url: str) -> Iterator[dict[str, str]]:
    """The environment of an ``incassa`` command on a fresh PostgreSQL database."""
    with scratch_dir() as path, postgres_database(server_url) as url:
        env = base_env()
        env["INCASSA_VAR_DIR"] = str(path / "var")
        env["DATABASE_URL"] = url
        yield env


# --------------------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(postgres: str | None = None) -> list[tuple[str, str]]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    facts = [
        ("CPU", f"{cpus} cores usable (nproc), {_cpu_model()}"),
        ("Memory", gb(_memory())),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("polars", _version("polars")),
        ("Django", _version("django")),
        ("psycopg", _version("psycopg")),
    ]
    if postgres:
        facts.append(("PostgreSQL", postgres))
    return facts


def machine_summary(postgres: str | None = None) -> str:
    facts = dict(machine(postgres))
    return (
        f"{facts['CPU'].split(' (')[0]}, {facts['Memory']} RAM, Python {facts['Python']}, "
        f"SQLite {facts['SQLite']}, polars {facts['polars']}"
        + (f", PostgreSQL {postgres}" if postgres else "")
    )


def today() -> str:
    return dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


# --------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def gb(value: float) -> str:
    """Bytes in (decimal) gigabytes, the unit of the memory target."""
    return f"{value / 1e9:.2f} GB"


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# A section timed on SQLite (against targets) and on PostgreSQL (informational)
# --------------------------------------------------------------------------------------

Measure = Callable[
    [str, int, Callable[[], AbstractContextManager[dict[str, str]]]],
    tuple[dict[str, list[float]], Any],
]


def figures_table(
    found: dict[str, list[float]],
    labels: dict[str, str],
    targets: dict[str, float | None],
    *,
    with_targets: bool,
) -> tuple[str, list[str]]:
    """The medians beside their runs and, on SQLite, their targets; the failures."""
    header = ["Figure", "Median", "Runs"] + (["Target", "Result"] if with_targets else [])
    rows, failures = [], []
    for key, values in found.items():
        value = median(values)
        row = [labels[key], f"**{seconds(value)}**", " / ".join(seconds(v) for v in values)]
        target = targets.get(key)
        if with_targets and target is None:
            row += ["", ""]
        elif with_targets:
            ok = value <= target
            row += [f"≤ {target:.0f} s", "PASS" if ok else "**FAIL**"]
            if not ok:
                failures.append(f"{labels[key]}: {value:.2f} s, target ≤ {target:.0f} s")
        rows.append(row)
    return table(header, rows), failures


def timed_section(
    *,
    name: str,
    title: str,
    options: Options,
    measure: Measure,
    labels: dict[str, str],
    targets: dict[str, float | None],
    intro: Callable[[Any, str | None], list[str]],
) -> Section:
    """Run ``measure`` on SQLite, then on PostgreSQL when there is a server, and write the
    section: ``intro(counts, postgres_version)`` first, then the two tables."""
    print(f"{title}: {options.runs} run(s) on SQLite")
    sqlite, counts = measure("SQLite", options.runs, sqlite_env)
    sqlite_table, failures = figures_table(sqlite, labels, targets, with_targets=True)
    server = postgres_server() if options.postgres else None
    version = postgres_version(server) if server else None
    lines = [*intro(counts, version), "", "### SQLite", "", sqlite_table, "", "### PostgreSQL", ""]
    if server:
        print(f"{title}: {options.runs} run(s) on PostgreSQL {version}")

        def database() -> AbstractContextManager[dict[str, str]]:
            return postgres_env(server)

        postgres, _ = measure("PostgreSQL", options.runs, database)
        lines += [
            f"PostgreSQL {version}, a fresh database per run. Informational: no targets.",
            "",
            figures_table(postgres, labels, targets, with_targets=False)[0],
        ]
    else:
        lines.append("Not measured: run without `--no-postgres`, with a server that starts.")
    return Section(name=name, title=title, markdown="\n".join(lines), failures=failures)
