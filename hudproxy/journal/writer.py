"""Batched journal writes on a background thread, off the request path.

The request path appends a small `Pending` to a deque (thread-safe, no lock); the writer thread inserts what
has accumulated every `interval` seconds in one transaction. A clean stop flushes everything; a crash loses at
most one interval (100 ms by default).
"""

from __future__ import annotations

import collections
import threading
from pathlib import Path

from hudproxy.journal.entry import ROW_COLUMNS, Pending, RowBuilder
from hudproxy.journal.schema import CALLS, RESPONSES, open_journal
from hudproxy.scrub.policy import ScrubPolicy

INSERT_RESPONSE = f"insert or ignore into {RESPONSES} (source, interaction, status, response_body) values (?, ?, ?, ?)"
INSERT = f"insert into {CALLS} ({', '.join(ROW_COLUMNS)}) values ({', '.join('?' * len(ROW_COLUMNS))})"


class JournalWriter:
    def __init__(
        self, path: str | Path, scrub: ScrubPolicy | None = None, interval: float = 0.05, source: str = ""
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.scrub = scrub or ScrubPolicy.default()
        self.interval = interval
        self._pending: collections.deque[Pending] = collections.deque()
        self._rows = RowBuilder(self.scrub, source)
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        open_journal(str(self.path)).close()  # create and migrate before the first request
        self._thread = threading.Thread(target=self._run, name="hudproxy-journal", daemon=True)
        self._thread.start()

    def add(self, pending: Pending) -> None:
        self._pending.append(pending)
        if self._stop.is_set():  # closed already: write now rather than lose a late call
            self.flush()

    def flush(self) -> int:
        """Write everything queued so far; returns the number of rows written. Safe from any thread."""
        with self._write_lock:
            batch = []
            while self._pending:
                batch.append(self._pending.popleft())
            if not batch:
                return 0
            db = self._db()
            rows = [self._rows.row(p) for p in batch]
            with db.conn:
                db.conn.executemany(INSERT_RESPONSE, self._rows.take_responses())
                db.conn.executemany(INSERT, rows)
            return len(rows)

    def _db(self):
        local = self.__dict__.setdefault("_local", threading.local())
        db = getattr(local, "db", None)
        if db is None:
            db = local.db = open_journal(str(self.path))
        return db

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()
