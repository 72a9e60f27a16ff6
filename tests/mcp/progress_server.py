"""A real MCP server (official SDK) whose one tool reports progress with pauses between the reports, as a slow
export does: the pace its progress notifications arrive at is what replay with `--stream-timing` must keep.

Run as `python progress_server.py` (stdio) or `python progress_server.py --http PORT` (streamable HTTP at /mcp).
"""

from __future__ import annotations

import asyncio
import sys

from mcp.server.mcpserver import Context, MCPServer

PAUSES = (0.3, 0.5, 0.4)  # seconds before each progress report: they arrive about 0.3, 0.8 and 1.2 s in
server = MCPServer("reports", version="1.0")


@server.tool()
async def export_report(name: str, ctx: Context) -> str:
    """Build a report page by page, saying how far it got after each page."""
    for page, pause in enumerate(PAUSES, 1):
        await asyncio.sleep(pause)
        await ctx.report_progress(page, len(PAUSES), f"page {page}")
    return f"report {name}: {len(PAUSES)} pages"


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
