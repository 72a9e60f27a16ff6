"""A real stdio MCP server (official SDK) whose tools call an HTTP API, as most tool servers do.

The API is `$HUDPROXY_HTTP_URL` when hudproxy records in reverse mode (it points at hudproxy's HTTP recorder),
else `$SHOP_API` (in forward mode the calls reach it through `HTTP_PROXY`, which hudproxy sets).
"""

from __future__ import annotations

import asyncio
import os

import httpx
from mcp.server.mcpserver import MCPServer

server = MCPServer("shop-tools", version="0.1.0")


def api() -> httpx.AsyncClient:
    base = os.environ.get("HUDPROXY_HTTP_URL") or os.environ["SHOP_API"]
    return httpx.AsyncClient(base_url=base, timeout=30)


@server.tool()
async def get_order(order_id: str) -> str:
    """One HTTP call: the order."""
    async with api() as client:
        response = await client.get(f"/orders/{order_id}")
    return response.text


@server.tool()
async def ship_order(order_id: str, carrier: str = "ups") -> str:
    """Two HTTP calls: read the order, then mark it shipped."""
    async with api() as client:
        await client.get(f"/orders/{order_id}")
        response = await client.patch(f"/orders/{order_id}", json={"status": "shipped", "carrier": carrier})
    return response.text


@server.tool()
async def slow_order(order_id: str, wait: float = 0.3) -> str:
    """Waits, then reads the order slowly (`?delay=`): two of these in parallel overlap for certain."""
    await asyncio.sleep(wait)
    async with api() as client:
        response = await client.get(f"/orders/{order_id}", params={"delay": "0.5"})
    return response.text


if __name__ == "__main__":
    server.run()
