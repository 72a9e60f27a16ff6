"""Fixtures shared by every test folder: real servers on loopback, and an isolated compiled-cassette cache."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hudproxy.serving import serve_in_thread

Serve = Callable[[Any], str]


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$HUDPROXY_CACHE_DIR for this test: large cassettes cache their parse here, never in the user's ~/.cache."""
    cache = tmp_path_factory.mktemp("hudproxy-cache")
    monkeypatch.setenv("HUDPROXY_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(autouse=True)
def journal_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$HUDPROXY_JOURNAL for this test: a `hudproxy record|replay` run without --journal writes here, never into
    the working folder's .hudproxy/."""
    journal = tmp_path_factory.mktemp("hudproxy-journal") / "journal.db"
    monkeypatch.setenv("HUDPROXY_JOURNAL", str(journal))
    return journal


@pytest.fixture
def upstream() -> Iterator[Serve]:
    """Factory: `upstream(app)` serves an ASGI app on 127.0.0.1 in a thread and returns its base URL.

    Every server started in the test stops when the test ends.
    """
    with contextlib.ExitStack() as stack:
        yield lambda app: stack.enter_context(serve_in_thread(app))


@pytest.fixture
def shop_upstream(upstream: Serve) -> str:
    """The example shop, fresh seed state, on a free loopback port."""
    from envs.shop.service import create_app  # imported here so plain `pytest` (no cwd on sys.path) still collects

    return upstream(create_app())
