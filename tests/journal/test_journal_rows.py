"""What the journal holds: one row per request, per session, readable by any SQLite tool, secrets scrubbed."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import sqlite_utils

from hudproxy.journal import read_calls, sessions_in

SECRET = "sk-live-4f9a2c77e1"


def send(journaled: Any) -> dict[str, int]:
    """Requests in three sessions (path prefix, header, none); returns how many each one sent."""
    with httpx.Client(base_url=journaled.url, trust_env=False) as http:
        for _ in range(3):
            http.get("/s/alice/orders/A1")
        http.patch("/s/alice/orders/A1", json={"status": "shipped"})
        for _ in range(2):
            http.get("/orders/A1", headers={"X-Hudproxy-Session": "bob"})
        http.post("/auth/token")
    return {"alice": 4, "bob": 2, "default": 1}


def test_row_counts_equal_requests_sent_per_session(journaled: Any) -> None:
    sent = send(journaled)
    path = journaled.stop()
    assert {row["session"]: row["calls"] for row in sessions_in(path)} == sent
    assert [c.seq for c in read_calls(path, session="alice")] == [1, 2, 3, 4]
    assert read_calls(path, session="alice", method="PATCH").last.json == {"status": "shipped"}


def test_rows_read_with_sqlite_utils_and_plain_sqlite3(journaled: Any) -> None:
    sent = send(journaled)
    path = journaled.stop()
    db = sqlite_utils.Database(path)
    assert "calls" in db.view_names() and {"call_log", "requests", "responses", "runs"} <= set(db.table_names())
    assert {s: db["calls"].count_where("session = ?", [s]) for s in sent} == sent
    with sqlite3.connect(path) as conn:
        rows = conn.execute("select session, count(*) from calls group by session").fetchall()
        first = conn.execute("select method, path, status, matched from calls where session = 'bob' order by seq")
        assert first.fetchone() == ("GET", "/orders/A1", 200, 1)
    assert dict(rows) == sent


def test_a_repeated_request_is_stored_once_and_every_row_reads_whole(journaled: Any, journal_cassette: Path) -> None:
    send(journaled)
    path = journaled.stop()
    with sqlite3.connect(path) as conn:
        distinct = conn.execute("select count(*) from requests").fetchone()[0]
        alice = conn.execute(
            "select seq, time, method, path, request_body, response_body, source from calls "
            "where session = 'alice' order by seq"
        ).fetchall()
    assert distinct == 4  # alice's GET (three times) and PATCH, bob's GET (twice), the token POST
    assert [row[2:4] for row in alice] == [("GET", "/orders/A1")] * 3 + [("PATCH", "/orders/A1")]
    assert json.loads(alice[3][4]) == {"status": "shipped"}
    assert [json.loads(row[5])["status"] for row in alice] == ["new"] * 3 + ["shipped"]  # from `responses`
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", row[1]) for row in alice)
    assert {row[6] for row in alice} == {alice[0][6]} and alice[0][6].startswith(f"{journal_cassette.resolve()}@")


def test_secrets_in_live_request_headers_are_scrubbed(journaled: Any) -> None:
    headers = {"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET, "X-Trace": "visible"}
    assert httpx.get(f"{journaled.url}/s/carol/orders/A1", headers=headers, trust_env=False).status_code == 200
    path = journaled.stop()
    (call,) = read_calls(path, session="carol")
    recorded = {name.lower(): value for name, value in call.request_headers}
    assert recorded["authorization"] != f"Bearer {SECRET}" and "SCRUBBED" in recorded["authorization"]
    assert recorded["x-trace"] == "visible"
    with sqlite3.connect(path) as conn:
        everything = json.dumps(conn.execute("select * from calls").fetchall())
    assert SECRET not in everything


def test_unmatched_rows_carry_the_diagnosis(journaled: Any) -> None:
    response = httpx.patch(f"{journaled.url}/s/dave/orders/A1", json={"status": "lost"}, trust_env=False)
    assert response.status_code == 501
    path = journaled.stop()
    (missed,) = read_calls(path, session="dave", unmatched=True)
    assert (missed.method, missed.status, missed.matched) == ("PATCH", 501, False)
    nearest = missed.diagnosis[0]
    assert nearest["interaction"] == 1 and nearest["request"] == "PATCH /orders/A1"
    assert any("status" in d and "lost" in d for d in nearest["differences"]), nearest
    with sqlite3.connect(path) as conn:
        (raw,) = conn.execute("select diagnosis from calls where session = 'dave'").fetchone()
    assert json.loads(raw)[0]["differences"] == nearest["differences"]


def test_a_secret_in_an_unmatched_query_stays_out_of_the_journal(journaled: Any) -> None:
    httpx.get(f"{journaled.url}/s/erin/orders/A1?api_key={SECRET}", trust_env=False)
    path = journaled.stop()
    (missed,) = read_calls(path, session="erin")
    assert missed.query.startswith("api_key=SCRUBBED:apikey:")
    assert SECRET not in (missed.response_body or "")
