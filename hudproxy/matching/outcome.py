"""The answer to one request as replay and recording give it, and its near misses as data.

Below both replay (which builds outcomes) and the journal (which stores them), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hudproxy.faults.plan import FaultHit
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.matching.index import NearMiss


@dataclass(frozen=True)
class Synthesized:
    """An answer the resource model made (`--generalise`): the response, the rule that made it and the
    interactions that taught that rule (for the journal)."""

    response: Response
    rule: str
    evidence: list[int]


@dataclass
class Outcome:
    """The answer to one request, and what the journal needs to know about it."""

    request: Request
    response: Response
    interaction: Interaction | None = None
    near_misses: list[NearMiss] = field(default_factory=list)
    synthesized: Synthesized | None = None  # answered by the resource model (`--generalise`), not a recording
    fault: FaultHit | None = None  # a fault rule fired on this call (`hudproxy.faults`): the journal names it

    @property
    def matched(self) -> bool:
        return self.interaction is not None


def diagnosis_data(near: list[NearMiss]) -> list[dict[str, object]]:
    """The nearest recordings and what differs, as data, for the journal and `--json` outputs."""
    return [
        {
            "interaction": m.interaction.index,
            "request": m.interaction.request.describe(),
            "differences": m.differences,
            "distance": m.distance,
        }
        for m in near
    ]
