"""A call the resource model answered (`--generalise`) is journaled as `synthesized`, with its rule and evidence:
it is no miss (`--unmatched`, `unmatched()` and the miss counts skip it), and old journals gain the columns."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlite_utils

from hudproxy.journal import read_calls, sessions_in
from hudproxy.journal.assertions import CallSpec, assert_called
from hudproxy.journal.migrations import MIGRATIONS
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

SHOP = Path(__file__).resolve().parents[2] / "cassettes" / "shop.yaml"
CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]
OLD_COLUMNS = [
    "id", "session", "seq", "time", "kind", "method", "url", "path", "query", "request_headers", "request_body",
    "status", "response_body", "matched", "interaction", "diagnosis", "duration_ms", "source", "parent",
]  # fmt: skip


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A generalising replay of the shop, one session: a recorded read, an unrecorded PATCH the model answers, a
    DELETE nothing answers (no DELETE was recorded)."""
    path = tmp_path_factory.mktemp("synth") / "journal.db"
    app = create_replay_app(SHOP, ReplayOptions(journal=path, generalise=True))
    with serve_in_thread(app) as url, httpx.Client(base_url=f"{url}/s/agent", trust_env=False) as client:
        assert client.get("/orders/A1").status_code == 200
        patched = client.patch("/orders/A2", json={"status": "shipped"})
        assert patched.headers["x-hudproxy-synthesized"] == "orders.patch"
        assert client.delete("/orders/A2").status_code == 501
    app.close()
    yield path


def test_the_row_says_synthesized_with_its_rule_and_evidence(journal: Path) -> None:
    read, patched, deleted = read_calls(journal, session="agent")
    assert [c.answered_by for c in (read, patched, deleted)] == ["recording", "model", "miss"]
    assert patched.synthesized and not patched.matched and not patched.missed
    assert (patched.rule, patched.evidence, patched.diagnosis) == ("orders.patch", [4], [])
    assert patched.response_json["status"] == "shipped" and "[synthesized: orders.patch]" in patched.describe()
    assert deleted.missed and deleted.diagnosis and not deleted.synthesized and deleted.rule is None
    assert read.interaction == 1 and not read.synthesized
    with sqlite3.connect(journal) as conn:
        rows = conn.execute("select answered_by, rule, evidence, matched from calls order by seq").fetchall()
    assert rows == [("recording", None, None, 1), ("model", "orders.patch", "[4]", 0), ("miss", None, None, 0)]


def test_unmatched_skips_what_the_model_answered(journal: Path) -> None:
    assert [c.method for c in read_calls(journal, unmatched=True)] == ["DELETE"]
    assert [c.method for c in read_calls(journal, unmatched=False)] == ["GET", "PATCH"]
    ((summary),) = sessions_in(journal)
    assert (summary["calls"], summary["unmatched"], summary["synthesized"]) == (3, 1, 1)
    spec = CallSpec("PATCH", "/orders/*", answered_by="model")
    assert [c.seq for c in assert_called(read_calls(journal), spec)] == [2]
    with pytest.raises(AssertionError, match="answered_by=recording"):
        assert_called(read_calls(journal), CallSpec("PATCH", answered_by="recording"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([*CLI, "journal", *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_marks_synthesized_calls_and_leaves_them_out_of_unmatched(journal: Path) -> None:
    table = run_cli("--journal", str(journal))
    assert table.returncode == 0, table.stderr
    patch_line = next(line for line in table.stdout.splitlines() if "PATCH" in line)
    assert "synth orders.patch" in patch_line and "unmatched" not in patch_line
    unmatched = run_cli("--journal", str(journal), "--unmatched")
    assert unmatched.returncode == 0 and "DELETE" in unmatched.stdout and "PATCH" not in unmatched.stdout
    listed = json.loads(run_cli("--journal", str(journal), "--json").stdout)
    assert [(c["answered_by"], c["rule"], c["evidence"]) for c in listed] == [
        ("recording", None, []), ("model", "orders.patch", [4]), ("miss", None, []),
    ]  # fmt: skip


def test_a_version_6_journal_gains_the_columns_and_keeps_its_old_ones(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    db = sqlite_utils.Database(path)
    for number, (_name, step) in enumerate(MIGRATIONS[:6], start=1):
        step(db.conn)
        db.execute(f"PRAGMA user_version = {number}")
    db.execute("insert into call_log (session, seq, started, request, status, matched) values ('a', 1, 1e9, 0, 200, 1)")
    db.execute("insert into call_log (session, seq, started, request, status, matched, diagnosis) "
               "values ('a', 2, 1e9, 0, 501, 0, '[]')")  # fmt: skip
    db.conn.commit()
    db.close()
    calls = read_calls(path)  # migrates
    assert [(c.seq, c.answered_by, c.rule) for c in calls] == [(1, "recording", None), (2, "miss", None)]
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("pragma table_info(calls)")]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        full = [row[1] for row in conn.execute("pragma table_info(calls_full)")]
    assert columns[: len(OLD_COLUMNS)] == OLD_COLUMNS and columns[len(OLD_COLUMNS) :] == [
        "answered_by", "rule", "evidence", "fault",
    ]  # fmt: skip
    assert full == columns
