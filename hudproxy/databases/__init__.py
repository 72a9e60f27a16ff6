"""Safe databases for eval runs: each run gets its own database and gives it back on every exit path.

Three patterns, one interface (`RunDatabase`: `acquire`/`release`, or `async with db.run() as conn:`):

- `SqliteTemplate`: a `.sql` fixture runs once into an in-memory database; each run gets a copy made with
  SQLite's backup API, so runs never share a byte and the template never changes.
- `PostgresRollback`: each run works inside a transaction on a pooled asyncpg connection, rolled back when
  the run ends (returns, raises or is cancelled), so nothing it wrote survives or was seen by another run.
- `seed`: empty the tables that YAML/JSON fixtures (`{table: [rows]}`) name and insert their rows, in a fixed
  order, on either backend.

    from hudproxy.databases import PostgresRollback, SqliteTemplate, seed

    template = SqliteTemplate.from_sql("fixtures/shop.sql", fixtures="fixtures/shop.yaml")
    async with template.run() as conn:
        conn.execute("UPDATE orders SET status = 'shipped' WHERE id = 1")

    async with PostgresRollback(dsn) as db:
        await seed(db, "fixtures/shop.yaml")
        async with db.run() as conn:
            await conn.execute("UPDATE orders SET status = 'shipped' WHERE id = 1")

The Postgres names import asyncpg on first use, so SQLite-only callers never load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hudproxy.databases.errors import DatabaseError, FixtureError, IsolationError, SqlScriptError
from hudproxy.databases.fixtures import load_fixtures
from hudproxy.databases.protocol import RunDatabase, run_scope
from hudproxy.databases.sqlite import SqliteTemplate
from hudproxy.lazy import lazy_exports

if TYPE_CHECKING:
    from hudproxy.databases.postgres import PostgresRollback
    from hudproxy.databases.seeding import seed, seed_postgres, seed_sqlite

_LAZY = {
    "PostgresRollback": "hudproxy.databases.postgres",
    "seed": "hudproxy.databases.seeding",
    "seed_postgres": "hudproxy.databases.seeding",
    "seed_sqlite": "hudproxy.databases.seeding",
}

__all__ = [
    "DatabaseError",
    "FixtureError",
    "IsolationError",
    "PostgresRollback",
    "RunDatabase",
    "SqlScriptError",
    "SqliteTemplate",
    "load_fixtures",
    "run_scope",
    "seed",
    "seed_postgres",
    "seed_sqlite",
]


__getattr__ = lazy_exports(__name__, _LAZY, globals())
