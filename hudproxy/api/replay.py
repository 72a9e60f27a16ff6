"""`Replay`: a replay server, isolated sessions on it, sync and async."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from hudproxy.admin import attach_admin
from hudproxy.api.base import BaseSession
from hudproxy.api.faults import Injection, plan_of
from hudproxy.api.server import ReplayServer
from hudproxy.journal.query import CallList
from hudproxy.matching.policy import MatchPolicy
from hudproxy.mcp.passthrough_options import check_passthrough, http_unmatched, mcp_upstream
from hudproxy.record.misses import record_misses
from hudproxy.replay.asgi import ReplayApp
from hudproxy.replay.options import ReplayOptions, ServerKind, Unmatched
from hudproxy.replay.server import create_replay_app


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

    def inject(self, faults: Any = None, *, seed: int | None = None, **rule: Any) -> Injection:
        """Fault rules on this session inside a `with` (or `async with`) block, the server's again after it:

            with session.inject(match={"path": "/orders"}, nth=1, fault={"kind": "status", "status": 429}):
                ...

        `faults`: a faults file, `{seed, rules}` or a list of rules; or one rule's fields as keywords. The rules'
        counters start at the block, so `nth: 1` is the block's first matching call."""
        return Injection(self.server, self.id, plan_of(faults, seed, **rule))

    def state(self) -> dict[str, dict[str, Any]]:
        """Every resource item this session sees (`Replay(..., generalise=True)`): {resource: {id: item}}."""
        return self.server.call(lambda: self._resources().state())

    def state_diff(self) -> dict[str, list[dict[str, Any]]]:
        """What this session changed against its start: created, deleted, and updated items field by field."""
        return self.server.call(lambda: self._resources().state_diff())

    def end_state(self, paths: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        """What a rubric's `state` criteria read: the diff, and the items at the changed paths and at `paths`."""
        from hudproxy.grading.endstate import resource_end_state

        return self.server.call(lambda: resource_end_state(self._resources(), list(paths)))

    def _resources(self) -> Any:
        from hudproxy.resources.generalise import session_state

        app = self.server.app
        found = app.sessions.find(self.id)
        return session_state(app.engine.model, found.state if found is not None else None, self.id, app.engine.seed)


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
    With `unmatched="passthrough"`, HTTP misses go to `target` and MCP misses to `mcp_command` (a stdio server's
    command line) or `mcp_url` (streamable HTTP); what they answer is appended to the cassette.
    `max_body` is the request body limit in bytes (default 64 MiB, inflated size too): larger ones get 413.
    `generalise=True` answers unrecorded CRUD requests from each session's resources (`hudproxy.resources`);
    a session's `state()` and `state_diff()` then show them for grading; `seed` (with the session id) fixes the
    uuid/hex ids it invents (sequence ids follow the recorded sequence); `openapi` (an OpenAPI file) supplies the
    path templates, ids and schemas over what the model infers: bodies breaking a write's schema get a validation
    error, creates fill the fields the server sets, resources nobody recorded are served from the schemas.
    `faults` (a faults file, or its data) fault every session's calls by rule (`hudproxy.faults`);
    `session.inject(...)` gives one session its own for a block. `server="asgi"` answers every request through
    the ASGI app (default "fast", or $HUDPROXY_REPLAY_SERVER: plain requests as pre-built bytes, see
    `hudproxy.replay.http1`).
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
        mcp_command: str | None = None,
        mcp_url: str | None = None,
        max_body: int | None = None,
        generalise: bool = False,
        seed: int | None = None,
        openapi: str | Path | dict[str, Any] | None = None,
        faults: Any = None,
        server: ServerKind | str | None = None,
    ) -> None:
        self.cassette = Path(cassette)
        self._server_kind = ServerKind.parse(server) if server is not None else None
        self._mcp_upstream = (mcp_command, mcp_url)
        self._options = ReplayOptions(
            match=match, unmatched=unmatched, target=target, stream_timing=stream_timing,
            idle_timeout=idle_timeout, record_misses=record_misses, max_body=max_body,
            generalise=generalise, seed=seed, openapi=openapi, faults=faults,
        )  # fmt: skip
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
        upstream = mcp_upstream(*self._mcp_upstream)
        asked, target = str(self._options.unmatched), self._options.target
        unmatched = http_unmatched(asked, target, upstream)
        app = create_replay_app(self.cassette, replace(self._options, unmatched=unmatched, journal=self._journal))
        check_passthrough(app, asked, target, upstream)
        attach_admin(app)  # loopback only, so no token: `{base_url}/_hudproxy/docs`
        if upstream is None:
            _attach_recorded_mcp(app)  # the cassette's MCP servers at /mcp and /s/<id>/mcp
        else:
            from hudproxy.mcp.passthrough import attach_passthrough

            attach_passthrough(app, "127.0.0.1", upstream)  # the same, misses forwarded and recorded
        server = ReplayServer(app, self._server_kind)
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


def _attach_recorded_mcp(app: ReplayApp) -> None:
    """Serve the cassette's MCP servers; an HTTP-only cassette has none, and then the MCP SDK (~0.4 s to import)
    is not loaded (as `hudproxy replay` does)."""
    from hudproxy.cassette.lazy import positions_where_url_starts

    if app.cassette is None or not positions_where_url_starts(app.cassette.interactions, "mcp://"):
        return
    from hudproxy.mcp.http import attach_mcp

    attach_mcp(app)
