"""A journal written by an older hudproxy (the one-table layout of versions 1-5) reads the same after migrating."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import sqlite_utils

from hudproxy.journal import read_calls, sessions_in
from hudproxy.journal.migrations import MIGRATIONS
from hudproxy.journal.query import max_seq
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

SOURCE = "/srv/shop.yaml@2026-11-30T10:00:00.000000+00:00"
OLD_ROWS = [  # (session, seq, time, method, path, status, response_body, matched, interaction, diagnosis, parent)
    ("alice", 1, "2026-11-30T10:00:01.250+00:00", "GET", "/orders/A1", 200, None, 1, 0, None, None),
    ("alice", 2, "2026-11-30T10:00:02.500+00:00", "PATCH", "/orders/A1", 501, '{"error": "x"}', 0, None, "[]", None),
    ("bob", 1, "2026-11-30T10:00:03.000+00:00", "GET", "/orders/A1", 200, None, 1, 0, None, 1),
]


def old_journal(path: Path) -> None:
    """What hudproxy wrote before version 6: every column in `calls`, recorded bodies in `responses` by source."""
    db = sqlite_utils.Database(path)
    db.enable_wal()
    for number, (_name, step) in enumerate(MIGRATIONS[:5], start=1):
        step(db.conn)
        db.execute(f"PRAGMA user_version = {number}")
    for session, seq, time, method, target, status, body, matched, interaction, diagnosis, parent in OLD_ROWS:
        db["calls"].insert({  # type: ignore[union-attr]
            "session": session, "seq": seq, "time": time, "kind": "http", "method": method,
            "url": f"http://127.0.0.1:8080{target}", "path": target, "query": "", "request_headers": "[]",
            "request_body": '{"status": "lost"}' if method == "PATCH" else None, "status": status,
            "response_body": body, "matched": matched, "interaction": interaction, "diagnosis": diagnosis,
            "duration_ms": 0.5, "source": SOURCE, "parent": parent,
        })  # fmt: skip
    db["responses"].insert({"source": SOURCE, "interaction": 0, "status": 200, "response_body": '{"id": "A1"}'})  # type: ignore[union-attr]
    db.conn.commit()
    db.close()


def test_an_old_journal_reads_the_same_after_migrating(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_journal(path)
    calls = read_calls(path)  # migrates
    assert [(c.session, c.seq, c.time, c.method, c.status, c.matched) for c in calls] == [
        (s, q, t, m, st, bool(mt)) for s, q, t, m, _, st, _, mt, *_ in OLD_ROWS
    ]
    assert [c.response_body for c in calls] == ['{"id": "A1"}', '{"error": "x"}', '{"id": "A1"}']
    assert calls[1].json == {"status": "lost"} and calls[2].parent == 1
    assert max_seq(path) == 2 and max_seq(path, "bob") == 1
    assert [(s["session"], s["calls"], s["first"]) for s in sessions_in(path)] == [
        ("alice", 2, "2026-11-30T10:00:01.250+00:00"),
        ("bob", 1, "2026-11-30T10:00:03.000+00:00"),
    ]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("select source from calls where session = 'bob'").fetchone()[0] == SOURCE


def test_a_server_run_on_an_old_journal_numbers_after_its_rows(tmp_path: Path, journal_cassette: Path) -> None:
    path = tmp_path / "old.db"
    old_journal(path)
    app = create_replay_app(journal_cassette, ReplayOptions(journal=path))
    with serve_in_thread(app) as url:
        assert httpx.get(f"{url}/s/alice/orders/A1", trust_env=False).status_code == 200
    app.close()
    alice = read_calls(path, session="alice")
    assert [c.seq for c in alice] == [1, 2, 3] and alice[2].response_json == {"id": "A1", "status": "new"}
    with sqlite3.connect(path) as conn:
        runs = conn.execute("select id, source from runs order by id").fetchall()
    assert runs[0] == (1, SOURCE) and runs[1][1].startswith(f"{journal_cassette.resolve()}@") and len(runs) == 2


def test_a_users_own_view_on_calls_survives_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_journal(path)
    with sqlite3.connect(path) as conn:
        conn.execute("create view misses as select session, seq, path from calls where matched = 0")
    assert [c.seq for c in read_calls(path, unmatched=True)] == [2]  # migrates
    with sqlite3.connect(path) as conn:
        assert conn.execute("select * from misses").fetchall() == [("alice", 2, "/orders/A1")]


def test_rows_from_before_sources_never_borrow_a_recorded_body(tmp_path: Path) -> None:
    """Version-1 rows have no source and kept their bodies in the row: a 204 with none stays without one."""
    path = tmp_path / "old.db"
    old_journal(path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "insert into calls (session, seq, time, kind, method, url, path, status, matched, interaction) "
            "values ('early', 1, '2026-11-01T00:00:00.000+00:00', 'http', 'DELETE', 'http://x/o/1', '/o/1', 204, 1, 0)"
        )
        conn.execute("insert into responses values ('', 0, 200, '{\"other\": true}')")
    (early,) = read_calls(path, session="early")
    assert (early.status, early.response_body) == (204, None)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file as on a read-only mount: immutable for root (who ignores modes), mode 0444 for anyone else."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o444)
    try:
        yield
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(0o644)


def test_an_old_journal_that_cannot_be_written_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old_journal(path)
    with read_only(path):
        result = subprocess.run(
            [sys.executable, "-c", "from hudproxy.cli import main; main()", "journal", "--db", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    said = (result.stdout + result.stderr).strip()
    assert result.returncode != 0 and "Traceback" not in said, said
    assert f"{path}: written by an older hudproxy" in said and "cp " in said
    assert len(read_calls(path)) == len(OLD_ROWS)  # writable again: it migrates and reads
