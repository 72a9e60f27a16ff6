"""Recording MCP: a proxy that is an MCP server to the agent and an MCP client to the real server.

Every forwarded call becomes an `Exchange` (params without `_meta`, the result as wire JSON without era-only
fields, the progress and log notifications received while it ran, in order) appended to the cassette through
the sans-IO `Recorder` (same record modes, same atomic writer, secrets scrubbed by the same policy). Results
go upstream → agent through `send_request(..., ResultType)` so no output-schema check can reject them.
An upstream that dies mid-call gives the agent a clear JSON-RPC error, the log one line, and the cassette
keeps everything recorded before.

Every call the agent makes is also a journal row (kind `mcp`, session `recording`), numbered when it starts, so
the HTTP requests the upstream makes through hudproxy while it runs can name it as their `parent`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import Client
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, INVALID_REQUEST

from hudproxy.errors import RecordingError
from hudproxy.interaction.model import Interaction, Response
from hudproxy.mcp.catalog import Identity, mcp_exchanges
from hudproxy.mcp.exchange import (
    JSON_HEADERS,
    Exchange,
    canonical,
    from_interaction,
    request_for,
    strip_meta,
    to_interaction,
)
from hudproxy.mcp.front import RecordedServer, emit, register, served_methods
from hudproxy.mcp.methods import METHODS, dump
from hudproxy.mcp.replay_server import UNMATCHED_STATUS, unavailable_tool_result
from hudproxy.mcp.upstream import Upstream
from hudproxy.mcp.wire import era_neutral, served
from hudproxy.record.recorder import Recorder
from hudproxy.replay.engine import Outcome
from hudproxy.scrub.scrubber import scrub_json

log = logging.getLogger("hudproxy.record")
CAUSES = frozenset({"tools/call", "resources/read", "prompts/get"})  # the calls that run the server's own code
GONE_STATUS = 502  # journal status of a call the upstream never answered (it died)


class UpstreamGone(MCPError):
    """The upstream server closed the connection (crashed, exited, or the network went away)."""


@dataclass
class Call:
    """A call in flight: the agent's request context and the notifications received for it so far."""

    ctx: ServerRequestContext[Any]
    method: str = ""
    seq: int = 0  # its journal number in session `recording`, taken when it started
    notifications: list[dict[str, Any]] = field(default_factory=list)

    async def notify(self, notification: dict[str, Any]) -> None:
        self.notifications.append(notification)
        await emit(self.ctx, notification)


class McpRecorder:
    """One recording run: `connected()` yields the front Server once the upstream is up."""

    def __init__(self, recorder: Recorder, upstream: Upstream, label: str | None = None) -> None:
        self.recorder = recorder
        self.upstream = upstream
        self.label = label or ""  # empty: the upstream's own name, once connected
        self.client: Client | None = None
        self.in_flight: list[Call] = []
        self.tools: dict[str, dict[str, Any]] = {}
        self.gone: str | None = None
        recorder.cause = self.cause  # HTTP recorded into the same run links to the tool call that caused it

    def cause(self) -> int | None:
        """The seq of the one call running the upstream's code now (a tool call, resource read or prompt); None
        when there is none, or several: a request arriving then cannot be told apart, so it is not linked."""
        running = [call.seq for call in list(self.in_flight) if call.method in CAUSES]
        if len(running) > 1:
            log.debug("%d MCP calls in flight (#%s): an HTTP request now is not linked to any", len(running), running)
        return running[0] if len(running) == 1 else None

    @contextlib.asynccontextmanager
    async def connected(self) -> AsyncIterator[RecordedServer]:
        """The front Server, once the upstream answered its handshake; the upstream lives in a task of its own,
        so its death (a crashed process, a refused connection) fails calls, never the server the agent talks to."""
        stop = anyio.Event()
        try:
            async with anyio.create_task_group() as tg:
                client = await tg.start(self._hold_upstream, stop)
                handshake = self._handshake(client)
                identity = Identity.from_exchange(handshake)
                server = RecordedServer(identity, get_tool_input_schema=self._input_schema)
                register(server, served_methods(identity.capabilities), self.forward)
                self._record_identity(handshake)
                info = identity.server_info
                log.info("upstream %s is %s %s", self.upstream.describe(), info.get("name"), info.get("version"))
                try:
                    yield server
                finally:
                    stop.set()
        except BaseExceptionGroup as group:  # the task group wraps even a single error: give back that error
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    async def _hold_upstream(self, stop: anyio.Event, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        """Connect (a failure here is the caller's RecordingError), then hold the connection until `stop`."""
        try:
            async with self.upstream.client(logging_callback=self._on_log) as client:
                self.client = client
                task_status.started(client)
                await stop.wait()
        except Exception as exc:
            if self.client is None:
                message = f"could not connect to the upstream MCP server {self.upstream.describe()}: {root_cause(exc)}"
                raise RecordingError(message) from None
            self.gone = self.gone or root_cause(exc)
            log.error("the upstream MCP server %s is gone: %s", self.upstream.describe(), self.gone)
        finally:
            self.client = None

    def _handshake(self, client: Client) -> Exchange:
        session = client.session
        if session.initialize_result is not None:
            return Exchange(self.label, "initialize", {}, dump(session.initialize_result))
        return Exchange(self.label, "server/discover", {}, dump(session.discover_result))  # type: ignore[arg-type]

    def _record_identity(self, handshake: Exchange) -> None:
        if not self.label:
            self.label = str(Identity.from_exchange(handshake).server_info.get("name") or "default")
        handshake = Exchange(self.label, handshake.method, {}, handshake.result)
        known = [(e.server, e.method, e.result) for e in mcp_exchanges(self.recorder.writer.cassette.interactions)]
        if (handshake.server, handshake.method, handshake.result) not in known:
            self.recorder.writer.append(to_interaction(handshake, recorded_at=_now(), duration_ms=0.0))

    def _input_schema(self, tool: str) -> dict[str, Any] | None:
        return (self.tools.get(tool) or {}).get("inputSchema")

    async def forward(self, ctx: ServerRequestContext[Any], method: str) -> dict[str, Any]:
        started, clock = time.time(), time.perf_counter()
        params = strip_meta(dict(ctx.params or {}))
        request = request_for(self.label, method, params)
        known = self.recorder.decide(request)
        if known is not None:
            return await self._from_cassette(ctx, method, params, known, started, clock)
        call = Call(ctx, method, self.recorder.next_seq())
        self.in_flight.append(call)
        try:
            result, error = await self._send(method, params, call), None
        except UpstreamGone as exc:
            unanswered = _json_response(GONE_STATUS, {"error": dump(exc.error)})
            self._journal(Outcome(request, unanswered), started, clock, call)
            raise
        except MCPError as exc:
            result, error = None, dump(exc.error)
        finally:
            self.in_flight.remove(call)
        recorded = self._record(Exchange(self.label, method, params, result, error, call.notifications), clock)
        self._journal(Outcome(request, recorded.response, recorded), started, clock, call)
        if error is not None:
            raise MCPError(error["code"], error["message"], error.get("data"))
        return served(result or {})

    def _journal(self, outcome: Outcome, started: float, clock: float, call: Call | None = None) -> None:
        elapsed = (time.perf_counter() - clock) * 1000
        seq = call.seq if call is not None else None
        self.recorder.journaled(outcome, elapsed, kind="mcp", seq=seq, started=started)

    async def _send(self, method: str, params: dict[str, Any], call: Call) -> dict[str, Any]:
        """Forward with params rebuilt from the agent's (no `_meta`: the upstream's era may differ)."""
        if self.gone is not None or self.client is None:
            raise self._gone_error(method, params)
        try:
            data = await send_upstream(self.client, method, params, call.notify)
        except Exception as exc:
            reason = connection_lost(exc)
            if reason is None:
                raise
            self.gone = reason
            raise self._gone_error(method, params) from exc
        if method == "tools/list":
            self.tools.update({t["name"]: t for t in data.get("tools", []) if isinstance(t, dict) and "name" in t})
        return data

    def _gone_error(self, method: str, params: dict[str, Any]) -> UpstreamGone:
        what = f"{method} {params.get('name') or params.get('uri') or ''}".strip()
        saved = self.recorder.recorded
        message = (
            f"the upstream MCP server {self.upstream.describe()} is gone ({self.gone}); {what} was not answered. "
            f"The cassette keeps the {saved} exchanges recorded before."
        )
        log.error("%s", message)
        return UpstreamGone(INTERNAL_ERROR, message)

    def _record(self, exchange: Exchange, clock: float) -> Interaction:
        return record_exchange(self.recorder, exchange, clock)

    async def _from_cassette(
        self,
        ctx: ServerRequestContext[Any],
        method: str,
        params: dict[str, Any],
        known: Outcome,
        started: float,
        clock: float,
    ) -> dict[str, Any]:
        """Record modes that replay what the cassette holds (new_episodes, none, once on an existing file); the
        journal row is what the agent got, as in MCP replay (a refused call: status 501 and the MCP answer)."""
        interaction = known.interaction
        if interaction is None:
            if method == "tools/call":
                result = unavailable_tool_result(str(params.get("name")), params.get("arguments") or {})
                self._journal(_refused(known, {"result": result}), started, clock)
                return served(result)  # era fields stamped, as replay does: a bare dict fails the SDK's check
            error = MCPError(INVALID_REQUEST, f"{method} is not in the cassette and record mode refuses new calls.")
            self._journal(_refused(known, {"error": dump(error.error)}), started, clock)
            raise error
        self._journal(known, started, clock)
        exchange = from_interaction(interaction)
        for notification in exchange.notifications:
            await emit(ctx, notification)
        if exchange.error is not None:
            raise MCPError(exchange.error.get("code", INTERNAL_ERROR), exchange.error.get("message", ""))
        return served(exchange.result or {})

    async def _on_log(self, params: Any) -> None:
        """A log message from upstream belongs to the latest call in flight (the SDK does not say which)."""
        note = {"method": "notifications/message", "params": dump(params)}
        if self.in_flight:
            await self.in_flight[-1].notify(note)
        else:
            log.debug("upstream log outside any call: %s", note["params"])


Notify = Callable[[dict[str, Any]], Awaitable[None]]


async def send_upstream(client: Client, method: str, params: dict[str, Any], notify: Notify) -> dict[str, Any]:
    """Send one call to a connected upstream and return its result as era-neutral wire JSON; shared by recording
    and replay passthrough. Params are rebuilt (an old-era upstream rejects the agent's as-is) and the result is
    taken through `send_request` so no output-schema check can reject it; progress goes to `notify`.
    Raises the upstream's `MCPError`, or what `connection_lost` recognises."""
    spec = METHODS[method]
    request = spec.request(params=spec.params.model_validate(params))

    async def progress(value: float, total: float | None, message: str | None) -> None:
        note = {"progress": value, "total": total, "message": message}
        clean = {k: v for k, v in note.items() if v is not None}
        await notify({"method": "notifications/progress", "params": clean})

    result = await client.session.send_request(request, spec.result, progress_callback=progress)
    return era_neutral(dump(result))


def connection_lost(exc: BaseException) -> str | None:
    """Why the upstream connection is gone (closed, or broken), or None for any other error."""
    if isinstance(exc, MCPError):
        return exc.error.message if exc.error.code == CONNECTION_CLOSED else None
    if isinstance(exc, (OSError, EOFError, anyio.ClosedResourceError, anyio.BrokenResourceError)):
        return str(exc) or type(exc).__name__
    return None


def record_exchange(recorder: Recorder, exchange: Exchange, clock: float) -> Interaction:
    """Append a forwarded exchange through `recorder` (its scrub policy, its atomic writer); `clock` is
    `time.perf_counter()` when the call started. Shared by recording and replay passthrough."""
    policy = recorder.scrub
    exchange = Exchange(
        exchange.server,
        exchange.method,
        scrub_json(exchange.params, policy),
        # a tool's result may carry a token; a listing's schemas only name fields (`password: {type: string}`)
        scrub_json(exchange.result, policy) if exchange.method == "tools/call" else exchange.result,
        exchange.error,
        exchange.notifications,
    )
    elapsed = (time.perf_counter() - clock) * 1000
    recorded = recorder.writer.append(to_interaction(exchange, recorded_at=_now(), duration_ms=elapsed))
    log.info("recorded #%d %s %s", recorded.index, exchange.method, exchange.name or "")
    return recorded


def _json_response(status: int, payload: dict[str, Any]) -> Response:
    return Response(status, "", JSON_HEADERS, canonical(payload))


def _refused(known: Outcome, payload: dict[str, Any]) -> Outcome:
    """A refused call's outcome with the MCP answer the agent got, keeping the near misses for the diagnosis."""
    return Outcome(known.request, _json_response(UNMATCHED_STATUS, payload), None, known.near_misses)


def root_cause(exc: BaseException) -> str:
    """The first real error inside anyio's exception groups, as one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
