"""A graded run: each gate passed or violated, each criterion met / unmet / not applicable with its evidence (the
journal rows by seq, the state paths, the judge's reason), and the reward those make."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MET, UNMET, NOT_APPLICABLE = "met", "unmet", "n/a"


@dataclass
class GateResult:
    rule: str
    passed: bool
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class CriterionResult:
    """`value` in [0, 1] (None when not applicable); `status` met (1.0), unmet (below), n/a (left out)."""

    name: str
    kind: str
    weight: float
    value: float | None
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.value is None:
            return NOT_APPLICABLE
        return MET if self.value >= 1.0 else UNMET


@dataclass
class Grade:
    reward: float
    gates: list[GateResult] = field(default_factory=list)
    criteria: list[CriterionResult] = field(default_factory=list)

    @property
    def violated(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def subscores(self) -> dict[str, float]:
        """Applicable criteria by name: what the eval summary averages per scenario."""
        return {c.name: c.value for c in self.criteria if c.value is not None}

    def notes(self) -> list[str]:
        out = [f"gate violated ({g.rule}): {g.reason}" for g in self.violated]
        out += [f"{c.name}: {c.status}: {c.reason}" for c in self.criteria if c.status != MET and c.reason]
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One `scores` row per gate and criterion (the results DB's shape; `run_id` added by the store)."""
        rows = [{"criterion": g.rule, "kind": "gate", "status": "passed" if g.passed else "violated",
                 "value": 1.0 if g.passed else 0.0, "weight": 0.0,
                 "evidence": {**g.evidence, "reason": g.reason}} for g in self.gates]  # fmt: skip
        rows += [{"criterion": c.name, "kind": c.kind, "status": c.status, "value": c.value, "weight": c.weight,
                  "evidence": {**c.evidence, "reason": c.reason}} for c in self.criteria]  # fmt: skip
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"reward": self.reward, "gates": [asdict(g) for g in self.gates],
                "criteria": [{**asdict(c), "status": c.status} for c in self.criteria]}  # fmt: skip
