"""Which recorded requests count as writes, for state-aware replay.

HTTP: non-safe methods (POST, PUT, PATCH, DELETE). MCP (`mcp://` requests): a `tools/call` is a write unless
the tool is read-only: named with a reading verb (get_, list_, search_, find_, read_, fetch_, query_, lookup_,
describe_, show_, count_, check_, ...), marked `readOnlyHint` in its recorded annotations, or listed in
`read_tools`; `write_tools` forces a tool to count as a write. Every other MCP method (tools/list,
resources/read, prompts/get, initialize, ...) is a read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from hudproxy.cassette.lazy import positions_where_url_starts
from hudproxy.interaction.mcp import from_interaction
from hudproxy.interaction.model import Interaction, Request

READ_VERBS = re.compile(
    r"^(get|list|search|find|read|fetch|query|lookup|describe|show|count|check|view|inspect|browse|peek)([_\-.A-Z]|$)"
)


@dataclass(frozen=True)
class WriteRule:
    read_tools: frozenset[str] = frozenset()
    write_tools: frozenset[str] = frozenset()
    read_only_hints: frozenset[str] = field(default_factory=frozenset)

    def is_write(self, request: Request) -> bool:
        if not request.url.startswith("mcp://"):
            return request.is_write
        path = request.path
        if not path.startswith("/tools/call/"):
            return False
        return self.tool_is_write(unquote(path.removeprefix("/tools/call/")))

    def tool_is_write(self, tool: str) -> bool:
        if tool in self.write_tools:
            return True
        if tool in self.read_tools or tool in self.read_only_hints:
            return False
        return READ_VERBS.match(tool) is None


def read_only_hints(interactions: Sequence[Interaction]) -> frozenset[str]:
    """The tools every recorded `tools/list` marks `readOnlyHint: true` (any server)."""
    found: set[str] = set()
    for position in positions_where_url_starts(interactions, "mcp://"):  # a lazy cassette stays lazy
        interaction = interactions[position]
        if not interaction.request.path.startswith("/tools/list"):
            continue
        result = from_interaction(interaction).result
        for tool in (result.get("tools") if isinstance(result, dict) else None) or []:
            if (
                isinstance(tool, dict)
                and "name" in tool
                and (tool.get("annotations") or {}).get("readOnlyHint") is True
            ):
                found.add(tool["name"])
    return frozenset(found)
