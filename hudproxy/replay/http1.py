"""The HTTP/1.1 fast path: recorded answers written as pre-built bytes, with no ASGI call in between.

Every ASGI server spends most of a replayed request on the ASGI call itself (the scope, a task, the messages;
bench/replay_bench.py: bare uvicorn ~45,000 req/s against > 165,000 for a raw protocol writing canned bytes).
`FastReplayProtocol` is uvicorn's httptools protocol with a shortcut: a plain request (origin-form URL, no
upgrade, a small uncompressed body, no passthrough) is parsed by httptools into a `Request`, answered by the same
`ReplayService` (sessions, the state-aware rule, generalise, unmatched diagnosis, the journal) within the read
that completed it, and written as the interaction's `WireResponse` bytes, built once and cached.

Everything else goes to the ASGI app on the same connection, through uvicorn's own request cycle, so it is
answered as the ASGI path answers it: the admin API (`/_hudproxy`), MCP, websocket and other upgrades, bodies
over 64 KiB or compressed (inflated off the loop, 413 past `--max-body`), passthrough, streamed bodies, redirects
pointed back at the proxy, odd response framing, and any request pipelined behind an ASGI answer still being
written (answers stay in request order).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from hudproxy.interaction.body import COMPRESSED_ENCODINGS
from hudproxy.interaction.locations import origin, points_at
from hudproxy.interaction.model import Request
from hudproxy.matching.outcome import Outcome
from hudproxy.replay.asgi import ADMIN_PREFIX, Receive, ReplayApp, Scope, Send
from hudproxy.replay.limits import HEAVY_BODY, is_heavy
from hudproxy.replay.options import SERVER_ENV, ServerKind
from hudproxy.replay.sessions import PREFIX, SESSION_HEADER, split_session_path
from hudproxy.replay.wire import WireResponse, wire_response

log = logging.getLogger("hudproxy.replay")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
ERROR_500 = (
    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 21\r\nconnection: close\r\n\r\nInternal Server Error"
)
VIA_ASGI = object()  # cached for an interaction whose answer the ASGI app must send


class WireCache:
    """interaction index -> its WireResponse (or VIA_ASGI), shared by every connection of one server."""

    def __init__(self) -> None:
        self.entries: dict[int, WireResponse | object] = {}

    def lookup(self, outcome: Outcome) -> WireResponse | None:
        interaction = outcome.interaction
        if interaction is None:  # a miss, a synthesized or refused answer: built for this request only
            return wire_response(outcome.response)
        entry = self.entries.get(interaction.index)
        if entry is None:
            relocates = points_at(interaction.response.headers, origin(interaction.request.url))
            built = None if relocates else wire_response(interaction.response)
            entry = self.entries[interaction.index] = VIA_ASGI if built is None else built
        return entry if isinstance(entry, WireResponse) else None


class FastReplayProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that answers plain replay requests itself (see the module docstring)."""

    replay: ReplayApp  # set on the subclass `fast_protocol` makes
    wires: WireCache

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any], _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.service = self.replay.service
        self.small_body = min(HEAVY_BODY, self.service.limits.max_size)
        self.netloc = ""
        self.fast = False
        self.keep_alive = True
        self.body: list[bytes] = []
        self.size = 0
        self.declared: bytes | None = None
        self.encoding: bytes | None = None
        self.session_header: bytes | None = None
        self.started = self.clock = 0.0
        self.used = False  # a read or an answer since the keep-alive timer was armed

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host, port = self.server or ("127.0.0.1", 80)
        self.netloc = f"{host}:{port}"

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    def data_received(self, data: bytes) -> None:
        """uvicorn's, with the keep-alive timer marked used rather than cancelled (see below)."""
        self.used = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            self.send_400_response(msg)

    # The keep-alive timeout with one timer per idle period, not one per answer (uvicorn arms a timer after
    # every response and cancels it on every read: two loop calls per request on the fast path).
    def _unset_keepalive_if_required(self) -> None:
        self.used = True  # the timer, when it fires, sees the connection was used and waits again

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        elif self.timeout_keep_alive_task is None:
            self.used = False
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.keep_alive_expired)

    def keep_alive_expired(self) -> None:
        self.timeout_keep_alive_task = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # an ASGI answer (a stream) is still going: its completion arms the timer again
        if self.used:
            self.used = False
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.keep_alive_expired)
        elif not self.transport.is_closing():
            self.transport.close()

    # Parser callbacks: only what the fast path needs; the ASGI scope is built when a request goes there.
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect_100_continue = False
        self.fast = False
        self.body = []
        self.size = 0
        self.declared = self.encoding = self.session_header = None

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        value = value.rstrip(b" \t")
        if name == b"content-length":
            self.declared = value
        elif name == b"content-encoding":
            self.encoding = value
        elif name == SESSION_HEADER and self.session_header is None:  # the first one, as the ASGI path reads it
            self.session_header = value
        elif name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.started, self.clock = time.time(), time.perf_counter()
        try:
            self.fast = self.plain()
        except Exception:  # whatever the fast path cannot classify, uvicorn and the ASGI app answer
            self.fast = False
        if not self.fast:
            self.scope = self.base_scope()
            super().on_headers_complete()
            return
        self.keep_alive = self.parser.should_keep_alive()
        if self.expect_100_continue:
            self.transport.write(CONTINUE)

    def plain(self) -> bool:
        """Whether the fast path may answer this request (decided before its body arrives)."""
        url = self.url
        if url[:1] != b"/" or b"#" in url or self.parser.should_upgrade() or self.service.on_miss is not None:
            return False
        if self.cycle is not None and not self.cycle.response_complete:
            return False  # pipelined behind an ASGI answer still being written: queue it after that one
        if self.encoding is not None and self.encoding.decode("latin-1").strip().lower() in COMPRESSED_ENCODINGS:
            return False
        declared = self.declared
        if declared is not None and (not declared.isdigit() or int(declared) > self.small_body):
            return False
        raw_path = url.partition(b"?")[0]
        if not raw_path.isascii():
            return False  # uvicorn's answer (400) for a path it cannot decode
        path = raw_path.decode("ascii")
        if path.startswith(ADMIN_PREFIX):
            return False
        mcp = self.replay.mcp
        return mcp is None or not mcp.handles(path)

    def on_body(self, body: bytes) -> None:
        if not self.fast:
            super().on_body(body)
            return
        self.body.append(body)
        self.size += len(body)
        if self.size > self.small_body:  # a chunked body grew heavy: the ASGI app reads the rest
            self.fast = False
            self.hand_over(self.replay_app(), b"".join(self.body), more_body=True)

    def on_message_complete(self) -> None:
        if not self.fast:
            super().on_message_complete()
            return
        if self.transport.is_closing():
            return
        try:
            self.answer()
        except Exception:
            log.exception("replay: the fast path failed on %s", self.url.decode("latin-1"))
            self.transport.write(ERROR_500)
            self.transport.close()

    # Answering
    def answer(self) -> None:
        raw_path, _, query = self.url.decode("latin-1").partition("?")
        session_id, path = split_session_path(raw_path) if raw_path.startswith(PREFIX) else (None, raw_path)
        if session_id is None and self.session_header is not None:
            session_id = self.session_header.decode("latin-1")
        body = b"".join(self.body) if self.body else b""
        headers = tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.headers])
        method = self.parser.get_method().decode("ascii")
        request = Request.from_parts(method, self.scheme or "http", self.netloc, path, query, headers, body)
        service = self.service
        if body and is_heavy(request, service.limits):
            self.hand_over(self.replay_app(), body, more_body=False)
            return
        answered = service.answer_now(session_id, request)
        if answered is None:  # fault rules are set: the async path acts out delays, resets and cut streams
            self.hand_over(self.replay_app(), body, more_body=False)
            return
        session, outcome = answered
        service.journaled(session, outcome, self.started, self.clock)  # before the answer, as the ASGI path
        wire = self.wires.lookup(outcome)
        if wire is None:
            self.hand_over(self.sender(outcome), b"", more_body=False)
            return
        keep_alive = self.keep_alive
        if keep_alive and method != "HEAD" and self.parser.get_http_version() == "1.1":
            self.transport.write(wire.kept_alive)  # the common case: built once, written as is
        else:
            http10 = self.parser.get_http_version() == "1.0"
            keep_alive = keep_alive and not (http10 and wire.chunked)
            self.transport.write(wire.answer(method == "HEAD", keep_alive, http10))
            if not keep_alive:
                self.transport.close()
        self.on_response_complete()
        if self.flow.write_paused:  # a client that pipelines without reading: stop reading until it drains
            self.flow.pause_reading()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.cycle is None or self.cycle.response_complete:
            self.flow.resume_reading()

    def sender(self, outcome: Outcome) -> Callable[[Scope, Receive, Send], Any]:
        """An ASGI app that sends an outcome already answered and journaled (a stream, a redirect home)."""

        async def send_outcome(scope: Scope, receive: Receive, send: Send) -> None:
            await self.replay.send_response(outcome, send, scope)

        if self.config.proxy_headers:  # the scope the ASGI path would see (X-Forwarded-* from a trusted peer)
            return ProxyHeadersMiddleware(send_outcome, trusted_hosts=self.config.forwarded_allow_ips)
        return send_outcome

    def replay_app(self) -> Any:
        return self.app  # what uvicorn serves (ReplayApp itself, or the Python API's wrapper around it)

    def hand_over(self, app: Any, body: bytes, more_body: bool) -> None:
        """Run `app` for this request in uvicorn's own cycle with the body read so far (in order after any
        answer still being written), as uvicorn's `on_headers_complete` would have."""
        self.scope = self.base_scope()
        self.fill_path(self.scope)
        existing = self.cycle
        version = self.parser.get_http_version()
        self.cycle = RequestResponseCycle(
            scope=self.scope, transport=self.transport, flow=self.flow, logger=self.logger,
            access_logger=self.access_logger, access_log=self.access_log,
            default_headers=self.server_state.default_headers, message_event=asyncio.Event(),
            expect_100_continue=False, keep_alive=version != "1.0" and self.parser.should_keep_alive(),
            on_response=self.on_response_complete,
        )  # fmt: skip
        self.cycle.body = bytearray(body)
        self.cycle.more_body = more_body
        if body or not more_body:  # what uvicorn's on_body / on_message_complete signal: receive() has something
            self.cycle.message_event.set()
        if existing is None or existing.response_complete:
            self._start_asgi_task(self.cycle, app)
        else:
            self.flow.pause_reading()
            self.pipeline.appendleft((self.cycle, app))

    def base_scope(self) -> dict[str, Any]:
        """The scope uvicorn's `on_message_begin` builds (its `on_headers_complete` adds method and path)."""
        version = self.parser.get_http_version()
        return {
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": version,
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "root_path": self.root_path,
            "headers": self.headers,
            "state": self.app_state.copy(),
            "method": self.parser.get_method().decode("ascii"),
        }

    def fill_path(self, scope: dict[str, Any]) -> None:
        parsed = httptools.parse_url(self.url)
        raw_path = parsed.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        scope["query_string"] = parsed.query or b""


def fast_protocol(replay: ReplayApp) -> type[FastReplayProtocol]:
    """The protocol class uvicorn instantiates per connection, bound to this replay app and its byte cache."""
    return type("BoundFastReplayProtocol", (FastReplayProtocol,), {"replay": replay, "wires": WireCache()})


def protocol_for(replay: ReplayApp, kind: ServerKind | str | None = None) -> type[FastReplayProtocol] | None:
    """The HTTP protocol class for `--server` (default: $HUDPROXY_REPLAY_SERVER, else fast); None: uvicorn's
    own, the ASGI app answering every request."""
    chosen = ServerKind.parse(kind if kind is not None else os.environ.get(SERVER_ENV) or ServerKind.FAST)
    return fast_protocol(replay) if chosen is ServerKind.FAST else None
