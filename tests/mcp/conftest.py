"""Fixtures for the MCP tests: the real tools server over streamable HTTP, in its own process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mcp_helpers import HttpUpstream, start_http_upstream


@pytest.fixture
def http_upstream() -> Iterator[HttpUpstream]:
    upstream = start_http_upstream()
    try:
        yield upstream
    finally:
        upstream.stop()
