"""MCP record and replay: MCP calls as Interactions (`exchange`), served back by the SDK with no upstream.

    record:  agent → McpRecorder (SDK server) → upstream (SDK client: stdio command or streamable HTTP)
    replay:  agent → RecordedServer (SDK server) → ReplayService (engine, sessions, journal kind "mcp")

Names are imported on first use: loading a cassette or serving HTTP replay never pays for importing the SDK.
"""

from __future__ import annotations

from hudproxy.lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _WHERE, globals())
