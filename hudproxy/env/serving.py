"""Serving an Environment over MCP: streamable HTTP at `/mcp` (and `/s/<id>/mcp`, one isolated run per id), or
stdio; and `dev`, which reloads the environment's Python on save without restarting the process.

`dev` keeps the server, its connectors and whatever `@env.setup` started; a reload re-imports the env's files
and swaps in their tools, scenarios and mocks (`Environment.adopt`). A file that fails to import (a syntax error
mid-edit) leaves the last good version serving and prints why.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings

from hudproxy.env.environment import Environment
from hudproxy.env.loader import load_env, locate
from hudproxy.env.server import SESSION_SCOPE_KEY
from hudproxy.replay.sessions import split_session_path
from hudproxy.serving import server_config

MCP_PATH = "/mcp"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


def security(host: str) -> TransportSecuritySettings:
    """DNS-rebinding protection on loopback (the SDK's default); off when bound elsewhere (Host unknowable)."""
    if host in LOOPBACK:
        return TransportSecuritySettings(
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


class EnvHttpApp:
    """ASGI: MCP at /mcp and /s/<id>/mcp; the lifespan starts the environment and the session manager."""

    def __init__(self, env: Environment, host: str = "127.0.0.1") -> None:
        self.env = env
        self.manager = StreamableHTTPSessionManager(env.server(), security_settings=security(host))

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        session_id, rest = split_session_path(scope.get("path", ""))
        if scope["type"] != "http" or rest.rstrip("/") != MCP_PATH:
            body = b'{"error": "not found: MCP is served at /mcp"}'
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"application/json")]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return
        await self.manager.handle_request({**scope, SESSION_SCOPE_KEY: session_id}, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        async with contextlib.AsyncExitStack() as stack:
            await receive()  # lifespan.startup
            try:
                await stack.enter_async_context(self.env)
                await stack.enter_async_context(self.manager.run())
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})


def http_server(env: Environment, host: str, port: int, log_level: str = "warning") -> uvicorn.Server:
    config = server_config(EnvHttpApp(env, host), host, port, log_level)
    config.loop, config.lifespan = "asyncio", "on"
    return uvicorn.Server(config)


async def serve_stdio(env: Environment) -> None:
    server = env.server()
    async with env, stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def report(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reload_into(live: Environment, target: str | Path) -> bool:
    """Re-import the env's files and adopt them; on any failure keep the live version and say why."""
    try:
        fresh = load_env(target)
        live.adopt(fresh)
    except Exception as exc:
        lines = "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
        report(f"hudproxy dev: reload failed; still serving the last good version.\n{lines}")
        return False
    report(f"hudproxy dev: reloaded {len(live.tool_specs())} tools, {len(live.scenarios)} scenarios")
    return True


def watch_paths(target: str | Path, watch: Sequence[str]) -> list[Path]:
    """`-w scenarios -w tools`: relative to the env's folder (or as given); none given: the whole folder."""
    folder, _module = locate(target)
    paths = [p if p.is_absolute() else folder / p for p in map(Path, watch)] or [folder]
    for missing in (p for p in paths if not p.exists()):
        report(f"hudproxy dev: {missing} does not exist; not watched")
    return [p for p in paths if p.exists()] + ([folder / f"{_module}.py"] if watch else [])


async def dev(target: str | Path, watch: Sequence[str], host: str, port: int) -> None:
    """Serve over HTTP and reload on every saved .py file under the watched paths."""
    import watchfiles

    sys.dont_write_bytecode = True  # an edit within the same second must never load a stale .pyc
    env = load_env(target)
    server = http_server(env, host, port)
    paths = watch_paths(target, watch)
    stop = asyncio.Event()

    async def watcher() -> None:
        async for changes in watchfiles.awatch(*paths, stop_event=stop, debounce=200, step=50):
            if any(path.endswith(".py") for _change, path in changes):
                reload_into(env, target)

    task = asyncio.create_task(watcher())
    watched = ", ".join(map(str, paths))
    report(f"hudproxy dev: serving {env.name!r} at http://{host}:{port}{MCP_PATH}; watching {watched}")
    try:
        await server.serve()
    finally:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
