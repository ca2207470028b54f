"""The floor of an import: the least any import of a file can cost on this machine.

Read the file with polars (every column as text) and insert all its rows, in one
transaction, into a bare table of a fresh database with the import's natural key as a unique
constraint. Nothing is parsed, validated, compared or recorded. Run as a subprocess so that
its wall-clock time and peak memory compare with the ``incassa`` command's (both start a
Python interpreter and import polars)::

    python -m benchmarks.floor sqlite FILE.csv DB.sqlite3
    python -m benchmarks.floor postgres FILE.csv postgres://...

It prints one JSON object: rows, read_seconds, write_seconds.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

import polars as pl

KEY = ("Codice cliente", "Numero documento", "Data scadenza")
# The pragmas Incassa's settings give every SQLite connection, so that the floor differs
# from the import by the work done and not by the configuration.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-200000",
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ddl(columns: list[str]) -> str:
    body = ", ".join(f"{_quote(c)} TEXT" for c in columns)
    key = ", ".join(_quote(c) for c in KEY)
    return f"CREATE TABLE receivables ({body}, UNIQUE ({key}))"


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, separator=";", infer_schema=False)


def to_sqlite(frame: pl.DataFrame, database: Path) -> None:
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        for pragma in SQLITE_PRAGMAS:
            connection.execute(pragma)
        connection.execute(_ddl(frame.columns))
        placeholders = ", ".join("?" for _ in frame.columns)
        connection.execute("BEGIN")
        connection.executemany(
            f"INSERT INTO receivables VALUES ({placeholders})", frame.iter_rows()
        )
        connection.execute("COMMIT")
    finally:
        connection.close()


def to_postgres(frame: pl.DataFrame, url: str) -> None:
    import psycopg

    columns = ", ".join(_quote(c) for c in frame.columns)
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(_ddl(frame.columns))
        with cursor.copy(f"COPY receivables ({columns}) FROM STDIN") as copy:
            for row in frame.iter_rows():
                copy.write_row(row)
        # The connection's context commits the one transaction.


def main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[0] not in {"sqlite", "postgres"}:
        raise SystemExit("usage: python -m benchmarks.floor sqlite|postgres FILE TARGET")
    backend, path, target = argv
    started = time.perf_counter()
    frame = read(Path(path))
    read_done = time.perf_counter()
    if backend == "sqlite":
        to_sqlite(frame, Path(target))
    else:
        to_postgres(frame, target)
    finished = time.perf_counter()
    result = {
        "rows": frame.height,
        "read_seconds": round(read_done - started, 3),
        "write_seconds": round(finished - read_done, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
