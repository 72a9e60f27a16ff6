"""The journal's worker process: rows built and written out of the serving process, and what happens when the
worker is not there (disabled, or killed mid-run): the writer thread takes over and no later call is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from hudproxy.journal import JournalWriter, Pending, read_calls
from hudproxy.replay.engine import ReplayEngine
from hudproxy.replay.sessions import SessionStore
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

API = "http://shop.test"


@pytest.fixture
def engine() -> ReplayEngine:
    order = make_interaction(make_request("GET", f"{API}/orders/A1"), make_response(json={"id": "A1"}))
    return ReplayEngine.from_cassette(make_cassette([order]))


def answer(engine: ReplayEngine, writer: JournalWriter, session: str, seq: int, path: str = "/orders/A1") -> None:
    request = make_request("GET", f"{API}{path}", headers=[("Authorization", "Bearer sk-secret-1")])
    outcome = engine.handle(request, SessionStore().get(session).state)
    writer.add(Pending(session, seq, time.time(), 0.2, outcome))


def test_rows_are_written_by_a_separate_process_and_readable_after_flush(engine: ReplayEngine, tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "j.db", ScrubPolicy.default(), worker=True)
    try:
        assert writer.uses_worker
        worker = writer._worker.process  # type: ignore[union-attr]
        assert worker.pid != os.getpid() and worker.poll() is None
        for seq in range(1, 201):
            answer(engine, writer, "w", seq, "/orders/A1" if seq % 2 else "/orders/ZZ")
        assert writer.flush() >= 0
        calls = read_calls(tmp_path / "j.db", session="w")
        assert [c.seq for c in calls] == list(range(1, 201))
        assert calls[0].matched and calls[0].response_json == {"id": "A1"}
        assert not calls[1].matched and calls[1].diagnosis and calls[1].status == 501
        assert all("sk-secret-1" not in value for c in calls for _, value in c.request_headers)
    finally:
        writer.close()
    assert worker.returncode == 0  # end of input: it wrote what it had and exited


def test_a_killed_worker_hands_over_to_the_writer_thread_without_losing_later_calls(
    engine: ReplayEngine, tmp_path: Path
) -> None:
    writer = JournalWriter(tmp_path / "j.db", ScrubPolicy.default(), worker=True)
    try:
        for seq in range(1, 51):
            answer(engine, writer, "k", seq)
        writer.flush()
        writer._worker.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
        writer._worker.process.wait(10)  # type: ignore[union-attr]
        for seq in range(51, 101):
            answer(engine, writer, "k", seq)
        writer.flush()
        assert not writer.uses_worker
    finally:
        writer.close()
    calls = read_calls(tmp_path / "j.db", session="k")
    assert [c.seq for c in calls] == list(range(1, 101))
    assert calls[-1].response_json == {"id": "A1"}  # the recorded response, sent again to the new writer


def test_without_a_worker_the_writer_thread_writes_the_same_rows(
    engine: ReplayEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUDPROXY_JOURNAL_WORKER", "0")
    writer = JournalWriter(tmp_path / "j.db", ScrubPolicy.default())
    try:
        assert not writer.uses_worker
        for seq in range(1, 11):
            answer(engine, writer, "t", seq)
    finally:
        writer.close()
    assert [c.seq for c in read_calls(tmp_path / "j.db", session="t")] == list(range(1, 11))


def test_calls_added_after_close_are_still_written(engine: ReplayEngine, tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "j.db", ScrubPolicy.default(), worker=True)
    answer(engine, writer, "late", 1)
    writer.close()
    answer(engine, writer, "late", 2)  # a request that raced the shutdown
    assert [c.seq for c in read_calls(tmp_path / "j.db", session="late")] == [1, 2]


def test_a_cassette_rerecorded_at_the_same_path_keeps_each_runs_own_response_bodies(tmp_path: Path) -> None:
    """Responses are stored once per (source, interaction); a re-recorded file numbers new responses the same."""
    bodies = []
    for run, status in enumerate(("new", "shipped")):
        order = make_interaction(make_request("GET", f"{API}/orders/A1"), make_response(json={"status": status}))
        engine = ReplayEngine.from_cassette(make_cassette([order]))
        writer = JournalWriter(tmp_path / "j.db", ScrubPolicy.default(), source=str(tmp_path / "shop.yaml"))
        answer(engine, writer, f"run-{run}", 1)
        writer.close()
        bodies.append(writer.source)
    assert bodies[0] != bodies[1] and all(b.startswith(str(tmp_path / "shop.yaml") + "@") for b in bodies)
    by_session = {c.session: c.response_json for c in read_calls(tmp_path / "j.db")}
    assert by_session == {"run-0": {"status": "new"}, "run-1": {"status": "shipped"}}


@pytest.mark.parametrize("worker", [True, False], ids=["worker", "in-process"])
def test_a_batch_sqlite_refuses_is_dropped_and_the_journal_goes_on(
    engine: ReplayEngine, tmp_path: Path, worker: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused batch (here a trigger on the file, as a full disk would) loses only its own calls: the writer
    keeps going, and the recorded response that batch carried is stored with the next one."""
    path = tmp_path / "j.db"
    writer = JournalWriter(path, ScrubPolicy.default(), worker=worker)
    try:
        with sqlite3.connect(path) as conn:
            conn.execute(
                "create trigger refuse before insert on call_log when new.session = 'doomed' "
                "begin select raise(abort, 'refused by the test'); end"
            )
        answer(engine, writer, "doomed", 1)  # the first call of interaction 0: its recorded response travels here
        writer.flush()
        for seq in (1, 2):
            answer(engine, writer, "after", seq)
        writer.flush()
    finally:
        writer.close()
    assert read_calls(path, session="doomed") == []
    after = read_calls(path, session="after")
    assert [c.seq for c in after] == [1, 2] and all(c.response_json == {"id": "A1"} for c in after)
    if not worker:  # the worker logs to the server's stderr, beside it
        assert "1 calls not written (refused by the test)" in caplog.text
