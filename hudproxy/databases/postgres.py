"""Pattern 2: every run works inside a Postgres transaction that is rolled back when the run ends.

`PostgresRollback(dsn)` keeps a small asyncpg pool. `async with db.run() as conn:` takes a connection, opens a
transaction on it and hands it to the run; the tools of that run use that connection. When the block ends, by
returning, raising or being cancelled, the transaction is rolled back and the connection goes back to the pool,
so nothing the run wrote survives and no other run ever saw it (uncommitted rows are private to their
transaction).

    async with PostgresRollback("postgresql://app:pw@127.0.0.1/app_test") as db:
        await seed(db, "fixtures/shop.yaml")          # the committed baseline every run starts from
        async with db.run() as conn:
            await conn.execute("UPDATE orders SET status = 'shipped'")
        # the update is gone

Rules for code inside a run:

- never COMMIT or ROLLBACK itself (`conn.execute("COMMIT")`): that ends the run's transaction, and whatever it
  wrote is committed for good. hudproxy notices at the end of the run and raises IsolationError.
  A nested `async with conn.transaction():` is fine: inside a run it becomes a savepoint.
- TRUNCATE, ALTER and other DDL inside a run lock their table until the run ends, so concurrent runs touching
  that table wait; seed and migrate the baseline once, outside runs (`seed(db, ...)`, `db.committed()`).
- runs writing the same unique key wait for one another (row locks), as any two transactions do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from hudproxy.databases.errors import DatabaseError, IsolationError
from hudproxy.databases.protocol import run_scope

PgConnection: TypeAlias = PoolConnectionProxy


class PostgresRollback:
    """Per-run Postgres connections whose every write is rolled back when the run ends."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 0,
        max_size: int = 10,
        acquire_timeout: float | None = None,
        **connect_kwargs: Any,
    ) -> None:
        """`max_size` caps concurrent runs; others wait for a connection (up to `acquire_timeout` seconds).

        `connect_kwargs` go to `asyncpg.create_pool` (e.g. `server_settings={"search_path": "shop"}`).
        """
        self.dsn = dsn
        self.max_size = max_size
        self.acquire_timeout = acquire_timeout
        self._pool_kwargs = {"min_size": min_size, "max_size": max_size, **connect_kwargs}
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self._runs: dict[int, tuple[PgConnection, Transaction, asyncpg.Pool]] = {}

    async def open(self) -> None:
        """Create the pool now (otherwise the first run does); a server that cannot be reached raises here."""
        await self._get_pool()

    async def aclose(self) -> None:
        """Close the pool, waiting for runs still holding a connection to give it back."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def run(self) -> AbstractAsyncContextManager[PgConnection]:
        """`async with db.run() as conn:` a connection in a transaction that is rolled back however the block ends."""
        return run_scope(self)

    async def acquire(self) -> PgConnection:
        """RunDatabase: a pooled connection with a transaction open; give it back with `release`."""
        pool = await self._get_pool()
        try:
            conn = await pool.acquire(timeout=self.acquire_timeout)
        except TimeoutError as exc:
            raise DatabaseError(
                f"no Postgres connection was free within {self.acquire_timeout}s ({self.max_size} runs at once at "
                "most): raise max_size or acquire_timeout"
            ) from exc
        try:
            transaction = conn.transaction()
            await transaction.start()
        except BaseException:
            await pool.release(conn)
            raise
        self._runs[id(conn)] = (conn, transaction, pool)
        return conn

    async def release(self, handle: PgConnection) -> None:
        """RunDatabase: roll back everything the run did and return the connection to the pool.

        Raises IsolationError (after cleaning up) when the run had already ended its transaction itself.
        """
        _, transaction, pool = self._runs.pop(id(handle))
        still_open = handle.is_in_transaction()
        try:
            await transaction.rollback()
        except BaseException:
            handle.terminate()  # a connection we cannot roll back must not serve another run
            raise
        finally:
            await pool.release(handle)
        if not still_open:
            raise IsolationError(
                "a run ended its own transaction (COMMIT or ROLLBACK inside db.run()): what it wrote before "
                "that may have been committed; use `async with conn.transaction():` (a savepoint) instead"
            )

    @asynccontextmanager
    async def committed(self) -> AsyncIterator[PgConnection]:
        """A pool connection outside any run, in autocommit: for schema setup and the baseline every run sees."""
        pool = await self._get_pool()
        async with pool.acquire(timeout=self.acquire_timeout) as conn:
            yield conn

    async def __aenter__(self) -> PostgresRollback:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(self.dsn, **self._pool_kwargs)
        return self._pool

    def __repr__(self) -> str:
        return f"<PostgresRollback max_size={self.max_size} runs={len(self._runs)}>"
