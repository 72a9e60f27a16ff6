"""seed(): empty the named tables, insert fixture rows in a fixed order; the same on SQLite and Postgres."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hudproxy.databases import FixtureError, PostgresRollback, SqliteTemplate, load_fixtures, seed, seed_sqlite

SQLITE_SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, born TEXT, tags TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), status TEXT NOT NULL);
INSERT INTO users (name) VALUES ('stale-1'), ('stale-2'), ('stale-3');
"""

PG_SCHEMA = """
CREATE TABLE users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, born date, tags jsonb);
CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users(id), status text NOT NULL);
CREATE TABLE audit (order_id int REFERENCES orders(id));
INSERT INTO users (name) VALUES ('stale-1'), ('stale-2'), ('stale-3');
INSERT INTO orders (user_id, status) VALUES (1, 'stale');
INSERT INTO audit VALUES (1);
"""

USERS_YAML = """
users:
  - {id: 10, name: ada, born: 1815-12-10, tags: [math]}
  - {id: 11, name: grace}
  - {id: 12, name: linus, tags: {kernel: true}}
"""

ORDERS_JSON = {"orders": [{"id": 7, "user_id": 10, "status": "pending"}, {"user_id": 11, "status": "shipped"}]}


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    users, orders = tmp_path / "users.yaml", tmp_path / "orders.json"
    users.write_text(USERS_YAML)
    orders.write_text(json.dumps(ORDERS_JSON))
    return [users, orders]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- loading --------------------------------------------------------------------------------------------------


def test_the_plan_keeps_file_table_and_row_order(files: list[Path], tmp_path: Path) -> None:
    more = write(tmp_path, "more.yaml", "orders:\n  - {status: late}\nusers: []\n")
    plan = load_fixtures([*files, more])
    assert [(Path(e.source).name, e.table, len(e.rows)) for e in plan] == [
        ("users.yaml", "users", 3),
        ("orders.json", "orders", 2),
        ("more.yaml", "orders", 1),
        ("more.yaml", "users", 0),
    ]
    assert [r["name"] for r in plan[0].rows] == ["ada", "grace", "linus"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        pytest.param("a.yaml", "- 1\n- 2\n", "a.yaml: expected a mapping of table name", id="not-a-mapping"),
        pytest.param("a.yaml", "users: {name: x}\n", "a.yaml: table 'users': expected a list of rows", id="rows-dict"),
        pytest.param("a.yaml", "users:\n  - {name: a}\n  - x\n", "table 'users': row 1: expected a mapping", id="row"),
        pytest.param("a.yaml", "users:\n  - {name: a\n", "a.yaml: line 3: not valid YAML", id="bad-yaml"),
        pytest.param("a.json", '{"users": [}', "a.json: line 1: not valid JSON", id="bad-json"),
        pytest.param("a.csv", "x", "unknown fixture format", id="bad-suffix"),
    ],
)
def test_malformed_fixtures_name_the_file_and_table(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(FixtureError, match=message.replace("(", r"\(")):
        load_fixtures(write(tmp_path, name, text))


def test_a_missing_fixture_file(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="cannot read the fixture file"):
        load_fixtures(tmp_path / "nope.yaml")


# --- SQLite ---------------------------------------------------------------------------------------------------


def sqlite_db() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(SQLITE_SCHEMA)
    return conn


def dump(conn: sqlite3.Connection) -> list[list[tuple]]:
    return [conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in ("users", "orders")]


def test_sqlite_seeding_truncates_and_inserts_in_order(files: list[Path]) -> None:
    conn = sqlite_db()
    seed_sqlite(conn, files)
    assert dump(conn) == [
        [(10, "ada", "1815-12-10", '["math"]'), (11, "grace", None, None), (12, "linus", None, '{"kernel": true}')],
        [(7, 10, "pending"), (8, 11, "shipped")],
    ]


def test_sqlite_seeding_is_deterministic_and_restarts_autoincrement(files: list[Path]) -> None:
    first, second = sqlite_db(), sqlite_db()
    seed_sqlite(first, files)
    first.execute("INSERT INTO users (name) VALUES ('extra')")
    seed_sqlite(first, files)  # again, over its own earlier rows and more
    seed_sqlite(second, files)
    assert dump(first) == dump(second)
    first.execute("INSERT INTO users (name) VALUES ('next')")
    assert first.execute("SELECT id FROM users WHERE name = 'next'").fetchone() == (13,)


def test_sqlite_seeding_works_in_an_open_transaction_and_through_seed() -> None:
    conn = sqlite3.connect(":memory:")  # Python's default: DML opens a transaction
    conn.executescript(SQLITE_SCHEMA)
    conn.execute("INSERT INTO users (name) VALUES ('pending')")
    asyncio.run(seed(conn, {"users": [{"name": "only"}]}))
    conn.rollback()
    assert conn.execute("SELECT name FROM users").fetchall() == [("stale-1",), ("stale-2",), ("stale-3",)]


def test_seeding_a_template_seeds_every_later_copy(files: list[Path]) -> None:
    template = SqliteTemplate.from_sql(SQLITE_SCHEMA, fixtures=files)
    with template.run_sync() as conn:
        assert dump(conn)[1] == [(7, 10, "pending"), (8, 11, "shipped")]
    seed_sqlite(template, {"orders": []})
    with template.run_sync() as conn:
        assert dump(conn)[1] == []


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        pytest.param({"nope": [{"a": 1}]}, "<fixtures>: table 'nope': no such table: nope", id="unknown-table"),
        pytest.param({"users": [{"name": "a"}, {"nam": "b"}]}, "'users': row 1: table users has no column", id="col"),
        pytest.param({"users": [{"born": "x"}]}, "table 'users': row 0: NOT NULL constraint failed", id="constraint"),
        pytest.param({"users": [{"name": {1, 2}}]}, "table 'users': row 0: Error binding parameter", id="bad-value"),
    ],
)
def test_sqlite_seeding_errors_leave_the_database_as_it_was(fixture: dict[str, Any], message: str) -> None:
    conn = sqlite_db()
    before = dump(conn)
    with pytest.raises(FixtureError, match=message):
        seed_sqlite(conn, fixture)
    assert dump(conn) == before


# --- Postgres -------------------------------------------------------------------------------------------------


def with_pg(pg: Any, scenario: Any) -> Any:
    async def main() -> Any:
        async with pg.db() as db:
            async with db.committed() as conn:
                await conn.execute(PG_SCHEMA)
            return await scenario(db)

    return asyncio.run(main())


async def pg_dump(conn: Any) -> list[list[tuple]]:
    return [
        [tuple(r.values()) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY id")] for t in ("users", "orders")
    ]


PG_SEEDED = [
    [(10, "ada", __import__("datetime").date(1815, 12, 10), '["math"]'), (11, "grace", None, None),
     (12, "linus", None, '{"kernel": true}')],
    [(7, 10, "pending"), (8, 11, "shipped")],
]  # fmt: skip


def test_postgres_seeding_commits_a_baseline_every_run_starts_from(pg: Any, files: list[Path]) -> None:
    async def scenario(db: PostgresRollback) -> None:
        await seed(db, files)
        await seed(db, {})  # nothing named, nothing touched
        async with db.run() as conn:
            assert await pg_dump(conn) == PG_SEEDED
            assert await conn.fetchval("SELECT count(*) FROM audit") == 0  # CASCADE emptied the referencing table
            await conn.execute("DELETE FROM orders")
        async with db.committed() as conn:
            assert await pg_dump(conn) == PG_SEEDED

    with_pg(pg, scenario)


def test_postgres_counters_continue_after_the_fixture_ids(pg: Any, files: list[Path]) -> None:
    async def scenario(db: PostgresRollback) -> list[int]:
        await seed(db, files)
        await seed(db, files)  # twice: RESTART IDENTITY, then past the fixture ids again
        async with db.run() as conn:
            user = await conn.fetchval("INSERT INTO users (name) VALUES ('new') RETURNING id")
            order = await conn.fetchval("INSERT INTO orders (status) VALUES ('new') RETURNING id")
        return [user, order]

    assert with_pg(pg, scenario) == [13, 9]


def test_postgres_seeding_inside_a_run_is_rolled_back_with_it(pg: Any, files: list[Path]) -> None:
    async def scenario(db: PostgresRollback) -> None:
        await seed(db, files)
        async with db.run() as conn:
            await seed(conn, {"orders": [{"id": 1, "user_id": 12, "status": "run's own"}]})
            assert (await pg_dump(conn))[1] == [(1, 12, "run's own")]
        async with db.committed() as conn:
            assert await pg_dump(conn) == PG_SEEDED

    with_pg(pg, scenario)


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        pytest.param({"users": [], "nope": [{"a": 1}]}, "<fixtures>: table 'nope': no such table", id="unknown-table"),
        pytest.param({"users": [{"name": "a", "nam": "b"}]}, "table 'users': column \"nam\" of relation", id="col"),
        pytest.param({"users": [{"name": "a", "born": "soon"}]}, "table 'users': invalid input syntax", id="type"),
        pytest.param({"orders": [{"user_id": 99, "status": "x"}]}, "table 'orders': .*foreign key", id="fk"),
        pytest.param({"users": [{"name": object()}]}, "table 'users': .*object", id="bad-value"),
    ],
)
def test_postgres_seeding_errors_leave_the_database_as_it_was(pg: Any, fixture: dict, message: str) -> None:
    async def scenario(db: PostgresRollback) -> None:
        async with db.committed() as conn:
            before = await pg_dump(conn)
        with pytest.raises(FixtureError, match=message):
            await seed(db, fixture)
        async with db.committed() as conn:
            assert await pg_dump(conn) == before

    with_pg(pg, scenario)


def test_seed_refuses_what_it_cannot_seed() -> None:
    with pytest.raises(TypeError, match="cannot seed a dict"):
        asyncio.run(seed({}, {}))  # type: ignore[arg-type]
