"""What the eval tests share: the test environments, the shop's tasks, and results rows made comparable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import sqlite_utils

HERE = Path(__file__).parent
NOTES = HERE / "envs" / "notes"
SHOP = HERE.parents[1] / "envs" / "shop"
SHOP_AGENT = "scripted"  # registered by envs/shop/env.py
SHOP_AGENT_PATH = "envs.shop.agents:scripted"  # the same, by module path (the checkout is on sys.path)
SHOP_TASKS = [
    {"scenario": "update-order", "args": {"order_id": "A1"}},
    {"scenario": "update-order", "args": {"order_id": "A1", "status": "paid"}},  # never recorded: 0 in replay
    {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}},
]
UNSTABLE = {"id", "run_id", "eval_id", "time", "started", "duration_ms", "worker"}  # differ between two evals
LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:\d+")  # a replay server's ephemeral port (one per eval, or Ray worker)
ORDER = {"runs": "idx", "calls": "run_id, seq", "transcripts": "run_id"}


def rows(path: Path, table: str) -> list[dict[str, Any]]:
    """A results table in plan order, without what legitimately differs between two evals of the same plan."""
    db = sqlite_utils.Database(path)
    try:
        return [{k: _stable(v) for k, v in row.items() if k not in UNSTABLE}
                for row in db[table].rows_where(order_by=ORDER[table])]  # fmt: skip
    finally:
        db.close()


def _stable(value: Any) -> Any:
    return LOOPBACK_PORT.sub("127.0.0.1:PORT", value) if isinstance(value, str) else value


def fake_openai(seen: list[dict[str, Any]]) -> Any:
    """A chat-completions server that ships A1, then answers "done"; keeps every request body in `seen`."""
    import json

    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/chat/completions")
    def complete(body: dict[str, Any]) -> dict[str, Any]:
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
