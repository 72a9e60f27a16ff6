"""What a cassette says about each recorded MCP server: who it is, which tools it offers, which are read-only.

The replay server takes its identity (server info, capabilities, instructions) from the recorded `initialize`
or `server/discover` exchange, and the tool catalogue from every recorded `tools/list`, so an agent sees the same
server whichever era it speaks. A cassette without a handshake (written by hand) still replays: the identity is
then derived from the methods it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hudproxy.cassette.lazy import positions_where_url_starts
from hudproxy.cassette.model import Cassette
from hudproxy.interaction.mcp import Exchange, from_interaction
from hudproxy.interaction.model import Interaction
from hudproxy.mcp.wire import CAPABILITY, IDENTITY_METHODS, LISTS, SERVER_INFO_META


@dataclass(frozen=True)
class Identity:
    """The server as its clients see it before any call."""

    server_info: dict[str, Any]
    capabilities: dict[str, Any]
    instructions: str | None = None

    @classmethod
    def from_exchange(cls, exchange: Exchange) -> Identity:
        result = exchange.result if isinstance(exchange.result, dict) else {}
        if exchange.method == "initialize":
            info = result.get("serverInfo") or {}
        else:
            info = (result.get("_meta") or {}).get(SERVER_INFO_META) or {}
        info = {"name": exchange.server, "version": "", **info}
        return cls(info, dict(result.get("capabilities") or {}), result.get("instructions"))


@dataclass
class ServerCatalog:
    """One recorded server: identity, its tools (the union of every recorded listing) and fallback listings."""

    label: str
    identity: Identity | None = None
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    listings: dict[str, Any] = field(default_factory=dict)
    methods: set[str] = field(default_factory=set)

    def add(self, exchange: Exchange) -> None:
        if exchange.method in IDENTITY_METHODS:
            self.identity = Identity.from_exchange(exchange)
            return
        self.methods.add(exchange.method)
        if exchange.method in LISTS and exchange.error is None:
            self.listings.setdefault(exchange.method, exchange.result)
        if exchange.method == "tools/list" and isinstance(exchange.result, dict):
            for tool in exchange.result.get("tools") or []:
                if isinstance(tool, dict) and "name" in tool:
                    self.tools.setdefault(tool["name"], tool)

    def served_identity(self) -> Identity:
        """The recorded identity, or one derived from the recorded methods."""
        if self.identity is not None:
            return self.identity
        capabilities = {CAPABILITY[m]: {} for m in self.methods if m in CAPABILITY}
        return Identity({"name": self.label, "version": ""}, capabilities)

    def input_schema(self, tool: str) -> dict[str, Any] | None:
        found = self.tools.get(tool)
        return found.get("inputSchema") if found else None


def mcp_exchanges(interactions: Sequence[Interaction]) -> list[Exchange]:
    """Found by URL first, so a memory-mapped cassette inflates only its MCP exchanges."""
    return [from_interaction(interactions[p]) for p in positions_where_url_starts(interactions, "mcp://")]


def catalogs(cassette: Cassette) -> dict[str, ServerCatalog]:
    """Every recorded MCP server by label, in the order first recorded."""
    found: dict[str, ServerCatalog] = {}
    for exchange in mcp_exchanges(cassette.interactions):
        found.setdefault(exchange.server, ServerCatalog(exchange.server)).add(exchange)
    return found
