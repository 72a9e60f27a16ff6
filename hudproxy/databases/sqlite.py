"""Pattern 1: one in-memory SQLite database seeded once, and a fresh copy of it for every run.

Seeding runs the fixture script exactly once; every run then gets its own in-memory copy made with SQLite's
backup API (page copy, no SQL re-run), so thousands of runs start from the same bytes, cannot see one another,
and leave the template as it was.

    template = SqliteTemplate.from_sql("fixtures/shop.sql", fixtures="fixtures/shop.yaml")
    async with template.run() as conn:      # this run's own copy, closed when the block ends
        conn.execute("UPDATE orders SET status = 'shipped'")

A copy carries the data, schema, triggers and views, and the template's `PRAGMA foreign_keys`; other
per-connection settings (user functions, other pragmas) are not part of a database and must be set per copy.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from types import TracebackType
from typing import Any

from hudproxy.databases.errors import DatabaseError
from hudproxy.databases.fixtures import Fixtures
from hudproxy.databases.protocol import run_scope
from hudproxy.databases.sqlscript import read_source, run_script


class SqliteTemplate:
    """A seeded in-memory database that hands each run a private copy (`copy`, `run`, `run_sync`)."""

    def __init__(self, conn: sqlite3.Connection, *, name: str = "<template>") -> None:
        """Wrap an already seeded connection; it becomes the template's and is closed with it."""
        self.name = name
        self._conn = conn
        self._lock = threading.Lock()  # the backup must not interleave with a seed from another thread
        self._closed = False

    @classmethod
    def from_sql(cls, source: str | os.PathLike[str], *, fixtures: Fixtures | None = None) -> SqliteTemplate:
        """Run a `.sql` fixture (a path, or SQL text) once into a new in-memory database, then seed rows.

        A failing statement raises SqlScriptError naming the file, its line and the statement.
        """
        name, script = read_source(source)
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            run_script(conn, script, name)
            if fixtures is not None:
                from hudproxy.databases.seeding import seed_sqlite

                seed_sqlite(conn, fixtures)
        except BaseException:
            conn.close()
            raise
        return cls(conn, name=name)

    def copy(self, **connect_kwargs: Any) -> sqlite3.Connection:
        """A new in-memory connection holding a copy of the template; the caller owns (and closes) it.

        `connect_kwargs` go to `sqlite3.connect` (e.g. `isolation_level=None`, `detect_types=...`). The copy
        may be used from another thread (`asyncio.to_thread`), but by one run only.
        """
        connect_kwargs.setdefault("check_same_thread", False)
        copy = sqlite3.connect(":memory:", **connect_kwargs)
        try:
            with self._lock:
                self._check_open()
                self._conn.backup(copy)
                foreign_keys = self._conn.execute("PRAGMA foreign_keys").fetchone()[0]
            copy.execute(f"PRAGMA foreign_keys = {int(foreign_keys)}")
        except BaseException:
            copy.close()
            raise
        return copy

    @contextmanager
    def run_sync(self) -> Iterator[sqlite3.Connection]:
        """`with template.run_sync() as conn:` a copy for a synchronous run, closed when the block ends."""
        conn = self.copy()
        try:
            yield conn
        finally:
            conn.close()

    def run(self) -> AbstractAsyncContextManager[sqlite3.Connection]:
        """`async with template.run() as conn:` a copy for this run, closed however the block ends."""
        return run_scope(self)

    async def acquire(self) -> sqlite3.Connection:
        """RunDatabase: a fresh copy."""
        return self.copy()

    async def release(self, handle: sqlite3.Connection) -> None:
        """RunDatabase: drop the copy; nothing of it reaches the template."""
        handle.close()

    @contextmanager
    def template_connection(self) -> Iterator[sqlite3.Connection]:
        """The template itself, locked against copies meanwhile: for seeding or migrating before runs start."""
        with self._lock:
            self._check_open()
            yield self._conn

    def close(self) -> None:
        """Free the template; copies already made live on. Closing twice is harmless."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> SqliteTemplate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> SqliteTemplate:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError(f"the SQLite template {self.name} is closed; make copies before closing it")

    def __repr__(self) -> str:
        return f"<SqliteTemplate {self.name}{' closed' if self._closed else ''}>"
