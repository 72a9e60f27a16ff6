"""A real stdio MCP server (official SDK) whose tool fetches an HTTPS URL with httpx and with requests, trusting
whatever its environment says (SSL_CERT_FILE, REQUESTS_CA_BUNDLE), as a tool server written by anyone does."""

from __future__ import annotations

import httpx
import requests
from mcp.server.mcpserver import MCPServer

server = MCPServer("fetcher", version="0.1.0")


@server.tool()
def fetch(url: str) -> str:
    """GET `url` with both clients; raises (a tool error) when either cannot verify the certificate."""
    first = httpx.get(url, timeout=20).json()
    second = requests.get(url, timeout=20).json()
    return f"httpx tls={first['tls']} requests tls={second['tls']}"


if __name__ == "__main__":
    server.run()
