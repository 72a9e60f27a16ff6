"""MCP record and replay: MCP calls as Interactions (`exchange`), served back by the SDK with no upstream.

    record:  agent → McpRecorder (SDK server) → upstream (SDK client: stdio command or streamable HTTP)
    replay:  agent → RecordedServer (SDK server) → ReplayService (engine, sessions, journal kind "mcp")

Names are imported on first use: loading a cassette or serving HTTP replay never pays for importing the SDK.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Exchange": "exchange",
    "from_interaction": "exchange",
    "is_mcp": "exchange",
    "request_for": "exchange",
    "to_interaction": "exchange",
    "McpHttpApp": "http",
    "attach_mcp": "http",
    "McpRecorder": "recorder",
    "build_server": "replay_server",
    "build_servers": "replay_server",
    "recording_in_thread": "serve",
    "serve_stdio": "serve",
    "Upstream": "upstream",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'hudproxy.mcp' has no attribute {name!r}")
    return getattr(importlib.import_module(f"hudproxy.mcp.{_WHERE[name]}"), name)
