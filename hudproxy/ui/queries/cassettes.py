"""A cassette's interactions as a SQLite table of `inspect` summaries, so a page of 100,000 is a LIMIT query.

Built once per cassette (in memory) from `inspection.summarize`, the same rows `hudproxy inspect` prints; the
filters are `InteractionFilter`'s, turned into SQL by the filter itself.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from hudproxy.cassette.model import Cassette
from hudproxy.inspection import InteractionFilter, summarize

COLUMNS = ("idx", "method", "host", "path", "target", "url", "status", "size", "duration_ms", "streamed", "mcp")
SCHEMA = (
    "create table rows (idx integer primary key, method text, host text, path text, target text, url text, "
    "status integer, size integer, duration_ms real, streamed integer, mcp integer)"
)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    matching: int  # rows the filter accepts
    total: int  # rows in the cassette
    offset: int
    limit: int

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.offset + self.limit < self.matching else None

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None


class CassetteIndex:
    def __init__(self, cassette: Cassette) -> None:
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._lock = threading.Lock()  # one connection, pages served from FastAPI's worker threads
        self._db.execute(SCHEMA)
        self._db.executemany(
            f"insert into rows values ({', '.join('?' * len(COLUMNS))})",
            (_row(position, interaction) for position, interaction in enumerate(cassette.interactions)),
        )
        self.total = len(cassette.interactions)

    def page(self, chosen: InteractionFilter, offset: int = 0, limit: int = 100) -> Page:
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
