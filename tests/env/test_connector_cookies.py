"""A connector shared by runs keeps each run's cookies apart, over real HTTP (a server that sets and echoes them)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from hudproxy.env.http import openapi_connector
from hudproxy.env.run import RunContext

pytestmark = pytest.mark.anyio

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "cookies", "version": "1"},
    "paths": {
        "/login/{user}": {"post": {"operationId": "login", "parameters": [
            {"name": "user", "in": "path", "required": True, "schema": {"type": "string"}}]}},
        "/whoami": {"get": {"operationId": "whoami"}},
    },
}  # fmt: skip


async def _cookie_server() -> asyncio.Server:
    """`POST /login/<user>` sets `sid=<user>`; `GET /whoami` answers the Cookie header it got (JSON, or null)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                method, target = head[0].split(" ")[:2]
                headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in head[1:] if ": " in line)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                extra = ""
                if method == "POST":
                    extra = f"Set-Cookie: sid={target.rsplit('/', 1)[1]}; Path=/\r\n"
                body = json.dumps({"cookie": headers.get("cookie")}).encode()
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
                             f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


async def test_each_run_sends_only_its_own_cookies() -> None:
    server = await _cookie_server()
    port = server.sockets[0].getsockname()[1]
    connector = openapi_connector(DOCUMENT, base_url=f"http://127.0.0.1:{port}")
    await connector.start()
    alice, bob, nobody = RunContext("t", "run-a"), RunContext("t", "run-b"), RunContext("t", "run-c")
    try:
        assert await connector.call("whoami", {}, alice) == {"cookie": None}
        await connector.call("login", {"user": "alice"}, alice)
        await connector.call("login", {"user": "bob"}, bob)
        assert await connector.call("whoami", {}, alice) == {"cookie": "sid=alice"}
        assert await connector.call("whoami", {}, bob) == {"cookie": "sid=bob"}
        assert await connector.call("whoami", {}, nobody) == {"cookie": None}
    finally:
        await connector.stop()
        server.close()
        await server.wait_closed()
