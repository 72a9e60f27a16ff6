"""Scripted plans for the example shop's scenarios: what `hudproxy demo` and the eval bench run.

    hudproxy eval envs/shop --scenario update-order --arg order_id=A1 --agent scripted

`env.py` registers it under that short name (`env.agent("scripted", scripted)`); from a checkout, the module path
`envs.shop.agents:scripted` names it too.
"""

from __future__ import annotations

from typing import Any

from hudproxy.env import Final, ToolCall

LOGIN = ToolCall("login", {"username": "demo", "password": "demo-password"})
BEARER = "Bearer shop-secret-token-123"
CUSTOMERS = ("alice", "bob", "carol", "dave")  # the shop's seed: order A<n> belongs to CUSTOMERS[n % 4]


def scripted(scenario: str, args: dict[str, Any]) -> list[ToolCall | Final]:
    """The steps a competent agent takes for each shop scenario."""
    order_id = str(args.get("order_id", "A1"))
    if scenario == "update-order":
        status = args.get("status", "shipped")
        return [ToolCall("update_order", {"order_id": order_id, "status": status}), Final("done")]
    if scenario == "refund-order":
        amount = float(args["amount"])
        customer = CUSTOMERS[int(order_id.lstrip("A") or 0) % len(CUSTOMERS)]
        message = f"Your refund of {amount:.2f} EUR on order {order_id} is on its way."
        return [
            LOGIN,
            ToolCall("create_refund", {"order_id": order_id, "amount": amount, "authorization": BEARER}),
            ToolCall("send_email", {"to": customer, "subject": f"Refund on {order_id}", "body": message}),
            Final("refunded and e-mailed"),
        ]
    return [Final("")]
