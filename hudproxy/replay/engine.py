"""The sans-IO replay core: `handle(request, state) -> Outcome`. No sockets, no ASGI, no mitmproxy.

Every adapter (the ASGI replay server, the mitmproxy recorder in once/new_episodes modes, later the forward
proxy and MCP) converts at its edge and calls this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from hudproxy.cassette.model import Cassette
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.matching.index import CassetteIndex, NearMiss
from hudproxy.matching.policy import MatchPolicy
from hudproxy.replay.state import ReplayState
from hudproxy.replay.unmatched import diagnosis, unmatched_response
from hudproxy.resources import ResourceModel, Synthesized, learn_model
from hudproxy.resources.generalise import follow_recording
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_request

log = logging.getLogger("hudproxy.replay")


@dataclass
class Outcome:
    """The answer to one request, and what the journal needs to know about it."""

    request: Request
    response: Response
    interaction: Interaction | None = None
    near_misses: list[NearMiss] = field(default_factory=list)
    synthesized: Synthesized | None = None  # answered by the resource model (`--generalise`), not a recording

    @property
    def matched(self) -> bool:
        return self.interaction is not None


def policies_for(
    cassette: Cassette, match: MatchPolicy | None = None, scrub: ScrubPolicy | None = None, forward: bool = False
) -> MatchPolicy:
    """The match policy to replay with: explicit options win, else what the cassette was recorded with."""
    if scrub is None:
        recorded_scrub = cassette.meta.get("scrub")
        scrub = ScrubPolicy.from_dict(recorded_scrub) if recorded_scrub else ScrubPolicy.default()
    if match is not None:
        return MatchPolicy(match.on, match.ignore_query, match.ignore_json_fields, scrub, match.writes)
    recorded_match = cassette.meta.get("match")
    if recorded_match:
        return MatchPolicy.from_dict(recorded_match, scrub=scrub)
    return MatchPolicy.build(scrub=scrub, forward=forward)


class ReplayEngine:
    """Answers requests from one cassette's index; all per-run state lives in the ReplayState passed in."""

    def __init__(self, index: CassetteIndex, context: str = "replay", model: ResourceModel | None = None) -> None:
        self.index = index
        self.context = context
        self.model = model  # set: generalise (answer what no recording matches from each session's resources)

    @classmethod
    def from_cassette(
        cls, cassette: Cassette, policy: MatchPolicy | None = None, context: str = "replay", generalise: bool = False
    ) -> ReplayEngine:
        model = learn_model(cassette) if generalise else None
        return cls(CassetteIndex(cassette.interactions, policy or policies_for(cassette)), context, model)

    def lookup(self, request: Request, state: ReplayState) -> Interaction | None:
        """The recorded interaction for this request in this session, advancing the session's state."""
        candidates = self.index.candidates(request)
        if not candidates:
            return None
        position = state.choose(candidates, self.index)
        state.commit(position, self.index)
        return self.index.interactions[position]

    def handle(self, request: Request, state: ReplayState) -> Outcome:
        interaction = self.lookup(request, state)
        if self.model is not None:
            found = follow_recording(self.model, state, request, interaction)
            if found is not None:
                return Outcome(request, found.response, None, synthesized=found)
        if interaction is not None:
            return Outcome(request, interaction.response, interaction)
        return self.unmatched(request)

    def unmatched(self, request: Request) -> Outcome:
        near = self.index.nearest(request)
        scrubbed = scrub_request(request, self.index.policy.scrub)
        log.warning("%s", diagnosis(scrubbed, near, self.context, self.index.interactions))
        return Outcome(request, unmatched_response(request, self.index.policy.scrub), None, near)
