"""Scrubbing an MCP exchange as data: its params, and a tool's result. One rule for recording, passthrough and
import, so an imported exchange is scrubbed as a recorded one is (scrubbing the synthetic request's body alone
would leave the secret in the params the cassette writes)."""

from __future__ import annotations

from dataclasses import replace

from hudproxy.interaction.mcp import Exchange, from_interaction, is_mcp, to_interaction
from hudproxy.interaction.model import Interaction
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.scrub.scrubber import scrub_interaction, scrub_json
from hudproxy.scrub.text import Scrubber


def scrub_exchange(exchange: Exchange, policy: ScrubPolicy) -> Exchange:
    """A tool's result may carry a token; a listing's schemas only name fields (`password: {type: string}`)."""
    if not policy.enabled:
        return exchange
    scrubber = Scrubber(policy)  # one per exchange: a secret the arguments carried is hidden in the result too
    params = scrub_json(exchange.params, policy, scrubber)
    result = scrub_json(exchange.result, policy, scrubber) if exchange.method == "tools/call" else exchange.result
    return replace(exchange, params=params, result=result)


def scrub_any(interaction: Interaction, policy: ScrubPolicy) -> Interaction:
    """An HTTP interaction as `scrub_interaction` does; an MCP one through its exchange."""
    if not is_mcp(interaction):
        return scrub_interaction(interaction, policy)
    if not policy.enabled:
        return interaction
    exchange = scrub_exchange(from_interaction(interaction), policy)
    return to_interaction(exchange, interaction.index, recorded_at=interaction.recorded_at,
                          duration_ms=interaction.duration_ms)  # fmt: skip
