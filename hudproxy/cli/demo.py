"""`hudproxy demo`: the whole loop on the bundled example shop, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cli.common import console, setup_logging

Opt = typer.Option


def demo(
    cassette: Annotated[
        Path | None, Opt(help="Where to keep the recorded cassette (default: a temp dir, removed after)")
    ] = None,
    runs: Annotated[int, Opt(help="Isolated eval runs against the replay at the end (0: skip)")] = 200,
    force: Annotated[bool, Opt("--force", help="Replace the file at --cassette if there is one")] = False,
    verbose: Annotated[bool, Opt("--verbose", "-v")] = False,
) -> None:
    """Record the example shop through hudproxy, stop it, replay the same script, compare every answer; show what
    a request nobody recorded gets; then run two shop scenarios many times in isolation against the replay.

    \b
    Example: hudproxy demo
    Example: hudproxy demo --cassette shop-demo.yaml --runs 0     (keep the cassette; skip the eval)
    Example: hudproxy demo --cassette cassettes/shop.yaml --force (re-record the bundled example)

    The demo never overwrites a file at --cassette (such as the bundled cassettes/shop.yaml) without --force.
    """
    from hudproxy.demo.run import run_demo  # heavy (the env SDK, mcp): only when the demo runs

    setup_logging(verbose, quiet=not verbose)
    ok = run_demo(console, cassette, runs, force)
    raise typer.Exit(0 if ok else 1)
