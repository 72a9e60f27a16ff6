"""What a synthesized answer is (the response, the rule, its evidence) and how one is built, or refused with a
reason (`state.why`)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from hudproxy.interaction.model import Response
from hudproxy.matching.outcome import Synthesized
from hudproxy.resources.bodies import dumps
from hudproxy.resources.model import Rule
from hudproxy.resources.state import ResourceState

SYNTHESIZED_HEADER = "X-Hudproxy-Synthesized"
REASONS = {status.value: status.phrase for status in HTTPStatus}


def respond(rule: Rule, status: int, data: Any, content_type: str | None = "application/json",
            extra: tuple[tuple[str, str], ...] = ()) -> Synthesized:  # fmt: skip
    body = data if isinstance(data, bytes) else dumps(data)
    typed = (("content-type", content_type),) if content_type and body else ()
    headers = (*typed, ("content-length", str(len(body))), *extra, (SYNTHESIZED_HEADER, rule.name))
    return Synthesized(Response(status, REASONS.get(status, ""), headers, body), rule.name, rule.evidence)


def miss(state: ResourceState, reason: str) -> None:
    """Not covered: say why on the state, answer None."""
    state.why = reason
    return None
