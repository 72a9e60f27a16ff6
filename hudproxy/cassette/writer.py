"""Incremental, crash-safe cassette writing while recording.

Each new interaction marks the cassette dirty; a background thread writes it as soon as it can (an append,
or an atomic rewrite). The request path never waits on disk, a SIGKILL loses at most the interactions not yet
flushed (normally only the one in flight), and the file on disk is always complete.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

from hudproxy.cassette.files import dumps_yaml_items, is_json_path, save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.interaction.mcp import is_mcp
from hudproxy.interaction.model import Interaction


class CassetteWriter:
    """Writes a growing cassette: appends new HTTP interactions to a YAML file, rewrites it atomically otherwise.

    Appending costs O(1) per interaction, so long recordings stay cheap. Each append is one `write()` of
    complete YAML items followed by fsync: a killed process leaves the items it wrote whole, never half an
    item. A rewrite (temp file, fsync, rename) is used for the first write, for JSON cassettes, and when an
    MCP exchange or the metadata must go in the middle of the file.
    """

    def __init__(self, cassette: Cassette, path: str | Path, on_disk: int = 0) -> None:
        """`on_disk`: how many of `cassette`'s interactions the file already holds (a cassette loaded from it), so
        closing with nothing new leaves the file untouched."""
        self.cassette = cassette
        self.path = Path(path)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._io_lock = threading.Lock()
        self._dirty = False
        self._closed = False
        self._written = on_disk  # interactions already on disk
        self._appendable = False  # the file on disk ends inside a non-empty block `interactions:` list
        self._thread = threading.Thread(target=self._run, name="hudproxy-cassette-writer", daemon=True)
        self._thread.start()

    def append(self, interaction: Interaction) -> Interaction:
        """Add one interaction (numbered in recorded order) and schedule a write."""
        with self._wake:
            numbered = replace(interaction, index=len(self.cassette.interactions))
            self.cassette.interactions.append(numbered)
            self._dirty = True
            self._wake.notify()
        return numbered

    def flush(self) -> None:
        """Write what is not on disk yet, synchronously (also used at a clean stop)."""
        with self._io_lock:
            with self._lock:
                everything = list(self.cassette.interactions)
                meta = dict(self.cassette.meta)
                self._dirty = False
            new = everything[self._written :]
            if self._written and not new:
                return
            if self._appendable and not any(is_mcp(i) for i in new):
                self._append(new)
            else:
                save_cassette(Cassette(everything, meta, self.path), self.path)
                self._appendable = not is_json_path(self.path) and any(not is_mcp(i) for i in everything)
            self._written = len(everything)

    def _append(self, new: list[Interaction]) -> None:
        payload = dumps_yaml_items(new)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            os.close(fd)

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
