"""A small cassette and a journaling replay server (in a thread) for the journal tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hudproxy.cassette import save_cassette
from hudproxy.replay.asgi import ReplayApp
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

API = "http://shop.test"


@pytest.fixture
def journal_cassette(tmp_path: Path) -> Path:
    """An order to read and ship, and a token endpoint."""
    interactions = [
        make_interaction(make_request("GET", f"{API}/orders/A1"), make_response(json={"id": "A1", "status": "new"})),
        make_interaction(
            make_request("PATCH", f"{API}/orders/A1", json={"status": "shipped"}),
            make_response(json={"id": "A1", "status": "shipped"}),
        ),
        make_interaction(make_request("POST", f"{API}/auth/token"), make_response(json={"token": "t-1"})),
    ]
    return save_cassette(make_cassette(interactions), tmp_path / "journal-shop.yaml")


@dataclass
class Journaled:
    """A running replay server and where its journal goes; `stop()` shuts it down cleanly, flushing the journal.

    The server stops first, as uvicorn does on SIGTERM: a journal closed under a running server would miss
    whatever arrives after it.
    """

    app: ReplayApp
    journal: Path
    url: str = ""
    server: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def stop(self) -> Path:
        self.server.close()
        self.app.close()
        return self.journal


@pytest.fixture
def journaled(journal_cassette: Path, tmp_path: Path) -> Iterator[Journaled]:
    journal = tmp_path / "journal.db"
    running = Journaled(create_replay_app(journal_cassette, ReplayOptions(journal=journal)), journal)
    running.url = running.server.enter_context(serve_in_thread(running.app))
    yield running
    running.stop()
