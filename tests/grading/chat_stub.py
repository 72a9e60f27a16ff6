"""A scripted OpenAI-compatible chat server for the judge's tests: real HTTP on loopback, its replies chosen by
each test, so the judge's own rules (retry, format ladder, majority, cache) are exercised on cue."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

MET = json.dumps({"verdict": "MET", "reason": "states 12.50 EUR and A2"})
UNMET = json.dumps({"verdict": "UNMET", "reason": "no amount"})
Reply = Callable[[dict[str, Any]], str]


def chat_server(reply: Reply, seen: list[dict[str, Any]], refuse: tuple[str, ...] = ()) -> FastAPI:
    """Answers each chat completion with `reply(body)`; refuses the response_format kinds in `refuse` like
    OpenAI (400), a validator (422) or llama.cpp (500) do."""
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Any:
        body = await request.json()
        seen.append({**body, "authorization": request.headers.get("authorization")})
        kind = format_kind(body)
        if kind in refuse:
            status = {"json_schema": 400, "json_object_schema": 422}.get(kind, 500)
            return JSONResponse({"error": {"message": f"response_format {kind} is not supported"}}, status)
        message = {"role": "assistant", "content": reply(body)}
        return {"id": "c", "object": "chat.completion", "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}  # fmt: skip

    return app


def format_kind(body: dict[str, Any]) -> str:
    found = body.get("response_format")
    if found is None:
        return "none"
    return "json_object_schema" if found["type"] == "json_object" and "schema" in found else found["type"]
