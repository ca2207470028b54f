"""Set-based writes that bypass the ORM for imports of a million rows.

Django's ``bulk_create`` took 107 s for 1,000,000 rows on these machines; a raw
``executemany`` on SQLite and ``COPY`` on PostgreSQL take a few seconds. These helpers are
the only place that knows the difference between the two databases. Callers pass table
and column names taken from model ``_meta`` and rows as tuples of plain values (int, str,
None): money in cents, dates as ISO strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

import polars as pl
from django.db import connection
from django.db.models import Model

CHUNK = 50_000


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def chunked(rows: Iterable[tuple], size: int = CHUNK) -> Iterable[list[tuple]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def lock_for_writing(model: type[Model]) -> None:
    """Keep other writers of ``model``'s table out until the transaction ends.

    SQLite's IMMEDIATE transactions already hold the database's write lock. PostgreSQL
    takes an EXCLUSIVE table lock, which still lets readers (the web pages) through.
    """
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_quote(model._meta.db_table)} IN EXCLUSIVE MODE")


def prefer_hash_joins() -> None:
    """For the rest of the transaction, join whole tables by hashing, never row by row.

    The engine joins every open item to its progress and action. PostgreSQL plans that from
    its statistics, which lag behind a fresh bulk load (or are absent inside the load's own
    transaction): it then picks nested loops that take seconds on a few thousand rows.
    SQLite needs nothing: it has no such plans to pick.
    """
    if _is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_nestloop = off")


def reserve_ids(model: type[Model], count: int) -> int:
    """Reserve ``count`` consecutive primary keys and return the first.

    Must run inside the import's transaction. On SQLite the IMMEDIATE transaction already
    holds the database's write lock; on PostgreSQL an EXCLUSIVE table lock keeps every
    other insert out while the identity sequence is moved past the block (reads go on).
    """
    table = model._meta.db_table
    lock_for_writing(model)
    with connection.cursor() as cursor:
        if _is_postgres():
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            first = cursor.fetchone()[0]
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
            return first
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_quote(table)}")
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        if row and row[0] and row[0] > highest:
            highest = row[0]
        return highest + 1


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes that can be dropped and built again: not the
    primary key, nor those backing a PostgreSQL constraint."""
    with connection.cursor() as cursor:
        if _is_postgres():
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() AND tablename = %s "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                "WHERE conrelid = %s::regclass)",
                [table, table],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
                [table],
            )
        return list(cursor.fetchall())


def _row_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")
        return cursor.fetchone()[0]


# Building an index once over a sorted table is several times faster than updating it row
# by row: worth it when a load adds more than this share of the table's rows.
REBUILD_SHARE = 0.25
REBUILD_MIN_ROWS = 50_000


def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    on_chunk: Any = None,
    expected: int | None = None,
    constants: Mapping[str, int | str] | None = None,
) -> int:
    """Append rows to ``table``; returns how many were written.

    ``constants`` are columns with the same value in every row: on SQLite they are written
    into the statement instead of being bound a million times. With ``expected`` (how many
    rows are coming), a large load into a comparatively small table drops the table's
    secondary indexes first and builds them again afterwards, in the same transaction.
    """
    rebuild: list[tuple[str, str]] = []
    if expected and expected >= REBUILD_MIN_ROWS and expected >= REBUILD_SHARE * _row_count(table):
        rebuild = _secondary_indexes(table)
        with connection.cursor() as cursor:
            for name, _sql in rebuild:
                cursor.execute(f"DROP INDEX {_quote(name)}")
    written = _insert(table, columns, rows, on_chunk, constants or {})
    if rebuild:
        with connection.cursor() as cursor:
            for _name, sql in rebuild:
                cursor.execute(sql)
            if _is_postgres():
                # Fresh statistics, or the planner treats the table as still empty.
                cursor.execute(f"ANALYZE {_quote(table)}")
    return written


def _literal(value: int | str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"constant {value!r} must be an int or a str")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def _insert(
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    on_chunk: Any,
    constants: Mapping[str, int | str],
) -> int:
    written = 0
    column_list = ", ".join(_quote(c) for c in [*columns, *constants])
    with connection.cursor() as cursor:
        if _is_postgres():
            raw = cursor.cursor
            if constants:
                extra = tuple(constants.values())
                rows = (row + extra for row in rows)
            # Check foreign keys as rows arrive rather than queueing a million deferred
            # trigger events (which also forbid building indexes in this transaction).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for chunk in chunked(rows):
                with raw.copy(f"COPY {_quote(table)} ({column_list}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
                written += len(chunk)
                if on_chunk:
                    on_chunk(len(chunk))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            raw = connection.connection
            values = ", ".join(["?"] * len(columns) + [_literal(v) for v in constants.values()])
            sql = f"INSERT INTO {_quote(table)} ({column_list}) VALUES ({values})"
            for chunk in chunked(rows):
                raw.executemany(sql, chunk)
                written += len(chunk)
                if on_chunk:
                    on_chunk(len(chunk))
    return written


def update_rows(
    table: str,
    columns: Sequence[str],
    rows: Iterable[tuple],
    *,
    key: str = "id",
    on_chunk: Any = None,
) -> int:
    """Set ``columns`` on the rows whose ``key`` is the last value of each tuple."""
    written = 0
    with connection.cursor() as cursor:
        if _is_postgres():
            raw = cursor.cursor
            staging = f"incassa_update_{table}"
            all_columns = [*columns, key]
            column_list = ", ".join(_quote(c) for c in all_columns)
            cursor.execute(f"DROP TABLE IF EXISTS {_quote(staging)}")
            cursor.execute(
                f"CREATE TEMP TABLE {_quote(staging)} ON COMMIT DROP AS "
                f"SELECT {column_list} FROM {_quote(table)} WITH NO DATA"
            )
            assignments = ", ".join(f"{_quote(c)} = s.{_quote(c)}" for c in columns)
            for chunk in chunked(rows):
                cursor.execute(f"TRUNCATE {_quote(staging)}")
                with raw.copy(f"COPY {_quote(staging)} ({column_list}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
                cursor.execute(
                    f"UPDATE {_quote(table)} AS t SET {assignments} FROM {_quote(staging)} AS s "
                    f"WHERE t.{_quote(key)} = s.{_quote(key)}"
                )
                written += len(chunk)
                if on_chunk:
                    on_chunk(len(chunk))
        else:
            raw = connection.connection
            assignments = ", ".join(f"{_quote(c)} = ?" for c in columns)
            sql = f"UPDATE {_quote(table)} SET {assignments} WHERE {_quote(key)} = ?"
            for chunk in chunked(rows):
                raw.executemany(sql, chunk)
                written += len(chunk)
                if on_chunk:
                    on_chunk(len(chunk))
    return written


def fetch_rows(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """All rows of a raw query, for loading a company's ledger into a data frame."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetch_frame(
    sql: str, params: Sequence[Any], schema: Mapping[str, Any], size: int = 100_000
) -> pl.DataFrame:
    """A raw query's rows as a data frame with ``schema`` (its columns in the query's order),
    ``size`` rows at a time: a million rows never exist as Python tuples all at once."""
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            parts.append(pl.DataFrame(rows, schema=dict(schema), orient="row"))
    if not parts:
        return pl.DataFrame(schema=dict(schema))
    return pl.concat(parts, rechunk=True)


def frame_rows(frame: pl.DataFrame, columns: Sequence[str], size: int = 100_000) -> Iterator[tuple]:
    """Rows of ``frame`` as tuples, a slice at a time so that memory stays flat."""
    for start in range(0, frame.height, size):
        part = frame.slice(start, size)
        yield from zip(*(part[c].to_list() for c in columns), strict=True)


def uniform_columns(
    frame: pl.DataFrame, columns: Sequence[str], candidates: Sequence[str]
) -> tuple[list[str], dict[str, int | str]]:
    """Split ``columns`` into those still to bind per row and the ``candidates`` that hold
    one value on every row (the currency of an Italian ledger), to pass as ``constants``."""
    constants: dict[str, int | str] = {}
    for column in candidates:
        values = frame[column].unique()
        if len(values) == 1 and values[0] is not None:
            constants[column] = values[0]
    return [c for c in columns if c not in constants], constants
