"""A session's order as the inspector keeps it, on a journal written by the journal's own store: a call written
late (a long stream answered after the calls that followed it) takes its place by seq, on the first read and
when it arrives after the order was kept."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx

from hudproxy.journal.rows import Captured
from hudproxy.journal.schema import open_journal, start_run
from hudproxy.journal.store import JournalStore
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.serving import serve_in_thread
from hudproxy.ui import Sources, create_ui_app
from hudproxy.ui.queries.journal import Timelines

JSON = (("content-type", "application/json"),)


def call(seq: int, session: str = "s", miss: bool = False, parent: int | None = None) -> tuple[object, ...]:
    response = (JSON, b'{"error": "no match"}') if miss else (JSON, b'{"id": "A1"}')
    return tuple(Captured(session, seq, time.time(), 1.0, "http", parent, "GET", f"http://shop.test/orders/{seq}",
                          JSON, b"", 501 if miss else 200, not miss, None if miss else 1, response, None))  # fmt: skip


def tool_call(seq: int, session: str = "s") -> tuple[object, ...]:
    return tuple(Captured(session, seq, time.time(), 3.0, "mcp", None, "MCP", "mcp://shop/tools/call/get_order", JSON,
                          b'{"order_id": "A1"}', 200, True, 7, (JSON, b'{"content": []}'), None))  # fmt: skip


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


def test_a_tool_call_links_to_the_http_calls_it_caused(tmp_path: Path) -> None:
    """`parent` in the journal (an MCP tool call's upstream HTTP requests): the timeline links both ways, and each
    call's own page names its parent or its children."""
    path = tmp_path / "journal.db"
    store = journal_with(path)
    store.write([call(1, parent=3), call(2, parent=3), tool_call(3), call(4)])
    store.close()
    with serve_in_thread(create_ui_app(Sources({}, lambda: path, None))) as base_url:
        timeline = httpx.get(f"{base_url}/journal/s").text
        assert re.search(r'id="call-1".*?<a class="parent" href="#call-3"', timeline, re.S)
        tool_row = timeline[timeline.index('id="call-3"') : timeline.index('id="call-4"')]
        assert 'class="call k-mcp"' in timeline and '<a href="#call-1">#1</a>, <a href="#call-2">#2</a>' in tool_row
        assert 'class="parent"' not in timeline[timeline.index('id="call-4"') :]  # #4 was the client's own
        tool_page = httpx.get(f"{base_url}/journal/s/calls/3").text
        assert 'caused: <a href="/journal/s/calls/1">#1</a>, <a href="/journal/s/calls/2">#2</a>' in tool_page
        assert (
            'caused by tool call <a href="/journal/s/calls/3">#3</a>' in httpx.get(f"{base_url}/journal/s/calls/2").text
        )
