"""`hudproxy record`: a reverse proxy in front of the target that writes every exchange to a cassette."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hudproxy.cli import mcp as cli_mcp
from hudproxy.cli.common import (
    READ_TOOL_HELP,
    STORED,
    WRITE_TOOL_HELP,
    ProxyMode,
    console,
    match_policy,
    scrub_policy,
    setup_logging,
    split_csv,
)
from hudproxy.cli.remote import record_exposure, refuse_remote, warn_remote
from hudproxy.errors import ConfigError
from hudproxy.netutil import ensure_port_free, validate_target
from hudproxy.record.modes import RecordMode
from hudproxy.replay.limits import parse_size
from hudproxy.replay.server import DEFAULT_JOURNAL, JOURNAL_ENV

if TYPE_CHECKING:
    from hudproxy.proxy.sidecar import HttpSidecar

Opt = typer.Option


def record(
    cassette: Annotated[Path, Opt(help="Cassette file to write (.yaml, or .json)")],
    target: Annotated[str | None, Opt(help="Reverse mode: the real API, e.g. https://staging.example.com")] = None,
    mode: Annotated[str, Opt(help="reverse (a base URL) | forward (HTTPS_PROXY + hudproxy's CA)")] = "reverse",
    allow_host: Annotated[list[str] | None, Opt(help="Forward mode: hosts to record (globs); others tunnelled")] = None,
    block_others: Annotated[bool, Opt(help="Forward mode: refuse (403) hosts not in --allow-host")] = False,
    port: Annotated[int, Opt(help="Port clients talk to instead of the target")] = 8080,
    host: Annotated[str, Opt(help="Interface to listen on")] = "127.0.0.1",
    record_mode: Annotated[str, Opt(help="once | new_episodes | all | none (as in vcrpy)")] = "once",
    match_on: Annotated[list[str] | None, Opt(help="Aspects that must match: method,path,query,body")] = None,
    ignore_query: Annotated[list[str] | None, Opt(help="Query parameters to ignore when matching")] = None,
    ignore_json_field: Annotated[list[str] | None, Opt(help="JSON body fields to ignore (name or a.b.c)")] = None,
    read_tool: Annotated[list[str] | None, Opt(help=READ_TOOL_HELP + STORED)] = None,
    write_tool: Annotated[list[str] | None, Opt(help=WRITE_TOOL_HELP + STORED)] = None,
    scrub_header: Annotated[list[str] | None, Opt(help="Extra header names to scrub")] = None,
    scrub_query: Annotated[list[str] | None, Opt(help="Extra query parameters to scrub")] = None,
    scrub_json_field: Annotated[list[str] | None, Opt(help="Extra JSON body fields to scrub")] = None,
    keep_secrets: Annotated[bool, Opt(help="Store secrets as they are (scrubbing is on by default)")] = False,
    insecure: Annotated[bool, Opt(help="Do not verify the target's TLS certificate")] = False,
    upstream_ca: Annotated[
        Path | None, Opt(help="PEM file of a private upstream CA to trust besides the system's CAs")
    ] = None,
    upstream_timeout: Annotated[
        float, Opt(help="Seconds to wait for the upstream's response headers before answering 502 (0: no limit)")
    ] = 60.0,
    mcp_command: Annotated[str | None, Opt(help="MCP: record this stdio MCP server, e.g. 'python server.py'")] = None,
    mcp_url: Annotated[str | None, Opt(help="MCP: record this streamable-HTTP MCP server URL")] = None,
    mcp_header: Annotated[list[str] | None, Opt(help="MCP: header for --mcp-url, 'Name: value' (never stored)")] = None,
    mcp_name: Annotated[str | None, Opt(help="MCP: label for the server in the cassette (default: its name)")] = None,
    stdio: Annotated[bool, Opt(help="MCP: serve the agent over stdin/stdout instead of http://HOST:PORT/mcp")] = False,
    http_port: Annotated[
        int | None, Opt(help="MCP with --target or --mode forward: port recording the MCP server's HTTP (PORT+1)")
    ] = None,
    journal: Annotated[
        Path, Opt(help="SQLite journal of every recorded call (session `recording`)", envvar=JOURNAL_ENV)
    ] = DEFAULT_JOURNAL,
    no_journal: Annotated[bool, Opt("--no-journal", help="Do not write a journal")] = False,
    allow_remote: Annotated[
        bool, Opt(help="Listen off loopback (--host 0.0.0.0): other machines can then use this proxy")
    ] = False,
    max_body: Annotated[
        str, Opt(help="Largest request body recorded (e.g. 64MB); larger ones get 413 (responses are not limited)")
    ] = "64MB",
    verbose: Annotated[bool, Opt("--verbose", "-v", help="Log every recorded request")] = False,
) -> None:
    """Record traffic into CASSETTE through a reverse proxy (clients use http://HOST:PORT as if it were the
    target) or a forward proxy (clients get HTTPS_PROXY=http://HOST:PORT and trust `hudproxy ca`).

    \b
    Example: hudproxy record --target https://staging.example.com --cassette cassettes/shop.yaml --port 8080
    Example: hudproxy record --mode forward --allow-host api.stripe.com --cassette cassettes/stripe.yaml
    Example: hudproxy record --mcp-command "python tools_server.py" --cassette c.yaml --port 8080
             (MCP at http://127.0.0.1:8080/mcp)
    Example: hudproxy record --mcp-url http://127.0.0.1:9000/mcp --cassette c.yaml --stdio
    Example: hudproxy record --mcp-command "python tools.py" --target https://api.example.com --cassette c.yaml
             (MCP at http://127.0.0.1:8080/mcp; the server's own API calls recorded at $HUDPROXY_HTTP_URL,
             port 8081)

    Ctrl-C stops; the cassette on disk is complete at every moment.
    """
    from hudproxy.proxy.forward import record_options
    from hudproxy.proxy.record_addon import RecordAddon
    from hudproxy.proxy.runner import run_proxy
    from hudproxy.proxy.upstream import Upstream

    if upstream_ca is not None and not upstream_ca.is_file():
        raise ConfigError(f"--upstream-ca {upstream_ca}: no such file; give a PEM file of the upstream's CA.")
    if upstream_timeout < 0:
        raise ConfigError(f"--upstream-timeout {upstream_timeout:g}: give seconds (0 for no limit).")
    timeout = upstream_timeout or None
    body_limit = parse_size(max_body)
    upstream_trust = Upstream(insecure, upstream_ca).mitm_options()  # a bad --upstream-ca fails before anything

    upstream = cli_mcp.upstream_from_options(mcp_command, mcp_url, mcp_header)
    setup_logging(verbose)
    journal_path = None if no_journal else journal
    forward = ProxyMode.parse(mode) is ProxyMode.FORWARD
    listens = not stdio or target is not None or forward  # --stdio alone serves no socket
    exposes = record_exposure(cassette, target, forward, split_csv(allow_host), block_others, upstream is not None)
    if listens:
        refuse_remote(host, allow_remote, exposes)
        warn_remote(host, exposes)
    if upstream is not None or stdio:
        if upstream is None:
            raise ConfigError("--stdio records MCP: give --mcp-command 'python server.py' or --mcp-url URL.")
        if not stdio:
            ensure_port_free(host, port)
        scrub = scrub_policy(keep_secrets, scrub_header, scrub_query, scrub_json_field)
        sidecar = _http_sidecar(target, forward, allow_hosts=split_csv(allow_host), block_others=block_others,
                                insecure=insecure, host=host, port=port, http_port=http_port, stdio=stdio)  # fmt: skip
        if sidecar is not None:
            sidecar = replace(sidecar, upstream_ca=upstream_ca, upstream_timeout=timeout, max_body=body_limit)
        policy = match_policy(
            match_on, ignore_query, ignore_json_field, scrub, forward and sidecar is not None, read_tool, write_tool
        )
        mode_ = RecordMode.parse(record_mode)
        cli_mcp.record_mcp(cassette, upstream, mode_, policy, scrub, host, port, stdio, mcp_name, journal_path, sidecar)
        return
    if http_port is not None:
        raise ConfigError("--http-port is for MCP recording (--mcp-command/--mcp-url); HTTP recording uses --port.")
    if not forward:
        target = validate_target(_required_target(target))
    record_mode_ = RecordMode.parse(record_mode)
    ensure_port_free(host, port)
    scrub = scrub_policy(keep_secrets, scrub_header, scrub_query, scrub_json_field)
    policy = match_policy(match_on, ignore_query, ignore_json_field, scrub, forward, read_tool, write_tool)
    proxy_mode_name = "forward" if forward else "reverse"
    recorder = cli_mcp.open_recorder(cassette, record_mode_, policy, scrub, journal_path, target, proxy_mode_name)
    hosts = split_csv(allow_host)
    what = f"forward proxy for {', '.join(hosts) or 'all hosts'}" if forward else target
    console.print(f"recording {what} → {cassette} at http://{host}:{port}  (Ctrl-C to stop)")
    console.print(record_mode_.explain(recorder.existed))
    if journal_path is not None:
        console.print(f"journal: {journal_path} (session recording)", markup=False)
    if forward:
        addon, proxy_mode, options = (
            RecordAddon(recorder, hosts, block_others, upstream_timeout=timeout, max_body=body_limit),
            "regular",
            record_options(hosts, block_others, insecure, upstream_ca),
        )
    else:
        addon = RecordAddon(recorder, upstream_timeout=timeout, max_body=body_limit)
        proxy_mode = f"reverse:{target}"
        options = upstream_trust
    try:
        asyncio.run(run_proxy([addon], proxy_mode, host, port, **options))
    finally:
        try:
            recorder.close()  # raises CassetteWriteError (one line, exit 2) if any interaction was not recorded
        finally:
            total = len(recorder.writer.cassette)
            where = f"in {cassette}" if cassette.exists() else f"(nothing recorded: {cassette} not written)"
            console.print(f"stopped: {recorder.recorded} new interactions, {total} {where}", markup=False)


def _required_target(target: str | None) -> str:
    """Reverse mode forwards to one API, so it cannot start without one; say what to pass, not that '' is no URL."""
    if not target:
        raise ConfigError(
            "reverse mode (the default) needs --target URL, the real API to record, e.g. "
            "--target https://api.example.com; or record any host as a proxy: --mode forward --allow-host HOST."
        )
    return target


def _http_sidecar(
    target: str | None,
    forward: bool,
    *,
    allow_hosts: list[str],
    block_others: bool,
    insecure: bool,
    host: str,
    port: int,
    http_port: int | None,
    stdio: bool,
) -> HttpSidecar | None:
    """The HTTP recorder beside an MCP recording, when `--target` or `--mode forward` asks for one."""
    from hudproxy.proxy.sidecar import HttpSidecar

    if target is None and not forward:
        if http_port is not None:
            raise ConfigError("--http-port records the MCP server's HTTP: add --target URL or --mode forward.")
        return None
    if target is not None and forward:
        raise ConfigError("--target is for reverse mode; with --mode forward name the hosts with --allow-host.")
    http_port = port + 1 if http_port is None else http_port
    if http_port == port and not stdio:
        raise ConfigError(f"--http-port {http_port} is the MCP port (--port); choose another.")
    try:
        ensure_port_free(host, http_port)
    except ConfigError:
        message = f"cannot listen on {host}:{http_port} (the MCP server's HTTP); choose another --http-port."
        raise ConfigError(message) from None
    target = validate_target(target) if target is not None else None
    return HttpSidecar(host, http_port, target, tuple(allow_hosts), block_others, insecure)
