"""200 concurrent runs writing disjoint rows, each in its own database: no run ever reads another's write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from eval_helpers import NOTES

from hudproxy.evaluation import run_eval

pytestmark = pytest.mark.anyio
RUNS = 200
BASELINE = ["seed-1", "seed-2"]
TASKS = [{"scenario": "own-note", "args": {"key": f"note-{n:03d}"}} for n in range(RUNS)]


def assert_each_run_saw_only_its_own_write(out: Path) -> None:
    db = sqlite_utils.Database(out)
    runs = list(db["runs"].rows_where(order_by="idx"))
    assert len(runs) == RUNS
    assert [r["error"] for r in runs] == [None] * RUNS
    assert [r["reward"] for r in runs] == [1.0] * RUNS, [r["notes"] for r in runs if r["reward"] != 1.0][:3]
    read_calls = db["calls"].rows_where("path = ?", ["/tools/call/read_notes"])
    reads = {r["run_id"]: json.loads(r["response_body"]) for r in read_calls}
    for run in runs:
        own = json.loads(run["args"])["key"]
        assert reads[run["id"]] == sorted([*BASELINE, own])  # the agent's own read: baseline + its note, nothing else
    sessions = {r["session"] for r in runs}
    assert len(sessions) == RUNS  # one replay session / journal scope per run


async def test_sqlite_template_gives_every_run_its_own_copy(tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    summary = await run_eval(NOTES, TASKS, "scripted", concurrency=64, out=out)
    assert (summary.finished, summary.errors, summary.mean_reward) == (RUNS, 0, 1.0)
    assert_each_run_saw_only_its_own_write(out)


async def test_postgres_rollback_gives_every_run_its_own_transaction(
    tmp_path: Path, pg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg.dsn, server_settings={"search_path": pg.schema})
    try:
        await conn.execute("CREATE TABLE notes (key text PRIMARY KEY)")
        await conn.executemany("INSERT INTO notes (key) VALUES ($1)", [(k,) for k in BASELINE])
        monkeypatch.setenv("NOTES_DB", "postgres")
        monkeypatch.setenv("NOTES_PG_DSN", pg.dsn)
        monkeypatch.setenv("NOTES_PG_SCHEMA", pg.schema)
        out = tmp_path / "results.db"
        summary = await run_eval(NOTES, TASKS, "scripted", concurrency=64, out=out)
        assert (summary.finished, summary.errors, summary.mean_reward) == (RUNS, 0, 1.0)
        assert_each_run_saw_only_its_own_write(out)
        assert [r["key"] for r in await conn.fetch("SELECT key FROM notes ORDER BY key")] == BASELINE  # rolled back
    finally:
        await conn.close()
