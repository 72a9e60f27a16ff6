"""Fixtures for the Environment SDK: the anyio backend, and a real MCP server on a socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from env_peers import weather_server

from hudproxy.serving import serve_in_thread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def mcp_url() -> Iterator[str]:
    """The weather MCP server over streamable HTTP on a free loopback port, in a thread."""
    with serve_in_thread(weather_server().streamable_http_app()) as base:
        yield f"{base}/mcp"
