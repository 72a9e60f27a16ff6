"""Starting a replay app on the HTTP path the `replay_server` fixture chose (tests/replay/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from hudproxy.replay.asgi import ReplayApp
from hudproxy.replay.http1 import protocol_for
from hudproxy.serving import serve_in_thread


@contextlib.contextmanager
def serve_replay(app: ReplayApp) -> Iterator[str]:
    """A replay app on a thread, on the path $HUDPROXY_REPLAY_SERVER names (the `replay_server` fixture's)."""
    with serve_in_thread(app, protocol=protocol_for(app)) as base:
        yield base
