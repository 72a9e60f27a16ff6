"""PostgresRollback on a real server: a run's writes never outlive it and no other run ever sees them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hudproxy.databases import DatabaseError, IsolationError, PostgresRollback, RunDatabase, protocol

SCHEMA = "CREATE TABLE notes (id serial PRIMARY KEY, run int NOT NULL, body text NOT NULL)"


def run_with(pg: Any, scenario: Callable[[PostgresRollback], Awaitable[Any]], **kwargs: Any) -> Any:
    """Open a PostgresRollback on the test's schema, create `notes`, run the scenario, close."""

    async def main() -> Any:
        async with pg.db(**kwargs) as db:
            async with db.committed() as conn:
                await conn.execute(SCHEMA)
            return await scenario(db)

    return asyncio.run(main())


async def count(db: PostgresRollback) -> int:
    """Committed rows in `notes`, as a fresh connection outside any run sees them."""
    async with db.committed() as conn:
        return await conn.fetchval("SELECT count(*) FROM notes")


def test_nothing_a_run_wrote_survives_it(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> tuple[int, int]:
        async with db.run() as conn:
            await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'a'), (1, 'b')")
            inside = await conn.fetchval("SELECT count(*) FROM notes")
        return inside, await count(db)

    assert run_with(pg, scenario) == (2, 0)


def test_concurrent_runs_never_see_each_others_writes(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> int:
        written, read = asyncio.Event(), asyncio.Event()

        async def run_a() -> None:
            async with db.run() as conn:
                await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'from A')")
                written.set()
                await read.wait()  # A's transaction is still open while B reads

        async def run_b() -> int:
            await written.wait()
            async with db.run() as conn:
                seen = await conn.fetchval("SELECT count(*) FROM notes")
            read.set()
            return seen

        _, seen_by_b = await asyncio.gather(run_a(), run_b())
        return seen_by_b

    assert run_with(pg, scenario) == 0


def test_a_run_that_raises_is_rolled_back(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> int:
        with pytest.raises(RuntimeError, match="tool failed"):
            async with db.run() as conn:
                await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'a')")
                raise RuntimeError("tool failed")
        return await count(db)

    assert run_with(pg, scenario) == 0


@pytest.mark.parametrize("waiting_in", ["asyncio", "a-query"])
def test_a_cancelled_run_is_rolled_back(pg: Any, waiting_in: str) -> None:
    async def scenario(db: PostgresRollback) -> int:
        written = asyncio.Event()

        async def body() -> None:
            async with db.run() as conn:
                await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'a')")
                written.set()
                if waiting_in == "asyncio":
                    await asyncio.sleep(30)
                else:
                    await conn.execute("SELECT pg_sleep(30)")

        task = asyncio.create_task(body())
        await written.wait()
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return await count(db)

    assert run_with(pg, scenario) == 0


def test_a_second_cancellation_during_release_still_rolls_back(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> int:
        written = asyncio.Event()

        async def body() -> None:
            async with db.run() as conn:
                await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'a')")
                written.set()
                await asyncio.sleep(30)

        task = asyncio.create_task(body())
        await written.wait()
        task.cancel()
        await asyncio.sleep(0)  # the task is now releasing
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert protocol._background, "the second cancellation should have hit the release"
        async with db.run() as conn:  # max_size=1: this waits for the released connection
            assert await conn.fetchval("SELECT count(*) FROM notes") == 0
        return await count(db)

    assert run_with(pg, scenario, max_size=1) == 0


def test_200_concurrent_runs_with_disjoint_writes_and_no_cross_reads(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> tuple[list[list[int]], int]:
        async def one_run(run: int) -> list[int]:
            async with db.run() as conn:
                await conn.executemany("INSERT INTO notes (run, body) VALUES ($1, $2)", [(run, "x"), (run, "y")])
                await asyncio.sleep(0)
                return [r["run"] for r in await conn.fetch("SELECT run FROM notes")]

        seen = await asyncio.gather(*(one_run(run) for run in range(200)))
        return seen, await count(db)

    seen, left = run_with(pg, scenario, max_size=10)
    assert seen == [[run, run] for run in range(200)]
    assert left == 0


def test_a_nested_transaction_is_a_savepoint(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> tuple[int, int]:
        async with db.run() as conn:
            await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'kept for the run')")
            with pytest.raises(ValueError):
                async with conn.transaction():
                    await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'undone by the savepoint')")
                    raise ValueError
            async with conn.transaction():
                await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'released savepoint')")
            inside = await conn.fetchval("SELECT count(*) FROM notes")
        return inside, await count(db)

    assert run_with(pg, scenario) == (2, 0)


def test_a_run_that_commits_itself_is_reported(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> int:
        with pytest.raises(IsolationError, match="ended its own transaction"):
            async with db.run() as conn:
                await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'leaked')")
                await conn.execute("COMMIT")
        assert not db._runs
        async with db.run() as conn:  # the connection came back clean
            assert conn.is_in_transaction()
        return await count(db)

    assert run_with(pg, scenario, max_size=1) == 1


def test_acquire_and_release_by_hand(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> int:
        assert isinstance(db, RunDatabase)
        conn = await db.acquire()
        try:
            await conn.execute("INSERT INTO notes (run, body) VALUES (1, 'a')")
        finally:
            await db.release(conn)
        return await count(db)

    assert run_with(pg, scenario) == 0


def test_waiting_too_long_for_a_connection_is_a_clear_error(pg: Any) -> None:
    async def scenario(db: PostgresRollback) -> None:
        async with db.run():
            with pytest.raises(DatabaseError, match=r"no Postgres connection was free within 0\.1s"):
                async with db.run():
                    pass

    run_with(pg, scenario, max_size=1, acquire_timeout=0.1)
