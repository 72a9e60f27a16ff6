"""What the inspector shows: cassettes (loaded once, on first look), a journal and a results database.

A journal is reached through a callable, so a running replay server can flush what it has queued before a page
reads it; `hudproxy ui` hands a plain path.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hudproxy.cassette.files import load_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.errors import ConfigError
from hudproxy.replay.service import ReplayService
from hudproxy.ui.queries.cassettes import CassetteIndex

JournalPath = Callable[[], Path | None]


@dataclass
class CassetteSource:
    """One cassette under a URL-safe name (its file's stem): the name is what makes interaction links stable."""

    name: str
    load: Callable[[], Cassette]
    _cassette: Cassette | None = None
    _index: CassetteIndex | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_path(cls, name: str, path: Path) -> CassetteSource:
        return cls(name, lambda: load_cassette(path))

    @classmethod
    def from_cassette(cls, name: str, cassette: Cassette) -> CassetteSource:
        return cls(name, lambda: cassette)

    @property
    def cassette(self) -> Cassette:
        self._ready()
        assert self._cassette is not None
        return self._cassette

    @property
    def index(self) -> CassetteIndex:
        """The table of summaries, built once (in the background): every filtered page is a LIMIT query on it."""
        self._ready()
        assert self._index is not None
        return self._index

    def _ready(self) -> None:
        with self._lock:
            if self._cassette is None:
                self._cassette = self.load()
                self._index = CassetteIndex(self._cassette)


@dataclass
class Sources:
    cassettes: dict[str, CassetteSource] = field(default_factory=dict)
    journal: JournalPath = lambda: None
    results: Path | None = None

    @classmethod
    def from_files(cls, cassettes: list[Path], journal: Path | None, results: Path | None) -> Sources:
        """`hudproxy ui`'s arguments, checked: a missing file is a ConfigError naming the option."""
        for path in cassettes:
            if not path.is_file():
                raise ConfigError(f"{path}: no such cassette file; give a .yaml or .json cassette.")
        for option, path in (("--journal", journal), ("--results", results)):
            if path is not None and not path.is_file():
                raise ConfigError(f"{option} {path}: no such file; give a database hudproxy wrote.")
        named: dict[str, CassetteSource] = {}
        for path in cassettes:
            name = unique_name(path.stem, named)
            named[name] = CassetteSource.from_path(name, path)
        return cls(named, (lambda: journal), results)

    @classmethod
    def from_service(cls, service: ReplayService) -> Sources:
        """A running replay server's cassette and journal (flushed before each read, so a page shows every call
        answered so far)."""
        cassettes = {}
        if service.cassette is not None:
            name = service.cassette.path.stem if service.cassette.path else "replay"
            cassettes[name] = CassetteSource.from_cassette(name, service.cassette)

        def journal() -> Path | None:
            if service.journal is None:
                return None
            service.journal.flush()
            return service.journal.path

        return cls(cassettes, journal, None)

    def cassette(self, name: str) -> CassetteSource | None:
        return self.cassettes.get(name)


def unique_name(stem: str, taken: dict[str, object]) -> str:
    """`shop`, then `shop-2` for a second shop.yaml from another folder."""
    name, number = stem, 2
    while name in taken:
        name, number = f"{stem}-{number}", number + 1
    return name
