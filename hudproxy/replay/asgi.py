"""The replay server as a bare ASGI callable: convert at the edge, call the engine, send the recording.

No framework routing on the hot path (a Starlette route costs 3x a bare callable, see shared notes); response
headers are encoded once per interaction and reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from hudproxy.cassette.model import Cassette
from hudproxy.faults.transport import TRANSPORT_FAULTS, act_out
from hudproxy.interaction.locations import origin, points_at, proxy_origin, relocated
from hudproxy.interaction.model import Interaction, Request, Response
from hudproxy.journal.writer import JournalWriter
from hudproxy.replay.engine import Outcome, ReplayEngine
from hudproxy.replay.limits import refused, size_refusal
from hudproxy.replay.service import MissHandler, OutcomeHook, ReplayService
from hudproxy.replay.sessions import SESSION_HEADER, SessionStore, split_session_path
from hudproxy.replay.wire import encode_headers

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ADMIN_PREFIX = "/_hudproxy"


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """The whole request body; None as soon as it passes `limit` bytes (the rest is never read nor kept)."""
    message = await receive()
    body = message.get("body", b"")
    if limit is not None and len(body) > limit:
        return None
    if not message.get("more_body"):
        return body
    parts, size = [body], len(body)
    while message.get("more_body"):
        message = await receive()
        piece = message.get("body", b"")
        size += len(piece)
        if limit is not None and size > limit:
            return None
        parts.append(piece)
    return b"".join(parts)


def declared_length(scope: Scope) -> int | None:
    """Content-Length as the client declared it (None when absent or not a number)."""
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


def request_from_scope(scope: Scope, path: str, body: bytes) -> Request:
    headers = tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
    host = scope.get("server") or ("127.0.0.1", 80)
    query = scope.get("query_string", b"").decode("latin-1")
    netloc = f"{host[0]}:{host[1]}"
    return Request.from_parts(scope["method"], scope.get("scheme", "http"), netloc, path, query, headers, body)


class ReplayApp:
    """ASGI adapter over a ReplayService; `on_outcome` sees each (session, outcome)."""

    def __init__(
        self,
        engine: ReplayEngine,
        sessions: SessionStore | None = None,
        on_outcome: OutcomeHook | None = None,
        stream_timing: bool = False,
        on_miss: MissHandler | None = None,
        journal: JournalWriter | None = None,
        admin: ASGIApp | None = None,
    ) -> None:
        self.service = ReplayService(engine, sessions, journal, on_miss, on_outcome)
        self.admin = admin
        self.mcp: Any = None  # an MCP streamable-HTTP app for /mcp and /s/<id>/mcp (hudproxy.mcp.http.McpHttpApp)
        self.stream_timing = stream_timing
        self._encoded: dict[int, list[tuple[bytes, bytes]]] = {}
        self._relocating: set[int] = set()  # interactions whose Location-like headers point at the target

    @classmethod
    def from_service(cls, service: ReplayService, stream_timing: bool = False) -> ReplayApp:
        app = cls(service.engine, stream_timing=stream_timing)
        app.service = service
        return app

    # The service's parts, for the admin API, the Python API and tests.
    engine = property(lambda self: self.service.engine)
    sessions = property(lambda self: self.service.sessions)
    journal = property(lambda self: self.service.journal)

    @property
    def cassette(self) -> Cassette | None:
        return self.service.cassette

    @cassette.setter
    def cassette(self, value: Cassette | None) -> None:
        self.service.cassette = value

    def close(self) -> None:
        self.service.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            async with self.mcp.running() if self.mcp is not None else contextlib.nullcontext():
                await lifespan(receive, send, on_shutdown=self.close)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003, "reason": "hudproxy replays HTTP only"})

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, clock = time.time(), time.perf_counter()
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        if self.admin is not None and path.startswith(ADMIN_PREFIX):
            await self.admin(scope, receive, send)
            return
        if self.mcp is not None and self.mcp.handles(path):
            await self.mcp(scope, receive, send)
            return
        session_id, path = split_session_path(path)
        if session_id is None:
            session_id = _header(scope, SESSION_HEADER)
        body = await self.read_limited(scope, receive)
        if body is None:  # over --max-body: 413, and the journal gets the request line and headers only
            session = self.service.session_or_refused(session_id)
            outcome = refused(request_from_scope(scope, path, b""), size_refusal(self.service.limits))
        else:
            session, outcome = await self.service.answer(session_id, request_from_scope(scope, path, body))
        self.service.journaled(session, outcome, started, clock)  # before sending: a client that reads the
        if outcome.fault is not None and outcome.fault.kind in TRANSPORT_FAULTS:  # journal right after its answer
            await act_out(outcome, encode_headers(outcome.response), receive, send)  # must find the call there
            return
        await self.send_response(outcome, send, scope)

    async def read_limited(self, scope: Scope, receive: Receive) -> bytes | None:
        """The body, or None when it is (or declares itself) over the limit: a refused body is never read."""
        max_body = self.service.limits.max_size
        declared = declared_length(scope)
        if declared is not None and declared > max_body:
            return None
        return await read_body(receive, max_body)

    async def send_response(self, outcome: Outcome, send: Send, scope: Scope | None = None) -> None:
        response = outcome.response
        # a fault may change a recorded answer (a broken body): its headers are not the recording's to cache
        interaction = outcome.interaction if outcome.fault is None else None
        headers = self._headers(interaction, response, scope)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if not response.chunks:
            await send({"type": "http.response.body", "body": response.body})
            return
        await self.send_chunks(response, send)

    async def send_chunks(self, response: Response, send: Send) -> None:
        """Replay a streamed body piece by piece, with its recorded timing when asked."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        offset = 0
        for chunk in response.chunks:
            if self.stream_timing:
                delay = started + chunk.at_ms / 1000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            piece = response.body[offset : offset + chunk.size]
            offset += chunk.size
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": response.body[offset:], "more_body": False})

    def _headers(
        self, interaction: Interaction | None, response: Response, scope: Scope | None = None
    ) -> list[tuple[bytes, bytes]]:
        if interaction is None:
            return encode_headers(response)
        cached = self._encoded.get(interaction.index)
        if cached is None:
            cached = self._encoded[interaction.index] = encode_headers(response)
            if points_at(response.headers, origin(interaction.request.url)):
                self._relocating.add(interaction.index)
        if scope is not None and interaction.index in self._relocating:
            return self._pointed_home(interaction, response, scope)
        return cached

    @staticmethod
    def _pointed_home(interaction: Interaction, response: Response, scope: Scope) -> list[tuple[bytes, bytes]]:
        """A redirect to the recorded target sends the client back here, by the name it used (its Host), and
        into the same session when it came by a `/s/<id>/` path."""
        host = _header(scope, b"host")
        here = proxy_origin(scope.get("scheme", "http"), host, scope.get("server"))
        raw_path = scope.get("raw_path")
        session_id, _ = split_session_path(raw_path.decode("latin-1") if raw_path else scope["path"])
        if session_id is not None:
            here = f"{here}/s/{session_id}"
        moved = relocated(response.headers, origin(interaction.request.url), here)
        return encode_headers(replace(response, headers=moved) if moved is not None else response)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def lifespan(receive: Receive, send: Send, on_shutdown: Callable[[], None] | None = None) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return
