"""Connectors to tools that live elsewhere: a running MCP server (`connect_url`) and another Environment
(`connect_hub`, or `env.connect_env(other)`).

An MCP server's state is its own; to keep runs apart against a hudproxy MCP replay, pass `per_run=True` and each
run gets its own client carrying `X-Hudproxy-Session: <run id>` (one replay session per run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hudproxy.env.run import RunContext
from hudproxy.env.tools import ToolError, ToolSpec, from_call_result, looks_wrapped

if TYPE_CHECKING:
    from mcp import Client

    from hudproxy.env.environment import Environment

SESSION_HEADER = "X-Hudproxy-Session"


class UrlConnector:
    """The tools of an MCP server over streamable HTTP (either protocol era; no response cache)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, per_run: bool = False) -> None:
        self.url = url
        self.label = f"mcp server {url}"
        self.headers = dict(headers or {})
        self.per_run = per_run
        self.specs: dict[str, ToolSpec] = {}
        self._client: Client | None = None

    def _new_client(self, extra: dict[str, str] | None = None) -> Client:
        # the MCP SDK (~0.4 s to import) loads when an environment connects to an MCP server, not for every env
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers={**self.headers, **(extra or {})}, timeout=httpx2.Timeout(30.0, read=300.0))
        return Client(streamable_http_client(self.url, http_client=http), cache=None)

    async def start(self) -> None:
        client = self._new_client()
        try:
            await client.__aenter__()
            listed = await client.list_tools()
        except Exception as exc:
            raise ToolError(f"could not list the tools of {self.url}: {exc}") from exc
        self.specs = {
            t.name: ToolSpec(
                t.name,
                t.description or "",
                dict(t.input_schema),
                t.output_schema,
                looks_wrapped(t.output_schema),
                self.label,
            )
            for t in listed.tools
        }
        if self.per_run:
            await client.__aexit__(None, None, None)
        else:
            self._client = client

    def tools(self) -> list[ToolSpec]:
        return list(self.specs.values())

    async def _client_for(self, run: RunContext) -> Client:
        if self._client is not None:
            return self._client
        client = run.state.get(self)
        if client is None:
            client = self._new_client({SESSION_HEADER: run.session_id})
            await client.__aenter__()
            run.state[self] = client
            run.stack.push_async_exit(client)
        return client

    async def call(self, name: str, args: dict[str, Any], run: RunContext) -> Any:
        from mcp.shared.exceptions import MCPError  # loaded with the client already

        client = await self._client_for(run)
        try:
            result = await client.call_tool(name, args)
        except MCPError as exc:
            raise ToolError(f"{name}: {exc}") from exc
        return from_call_result(self.specs.get(name), result)

    async def stop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(None, None, None)


class EnvConnector:
    """Another Environment's tools, called in-process in the caller's run (its mocks and services apply)."""

    def __init__(self, env: Environment, origin: str = "") -> None:
        self.env = env
        self.label = f"environment {env.name!r}{f' ({origin})' if origin else ''}"

    async def start(self) -> None:
        await self.env.start()

    def tools(self) -> list[ToolSpec]:
        return self.env.tool_specs()

    async def call(self, name: str, args: dict[str, Any], run: RunContext) -> Any:
        return await self.env.dispatch(run, name, args)

    async def stop(self) -> None:
        await self.env.stop()
