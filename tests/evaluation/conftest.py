"""Fixtures for the eval runner: anyio on asyncio, and the real Postgres of tests/databases (its `postgres_dsn`
and `pg` fixtures, imported so that both folders start and share the server the same way), and a local Ray."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.databases.conftest import pg, postgres_dsn  # noqa: F401 - fixtures for this folder


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    """A local Ray instance for one test module; yields its address (for `hudproxy eval --ray-address`)."""
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")
    context = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        yield context.address_info["address"]
    finally:
        ray.shutdown()
