"""The cassette index: a dict from a request's normalised key to the interactions recorded under it.

Lookup is one hash of the live request's key, so replay speed does not fall as the cassette grows. The same
per-interaction keys make near-miss search cheap: compare aspect keys first, explain only the best few.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property

from hudproxy.cassette.files import gc_paused
from hudproxy.cassette.lazy import LazyInteractions, request_lines, scan
from hudproxy.interaction.headers import header_value
from hudproxy.interaction.model import Interaction, Request
from hudproxy.matching import image
from hudproxy.matching.aspects import BodyMatcher, matchers_for
from hudproxy.matching.policy import MatchPolicy

RequestKey = tuple[Hashable, ...]
SESSION_HEADER = "x-hudproxy-session"  # a session's calls recorded through a replay server keep its id
MEMO_BYTES = 32 * 1024 * 1024  # what the live-key memo may hold, whatever the requests' sizes
ENTRY_OVERHEAD = 400  # the dict slot, the tuples, the digest and the small strings of one entry


@dataclass(frozen=True)
class NearMiss:
    """A recorded request close to the live one, and exactly what differs."""

    interaction: Interaction
    differences: list[str]
    distance: int


class CassetteIndex:
    """Read-only after construction, so any number of sessions can share it."""

    def __init__(self, interactions: Sequence[Interaction], policy: MatchPolicy, digest: str | None = None) -> None:
        """`digest`: the cassette's SHA-256 when it came from its compiled image; the keys are then read from
        the index's own cache when it has them (and stored there once computed), see matching/image.py."""
        self.policy = policy
        self.matchers = matchers_for(policy)
        # a lazy sequence stays lazy: an interaction is read from the map when it is first served
        self.interactions = interactions if isinstance(interactions, LazyInteractions) else list(interactions)
        self._memo = KeyMemo(MEMO_BYTES)
        with gc_paused():
            built = image.load(digest, policy, len(self.interactions))
            if built is None:
                built = self._compute()
                image.save(digest, policy, built)
        self._image = built
        self.by_key: dict[RequestKey, list[int]] = built.by_key
        self.is_write: bytes = built.is_write
        self.is_mcp: bytes = built.is_mcp
        self.writes_before = image.writes_before(built.is_write)
        self.recorded_session: dict[int, str] = built.recorded_session  # position -> its X-Hudproxy-Session

    @cached_property
    def keys(self) -> list[RequestKey]:
        """Each position's key, for near-miss search: built on the first miss, not at start."""
        return self._image.keys()

    def _compute(self) -> image.IndexImage:
        by_key: dict[RequestKey, list[int]] = {}
        is_write = bytearray()
        sessions: dict[int, str] = {}
        for position, interaction in enumerate(scan(self.interactions)):
            by_key.setdefault(self.key(interaction.request), []).append(position)
            is_write.append(self.policy.writes.is_write(interaction.request))
            session = header_value(interaction.request.headers, SESSION_HEADER)
            if session:
                sessions[position] = session
        is_mcp = bytes(url.startswith("mcp://") for _, url in request_lines(self.interactions))
        return image.IndexImage(by_key, bytes(is_write), is_mcp, sessions)

    def __len__(self) -> int:
        return len(self.interactions)

    def key(self, request: Request) -> RequestKey:
        policy = self.policy
        return tuple([m.key(request, policy) for m in self.matchers])

    def live_key(self, request: Request) -> RequestKey:
        """`key`, memoised on the request's raw form (a digest of the body, never the body): agents and load tests
        repeat the same requests. Safe to call from a worker thread."""
        fingerprint = request_fingerprint(request)
        key = self._memo.get(fingerprint)
        if key is None:
            key = self.key(request)
            self._memo.put(fingerprint, key, len(request.url) * 2)
        return key

    def candidates(self, request: Request, key: RequestKey | None = None) -> list[int] | None:
        """Positions recorded under the same key, in recorded order; None when nothing matches."""
        return self.by_key.get(self.live_key(request) if key is None else key)

    def nearest(self, request: Request, limit: int = 3, key: RequestKey | None = None) -> list[NearMiss]:
        """The `limit` closest recorded requests with different keys, closest first."""
        live = self.live_key(request) if key is None else key
        matchers = self.matchers
        seen: dict[RequestKey, int] = {}
        mcp = request.url.startswith("mcp://")
        is_mcp = self.is_mcp
        for position, key in enumerate(self.keys):
            if key not in seen and bool(is_mcp[position]) is mcp:
                seen[key] = position  # an HTTP request is never "near" an MCP call, nor the other way round
        coarse = heapq.nsmallest(
            limit * 4,
            seen.items(),
            key=lambda item: (
                sum(m.distance(a, b) for m, a, b in zip(matchers, live, item[0], strict=True) if a != b),
                item[1],
            ),
        )
        try:
            misses = [self._explain(request, position) for _, position in coarse]
        finally:
            for matcher in matchers:
                if isinstance(matcher, BodyMatcher):
                    matcher.forget()
        misses.sort(key=lambda m: (m.distance, m.interaction.index))
        return misses[:limit]

    def _explain(self, request: Request, position: int) -> NearMiss:
        """Only aspects whose keys differ are explained: equal keys have no differences to show (and a large
        body whose digest matches is not parsed again)."""
        recorded = self.interactions[position]
        live, theirs = self.live_key(request), self.keys[position]
        differences: list[str] = []
        for matcher, a, b in zip(self.matchers, live, theirs, strict=True):
            if a != b:
                differences.extend(matcher.differences(request, recorded.request, self.policy))
        distance = sum(m.distance(a, b) for m, a, b in zip(self.matchers, live, theirs, strict=True))
        return NearMiss(recorded, differences, distance + len(differences))


def request_fingerprint(request: Request) -> tuple[object, ...]:
    """What a live request's key depends on, with the body as a 20-byte digest (a body is never kept)."""
    body = request.body
    if not body:
        return (request.method, request.url)
    return (
        request.method,
        request.url,
        hashlib.blake2b(body, digest_size=20).digest(),
        header_value(request.headers, "content-type"),
        header_value(request.headers, "content-encoding"),
    )


class KeyMemo:
    """Fingerprint -> key, holding at most about `budget` bytes: the oldest entries go first.

    Keys are tuples of small values (body digests, not bodies), so an entry's weight is the URL it carries
    twice (fingerprint and key) plus a fixed overhead. Shared by the event loop and worker threads: a lock.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.weight = 0
        self._entries: dict[tuple[object, ...], tuple[RequestKey, int]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, fingerprint: tuple[object, ...]) -> RequestKey | None:
        entry = self._entries.get(fingerprint)
        return None if entry is None else entry[0]

    def put(self, fingerprint: tuple[object, ...], key: RequestKey, size: int) -> None:
        weight = size + ENTRY_OVERHEAD
        if weight > self.budget:
            return
        with self._lock:
            previous = self._entries.pop(fingerprint, None)
            if previous is not None:
                self.weight -= previous[1]
            while self._entries and self.weight + weight > self.budget:
                oldest = next(iter(self._entries))
                self.weight -= self._entries.pop(oldest)[1]
            self._entries[fingerprint] = (key, weight)
            self.weight += weight
