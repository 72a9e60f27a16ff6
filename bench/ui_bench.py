"""How long the web inspector takes to render a page (server time) at scale: a session of 100,000 calls in the
journal, a cassette of 100,000 interactions, a results database of 10,000 runs.

    python bench/ui_bench.py                    # 100,000 calls / interactions, 10,000 runs, 20 requests a page
    python bench/ui_bench.py --calls 20000 --interactions 20000 --runs 2000 --repeat 5

Each page is requested in-process through the ASGI app (Starlette's TestClient: no socket, so what is timed is
the server's work: the query, the template, the response): the first request apart (the very first also compiles
the templates), then the median and the worst of the next `--repeat` against the 200 ms budget. A journal page is
one bounded query whichever page it is, the first view of a session included. A cassette's first look starts
building its filter index in a thread of its own while the unfiltered table is read from the cassette's list: the
build is timed from that first look until done, and the filtered pages come after it. The data is real hudproxy
data written the real way: the journal by the journal's own store (the same rows a replay server writes), the
cassette as Interaction objects, the runs with the results store's schema.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlite_utils
from starlette.testclient import TestClient

from hudproxy.cassette.model import Cassette
from hudproxy.evaluation.store import create_schema
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.journal.rows import Captured
from hudproxy.journal.schema import open_journal, start_run
from hudproxy.journal.store import JournalStore
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.ui import CassetteSource, Sources, create_ui_app

BUDGET_MS = 200.0
SESSION = "big"
JSON = (("content-type", "application/json"),)


def make_journal(path: Path, calls: int) -> None:
    """One session of `calls` calls: mostly answered HTTP, every 10th an MCP tool call parenting the 9 before it,
    every 97th a miss (with a diagnosis), plus a second small session interleaved at the start."""
    db = open_journal(str(path))
    run = start_run(db, "bench.yaml @ now", "2026-01-01T00:00:00+00:00")
    db.close()
    store = JournalStore(str(path), ScrubPolicy.default(), run)
    started = time.time() - calls / 1000
    batch: list[tuple[object, ...]] = []
    for seq in range(1, calls + 1):
        tool = seq % 10 == 0
        miss = seq % 97 == 0
        url = f"http://shop.test/orders/A{seq % 500}" if not tool else "mcp://shop/tools/call/update_order"
        response = None if not miss else (JSON, b'{"error": "no recorded interaction matches"}')
        batch.append(tuple(Captured(
            SESSION, seq, started + seq / 1000, 0.4, "mcp" if tool else "http", None if tool else (seq // 10 + 1) * 10,
            "MCP" if tool else "GET", url, JSON, b"", 501 if miss else 200, not miss,
            None if miss else seq % 500, response if miss else (JSON, b'{"id": "A1", "status": "shipped"}'),
            json.dumps([{"interaction": 1, "request": "GET /orders/A1", "differences": ["path"], "distance": 1}])
            if miss else None,
        )))  # fmt: skip
        if len(batch) == 5_000:
            store.write(batch)
            batch = []
    store.write(batch)
    store.close()


def make_cassette(interactions: int) -> Cassette:
    methods = ("GET", "GET", "GET", "POST", "PATCH")
    return Cassette([
        Interaction(
            Request(methods[n % 5], f"http://shop.test/orders/A{n}", JSON, b'{"status": "paid"}' if n % 5 else b""),
            Response(404 if n % 50 == 0 else 200, "OK", JSON, b'{"id": "A%d", "status": "shipped"}' % n),
            index=n, duration_ms=1.0,
        )
        for n in range(interactions)
    ])  # fmt: skip


def make_results(path: Path, runs: int) -> None:
    db = sqlite_utils.Database(path)
    create_schema(db)
    db["evals"].insert({"id": "bench", "env": "shop", "agent": "scripted", "status": "finished", "planned": runs})
    db["runs"].insert_all(
        {"id": f"bench-{n:06d}", "eval_id": "bench", "idx": n, "scenario": ("update-order", "refund-order")[n % 2],
         "args": json.dumps({"order_id": f"A{n % 50}"}), "repeat": n // 100, "reward": float(n % 3 != 0),
         "subscores": json.dumps({"status": float(n % 3 != 0), "tool": 1.0}), "duration_ms": 20.0 + n % 7}
        for n in range(runs)
    )  # fmt: skip
    db.close()


def timed(client: TestClient, url: str, repeat: int, settle: Callable[[], None] = lambda: None) -> tuple[float, ...]:
    """(first request, median, worst of the next `repeat`); `settle` runs between the first and the rest."""
    start = time.perf_counter()
    assert client.get(url).status_code == 200, url
    first = (time.perf_counter() - start) * 1000
    settle()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    return first, statistics.median(times), max(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        journal, results = Path(folder) / "journal.db", Path(folder) / "results.db"
        start = time.perf_counter()
        make_journal(journal, args.calls)
        make_results(results, args.runs)
        cassette = make_cassette(args.interactions)
        made = time.perf_counter() - start
        source = CassetteSource.from_cassette("big", cassette)
        app = create_ui_app(Sources({"big": source}, lambda: journal, results))
        print(f"data: {args.calls:,} calls, {args.interactions:,} interactions, {args.runs:,} runs (made in "
              f"{made:.1f} s)")  # fmt: skip
        looked: list[float] = []

        def index_built() -> None:
            """Waits for the cassette's filter index, built in the background from its first look (timed from it)."""
            source.index.wait()
            looked.append(time.perf_counter())

        late_seq = args.calls - 250
        pages = [
            ("journal: a session's first page (200 calls)", f"/journal/{SESSION}"),
            ("journal: a page near call 100,000", f"/journal/{SESSION}?after={late_seq}"),
            ("journal: only the unmatched calls", f"/journal/{SESSION}?class=unmatched"),
            ("journal: one call in full", f"/journal/{SESSION}/calls/{args.calls // 2}"),
            ("cassette: first page (100 rows)", "/cassettes/big"),
            ("cassette: last page", f"/cassettes/big?offset={args.interactions - 100}"),
            ("cassette: filtered method=PATCH path=/orders/A9*", "/cassettes/big?method=PATCH&path=/orders/A9*"),
            ("cassette: filtered status=4xx", "/cassettes/big?status=4xx"),
            ("runs: first page sorted by reward", "/runs?sort=reward&desc=true"),
            ("runs: filtered, a sub-score sort, deep page", "/runs?outcome=fail&sort=sub:status&offset=3000"),
        ]
        over = 0
        with TestClient(app) as client:
            print(f"{'page':<52} {'first ms':>9} {'median ms':>10} {'worst ms':>9}  budget {BUDGET_MS:.0f} ms (median)")
            for label, url in pages:
                first_look = url == "/cassettes/big"
                start = time.perf_counter()
                first, median, worst = timed(client, url, args.repeat, index_built if first_look else lambda: None)
                over += median > BUDGET_MS
                verdict = "ok" if median <= BUDGET_MS else "OVER"
                print(f"{label:<52} {first:>9.1f} {median:>10.1f} {worst:>9.1f}  {verdict}")
                if first_look:
                    print(f"  (its filter index, built in the background: {(looked[0] - start) * 1000:.0f} ms from "
                          "the first look, which did not wait for it)")  # fmt: skip
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
