"""Running the MCP front ends: over stdio, or over streamable HTTP with uvicorn (foreground or in a thread).

Over stdio the process's stdout is the protocol: the SDK points fd 1 at stderr while serving, and hudproxy
prints nothing to stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn
from mcp.server import Server
from mcp.server.stdio import stdio_server

from hudproxy.mcp.http import McpHttpApp
from hudproxy.mcp.recorder import McpRecorder
from hudproxy.serving import bind_socket, server_config


async def serve_stdio(server: Server[Any]) -> None:
    """Serve one MCP server on stdin/stdout until the client closes stdin (either protocol era)."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def record_stdio(recorder: McpRecorder) -> None:
    async with recorder.connected() as server:
        await serve_stdio(server)


async def record_http(
    recorder: McpRecorder,
    host: str,
    port: int,
    sock: socket.socket | None = None,
    on_server: Callable[[uvicorn.Server], None] | None = None,
) -> None:
    """Connect upstream, then serve the recording proxy at http://HOST:PORT/mcp until stopped."""
    async with recorder.connected() as server:
        app = McpHttpApp({recorder.label: server}, host)
        config = server_config(app, host, port)
        config.loop = "asyncio"
        config.lifespan = "on"
        uv = uvicorn.Server(config)
        if on_server is not None:
            on_server(uv)
        await uv.serve(sockets=[sock] if sock is not None else None)


@contextlib.contextmanager
def recording_in_thread(recorder: McpRecorder, host: str = "127.0.0.1", timeout: float = 20.0) -> Iterator[str]:
    """Run the recording proxy on a free port in a background thread; yields its MCP URL (tests, the API)."""
    sock = bind_socket(host, 0)
    port = sock.getsockname()[1]
    servers: list[uvicorn.Server] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(record_http(recorder, host, port, sock, servers.append))
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True, name="hudproxy-mcp-record")
    thread.start()
    deadline = time.monotonic() + timeout
    while not (servers and servers[0].started):
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"MCP recording proxy did not start: {failure[0] if failure else 'timeout'}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}/mcp"
    finally:
        servers[0].should_exit = True
        thread.join(timeout)
        sock.close()
