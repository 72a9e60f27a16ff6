"""The cassette index: a dict from a request's normalised key to the interactions recorded under it.

Lookup is one hash of the live request's key, so replay speed does not fall as the cassette grows. The same
per-interaction keys make near-miss search cheap: compare aspect keys first, explain only the best few.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from hudproxy.cassette.files import gc_paused
from hudproxy.interaction.headers import header_value
from hudproxy.interaction.model import Interaction, Request
from hudproxy.matching.aspects import matchers_for
from hudproxy.matching.policy import MatchPolicy

RequestKey = tuple[Hashable, ...]
MEMO_SIZE = 65_536


@dataclass(frozen=True)
class NearMiss:
    """A recorded request close to the live one, and exactly what differs."""

    interaction: Interaction
    differences: list[str]
    distance: int


class CassetteIndex:
    """Read-only after construction, so any number of sessions can share it."""

    def __init__(self, interactions: Sequence[Interaction], policy: MatchPolicy) -> None:
        self.policy = policy
        self.matchers = matchers_for(policy)
        self.interactions = list(interactions)
        self.keys: list[RequestKey] = []
        self.by_key: dict[RequestKey, list[int]] = {}
        self.writes_before: list[int] = []
        self.is_write: list[bool] = []
        self._memo: dict[tuple[object, ...], RequestKey] = {}
        with gc_paused():
            self._build()

    def _build(self) -> None:
        writes = 0
        for position, interaction in enumerate(self.interactions):
            key = self.key(interaction.request)
            self.keys.append(key)
            self.by_key.setdefault(key, []).append(position)
            self.writes_before.append(writes)
            write = self.policy.writes.is_write(interaction.request)
            self.is_write.append(write)
            writes += write

    def __len__(self) -> int:
        return len(self.interactions)

    def key(self, request: Request) -> RequestKey:
        policy = self.policy
        return tuple([m.key(request, policy) for m in self.matchers])

    def live_key(self, request: Request) -> RequestKey:
        """`key`, memoised on the request's raw form: agents and load tests repeat the same requests."""
        body = request.body
        fingerprint: tuple[object, ...] = (request.method, request.url, body)
        if body:
            fingerprint += (
                header_value(request.headers, "content-type"),
                header_value(request.headers, "content-encoding"),
            )
        key = self._memo.get(fingerprint)
        if key is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            key = self._memo[fingerprint] = self.key(request)
        return key

    def candidates(self, request: Request) -> list[int] | None:
        """Positions recorded under the same key, in recorded order; None when nothing matches."""
        return self.by_key.get(self.live_key(request))

    def nearest(self, request: Request, limit: int = 3) -> list[NearMiss]:
        """The `limit` closest recorded requests with different keys, closest first."""
        live = self.key(request)
        matchers = self.matchers
        seen: dict[RequestKey, int] = {}
        mcp = request.url.startswith("mcp://")
        for position, key in enumerate(self.keys):
            if key not in seen and self.interactions[position].request.url.startswith("mcp://") is mcp:
                seen[key] = position  # an HTTP request is never "near" an MCP call, nor the other way round
        coarse = heapq.nsmallest(
            limit * 4,
            seen.items(),
            key=lambda item: (
                sum(m.distance(a, b) for m, a, b in zip(matchers, live, item[0], strict=True) if a != b),
                item[1],
            ),
        )
        misses = [self._explain(request, position) for _, position in coarse]
        misses.sort(key=lambda m: (m.distance, m.interaction.index))
        return misses[:limit]

    def _explain(self, request: Request, position: int) -> NearMiss:
        recorded = self.interactions[position]
        differences: list[str] = []
        for matcher in self.matchers:
            differences.extend(matcher.differences(request, recorded.request, self.policy))
        live, theirs = self.key(request), self.keys[position]
        distance = sum(m.distance(a, b) for m, a, b in zip(self.matchers, live, theirs, strict=True))
        return NearMiss(recorded, differences, distance + len(differences))
