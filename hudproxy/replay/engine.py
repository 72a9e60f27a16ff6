"""The sans-IO replay core: `handle(request, state) -> Outcome`. No sockets, no ASGI, no mitmproxy.

Every adapter (the ASGI replay server, the mitmproxy recorder in once/new_episodes modes, later the forward
proxy and MCP) converts at its edge and calls this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from hudproxy.cassette.model import Cassette
from hudproxy.interaction.model import Interaction, Request
from hudproxy.matching.index import CassetteIndex, NearMiss, RequestKey
from hudproxy.matching.outcome import Outcome
from hudproxy.matching.policy import MatchPolicy
from hudproxy.replay.state import ReplayState
from hudproxy.replay.unmatched import diagnosis, unmatched_response
from hudproxy.resources import ResourceModel, learn_model
from hudproxy.resources.generalise import follow_recording
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_request

log = logging.getLogger("hudproxy.replay")
# (scrubbed request, near misses, context, the cassette's interactions) -> the developer's log line
Describe = Callable[[Request, list[NearMiss], str, Sequence[Interaction]], str]


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
    """Answers requests from one cassette's index; all per-run state lives in the ReplayState passed in.

    `describe` words the log line for a miss; an adapter that knows a protocol better (MCP: the tool and its
    arguments) sets its own when it composes the server, so this core never imports it.
    """

    def __init__(
        self, index: CassetteIndex, context: str = "replay", model: ResourceModel | None = None, seed: int = 0
    ) -> None:
        self.index = index
        self.context = context
        self.describe: Describe = diagnosis
        self.model = model  # set: generalise (answer what no recording matches from each session's resources)
        self.seed = seed  # with the session id, fixes the new ids the model invents (`--seed`)

    @classmethod
    def from_cassette(
        cls, cassette: Cassette, policy: MatchPolicy | None = None, context: str = "replay", generalise: bool = False,
        seed: int = 0, openapi: dict[str, Any] | None = None,
    ) -> ReplayEngine:  # fmt: skip
        model = learn_model(cassette, openapi) if generalise else None
        index = CassetteIndex(cassette.interactions, policy or policies_for(cassette), cassette.digest)
        return cls(index, context, model, seed)

    def lookup(self, request: Request, state: ReplayState, key: RequestKey | None = None) -> Interaction | None:
        """The recorded interaction for this request in this session, advancing the session's state.

        `key`: the request's index key when already computed (off the event loop, see replay.limits)."""
        candidates = self.index.candidates(request, key)
        if not candidates:
            return None
        position = state.choose(candidates, self.index)
        state.commit(position, self.index)
        return self.index.interactions[position]

    def handle(self, request: Request, state: ReplayState) -> Outcome:
        interaction = self.lookup(request, state)
        if self.model is not None:
            found = follow_recording(self.model, state, request, interaction, self.seed)
            if found is not None:
                return Outcome(request, found.response, None, synthesized=found)
        if interaction is not None:
            return Outcome(request, interaction.response, interaction)
        return self.unmatched(request)

    def unmatched(self, request: Request, key: RequestKey | None = None) -> Outcome:
        near = self.index.nearest(request, key=key)
        # the log names an HTTP request by method and URL only: its body (up to 64 MiB) is not scrubbed for it
        shown = request if request.url.startswith("mcp://") else replace(request, body=b"")
        scrubbed = scrub_request(shown, self.index.policy.scrub)
        log.warning("%s", self.describe(scrubbed, near, self.context, self.index.interactions))
        return Outcome(request, unmatched_response(request, self.index.policy.scrub), None, near)
