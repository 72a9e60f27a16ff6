"""Turning captured calls into `call_log` rows: scrubbing, decoding and JSON, memoised.

Runs where the rows are written (the journal's worker process, or the writer thread when there is none), never
on the request path. Imports stay light: the worker process starts with nothing but this and `store`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from hudproxy.interaction.body import as_text, content_encoding, decode_body
from hudproxy.interaction.headers import Headers
from hudproxy.interaction.model import Request
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_body_with, scrub_request_with
from hudproxy.scrub.text import Scrubber

MAX_BODY = 256 * 1024  # bodies above this are stored truncated, with a note
CapturedBody = bytes | tuple[bytes, int]  # a request body, or (its first bytes, its size) for a huge one


def body_parts(body: CapturedBody) -> tuple[bytes, int | None]:
    """(the bytes the journal has, the whole body's size when only a prefix came)."""
    return (body, None) if isinstance(body, bytes) else body


MEMO_LIMIT = 10_000

# What a reader sees of a call: the columns of the `calls` view.
ROW_COLUMNS = (
    "session", "seq", "time", "kind", "method", "url", "path", "query", "request_headers", "request_body",
    "status", "response_body", "matched", "interaction", "diagnosis", "duration_ms", "source", "parent",
    "answered_by", "rule", "evidence", "fault",
)  # fmt: skip
REQUEST_COLUMNS = ("run", "method", "url", "path", "query", "request_headers", "request_body")
LOG_COLUMNS = (
    "session", "seq", "started", "kind", "request", "status", "response_body", "matched", "interaction",
    "diagnosis", "duration_ms", "run", "parent", "rule", "evidence", "fault",
)  # fmt: skip
# Most calls are an HTTP request answered from the cassette with a response already stored: their row binds
# only these (kind and matched take their column defaults, the rest stay NULL), a third of the cost of a full one.
HOT_COLUMNS = ("session", "seq", "started", "request", "status", "interaction", "duration_ms", "run")

RequestKey = tuple[str, str, Headers, CapturedBody]
StoreRequest = Callable[[tuple[Any, ...]], int]  # a `requests` row (REQUEST_COLUMNS) in, its id out


class Captured(NamedTuple):
    """A call as the request path hands it over: plain values only (cheap to pickle to the worker process).

    `response` is (headers, body) when the writer has not seen this interaction's response yet (or the call
    matched none); None when it is a recorded response already stored in `responses`. `rule` and `evidence`: the
    resource model's rule and the interactions that taught it, when the model answered (`--generalise`).
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
    rule: str | None = None
    evidence: list[int] | None = None
    fault: str | None = None  # the fault rule that fired on the call (its kind is then `fault`)


def iso_time(started: float, _cache: dict[int, str] = {}) -> str:  # noqa: B006 - a deliberate per-second cache
    """`2026-11-25T01:25:25.123+00:00`: the date part is formatted once per second, not once per call."""
    second = int(started)
    prefix = _cache.get(second)
    if prefix is None:
        _cache.clear()
        prefix = _cache[second] = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{prefix}.{int((started - second) * 1000):03d}+00:00"


def body_text(headers: Headers, body: bytes, size: int | None = None) -> str | None:
    """Readable text (decompressed) or `base64:...` for binary; None for an empty body. `size`: the whole
    body's size when `body` is only its prefix (the note then gives it)."""
    if not body:
        return None
    plain = decode_body(body, content_encoding(headers)) or body
    note = "" if size is None else f"\n[truncated: {size} bytes in all]"
    if len(plain) > MAX_BODY:
        plain, note = plain[:MAX_BODY], note or f"\n[truncated: {len(plain)} bytes in all]"
    text = as_text(plain)
    if text is None:
        return "base64:" + base64.b64encode(plain).decode("ascii") + note
    return text + note


def request_part(
    scrub: ScrubPolicy, method: str, url: str, headers: Headers, captured: CapturedBody
) -> tuple[Any, ...]:
    """(method, scrubbed URL, path, query, scrubbed headers JSON, scrubbed body text)."""
    body, size = body_parts(captured)
    scrubbed = scrub_request_with(Request(method, url, headers, body), Scrubber(scrub)) if scrub.enabled else None
    if scrubbed is not None:
        url, headers, body = scrubbed.url, scrubbed.headers, scrubbed.body
    parts = urlsplit(url)
    headers_json = json.dumps([list(h) for h in headers])
    text = body_text(headers, body, size) if body else None
    return (method, url, parts.path or "/", parts.query, headers_json, text)


def response_body_text(scrub: ScrubPolicy, request: RequestKey, headers: Headers, body: bytes) -> str | None:
    """The response body for a row, scrubbed like the cassette's: every secret its request carried is hidden
    where the body repeats it (a response recorded with --keep-secrets, a live one passed through)."""
    if scrub.enabled and body:
        scrubber = Scrubber(scrub)
        method, url, request_headers, captured = request
        scrub_request_with(Request(method, url, request_headers, body_parts(captured)[0]), scrubber)
        body = scrub_body_with(body, headers, scrubber)
    return body_text(headers, body)


class RowBuilder:
    """Builds `call_log` rows cheaply: each distinct request is scrubbed and stored once (`store_request`), each
    recorded response once per interaction (`new_responses`); a row holds their ids."""

    def __init__(self, scrub: ScrubPolicy, run: int | None, store_request: StoreRequest) -> None:
        self.scrub = scrub
        self.run = run
        self.store_request = store_request
        self.new_responses: list[tuple[int | None, int, int, str | None]] = []
        self._requests: dict[RequestKey, int] = {}

    def take_responses(self) -> list[tuple[int | None, int, int, str | None]]:
        taken, self.new_responses = self.new_responses, []
        return taken

    def forget(self, taken: list[tuple[int | None, int, int, str | None]]) -> None:
        """After a failed transaction: the request ids handed out in it were rolled back with it; the recorded
        responses it took wait for the next one (the serving side sends each only once)."""
        self._requests.clear()
        self.new_responses[:0] = taken

    def request_id(self, key: RequestKey) -> int:
        """The `requests` id of this request, stored the first time it is seen."""
        found = self._requests.get(key)
        if found is None:
            if len(self._requests) >= MEMO_LIMIT:
                self._requests.clear()
            found = self._requests[key] = self.store_request((self.run, *request_part(self.scrub, *key)))
        return found

    def rows(self, calls: Iterable[tuple[Any, ...]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """(HOT_COLUMNS rows, LOG_COLUMNS rows) from calls in `Captured` order (plain tuples or Captured:
        unpacking costs the worker half a microsecond less than building a NamedTuple per row)."""
        hot, full = [], []
        ids, run = self._requests, self.run
        for (session, seq, started, duration_ms, kind, parent, method, url, headers, body, status, matched,
             interaction, response, diagnosis, *answered) in calls:  # fmt: skip
            key = (method, url, headers, body)
            request = ids.get(key) or self.request_id(key)
            fault = answered[2] if len(answered) > 2 else None
            if response is None:
                text = None
            elif fault is None:
                text = self.response_text(interaction, status, response, key)
            else:  # what the client got (an injected answer, a broken body), in the row itself
                text = response_body_text(self.scrub, key, *response)
            if text is None and matched and diagnosis is None and parent is None and kind == "http":
                hot.append((session, seq, started, request, status, interaction, duration_ms, run))
            else:
                rule, evidence = (*answered, None, None)[:2]
                full.append((session, seq, started, kind, request, status, text, int(matched), interaction,
                             diagnosis, duration_ms, run, parent, rule,
                             None if evidence is None else json.dumps(evidence), fault))  # fmt: skip
        return hot, full

    def response_text(
        self, interaction: int | None, status: int, response: tuple[Headers, bytes], request: RequestKey
    ) -> str | None:
        """The body for the row: None when it is a recorded one (stored once in `responses`)."""
        text = response_body_text(self.scrub, request, *response)
        if interaction is None:
            return text
        self.new_responses.append((self.run, interaction, status, text))
        return None
