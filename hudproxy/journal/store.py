"""Writing captured calls into the journal file: one transaction per batch, on a plain sqlite3 connection.

The file is created and migrated (`schema.open_journal`) and the run registered (`schema.start_run`) by the
writer before anything is stored here, so this side needs no sqlite-utils: it is what the journal's worker
process runs.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

from hudproxy.journal.rows import HOT_COLUMNS, LOG_COLUMNS, REQUEST_COLUMNS, RowBuilder
from hudproxy.journal.tables import CALL_LOG, REQUESTS, RESPONSES
from hudproxy.scrub.policy import ScrubPolicy


def _insert(table: str, columns: Sequence[str], verb: str = "insert") -> str:
    return f"{verb} into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})"


log = logging.getLogger("hudproxy.journal")

INSERT_RESPONSE = _insert(RESPONSES, ("run", "interaction", "status", "response_body"), "insert or ignore")
INSERT_REQUEST = _insert(REQUESTS, REQUEST_COLUMNS)
INSERT_HOT = _insert(CALL_LOG, HOT_COLUMNS)
INSERT_FULL = _insert(CALL_LOG, LOG_COLUMNS)


class JournalStore:
    """Rows into one journal file, for one run; `write` is one transaction, so a batch is all there or not at all."""

    def __init__(self, path: str, scrub: ScrubPolicy, run: int | None = None) -> None:
        self.path = path
        self.rows = RowBuilder(scrub, run, self._store_request)
        self.written = 0
        self.lost = 0  # calls in batches SQLite refused
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL (set on the file by open_journal): safe and fast
        return self._db

    def _store_request(self, row: tuple[Any, ...]) -> int:
        return self._connection().execute(INSERT_REQUEST, row).lastrowid or 0

    def write(self, calls: Sequence[tuple[Any, ...]]) -> int:
        """Calls captured as plain tuples in `Captured` order (`entry.capture`); returns how many were written.

        A batch SQLite refuses (disk full, a lock held past the timeout) is logged and dropped, and the journal
        goes on with the next one; the recorded responses it carried are stored with the next batch, since the
        serving side sends each only once."""
        if not calls:
            return 0
        db = self._connection()
        taken: list[tuple[int | None, int, int, str | None]] = []
        try:
            with db:  # the requests a batch stores first are in the same transaction as its rows
                hot, full = self.rows.rows(calls)
                taken = self.rows.take_responses()
                db.executemany(INSERT_RESPONSE, taken)
                db.executemany(INSERT_HOT, hot)
                db.executemany(INSERT_FULL, full)
        except BaseException as exc:
            self.rows.forget(taken)
            if not isinstance(exc, sqlite3.Error):
                raise
            self.lost += len(calls)
            log.error("journal %s: %d calls not written (%s); %d lost so far", self.path, len(calls), exc, self.lost)
            return 0
        self.written += len(calls)
        return len(calls)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
