"""What the request path hands the journal: a `Pending` call, captured into plain values as it is added."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from hudproxy.journal.rows import MAX_BODY, ROW_COLUMNS, CapturedBody, iso_time, request_part, response_body_text
from hudproxy.matching.outcome import Outcome, diagnosis_data
from hudproxy.scrub.policy import ScrubPolicy

# A request body above this travels to the journal as its first bytes and its size: a 48 MiB upload is not
# copied on the event loop, shipped and scrubbed whole for a row that shows its first 256 KiB. The prefix is
# 4x what a row shows, so a secret cut at its end lies past what the (scrubbed, then truncated) row keeps.
CAPTURED_BODY = 4 * MAX_BODY


class Pending(NamedTuple):
    """One answered call, as the server adapters report it."""

    session: str
    seq: int
    started: float
    duration_ms: float
    outcome: Outcome
    kind: str = "http"
    parent: int | None = None  # seq of the call (same session) that caused this one


def capture(
    session: str,
    seq: int,
    started: float,
    duration_ms: float,
    outcome: Outcome,
    kind: str,
    parent: int | None,
    shipped: set[int],
) -> tuple[Any, ...]:
    """A `Captured` as a plain tuple (a NamedTuple costs 1 us more to build and 2 us more to ship): plain values
    out of the call's objects; a recorded response travels once per interaction (`shipped` holds the
    interactions whose response has already gone to the writer)."""
    live, response, interaction = outcome.request, outcome.response, outcome.interaction
    if outcome.fault is not None:
        return faulted(session, seq, started, duration_ms, outcome, kind, parent, shipped)
    if interaction is None:
        index, sent = None, (response.headers, response.body)
        synthesized = outcome.synthesized
        if synthesized is not None:  # the model answered: no miss, nothing to diagnose
            return (
                session, seq, started, duration_ms, kind, parent, live.method, live.url, live.headers, live.body,
                response.status, False, None, sent, None, synthesized.rule, list(synthesized.evidence),
            )  # fmt: skip
        diagnosis: str | None = json.dumps(diagnosis_data(outcome.near_misses))
    else:
        index, diagnosis = interaction.index, None
        if index in shipped:
            sent = None
        else:
            shipped.add(index)
            sent = (response.headers, response.body)
    return (
        session, seq, started, duration_ms, kind, parent, live.method, live.url, live.headers, captured(live.body),
        response.status, outcome.matched, index, sent, diagnosis,
    )  # fmt: skip


def faulted(
    session: str, seq: int, started: float, duration_ms: float, outcome: Outcome, kind: str, parent: int | None,
    shipped: set[int],
) -> tuple[Any, ...]:  # fmt: skip
    """A call a fault rule fired on: the answer the client got travels with the row (it may differ from the
    recording's), and the row names the rule. Rare, so built plainly."""
    live, response, interaction = outcome.request, outcome.response, outcome.interaction
    synthesized, fault = outcome.synthesized, outcome.fault
    answered = interaction is not None or synthesized is not None
    near = None if answered else json.dumps(diagnosis_data(outcome.near_misses))
    return (
        session, seq, started, duration_ms, kind, parent, live.method, live.url, live.headers, captured(live.body),
        response.status, outcome.matched, interaction.index if interaction is not None else None,
        (response.headers, response.body), near,
        synthesized.rule if synthesized else None, list(synthesized.evidence) if synthesized else None,
        fault.rule if fault is not None else None,
    )  # fmt: skip


def captured(body: bytes) -> CapturedBody:
    """The body as the journal gets it: whole, or (its first CAPTURED_BODY bytes, its size) when larger."""
    return body if len(body) <= CAPTURED_BODY else (body[:CAPTURED_BODY], len(body))


def to_row(pending: Pending, scrub: ScrubPolicy) -> dict[str, Any]:
    """One call as a reader sees it (the `calls` view's columns), built without a journal file."""
    session, seq, started, duration_ms, outcome, kind, parent = pending
    live, response = outcome.request, outcome.response
    synthesized = outcome.synthesized
    missed = not outcome.matched and synthesized is None
    diagnosis = json.dumps(diagnosis_data(outcome.near_misses)) if missed else None
    answered_by = "recording" if outcome.matched else "miss" if missed else "model"
    if outcome.fault is not None:
        answered_by = "fault"
    request = request_part(scrub, live.method, live.url, live.headers, live.body)
    values = (
        session, seq, iso_time(started), kind, *request, response.status,
        response_body_text(scrub, (live.method, live.url, live.headers, live.body), response.headers, response.body),
        int(outcome.matched), outcome.interaction.index if outcome.interaction is not None else None, diagnosis,
        round(duration_ms, 3), "", parent, answered_by, synthesized.rule if synthesized else None,
        json.dumps(synthesized.evidence) if synthesized else None, outcome.fault.rule if outcome.fault else None,
    )  # fmt: skip
    return dict(zip(ROW_COLUMNS, values, strict=True))
