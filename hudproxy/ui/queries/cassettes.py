"""A cassette's interactions as a SQLite table of `inspect` summaries, so a page of 100,000 is a LIMIT query.

Built once per cassette (in memory, in the background) from `inspection.summarize`, the same rows `hudproxy inspect`
prints; the filters are `InteractionFilter`'s, turned into SQL by the filter itself.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from hudproxy.cassette.files import gc_paused
from hudproxy.cassette.model import Cassette
from hudproxy.inspection import InteractionFilter, summarize
from hudproxy.ui.queries.paging import OffsetPaging

COLUMNS = ("idx", "method", "host", "path", "target", "url", "status", "size", "duration_ms", "streamed", "mcp")
SCHEMA = (
    "create table rows (idx integer primary key, method text, host text, path text, target text, url text, "
    "status integer, size integer, duration_ms real, streamed integer, mcp integer)"
)


@dataclass(frozen=True)
class Page(OffsetPaging):
    rows: list[dict[str, Any]]
    matching: int  # rows the filter accepts
    total: int  # rows in the cassette
    offset: int
    limit: int


class CassetteIndex:
    """Built in a thread of its own from the first look on (0.6 s at 100,000 interactions, where a page takes a few
    ms): the unfiltered table, the first thing shown, is read straight from the cassette's list meanwhile (and
    after: a slice costs the same), and only a filtered page waits for the index."""

    def __init__(self, cassette: Cassette) -> None:
        self._interactions = cassette.interactions
        self.total = len(cassette.interactions)
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()  # one connection, pages served from FastAPI's worker threads
        self._built = threading.Event()
        self._failure: BaseException | None = None
        threading.Thread(target=self._build, name="cassette-index", daemon=True).start()

    def _build(self) -> None:
        try:
            with self._lock, gc_paused():  # each request's URL parse is kept: GC passes took 1 of 1.5 s at 100,000
                self._db.execute(SCHEMA)
                self._db.executemany(
                    f"insert into rows values ({', '.join('?' * len(COLUMNS))})",
                    (_row(position, interaction) for position, interaction in enumerate(self._interactions)),
                )
        except BaseException as exc:  # re-raised on the page that needs the index, not lost in this thread
            self._failure = exc
        finally:
            self._built.set()

    def wait(self) -> None:
        """Until the index is built (a filtered page needs it)."""
        self._built.wait()
        if self._failure is not None:
            raise self._failure

    def page(self, chosen: InteractionFilter, offset: int = 0, limit: int = 100) -> Page:
        if not chosen.terms:
            shown = range(offset, min(self.total, offset + limit))
            rows = [dict(zip(COLUMNS, _row(n, self._interactions[n]), strict=True)) for n in shown]
            return Page(rows, self.total, self.total, offset, limit)
        self.wait()
        where, args = chosen.sql()
        with self._lock:
            matching = self._db.execute(f"select count(*) from rows where {where}", args).fetchone()[0]
            cursor = self._db.execute(
                f"select {', '.join(COLUMNS)} from rows where {where} order by idx limit ? offset ?",
                [*args, limit, offset],
            )
            rows = [dict(zip(COLUMNS, row, strict=True)) for row in cursor]
        return Page(rows, matching, self.total, offset, limit)


def _row(position: int, interaction: Any) -> tuple[Any, ...]:
    """Keyed by position in the file (what `--show N` and replay's `interaction` column count)."""
    row = summarize(interaction)
    return (position, row["method"], row["host"], interaction.request.path, row["target"], row["url"],
            row["status"], row["size"], row["duration_ms"], int(row["streamed"]), int("mcp" in row))  # fmt: skip
