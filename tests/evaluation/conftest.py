"""Fixtures for the eval runner: anyio on asyncio, and the real Postgres of tests/databases (its `postgres_dsn`
and `pg` fixtures, imported so that both folders start and share the server the same way)."""

from __future__ import annotations

import pytest

from tests.databases.conftest import pg, postgres_dsn  # noqa: F401 - fixtures for this folder


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
