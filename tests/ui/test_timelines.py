"""A session's order as the inspector keeps it, on a journal written by the journal's own store: a call written
late (a long stream answered after the calls that followed it) takes its place by seq, on the first read and
when it arrives after the order was kept."""

from __future__ import annotations

import time
from pathlib import Path

from hudproxy.journal.rows import Captured
from hudproxy.journal.schema import open_journal, start_run
from hudproxy.journal.store import JournalStore
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.ui.queries.journal import Timelines

JSON = (("content-type", "application/json"),)


def call(seq: int, session: str = "s", miss: bool = False) -> tuple[object, ...]:
    response = (JSON, b'{"error": "no match"}') if miss else (JSON, b'{"id": "A1"}')
    return tuple(Captured(session, seq, time.time(), 1.0, "http", None, "GET", f"http://shop.test/orders/{seq}", JSON,
                          b"", 501 if miss else 200, not miss, None if miss else 1, response, None))  # fmt: skip


def journal_with(path: Path) -> JournalStore:
    db = open_journal(str(path))
    run = start_run(db, "shop.yaml @ now", "2026-01-01T00:00:00+00:00")
    db.close()
    return JournalStore(str(path), ScrubPolicy.default(), run)


def seqs(timelines: Timelines, path: Path, **kwargs: object) -> list[int]:
    return [c.seq for c in timelines.page(path, "s", **kwargs).calls]  # type: ignore[arg-type]


def test_a_late_call_takes_its_place_by_seq(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    store = journal_with(path)
    store.write([call(1), call(2), call(4, miss=True), call(1, session="other"), call(5)])
    timelines = Timelines()
    assert seqs(timelines, path) == [1, 2, 4, 5]
    store.write([call(3), call(6)])  # seq 3 arrives after 4 and 5 were kept
    assert seqs(timelines, path) == [1, 2, 3, 4, 5, 6]
    assert seqs(timelines, path, after=2, limit=2) == [3, 4]
    page = timelines.page(path, "s", before=3, limit=5)
    assert [c.seq for c in page.calls] == [1, 2] and not page.has_before and page.has_after
    assert seqs(timelines, path, answered_by="miss") == [4]
    store.close()
