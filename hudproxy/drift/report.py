"""The report of one `verify` run: a result per interaction, the tool changes, and what was learned or updated.

Plain data with `to_dict` for `--json`; the CLI renders the table. Exit status: 1 when anything is breaking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from hudproxy.drift.responses import ResponseDrift
from hudproxy.drift.tools import ToolChange
from hudproxy.drift.volatile import Volatile


class Verdict(StrEnum):
    SAME = "same"  # nothing changed outside the volatile fields
    DRIFTED = "drifted"  # changed, but a client written against the recording still works
    BREAKING = "breaking"  # a field removed, a type changed, a status of another class, or no answer at all
    SKIPPED = "skipped"  # not sent: a write without --include-writes, or a secret verify does not have
    FAILED = "failed"  # sent, and the live system did not answer


@dataclass
class InteractionResult:
    index: int
    request: str
    kind: str = "http"  # or "mcp"
    drift: ResponseDrift | None = None
    skipped: str | None = None
    failed: str | None = None
    updated: bool = False

    @property
    def verdict(self) -> Verdict:
        if self.skipped is not None:
            return Verdict.SKIPPED
        if self.failed is not None:
            return Verdict.FAILED
        assert self.drift is not None
        if self.drift.breaking:
            return Verdict.BREAKING
        return Verdict.DRIFTED if self.drift.drifted else Verdict.SAME

    def lines(self) -> list[str]:
        if self.skipped is not None:
            return [self.skipped]
        if self.failed is not None:
            return [self.failed]
        assert self.drift is not None
        return self.drift.lines()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "request": self.request, "kind": self.kind,
                               "verdict": self.verdict.value, "updated": self.updated}  # fmt: skip
        if self.skipped is not None:
            out["reason"] = self.skipped
        if self.failed is not None:
            out["error"] = self.failed
        if self.drift is not None:
            out["status"] = {"recorded": self.drift.status_before, "live": self.drift.status_after,
                             "breaking": self.drift.status_breaking}  # fmt: skip
            out["headers"] = [h.to_dict() for h in self.drift.headers]
            out["body"] = [c.to_dict() for c in self.drift.body]
            out["ignored"] = self.drift.ignored
        return out


@dataclass
class VerifyReport:
    cassette: str
    against: str | None = None
    mcp: str | None = None
    results: list[InteractionResult] = field(default_factory=list)
    tools: list[ToolChange] = field(default_factory=list)
    learned: Volatile | None = None
    volatile_file: str | None = None
    updated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def http(self) -> bool:
        """Whether the cassette held HTTP interactions (sent or skipped)."""
        return any(r.kind == "http" for r in self.results)

    @property
    def breaking(self) -> bool:
        bad = (Verdict.BREAKING, Verdict.FAILED)
        return any(r.verdict in bad for r in self.results) or any(t.breaking for t in self.tools)

    def counts(self) -> dict[str, int]:
        found = {v.value: 0 for v in Verdict}
        for result in self.results:
            found[result.verdict.value] += 1
        return found

    def summary(self) -> str:
        counts = self.counts()
        parts = [f"{counts[v.value]} {v.value}" for v in Verdict if counts[v.value]]
        text = f"{len(self.results)} interactions: " + (", ".join(parts) or "none sent")
        if self.tools:
            breaking = sum(t.breaking for t in self.tools)
            flagged = sum(t.flagged for t in self.tools)
            text += f"; {len(self.tools)} tools changed ({breaking} breaking, {flagged} descriptions changed)"
        if self.updated:
            text += f"; {self.updated} updated in {self.cassette}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "cassette": self.cassette,
            "against": self.against,
            "mcp": self.mcp,
            "breaking": self.breaking,
            "counts": self.counts(),
            "interactions": [r.to_dict() for r in self.results],
            "tools": [t.to_dict() for t in self.tools],
            "learned": None if self.learned is None else self.learned.to_dict(),
            "volatile_file": self.volatile_file,
            "updated": self.updated,
            "notes": self.notes,
        }
