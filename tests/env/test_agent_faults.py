"""The shop's OpenAI-compatible agent loop (`OpenAIChatAgent`) under faults: its chat-completions traffic recorded
through hudproxy from a local model server, then replayed with an injected 429 and a dropped connection. The loop
asks again and the run still earns its reward, a loop that does not retry fails, and the replay journal shows the
faults and the retries (a completion is safe to repeat; the shop's writes are never repeated)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_agents import fake_openai

from hudproxy import Replay
from hudproxy.api import Recording
from hudproxy.env import OpenAIChatAgent
from hudproxy.env.loader import load_env
from hudproxy.matching.policy import MatchPolicy

pytestmark = pytest.mark.anyio
COMPLETIONS = {"method": "POST", "path": "/v1/chat/completions"}
FAULTS = {
    "seed": 5,
    "rules": [
        {"name": "llm-throttled", "match": COMPLETIONS, "nth": 1,
         "fault": {"kind": "status", "status": 429, "headers": {"Retry-After": "0"}}},
        {"name": "llm-dropped", "match": COMPLETIONS, "nth": 3, "fault": {"kind": "reset"}},
    ],
}  # fmt: skip


async def test_the_agent_loop_rides_out_a_429_and_a_reset(upstream: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    model = upstream(fake_openai([]))
    cassette = tmp_path / "completions.yaml"
    env = load_env("envs/shop")
    with Recording(cassette, model) as recording:
        async with env:
            recorded = await env.run("update-order", OpenAIChatAgent("m", base_url=f"{recording.base_url}/v1"),
                                     order_id="A1")  # fmt: skip
    assert recorded.reward == 1.0

    # both completions share method and path: state-aware replay serves them in their recorded order
    with Replay(cassette, match=MatchPolicy.build(on=["method", "path"])) as proxy:
        stormy, brittle = proxy.session("stormy"), proxy.session("brittle")
        async with env:
            async with stormy.inject(FAULTS):
                agent = OpenAIChatAgent("m", base_url=f"{stormy.base_url}/v1", backoff=0.01)
                run = await env.run("update-order", agent, order_id="A1")
            async with brittle.inject(FAULTS):
                agent = OpenAIChatAgent("m", base_url=f"{brittle.base_url}/v1", retries=0)
                failed = await env.run("update-order", agent, order_id="A1")
        assert (run.reward, run.answer, run.error) == (1.0, "done", None)
        run.assert_called(tool="update_order", json={"order_id": "A1", "status": "shipped"}, times=1)
        assert [(c.status, c.fault) for c in stormy.calls()] == [
            (429, "llm-throttled"), (200, None), (0, "llm-dropped"), (200, None)
        ]  # fmt: skip
        stormy.assert_retried("POST", "/v1/chat/completions", after=429, max_attempts=4)
        assert failed.reward == 0.0 and "answered 429" in (failed.error or "")
        assert [c.fault for c in brittle.calls()] == ["llm-throttled"]
