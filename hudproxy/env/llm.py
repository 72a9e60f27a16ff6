"""`env.run(..., llm_cassette=...)`: the agent's model calls through an LLM cassette for the length of one run."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import AsyncIterator
from pathlib import Path

from hudproxy.env.agents import Agent, OpenAIChatAgent
from hudproxy.errors import ConfigError
from hudproxy.llm.cassette import LlmCassette, LlmMode

REPLAY_KEY = "hudproxy-replay"  # the key a replayed call is sent with: no provider key is needed, none is kept


@contextlib.asynccontextmanager
async def routed_through(
    agent: Agent, cassette: str | Path, mode: LlmMode | str, stream_timing: bool = False
) -> AsyncIterator[Agent]:
    """A copy of the agent that calls the model through the cassette's server (in the run's session)."""
    if not isinstance(agent, OpenAIChatAgent):
        kind = type(agent).__name__
        raise ConfigError(f"llm_cassette={cassette}: it records an OpenAIChatAgent's calls, not a {kind}'s; point "
                          "your agent's base URL at a hudproxy.llm.LlmCassette instead")  # fmt: skip
    llm = LlmCassette(cassette, mode, agent.base_url, stream_timing=stream_timing)
    await asyncio.to_thread(llm.start)
    ok = False
    try:
        routed = copy.copy(agent)
        routed.base_url, routed.session_header = llm.base_url, True
        if llm.mode is LlmMode.REPLAY and not routed.api_key:
            routed.api_key = REPLAY_KEY
        yield routed
        ok = True
    finally:
        await asyncio.to_thread(llm.stop, ok)
