"""`hudproxy replay --unmatched passthrough --mcp-command/--mcp-url`: an MCP call no recording matches goes to
the real MCP server, its answer to the agent, and the exchange into the cassette (record mode new_episodes).

Off unless asked, like HTTP passthrough. The upstream is connected on the first miss (a replay that never
misses never starts it) and held until the server stops. Forwarding and recording are the recorder's own
(`send_upstream`, `record_exchange`), so a call passed through is stored exactly as `hudproxy record` stores it.
An upstream that cannot be reached or dies gives the agent an `isError` result and the log one line; what was
recorded before stays in the cassette.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.server import Server
from mcp.shared.exceptions import MCPError

from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Response
from hudproxy.mcp.catalog import catalogs
from hudproxy.mcp.exchange import JSON_HEADERS, Exchange, canonical
from hudproxy.mcp.http import McpHttpApp
from hudproxy.mcp.methods import dump
from hudproxy.mcp.recorder import GONE_STATUS, Notify, connection_lost, record_exchange, root_cause, send_upstream
from hudproxy.mcp.replay_server import Answered, build_servers
from hudproxy.mcp.upstream import Upstream
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder
from hudproxy.replay.engine import Outcome
from hudproxy.replay.service import ReplayService
from hudproxy.replay.sessions import Session

log = logging.getLogger("hudproxy.replay")


class McpPassthrough:
    """Forwards replay misses to `upstream` and appends them through `recorder` (a new_episodes Recorder on the
    replayed cassette; `owns_recorder`: close it on shutdown, False when HTTP passthrough shares it)."""

    def __init__(self, upstream: Upstream, recorder: Recorder, owns_recorder: bool = True) -> None:
        self.upstream = upstream
        self.recorder = recorder
        self.owns_recorder = owns_recorder
        self.client: Client | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._holder: asyncio.Task[None] | None = None
        self._in_flight: list[Notify] = []  # each call's notification sink, in order

    async def forward(
        self, session: Session, missed: Outcome, label: str, method: str, params: dict[str, Any], started: float
    ) -> Answered:
        """The answer to a miss: the upstream's result (recorded) or, if the upstream fails, an isError result."""
        clock = time.perf_counter()
        notes: list[dict[str, Any]] = []
        arrived_ms: list[float] = []  # when each note came, ms after `clock` (replayed with --stream-timing)

        async def notify(note: dict[str, Any]) -> None:
            notes.append(note)
            arrived_ms.append(round((time.perf_counter() - clock) * 1000, 3))

        self._in_flight.append(notify)
        try:
            client = await self._connected()

            result, error = await send_upstream(client, method, params, notify), None
        except MCPError as exc:
            if connection_lost(exc) is not None:
                return self._failed(session, missed, method, params, started, clock, exc)
            result, error = None, dump(exc.error)
        except Exception as exc:  # unreachable, crashed, refused: the agent gets a readable error, not a hang
            return self._failed(session, missed, method, params, started, clock, exc)
        finally:
            self._in_flight.remove(notify)
        exchange = Exchange(label, method, params, result, error, notes, arrived_ms)
        recorded = record_exchange(self.recorder, exchange, clock)
        # the row HTTP passthrough writes: the live answer, linked to the interaction it was recorded as
        outcome = Outcome(missed.request, recorded.response, recorded)
        return Answered(session, outcome, started, clock, interaction=recorded)

    def _failed(
        self,
        session: Session,
        missed: Outcome,
        method: str,
        params: dict[str, Any],
        started: float,
        clock: float,
        exc: BaseException,
    ) -> Answered:
        self.client = None  # the next miss connects again
        what = f"{method} {params.get('name') or params.get('uri') or ''}".strip()
        reason = connection_lost(exc) or root_cause(exc)
        log.error("passthrough: the upstream MCP server %s failed on %s: %s", self.upstream.describe(), what, reason)
        text = f"{what} could not be forwarded: the upstream MCP server is unavailable ({reason})."
        result = {"content": [{"type": "text", "text": text}], "isError": True}
        response = Response(GONE_STATUS, "", JSON_HEADERS, canonical({"result": result}))
        outcome = Outcome(missed.request, response, None, missed.near_misses)
        return Answered(session, outcome, started, clock, result=result)

    async def _connected(self) -> Client:
        """The upstream client, connecting on first use; the connection lives in a task of its own so it
        outlasts the request that opened it."""
        async with self._lock:
            if self.client is not None and (self._holder is None or not self._holder.done()):
                return self.client
            ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
            self._holder = asyncio.create_task(self._hold(ready), name="hudproxy-mcp-passthrough")
            self.client = await ready
            log.info("passthrough: connected to the upstream MCP server %s", self.upstream.describe())
            return self.client

    async def _hold(self, ready: asyncio.Future[Client]) -> None:
        try:
            async with self.upstream.client(logging_callback=self._on_log) as client:
                ready.set_result(client)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(root_cause(exc)))
            elif isinstance(exc, Exception):
                where = self.upstream.describe()
                log.error("passthrough: the upstream MCP server %s is gone: %s", where, root_cause(exc))
            if not isinstance(exc, Exception):
                raise
        finally:
            self.client = None

    async def _on_log(self, params: Any) -> None:
        """A log message belongs to the latest call in flight (the SDK does not say which)."""
        if self._in_flight:
            await self._in_flight[-1]({"method": "notifications/message", "params": dump(params)})

    async def aclose(self) -> None:
        """Disconnect the upstream (a stdio server process exits) and flush the cassette."""
        self._stop.set()
        if self._holder is not None:
            try:
                await asyncio.wait_for(self._holder, 10)
            except Exception as exc:  # closing must not fail the server's shutdown
                log.debug("passthrough: closing the upstream: %s", root_cause(exc))
        if self.owns_recorder:
            self.recorder.close()


class PassthroughMcpApp(McpHttpApp):
    """`McpHttpApp` that closes the passthrough's upstream when the server stops (its lifespan ends)."""

    def __init__(self, servers: Mapping[str, Server[Any]], host: str, passthrough: McpPassthrough) -> None:
        super().__init__(servers, host)
        self.passthrough = passthrough

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        try:
            async with super().running():
                yield
        finally:
            await self.passthrough.aclose()


def open_passthrough(service: ReplayService, cassette: str | Path, upstream: Upstream) -> McpPassthrough:
    """A passthrough recording into `cassette` in record mode new_episodes. When HTTP passthrough is on it
    shares that Recorder: two writers rewriting one file would each drop the other's new exchanges."""
    if isinstance(service.recorder, Recorder):
        return McpPassthrough(upstream, service.recorder, owns_recorder=False)
    policy = service.engine.index.policy
    return McpPassthrough(upstream, Recorder(cassette, RecordMode.NEW_EPISODES, policy, policy.scrub))


def attach_passthrough(app: Any, host: str, upstream: Upstream, label: str | None = None) -> PassthroughMcpApp:
    """Serve the replay app's MCP servers at /mcp (as `attach_mcp`), misses of `label` (default: the first
    recorded server) forwarded to `upstream` and recorded. `app` is a `ReplayApp`."""
    cassette = app.cassette
    path = getattr(cassette, "path", None)
    servers = list(catalogs(cassette)) if cassette is not None and path is not None else []
    if not servers:
        raise ConfigError(
            f"--mcp-command/--mcp-url with --unmatched passthrough: {path or 'the cassette'} holds no MCP exchanges "
            "to replay; record some first with `hudproxy record --mcp-command ...`."
        )
    if label is not None and label not in servers:
        raise ConfigError(f"--mcp-name {label!r}: the cassette holds MCP servers {', '.join(servers)}.")
    passthrough = open_passthrough(app.service, path, upstream)
    servers = build_servers(app.service, cassette, None, passthrough, label, getattr(app, "stream_timing", False))
    app.mcp = PassthroughMcpApp(servers, host, passthrough)
    return app.mcp
