"""Fixtures: `start(token=..., journal=...)` serves the shop cassette with the admin API; `server` is one started."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from admin_server import Server, Start, shop_cassette

from hudproxy.admin import attach_admin
from hudproxy.cassette import save_cassette
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette


@pytest.fixture
def cassette_path(tmp_path: Path) -> Path:
    return save_cassette(make_cassette(shop_cassette()), tmp_path / "shop.yaml")


@pytest.fixture
def start(cassette_path: Path, tmp_path: Path) -> Iterator[Start]:
    """`start(token=None, journal=True)` serves the shop cassette with the admin API; stopped at test end."""
    with contextlib.ExitStack() as stack:

        def starting(token: str | None = None, journal: bool = True) -> Server:
            journal_path = tmp_path / "journal.db" if journal else None
            app = create_replay_app(cassette_path, ReplayOptions(journal=journal_path))
            attach_admin(app, token)
            url = stack.enter_context(serve_in_thread(app))
            client = stack.enter_context(httpx.Client(base_url=url, trust_env=False, timeout=10.0))
            return Server(url, app, client, journal_path)

        yield starting


@pytest.fixture
def server(start: Start) -> Server:
    """The shop replay server with a journal and no admin token."""
    return start()
