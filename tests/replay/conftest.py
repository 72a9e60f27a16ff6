"""Every replay test that starts a server runs on both HTTP paths: the fast path (`hudproxy.replay.http1`, the
default) and uvicorn with the ASGI app for every request (`--server asgi`). A module opts in with
`pytestmark = pytest.mark.usefixtures("replay_server")`; the choice reaches `Replay`, the CLI processes a test
starts ($HUDPROXY_REPLAY_SERVER) and `servers.serve_replay`."""

from __future__ import annotations

import pytest

from hudproxy.replay.options import SERVER_ENV, ServerKind


@pytest.fixture(params=[ServerKind.FAST.value, ServerKind.ASGI.value])
def replay_server(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SERVER_ENV, request.param)
    return str(request.param)
