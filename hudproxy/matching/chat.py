"""Provider-aware matching of OpenAI-compatible chat completions (`POST .../chat/completions`).

Two requests of an LLM agent are "the same call" when the conversation and the generation settings are the same:
model, messages (roles, contents, tool calls and tool results), tools, tool_choice, response_format and the
sampling parameters. What changes from run to run without changing the answer is dropped: `user`,
`stream_options`, `metadata`, request ids. A tool call's `arguments` (a JSON string) is compared as parsed JSON
and a content given as text parts as its text, so two clients that spell the same message differently still match.

A miss names the turn that differs from the nearest recording, in the HTTP misses' wording:
`body.messages[3] (turn 4, tool).content: "Error: ..." (recorded "{...}")`.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hudproxy.interaction.model import Request

CHAT_PATH = "/chat/completions"
VOLATILE = frozenset({"user", "stream_options", "metadata", "request_id", "x_request_id", "store"})
TURN_LIMIT = 8


def is_chat(request: Request) -> bool:
    """A chat-completions call of any OpenAI-compatible API (OpenAI, Azure, vLLM, llama.cpp, Ollama, ...)."""
    return request.method.upper() == "POST" and request.path.rstrip("/").endswith(CHAT_PATH)


def chat_view(body: Any, tools: Any = None) -> Any:
    """The request as it decides the answer: volatile fields dropped, messages normalised; `tools` (kept apart
    from the scrubbed body: JSON Schemas, the same on every call of a run) put back as they are."""
    if not isinstance(body, dict):
        return body
    view = {k: v for k, v in body.items() if k not in VOLATILE and v is not None}
    if tools is not None:
        view["tools"] = tools
    if isinstance(view.get("messages"), list):
        view["messages"] = [_message(m) for m in view["messages"]]
    return view


def _message(message: Any) -> Any:
    if not isinstance(message, dict):
        return message
    out = {k: v for k, v in message.items() if v is not None and v != [] and k != "refusal"}
    content = out.get("content")
    if isinstance(content, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in content):
        out["content"] = "".join(str(p.get("text", "")) for p in content)
    if isinstance(out.get("tool_calls"), list):
        out["tool_calls"] = [_tool_call(c) for c in out["tool_calls"]]
    return out


def _tool_call(call: Any) -> Any:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        return call
    function = dict(call["function"])
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(ValueError):  # else compared as the string the model wrote
            function["arguments"] = json.loads(arguments or "{}")
    return {**{k: v for k, v in call.items() if k != "index"}, "function": function}


def chat_differences(live: Any, recorded: Any, diff: Any) -> list[str]:
    """What differs between two chat views: the first differing turns by number and field, then the other
    fields (`diff` is the JSON differ HTTP bodies use, passed in so both word misses alike)."""
    if not isinstance(live, dict) or not isinstance(recorded, dict):
        return diff(live, recorded, "body")
    out: list[str] = []
    mine, theirs = live.get("messages"), recorded.get("messages")
    if isinstance(mine, list) and isinstance(theirs, list):
        out.extend(_turn_differences(mine, theirs, diff))
    rest_live = {k: v for k, v in live.items() if k != "messages"}
    rest_recorded = {k: v for k, v in recorded.items() if k != "messages"}
    out.extend(diff(rest_live, rest_recorded, "body"))
    return out[:TURN_LIMIT] or ["body: differs"]


def _turn_differences(mine: list[Any], theirs: list[Any], diff: Any) -> list[str]:
    out: list[str] = []
    for number, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        if a == b:
            continue
        where = f"body.messages[{number}] (turn {number + 1}, {_role(a)})"
        if isinstance(a, dict) and isinstance(b, dict):
            for line in diff(a, b, "")[:4]:
                field, _, rest = line.partition(": ")
                out.append(f"{where}{field}: {rest}")
        else:
            out.append(f"{where}: differs")
        if len(out) >= 4:
            break
    if len(mine) != len(theirs):
        if len(mine) > len(theirs):
            extra = mine[len(theirs)]
            out.append(f"body.messages: {len(mine)} turns (recorded {len(theirs)}); turn {len(theirs) + 1} "
                       f"({_role(extra)}) is not in the recording")  # fmt: skip
        else:
            missing = theirs[len(mine)]
            out.append(f"body.messages: {len(mine)} turns (recorded {len(theirs)}); the recording goes on with "
                       f"turn {len(mine) + 1} ({_role(missing)})")  # fmt: skip
    return out


def _role(message: Any) -> str:
    return str(message.get("role", "?")) if isinstance(message, dict) else type(message).__name__
