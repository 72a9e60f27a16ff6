"""Checks over one run: the shop's state as that run sees it, its journal, its mock services."""

from __future__ import annotations

from hudproxy.env import Environment, RunContext, ToolError

from ..setup.mailer import MockMailer


async def order_status_is(env: Environment, order_id: str, status: str) -> float:
    """Read the order back through the run's own tools (its own shop), as the agent would."""
    try:
        order = await env.call_tool("get_order", order_id=order_id)
    except ToolError:
        return 0.0
    return 1.0 if order.get("status") == status else 0.0


def refund_created(run: RunContext, order_id: str, amount: float) -> float:
    """The shop accepted a refund of that amount on that order (an HTTP 201 in this run's journal)."""
    return run.score_called(
        "POST", "/refunds", json_contains={"order_id": order_id, "amount": amount}, where=lambda c: c.status == 201
    )


async def customer_emailed(env: Environment, mailer: MockMailer, order_id: str) -> float:
    """The mailer (this run's instance) sent a message mentioning the order to its customer."""
    try:
        customer = (await env.call_tool("get_order", order_id=order_id))["customer"]
    except ToolError:
        return 0.0
    return 1.0 if any(m["to"].startswith(customer) and order_id in m["body"] for m in mailer.sent) else 0.0
