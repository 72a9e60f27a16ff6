"""`hudproxy replay`: serve a cassette's recorded answers; nothing reaches a real server unless asked."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hudproxy.admin.auth import TOKEN_ENV
from hudproxy.cli import mcp as cli_mcp
from hudproxy.cli.common import (
    READ_TOOL_HELP,
    WRITE_TOOL_HELP,
    ProxyMode,
    console,
    match_policy,
    scrub_policy,
    setup_logging,
)
from hudproxy.cli.remote import TOKEN_HINT, refuse_remote, replay_exposure, warn_remote
from hudproxy.errors import ConfigError
from hudproxy.mcp.passthrough_options import check_passthrough, http_unmatched
from hudproxy.netutil import ensure_port_free
from hudproxy.record.misses import record_misses
from hudproxy.replay.http1 import protocol_for
from hudproxy.replay.limits import parse_size
from hudproxy.replay.options import SERVER_ENV, ReplayOptions, ServerKind
from hudproxy.replay.server import DEFAULT_JOURNAL, JOURNAL_ENV, build_service, create_replay_app
from hudproxy.replay.service import ReplayService
from hudproxy.serving import serve_forever

if TYPE_CHECKING:
    from hudproxy.mcp.upstream import Upstream

Opt = typer.Option


def replay(
    cassette: Annotated[Path, typer.Argument(help="Cassette file (.yaml or .json; vcrpy cassettes work too)")],
    port: Annotated[int, Opt(help="Port to serve on")] = 8080,
    host: Annotated[str, Opt(help="Interface to listen on")] = "127.0.0.1",
    match_on: Annotated[list[str] | None, Opt(help="Aspects that must match: method,path,query,body")] = None,
    ignore_query: Annotated[list[str] | None, Opt(help="Query parameters to ignore when matching")] = None,
    ignore_json_field: Annotated[list[str] | None, Opt(help="JSON body fields to ignore (name or a.b.c)")] = None,
    read_tool: Annotated[list[str] | None, Opt(help=READ_TOOL_HELP)] = None,
    write_tool: Annotated[list[str] | None, Opt(help=WRITE_TOOL_HELP)] = None,
    unmatched: Annotated[
        str, Opt(help="error (default): answer 501; passthrough: forward to --target / --mcp-*, record")
    ] = "error",
    target: Annotated[str | None, Opt(help="Real API for --unmatched passthrough")] = None,
    upstream_ca: Annotated[
        Path | None, Opt(help="PEM file of a private CA for --target, trusted besides the system's CAs")
    ] = None,
    mcp_command: Annotated[
        str | None, Opt(help="MCP: real server (stdio command) for --unmatched passthrough of MCP calls")
    ] = None,
    mcp_url: Annotated[str | None, Opt(help="MCP: real server (streamable HTTP URL) for --unmatched passthrough")] = (
        None
    ),
    mcp_header: Annotated[list[str] | None, Opt(help="MCP: 'Name: value' header for --mcp-url (repeatable)")] = None,
    stream_timing: Annotated[
        bool, Opt(help="Replay streamed bodies and MCP notifications with their recorded timing")
    ] = False,
    journal: Annotated[Path, Opt(help="SQLite journal of every call", envvar=JOURNAL_ENV)] = DEFAULT_JOURNAL,
    no_journal: Annotated[bool, Opt("--no-journal", help="Do not write a journal")] = False,
    idle_timeout: Annotated[float, Opt(help="Drop sessions idle this many seconds")] = 3600.0,
    generalise: Annotated[
        bool, Opt("--generalise", help="Answer unrecorded CRUD requests from each session's state (inspect --model)")
    ] = False,
    seed: Annotated[
        int | None, Opt(help="--generalise: fixes the uuid/hex ids it invents (with the session id); default 0")
    ] = None,
    openapi: Annotated[
        Path | None,
        Opt(
            help="--generalise: an OpenAPI document: its paths, ids and schemas (body checks, server-set "
            "fields, resources nobody recorded) override inference"
        ),
    ] = None,
    faults: Annotated[
        Path | None,
        Opt(help="A faults file (YAML): rules that make matching calls fail on purpose, seeded; see the README"),
    ] = None,
    admin_token: Annotated[
        str | None, Opt(envvar=TOKEN_ENV, help="Token the admin API (/_hudproxy) requires; needed off loopback")
    ] = None,
    mode: Annotated[
        str, Opt(help="reverse (a base URL) | forward (HTTPS_PROXY + `hudproxy ca`; any host)")
    ] = "reverse",
    stdio: Annotated[bool, Opt(help="MCP: serve the cassette's MCP server on stdin/stdout (no HTTP)")] = False,
    mcp_name: Annotated[str | None, Opt(help="MCP: which recorded server --stdio serves (default: the first)")] = None,
    session: Annotated[str | None, Opt(help="MCP: the session --stdio replays in (journal, state)")] = None,
    max_body: Annotated[str, Opt(help="Largest request body, inflated too (e.g. 64MB); larger ones get 413")] = "64MB",
    server: Annotated[
        str, Opt(envvar=SERVER_ENV, help="fast: answers as pre-built bytes (default) | asgi: uvicorn and the ASGI app")
    ] = "fast",
    allow_remote: Annotated[
        bool, Opt(help="Listen off loopback (--host 0.0.0.0) without --admin-token: everything served is exposed")
    ] = False,
    verbose: Annotated[bool, Opt("--verbose", "-v")] = False,
) -> None:
    """Replay CASSETTE on http://HOST:PORT: recorded answers, state-aware, no upstream.

    \b
    Example: hudproxy replay cassettes/shop.yaml --port 8080
             (MCP exchanges: http://127.0.0.1:8080/mcp)
    Example: hudproxy replay cassettes/tools.yaml --stdio
             (an agent launches this as its MCP server command)
    Example: hudproxy replay cassettes/shop.yaml --unmatched passthrough --target https://staging.example.com
             (requests nothing recorded matches are forwarded there and appended to the cassette)
    Example: hudproxy replay cassettes/tools.yaml --unmatched passthrough --mcp-command "python server.py"
    Example: hudproxy replay cassettes/shop.yaml --faults faults.yaml
             (429s, resets, cut streams, slow answers by rule, the same ones for the same seed)
    Example: hudproxy replay cassettes/stripe.yaml --mode forward --port 8080
             (clients: HTTPS_PROXY=http://run-7:@127.0.0.1:8080)

    Unmatched requests get 501 with a short JSON error; the terminal shows the nearest recordings and what differs.
    """
    from hudproxy.admin import attach_admin  # FastAPI loads only to serve

    setup_logging(verbose)
    upstream = cli_mcp.upstream_from_options(mcp_command, mcp_url, mcp_header)
    forward = ProxyMode.parse(mode) is ProxyMode.FORWARD
    asked = unmatched
    unmatched = http_unmatched(unmatched, target, upstream, forward)
    scrub = scrub_policy(False, None, None, None)
    policy = match_policy(match_on, ignore_query, ignore_json_field, scrub, forward, read_tool, write_tool)
    if stdio:
        journal_path = None if no_journal else journal
        cli_mcp.replay_stdio(cassette, policy, journal_path, mcp_name, session, upstream, stream_timing, faults)
        return
    body_limit = parse_size(max_body)
    server_kind = ServerKind.parse(server)
    upstream_verify = upstream_trust(upstream_ca, target)
    refuse_remote(host, allow_remote, replay_exposure(cassette, forward, admin_token), admin_token, TOKEN_HINT)
    ensure_port_free(host, port)
    journal_path = None if no_journal else journal
    if forward:
        options = ReplayOptions(
            match=policy, unmatched=unmatched, target=target, journal=journal_path, idle_timeout=idle_timeout,
            forward=True, max_body=body_limit, generalise=generalise, seed=seed, openapi=openapi, faults=faults,
        )  # fmt: skip
        service = build_service(cassette, options)
        warn_remote(host, replay_exposure(cassette, True, admin_token, service.engine.index.interactions))
        replay_forward(service, host, port)
        return
    options = ReplayOptions(
        match=policy,
        unmatched=unmatched,
        target=target,
        stream_timing=stream_timing,
        journal=journal_path,
        idle_timeout=idle_timeout,
        record_misses=record_misses,
        max_body=body_limit,
        generalise=generalise,
        seed=seed,
        openapi=openapi,
        upstream_verify=upstream_verify,
        faults=faults,
    )
    app = create_replay_app(cassette, options)
    warn_remote(host, replay_exposure(cassette, False, admin_token, app.engine.index.interactions))
    check_passthrough(app, asked, target, upstream)
    attach_admin(app, admin_token)
    cli_mcp.attach(app, host, port, upstream, mcp_name)
    console.print(
        f"replaying {cassette} ({len(app.engine.index)} interactions, matching on "
        f"{', '.join(app.engine.index.policy.on)}) at http://{host}:{port}  (Ctrl-C to stop)"
    )
    if unmatched != "error" or upstream is not None:
        console.print(_passthrough_banner(cassette, target, upstream), markup=False)
    if journal_path is not None:
        console.print(f"journal: {journal_path} (sessions: /s/<id>/... or header X-Hudproxy-Session)")
    guarded = " (token required)" if admin_token else ""
    console.print(f"admin API: http://{host}:{port}/_hudproxy/docs{guarded}")
    serve_forever(app, host, port, protocol=protocol_for(app, server_kind))


def _passthrough_banner(cassette: Path, target: str | None, upstream: Upstream | None) -> str:
    """Where unmatched requests go: the user should see before the first miss that they reach a real server."""
    where = [f"HTTP to {target}"] if target else []
    where += [f"MCP calls to {upstream.describe()}"] if upstream is not None else []
    return f"unmatched requests: forwarded ({'; '.join(where)}) and appended to {cassette} (--unmatched passthrough)"


def upstream_trust(upstream_ca: Path | None, target: str | None) -> ssl.SSLContext | None:
    """`--upstream-ca`: passthrough trusts the system's CAs plus that file (checked before anything starts)."""
    if upstream_ca is None:
        return None
    if not target:
        raise ConfigError(f"--upstream-ca {upstream_ca}: it is for --unmatched passthrough to an https --target.")
    from hudproxy.proxy.ca import upstream_context

    return upstream_context(upstream_ca)


def replay_forward(service: ReplayService, host: str, port: int) -> None:
    """Forward mode: mitmproxy terminates TLS with hudproxy's CA and the replay core answers every request."""
    import asyncio

    from hudproxy.proxy.forward import MODE, replay_options
    from hudproxy.proxy.replay_addon import ReplayAddon
    from hudproxy.proxy.runner import run_proxy

    console.print(
        f"replaying {len(service.engine.index)} interactions as a forward proxy at http://{host}:{port}; "
        f"clients: HTTPS_PROXY=http://<session>@{host}:{port} and trust `hudproxy ca`  (Ctrl-C to stop)"
    )
    try:
        options = replay_options(service.limits.max_size)
        asyncio.run(run_proxy([ReplayAddon(service)], MODE, host, port, **options))
    finally:
        service.close()
