"""The live-key memo keeps digests, never bodies, and stays within its byte budget: distinct unmatched uploads
do not pile up in memory (100 unmatched 10 MB POSTs grew the server from 86 MB to 1,087 MB before)."""

from __future__ import annotations

import gc
import os
import tracemalloc

from hudproxy.matching.index import ENTRY_OVERHEAD, KeyMemo
from hudproxy.replay.engine import ReplayEngine
from hudproxy.replay.state import ReplayState
from hudproxy.testing import make_cassette, make_interaction, make_request

MB = 1024 * 1024


def test_distinct_unmatched_uploads_leave_nothing_behind() -> None:
    engine = ReplayEngine.from_cassette(make_cassette([make_interaction()]))
    state = ReplayState()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(40):
            body = os.urandom(16) + bytes(2 * MB)  # distinct 2 MB bodies: 80 MB kept if the memo held them
            upload = make_request("POST", f"http://api.test/upload?n={n}", body=body)
            assert not engine.handle(upload, state).matched
            del upload, body
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 2 * MB, f"{grown / MB:.1f} MB still held after 40 distinct 2 MB uploads"
    assert len(engine.index._memo) == 40, "every request was remembered, by digest"


def test_the_memo_drops_its_oldest_entries_to_stay_within_budget() -> None:
    memo = KeyMemo(budget=50_000)
    for n in range(200):
        memo.put(("GET", f"/items/{n}"), (f"key-{n}",), size=2_000)
    assert memo.weight <= memo.budget
    assert len(memo) == 50_000 // (2_000 + ENTRY_OVERHEAD)
    assert memo.get(("GET", "/items/199")) == ("key-199",), "the newest stay"
    assert memo.get(("GET", "/items/0")) is None, "the oldest went first"
    memo.put(("GET", "/huge"), ("k",), size=60_000)
    assert memo.get(("GET", "/huge")) is None and memo.weight <= memo.budget, "an entry over budget is not kept"
