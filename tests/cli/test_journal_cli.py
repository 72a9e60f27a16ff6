"""`hudproxy journal` over a journal written by a real replay server run: table, JSON, unmatched diagnoses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from hudproxy.cassette import save_cassette
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import DEFAULT_JOURNAL, create_replay_app
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding `.hudproxy/journal.db` from a replay run: alice matched twice, bob once unmatched."""
    folder = tmp_path_factory.mktemp("journal-cli")
    cassette = make_cassette(
        [
            make_interaction(make_request("GET", "http://api.test/orders/A1"), make_response(json={"id": "A1"})),
            make_interaction(
                make_request("POST", "http://api.test/orders", json={"sku": "SKU-100"}),
                make_response(201, json={"id": "A2"}),
            ),
        ]
    )
    saved = save_cassette(cassette, folder / "shop.yaml")
    app = create_replay_app(saved, ReplayOptions(journal=folder / DEFAULT_JOURNAL))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as client:
        client.get("/s/alice/orders/A1?expand=items")
        client.post("/s/alice/orders", json={"sku": "SKU-100"})
        client.post("/s/bob/orders", json={"sku": "SKU-999"})
    return folder


def run(workdir: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HUDPROXY_JOURNAL"}  # the default location, unless given
    env.update({"COLUMNS": "200", "NO_COLOR": "1", **extra_env})
    return subprocess.run([*CLI, "journal", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=60)


def test_hudproxy_journal_env_sets_the_default_db(workdir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(elsewhere, "--json", HUDPROXY_JOURNAL=str(workdir / DEFAULT_JOURNAL))
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3


def test_table_lists_every_call_from_the_default_db(workdir: Path) -> None:
    result = run(workdir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"{DEFAULT_JOURNAL} — 3 calls" in out
    for header in ("session", "seq", "time", "method", "path", "status", "result", "interaction", "ms"):
        assert header in out
    rows = [line for line in out.splitlines() if "alice" in line or "bob" in line]
    assert len(rows) == 3
    assert "GET" in rows[0] and "/orders/A1?expand=items" in rows[0] and "unmatched" in rows[0]
    assert "POST" in rows[1] and "201" in rows[1] and " matched" in rows[1]
    assert "bob" in rows[2] and "501" in rows[2] and "unmatched" in rows[2]


def test_session_filter(workdir: Path) -> None:
    out = run(workdir, "--session", "bob").stdout
    assert "— 1 calls" in out and "alice" not in out


def test_unmatched_shows_the_diagnosis_under_each_call(workdir: Path) -> None:
    out = run(workdir, "--unmatched").stdout
    assert "— 2 calls" in out
    assert "#1 nearest: interaction 0: GET /orders/A1" in out
    assert "#1 nearest: interaction 1: POST /orders" in out
    assert out.count("differs:") >= 2
    assert "SKU-999" in out


def test_json_is_machine_readable(workdir: Path) -> None:
    calls = json.loads(run(workdir, "--json", "--db", str(workdir / DEFAULT_JOURNAL)).stdout)
    assert [(c["session"], c["seq"], c["method"], c["status"], c["matched"]) for c in calls] == [
        ("alice", 1, "GET", 501, False),
        ("alice", 2, "POST", 201, True),
        ("bob", 1, "POST", 501, False),
    ]
    assert calls[1]["interaction"] == 1
    assert calls[2]["diagnosis"][0]["request"] == "POST /orders"
    assert calls[2]["diagnosis"][0]["differences"]


def test_json_unmatched_for_one_session(workdir: Path) -> None:
    calls = json.loads(run(workdir, "--json", "--unmatched", "--session", "alice").stdout)
    assert [c["path"] for c in calls] == ["/orders/A1"]


def test_a_missing_db_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run(tmp_path, "--db", "nope.db")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"hudproxy: nope.db: no journal there; `hudproxy replay` writes one (default {DEFAULT_JOURNAL})."
    ]


def test_help_has_an_example(tmp_path: Path) -> None:
    result = run(tmp_path, "--help")
    assert result.returncode == 0
    assert "Example: hudproxy journal" in result.stdout


def test_a_narrow_terminal_hides_minor_columns_and_keeps_the_path(workdir: Path) -> None:
    out = run(workdir, COLUMNS="80").stdout
    rows = [line for line in out.splitlines() if "alice" in line or "bob" in line]
    assert "/orders/A1?expand=items" in rows[0] and "unmatched" in rows[0]
    assert "hidden to fit 80 columns: interaction" in out and "use --json" in out
    assert "hidden" not in run(workdir).stdout  # 200 columns: everything shown


def test_a_session_with_no_calls_names_the_sessions_there(workdir: Path) -> None:
    result = run(workdir, "--session", "carol")
    assert result.returncode == 0
    assert "no calls for session 'carol'; sessions in this journal: alice, bob" in result.stdout


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda p: p.write_text("a: ["), "cannot use it as a journal (file is not a database)", id="yaml"),
        pytest.param(lambda p: p.mkdir(), "is a folder; give a journal file", id="folder"),
        pytest.param(
            lambda p: sqlite3.connect(p).execute("create table users (name)").connection.commit(),
            "a SQLite database, but not a hudproxy journal (its tables: users)",
            id="other-sqlite",
        ),
    ],
)
def test_a_file_that_is_not_a_journal_is_one_line_and_untouched(
    tmp_path: Path, make: Callable[[Path], object], message: str
) -> None:
    target = tmp_path / "x.db"
    make(target)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run(tmp_path, "--db", str(target))
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if target.is_file() and target.stat().st_size and message.startswith("a SQLite"):
        assert [r[0] for r in sqlite3.connect(target).execute("select name from sqlite_master")] == ["users"]


def test_an_empty_file_reads_as_no_calls_and_stays_empty(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    result = run(tmp_path, "--db", "empty.db")
    assert result.returncode == 0 and "— 0 calls" in result.stdout
    assert (tmp_path / "empty.db").stat().st_size == 0
