"""Pattern 3: put a database in a known state from YAML/JSON row fixtures, the same way on both backends.

`seed` empties the tables the fixtures name and inserts their rows, deterministically: tables are emptied
together, rows go in in the order given (files in list order, tables and rows in file order; list parent
tables before the tables that reference them). Identity/serial counters restart, then move past the ids the
fixtures set, so a run's own INSERT gets the next free id. Everything happens in one transaction: a bad fixture
leaves the database as it was, and the error names the file and table.

    seed_sqlite(conn, "fixtures/shop.yaml")               # sqlite3.Connection or SqliteTemplate, sync
    await seed(db, ["fixtures/users.yaml", "fixtures/orders.json"])   # any backend

Seeding a PostgresRollback commits the baseline every later run starts from; seeding a run's connection is
rolled back with the run (and, since TRUNCATE locks its tables, makes concurrent runs on them wait).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hudproxy.databases.errors import FixtureError
from hudproxy.databases.fixtures import Fixtures, TableRows, group_by_columns, load_fixtures, quote_name, table_names
from hudproxy.databases.postgres import PostgresRollback
from hudproxy.databases.sqlite import SqliteTemplate

SeedTarget = sqlite3.Connection | SqliteTemplate | PostgresRollback | asyncpg.Connection | PoolConnectionProxy


async def seed(target: SeedTarget, fixtures: Fixtures) -> None:
    """Seed any backend: a SQLite connection or template, a PostgresRollback (committed), or an asyncpg connection."""
    if isinstance(target, sqlite3.Connection | SqliteTemplate):
        seed_sqlite(target, fixtures)
    elif isinstance(target, PostgresRollback):
        async with target.committed() as conn:
            await seed_postgres(conn, fixtures)
    elif isinstance(target, asyncpg.Connection | PoolConnectionProxy):
        await seed_postgres(target, fixtures)
    else:
        raise TypeError(f"seed() cannot seed a {type(target).__name__}: pass a sqlite3 or asyncpg connection")


def seed_sqlite(target: sqlite3.Connection | SqliteTemplate, fixtures: Fixtures) -> None:
    """Empty the named tables and insert the fixture rows into a SQLite database (a template seeds its copies)."""
    plan = load_fixtures(fixtures)
    if isinstance(target, SqliteTemplate):
        with target.template_connection() as conn:
            _seed_sqlite(conn, plan)
    else:
        _seed_sqlite(target, plan)


async def seed_postgres(conn: asyncpg.Connection | PoolConnectionProxy, fixtures: Fixtures) -> None:
    """Truncate the named tables (RESTART IDENTITY CASCADE) and insert the fixture rows, in one transaction."""
    plan = load_fixtures(fixtures)
    if not plan:
        return
    async with conn.transaction():  # a savepoint when `conn` is a run's connection
        await _check_pg_tables(conn, plan)
        await conn.execute(f"TRUNCATE {', '.join(map(quote_name, table_names(plan)))} RESTART IDENTITY CASCADE")
        for entry in plan:
            await _insert_pg(conn, entry)


# --- SQLite ---------------------------------------------------------------------------------------------------


def _seed_sqlite(conn: sqlite3.Connection, plan: Sequence[TableRows]) -> None:
    conn.execute("SAVEPOINT hudproxy_seed")  # works in autocommit and inside an open transaction alike
    try:
        _truncate_sqlite(conn, plan)
        for entry in plan:
            _insert_sqlite(conn, entry)
    except BaseException:
        conn.execute("ROLLBACK TO hudproxy_seed")
        conn.execute("RELEASE hudproxy_seed")
        raise
    conn.execute("RELEASE hudproxy_seed")


def _truncate_sqlite(conn: sqlite3.Connection, plan: Sequence[TableRows]) -> None:
    has_sequences = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    for name in reversed(table_names(plan)):  # referencing tables (listed later) are emptied first
        try:
            conn.execute(f"DELETE FROM {quote_name(name)}")
        except sqlite3.Error as exc:
            raise FixtureError(_first_source(plan, name), str(exc), table=name) from exc
        if has_sequences:
            conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name.rsplit(".", 1)[-1],))


def _insert_sqlite(conn: sqlite3.Connection, entry: TableRows) -> None:
    for index, row in enumerate(entry.rows):
        columns = ", ".join(map(quote_name, row))
        marks = ", ".join("?" * len(row))
        try:
            conn.execute(f"INSERT INTO {quote_name(entry.table)} ({columns}) VALUES ({marks})", _sqlite_values(row))
        except (sqlite3.Error, TypeError) as exc:
            raise FixtureError(entry.source, f"row {index}: {exc}", table=entry.table) from exc


def _sqlite_values(row: dict[str, Any]) -> list[Any]:
    """Values SQLite stores as they are; JSON for lists and mappings, ISO text for dates, text for decimals."""
    values: list[Any] = []
    for value in row.values():
        if isinstance(value, dict | list):
            value = json.dumps(value, default=_json_default)  # a TypeError here is caught as a bad row
        elif isinstance(value, dt.datetime):
            value = value.isoformat(" ")
        elif isinstance(value, dt.date | dt.time | Decimal | UUID):
            value = str(value)
        values.append(value)
    return values


# --- Postgres -------------------------------------------------------------------------------------------------


async def _check_pg_tables(conn: Any, plan: Sequence[TableRows]) -> None:
    names = table_names(plan)
    found = await conn.fetch(
        "SELECT to_regclass(t)::text AS oid FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i",
        [quote_name(name) for name in names],
    )
    for name, record in zip(names, found, strict=True):
        if record["oid"] is None:
            raise FixtureError(_first_source(plan, name), "no such table in the database", table=name)


async def _insert_pg(conn: Any, entry: TableRows) -> None:
    """One INSERT per run of rows with the same columns; Postgres converts JSON values to the column types.

    After each INSERT the table's counters move past the ids it set, so a later row without an id gets the next
    free one (as in SQLite) instead of colliding with a fixture id.
    """
    table = quote_name(entry.table)
    sequences = await _sequences(conn, table)
    for columns, rows in group_by_columns(entry.rows):
        listed = ", ".join(map(quote_name, columns))
        sql = (
            f"INSERT INTO {table} ({listed}) OVERRIDING SYSTEM VALUE "
            f"SELECT {listed} FROM json_populate_recordset(NULL::{table}, $1::json)"
        )
        try:
            await conn.execute(sql, json.dumps(rows, default=_json_default))
            for column, sequence in sequences.items():
                if column in columns:
                    await _advance(conn, table, column, sequence)
        except (asyncpg.PostgresError, TypeError) as exc:
            raise FixtureError(entry.source, _pg_reason(exc), table=entry.table) from exc


async def _sequences(conn: Any, table: str) -> dict[str, str]:
    """Column → the serial/identity sequence that feeds it."""
    records = await conn.fetch(
        "SELECT attname, pg_get_serial_sequence($1::text, attname) AS seq FROM pg_attribute "
        "WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
        table,
    )
    return {r["attname"]: r["seq"] for r in records if r["seq"] is not None}


async def _advance(conn: Any, table: str, column: str, sequence: str) -> None:
    """Move `sequence` forward to the largest id in `column`, if its next value would not be past it."""
    name = quote_name(column)
    await conn.execute(
        f"SELECT setval($1::text::regclass, m) FROM (SELECT max({name}) AS m FROM {table}) AS t, {sequence} AS s "
        "WHERE m >= s.last_value + CASE WHEN s.is_called THEN 1 ELSE 0 END",
        sequence,
    )


def _pg_reason(exc: Exception) -> str:
    detail = getattr(exc, "detail", None)
    return f"{exc}" + (f" ({detail})" if detail else "")


# --- shared ---------------------------------------------------------------------------------------------------


def _first_source(plan: Sequence[TableRows], name: str) -> str:
    return next(entry.source for entry in plan if entry.table == name)


def _json_default(value: Any) -> Any:
    """JSON for the values YAML produces beyond JSON's own (dates) and a few common Python types."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()  # Postgres' bytea hex input
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"cannot store a {type(value).__name__} from a fixture")
