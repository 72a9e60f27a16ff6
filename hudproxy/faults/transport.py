"""Acting out the faults that are about the connection, for servers that speak ASGI over uvicorn: a reset before
the answer, a stream cut or stalled after N chunks, no answer at all.

A reset is a real one: the socket is closed with SO_LINGER 0, so the client reads ECONNRESET (or a closed
connection), never an HTTP answer. uvicorn gives the app no handle on its transport, but its `send` is a bound
method of the request cycle that holds it; without one (another server, an in-process client) the app raises
`ConnectionDropped`, which every ASGI server turns into a closed or failed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from hudproxy.faults.model import CutFault, StallFault, TimeoutFault

TRANSPORT_FAULTS = frozenset({"reset", "cut", "stall", "timeout"})
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class ConnectionDropped(ConnectionResetError):
    """An injected reset where the server's transport is out of reach."""


async def act_out(outcome: Any, headers: list[tuple[bytes, bytes]], receive: Receive, send: Send) -> None:
    """The transport fault on `outcome` (an Outcome whose `fault` is one of TRANSPORT_FAULTS)."""
    fault = outcome.fault.fault
    if isinstance(fault, TimeoutFault):
        await until_disconnect(receive, fault.seconds)
    elif isinstance(fault, CutFault | StallFault):
        response = outcome.response
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        for piece in pieces(response)[: fault.after_chunks]:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        if isinstance(fault, StallFault):
            await until_disconnect(receive, fault.seconds)
        await drop(send, reset=False)  # what was sent arrives, then the connection ends mid-body
        return
    await drop(send)


def pieces(response: Any) -> list[bytes]:
    """The body as it was streamed (its recorded chunks), or as one piece."""
    if not response.chunks:
        return [response.body] if response.body else []
    out, offset = [], 0
    for chunk in response.chunks:
        out.append(response.body[offset : offset + chunk.size])
        offset += chunk.size
    if offset < len(response.body):
        out.append(response.body[offset:])
    return out


async def until_disconnect(receive: Receive, seconds: float) -> None:
    """Hold the call for `seconds` or until the client gives up (the request body is read already)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while (await receive())["type"] != "http.disconnect":
                pass


async def drop(send: Send, reset: bool = True) -> None:
    """End the client's connection where the answer stands: reset (RST, nothing more arrives) or closed after
    what was sent (a body cut short)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionDropped("connection dropped (injected by hudproxy)")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    for _ in range(1000):  # let the server see the connection gone, so it adds no 500 or complaint of its own
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.001)
