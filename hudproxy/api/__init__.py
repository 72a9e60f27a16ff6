"""The Python API: a replay server on a thread, isolated sessions, and assertions over what each one called.

    with Replay("cassettes/shop.yaml") as proxy:
        s = proxy.session()
        httpx.patch(f"{s.base_url}/orders/A1", json={"status": "shipped"})
        s.assert_called("PATCH", "/orders/A1", json={"status": "shipped"}, times=1)

    async with Replay("cassettes/shop.yaml") as proxy:
        s = await proxy.session()
        ...
        await s.close()

A thin adapter: the server is `create_replay_app` on uvicorn (`serve_in_thread`), calls are the journal's typed
queries and assertions are `hudproxy.journal.assertions`. Before reading, a session flushes the journal, so every
response the caller has received is in what it reads.
`Recording` is the same session surface over a recording proxy, so one test body serves both.
"""

from hudproxy.api.base import BaseSession
from hudproxy.api.recording import Recording, RecordingSession
from hudproxy.api.replay import AsyncReplay, AsyncSession, Replay, ReplaySession, Session
from hudproxy.api.server import ReplayServer

__all__ = [
    "AsyncReplay",
    "AsyncSession",
    "BaseSession",
    "Recording",
    "RecordingSession",
    "Replay",
    "ReplayServer",
    "ReplaySession",
    "Session",
]
