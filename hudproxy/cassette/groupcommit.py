"""Group commit: fsync on a background thread, once per batch of writes, never on the request path.

Every write reaches the OS before its client is answered, so a killed process loses nothing; what a power
loss can lose is the writes of the last batch not yet synced (at most `interval` seconds of them).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("hudproxy.record")
DEFAULT_INTERVAL = 0.2  # seconds between fsyncs while writes keep coming


class GroupCommit:
    """Syncs the descriptors `fds()` names whenever writes were made since the last sync.

    A failing fsync (EIO: the data did not reach the disk) is reported to `on_failure` and logged; the thread
    goes on, so a later batch is still synced.
    """

    def __init__(
        self, fds: Callable[[], list[int]], on_failure: Callable[[str], None], interval: float = DEFAULT_INTERVAL
    ) -> None:
        self._fds = fds
        self._on_failure = on_failure
        self._interval = interval
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a sync from the thread and one from `sync_now` never interleave
        self._thread = threading.Thread(target=self._run, name="hudproxy-fsync", daemon=True)
        self._thread.start()

    def written(self) -> None:
        self._dirty.set()

    def sync_now(self) -> None:
        with self._lock:
            self._dirty.clear()
            for fd in self._fds():
                try:
                    os.fsync(fd)
                except OSError as exc:
                    reason = f"fsync failed ({exc.strerror or exc}): recorded data may not be on disk"
                    log.error("%s", reason)
                    self._on_failure(reason)

    def stop(self) -> None:
        """Stop the thread, then sync what is left."""
        self._stopping.set()
        self._dirty.set()
        self._thread.join(timeout=30)
        self.sync_now()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            if self._stopping.is_set():
                return
            self._stopping.wait(self._interval)  # let a batch gather
            try:
                self.sync_now()
            except Exception:
                log.exception("the fsync thread hit an unexpected error; it goes on")
