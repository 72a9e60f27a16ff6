"""OpenAIChatAgent against a local server speaking the chat-completions API (tool call, then a final answer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI, Header, HTTPException

from hudproxy.env import OpenAIChatAgent
from hudproxy.env.loader import load_env
from hudproxy.errors import ConfigError

pytestmark = pytest.mark.anyio


def fake_openai(seen: list[dict[str, Any]]) -> FastAPI:
    """Answers like a model that ships A1 then says it is done; keeps every request body in `seen`."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    def complete(body: dict[str, Any], authorization: str = Header("")) -> dict[str, Any]:
        if authorization != "Bearer sk-test":
            raise HTTPException(401, "bad key")
        seen.append(body)
        if not any(m["role"] == "tool" for m in body["messages"]):
            arguments = json.dumps({"order_id": "A1", "status": "shipped"})
            call = {"id": "call_1", "type": "function", "function": {"name": "update_order", "arguments": arguments}}
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        else:
            message = {"role": "assistant", "content": "done"}
        return {"id": "c", "object": "chat.completion", "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}  # fmt: skip

    return app


async def test_openai_chat_agent_calls_tools_until_a_final_answer(upstream, monkeypatch) -> None:
    seen: list[dict[str, Any]] = []
    base = upstream(fake_openai(seen))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    env = load_env("envs/shop")
    async with env:
        run = await env.run("update-order", OpenAIChatAgent("fake-model", base_url=f"{base}/v1"), order_id="A1")
    assert run.reward == 1.0 and run.answer == "done"
    first, second = seen
    functions = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert functions["update_order"]["parameters"]["required"] == ["order_id", "status"]
    assert first["messages"] == [{"role": "user", "content": "Update order A1 to shipped. Answer 'done' when it is."}]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"
    assert json.loads(tool_message["content"])["status"] == "shipped"
    run.assert_called(tool="update_order", json={"order_id": "A1", "status": "shipped"}, times=1)
    assert [m["role"] for m in run.transcript] == ["user", "assistant", "tool", "assistant"]


async def test_openai_chat_agent_needs_a_key(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    env = load_env("envs/shop")
    async with env:
        run = await env.run("update-order", OpenAIChatAgent("m", base_url="http://127.0.0.1:9"), order_id="A1")
    assert run.reward == 0.0 and "OPENAI_API_KEY" in (run.error or "")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        await OpenAIChatAgent("m").run("hi", None)  # type: ignore[arg-type]
