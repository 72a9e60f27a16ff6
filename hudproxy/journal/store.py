"""Writing captured calls into the journal file: one transaction per batch, on a plain sqlite3 connection.

The file is created and migrated (`schema.open_journal`) by the writer before anything is stored here, so this
side needs no sqlite-utils: it is what the journal's worker process runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from hudproxy.journal.rows import ROW_COLUMNS, RowBuilder
from hudproxy.journal.tables import CALLS, RESPONSES
from hudproxy.scrub.policy import ScrubPolicy

INSERT_RESPONSE = f"insert or ignore into {RESPONSES} (source, interaction, status, response_body) values (?, ?, ?, ?)"
INSERT = f"insert into {CALLS} ({', '.join(ROW_COLUMNS)}) values ({', '.join('?' * len(ROW_COLUMNS))})"


class JournalStore:
    """Rows into one journal file; `write` is one transaction, so a batch is all there or not at all."""

    def __init__(self, path: str, scrub: ScrubPolicy, source: str = "") -> None:
        self.path = path
        self.rows = RowBuilder(scrub, source)
        self.written = 0
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL (set on the file by open_journal): safe and fast
        return self._db

    def write(self, calls: Sequence[tuple[Any, ...]]) -> int:
        """Calls captured as plain tuples in `Captured` order (`entry.capture`)."""
        if not calls:
            return 0
        rows = [self.rows.row(c) for c in calls]
        db = self._connection()
        with db:
            db.executemany(INSERT_RESPONSE, self.rows.take_responses())
            db.executemany(INSERT, rows)
        self.written += len(rows)
        return len(rows)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
