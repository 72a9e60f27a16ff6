"""MCP over streamable HTTP as a bare ASGI app: `/mcp` (and `/mcp/<server>`), under an optional `/s/<id>` prefix.

One SDK session manager per served MCP server, with a fast path in front of each replay server for the common
call (a modern-era `tools/call`, see `hudproxy.mcp.fastpath`); the `/s/<id>` prefix (or the X-Hudproxy-Session
header) picks the hudproxy session, which the handlers read off the request scope. The managers run for the
app's lifetime: the host app's lifespan must enter `running()` (the SDK's `session_manager.run()`), as
`ReplayApp` does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import unquote

from mcp.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from hudproxy.mcp.fastpath import MAX_BODY, FastPath
from hudproxy.mcp.replay_server import SESSION_SCOPE_KEY
from hudproxy.replay.asgi import Receive, Scope, Send, lifespan
from hudproxy.replay.sessions import split_session_path

MCP_PATH = "/mcp"
ROUTES_KEPT = 4096  # paths whose route is remembered (one per session prefix in use)
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def security_for(host: str) -> TransportSecuritySettings:
    """DNS-rebinding protection on loopback (what the SDK does by default); off when serving other hosts,
    whose Host headers cannot be known in advance."""
    if is_loopback(host):
        return TransportSecuritySettings(allowed_hosts=LOOPBACK_HOSTS, allowed_origins=LOOPBACK_ORIGINS)
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


def mcp_route(path: str) -> tuple[str | None, str] | None:
    """(session id, server label or "") for an MCP path, None for any other path."""
    session_id, rest = split_session_path(path)
    if rest != MCP_PATH and not rest.startswith(MCP_PATH + "/"):
        return None
    return session_id, unquote(rest[len(MCP_PATH) :].strip("/"))


class McpHttpApp:
    """Streamable HTTP for one or more MCP servers, sessions chosen by path prefix.

    `max_body`: the request body limit (`--max-body`); the SDK's own 4 MiB stays the ceiling, since a JSON-RPC
    message is parsed whole. Larger bodies get the SDK's 413 before they are parsed or a session is created.
    """

    def __init__(self, servers: Mapping[str, Server[Any]], host: str = "127.0.0.1", max_body: int = MAX_BODY) -> None:
        if not servers:
            raise ValueError("McpHttpApp needs at least one MCP server")
        security = security_for(host)
        self.max_body = limit = min(max_body, MAX_BODY)
        self.managers = {
            label: StreamableHTTPSessionManager(server, security_settings=security, max_request_body_size=limit)
            for label, server in servers.items()
        }
        self.fast = {label: fast for label, s in servers.items() if (fast := FastPath.for_server(s, security, limit))}
        self.default = next(iter(servers))
        self._routes: dict[str, tuple[str | None, str] | None] = {}

    def handles(self, path: str) -> bool:
        return self.route(path) is not None

    def route(self, path: str) -> tuple[str | None, str] | None:
        """`mcp_route`, remembered: the host app asks first, then this app, for every request."""
        try:
            return self._routes[path]
        except KeyError:
            pass
        if len(self._routes) >= ROUTES_KEPT:
            self._routes.clear()
        found = self._routes[path] = mcp_route(path)
        return found

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for manager in self.managers.values():
                await stack.enter_async_context(manager.run())
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            async with self.running():
                await lifespan(receive, send)
            return
        route = self.route(scope["path"]) if scope["type"] == "http" else None
        label = (route[1] or self.default) if route else ""
        manager = self.managers.get(label)
        if route is None or manager is None:
            await _not_found(send, route[1] if route else scope.get("path", ""))
            return
        scope = {**scope, SESSION_SCOPE_KEY: route[0]}
        fast = self.fast.get(label)
        if fast is None:
            await manager.handle_request(scope, receive, send)
            return
        handover = await fast(scope, receive, send)  # None: answered without the SDK
        if handover is not None:
            await manager.handle_request(*handover, send)
            fast.finish(handover[0])


async def _not_found(send: Send, what: str) -> None:
    error = {"code": -32600, "message": f"no recorded MCP server {what!r} here"}
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def attach_mcp(app: Any, host: str = "127.0.0.1") -> McpHttpApp | None:
    """Serve the replay app's cassette's MCP servers at /mcp beside its HTTP replay (None: the cassette has none).

    `app` is a `ReplayApp`; its service (engine, sessions, journal) answers both.
    """
    from hudproxy.mcp.replay_server import build_servers

    cassette = app.cassette
    timing = getattr(app, "stream_timing", False)  # the ReplayApp's --stream-timing paces notifications too
    servers = build_servers(app.service, cassette, stream_timing=timing) if cassette is not None else {}
    if not servers:
        return None
    app.mcp = McpHttpApp(servers, host, app.service.limits.max_size)
    return app.mcp
