"""The index's own compiled cache: each interaction's match key, computed once per (cassette, policy, matching
code) and stored beside the cassette's compiled image, so a 100,000-interaction replay starts without computing
100,000 keys (seconds) and without inflating an interaction.

Keyed by the cassette's SHA-256 (`Cassette.digest`, set when it was opened from its image), a fingerprint of
the match policy (aspects, ignored names, scrub names and key, write rules) and the source of the modules that
compute keys, so a change to any of them is a new entry rather than a stale one. Best effort both ways: an
entry that cannot be read is rebuilt, one that cannot be written only costs the next start its speed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import marshal
import os
from array import array
from collections.abc import Hashable
from functools import cache
from pathlib import Path

from hudproxy.cassette.compiled import cache_dir
from hudproxy.matching.policy import MatchPolicy

INDEX_LAYOUT = 2  # 2: the session each interaction was recorded in
KEY_MODULES = ("matching/aspects.py", "matching/index.py", "matching/policy.py", "matching/writes.py", "scrub")

RequestKey = tuple[Hashable, ...]


@dataclasses.dataclass(frozen=True)
class IndexImage:
    by_key: dict[RequestKey, list[int]]  # key -> positions recorded under it, in recorded order
    is_write: bytes  # one byte per interaction
    is_mcp: bytes
    recorded_session: dict[int, str] = dataclasses.field(default_factory=dict)  # position -> X-Hudproxy-Session

    def keys(self) -> list[RequestKey]:
        """Each position's key (near-miss search walks them; built on the first miss, not at start)."""
        keys: list[RequestKey] = [()] * len(self.is_write)
        for key, positions in self.by_key.items():
            for position in positions:
                keys[position] = key
        return keys


def _canonical(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, _canonical(getattr(value, f.name))) for f in dataclasses.fields(value) if f.compare)
    if isinstance(value, frozenset | set):
        return tuple(sorted(repr(_canonical(v)) for v in value))
    if isinstance(value, tuple | list):
        return tuple(_canonical(v) for v in value)
    return repr(value)


@cache
def _code_fingerprint() -> str:
    """The source of what computes keys: an edited matcher invalidates every stored index."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for name in KEY_MODULES:
        target = root / name
        for path in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def image_path(digest: str, policy: MatchPolicy) -> Path:
    fingerprint = hashlib.sha256()
    fingerprint.update(repr((INDEX_LAYOUT, _canonical(policy))).encode())
    fingerprint.update(hashlib.sha256(policy.scrub.key).digest())
    fingerprint.update(_code_fingerprint().encode())
    return cache_dir() / "index" / f"{digest}-{fingerprint.hexdigest()[:32]}.marshal"


def load(digest: str | None, policy: MatchPolicy, count: int) -> IndexImage | None:
    if digest is None:
        return None
    try:
        by_key, is_write, is_mcp, sessions = marshal.loads(image_path(digest, policy).read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(by_key, dict) and isinstance(sessions, dict) and len(is_write) == len(is_mcp) == count):
        return None
    return IndexImage(by_key, bytes(is_write), bytes(is_mcp), sessions)


def save(digest: str | None, policy: MatchPolicy, image: IndexImage) -> None:
    if digest is None:
        return
    target = image_path(digest, policy)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps((image.by_key, image.is_write, image.is_mcp, image.recorded_session)))
        os.replace(tmp, target)
    except (OSError, ValueError):
        return


def writes_before(is_write: bytes) -> array:
    """How many writes precede each position (the state-aware rule's counter)."""
    return array("q", itertools.accumulate(is_write, initial=0))[:-1] if is_write else array("q")
