"""`env.run(..., llm_cassette=...)`: one run's model calls recorded, then replayed with the model server gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from hudproxy.env import OpenAIChatAgent, ScriptedAgent
from hudproxy.env.loader import load_env
from hudproxy.errors import ConfigError
from hudproxy.serving import serve_in_thread
from tests.llm.fake_model import fake_model

pytestmark = pytest.mark.anyio
SHOP = Path(__file__).parents[2] / "envs" / "shop"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_run_replays_its_recorded_model_calls(tmp_path: Path) -> None:
    env, cassette, seen = load_env(SHOP), tmp_path / "llm.yaml", []
    async with env:
        with serve_in_thread(fake_model(seen)) as base:
            agent = OpenAIChatAgent("fake", base_url=f"{base}/v1", api_key="sk-test-abcdef123456", stream=True)
            recorded = await env.run("update-order", agent, order_id="A1", llm_cassette=cassette, llm_mode="record")
        offline = OpenAIChatAgent("fake", base_url=f"{base}/v1", api_key="", stream=True)  # the server is gone
        replayed = await env.run("update-order", offline, order_id="A1", llm_cassette=cassette, llm_mode="replay")
    assert (recorded.reward, replayed.reward, len(seen)) == (1.0, 1.0, 2)
    assert replayed.transcript == recorded.transcript and replayed.answer == recorded.answer
    assert [c.kind for c in replayed.calls()] == [c.kind for c in recorded.calls()]
    answers = [c.response_body for c in recorded.calls(kind="llm")]
    assert [c.response_body for c in replayed.calls(kind="llm")] == answers and len(answers) == 2


async def test_only_an_openai_agent_can_be_routed(tmp_path: Path) -> None:
    env = load_env(SHOP)
    async with env:
        with pytest.raises(ConfigError, match="records an OpenAIChatAgent's calls, not a ScriptedAgent's"):
            await env.run("update-order", ScriptedAgent([]), order_id="A1", llm_cassette=tmp_path / "llm.yaml")
