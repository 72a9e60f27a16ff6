"""The connector's httpx pools check idle connections through a cached socket, and still notice a server's close."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hudproxy.env.transport import _LinearPool, _SocketCachingBackend, cheap_idle_checks

pytestmark = pytest.mark.anyio

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def _closing_server() -> tuple[asyncio.Server, list[int]]:
    """Answers one request per connection with keep-alive headers, then closes the connection: a pool that does
    not notice the close would send its next request into a dead socket."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWER)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, accepted


async def test_pool_notices_a_closed_idle_connection_and_reconnects() -> None:
    server, accepted = await _closing_server()
    port = server.sockets[0].getsockname()[1]
    client = cheap_idle_checks(httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}"))
    assert isinstance(client._transport._pool._network_backend, _SocketCachingBackend)  # type: ignore[attr-defined]
    try:
        for _ in range(3):
            response = await client.get("/")
            assert (response.status_code, response.text) == (200, "ok")
            await asyncio.sleep(0.05)  # the server's close reaches the idle socket: it polls readable
        assert len(accepted) == 3  # each request found the last connection closed and opened a new one
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_wrapping_twice_keeps_one_layer_and_keeps_env_proxies(monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    client = cheap_idle_checks(cheap_idle_checks(httpx.AsyncClient()))
    try:
        backend = client._transport._pool._network_backend  # type: ignore[attr-defined]
        assert not isinstance(backend._inner, _SocketCachingBackend)
        mounted = [t for t in client._mounts.values() if t is not None]  # type: ignore[attr-defined]
        assert mounted, "the client still takes its proxy from the environment"
    finally:
        await client.aclose()


async def _keep_alive_server() -> tuple[asyncio.Server, list[asyncio.Task[None]], list[int]]:
    """Keeps each connection open for more requests: one handler task per connection accepted, and the most
    connections open at once."""
    accepted: list[asyncio.Task[None]] = []
    open_now, most = [0], [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(asyncio.current_task())  # type: ignore[arg-type]
        open_now[0] += 1
        most[0] = max(most[0], open_now[0])
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.01)  # requests overlap, so the pool must open several connections
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
        finally:
            open_now[0] -= 1

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, accepted, most


async def _pool_run(wrap: bool) -> tuple[int, int]:
    """Three bursts of 6 concurrent requests through a pool of at most 4 connections, 2 kept alive: (the most
    connections the server saw open at once, the connections the pool keeps after)."""
    server, accepted, most = await _keep_alive_server()
    port = server.sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=2)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits)
    if wrap:
        cheap_idle_checks(client)
        assert type(client._transport._pool) is _LinearPool  # type: ignore[attr-defined]
    try:
        for _ in range(3):
            answers = await asyncio.gather(*(client.get(f"/{n}") for n in range(6)))
            assert [a.text for a in answers] == ["ok"] * 6
        kept = len(client._transport._pool.connections)  # type: ignore[attr-defined]
    finally:
        await client.aclose()
        await asyncio.gather(*accepted)  # each handler sees its connection closed and ends
        server.close()
        await server.wait_closed()
    return most[0], kept


async def test_linear_pool_keeps_httpcores_limits() -> None:
    """Both pools answer every request within 4 connections and keep 2 alive. (The linear pool may open more
    connections over the bursts: httpcore handed one idle connection to every waiting request, all but one failed
    and queued again, which serialised them; each now gets a connection of its own at once.)"""
    assert await _pool_run(wrap=True) == await _pool_run(wrap=False) == (4, 2)
