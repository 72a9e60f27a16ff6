"""Batched journal writes, off the request path and, by default, out of the serving process.

The request path captures a call into plain values (`entry.capture`), marshals it and appends it to a deque
(thread-safe, no lock). While calls arrive, a thread ships what has accumulated every `interval` (5 ms) to the
journal's worker process (`worker.py`), which builds the rows and inserts them in one transaction on another core;
an idle writer sleeps. Without a worker
(`HUDPROXY_JOURNAL_WORKER=0`, or if it cannot start or dies) the same thread writes the rows itself.

A clean stop flushes everything; a crash of the server loses at most one interval (5 ms): the worker still writes
every batch it received.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import marshal
import os
import threading
from pathlib import Path

from hudproxy.errors import JournalError
from hudproxy.journal.entry import Pending, capture
from hudproxy.journal.schema import open_connection, start_run
from hudproxy.journal.store import JournalStore
from hudproxy.journal.worker import WorkerGone, WorkerProcess
from hudproxy.matching.outcome import Outcome
from hudproxy.scrub.policy import ScrubPolicy

log = logging.getLogger("hudproxy.journal")
WORKER_ENV = "HUDPROXY_JOURNAL_WORKER"
# Short batches: each fits the pipe's buffer (64 KiB) and the worker's bursts stay short. Measured on 2 cores,
# 1,000 sessions (bench/sessions_bench.py, paired rounds): replay at 0.91 of --no-journal with 5 ms batches,
# 0.87-0.89 with 10-20 ms (the server idles while the worker's longer bursts hold wrk's core), 0.90 with 2.5 ms.
BATCH_INTERVAL = 0.005
IDLE_CHECK = 1.0  # an idle writer wakes this often at most (a call added in a race with a shipment waits this long)


def worker_wanted() -> bool:
    return os.environ.get(WORKER_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


class JournalWriter:
    def __init__(
        self,
        path: str | Path,
        scrub: ScrubPolicy | None = None,
        interval: float = BATCH_INTERVAL,
        source: str = "",
        worker: bool | None = None,
    ) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            message = f"{self.path}: cannot create its folder ({exc.strerror}); give a writable path."
            raise JournalError(message) from None
        self.scrub = scrub or ScrubPolicy.default()
        self.interval = interval
        # each writer is a run of its own: recorded responses are stored once per (run, interaction), since a
        # cassette re-recorded at the same path numbers different responses the same
        started = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        self.source = f"{source}@{started}" if source else ""
        self._pending: collections.deque[bytes] = collections.deque()  # marshalled captured calls
        self._shipped: set[int] = set()  # interactions whose recorded response has gone to the writer
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._work = threading.Event()  # set when a call arrives in an empty queue: an idle writer sleeps
        self._closed = False  # a plain attribute: read on every request, cheaper than Event.is_set()
        db = open_connection(str(self.path))  # create and migrate before the first request
        try:
            self.run = start_run(db, self.source, started)
        finally:
            db.close()
        self._store: JournalStore | None = None
        self._worker = self._start_worker() if (worker_wanted() if worker is None else worker) else None
        self._thread = threading.Thread(target=self._run, name="hudproxy-journal", daemon=True)
        self._thread.start()

    @property
    def uses_worker(self) -> bool:
        return self._worker is not None

    def add(self, pending: Pending) -> None:
        self.record(*pending)

    def record(
        self,
        session: str,
        seq: int,
        started: float,
        duration_ms: float,
        outcome: Outcome,
        kind: str = "http",
        parent: int | None = None,
    ) -> None:
        """`add` without building a Pending first: what the replay servers call on every request."""
        call = capture(session, seq, started, duration_ms, outcome, kind, parent, self._shipped)
        pending = self._pending
        pending.append(marshal.dumps(call, 2))  # bytes: nothing for the garbage collector to traverse
        if len(pending) == 1:
            self._work.set()
        if self._closed:  # closed already: write now rather than lose a late call
            self.flush()

    def flush(self) -> int:
        """Write everything queued so far; when this returns it is readable in the file. Returns how many calls
        were queued. Safe from any thread."""
        with self._write_lock:
            batch = self._take()
            self._write(batch, wait=True)
            return len(batch)

    def close(self) -> None:
        self._closed = True
        self._stop.set()
        self._work.set()
        self._thread.join(timeout=10)
        self.flush()
        with self._write_lock:
            if self._worker is not None:
                code = self._worker.close()
                self._worker = None
                if code:
                    log.warning("journal worker exited with code %s", code)
            if self._store is not None:
                self._store.close()
                self._store = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._work.wait(IDLE_CHECK)
            if self._stop.wait(self.interval):  # let a batch gather; close() interrupts and flushes
                return
            self._work.clear()
            with self._write_lock:
                self._write(self._take(), wait=False)

    def _take(self) -> list[bytes]:
        batch = []
        while self._pending:
            batch.append(self._pending.popleft())
        return batch

    def _write(self, batch: list[bytes], wait: bool) -> None:
        """(Under the lock.) Ship to the worker, or write here if there is none or it has died."""
        if self._worker is not None:
            try:
                if batch:
                    self._worker.ship(batch)
                if wait:
                    self._worker.flush()
                return
            except WorkerGone as exc:
                log.error("%s: writing the journal %s from the server process from now on", exc, self.path)
                self._worker = None
                self._shipped.clear()  # recorded responses the worker may not have stored travel again
        if self._store is None:
            self._store = JournalStore(str(self.path), self.scrub, self.run)
        self._store.write([marshal.loads(call) for call in batch])

    def _start_worker(self) -> WorkerProcess | None:
        try:
            return WorkerProcess(str(self.path), self.scrub, self.run)
        except (OSError, WorkerGone) as exc:
            log.warning("journal worker did not start (%s): writing the journal from the server process", exc)
            return None
