"""Shop agents whose outcome depends on the run's seed or is partial: what repeated trials must tell apart.

    coin          the shop's scripted plan on an odd seed, nothing on an even one (a do-nothing run scores 0)
    refund_only   refunds but never e-mails the customer: refund-order's reward is 0.5
"""

from __future__ import annotations

from typing import Any

from envs.shop.agents import scripted
from hudproxy.env import Final, ToolCall


def coin(scenario: str, args: dict[str, Any], seed: int) -> list[ToolCall | Final]:
    return scripted(scenario, args) if seed % 2 else [Final("")]


def refund_only(scenario: str, args: dict[str, Any]) -> list[ToolCall | Final]:
    return [step for step in scripted(scenario, args) if not (isinstance(step, ToolCall) and step.name == "send_email")]
