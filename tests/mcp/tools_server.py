"""A small real MCP server (official SDK) for the tests: a wallet with state, a slow search, a resource, a prompt.

Run as `python tools_server.py` (stdio) or `python tools_server.py --http PORT` (streamable HTTP at /mcp).
`CRASH_ON=<tool>` makes the process exit abruptly when that tool is called (an upstream dying mid-record).
"""

from __future__ import annotations

import os
import sys
import warnings

from mcp.server.mcpserver import Context, MCPServer

warnings.simplefilter("ignore")  # the SDK marks logging deprecated for 2026-07-28; this server still logs
server = MCPServer("wallet-tools", version="1.2.3", instructions="Charge cards carefully; check the balance first.")
state = {"balance": 500}


@server.tool()
def get_balance() -> str:
    """The wallet balance in cents."""
    return f"balance: {state['balance']}"


@server.tool()
def charge_card(amount: int) -> str:
    """Charge the card; lowers the balance."""
    if os.environ.get("CRASH_ON") == "charge_card":
        os._exit(3)
    state["balance"] -= amount
    return f"charged {amount}, balance now {state['balance']}"


@server.tool()
async def search(query: str, ctx: Context) -> str:
    """Search the catalogue, reporting progress on the way."""
    await ctx.info(f"searching for {query}")
    for step in range(3):
        await ctx.report_progress(step + 1, 3, f"page {step + 1}")
    return f"3 results for {query!r}"


@server.tool()
def login(user: str, password: str) -> str:
    """Sign in (the password must never reach a cassette)."""
    return f"welcome {user}"


@server.resource("wallet://terms", mime_type="text/plain")
def terms() -> str:
    """The wallet's terms."""
    return "No refunds after 30 days."


@server.resource("wallet://statements/{month}", mime_type="text/plain")
def statement(month: str) -> str:
    """A monthly statement (a resource template)."""
    return f"Statement for {month}: balance {state['balance']}."


@server.resource("wallet://config", mime_type="text/plain")
def config() -> str:
    """Whether the server was given an API key in its environment (never the key itself)."""
    return f"api key configured: {'yes' if os.environ.get('API_KEY') else 'no'}"


@server.prompt()
def refund_letter(customer: str) -> str:
    """A refund letter to a customer."""
    return f"Dear {customer}, your refund is on its way."


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
