"""The MCP side of `hudproxy record` and `hudproxy replay`: a few lines each over `hudproxy.mcp`.

With `--stdio` the protocol owns stdout, so everything hudproxy says goes to stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from hudproxy.cli.common import console, err_console
from hudproxy.errors import ConfigError
from hudproxy.journal.writer import JournalWriter
from hudproxy.matching.policy import MatchPolicy
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder
from hudproxy.scrub.policy import ScrubPolicy

if TYPE_CHECKING:  # the SDK and mitmproxy are imported only when an MCP command runs
    from hudproxy.mcp.upstream import Upstream
    from hudproxy.proxy.sidecar import HttpSidecar


def open_recorder(
    cassette: Path,
    mode: RecordMode,
    policy: MatchPolicy | None,
    scrub: ScrubPolicy,
    journal: Path | None,
    target: str | None = None,
    proxy_mode: str = "reverse",
) -> Recorder:
    """A Recorder journaling into `journal` (session `recording`; None: no journal), as both record paths use it."""
    writer = JournalWriter(journal, scrub, source=str(cassette.resolve())) if journal is not None else None
    try:
        return Recorder(cassette, mode, policy, scrub, target, proxy_mode=proxy_mode, journal=writer)
    except BaseException:
        if writer is not None:
            writer.close()
        raise


def record_mcp(
    cassette: Path,
    upstream: Upstream,
    mode: RecordMode,
    policy: MatchPolicy | None,
    scrub: ScrubPolicy,
    host: str,
    port: int,
    stdio: bool,
    label: str | None = None,
    journal: Path | None = None,
    http: HttpSidecar | None = None,
) -> None:
    """Record the MCP server `upstream` into `cassette`, serving agents over HTTP at /mcp or over stdio; with
    `http`, also the HTTP the server sends to its own API, linked in the journal to the tool call that sent it."""
    from hudproxy.mcp.recorder import McpRecorder
    from hudproxy.mcp.serve import record_http, record_stdio

    say = err_console if stdio else console
    target = http.target if http is not None else None
    proxy_mode = "forward" if http is not None and http.forward else "reverse"
    recorder = open_recorder(cassette, mode, policy, scrub, journal, target, proxy_mode)
    if http is not None and upstream.command is not None:
        upstream = dataclasses.replace(upstream, env={**upstream.env, **http.child_env()})
    proxy = McpRecorder(recorder, upstream, label)
    where = "stdio" if stdio else f"http://{host}:{port}/mcp"
    say.print(f"recording MCP server {upstream.describe()} → {cassette} at {where}  (Ctrl-C to stop)", markup=False)
    say.print(mode.explain(recorder.existed), markup=False)
    try:
        with contextlib.ExitStack() as stack:
            if http is not None:
                url = stack.enter_context(http.running(recorder))
                say.print(
                    f"recording {http.describe()} (the MCP server's own HTTP) → {cassette} at {url}", markup=False
                )
                say.print(_sidecar_hint(http, upstream), markup=False)
            if journal is not None:
                say.print(f"journal: {journal} (session recording)", markup=False)
            if stdio:
                anyio.run(record_stdio, proxy)
            else:
                asyncio.run(record_http(proxy, host, port))
    except KeyboardInterrupt:
        pass
    finally:
        recorder.close()
        total = len(recorder.writer.cassette)
        say.print(f"stopped: {recorder.recorded} new exchanges, {total} in {cassette}", markup=False)


def _sidecar_hint(http: HttpSidecar, upstream: Upstream) -> str:
    """How the MCP server's HTTP reaches the recorder: set for a process hudproxy starts, to be set otherwise."""
    if upstream.command is not None:
        return f"  the MCP server process gets {http.describe_env()}"
    return f"  start the MCP server at {upstream.describe()} with {http.describe_env()} (hudproxy does not start it)"


def upstream_from_options(command: str | None, url: str | None, headers: list[str] | None) -> Upstream | None:
    """The upstream MCP server the options name, or None when they name none (HTTP recording)."""
    if command is None and url is None:
        if headers:
            raise ConfigError("--mcp-header needs --mcp-url (the headers are sent to that MCP server).")
        return None
    from hudproxy.mcp.upstream import Upstream, parse_headers  # the MCP SDK (~0.45 s) loads only when one is named

    return Upstream(command, url, parse_headers(headers))


def attach(app: Any, host: str, port: int, upstream: Upstream | None = None, label: str | None = None) -> None:
    """Serve the cassette's MCP servers at /mcp beside HTTP replay, and say where; with `upstream`, MCP calls
    nothing recorded matches are forwarded there and recorded (`--unmatched passthrough`)."""
    from hudproxy.cassette.lazy import positions_where_url_starts

    if upstream is None and (app.cassette is None or not positions_where_url_starts(app.cassette.interactions, "mcp://")):
        return  # an HTTP-only cassette: no MCP endpoint, and no SDK import
    if upstream is not None:
        from hudproxy.mcp.passthrough import attach_passthrough

        mcp: Any = attach_passthrough(app, host, upstream, label)
    else:
        from hudproxy.mcp.http import attach_mcp

        mcp = attach_mcp(app, host)
    if mcp is not None:
        servers = ", ".join(mcp.managers)
        console.print(
            f"MCP ({servers}): http://{host}:{port}/mcp  (sessions: /s/<id>/mcp; by server: /mcp/<name>)", markup=False
        )
        if upstream is not None:
            console.print(
                f"unmatched MCP calls: forwarded to {upstream.describe()} (connected on the first miss) and recorded",
                markup=False,
            )


def replay_stdio(
    cassette: Path,
    policy: MatchPolicy,
    journal: Path | None,
    label: str | None,
    session: str | None,
    upstream: Upstream | None = None,
    stream_timing: bool = False,
    faults: Path | None = None,
) -> None:
    """Serve one recorded MCP server on stdin/stdout (the first recorded, or `label`); with `upstream`, its
    unmatched calls are forwarded there and recorded; `stream_timing`: notifications at their recorded pace."""
    from hudproxy.mcp.replay_server import build_servers
    from hudproxy.mcp.serve import serve_stdio
    from hudproxy.replay.options import ReplayOptions
    from hudproxy.replay.server import build_service

    service = build_service(cassette, ReplayOptions(match=policy, journal=journal, faults=faults))
    passthrough = None
    if upstream is not None:
        from hudproxy.mcp.passthrough import open_passthrough

        passthrough = open_passthrough(service, cassette, upstream)
    servers = build_servers(service, service.cassette, session, passthrough, label, stream_timing)  # type: ignore[arg-type]
    if not servers:
        raise ConfigError(f"{cassette}: holds no MCP exchanges; record some with `hudproxy record --mcp-command ...`.")
    if label is not None and label not in servers:
        raise ConfigError(f"--mcp-name {label!r}: {cassette} holds MCP servers {', '.join(servers)}.")
    chosen = label or next(iter(servers))
    err_console.print(f"replaying MCP server {chosen} from {cassette} on stdio", markup=False)

    async def serve() -> None:
        try:
            await serve_stdio(servers[chosen])
        finally:
            if passthrough is not None:
                await passthrough.aclose()

    try:
        anyio.run(serve)
    except KeyboardInterrupt:
        pass
    finally:
        service.close()
