"""Refund scenarios: log in, refund an order, tell the customer."""

from __future__ import annotations

from hudproxy.env import Environment, ScenarioResult

from ..evaluate.checks import customer_emailed, refund_created
from ..setup.mailer import MockMailer


def register(env: Environment) -> None:
    @env.scenario("refund-order")
    async def refund_order(order_id: str, amount: float):
        """Refund an amount on an order and e-mail the customer; half the reward each."""
        yield (
            f"Refund {amount:.2f} EUR on order {order_id} and e-mail the customer about it. "
            "Log in first (user demo, password demo-password) and send the token as 'Bearer <token>'."
        )
        refunded = refund_created(env.current(), order_id, amount)
        emailed = await customer_emailed(env, env.service(MockMailer), order_id)
        yield ScenarioResult((refunded + emailed) / 2, {"refund": refunded, "email": emailed})
