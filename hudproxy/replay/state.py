"""State-aware selection: which of several recordings of the same request this session gets now.

The rule (documented in the README): a recording's "history" is the set of writes (non-safe requests)
recorded before it. Among the candidates for a request, prefer the one whose history best agrees with the
writes this session has actually had matched: most of its history matched first, then fewest of its history
missing. Where that does not decide, candidates go in recorded order and the last one repeats.
Candidates recorded in this very session (their `X-Hudproxy-Session` header, as an eval records each run's model
calls) come before all others: one cassette holds many runs, and each run replays its own answers.

Per-session state is two small containers, so a session costs almost nothing and shares the index.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from hudproxy.matching.index import CassetteIndex


class ReplayState:
    """What one session has done: the write interactions it matched and every interaction it was served."""

    __slots__ = ("name", "resources", "used", "writes")

    def __init__(self, name: str = "default") -> None:
        self.writes: list[int] = []
        self.used: set[int] = set()
        self.name = name  # the session's id
        self.resources: object | None = None  # its resource state under `--generalise` (hudproxy.resources)

    def choose(self, candidates: list[int], index: CassetteIndex) -> int:
        if len(candidates) == 1:
            return candidates[0]
        if index.recorded_session:
            own = [c for c in candidates if index.recorded_session.get(c) == self.name]
            candidates = own or candidates
            if len(candidates) == 1:
                return candidates[0]
        best: list[int] = []
        best_score: tuple[int, int] | None = None
        for position in candidates:
            score = self._agreement(position, index)
            if best_score is None or score > best_score:
                best, best_score = [position], score
            elif score == best_score:
                best.append(position)
        for position in best:
            if position not in self.used:
                return position
        return best[-1]

    def _agreement(self, position: int, index: CassetteIndex) -> tuple[int, int]:
        matched = bisect_left(self.writes, position)
        missing = index.writes_before[position] - matched
        return (matched, -missing)

    def commit(self, position: int, index: CassetteIndex) -> None:
        if position not in self.used:
            self.used.add(position)
            if index.is_write[position]:
                insort(self.writes, position)

    def reset(self) -> None:
        self.writes.clear()
        self.used.clear()
        self.resources = None
