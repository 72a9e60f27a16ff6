"""Forgotten sessions time out: swept when new sessions arrive, their journal rows kept, their numbers continued."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from hudproxy.admin import attach_admin
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

IDLE = 0.3


def test_idle_sessions_are_dropped_and_come_back_numbered_on(cassette_path: Path, tmp_path: Path) -> None:
    app = create_replay_app(cassette_path, ReplayOptions(journal=tmp_path / "journal.db", idle_timeout=IDLE))
    attach_admin(app)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False, timeout=10) as client:
        client.patch("/s/forgotten/orders/A1", json={"status": "shipped"})
        time.sleep(IDLE * 2)
        client.get("/s/newcomer/orders/A1")  # a new session: the store sweeps the idle ones
        live = [row["id"] for row in client.get("/_hudproxy/sessions").json()]
        assert "forgotten" not in live and "newcomer" in live
        assert client.get("/s/forgotten/orders/A1").json()["status"] == "pending"  # its writes went with it
        seqs = [c["seq"] for c in client.get("/_hudproxy/sessions/forgotten/journal").json()]
        assert seqs == [1, 2]


def test_no_timeout_keeps_every_session(cassette_path: Path, tmp_path: Path) -> None:
    app = create_replay_app(cassette_path, ReplayOptions(idle_timeout=None))
    app.sessions.get("kept").last_seen -= 10 * 365 * 86400
    app.sessions.get("newcomer")
    assert app.sessions.sweep() == 0 and sorted(app.sessions.ids()) == ["kept", "newcomer"]
