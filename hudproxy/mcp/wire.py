"""The MCP methods hudproxy records and replays, and the wire shapes that must not depend on the protocol era.

Results are stored era-neutral: the fields one era adds (`resultType: complete`, `ttlMs`, `cacheScope`, the
`serverInfo` stamp in `_meta`) are stripped, and the serving SDK stamps whatever the client's era needs.
Plain data only (no SDK import), so loading a cassette stays fast.
"""

from __future__ import annotations

from typing import Any

SERVER_INFO_META = "io.modelcontextprotocol/serverInfo"
ERA_FIELDS = frozenset({"ttlMs", "cacheScope"})
IDENTITY_METHODS = ("initialize", "server/discover")


CAPABILITY = {
    "tools/list": "tools",
    "tools/call": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resources",
    "resources/read": "resources",
    "prompts/list": "prompts",
    "prompts/get": "prompts",
    "completion/complete": "completions",
}  # every method hudproxy forwards and replays, and the server capability that announces it
LISTS = {  # listing method → the key of its items
    "tools/list": "tools",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
    "prompts/list": "prompts",
}


def era_neutral(result: dict[str, Any]) -> dict[str, Any]:
    """A result without the fields only one protocol era carries, so either era can replay it."""
    clean = {k: v for k, v in result.items() if k not in ERA_FIELDS}
    if clean.get("resultType") == "complete":
        del clean["resultType"]  # the default; any other type (input_required, an extension's) is kept
    meta = clean.get("_meta")
    if isinstance(meta, dict) and SERVER_INFO_META in meta:
        rest = {k: v for k, v in meta.items() if k != SERVER_INFO_META}
        if rest:
            clean["_meta"] = rest
        else:
            del clean["_meta"]
    return clean


def served(result: dict[str, Any]) -> dict[str, Any]:
    """A stored result ready for the SDK to serve in either era (it sieves what the client's era lacks)."""
    return {"resultType": "complete", **result}


def served_capabilities(capabilities: dict[str, Any], modern: bool) -> dict[str, Any]:
    """Recorded capabilities as hudproxy can honour them: in the modern era nothing is pushed (no listen)."""
    if not modern:
        return capabilities
    out = dict(capabilities)
    for name in ("tools", "prompts", "resources"):
        if isinstance(out.get(name), dict):
            out[name] = {k: v for k, v in out[name].items() if k not in ("listChanged", "subscribe")}
    return out
