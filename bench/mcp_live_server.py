"""The live peer for mcp_bench: an `mcp` SDK `MCPServer` whose tools return constant dicts.

Served over streamable HTTP at /mcp (`streamable_http_app()`, the SDK's defaults) by uvicorn with uvloop,
httptools and no access log, the settings replay_bench's bare server uses. A modern-era (2026-07-28) client
sends one self-contained POST per call, with no session. Run: ``python bench/mcp_live_server.py --port 9000``.
"""

from __future__ import annotations

import argparse
from typing import Any

from mcp.server.mcpserver import MCPServer

server = MCPServer("bench-constants", version="1.0.0")
QUOTE = {"symbol": "ACME", "price": 123.45, "currency": "USD", "exchange": "NYSE"}
STATUS = {"status": "ok", "version": 3, "region": "eu-west-1"}


@server.tool()
def get_quote(symbol: str) -> dict[str, Any]:
    """A quote for a symbol (always the same one)."""
    return QUOTE


@server.tool()
def get_status() -> dict[str, Any]:
    """The service status (constant)."""
    return STATUS


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    uvicorn.run(
        server.streamable_http_app(),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
