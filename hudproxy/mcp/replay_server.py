"""Serve a cassette's MCP exchanges as MCP servers, with no upstream: the MCP adapter over ReplayService.

Each call becomes the synthetic `MCP mcp://<server>/<method>[/<name>]` request, is answered by the same engine,
sessions and journal as HTTP replay (journal kind `mcp`), and the recorded result goes back through the SDK.
What nobody recorded gets an answer an agent can read and no developer mistakes for data: a known tool's call
is a `CallToolResult` with `isError: true` naming the call; an unknown tool is the protocol's invalid-params
error. The engine logs the developer's diagnosis (nearest recordings and what differs), in MCP terms.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, INVALID_REQUEST

from hudproxy.cassette.model import Cassette
from hudproxy.faults.effects import tool_error_result
from hudproxy.faults.model import TimeoutFault, ToolErrorFault
from hudproxy.interaction.model import Interaction, Response
from hudproxy.mcp.catalog import ServerCatalog, catalogs
from hudproxy.mcp.exchange import JSON_HEADERS, Exchange, canonical, from_interaction, request_for, strip_meta
from hudproxy.mcp.front import RecordedServer, emit, register, served_methods
from hudproxy.mcp.why import describe_miss
from hudproxy.mcp.wire import LISTS, served
from hudproxy.replay.engine import Outcome
from hudproxy.replay.service import ReplayService
from hudproxy.replay.sessions import SESSION_HEADER, Session

if TYPE_CHECKING:
    from hudproxy.mcp.passthrough import McpPassthrough

SESSION_SCOPE_KEY = "hudproxy.session"
ANSWERED_SCOPE_KEY = "hudproxy.mcp.answered"  # a one-item list: an `Answered` the fast path hands to the SDK
REQUEST_TIMEOUT = -32001  # the JSON-RPC error code MCP SDKs use for a request that timed out
UNMATCHED_STATUS = 501  # as for HTTP: the journal shows at a glance that nothing recorded answered


def session_of(ctx: ServerRequestContext[Any], default: str | None) -> str | None:
    """The hudproxy session: `/s/<id>/mcp` (put on the scope by the HTTP app), the session header, or default."""
    scope = getattr(ctx.request, "scope", None)
    return default if scope is None else session_from_scope(scope, default)


def session_from_scope(scope: Mapping[str, Any], default: str | None) -> str | None:
    """`session_of` for an ASGI scope."""
    prefix = scope.get(SESSION_SCOPE_KEY)
    header = None if prefix else next((v for k, v in scope.get("headers", ()) if k == SESSION_HEADER), None)
    return pick_session(prefix, header, default)


def pick_session(prefix: str | None, header: bytes | None, default: str | None) -> str | None:
    """The one rule for the SDK handlers and the HTTP fast path: the `/s/<id>` prefix, else the session header's
    first value, else the default."""
    if prefix:
        return prefix
    return default if header is None else header.decode("latin-1")


@dataclass
class Answered:
    """One call answered by the engine and not yet journaled: what the agent gets and what the journal keeps.

    Split from sending so the HTTP fast path (`hudproxy.mcp.fastpath`) and the SDK handlers share matching,
    the answer for a miss and the journal row; `interaction` is None when nothing recorded matched.
    """

    session: Session
    outcome: Outcome
    started: float
    clock: float
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    interaction: Interaction | None = None
    seq: int | None = None  # its journal seq once journaled (a timed-out call is journaled before it hangs)

    def exchange(self) -> Exchange | None:
        return None if self.interaction is None else from_interaction(self.interaction)


class McpReplayer:
    """Answers one recorded server's methods from a ReplayService; with `passthrough`, a miss goes to the real
    server and is recorded (`--unmatched passthrough --mcp-command/--mcp-url`)."""

    def __init__(
        self,
        service: ReplayService,
        catalog: ServerCatalog,
        session: str | None = None,
        passthrough: McpPassthrough | None = None,
        stream_timing: bool = False,
    ) -> None:
        self.service = service
        self.catalog = catalog
        self.session = session
        self.passthrough = passthrough
        self.stream_timing = stream_timing  # notifications at their recorded pace (`--stream-timing`)

    async def answer(self, ctx: ServerRequestContext[Any], method: str) -> dict[str, Any]:
        answered = take_answered(ctx)  # the fast path matched it already and handed it over
        if answered is None:
            answered = await self.resolve(session_of(ctx, self.session), method, dict(ctx.params or {}))
        result, error = answered.result, answered.error
        exchange = answered.exchange()
        if exchange is not None:
            await self.notify(ctx, exchange, answered.clock)
            result, error = exchange.result, exchange.error
        self.journaled(answered)
        if error is not None:
            raise MCPError(int(error.get("code", INVALID_PARAMS)), str(error.get("message", "")), error.get("data"))
        return served(result if isinstance(result, dict) else {})

    async def notify(self, ctx: ServerRequestContext[Any], exchange: Exchange, clock: float) -> None:
        """The recorded notifications on the call; with `stream_timing` each at its recorded offset from the
        call's start (`clock`, perf_counter), as an HTTP stream's chunks are; else all at once."""
        offsets = exchange.notification_ms if self.stream_timing else []
        timed = len(offsets) == len(exchange.notifications)
        for position, notification in enumerate(exchange.notifications):
            if timed:
                delay = clock + offsets[position] / 1000 - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
            await emit(ctx, notification)

    async def resolve(self, session_id: str | None, method: str, params: dict[str, Any]) -> Answered:
        """Match the call in its session (state advances) and, for a miss, build the answer; no journal yet.

        A matched call's result is left in the interaction (`Answered.exchange()`), so a caller holding
        precomputed bytes for it never decodes it.
        """
        started, clock = time.time(), time.perf_counter()
        params = strip_meta(params)
        request = request_for(self.catalog.label, method, params)
        session, outcome = await self.service.answer(session_id, request, forward_miss=False)
        if session is self.service.refused:  # the client's mistake, said as one: not "unavailable here"
            message = json.loads(outcome.response.body)["message"]
            return Answered(session, outcome, started, clock, None, {"code": INVALID_REQUEST, "message": message})
        if outcome.fault is not None and outcome.fault.before_answer:
            return await self.faulted(Answered(session, outcome, started, clock))
        if outcome.interaction is not None:
            return Answered(session, outcome, started, clock, interaction=outcome.interaction)
        if outcome.synthesized is not None:  # `--generalise`: a CRUD-shaped tool answered from the session's state
            payload = json.loads(outcome.response.body)
            return Answered(session, outcome, started, clock, payload.get("result"), payload.get("error"))
        if self.passthrough is not None:  # here, so the HTTP fast path's misses pass through too
            return await self.passthrough.forward(session, outcome, self.catalog.label, method, params, started)
        result, error = self.missing(method, params)
        payload = {"error": error} if error else {"result": result}
        response = Response(UNMATCHED_STATUS, "", JSON_HEADERS, canonical(payload))
        outcome = Outcome(request, response, None, outcome.near_misses)
        return Answered(session, outcome, started, clock, result, error)

    def journaled(self, answered: Answered) -> int:
        """The call's journal row (kind `mcp`, `fault` when a rule fired) and its seq in the session; once."""
        if answered.seq is None:
            answered.seq = self.service.journaled(
                answered.session, answered.outcome, answered.started, answered.clock, kind="mcp"
            )
        return answered.seq

    async def faulted(self, answered: Answered) -> Answered:
        """A tool call a fault rule answers in replay's place: `isError` (what an agent must read and cope
        with), or no answer for `seconds` (journaled first, as the client may give up and cancel), then an error."""
        hit = answered.outcome.fault
        assert hit is not None
        if isinstance(hit.fault, ToolErrorFault):
            answered.result = tool_error_result(hit.fault, hit.rule)
            return answered
        seconds = hit.fault.seconds if isinstance(hit.fault, TimeoutFault) else 0.0
        self.journaled(answered)
        await anyio.sleep(seconds)
        answered.error = {"code": REQUEST_TIMEOUT, "message": f"no answer in {seconds:g}s (fault rule {hit.rule})"}
        return answered

    def missing(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(result, error) for a call no recording matches; never a recorded answer (a listing excepted)."""
        if method == "tools/call":
            name = str(params.get("name", ""))
            if name not in self.catalog.tools:
                return None, {"code": INVALID_PARAMS, "message": f"Unknown tool: {name}"}
            return unavailable_tool_result(name, params.get("arguments") or {}), None
        if method in LISTS:  # another cursor: the first recorded page; never recorded: an empty listing
            return self.catalog.listings.get(method) or {LISTS[method]: []}, None
        what = params.get("uri") or params.get("name") or method
        return None, {"code": INVALID_PARAMS, "message": f"{method} {what} is not available in this environment."}


def take_answered(ctx: ServerRequestContext[Any]) -> Answered | None:
    """The call the HTTP fast path already answered and handed to the SDK (to stream notifications, raise an
    error), taken once so it is journaled once."""
    scope = getattr(ctx.request, "scope", None)
    holder = scope.get(ANSWERED_SCOPE_KEY) if scope is not None else None
    return holder.pop() if holder else None


def unavailable_tool_result(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    shown = json.dumps(arguments, sort_keys=True, ensure_ascii=False)
    if len(shown) > 200:
        shown = shown[:197] + "..."
    text = f"{name}({shown}) is not available in this environment: no recorded call matches it."
    return {"content": [{"type": "text", "text": text}], "isError": True}


def build_server(
    service: ReplayService,
    catalog: ServerCatalog,
    session: str | None = None,
    passthrough: McpPassthrough | None = None,
    stream_timing: bool = False,
) -> RecordedServer:
    """An SDK Server answering `catalog`'s methods from `service` (`session`: the default session id;
    `passthrough`: where misses go, None to answer them as unavailable; `stream_timing`: notifications at
    their recorded pace)."""
    identity = catalog.served_identity()
    server = RecordedServer(identity, get_tool_input_schema=catalog.input_schema)
    replayer = McpReplayer(service, catalog, session, passthrough, stream_timing)
    register(server, served_methods(identity.capabilities, catalog.methods), replayer.answer)
    server.replayer = replayer  # the HTTP fast path answers common calls with it, beside the SDK
    return server


def build_servers(
    service: ReplayService,
    cassette: Cassette,
    session: str | None = None,
    passthrough: McpPassthrough | None = None,
    label: str | None = None,
    stream_timing: bool = False,
) -> dict[str, RecordedServer]:
    """One Server per recorded MCP server label (empty when the cassette holds no MCP exchanges); `passthrough`
    serves the misses of one of them: `label`, or the first recorded (one upstream is one server)."""
    found = catalogs(cassette)
    if found:
        service.engine.describe = describe_miss  # a missed call is logged as the agent made it (tool, arguments)
    chosen = label if label is not None else next(iter(found), None)
    return {
        name: build_server(service, catalog, session, passthrough if name == chosen else None, stream_timing)
        for name, catalog in found.items()
    }
