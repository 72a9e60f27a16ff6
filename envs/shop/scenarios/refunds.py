"""Refund scenarios: log in, refund an order, tell the customer (graded by rubrics/refund-order.yaml)."""

from __future__ import annotations

from hudproxy.env import Environment


def register(env: Environment) -> None:
    @env.scenario("refund-order", rubric="../rubrics/refund-order.yaml")
    async def refund_order(order_id: str, amount: float):
        """Refund an amount on an order and e-mail the customer; half the reward each."""
        yield (
            f"Refund {amount:.2f} EUR on order {order_id} and e-mail the customer about it. "
            "Log in first (user demo, password demo-password) and send the token as 'Bearer <token>'."
        )
