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

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from hudproxy.admin import attach_admin
from hudproxy.interaction.model import Interaction
from hudproxy.journal.assertions import (
    CallSpec,
    assert_called,
    assert_called_before,
    assert_not_called,
    tool_spec,
)
from hudproxy.journal.entry import Pending, to_row
from hudproxy.journal.query import Call, CallList, PathPattern, read_calls
from hudproxy.matching.policy import MatchPolicy
from hudproxy.mcp.http import attach_mcp
from hudproxy.record.background import recording_proxy
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder
from hudproxy.replay.asgi import Receive, ReplayApp, Scope, Send
from hudproxy.replay.engine import Outcome
from hudproxy.replay.server import Unmatched, create_replay_app
from hudproxy.scrub.policy import ScrubPolicy
from hudproxy.serving import serve_in_thread

__all__ = ["AsyncReplay", "AsyncSession", "BaseSession", "Recording", "RecordingSession", "Replay", "Session"]

T = TypeVar("T")
SpecLike = CallSpec | tuple[str | None, PathPattern | None]
SESSION_HEADER = "X-Hudproxy-Session"
LOOP_TIMEOUT = 10.0


def plainly(check: Callable[[], T]) -> T:
    """Re-raise an assertion failure from here, so pytest shows the test's line and the message, not our frames."""
    __tracebackhide__ = True
    try:
        return check()
    except AssertionError as exc:
        raise AssertionError(str(exc)) from None


def as_spec(spec: SpecLike) -> CallSpec:
    """`("POST", "/refunds")` or a full CallSpec."""
    return spec if isinstance(spec, CallSpec) else CallSpec(*spec)


class BaseSession:
    """Where a session's requests go, and assertions over the calls it made (oldest first)."""

    def __init__(self, session_id: str, base_url: str) -> None:
        self.id = session_id
        self.base_url = base_url

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.base_url}>"

    @property
    def headers(self) -> dict[str, str]:
        """The header form of the session, for clients that must keep the server's root URL."""
        return {SESSION_HEADER: self.id}

    def _read(self) -> CallList:
        """Every call of this session since it (re)started, oldest first."""
        raise NotImplementedError

    def reset(self) -> None:
        raise NotImplementedError

    def calls(
        self, method: str | None = None, path: PathPattern | None = None, *, unmatched: bool | None = None
    ) -> CallList:
        """This session's calls, filtered by method, path (glob or compiled regex) and matched-ness."""
        spec = CallSpec(method, path)
        keep = (c for c in self._read() if spec.matches(c))
        return CallList(c for c in keep if unmatched is None or c.matched is not unmatched)

    def unmatched(self) -> CallList:
        """Calls the cassette had no answer for; each `Call.diagnosis` lists the nearest recordings and diffs."""
        return self.calls(unmatched=True)

    def assert_called(
        self,
        method: str | None = None,
        path: PathPattern | None = None,
        *,
        json: Any = None,
        json_contains: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        where: Callable[[Call], bool] | None = None,
        times: int | None = None,
    ) -> list[Call]:
        """At least one (or exactly `times`) matching call; returns the matching calls."""
        __tracebackhide__ = True
        spec = CallSpec(method, path, json, json_contains, query, where)
        return plainly(lambda: assert_called(self._read(), spec, times))

    def assert_not_called(
        self,
        method: str | None = None,
        path: PathPattern | None = None,
        *,
        json: Any = None,
        json_contains: dict[str, Any] | None = None,
        query: dict[str, str] | None = None,
        where: Callable[[Call], bool] | None = None,
    ) -> None:
        __tracebackhide__ = True
        spec = CallSpec(method, path, json, json_contains, query, where)
        plainly(lambda: assert_not_called(self._read(), spec))

    def assert_called_before(self, first: SpecLike, then: SpecLike) -> None:
        """A call matching `first` came before every call matching `then`: `(method, path)` or a CallSpec."""
        __tracebackhide__ = True
        plainly(lambda: assert_called_before(self._read(), as_spec(first), as_spec(then)))

    def tool_calls(self, name: str | None = None) -> CallList:
        """This session's MCP tool calls (all, or of one tool); `Call.json` holds the arguments."""
        return CallList(c for c in self._read() if tool_spec(name).matches(c))

    def assert_tool_called(self, name: str, *, times: int | None = None, **arguments: Any) -> list[Call]:
        """`assert_tool_called("charge_card", amount=100)`: the arguments given must be among the call's."""
        __tracebackhide__ = True
        return plainly(lambda: assert_called(self._read(), tool_spec(name, arguments), times))

    def assert_tool_not_called(self, name: str, **arguments: Any) -> None:
        __tracebackhide__ = True
        plainly(lambda: assert_not_called(self._read(), tool_spec(name, arguments)))


class ReplayServer:
    """The replay app on a uvicorn thread, and a way to run small steps on its event loop.

    Session bookkeeping (open, reset, close) runs on the server's loop, so it never races a request. The app
    queues a call's journal entry before sending its answer, so a flush makes every answered call readable.
    """

    def __init__(self, app: ReplayApp) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.base_url = ""
        self.marks: dict[str, int] = {}  # session id -> last seq before its (re)start: calls() shows later ones
        self._closed_seq: dict[str, int] = {}
        self._stack = contextlib.ExitStack()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
        await self.app(scope, receive, send)

    def start(self) -> None:
        self.base_url = self._stack.enter_context(serve_in_thread(self))

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
        """(On the loop.) A fresh or reset session; a reopened id keeps counting, so old rows stay apart."""
        store = self.app.sessions
        session = store.find(session_id) if session_id else None
        if session is None:
            session = store.create(session_id)
            session.seq = self._closed_seq.pop(session.id, 0)
        session.state.reset()
        self.marks[session.id] = session.seq
        return session.id

    def reset(self, session_id: str) -> None:
        """(On the loop.) Forget the session's replay state; its journal view starts again."""
        session = self.app.sessions.get(session_id)
        session.state.reset()
        self.marks[session_id] = session.seq

    def close(self, session_id: str) -> None:
        """(On the loop.) Drop the session from the server; its journal rows stay readable."""
        session = self.app.sessions.find(session_id)
        if session is not None:
            self._closed_seq[session_id] = session.seq
            self.app.sessions.drop(session_id)

    def calls(self, session_id: str) -> CallList:
        self.settle()
        assert self.app.journal is not None
        mark = self.marks.get(session_id, 0)
        return CallList(c for c in read_calls(self.app.journal.path, session=session_id) if c.seq > mark)


class ReplaySession(BaseSession):
    """A session on a replay server: `/s/<id>` prefix in `base_url`, or the header in `headers`."""

    def __init__(self, server: ReplayServer, session_id: str) -> None:
        super().__init__(session_id, f"{server.base_url}/s/{session_id}")
        self.server = server

    def _read(self) -> CallList:
        return self.server.calls(self.id)

    def reset(self) -> None:
        """Start over: fresh replay state, and `calls()` shows only what comes next."""
        self.server.call(lambda: self.server.reset(self.id))


class Session(ReplaySession):
    """A replay session for synchronous code: `close()` (or a `with` block) drops it from the server."""

    def close(self) -> None:
        self.server.call(lambda: self.server.close(self.id))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncSession(ReplaySession):
    """A replay session from `AsyncReplay`: `await close()` (or `async with`) drops it from the server."""

    async def close(self) -> None:
        await asyncio.wrap_future(self.server.submit(lambda: self.server.close(self.id)))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class Replay:
    """Replay one cassette on a free 127.0.0.1 port for the length of a `with` (or `async with`) block.

    The admin API is served beside it under `/_hudproxy` (loopback only).
    `journal=None` journals to a temporary file, deleted at exit unless `keep_journal=True`; a given path is kept.
    """

    def __init__(
        self,
        cassette: str | Path,
        *,
        match: MatchPolicy | None = None,
        unmatched: Unmatched | str = Unmatched.ERROR,
        target: str | None = None,
        stream_timing: bool = False,
        journal: str | Path | None = None,
        keep_journal: bool = False,
        idle_timeout: float | None = 3600.0,
    ) -> None:
        self.cassette = Path(cassette)
        self._options: dict[str, Any] = {
            "match": match, "unmatched": unmatched, "target": target,
            "stream_timing": stream_timing, "idle_timeout": idle_timeout,
        }  # fmt: skip
        self._journal = Path(journal) if journal is not None else None
        self._keep_journal = keep_journal or journal is not None
        self._tempdir: Path | None = None
        self._server: ReplayServer | None = None

    @property
    def server(self) -> ReplayServer:
        if self._server is None:
            raise RuntimeError("the replay server is not running: use `with Replay(...)` or call start().")
        return self._server

    @property
    def base_url(self) -> str:
        """The server's root (the default session); sessions add `/s/<id>`."""
        return self.server.base_url

    @property
    def journal_path(self) -> Path:
        if self._journal is None:
            raise RuntimeError("no journal: a temporary one is made at start and deleted at exit (keep_journal=True).")
        return self._journal

    @property
    def app(self) -> ReplayApp:
        return self.server.app

    def start(self) -> Self:
        if self._journal is None:
            self._tempdir = Path(tempfile.mkdtemp(prefix="hudproxy-"))
            self._journal = self._tempdir / "journal.db"
        app = create_replay_app(self.cassette, journal=self._journal, **self._options)
        attach_admin(app)  # loopback only, so no token: `{base_url}/_hudproxy/docs`
        attach_mcp(app)  # the cassette's MCP servers at /mcp and /s/<id>/mcp
        server = ReplayServer(app)
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        """Stop the server and flush the journal; a temporary journal goes too unless kept."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._tempdir is not None and not self._keep_journal:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = self._journal = None

    def session(self, session_id: str | None = None) -> Session:
        """A new isolated session (random id unless given; an existing id is reset and starts over)."""
        server = self.server
        return Session(server, server.call(lambda: server.open(session_id)))

    def sessions(self) -> list[Session]:
        """Every session the server holds, including ones clients created by using an id."""
        server = self.server
        return [Session(server, sid) for sid in server.call(server.app.sessions.ids)]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> AsyncReplay:
        await asyncio.to_thread(self.start)
        return AsyncReplay(self)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await asyncio.to_thread(self.stop)


class AsyncReplay:
    """A running Replay as seen from `async with`: `await proxy.session()`, `await session.close()`."""

    def __init__(self, replay: Replay) -> None:
        self.replay = replay

    @property
    def base_url(self) -> str:
        return self.replay.base_url

    @property
    def journal_path(self) -> Path:
        return self.replay.journal_path

    async def session(self, session_id: str | None = None) -> AsyncSession:
        server = self.replay.server
        opened = await asyncio.wrap_future(server.submit(lambda: server.open(session_id)))
        return AsyncSession(server, opened)

    def sessions(self) -> list[AsyncSession]:
        server = self.replay.server
        return [AsyncSession(server, sid) for sid in server.call(server.app.sessions.ids)]


def recorded_call(interaction: Interaction, session: str, seq: int) -> Call:
    """A recorded exchange as a journal Call (already scrubbed by the recorder), so assertions work alike."""
    at = interaction.recorded_at
    started = dt.datetime.fromisoformat(at).timestamp() if at else 0.0
    outcome = Outcome(interaction.request, interaction.response, interaction)
    pending = Pending(session, seq, started, interaction.duration_ms or 0.0, outcome)
    return Call.from_row(to_row(pending, ScrubPolicy.disabled()))


class RecordingSession(BaseSession):
    """A session on a recording proxy: its calls are what was recorded while it was open.

    The proxy is shared, so this holds while one test at a time uses it (as pytest runs them in a process).
    """

    def __init__(self, recording: Recording, session_id: str) -> None:
        super().__init__(session_id, recording.base_url)
        self.recording = recording
        self._start = recording.recorded_count()
        self._end: int | None = None

    def _read(self) -> CallList:
        interactions = self.recording.interactions()[self._start : self._end]
        return CallList(recorded_call(i, self.id, n) for n, i in enumerate(interactions, start=1))

    def reset(self) -> None:
        """The upstream keeps its state; `calls()` shows only what comes next."""
        self._start = self.recording.recorded_count()

    def close(self) -> None:
        if self._end is None:
            self._end = self.recording.recorded_count()


class Recording:
    """Re-record a cassette: a recording proxy in front of `target`, record mode `all`, into a fresh file.

    The fresh file replaces the cassette only at a clean exit, so a crashed run leaves the old one intact.
    """

    def __init__(
        self,
        cassette: str | Path,
        target: str,
        *,
        match: MatchPolicy | None = None,
        scrub: ScrubPolicy | None = None,
    ) -> None:
        self.cassette = Path(cassette)
        self.target = target
        self.fresh = self.cassette.with_name(f".{self.cassette.stem}.recording{self.cassette.suffix}")
        self._options: dict[str, Any] = {"match": match, "scrub": scrub}
        self._stack = contextlib.ExitStack()
        self._recorder: Recorder | None = None
        self._sessions = 0
        self.base_url = ""

    def start(self) -> Self:
        self.cassette.parent.mkdir(parents=True, exist_ok=True)
        self.fresh.unlink(missing_ok=True)
        self._recorder = Recorder(self.fresh, RecordMode.ALL, target=self.target, **self._options)
        self.base_url = self._stack.enter_context(recording_proxy(self._recorder, self.target))
        return self

    def stop(self, keep: bool = True) -> None:
        """Stop the proxy (flushing the fresh file), then move it over the cassette, or drop it."""
        self._stack.close()
        if keep and self.fresh.exists():
            os.replace(self.fresh, self.cassette)
        else:
            self.fresh.unlink(missing_ok=True)

    def interactions(self) -> list[Interaction]:
        return list(self._recorder.writer.cassette.interactions) if self._recorder is not None else []

    def recorded_count(self) -> int:
        return len(self._recorder.writer.cassette.interactions) if self._recorder is not None else 0

    def session(self, session_id: str | None = None) -> RecordingSession:
        self._sessions += 1
        return RecordingSession(self, session_id or f"record-{self._sessions}")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.stop(keep=exc_type is None)
