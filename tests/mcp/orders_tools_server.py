"""A real stdio MCP server (official SDK) with CRUD-shaped order tools over an in-memory store, for the
resource model's MCP tools (`--generalise`): get_order, list_orders, create_order, update_order, delete_order.

Each tool answers JSON in a text block (`get_order`'s unknown id: an isError result), as many tool servers do.
"""

from __future__ import annotations

import json

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("order-tools", version="0.1.0")
orders: dict[str, dict[str, object]] = {
    "A1": {"id": "A1", "item": "lamp", "status": "pending"},
    "A2": {"id": "A2", "item": "desk", "status": "shipped"},
}
counter = {"next": 3}


@server.tool(annotations={"readOnlyHint": True})
def get_order(order_id: str) -> str:
    """One order."""
    if order_id not in orders:
        raise ToolError(f"order {order_id} not found")
    return json.dumps(orders[order_id])


@server.tool(annotations={"readOnlyHint": True})
def list_orders(status: str | None = None) -> str:
    """Every order, or those with `status`."""
    return json.dumps([o for o in orders.values() if status is None or o["status"] == status])


@server.tool()
def create_order(item: str) -> str:
    """A new pending order with the next id."""
    order_id = f"A{counter['next']}"
    counter["next"] += 1
    orders[order_id] = {"id": order_id, "item": item, "status": "pending"}
    return json.dumps(orders[order_id])


@server.tool()
def update_order(order_id: str, status: str) -> str:
    """Change an order's status."""
    if order_id not in orders:
        raise ToolError(f"order {order_id} not found")
    orders[order_id] = {**orders[order_id], "status": status}
    return json.dumps(orders[order_id])


@server.tool()
def delete_order(order_id: str) -> str:
    """Remove an order."""
    if orders.pop(order_id, None) is None:
        raise ToolError(f"order {order_id} not found")
    return json.dumps({"deleted": order_id})


if __name__ == "__main__":
    server.run()
