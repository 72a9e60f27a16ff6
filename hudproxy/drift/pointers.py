"""JSON pointers (RFC 6901) and the patterns that name volatile fields: `/items/*/id` (`*`: any one segment).

A pattern also covers everything below the node it names, so `/meta` ignores `/meta/etag` too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hudproxy.errors import ConfigError

ANY = "*"


def escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def pointer(segments: Iterable[str | int]) -> str:
    """`("items", 0, "id")` -> `/items/0/id`; no segments is the whole document, ``."""
    return "".join("/" + escape(str(s)) for s in segments)


def segments_of(text: str) -> tuple[str, ...]:
    """`/items/0/id` -> `("items", "0", "id")`; ConfigError for text that is not a pointer."""
    if text == "":
        return ()
    if not text.startswith("/"):
        raise ConfigError(f"{text!r} is not a JSON pointer: it starts with `/`, e.g. /items/*/updated_at")
    return tuple(unescape(s) for s in text[1:].split("/"))


def generalised(segments: tuple[str, ...]) -> tuple[str, ...]:
    """Array positions as `*`: a field that changes in item 0 changes in every item (ids, timestamps)."""
    return tuple(ANY if s.isdigit() else s for s in segments)


@dataclass(frozen=True)
class PointerPatterns:
    """A set of pointer patterns, matched segment by segment (a node is covered when a pattern is its prefix)."""

    patterns: frozenset[tuple[str, ...]] = frozenset()

    @classmethod
    def parse(cls, texts: Iterable[str]) -> PointerPatterns:
        return cls(frozenset(segments_of(t) for t in texts))

    def covers(self, path: tuple[str, ...]) -> bool:
        for pattern in self.patterns:
            if len(pattern) <= len(path) and all(p in (ANY, s) for p, s in zip(pattern, path, strict=False)):
                return True
        return False

    def texts(self) -> list[str]:
        return sorted(pointer(p) for p in self.patterns)

    def __or__(self, other: PointerPatterns) -> PointerPatterns:
        return PointerPatterns(self.patterns | other.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)
