"""`session_page`: keyset pages of one session's calls, read from a journal written by the journal's own store with
two sessions interleaved and calls written late; walked forwards and backwards under each filter, the pages
together are exactly what `read_calls` gives for the session, in seq order, and say truly what lies either side."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hudproxy.journal.query import read_calls, session_page
from hudproxy.journal.rows import Captured
from hudproxy.journal.schema import open_journal, start_run
from hudproxy.journal.store import JournalStore
from hudproxy.scrub.policy import ScrubPolicy

JSON = (("content-type", "application/json"),)
CALLS = 120


def captured(session: str, seq: int) -> tuple[object, ...]:
    """Every 4th a tool call, every 9th a miss, POST on every 5th, paths /orders/N and /users/N by seq."""
    tool, miss = seq % 4 == 0, seq % 9 == 0
    method = "MCP" if tool else "POST" if seq % 5 == 0 else "GET"
    url = "mcp://shop/tools/call/get_order" if tool else f"http://shop.test/{'orders' if seq % 2 else 'users'}/{seq}"
    response = (JSON, b'{"error": "no match"}') if miss else (JSON, b'{"id": "A1"}')
    return tuple(Captured(session, seq, time.time(), 1.0, "mcp" if tool else "http", None, method, url, JSON, b"",
                          501 if miss else 200, not miss, None if miss else seq, response, None))  # fmt: skip


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    path = tmp_path / "journal.db"
    db = open_journal(str(path))
    run = start_run(db, "shop.yaml @ now", "2026-01-01T00:00:00+00:00")
    db.close()
    store = JournalStore(str(path), ScrubPolicy.default(), run)
    late = {7, 8, 50}  # long streams: answered (written) after the calls that followed them
    for seq in range(1, CALLS + 1):
        if seq not in late:
            store.write([captured("s", seq), captured("other", seq)])
    store.write([captured("s", seq) for seq in sorted(late, reverse=True)])
    store.close()
    return path


FILTERS = [
    {},
    {"kind": "mcp"},
    {"method": "post"},
    {"path_glob": "/orders/*"},
    {"method": "GET", "path_glob": "/users/*", "answered_by": "recording"},
    {"answered_by": "miss"},
    {"kind": "fault"},  # none
]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_pages_walked_either_way_are_the_session_in_seq_order(journal: Path, filters: dict[str, str]) -> None:
    kind, method, path_glob = filters.get("kind"), filters.get("method"), filters.get("path_glob")
    chosen = read_calls(journal, session="s", method=method, kind=kind, path_pattern=path_glob)
    expected = [c.seq for c in chosen if filters.get("answered_by") in (None, c.answered_by)]
    forwards, after, pages = [], None, 0
    while True:
        page = session_page(journal, "s", after=after, limit=7, **filters)
        assert page.has_before == (after is not None and bool(expected) and expected[0] <= after)
        forwards += [c.seq for c in page.calls]
        assert all(c.session == "s" for c in page.calls) and len(page.calls) <= 7
        pages += 1
        if not page.has_after:
            break
        after = page.calls[-1].seq
    assert forwards == expected and pages == max(1, -(-len(expected) // 7))
    backwards: list[int] = []
    before = (expected[-1] + 1) if expected else 1
    while True:
        page = session_page(journal, "s", before=before, limit=7, **filters)
        assert page.has_after == bool(expected and expected[-1] >= before)
        backwards = [c.seq for c in page.calls] + backwards
        if not page.has_before:
            break
        before = page.calls[0].seq
    assert backwards == expected


def test_a_page_past_either_end_is_empty_and_points_back(journal: Path) -> None:
    beyond = session_page(journal, "s", after=CALLS, limit=7)
    assert not beyond.calls and beyond.has_before and not beyond.has_after
    ahead = session_page(journal, "s", before=1, limit=7)
    assert not ahead.calls and not ahead.has_before and ahead.has_after
    assert not session_page(journal, "nobody").calls
    assert not session_page(journal.parent / "missing.db", "s").calls
