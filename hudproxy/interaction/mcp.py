"""An MCP exchange as an Interaction, so MCP shares matching, state-aware replay, sessions and the journal.

A JSON-RPC call `method` with `params` to the server labelled `server` becomes a synthetic request:

    MCP mcp://<server>/<method>[/<name>]      body: canonical JSON (tool arguments, or params without _meta)

and its answer a response with status 200 (result) or 500 (JSON-RPC error) and the JSON as body. Notifications
the server sent while answering (progress, logging) ride along in `Interaction.extra["mcp"]`, with when each
arrived (ms after the call started, as an HTTP stream's `chunks`) so replay can keep their pace.
JSON-RPC ids and `_meta` never enter the key, so the two protocol eras match the same recordings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from hudproxy.interaction.model import Interaction, Request, Response

SCHEME = "mcp"
METHOD = "MCP"
JSON_HEADERS = (("Content-Type", "application/json"),)
NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}


@dataclass(frozen=True)
class Exchange:
    """One MCP call as recorded: what was asked, what came back, and what was said on the way."""

    server: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: dict[str, Any] | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)
    notification_ms: list[float] = field(default_factory=list)  # when each arrived, ms after the call started

    @property
    def name(self) -> str | None:
        key = NAMED.get(self.method)
        return None if key is None else self.params.get(key)


def strip_meta(params: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if k != "_meta"}


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def match_body(method: str, params: dict[str, Any]) -> Any:
    """What must match beyond the method and name: a tool's arguments, else the other params."""
    if method == "tools/call":
        return params.get("arguments") or {}
    key = NAMED.get(method)
    return {k: v for k, v in params.items() if k != key}


@lru_cache(maxsize=4096)
def quoted(segment: str) -> str:
    """One URL path segment; cached because server labels and tool names repeat on every call (replay's hot path)."""
    return quote(segment, safe="")


def request_for(server: str, method: str, params: dict[str, Any] | None) -> Request:
    clean = strip_meta(params)
    key = NAMED.get(method)
    path = f"/{method}" + (f"/{quoted(str(clean.get(key, '')))}" if key else "")
    return Request(METHOD, f"{SCHEME}://{quoted(server)}{path}", JSON_HEADERS, canonical(match_body(method, clean)))


def to_interaction(exchange: Exchange, index: int = 0, **meta: Any) -> Interaction:
    request = request_for(exchange.server, exchange.method, exchange.params)
    payload = {"error": exchange.error} if exchange.error is not None else {"result": exchange.result}
    response = Response(500 if exchange.error is not None else 200, "", JSON_HEADERS, canonical(payload))
    recorded: dict[str, Any] = {"params": strip_meta(exchange.params), "notifications": exchange.notifications}
    if exchange.notification_ms:
        recorded["notification_ms"] = exchange.notification_ms
    return Interaction(request, response, index, extra={"mcp": recorded}, **meta)


def is_mcp(interaction: Interaction) -> bool:
    return interaction.request.url.startswith(f"{SCHEME}://")


def from_interaction(interaction: Interaction) -> Exchange:
    """The recorded exchange back (for the cassette file, inspect and replay)."""
    parts = interaction.request.parts
    server = unquote(parts.netloc)
    path = unquote(parts.path.lstrip("/"))
    recorded = interaction.extra.get("mcp", {})
    params = recorded.get("params")
    method = next((m for m in NAMED if path.startswith(m + "/")), path)
    params = params or {}
    payload = json.loads(interaction.response.body or b"{}")
    return Exchange(
        server,
        method,
        params,
        payload.get("result"),
        payload.get("error"),
        recorded.get("notifications", []),
        recorded.get("notification_ms", []),
    )
