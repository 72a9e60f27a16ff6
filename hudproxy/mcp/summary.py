"""One line per MCP exchange for `hudproxy inspect`: `tools/call charge_card {"amount":100} → charged 100`."""

from __future__ import annotations

import json
from typing import Any

from hudproxy.interaction.model import Interaction
from hudproxy.mcp.exchange import from_interaction, match_body

MAX_SHOWN = 80


def short(text: str, limit: int = MAX_SHOWN) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def result_summary(result: Any, error: dict[str, Any] | None) -> str:
    """What came back, in a few words: an error, a tool's first text, or the size of a listing."""
    if error is not None:
        return short(f"error {error.get('code')}: {error.get('message', '')}")
    if not isinstance(result, dict):
        return ""
    prefix = "isError: " if result.get("isError") else ""
    for key in ("tools", "resources", "resourceTemplates", "prompts"):
        if isinstance(result.get(key), list):
            return f"{len(result[key])} {key}"
    for item in result.get("content") or result.get("contents") or result.get("messages") or []:
        body = item.get("content", item) if isinstance(item, dict) else {}
        if isinstance(body, dict) and isinstance(body.get("text"), str):
            return prefix + short(body["text"])
    if "serverInfo" in result or "capabilities" in result:
        return "server identity"
    return prefix + short(json.dumps(result, ensure_ascii=False))


def mcp_summary(interaction: Interaction) -> dict[str, Any]:
    """The readable target (method, name, arguments, result) and the exchange's parts for `--json`."""
    exchange = from_interaction(interaction)
    name = exchange.name
    arguments = match_body(exchange.method, exchange.params)
    if set(arguments) == {"arguments"}:  # prompts/get: the prompt's own arguments
        arguments = arguments["arguments"]
    compact = json.dumps(arguments, ensure_ascii=False, separators=(",", ":")) if arguments else ""
    shown = " ".join(part for part in (exchange.method, name or "", compact) if part)
    answer = result_summary(exchange.result, exchange.error)
    target = f"{shown} → {answer}" if answer else shown
    return {
        "url": f"mcp://{exchange.server} {target}",
        "target": target,
        "mcp": {
            "server": exchange.server,
            "method": exchange.method,
            "name": name,
            "arguments": arguments,
            "result": answer,
            "is_error": exchange.error is not None
            or (isinstance(exchange.result, dict) and exchange.result.get("isError") is True),
            "notifications": len(exchange.notifications),
        },
    }
