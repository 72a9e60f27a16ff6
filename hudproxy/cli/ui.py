"""`hudproxy ui`: the web inspector over cassettes, a journal and an eval's results, in a browser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cli.common import console
from hudproxy.errors import ConfigError
from hudproxy.netutil import ensure_port_free

Opt = typer.Option
TOKEN_ENV = "HUDPROXY_ADMIN_TOKEN"


def ui(
    cassettes: Annotated[list[Path] | None, typer.Argument(help="Cassette files (.yaml or .json) to browse")] = None,
    journal: Annotated[Path | None, Opt(help="A journal database (hudproxy replay/record --journal)")] = None,
    results: Annotated[Path | None, Opt(help="An eval's results database (hudproxy eval --out)")] = None,
    host: Annotated[str, Opt(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, Opt(help="Port to listen on")] = 8090,
    token: Annotated[
        str | None, Opt(help="Required off loopback: open http://HOST:PORT/?token=TOKEN once", envvar=TOKEN_ENV)
    ] = None,
) -> None:
    """Browse cassettes, journals and eval runs in a browser: filtered tables, one interaction or call in full,
    why a request does not match, a session's calls as a timeline, runs with rewards, and diffs of two runs.

    \b
    Example: hudproxy ui cassettes/shop.yaml
    Example: hudproxy ui --journal journal.db --results results.db --port 8090
    Example: hudproxy ui cassettes/shop.yaml --host 0.0.0.0 --token s3cret   (then open /?token=s3cret once)

    A running `hudproxy replay` serves the same pages at /_hudproxy/ui.
    """
    from hudproxy.admin.auth import TokenGate, is_loopback
    from hudproxy.serving import serve_forever
    from hudproxy.ui import Sources, create_ui_app

    if not cassettes and journal is None and results is None:
        raise ConfigError("hudproxy ui: give something to show: CASSETTE files, --journal DB or --results DB.")
    if not token and not is_loopback(host):
        raise ConfigError(f"--host {host} is reachable from other machines; set --token TOKEN (or {TOKEN_ENV}), "
                          "or listen on 127.0.0.1.")  # fmt: skip
    sources = Sources.from_files(list(cassettes or []), journal, results)
    ensure_port_free(host, port)
    app = create_ui_app(sources)
    console.print(f"hudproxy inspector at http://{host}:{port}/  (Ctrl-C to stop)", markup=False)
    serve_forever(TokenGate(app, token) if token else app, host, port)
