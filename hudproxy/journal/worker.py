"""The journal's worker process: it builds and inserts the rows, so the serving process only captures and ships.

Row building (scrubbing, JSON, decoding) and SQLite inserts cost more than answering a replayed request; done on
the serving thread they took a third of its throughput. The writer ships each batch here, pickled, over a pipe
(`python -m hudproxy.journal.worker`, no fork of the server). Frames are `kind (1 byte) + length (8) + payload`:

- CONFIG (first): pickled (journal path, scrub policy, run id);
- ROWS: a marshalled list of marshalled captured calls (plain tuples in `Captured` order, marshalled one by one
  on the request path so the backlog is bytes the garbage collector never traverses), written in one
  transaction; marshal, not pickle: both ends are the same interpreter, and it ships a row in 0.5 us, not 2-4;
- FLUSH: the worker answers with the total of rows written (8 bytes), after everything sent before it.

The worker ignores SIGINT/SIGTERM and stops at end of input: when the server stops cleanly it sends the rest and
closes the pipe; when the server is killed the pipe closes too, and everything already shipped is still written.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import signal
import struct
import subprocess
import sys
from typing import Any, BinaryIO

CONFIG, ROWS, FLUSH = 1, 2, 3
FRAME = struct.Struct("!BQ")
COUNT = struct.Struct("!Q")


class WorkerGone(RuntimeError):
    """The worker process exited or its pipe broke."""


def read_exact(stream: BinaryIO, size: int) -> bytes | None:
    """`size` bytes, or None at a clean end of input."""
    data = stream.read(size)
    if not data:
        return None
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise EOFError(f"journal pipe closed mid-frame ({len(data)} of {size} bytes)")
        data += more
    return data


def serve(inbox: BinaryIO, outbox: BinaryIO) -> int:
    """The worker's loop; returns the number of rows written."""
    from hudproxy.journal.store import JournalStore

    store: JournalStore | None = None
    try:
        while (header := read_exact(inbox, FRAME.size)) is not None:
            kind, size = FRAME.unpack(header)
            payload = read_exact(inbox, size) if size else b""
            if kind == CONFIG:
                store = JournalStore(*pickle.loads(payload or b""))
            elif kind == ROWS and store is not None:
                store.write([marshal.loads(call) for call in marshal.loads(payload or b"")])
            elif kind == FLUSH:
                outbox.write(COUNT.pack(store.written if store is not None else 0))
                outbox.flush()
    finally:
        if store is not None:
            store.close()
    return store.written if store is not None else 0


class WorkerProcess:
    """The serving side's handle on a worker: ship batches, flush with an answer, close."""

    def __init__(self, path: str, scrub: Any, run: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hudproxy.journal.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._inbox, self._answers = self.process.stdin.fileno(), self.process.stdout
        self._send(CONFIG, pickle.dumps((path, scrub, run), pickle.HIGHEST_PROTOCOL))

    def ship(self, batch: list[bytes]) -> None:
        """Marshalled captured calls (`marshal.dumps(call, 2)`: version 2 has no back-references, the fastest)."""
        self._send(ROWS, marshal.dumps(batch, 2))

    def flush(self) -> int:
        """Every row shipped so far is in the file when this returns: the total written."""
        self._send(FLUSH, b"")
        answer = read_exact(self._answers, COUNT.size)  # type: ignore[arg-type]
        if answer is None:
            raise WorkerGone(f"journal worker exited (code {self.process.poll()})")
        return COUNT.unpack(answer)[0]

    def close(self, timeout: float = 30) -> int | None:
        """End of input: the worker writes what it has and exits; returns its exit code."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()

    def _send(self, kind: int, payload: bytes) -> None:
        data = memoryview(FRAME.pack(kind, len(payload)) + payload)
        try:
            while data:
                data = data[os.write(self._inbox, data) :]
        except OSError as exc:  # BrokenPipeError, or the pipe closed under us
            raise WorkerGone(f"journal worker is gone ({exc})") from exc


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when the worker stops: end of input
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
