"""Turning an Outcome into a journal row. Runs on the writer thread, never on the request path."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from hudproxy.interaction.body import as_text, content_encoding, decode_body
from hudproxy.interaction.headers import Headers
from hudproxy.interaction.model import Request
from hudproxy.replay.engine import Outcome
from hudproxy.replay.unmatched import diagnosis_data
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_body, scrub_headers, scrub_url

MAX_BODY = 256 * 1024  # bodies above this are stored truncated, with a note


class Pending(NamedTuple):
    """What the request path hands over: a plain tuple, the cheapest thing to build; the rest comes later."""

    session: str
    seq: int
    started: float
    duration_ms: float
    outcome: Outcome
    kind: str = "http"
    parent: int | None = None  # seq of the call (same session) that caused this one


MEMO_LIMIT = 10_000


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def iso_time(started: float, _cache: dict[int, str] = {}) -> str:  # noqa: B006 - a deliberate per-second cache
    """`2026-11-25T01:25:25.123+00:00`: the date part is formatted once per second, not once per call."""
    second = int(started)
    prefix = _cache.get(second)
    if prefix is None:
        _cache.clear()
        prefix = _cache[second] = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{prefix}.{int((started - second) * 1000):03d}+00:00"


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
    """Builds rows cheaply: recorded response text once per interaction, scrubbed header JSON once per distinct
    header set (a client sends the same headers again and again)."""

    def __init__(self, scrub: ScrubPolicy, source: str = "") -> None:
        self.scrub = scrub
        self.source = source
        self._written: set[int] = set()
        self.new_responses: list[tuple[str, int, int, str | None]] = []
        self._headers_json: dict[Headers, str] = {}
        self._urls: dict[str, tuple[str, str]] = {}
        self._bodies: dict[tuple[bytes, Headers], str | None] = {}

    def response_text(self, outcome: Outcome) -> str | None:
        """The body for the `calls` row: None when it is a recorded one (stored once in `responses`)."""
        response, interaction = outcome.response, outcome.interaction
        if interaction is None:
            return body_text(response.headers, response.body)
        if interaction.index not in self._written:
            self._written.add(interaction.index)
            text = body_text(response.headers, response.body)
            self.new_responses.append((self.source, interaction.index, response.status, text))
        return None

    def take_responses(self) -> list[tuple[str, int, int, str | None]]:
        taken, self.new_responses = self.new_responses, []
        return taken

    def headers_json(self, headers: Headers) -> str:
        cached = self._headers_json.get(headers)
        if cached is None:
            scrubbed = scrub_headers(headers, self.scrub)
            cached = _remember(self._headers_json, headers, json.dumps([list(h) for h in scrubbed]))
        return cached

    def url_and_query(self, request: Request) -> tuple[str, str]:
        cached = self._urls.get(request.url)
        if cached is None:
            url = scrub_url(request.url, self.scrub)
            query = request.query_string if url == request.url else urlsplit(url).query
            cached = _remember(self._urls, request.url, (url, query))
        return cached

    def request_text(self, request: Request) -> str | None:
        if not request.body:
            return None
        key = (request.body, request.headers)
        if key in self._bodies:
            return self._bodies[key]
        scrubbed = scrub_body(request.body, request.headers, self.scrub)
        return _remember(self._bodies, key, body_text(request.headers, scrubbed))

    def row(self, pending: Pending) -> tuple[Any, ...]:
        """The `calls` row; every derived text is memoised, since agents and load tests repeat themselves."""
        outcome = pending.outcome
        live = outcome.request
        url, query = self.url_and_query(live)
        interaction = outcome.interaction
        return (
            pending.session,
            pending.seq,
            iso_time(pending.started),
            pending.kind,
            live.method,
            url,
            live.path,
            query,
            self.headers_json(live.headers),
            self.request_text(live),
            outcome.response.status,
            self.response_text(outcome),
            int(outcome.matched),
            interaction.index if interaction is not None else None,
            json.dumps(diagnosis_data(outcome.near_misses)) if interaction is None else None,
            round(pending.duration_ms, 3),
            self.source,
            pending.parent,
        )


ROW_COLUMNS = (
    "session", "seq", "time", "kind", "method", "url", "path", "query", "request_headers", "request_body",
    "status", "response_body", "matched", "interaction", "diagnosis", "duration_ms", "source", "parent",
)  # fmt: skip


def to_row(pending: Pending, scrub: ScrubPolicy) -> dict[str, Any]:
    """One row as a dict keyed by column name, with the response body filled in (outside the writer's path)."""
    row = dict(zip(ROW_COLUMNS, RowBuilder(scrub).row(pending), strict=True))
    response = pending.outcome.response
    row["response_body"] = body_text(response.headers, response.body)
    return row
