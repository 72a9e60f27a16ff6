"""Turning an Outcome into a journal row. Runs on the writer thread, never on the request path."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from hudproxy.interaction.body import as_text, content_encoding, decode_body
from hudproxy.interaction.headers import Headers
from hudproxy.replay.engine import Outcome
from hudproxy.replay.unmatched import diagnosis_data
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_request

MAX_BODY = 256 * 1024  # bodies above this are stored truncated, with a note


@dataclass(frozen=True, slots=True)
class Pending:
    """What the request path hands over: cheap to build, everything else is derived later."""

    session: str
    seq: int
    started: float
    duration_ms: float
    outcome: Outcome
    kind: str = "http"


def body_text(headers: Headers, body: bytes) -> str | None:
    """Readable text (decompressed) or `base64:...` for binary; None for an empty body."""
    if not body:
        return None
    plain = decode_body(body, content_encoding(headers)) or body
    note = ""
    if len(plain) > MAX_BODY:
        plain, note = plain[:MAX_BODY], f"\n[truncated: {len(plain)} bytes in all]"
    text = as_text(plain)
    if text is None:
        return "base64:" + base64.b64encode(plain).decode("ascii") + note
    return text + note


class RowBuilder:
    """Builds rows; the readable text of a recorded response is computed once per interaction, not per call."""

    def __init__(self, scrub: ScrubPolicy) -> None:
        self.scrub = scrub
        self._recorded_bodies: dict[int, str | None] = {}

    def response_text(self, outcome: Outcome) -> str | None:
        response, interaction = outcome.response, outcome.interaction
        if interaction is None:
            return body_text(response.headers, response.body)
        key = interaction.index
        if key not in self._recorded_bodies:
            self._recorded_bodies[key] = body_text(response.headers, response.body)
        return self._recorded_bodies[key]

    def row(self, pending: Pending) -> tuple[Any, ...]:
        data = to_row(pending, self.scrub, self.response_text(pending.outcome))
        return tuple(data[name] for name in ROW_COLUMNS)


ROW_COLUMNS = (
    "session", "seq", "time", "kind", "method", "url", "path", "query", "request_headers", "request_body",
    "status", "response_body", "matched", "interaction", "diagnosis", "duration_ms",
)  # fmt: skip


def to_row(pending: Pending, scrub: ScrubPolicy, response_text: str | None = None) -> dict[str, Any]:
    outcome = pending.outcome
    request = scrub_request(outcome.request, scrub)
    response = outcome.response
    if response_text is None:
        response_text = body_text(response.headers, response.body)
    return {
        "session": pending.session,
        "seq": pending.seq,
        "time": dt.datetime.fromtimestamp(pending.started, dt.UTC).isoformat(timespec="milliseconds"),
        "kind": pending.kind,
        "method": request.method,
        "url": request.url,
        "path": request.path,
        "query": request.query_string,
        "request_headers": json.dumps([list(h) for h in request.headers]),
        "request_body": body_text(request.headers, request.body),
        "status": response.status,
        "response_body": response_text,
        "matched": int(outcome.matched),
        "interaction": outcome.interaction.index if outcome.interaction is not None else None,
        "diagnosis": json.dumps(diagnosis_data(outcome.near_misses)) if not outcome.matched else None,
        "duration_ms": round(pending.duration_ms, 3),
    }
