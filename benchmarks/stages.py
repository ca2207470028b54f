"""Where an import's time goes: the receivables import run in-process, stage by stage.

A profiling aid, not a benchmark (``python -m benchmarks`` does not run it)::

    python -m benchmarks.stages                      # SQLite, 1,000,000 rows
    python -m benchmarks.stages --postgres --rows 200000
    python -m benchmarks.stages --cprofile /tmp/prof # also one .prof file per import

On a fresh scratch database it imports the first snapshot, the same again and the next
day's, timing the import's stages by wrapping the functions that implement them (the
service's private helpers, the bulk writes per table, the summary query, the commit). Each
stage's figure is its own time, without the wrapped stages it calls; "rest of ..." is what
the enclosing function does itself (polars joins and comparisons, glue). Interpreter and
Django start-up are not included: compare ``python -m benchmarks`` figures with these plus
about half a second. Wrappers whose function no longer exists are skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks import common
from benchmarks.receivables_data import snapshots


class Stages:
    """Self time per stage label, with a stack so that nested stages are not counted twice."""

    def __init__(self) -> None:
        self.own: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.stack: list[list[float]] = []  # per open stage: [children's time]

    @contextlib.contextmanager
    def stage(self, label: str) -> Iterator[None]:
        self.stack.append([0.0])
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            children = self.stack.pop()[0]
            self.own[label] = self.own.get(label, 0.0) + elapsed - children
            self.calls[label] = self.calls.get(label, 0) + 1
            if self.stack:
                self.stack[-1][0] += elapsed

    def wrap(self, owner: Any, name: str, label: str | Callable[..., str]) -> None:
        original = getattr(owner, name, None)
        if original is None or getattr(original, "_stage_wrapped", False):
            return

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            text = label(*args, **kwargs) if callable(label) else label
            with self.stage(text):
                return original(*args, **kwargs)

        wrapper._stage_wrapped = True  # type: ignore[attr-defined]
        setattr(owner, name, wrapper)

    def reset(self) -> None:
        self.own.clear()
        self.calls.clear()


def _table_label(verb: str) -> Callable[..., str]:
    def label(table: str, *args: Any, **kwargs: Any) -> str:
        return f"{verb} {table}"

    return label


def _fetch_label(sql: str, *args: Any, **kwargs: Any) -> str:
    found = re.search(r"\bFROM\s+\"?(\w+)", sql, re.IGNORECASE)
    return f"fetch rows from {found.group(1) if found else '?'} (SELECT, fetchall)"


def _instrument(stages: Stages) -> None:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from incassa.core import bulk
    from incassa.ledger import parsing, services

    wraps: list[tuple[Any, str, str | Callable[..., str]]] = [
        (services, "receivables_import", "rest of receivables_import (run record, checks)"),
        (services, "file_checksum", "checksum (sha256 of the file)"),
        (parsing, "read_receivables", "parse and validate (parsing.read_receivables)"),
        (services, "_check_lengths", "length checks"),
        (services, "_protected_keys", "protected keys"),
        (services, "_apply_receivables", "rest of _apply_receivables (polars diff, glue)"),
        (services, "_upsert_customers", "rest of _upsert_customers (polars)"),
        (services, "_load_items", "rest of _load_items (rows to frame)"),
        (services, "_file_items", "file items (join customer ids)"),
        (services, "_drop_protected", "drop protected"),
        (services, "_write_events", "rest of _write_events"),
        (services, "_finish_run", "finish run (save ImportRun)"),
        (services, "ledger_summary", "ledger summary query"),
        (bulk, "fetch_rows", _fetch_label),
        (bulk, "fetch_frame", "rest of bulk.fetch_frame (rows to frame)"),
        (bulk, "insert_rows", _table_label("insert")),
        (bulk, "update_rows", _table_label("update")),
        (bulk, "reserve_ids", "reserve ids"),
        (bulk, "lock_for_writing", "lock"),
        (BaseDatabaseWrapper, "commit", "commit"),
    ]
    for owner, name, label in wraps:
        stages.wrap(owner, name, label)


def _print(title: str, stages: Stages, total: float) -> None:
    print(f"\n{title}: {total:.2f} s in-process")
    counted = 0.0
    for label, own in sorted(stages.own.items(), key=lambda item: -item[1]):
        counted += own
        calls = stages.calls[label]
        print(f"  {own:7.2f} s {own / total:6.1%}  {label}" + (f" (x{calls})" if calls > 1 else ""))
    rest = total - counted
    print(f"  {rest:7.2f} s {rest / total:6.1%}  outside the wrapped stages")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL, not SQLite")
    parser.add_argument("--cprofile", type=Path, help="write DIR/<import>.prof for each import")
    args = parser.parse_args(argv)
    data = snapshots(rows=args.rows, customers=max(1, args.rows // 10))

    with contextlib.ExitStack() as stack:
        stack.enter_context(common.exclusive())
        scratch = stack.enter_context(common.scratch_dir())
        os.environ["INCASSA_VAR_DIR"] = str(scratch / "var")
        if args.postgres:
            server = common.postgres_server()
            if server is None:
                raise SystemExit("PostgreSQL is not available")
            os.environ["DATABASE_URL"] = stack.enter_context(common.postgres_database(server))
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{scratch / 'stages.sqlite3'}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "incassa.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from incassa.ledger import services
        from incassa.ledger.models import Company

        call_command("migrate", verbosity=0, interactive=False)
        company = Company.objects.create(code="bench", name="Benchmark S.r.l.")
        stages = Stages()
        _instrument(stages)
        steps = [
            ("first", data.first, data.first_as_of),
            ("reimport", data.first, data.first_as_of),
            ("next_day", data.next_day, data.next_as_of),
        ]
        for name, path, as_of in steps:
            stages.reset()
            profile = cProfile.Profile() if args.cprofile else None
            started = time.perf_counter()
            if profile:
                profile.enable()
            result = services.receivables_import(company=company, path=path, as_of=as_of)
            if profile:
                profile.disable()
            total = time.perf_counter() - started
            counts = result.as_dict()
            _print(
                f"{name} ({path.name}, created {counts['created']}, updated "
                f"{counts['updated']}, closed {counts['closed']}, unchanged "
                f"{counts['unchanged']})",
                stages,
                total,
            )
            if profile and args.cprofile:
                args.cprofile.mkdir(parents=True, exist_ok=True)
                profile.dump_stats(args.cprofile / f"{name}.prof")
        connection.close()


if __name__ == "__main__":
    main(sys.argv[1:])
