"""`--unmatched passthrough`: forward a request no recording matches to the real target and append it.

Off by default: an unmatched request never reaches a real server unless the user asks for this.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from hudproxy.errors import CassetteWriteError
from hudproxy.interaction.answers import write_failed_response
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.matching.outcome import Outcome
from hudproxy.matching.policy import MatchPolicy

DROP_REQUEST_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding"})
log = logging.getLogger("hudproxy.replay")


def cause_of(exc: httpx.HTTPError) -> str:
    """The recorder's words for why an upstream gave no answer (refused | timeout | tls | connect | response)."""
    text = str(exc).lower()
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        if any(marker in text for marker in ("ssl", "certificate", "tls")):
            return "tls"
        return "refused" if "refused" in text or "all connection attempts failed" in text else "connect"
    return "response"


def named(request: Request) -> str:
    """Method and path only: the query may carry a secret, and passthrough has no scrubber of its own."""
    return f"{request.method} {request.path}"


def upstream_failed_response(target: str, request: Request, exc: httpx.HTTPError) -> Response:
    """The 502 the recorder answers for a failed upstream, in the same JSON shape (nothing was recorded)."""
    cause = cause_of(exc)
    body = {
        "error": "hudproxy could not get an answer from the upstream; nothing was recorded",
        "target": target, "cause": cause, "detail": str(exc) or type(exc).__name__, "request": named(request),
    }  # fmt: skip
    payload = (json.dumps(body, ensure_ascii=False) + "\n").encode()
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(payload))), ("X-Hudproxy-Error", cause))
    return Response(502, "Bad Gateway", headers, payload)


class MissRecorder(Protocol):
    """What passthrough records a forwarded miss with: `hudproxy.record.Recorder` in mode new_episodes, which
    the adapter (CLI, Python API) hands in, so replay never imports the recorder."""

    def on_response(self, request: Request, response: Response, duration_ms: float) -> Interaction: ...

    def close(self) -> None: ...


# (cassette path, the replay's match policy, the target) -> the recorder misses are appended with
RecordMisses = Callable[[Path, MatchPolicy, str], MissRecorder]


class Passthrough:
    """Forwards to `target` with httpx (bytes untouched) and records through a new_episodes Recorder."""

    def __init__(self, target: str, recorder: MissRecorder) -> None:
        self.target = target.rstrip("/")
        self.recorder = recorder
        self.client = httpx.AsyncClient(timeout=60.0, follow_redirects=False)

    def upstream_url(self, request: Request) -> str:
        parts = urlsplit(request.url)
        return self.target + parts.path + (f"?{parts.query}" if parts.query else "")

    async def forward(self, request: Request) -> Outcome:
        url = self.upstream_url(request)
        headers = [(k, v) for k, v in request.headers if k.lower() not in DROP_REQUEST_HEADERS]
        started = time.monotonic()
        try:
            upstream = await self.client.send(
                self.client.build_request(request.method, url, headers=headers, content=request.body), stream=True
            )
            try:
                body = b"".join([part async for part in upstream.aiter_raw()])
            finally:
                await upstream.aclose()
        except httpx.HTTPError as exc:  # a client gets the recorder's 502 and the log one line, never a traceback
            answer = upstream_failed_response(self.target, request, exc)
            log.error("not recorded: %s: the upstream %s failed (%s): %s", named(request), self.target,
                      cause_of(exc), str(exc) or type(exc).__name__)  # fmt: skip
            return Outcome(request, answer)
        response = Response(
            upstream.status_code,
            upstream.reason_phrase,
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.headers.raw),
            body,
        )
        recorded = Request(request.method, url, request.headers, request.body)
        try:
            interaction = self.recorder.on_response(recorded, response, (time.monotonic() - started) * 1000)
        except CassetteWriteError as exc:  # logged by the writer; the client is told, as the recorder tells it
            return Outcome(request, write_failed_response(exc))
        return Outcome(request, response, interaction)

    async def aclose(self) -> None:
        await self.client.aclose()
        self.recorder.close()
