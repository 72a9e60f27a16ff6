"""Ask the live MCP server again: its tool list, and the recorded calls (read-only ones unless told otherwise).

Connects as `hudproxy record`'s MCP mode does (the same `Upstream`: a stdio command or a streamable-HTTP URL) and
sends through the same `send_upstream`, so results come back as the same era-neutral wire JSON the cassette holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp.shared.exceptions import MCPError

from hudproxy.errors import RecordingError
from hudproxy.mcp.methods import dump
from hudproxy.mcp.recorder import root_cause, send_upstream
from hudproxy.mcp.upstream import Upstream


@dataclass
class LiveAnswer:
    result: Any = None
    error: dict[str, Any] | None = None
    ms: float = 0.0
    again: LiveAnswer | None = None  # the same call sent a second time (learning volatile fields)


@dataclass
class LiveMcp:
    listing: dict[str, Any]
    answers: list[LiveAnswer] = field(default_factory=list)


async def _ignore(_: dict[str, Any]) -> None:
    return None


async def _call(client: Any, params: dict[str, Any], timeout: float) -> LiveAnswer:
    started = anyio.current_time()
    try:
        with anyio.fail_after(timeout):
            answer = LiveAnswer(await send_upstream(client, "tools/call", params, _ignore))
    except MCPError as exc:
        answer = LiveAnswer(error=dump(exc.error))
    except TimeoutError:
        answer = LiveAnswer(error={"code": -32001, "message": f"no answer within {timeout:g}s"})
    answer.ms = (anyio.current_time() - started) * 1000
    return answer


async def _ask(upstream: Upstream, calls: list[tuple[dict[str, Any], bool]], timeout: float) -> LiveMcp:
    async with upstream.client() as client:
        tools: list[Any] = []
        params: dict[str, Any] = {}
        while True:  # every page of the listing
            with anyio.fail_after(timeout):
                page = await send_upstream(client, "tools/list", params, _ignore)
            tools += page.get("tools") or []
            cursor = page.get("nextCursor")
            if not cursor:
                break
            params = {"cursor": cursor}
        live = LiveMcp({"tools": tools})
        for params, twice in calls:
            answer = await _call(client, params, timeout)
            if twice:
                answer.again = await _call(client, params, timeout)
            live.answers.append(answer)
        return live


def ask_live(upstream: Upstream, calls: list[tuple[dict[str, Any], bool]], timeout: float = 30.0) -> LiveMcp:
    """The live tool list and one answer per call in `calls` (tools/call params, and whether to send it twice);
    RecordingError when the server cannot be reached at all."""
    try:
        return anyio.run(_ask, upstream, calls, timeout)
    except Exception as exc:
        raise RecordingError(f"could not ask the MCP server {upstream.describe()}: {root_cause(exc)}") from None
