"""The two answers to an unmatched request: a compact one for the client (often an agent), a full one for
the developer. The client's never contains a recorded response, not even a near miss's.

Status 501 (Not Implemented): not 2xx, so no client mistakes it for success; not 404, so it is never read as
"that resource does not exist"; and unlike 502/503/504 it does not invite retries.

Beside them, the one other answer replay gives without a recording: a 400 for a session id it refuses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.matching.index import NearMiss
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_url

UNMATCHED_STATUS = 501
UNMATCHED_HEADER = "X-Hudproxy-Unmatched"


def unmatched_response(request: Request, scrub: ScrubPolicy | None = None) -> Response:
    """What the client sees: what it asked (secrets in the query scrubbed), and that it is not available here."""
    if scrub is not None:
        request = Request(request.method, scrub_url(request.url, scrub), request.headers, request.body)
    asked = request.describe()
    payload = {
        "error": "not_available",
        "message": f"{asked} is not available in this environment: no recorded response matches this request.",
        "request": {"method": request.method, "path": request.path, "query": request.query_string},
    }
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = (
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        (UNMATCHED_HEADER, "1"),
    )
    return Response(UNMATCHED_STATUS, "Not Implemented", headers, body)


def diagnosis(
    request: Request, near: list[NearMiss], context: str = "", interactions: Sequence[Interaction] = ()
) -> str:
    """What the developer sees (log, `inspect --why`): the nearest recordings and what differs. (The MCP adapter
    words its own calls as the agent made them: `hudproxy.mcp.why.describe_miss`.)"""
    lines = [f"unmatched: {request.describe()}" + (f" ({context})" if context else "")]
    if not near:
        lines.append("  the cassette has no interactions to compare with")
    for rank, miss in enumerate(near, 1):
        recorded = miss.interaction
        lines.append(f"  #{rank} nearest: interaction {recorded.index}: {recorded.request.describe()}")
        lines.extend(f"      differs: {d}" for d in miss.differences or ["(same key; all its answers were used)"])
    return "\n".join(lines)


def invalid_session_response(message: str) -> Response:
    """A request whose session id (path prefix `/s/<id>/` or header) breaks the id rule: a 400 saying so."""
    body = json.dumps({"error": "invalid_session", "message": message}).encode("utf-8")
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))))
    return Response(400, "Bad Request", headers, body)
