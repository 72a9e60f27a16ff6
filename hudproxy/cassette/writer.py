"""Incremental, crash-safe cassette writing while recording.

Each new interaction marks the cassette dirty; a background thread rewrites the file atomically (temp file,
fsync, rename) as soon as it can. The request path never waits on disk, a SIGKILL loses at most the
interactions not yet flushed (normally only the one in flight), and the file on disk is always complete.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from hudproxy.cassette.files import save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.interaction.model import Interaction


class CassetteWriter:
    def __init__(self, cassette: Cassette, path: str | Path) -> None:
        self.cassette = cassette
        self.path = Path(path)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._dirty = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hudproxy-cassette-writer", daemon=True)
        self._thread.start()

    def append(self, interaction: Interaction) -> Interaction:
        """Add one interaction (numbered in recorded order) and schedule a save."""
        with self._wake:
            numbered = replace(interaction, index=len(self.cassette.interactions))
            self.cassette.interactions.append(numbered)
            self._dirty = True
            self._wake.notify()
        return numbered

    def flush(self) -> None:
        """Save now, synchronously (also used at a clean stop)."""
        with self._lock:
            snapshot = Cassette(list(self.cassette.interactions), dict(self.cassette.meta), self.path)
            self._dirty = False
        save_cassette(snapshot, self.path)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._dirty and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
            self.flush()
