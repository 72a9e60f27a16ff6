"""The MCP server hudproxy shows to an agent: the SDK's low-level `Server`, wearing a recorded identity.

Both the replay server and the recording proxy are this one class with a different handler behind every
method: the SDK does the protocol (both eras, framing, validation, stamping); hudproxy only answers.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.caching import CACHEABLE_METHODS, CacheHint
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from hudproxy.mcp.catalog import Identity
from hudproxy.mcp.methods import METHODS
from hudproxy.mcp.wire import served_capabilities

NO_CACHING = {method: CacheHint(ttl_ms=0, scope="private") for method in CACHEABLE_METHODS}  # every call is seen
Answer = Callable[[ServerRequestContext[Any], str], Awaitable[dict[str, Any]]]


class RecordedServer(Server[Any]):
    """A Server whose name, version, instructions and capabilities are the recorded server's, not derived."""

    def __init__(
        self,
        identity: Identity,
        get_tool_input_schema: Callable[[str], Mapping[str, Any] | None] | None = None,
    ) -> None:
        info = types.Implementation.model_validate(identity.server_info)
        super().__init__(
            info.name,
            version=info.version,
            title=info.title,
            description=info.description,
            instructions=identity.instructions,
            website_url=info.website_url,
            icons=info.icons,
            get_tool_input_schema=get_tool_input_schema,
            cache_hints=NO_CACHING,
        )
        self.recorded_capabilities = identity.capabilities
        self.replayer: Any = None  # set by the replay server (an McpReplayer): the HTTP fast path answers with it

    def get_capabilities(
        self,
        notification_options: Any = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> types.ServerCapabilities:
        modern = protocol_version in MODERN_PROTOCOL_VERSIONS
        return types.ServerCapabilities.model_validate(served_capabilities(self.recorded_capabilities, modern))


def served_methods(capabilities: Mapping[str, Any], recorded: Iterable[str] = ()) -> list[str]:
    """Methods to answer: those the capabilities announce, plus any recorded anyway."""
    extra = set(recorded)
    return [name for name, m in METHODS.items() if m.capability in capabilities or name in extra]


def register(server: Server[Any], methods: Iterable[str], answer: Answer) -> None:
    """One handler per method, all delegating to `answer(ctx, method)`; the raw params are on `ctx.params`."""
    for name in methods:
        server.add_request_handler(name, METHODS[name].params, _handler(answer, name))
    if "logging" in getattr(server, "recorded_capabilities", {}):
        server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, _accept)


def _handler(answer: Answer, method: str) -> Callable[[ServerRequestContext[Any], Any], Awaitable[dict[str, Any]]]:
    async def handle(ctx: ServerRequestContext[Any], _params: Any) -> dict[str, Any]:
        return await answer(ctx, method)

    return handle


async def _accept(_ctx: ServerRequestContext[Any], _params: Any) -> dict[str, Any]:
    """A legacy client's `logging/setLevel`: accepted; replayed log messages go out at every level."""
    return {}


async def emit(ctx: ServerRequestContext[Any], notification: Mapping[str, Any]) -> None:
    """Send a recorded (or just received) progress or log notification on the call it belongs to.

    The SDK applies the client's own rules: progress only if the client asked for it, log messages only at the
    levels a modern client opted in to.
    """
    params = notification.get("params") or {}
    method = notification.get("method")
    if method == "notifications/progress":
        await ctx.session.report_progress(params.get("progress", 0), params.get("total"), params.get("message"))
    elif method == "notifications/message":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await ctx.session.send_log_message(
                params.get("level", "info"), params.get("data"), params.get("logger"), related_request_id=ctx.request_id
            )
