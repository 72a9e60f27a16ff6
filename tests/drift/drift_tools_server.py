"""A real MCP server (official SDK) in two releases, for `verify`'s MCP mode. `RELEASE=2` is the next release:
`list_orders` removed, `get_order`'s description reworded and its `total` a string (output schema and result),
a new optional parameter, and a new tool `refund_order`.

Run as `python drift_tools_server.py` (stdio) or `python drift_tools_server.py --http PORT` (streamable HTTP).
"""

from __future__ import annotations

import datetime
import os
import sys

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

NEXT = os.environ.get("RELEASE") == "2"
server = MCPServer("order-desk", version="2.0.0" if NEXT else "1.0.0")
ORDERS = {"A1": ("pending", 12.5), "A2": ("shipped", 40.0)}


class Order(BaseModel):
    id: str
    status: str
    total: float


class OrderNext(BaseModel):
    id: str
    status: str
    total: str


if NEXT:

    @server.tool(annotations={"readOnlyHint": True})
    def get_order(order_id: str, verbose: bool = False) -> OrderNext:
        """Fetch one order by id, with its total as a decimal string."""
        status, total = ORDERS[order_id]
        return OrderNext(id=order_id, status=status, total=f"{total:.2f}")

    @server.tool()
    def refund_order(order_id: str) -> str:
        """Refund an order."""
        return f"refunded {order_id}"

else:

    @server.tool(annotations={"readOnlyHint": True})
    def get_order(order_id: str) -> Order:
        """Fetch one order by id."""
        status, total = ORDERS[order_id]
        return Order(id=order_id, status=status, total=total)

    @server.tool(annotations={"readOnlyHint": True})
    def list_orders() -> str:
        """Every order id."""
        return ", ".join(ORDERS)


@server.tool(annotations={"readOnlyHint": True})
def order_count() -> str:
    """How many orders there are."""
    return str(len(ORDERS))


class Clock(BaseModel):
    now: str
    zone: str


@server.tool(annotations={"readOnlyHint": True})
def server_time() -> Clock:
    """The server's clock (differs on every call: a volatile field)."""
    return Clock(now=datetime.datetime.now(datetime.UTC).isoformat(), zone="UTC")


@server.tool()
def cancel_order(order_id: str) -> str:
    """Cancel an order (a write: verify never re-runs it unless told)."""
    return f"cancelled {order_id}"


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
