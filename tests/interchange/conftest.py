"""Fixtures for import/export: the live upstream (`bodies_app`) and a replay server for imported cassettes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from bodies_app import bodies_app

from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread


@pytest.fixture
def bodies_upstream() -> Iterator[str]:
    with serve_in_thread(bodies_app()) as url:
        yield url


@pytest.fixture
def replay_server() -> Iterator[Callable[[Path], httpx.Client]]:
    """Factory: `replay_server(cassette)` starts a real replay server (uvicorn in a thread), returns a client."""
    with contextlib.ExitStack() as stack:

        def start(cassette: Path) -> httpx.Client:
            url = stack.enter_context(serve_in_thread(create_replay_app(cassette)))
            return stack.enter_context(httpx.Client(base_url=url, trust_env=False, timeout=10))

        yield start
