"""A test environment whose every run gets its own database: each run writes its own note, then reads them all.

NOTES_DB=sqlite (default): a SqliteTemplate, one in-memory copy per run. NOTES_DB=postgres: a PostgresRollback on
$NOTES_PG_DSN in schema $NOTES_PG_SCHEMA (the test creates the `notes` table and its baseline rows there).
Also: a scenario that crashes for some arguments, one that takes its time (Ctrl-C tests), and the env's own
`scripted` agent, which takes the run's seed.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from typing import Any

from hudproxy.databases import PostgresRollback, SqliteTemplate
from hudproxy.env import Environment, Final, ScenarioResult, ToolCall

env = Environment("notes")
BASELINE = ["seed-1", "seed-2"]
SCHEMA = "CREATE TABLE notes (key text PRIMARY KEY);\n" + "".join(
    f"INSERT INTO notes (key) VALUES ('{key}');\n" for key in BASELINE
)

if os.environ.get("NOTES_DB", "sqlite") == "postgres":
    schema = {"search_path": os.environ["NOTES_PG_SCHEMA"]}
    env.database(PostgresRollback(os.environ["NOTES_PG_DSN"], server_settings=schema, max_size=20))
else:
    env.database(SqliteTemplate.from_sql(SCHEMA))


async def _keys() -> list[str]:
    conn = env.db()
    if isinstance(conn, sqlite3.Connection):
        return [row[0] for row in conn.execute("SELECT key FROM notes ORDER BY key")]
    return [row["key"] for row in await conn.fetch("SELECT key FROM notes ORDER BY key")]


@env.tool
async def write_note(key: str) -> str:
    """Store a note under its key in this run's database."""
    conn = env.db()
    if isinstance(conn, sqlite3.Connection):
        conn.execute("INSERT INTO notes (key) VALUES (?)", (key,))
    else:
        await conn.execute("INSERT INTO notes (key) VALUES ($1)", key)
    return "stored"


@env.tool
async def read_notes() -> list[str]:
    """Every note key this run can see."""
    return await _keys()


@env.tool
async def pause(ms: int) -> str:
    """Let the other runs go first."""
    await asyncio.sleep(ms / 1000)
    return "ok"


@env.scenario("own-note")
async def own_note(key: str):
    """Write one note; graded on seeing exactly the baseline and that note."""
    yield f"Write the note {key!r}, then read all notes."
    seen = await _keys()
    expected = sorted([*BASELINE, key])
    yield ScenarioResult(float(seen == expected), notes=[] if seen == expected else [f"saw {seen}"])


@env.scenario("sometimes-crash")
async def sometimes_crash(n: int):
    """Breaks in its own setup when n is a multiple of 5."""
    if n % 5 == 0:
        raise RuntimeError(f"scenario setup broke for n={n}")
    yield "Say ok."
    yield 1.0


@env.scenario("slow")
async def slow(ms: int = 100):
    yield "Wait."
    await asyncio.sleep(ms / 1000)
    yield 1.0


class Failing:
    async def run(self, prompt: str, tools: Any) -> Any:
        raise ValueError("the agent's model is down")


@env.agent("scripted")
def scripted(scenario: str, args: dict[str, Any], seed: int) -> Any:
    if scenario == "own-note":
        pause_ms = seed % 4  # the seed decides the interleaving, and shows up in the journal
        return [ToolCall("write_note", {"key": args["key"]}), ToolCall("pause", {"ms": pause_ms}),
                ToolCall("read_notes", {}), Final("done")]  # fmt: skip
    if scenario == "sometimes-crash" and args["n"] % 7 == 0:
        return Failing()
    return [Final("ok")]
