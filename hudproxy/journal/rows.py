"""Turning a captured call into a `calls` row: scrubbing, decoding and JSON, memoised.

Runs where the rows are written (the journal's worker process, or the writer thread when there is none), never
on the request path. Imports stay light: the worker process starts with nothing but this and `store`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from hudproxy.interaction.body import as_text, content_encoding, decode_body
from hudproxy.interaction.headers import Headers
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_body, scrub_headers, scrub_url

MAX_BODY = 256 * 1024  # bodies above this are stored truncated, with a note
MEMO_LIMIT = 10_000

ROW_COLUMNS = (
    "session", "seq", "time", "kind", "method", "url", "path", "query", "request_headers", "request_body",
    "status", "response_body", "matched", "interaction", "diagnosis", "duration_ms", "source", "parent",
)  # fmt: skip


class Captured(NamedTuple):
    """A call as the request path hands it over: plain values only (cheap to pickle to the worker process).

    `response` is (headers, body) when the writer has not seen this interaction's response yet (or the call
    matched none); None when it is a recorded response already stored in `responses`.
    """

    session: str
    seq: int
    started: float
    duration_ms: float
    kind: str
    parent: int | None
    method: str
    url: str
    headers: Headers
    body: bytes
    status: int
    matched: bool
    interaction: int | None
    response: tuple[Headers, bytes] | None
    diagnosis: str | None


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
    """Builds rows cheaply: the request's columns once per distinct request; recorded responses go to
    `new_responses`, once per interaction."""

    def __init__(self, scrub: ScrubPolicy, source: str = "") -> None:
        self.scrub = scrub
        self.source = source
        self.new_responses: list[tuple[str, int, int, str | None]] = []
        self._requests: dict[tuple[str, str, Headers, bytes], tuple[Any, ...]] = {}

    def take_responses(self) -> list[tuple[str, int, int, str | None]]:
        taken, self.new_responses = self.new_responses, []
        return taken

    def request_part(self, method: str, url: str, headers: Headers, body: bytes) -> tuple[Any, ...]:
        """(method, scrubbed URL, path, query, scrubbed headers JSON, scrubbed body text): one memo lookup per
        request shape, since agents and load tests send the same requests again and again."""
        key = (method, url, headers, body)
        cached = self._requests.get(key)
        if cached is None:
            scrubbed = scrub_url(url, self.scrub)
            parts = urlsplit(scrubbed)
            headers_json = json.dumps([list(h) for h in scrub_headers(headers, self.scrub)])
            text = body_text(headers, scrub_body(body, headers, self.scrub)) if body else None
            columns = (method, scrubbed, parts.path or "/", parts.query, headers_json, text)
            cached = _remember(self._requests, key, columns)
        return cached

    def response_text(self, interaction: int | None, status: int, response: tuple[Headers, bytes]) -> str | None:
        """The body for the `calls` row: None when it is a recorded one (stored once in `responses`)."""
        text = body_text(*response)
        if interaction is None:
            return text
        self.new_responses.append((self.source, interaction, status, text))
        return None

    def row(self, call: tuple[Any, ...]) -> tuple[Any, ...]:
        """The `calls` row, in ROW_COLUMNS order, from a call in `Captured` order (a plain tuple or a Captured:
        unpacking costs the worker half a microsecond less than building a NamedTuple per row)."""
        (session, seq, started, duration_ms, kind, parent, method, url, headers, body, status, matched, interaction,
         response, diagnosis) = call  # fmt: skip
        return (
            session,
            seq,
            iso_time(started),
            kind,
            *self.request_part(method, url, headers, body),
            status,
            self.response_text(interaction, status, response) if response is not None else None,
            int(matched),
            interaction,
            diagnosis,
            round(duration_ms, 3),
            self.source,
            parent,
        )
