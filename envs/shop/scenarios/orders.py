"""Order scenarios: change an order's status."""

from __future__ import annotations

from typing import Literal

from hudproxy.env import Environment, ScenarioResult

from ..evaluate.checks import order_status_is


def register(env: Environment) -> None:
    @env.scenario("update-order")
    async def update_order(order_id: str, status: Literal["pending", "paid", "shipped"] = "shipped"):
        """Set one order's status; graded on the order's final state and on using the update tool."""
        yield f"Update order {order_id} to {status}. Answer 'done' when it is."
        reached = await order_status_is(env, order_id, status)
        updated = env.current().score_called(tool="update_order", json_contains={"order_id": order_id})
        notes = [] if reached else [f"order {order_id} is not {status}"]
        yield ScenarioResult(reached, {"status": reached, "used_update_tool": updated}, notes)
