"""An httpx transport whose idle-connection check costs one poll, not a dict of socket attributes.

Before every request and after every response, httpcore's pool asks each idle connection whether the server
closed it (`get_extra_info("is_readable")`). Its anyio stream answers by rebuilding every socket attribute,
`getpeername()` included, so with the 16+ keep-alive connections of an eval this check was ~40% of the client's
CPU (profiled: 67,000 checks for 1,500 requests). Here each stream looks its raw socket up once and polls it.

The pool also counted its connections once per idle connection (a list built inside its loop: quadratic in the
pool's size, ~15% of an eval's client CPU at 19 connections); `_LinearPool` does the same bookkeeping with one
count per pass.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from httpcore._utils import is_socket_readable


class _SocketCachingStream(httpcore.AsyncNetworkStream):
    """Delegates to httpcore's stream; remembers the raw socket for `is_readable`."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: Any = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _SocketCachingStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            if self._socket is None:
                self._socket = self._inner.get_extra_info("socket")
            if self._socket is not None:
                return is_socket_readable(self._socket)
        return self._inner.get_extra_info(info)


class _SocketCachingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # fmt: skip
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _SocketCachingStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _SocketCachingStream(await self._inner.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _LinearPool(httpcore.AsyncConnectionPool):
    """httpcore 1.0's pool with `_assign_requests_to_connections` linear in its connections.

    httpcore closes an idle connection when `len([c.is_idle() for c in connections])` (the count of *all*
    connections, idle or not) exceeds the keep-alive limit; kept exactly, as `len(self._connections)`.
    One change: an HTTP/1.1 connection already handed to a request that has not started on it yet is not handed
    to a second one. httpcore did (it still looks idle), the second request then failed with ConnectionNotAvailable
    and went round the pool again: 4 passes a request at an eval's 16 concurrent runs. It now gets another idle
    connection, or a new one, as its retry would have."""

    def _assign_requests_to_connections(self) -> list[Any]:
        closing = []
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(self._connections) > self._max_keepalive_connections
            ):
                self._connections.remove(connection)
                closing.append(connection)
        queued = [request for request in self._requests if request.is_queued()]
        if not queued:
            return closing
        claimed = set() if self._http2 else {id(r.connection) for r in self._requests if r.connection is not None}
        for pool_request in queued:
            origin = pool_request.request.url.origin
            available = next(
                (c for c in self._connections
                 if id(c) not in claimed and c.can_handle_request(origin) and c.is_available()),
                None,
            )  # fmt: skip
            if available is not None:
                claimed.add(id(available))
                pool_request.assign_to_connection(available)
            elif len(self._connections) < self._max_connections:
                connection = self.create_connection(origin)
                self._connections.append(connection)
                claimed.add(id(connection))
                pool_request.assign_to_connection(connection)
            else:
                idle = next((c for c in self._connections if c.is_idle() and id(c) not in claimed), None)
                if idle is not None:
                    self._connections.remove(idle)
                    closing.append(idle)
                    connection = self.create_connection(origin)
                    self._connections.append(connection)
                    claimed.add(id(connection))
                    pool_request.assign_to_connection(connection)
        return closing


def _linear_pool_fits() -> bool:
    """Only the httpcore whose pool `_LinearPool` copies (1.0.x) gets it; any other keeps its own."""
    pool = httpcore.AsyncConnectionPool
    return httpcore.__version__.startswith("1.0.") and hasattr(pool, "_assign_requests_to_connections")


def cheap_idle_checks(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The client, its connection pools (its own and any proxy mount's) checking idle connections cheaply and
    assigning requests in linear time.

    The client is built as before (its proxies from the environment, its TLS settings); only the pools' network
    backend is wrapped. A pool of another layout (a future httpcore, a custom transport) is left as it is."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.AsyncNetworkBackend) and not isinstance(backend, _SocketCachingBackend):
            pool._network_backend = _SocketCachingBackend(backend)  # type: ignore[union-attr]
        if type(pool) is httpcore.AsyncConnectionPool and _linear_pool_fits():
            pool.__class__ = _LinearPool  # the same object and state; only the assignment method differs
    return client
