"""Order scenarios: change an order's status (graded by rubrics/update-order.yaml)."""

from __future__ import annotations

from typing import Literal

from hudproxy.env import Environment


def register(env: Environment) -> None:
    @env.scenario("update-order", rubric="../rubrics/update-order.yaml")
    async def update_order(order_id: str, status: Literal["pending", "paid", "shipped"] = "shipped"):
        """Set one order's status; graded on the order's final state and on using the update tool."""
        yield f"Update order {order_id} to {status}. Answer 'done' when it is."
