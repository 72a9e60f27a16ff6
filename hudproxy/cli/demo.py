"""`hudproxy demo`: the whole loop on the bundled example shop, in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hudproxy.cli.common import console, setup_logging

Opt = typer.Option


def demo(
    cassette: Annotated[Path | None, Opt(help="Where to keep the recorded cassette (default: a temp dir)")] = None,
    runs: Annotated[int, Opt(help="Isolated eval runs against the replay at the end (0: skip)")] = 200,
    verbose: Annotated[bool, Opt("--verbose", "-v")] = False,
) -> None:
    """Record the example shop through hudproxy, stop it, replay the same script, compare every answer; then run
    two shop scenarios many times in isolation against the replay and show the eval table.

    Example: hudproxy demo --cassette cassettes/shop.yaml
    """
    from hudproxy.demo.run import run_demo  # heavy (the env SDK, mcp): only when the demo runs

    setup_logging(verbose, quiet=not verbose)
    ok = run_demo(console, cassette, runs)
    raise typer.Exit(0 if ok else 1)
