"""`--unmatched passthrough`: forward a request no recording matches to the real target and append it.

Off by default: an unmatched request never reaches a real server unless the user asks for this.
"""

from __future__ import annotations

import json
import logging
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from hudproxy.errors import CassetteWriteError
from hudproxy.interaction.answers import write_failed_response
from hudproxy.interaction.model import Chunk, Interaction, Request, Response
from hudproxy.matching.outcome import Outcome
from hudproxy.matching.policy import MatchPolicy
from hudproxy.netutil import failure_cause

if TYPE_CHECKING:  # httpx (~0.05 s to import) is loaded when a Passthrough is made: most replays have none
    import httpx

log = logging.getLogger("hudproxy.replay")

log = logging.getLogger(__name__)
# the session header names a replay session here; the target has no use for it (the recording keeps it)
DROP_REQUEST_HEADERS = frozenset({"host", "content-length", "connection", "transfer-encoding", "x-hudproxy-session"})
log = logging.getLogger("hudproxy.replay")


class MissRecorder(Protocol):
    """What passthrough records a forwarded miss with: `hudproxy.record.Recorder` in mode new_episodes, which
    the adapter (CLI, Python API) hands in, so replay never imports the recorder."""

    def on_response(
        self, request: Request, response: Response, duration_ms: float, chunks: tuple[Chunk, ...] = ()
    ) -> Interaction: ...

    def close(self) -> None: ...


# (cassette path, the replay's match policy, the target) -> the recorder misses are appended with
RecordMisses = Callable[[Path, MatchPolicy, str], MissRecorder]


def error_chain(error: BaseException) -> str:
    """The distinct messages down an exception's causes: httpx's own says only "All connection attempts
    failed"; the socket's below it says refused, DNS or TLS."""
    messages: list[str] = []
    current: BaseException | None = error
    while current is not None and len(messages) < 8:
        text = str(current) or type(current).__name__
        if text not in messages:
            messages.append(text)
        current = current.__cause__ or current.__context__
    return ": ".join(messages)


class Passthrough:
    """Forwards to `target` with httpx (bytes untouched) and records through a new_episodes Recorder.

    `verify` is how the target's certificate is checked: httpx's default CAs, or a context the adapter built
    (`--upstream-ca`: the system's CAs plus a private one)."""

    def __init__(self, target: str, recorder: MissRecorder, verify: ssl.SSLContext | bool = True) -> None:
        self.target = target.rstrip("/")
        self.recorder = recorder
        import httpx

        self.client = httpx.AsyncClient(timeout=60.0, follow_redirects=False, verify=verify)

    def upstream_url(self, request: Request) -> str:
        return self.target + parts_of(request.url)

    async def forward(self, request: Request) -> Outcome:
        url = self.upstream_url(request)
        headers = [(k, v) for k, v in request.headers if k.lower() not in DROP_REQUEST_HEADERS]
        started = time.monotonic()
        chunks: list[Chunk] = []
        try:
            upstream = await self.client.send(
                self.client.build_request(request.method, url, headers=headers, content=request.body), stream=True
            )
            try:
                body = await self._read(upstream, chunks)
            finally:
                await upstream.aclose()
        except _httpx().TransportError as error:
            return Outcome(request, self.failed(request, error))
        response = Response(
            upstream.status_code,
            upstream.reason_phrase,
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.headers.raw),
            body,
        )
        recorded = Request(request.method, url, request.headers, request.body)
        try:
            interaction = self.recorder.on_response(
                recorded, response, (time.monotonic() - started) * 1000, tuple(chunks)
            )
        except CassetteWriteError as exc:  # logged by the writer; the client is told, as the recorder tells it
            return Outcome(request, write_failed_response(exc))
        log.info(
            "passthrough: %s %s forwarded to %s → %d; appended to %s as interaction %s",
            request.method, parts_of(request.url), self.target, response.status, self.recorder.writer.path,
            interaction.index,
        )  # fmt: skip
        return Outcome(request, response, interaction)

    @staticmethod
    async def _read(upstream: httpx.Response, chunks: list[Chunk]) -> bytes:
        """The whole body; for a streamed one (SSE, chunked without a length) each piece's size and arrival time
        after the headers, as the recording proxy keeps them, so `--stream-timing` replays it at its pace."""
        parts: list[bytes] = []
        streamed = is_streamed(upstream.headers)
        since = time.monotonic()
        async for part in upstream.aiter_raw():
            parts.append(part)
            if streamed and part:
                chunks.append(Chunk(len(part), (time.monotonic() - since) * 1000))
        return b"".join(parts)

    def failed(self, request: Request, error: httpx.TransportError) -> Response:
        """The target gave no answer: 502 with a JSON body naming it and the cause, an ERROR line; the service
        journals it, the cassette gets nothing."""
        detail = error_chain(error)
        what = f"{request.method} {request.path}"  # no query: it may carry a secret nothing has scrubbed here
        httpx = _httpx()
        if isinstance(error, httpx.TimeoutException):
            cause = "timeout"
        else:
            cause = failure_cause(detail) or ("connect" if isinstance(error, httpx.ConnectError) else "response")
        log.error("not forwarded: %s: the target %s failed (%s): %s", what, self.target, cause, detail)
        body = {
            "error": "hudproxy could not get an answer from the target; nothing was recorded",
            "target": self.target,
            "cause": cause,
            "detail": detail,
            "request": what,
        }
        headers = (("content-type", "application/json"), ("x-hudproxy-error", cause))
        return Response(502, "Bad Gateway", headers, json.dumps(body, ensure_ascii=False).encode() + b"\n")

    async def aclose(self) -> None:
        await self.client.aclose()
        self.recorder.close()


def _httpx() -> Any:
    """The httpx module, imported by the first Passthrough (so already loaded wherever this is called)."""
    import httpx

    return httpx


def is_streamed(headers: httpx.Headers) -> bool:
    """Server-sent events, or a chunked body without a length: the recording proxy's rule (`should_stream`)."""
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    return "text/event-stream" in headers.get("content-type", "").lower() or (
        chunked and "content-length" not in headers
    )


def parts_of(url: str) -> str:
    """The path and query of `url`, as the log names a request."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
