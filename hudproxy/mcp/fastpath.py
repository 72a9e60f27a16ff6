"""The common MCP call without the SDK server: one modern-era `tools/call` POST in, the JSON-RPC answer out.

An agent's tool calls are nearly all one shape: a self-contained POST (protocol 2026-07-28: no session, no
handshake) of a single `tools/call`. Through the SDK's session manager and `Server` each costs ~370 µs of
framework; here it is a header scan, the SDK's own validators (~10 µs), the same `McpReplayer.resolve` the SDK
handlers call (engine, sessions, state-aware matching, the answer for a miss), the same journal row, and
response bytes encoded once per recorded interaction and protocol version.

Same answers as the SDK path, byte for byte: a request takes the fast path only if every check the SDK's modern
entry makes before calling the handler passes (content type, Host/Origin against the same
`TransportSecuritySettings`, Accept, body size, JSON-RPC envelope, the `_meta` envelope and routing headers,
the method's params schema). Anything else goes to the SDK unchanged, body replayed: other methods, legacy-era
and session requests, notifications, batches, malformed JSON, GET/DELETE, a refused Host, tools whose schema
declares `x-mcp-header` parameters. A call that is already matched but needs more than one JSON answer (recorded
progress or log notifications to stream, a JSON-RPC error such as an unknown tool) is handed to the SDK with its
`Answered` on the scope, so the SDK frames it and the engine is not asked twice.

Not on this path: the SDK's OpenTelemetry span per request (a no-op unless a tracer provider is configured).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping
from functools import cache
from typing import Any

import orjson
from mcp.server import Server
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from mcp.shared.inbound import (
    MCP_METHOD_HEADER,
    MCP_NAME_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    X_MCP_HEADER_KEY,
    InboundLadderRejection,
    classify_inbound_request,
)
from mcp_types import CORE_RESULT_TYPES, SERVER_INFO_META_KEY, JSONRPCRequest, JSONRPCResponse
from mcp_types.methods import is_input_required, serialize_server_result, validate_client_request
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from hudproxy.interaction.model import Interaction
from hudproxy.mcp.replay_server import ANSWERED_SCOPE_KEY, SESSION_SCOPE_KEY, Answered, McpReplayer, pick_session
from hudproxy.mcp.wire import served
from hudproxy.replay.asgi import Receive, Scope, Send
from hudproxy.replay.sessions import SESSION_HEADER

TOOLS_CALL = "tools/call"
MAX_BODY = DEFAULT_MAX_REQUEST_BODY_SIZE  # the session manager's default limit: bigger bodies get its 413
CONTENT_TYPE, HOST, ORIGIN, ACCEPT, LENGTH = b"content-type", b"host", b"origin", b"accept", b"content-length"
VERSION, METHOD, NAME = (h.encode() for h in (MCP_PROTOCOL_VERSION_HEADER, MCP_METHOD_HEADER, MCP_NAME_HEADER))
WANTED = frozenset({CONTENT_TYPE, HOST, ORIGIN, ACCEPT, LENGTH, VERSION, METHOD, NAME, SESSION_HEADER})
MODERN = frozenset(MODERN_PROTOCOL_VERSIONS)
PREFIX = b'{"jsonrpc":"2.0","id":'
CACHE_LIMIT = 65_536  # encoded answers kept; cleared when full (a reloaded cassette leaves old ones behind)

Handover = tuple[Scope, Receive]  # what the SDK gets instead: the scope and a receive that replays the body


def wire_result(server: Server[Any], method: str, version: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """A handler's result shaped for the wire as the SDK's `ServerRunner` shapes it (modern versions): cache
    hints, the per-version sieve, `resultType`, the `serverInfo` stamp. The tests compare the bytes."""
    out: dict[str, Any] = dict(result)
    hint = server.cache_hints.get(method)
    if hint is not None and not is_input_required(out):
        out = {"ttlMs": hint.ttl_ms, "cacheScope": hint.scope, **out}
    result_type = out.get("resultType")
    if not isinstance(result_type, str) or result_type in CORE_RESULT_TYPES:
        out = serialize_server_result(method, version, out)
    if out.get("resultType") is None:
        out["resultType"] = "complete"
    meta = out.get("_meta")
    if meta is None:
        out["_meta"] = {SERVER_INFO_META_KEY: server.server_info_stamp}
    elif isinstance(meta, dict) and meta.get(SERVER_INFO_META_KEY) is None:
        out["_meta"] = {**meta, SERVER_INFO_META_KEY: server.server_info_stamp}
    return out


def answer_tail(server: Server[Any], version: str, result: Mapping[str, Any]) -> bytes:
    """The JSON-RPC response after its id (`,"result":{...}}`), encoded as the SDK encodes it."""
    wire = wire_result(server, TOOLS_CALL, version, served(dict(result)))
    message = JSONRPCResponse(jsonrpc="2.0", id=0, result=wire)
    encoded = json.dumps(message.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    encoded = encoded.encode()
    head = PREFIX + b"0"
    if not encoded.startswith(head):
        raise ValueError(f"unexpected JSON-RPC response layout: {encoded[:40]!r}")
    return encoded[len(head) :]


def encode_id(request_id: int | str) -> bytes:
    return str(request_id).encode() if type(request_id) is int else json.dumps(request_id).encode()


@cache
def default_middleware() -> tuple[type, ...]:
    """The middleware every SDK Server starts with (its OpenTelemetry span); anything added disables the path."""
    return tuple(type(m) for m in Server("probe").middleware)


def media_types(accept: str) -> tuple[bool, bool]:
    """(JSON accepted, SSE accepted), parsed like the SDK's `check_accept_headers`."""
    types = [part.strip().split(";")[0].strip().lower() for part in accept.split(",")]
    wildcard = "*/*" in types
    return (
        wildcard or "application/json" in types or "application/*" in types,
        wildcard or "text/event-stream" in types or "text/*" in types,
    )


class FastPath:
    """Answers one recorded server's modern `tools/call` POSTs; `__call__` returns None when it answered."""

    def __init__(
        self, server: Server[Any], replayer: McpReplayer, security: TransportSecuritySettings, max_body: int = MAX_BODY
    ) -> None:
        entry = server.get_request_handler(TOOLS_CALL)
        if entry is None:
            raise ValueError(f"{server.name} does not serve {TOOLS_CALL}")
        self.server = server
        self.replayer = replayer
        self.security = security
        self.max_body = max_body  # the SDK's limit too: a larger body is handed over for its 413
        self.params_type = entry.params_type
        self.annotated = frozenset(  # tools whose calls carry Mcp-Param-* headers the SDK checks: left to it
            name for name, tool in replayer.catalog.tools.items() if X_MCP_HEADER_KEY in json.dumps(tool)
        )
        self.answered = 0  # calls answered here (the rest went to the SDK): for tests and the curious
        self._transport_ok: dict[tuple[bytes | None, ...], bool] = {}
        self._tails: dict[tuple[int, str], tuple[Interaction, bytes | None]] = {}

    @classmethod
    def for_server(
        cls, server: Server[Any], security: TransportSecuritySettings, max_body: int = MAX_BODY
    ) -> FastPath | None:
        """A fast path for a replay server built by `build_server`; None for others (the recording proxy, a
        server with middleware of its own, one without tools)."""
        replayer = getattr(server, "replayer", None)
        if not isinstance(replayer, McpReplayer) or server.get_request_handler(TOOLS_CALL) is None:
            return None
        if tuple(type(m) for m in server.middleware) != default_middleware():
            return None
        return cls(server, replayer, security, max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Handover | None:
        if scope["method"] != "POST":
            return scope, receive
        found: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in WANTED:
                if name in found:
                    return scope, receive  # a repeated header: first-copy and last-copy readers disagree
                found[name] = value
        version = found.get(VERSION, b"").decode("latin-1")
        if version not in MODERN or found.get(METHOD) != b"tools/call" or not self.transport_ok(found):
            return scope, receive
        length = found.get(LENGTH)
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return scope, receive
        messages, body = await read_body(receive, self.max_body)
        handover = scope, replay(messages, receive)
        if body is None:
            return handover
        return await self.answer(scope, send, body, version, found, handover)

    async def answer(
        self, scope: Scope, send: Send, body: bytes, version: str, found: dict[bytes, bytes], handover: Handover
    ) -> Handover | None:
        try:
            decoded = orjson.loads(body)
        except orjson.JSONDecodeError:
            return handover  # the SDK's parser and its parse error
        if type(decoded) is not dict or "id" not in decoded:
            return handover
        try:
            request = JSONRPCRequest.model_validate(decoded)
        except ValueError:
            return handover
        routing = {MCP_PROTOCOL_VERSION_HEADER: version, MCP_METHOD_HEADER: TOOLS_CALL}  # as checked above
        if NAME in found:
            routing[MCP_NAME_HEADER] = found[NAME].decode("latin-1")
        if isinstance(classify_inbound_request(decoded, headers=routing), InboundLadderRejection):
            return handover
        params = request.params or {}
        name = params.get("name")
        if isinstance(name, str) and name in self.annotated:
            return handover
        try:
            validate_client_request(TOOLS_CALL, version, params)
            self.params_type.model_validate(params, by_name=False)
        except Exception:  # the SDK answers invalid params (or whatever it raises) itself
            return handover
        session_id = pick_session(scope.get(SESSION_SCOPE_KEY), found.get(SESSION_HEADER), self.replayer.session)
        answered = await self.replayer.resolve(session_id, TOOLS_CALL, dict(params))
        tail = self.tail(answered, version)
        if tail is None:  # notifications to stream or an error to raise: the SDK frames it, nothing re-matched
            return {**handover[0], ANSWERED_SCOPE_KEY: [answered]}, handover[1]
        self.replayer.journaled(answered)  # before sending, as the SDK path does
        self.answered += 1
        content = PREFIX + encode_id(request.id) + tail
        headers = [(b"content-length", str(len(content)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        return None

    def tail(self, answered: Answered, version: str) -> bytes | None:
        """The encoded answer after the id; None when only the SDK can give it. Cached per recording."""
        interaction = answered.interaction
        if interaction is None:
            return None if answered.error is not None else self.encode(answered.result or {}, version)
        key = (id(interaction), version)
        cached = self._tails.get(key)
        if cached is not None and cached[0] is interaction:
            return cached[1]
        exchange = answered.exchange()
        plain = exchange is not None and exchange.error is None and not exchange.notifications
        result = exchange.result if exchange is not None and isinstance(exchange.result, dict) else {}
        tail = self.encode(result, version) if plain else None
        if len(self._tails) >= CACHE_LIMIT:
            self._tails.clear()
        self._tails[key] = (interaction, tail)
        return tail

    def encode(self, result: Mapping[str, Any], version: str) -> bytes | None:
        try:
            return answer_tail(self.server, version, result)
        except Exception:  # a result the SDK would refuse: it says so in its own words
            return None

    def transport_ok(self, found: Mapping[bytes, bytes]) -> bool:
        """Content type, Host, Origin and Accept as the SDK's modern entry checks them; cached per combination."""
        key = (found.get(CONTENT_TYPE), found.get(HOST), found.get(ORIGIN), found.get(ACCEPT))
        verdict = self._transport_ok.get(key)
        if verdict is None:
            verdict = self._check_transport(*(None if v is None else v.decode("latin-1") for v in key))
            if len(self._transport_ok) >= 256:
                self._transport_ok.clear()
            self._transport_ok[key] = verdict
        return verdict

    def _check_transport(
        self, content_type: str | None, host: str | None, origin: str | None, accept: str | None
    ) -> bool:
        if content_type is None or not content_type.lower().startswith("application/json"):
            return False
        settings = self.security
        if settings.enable_dns_rebinding_protection:
            if not host or not _allowed(host, settings.allowed_hosts):
                return False
            if origin and not _allowed(origin, settings.allowed_origins):
                return False
        has_json, has_sse = media_types(accept or "")
        return has_json and has_sse

    def finish(self, scope: Scope) -> None:
        """After a handover: a call the SDK answered without reaching the handler (it should not happen) is
        still journaled, since the session's state already counts it."""
        left = scope.get(ANSWERED_SCOPE_KEY)
        if left:
            self.replayer.journaled(left.pop())


def _allowed(value: str, allowed: list[str]) -> bool:
    """The SDK's Host/Origin rule: an exact entry, or `base:*` matching `base:<anything>`."""
    if value in allowed:
        return True
    return any(pattern.endswith(":*") and value.startswith(pattern[:-2] + ":") for pattern in allowed)


async def read_body(receive: Receive, limit: int = MAX_BODY) -> tuple[list[dict[str, Any]], bytes | None]:
    """The messages read and the whole body; None for the body when the SDK must see it instead (a
    disconnect, or more than the SDK's size limit)."""
    messages = [await receive()]
    message = messages[0]
    if message["type"] == "http.request" and not message.get("more_body") and len(message.get("body", b"")) <= limit:
        return messages, message.get("body", b"")
    size = 0
    while message["type"] == "http.request":
        size += len(message.get("body", b""))
        if size > limit:
            return messages, None
        if not message.get("more_body"):
            return messages, b"".join(m.get("body", b"") for m in messages)
        message = await receive()
        messages.append(message)
    return messages, None


def replay(messages: list[dict[str, Any]], receive: Receive) -> Receive:
    """A receive that gives back the messages already read, then the connection's own."""
    pending = deque(messages)

    async def again() -> dict[str, Any]:
        return pending.popleft() if pending else await receive()

    return again
