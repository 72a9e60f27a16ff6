"""The old home of `hudproxy.interaction.mcp` (MCP exchanges as interactions), kept for existing imports."""

from hudproxy.interaction.mcp import (
    JSON_HEADERS,
    METHOD,
    NAMED,
    SCHEME,
    Exchange,
    canonical,
    from_interaction,
    is_mcp,
    match_body,
    quoted,
    request_for,
    strip_meta,
    to_interaction,
)

__all__ = [
    "JSON_HEADERS",
    "METHOD",
    "NAMED",
    "SCHEME",
    "Exchange",
    "canonical",
    "from_interaction",
    "is_mcp",
    "match_body",
    "quoted",
    "request_for",
    "strip_meta",
    "to_interaction",
]
