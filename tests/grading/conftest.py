"""Grading tests run their async parts on asyncio (the environments and the MCP SDK's client)."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
