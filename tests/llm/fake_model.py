"""A small OpenAI-compatible chat server for the LLM-cassette tests, plain and streamed, like llama.cpp's server.

It drives the shop's update-order scenario (a tool call, then a final answer) and is deliberately not
deterministic: every answer carries a fresh nonce and completion id. A replayed run can only reproduce the
recorded transcript by replaying the recorded answers, never by asking again.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

CHUNK_DELAY_S = 0.03  # between streamed events: a recorded pace `--stream-timing` can be seen to keep


def fake_model(seen: list[dict[str, Any]]) -> FastAPI:
    """Keeps every request body and Authorization header in `seen`."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Any:
        body = await request.json()
        seen.append({"body": body, "authorization": request.headers.get("authorization")})
        message = _next_message(body)
        usage = {"prompt_tokens": 10 * len(body["messages"]), "completion_tokens": 7,
                 "total_tokens": 10 * len(body["messages"]) + 7}  # fmt: skip
        completion_id = f"chatcmpl-{secrets.token_hex(4)}"
        if body.get("stream"):
            include = (body.get("stream_options") or {}).get("include_usage")
            return StreamingResponse(_events(completion_id, body["model"], message, usage if include else None),
                                     media_type="text/event-stream")  # fmt: skip
        return JSONResponse({"id": completion_id, "object": "chat.completion", "model": body["model"],
                             "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                             "usage": usage})  # fmt: skip

    return app


def _next_message(body: dict[str, Any]) -> dict[str, Any]:
    nonce = secrets.token_hex(3)
    if not any(m["role"] == "tool" for m in body["messages"]):
        arguments = json.dumps({"order_id": "A1", "status": "shipped"})
        call = {"id": f"call_{nonce}", "type": "function", "function": {"name": "update_order", "arguments": arguments}}
        return {"role": "assistant", "content": None, "tool_calls": [call]}
    return {"role": "assistant", "content": f"done ({nonce})"}


async def _events(completion_id: str, model: str, message: dict[str, Any], usage: dict[str, Any] | None
                  ) -> AsyncIterator[bytes]:  # fmt: skip
    def event(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {"id": completion_id, "object": "chat.completion.chunk", "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        return f"data: {json.dumps(chunk)}\n\n".encode()

    yield event({"role": "assistant"})
    for call in message.get("tool_calls") or []:
        await asyncio.sleep(CHUNK_DELAY_S)
        function = call["function"]
        yield event({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                     "function": {"name": function["name"], "arguments": ""}}]})  # fmt: skip
        for half in (function["arguments"][:10], function["arguments"][10:]):
            await asyncio.sleep(CHUNK_DELAY_S)
            yield event({"tool_calls": [{"index": 0, "function": {"arguments": half}}]})
    for word in (message.get("content") or "").split(" "):
        await asyncio.sleep(CHUNK_DELAY_S)
        yield event({"content": word + " "})
    await asyncio.sleep(CHUNK_DELAY_S)
    yield event({}, "tool_calls" if message.get("tool_calls") else "stop")
    if usage is not None:
        await asyncio.sleep(CHUNK_DELAY_S)
        usage_chunk = {"id": completion_id, "object": "chat.completion.chunk", "model": model, "choices": [],
                       "usage": usage}  # fmt: skip
        yield f"data: {json.dumps(usage_chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"
