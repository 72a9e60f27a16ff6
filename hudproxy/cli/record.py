"""`hudproxy record`: a reverse proxy in front of the target that writes every exchange to a cassette."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cli.common import console, match_policy, scrub_policy, setup_logging
from hudproxy.netutil import ensure_port_free, validate_target
from hudproxy.record.modes import RecordMode
from hudproxy.record.recorder import Recorder

Opt = typer.Option


def record(
    target: Annotated[str, Opt(help="The real API, e.g. https://staging.example.com")],
    cassette: Annotated[Path, Opt(help="Cassette file to write (.yaml, or .json)")],
    port: Annotated[int, Opt(help="Port clients talk to instead of the target")] = 8080,
    host: Annotated[str, Opt(help="Interface to listen on")] = "127.0.0.1",
    record_mode: Annotated[str, Opt(help="once | new_episodes | all | none (as in vcrpy)")] = "once",
    match_on: Annotated[list[str] | None, Opt(help="Aspects that must match: method,path,query,body")] = None,
    ignore_query: Annotated[list[str] | None, Opt(help="Query parameters to ignore when matching")] = None,
    ignore_json_field: Annotated[list[str] | None, Opt(help="JSON body fields to ignore (name or a.b.c)")] = None,
    scrub_header: Annotated[list[str] | None, Opt(help="Extra header names to scrub")] = None,
    scrub_query: Annotated[list[str] | None, Opt(help="Extra query parameters to scrub")] = None,
    scrub_json_field: Annotated[list[str] | None, Opt(help="Extra JSON body fields to scrub")] = None,
    keep_secrets: Annotated[bool, Opt(help="Store secrets as they are (scrubbing is on by default)")] = False,
    insecure: Annotated[bool, Opt(help="Do not verify the target's TLS certificate")] = False,
    verbose: Annotated[bool, Opt("--verbose", "-v", help="Log every recorded request")] = False,
) -> None:
    """Record traffic to TARGET into CASSETTE; clients use http://HOST:PORT as if it were the target.

    Example: hudproxy record --target https://staging.example.com --cassette cassettes/shop.yaml --port 8080
    Ctrl-C stops; the cassette on disk is complete at every moment.
    """
    from hudproxy.proxy.record_addon import RecordAddon
    from hudproxy.proxy.runner import run_proxy

    setup_logging(verbose)
    target = validate_target(target)
    mode = RecordMode.parse(record_mode)
    ensure_port_free(host, port)
    scrub = scrub_policy(keep_secrets, scrub_header, scrub_query, scrub_json_field)
    recorder = Recorder(cassette, mode, match_policy(match_on, ignore_query, ignore_json_field, scrub), scrub, target)
    console.print(f"recording {target} → {cassette} at http://{host}:{port}  (Ctrl-C to stop)")
    console.print(mode.explain(recorder.existed))
    try:
        asyncio.run(run_proxy([RecordAddon(recorder)], f"reverse:{target}", host, port, ssl_insecure=insecure))
    finally:
        recorder.close()
        console.print(f"stopped: {recorder.recorded} new interactions, {len(recorder.writer.cassette)} in {cassette}")
