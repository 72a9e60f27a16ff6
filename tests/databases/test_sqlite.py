"""SqliteTemplate: the script runs once, every run gets its own copy, the template never changes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from hudproxy.databases import DatabaseError, RunDatabase, SqliteTemplate, SqlScriptError

SHOP_SQL = """
-- The shop: a few orders, and a marker row whose value differs every time the script runs.
CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL, note TEXT);
INSERT INTO orders (status, note) VALUES ('pending', 'semi;colon'), ('shipped', NULL);
CREATE TABLE seeded (value REAL);
INSERT INTO seeded VALUES (random());
CREATE TABLE log (what TEXT);
CREATE TRIGGER orders_log AFTER INSERT ON orders BEGIN
  INSERT INTO log VALUES ('inserted ' || NEW.id);
END;
"""


@pytest.fixture
def template() -> SqliteTemplate:
    with SqliteTemplate.from_sql(SHOP_SQL) as template:
        yield template


def rows(conn: sqlite3.Connection, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def test_a_copy_holds_the_seeded_data_schema_and_triggers(template: SqliteTemplate) -> None:
    with template.run_sync() as conn:
        assert rows(conn, "SELECT id, status, note FROM orders") == [(1, "pending", "semi;colon"), (2, "shipped", None)]
        conn.execute("INSERT INTO orders (status) VALUES ('new')")
        assert rows(conn, "SELECT what FROM log") == [("inserted 3",)]


def test_the_script_runs_once_however_many_copies(template: SqliteTemplate) -> None:
    """`random()` runs only when the script does: every copy seeing the same value means it ran once."""
    values = set()
    for _ in range(50):
        with template.run_sync() as conn:
            values.update(rows(conn, "SELECT value FROM seeded"))
    assert len(values) == 1
    assert len(SqliteTemplate.from_sql(SHOP_SQL).copy().execute("SELECT value FROM seeded").fetchall()) == 1


def test_200_concurrent_runs_see_only_their_own_writes(template: SqliteTemplate) -> None:
    async def one_run(run: int) -> list[tuple]:
        async with template.run() as conn:
            for i in range(3):
                conn.execute("INSERT INTO orders (status, note) VALUES (?, ?)", (f"run-{run}", str(i)))
                await asyncio.sleep(0)  # let the other runs interleave between writes
            return rows(conn, "SELECT status FROM orders WHERE id > 2")

    async def main() -> list[list[tuple]]:
        return await asyncio.gather(*(one_run(run) for run in range(200)))

    seen = asyncio.run(main())
    assert seen == [[(f"run-{run}",)] * 3 for run in range(200)]
    with template.run_sync() as conn:  # and the template is untouched
        assert rows(conn, "SELECT count(*) FROM orders") == [(2,)]
        assert rows(conn, "SELECT count(*) FROM log") == [(0,)]


def test_copies_are_independent_of_each_other(template: SqliteTemplate) -> None:
    a, b = template.copy(), template.copy()
    a.execute("DELETE FROM orders")
    a.commit()
    assert rows(b, "SELECT count(*) FROM orders") == [(2,)]
    assert rows(template.copy(), "SELECT count(*) FROM orders") == [(2,)]


@pytest.mark.parametrize("ending", ["raise", "cancel"])
def test_a_run_closes_its_copy_however_it_ends(template: SqliteTemplate, ending: str) -> None:
    held: list[sqlite3.Connection] = []
    started = asyncio.Event()

    async def body() -> None:
        async with template.run() as conn:
            held.append(conn)
            started.set()
            if ending == "raise":
                raise RuntimeError("tool failed")
            await asyncio.sleep(30)

    async def main() -> None:
        task = asyncio.create_task(body())
        await started.wait()
        if ending == "cancel":
            task.cancel()
        with pytest.raises(asyncio.CancelledError if ending == "cancel" else RuntimeError):
            await task

    asyncio.run(main())
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        held[0].execute("SELECT 1")


def test_a_copy_works_from_a_worker_thread(template: SqliteTemplate) -> None:
    async def main() -> list[tuple]:
        async with template.run() as conn:
            return await asyncio.to_thread(rows, conn, "SELECT count(*) FROM orders")

    assert asyncio.run(main()) == [(2,)]


def test_copies_keep_foreign_key_enforcement() -> None:
    sql = "PRAGMA foreign_keys = ON; CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p REFERENCES p(id));"
    with SqliteTemplate.from_sql(sql).run_sync() as conn, pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO c VALUES (42)")


def test_from_a_file_and_as_a_run_database(tmp_path: Path) -> None:
    path = tmp_path / "shop.sql"
    path.write_text(SHOP_SQL)
    template = SqliteTemplate.from_sql(path)
    assert isinstance(template, RunDatabase)
    assert template.name == str(path)

    async def main() -> int:
        async with template:
            conn = await template.acquire()
            try:
                return conn.execute("SELECT count(*) FROM orders").fetchone()[0]
            finally:
                await template.release(conn)

    assert asyncio.run(main()) == 2
    with pytest.raises(DatabaseError, match="closed"):
        template.copy()


def test_a_failing_statement_names_file_line_and_statement(tmp_path: Path) -> None:
    path = tmp_path / "bad.sql"
    path.write_text("CREATE TABLE a (x);\n\n-- then a typo\nINSERT INTO b\n  VALUES (1);\nSELECT 1;\n")
    with pytest.raises(SqlScriptError) as caught:
        SqliteTemplate.from_sql(path)
    assert (caught.value.source, caught.value.line) == (str(path), 4)
    assert str(caught.value).startswith(f"{path}:4: no such table: b")
    assert "INSERT INTO b\n  VALUES (1);" in str(caught.value)


def test_a_missing_fixture_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SqlScriptError, match="cannot read the SQL fixture"):
        SqliteTemplate.from_sql(tmp_path / "nope.sql")
