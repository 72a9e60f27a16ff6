"""Serve a cassette's MCP exchanges as MCP servers, with no upstream: the MCP adapter over ReplayService.

Each call becomes the synthetic `MCP mcp://<server>/<method>[/<name>]` request, is answered by the same engine,
sessions and journal as HTTP replay (journal kind `mcp`), and the recorded result goes back through the SDK.
What nobody recorded gets an answer an agent can read and no developer mistakes for data: a known tool's call
is a `CallToolResult` with `isError: true` naming the call; an unknown tool is the protocol's invalid-params
error. The engine logs the developer's diagnosis (nearest recordings and what differs).
"""

from __future__ import annotations

import json
import time
from typing import Any

from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from hudproxy.cassette.model import Cassette
from hudproxy.interaction.model import Response
from hudproxy.mcp.catalog import ServerCatalog, catalogs
from hudproxy.mcp.exchange import JSON_HEADERS, canonical, from_interaction, request_for, strip_meta
from hudproxy.mcp.front import RecordedServer, emit, register, served_methods
from hudproxy.mcp.wire import LISTS, served
from hudproxy.replay.engine import Outcome
from hudproxy.replay.service import ReplayService
from hudproxy.replay.sessions import SESSION_HEADER

SESSION_SCOPE_KEY = "hudproxy.session"
UNMATCHED_STATUS = 501  # as for HTTP: the journal shows at a glance that nothing recorded answered


def session_of(ctx: ServerRequestContext[Any], default: str | None) -> str | None:
    """The hudproxy session: `/s/<id>/mcp` (put on the scope by the HTTP app), the session header, or default."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if scope is None:
        return default
    if scope.get(SESSION_SCOPE_KEY):
        return scope[SESSION_SCOPE_KEY]
    for name, value in scope.get("headers", ()):
        if name == SESSION_HEADER:
            return value.decode("latin-1")
    return default


class McpReplayer:
    """Answers one recorded server's methods from a ReplayService."""

    def __init__(self, service: ReplayService, catalog: ServerCatalog, session: str | None = None) -> None:
        self.service = service
        self.catalog = catalog
        self.session = session

    async def answer(self, ctx: ServerRequestContext[Any], method: str) -> dict[str, Any]:
        started, clock = time.time(), time.perf_counter()
        params = strip_meta(dict(ctx.params or {}))
        request = request_for(self.catalog.label, method, params)
        session, outcome = await self.service.answer(session_of(ctx, self.session), request)
        if outcome.interaction is None:
            result, error = self.missing(method, params)
            payload = {"error": error} if error else {"result": result}
            response = Response(UNMATCHED_STATUS, "", JSON_HEADERS, canonical(payload))
            outcome = Outcome(request, response, None, outcome.near_misses)
        else:
            exchange = from_interaction(outcome.interaction)
            for notification in exchange.notifications:
                await emit(ctx, notification)
            result, error = exchange.result, exchange.error
        self.service.journaled(session, outcome, started, clock, kind="mcp")
        if error is not None:
            raise MCPError(int(error.get("code", INVALID_PARAMS)), str(error.get("message", "")), error.get("data"))
        return served(result if isinstance(result, dict) else {})

    def missing(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(result, error) for a call no recording matches; never a recorded answer (a listing excepted)."""
        if method == "tools/call":
            name = str(params.get("name", ""))
            if name not in self.catalog.tools:
                return None, {"code": INVALID_PARAMS, "message": f"Unknown tool: {name}"}
            return unavailable_tool_result(name, params.get("arguments") or {}), None
        if method in LISTS:  # another cursor: the first recorded page; never recorded: an empty listing
            return self.catalog.listings.get(method) or {LISTS[method]: []}, None
        what = params.get("uri") or params.get("name") or method
        return None, {"code": INVALID_PARAMS, "message": f"{method} {what} is not available in this environment."}


def unavailable_tool_result(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    shown = json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    if len(shown) > 200:
        shown = shown[:197] + "..."
    text = f"{name}({shown}) is not available in this environment: no recorded call matches it."
    return {"content": [{"type": "text", "text": text}], "isError": True}


def build_server(service: ReplayService, catalog: ServerCatalog, session: str | None = None) -> RecordedServer:
    """An SDK Server answering `catalog`'s methods from `service` (`session`: the default session id)."""
    identity = catalog.served_identity()
    server = RecordedServer(identity, get_tool_input_schema=catalog.input_schema)
    replayer = McpReplayer(service, catalog, session)
    register(server, served_methods(identity.capabilities, catalog.methods), replayer.answer)
    return server


def build_servers(service: ReplayService, cassette: Cassette, session: str | None = None) -> dict[str, RecordedServer]:
    """One Server per recorded MCP server label (empty when the cassette holds no MCP exchanges)."""
    return {label: build_server(service, catalog, session) for label, catalog in catalogs(cassette).items()}
