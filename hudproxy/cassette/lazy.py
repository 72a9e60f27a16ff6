"""A cassette's interactions read from a memory-mapped compiled image, one at a time, as they are asked for.

A replay server touches the interactions it serves; a 100,000-interaction cassette that answers a few hundred
distinct requests should cost the memory of those, not of the file. Each interaction's method and URL are kept
(cheap, and what start-up scans: MCP listings, the hosts a remote warning names); everything else is sliced
from the map and inflated on first use, then kept.
"""

from __future__ import annotations

import marshal
import mmap
import struct
import threading
from collections.abc import Iterator, Sequence
from typing import Any, overload

from hudproxy.errors import CassetteError
from hudproxy.interaction.model import Chunk, Interaction, Request, Response

OFFSET = struct.Struct("<Q")


def inflate(row: tuple[Any, ...], position: int) -> Interaction:
    method, url, qh, qb, status, reason, rh, rb, chunks, recorded_at, duration, extra = row
    return Interaction(
        Request(method, url, qh, qb),
        Response(status, reason, rh, rb, tuple(Chunk(s, a) for s, a in chunks)),
        position,
        recorded_at,
        duration,
        extra,
    )


class LazyInteractions(Sequence[Interaction]):
    """Read-only, shared by every session; safe from worker threads (inflation takes a lock)."""

    def __init__(self, mapped: mmap.mmap, table_at: int, methods: list[str], urls: list[str], entry: str) -> None:
        self._map = mapped
        self._table_at = table_at
        self._rows_at = table_at + (len(urls) + 1) * OFFSET.size
        self.methods = methods
        self.urls = urls
        self.entry = entry  # the cache file, named when a row is damaged
        self._inflated: dict[int, Interaction] = {}
        self._lock = threading.Lock()
        end = self._offset(len(urls))
        if self._rows_at + end > len(mapped):
            raise ValueError("the image is shorter than its offsets say")

    def __len__(self) -> int:
        return len(self.urls)

    @overload
    def __getitem__(self, index: int) -> Interaction: ...

    @overload
    def __getitem__(self, index: slice) -> list[Interaction]: ...

    def __getitem__(self, index: int | slice) -> Interaction | list[Interaction]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        found = self._inflated.get(index)
        if found is None:
            if not 0 <= index < len(self):
                raise IndexError(index)
            found = self._inflate_checked(index)
        return found

    def __iter__(self) -> Iterator[Interaction]:
        for i in range(len(self)):
            yield self[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @property
    def inflated(self) -> int:
        """How many interactions have been read from the map so far (what memory grows with)."""
        return len(self._inflated)

    def positions_where_url_starts(self, prefix: str) -> list[int]:
        """Positions whose URL starts with `prefix`, without inflating anything (`mcp://` listings at start)."""
        return [i for i, url in enumerate(self.urls) if url.startswith(prefix)]

    def _offset(self, i: int) -> int:
        return int(OFFSET.unpack_from(self._map, self._table_at + i * OFFSET.size)[0])

    def inflate_unchecked(self, index: int) -> Interaction:
        start, end = self._offset(index), self._offset(index + 1)
        return inflate(marshal.loads(self._map[self._rows_at + start : self._rows_at + end]), index)

    def _inflate_checked(self, index: int) -> Interaction:
        from hudproxy.cassette.mcp_section import still_sound

        with self._lock:
            found = self._inflated.get(index)
            if found is not None:
                return found
            try:
                found = self.inflate_unchecked(index)
            except (EOFError, ValueError, TypeError) as exc:
                raise self._damaged(index, str(exc)) from None
            if not still_sound(found):
                raise self._damaged(index, "it fails the loader's checks")
            self._inflated[index] = found
            return found

    def _damaged(self, index: int, why: str) -> CassetteError:
        return CassetteError(
            f"{self.entry}: interaction {index} of this compiled cache entry is damaged ({why}); delete the file "
            "(hudproxy parses the cassette again) and restart."
        )

    def close(self) -> None:
        self._map.close()


def positions_where_url_starts(interactions: Sequence[Interaction], prefix: str) -> list[int]:
    """The same for any sequence: a lazy one answers from its URLs, a list by looking."""
    if isinstance(interactions, LazyInteractions):
        return interactions.positions_where_url_starts(prefix)
    return [i for i, interaction in enumerate(interactions) if interaction.request.url.startswith(prefix)]


def request_lines(interactions: Sequence[Interaction]) -> Iterator[tuple[str, str]]:
    """(method, url) of each interaction, without inflating a lazy one."""
    if isinstance(interactions, LazyInteractions):
        return zip(interactions.methods, interactions.urls, strict=True)
    return ((i.request.method, i.request.url) for i in interactions)


def scan(interactions: Sequence[Interaction]) -> Iterator[Interaction]:
    """Every interaction once, for a pass that keeps none of them (computing index keys): a lazy sequence
    inflates each without keeping it, so the pass does not leave the whole cassette in memory."""
    if isinstance(interactions, LazyInteractions):
        return (interactions.inflate_unchecked(i) for i in range(len(interactions)))
    return iter(interactions)
