"""The replay server on a background thread, and the session operations that must run on its loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from collections.abc import Callable

from hudproxy.api.common import LOOP_TIMEOUT, T
from hudproxy.journal.query import CallList, read_calls
from hudproxy.replay.asgi import Receive, ReplayApp, Scope, Send
from hudproxy.replay.http1 import protocol_for
from hudproxy.replay.options import ServerKind
from hudproxy.serving import serve_in_thread


class ReplayServer:
    """The replay app on a uvicorn thread, and a way to run small steps on its event loop.

    Session bookkeeping (open, reset, close) runs on the server's loop, so it never races a request. The app
    queues a call's journal entry before sending its answer, so a flush makes every answered call readable.
    """

    def __init__(self, app: ReplayApp, server: ServerKind | str | None = None) -> None:
        self.app = app
        self.server = server  # fast (the HTTP/1.1 fast path) or asgi; None: $HUDPROXY_REPLAY_SERVER, else fast
        self.loop: asyncio.AbstractEventLoop | None = None
        self.base_url = ""
        self.marks: dict[str, int] = {}  # session id -> last seq before its (re)start: calls() shows later ones
        self._stack = contextlib.ExitStack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)

    def start(self) -> None:
        protocol = protocol_for(self.app, self.server)
        self.base_url = self._stack.enter_context(serve_in_thread(self, protocol=protocol))

    def stop(self) -> None:
        self._stack.close()
        self.app.close()

    def submit(self, step: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Run `step` on the server's loop (inline once the server has stopped)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(step())
            except BaseException as exc:
                future.set_exception(exc)

        loop = self.loop
        if loop is None or loop.is_closed() or not loop.is_running():
            run()
        else:
            loop.call_soon_threadsafe(run)
        return future

    def call(self, step: Callable[[], T]) -> T:
        return self.submit(step).result(LOOP_TIMEOUT)

    def settle(self) -> None:
        """Every answered request is in the journal file after this."""
        if self.app.journal is not None:
            self.app.journal.flush()

    def open(self, session_id: str | None) -> str:
        """(On the loop.) A fresh or reset session (the store keeps its numbering going, so old rows stay apart)."""
        session = self.app.sessions.create(session_id)
        self.marks[session.id] = session.since
        return session.id

    def reset(self, session_id: str) -> None:
        """(On the loop.) Forget the session's replay state; its journal view starts again."""
        session = self.app.sessions.get(session_id)
        session.reset()
        self.marks[session_id] = session.since

    def close(self, session_id: str) -> None:
        """(On the loop.) Drop the session from the server; its journal rows stay readable."""
        self.app.sessions.drop(session_id)

    def calls(self, session_id: str) -> CallList:
        self.settle()
        assert self.app.journal is not None
        mark = self.marks.get(session_id, 0)
        return CallList(c for c in read_calls(self.app.journal.path, session=session_id) if c.seq > mark)
