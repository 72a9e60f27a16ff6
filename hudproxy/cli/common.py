"""Shared CLI plumbing: logging to the terminal, policy options, and errors as one clear line."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from hudproxy.choices import Choice
from hudproxy.matching.policy import MatchPolicy
from hudproxy.scrub.policy import ScrubPolicy

PIPED_WIDTH = 200  # tables' width when the output is a file or a pipe and COLUMNS says nothing


def terminal_console(stderr: bool = False) -> Console:
    """A console for stdout (or stderr). On a terminal, rich's usual. Piped into a file, a CI log or `| less`,
    rich would wrap every line at 80 columns mid-word; there lines are never wrapped (soft wrap) and tables get
    PIPED_WIDTH columns, unless COLUMNS says otherwise."""
    usual = Console(stderr=stderr)
    if usual.is_terminal or os.environ.get("COLUMNS"):
        return usual
    return Console(stderr=stderr, width=PIPED_WIDTH, soft_wrap=True)


console = terminal_console()
err_console = terminal_console(stderr=True)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record arrives, not the stream it was at set-up (which an embedding
    program or a test harness may have closed since)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(verbose: bool = False, quiet: bool = False) -> None:
    """hudproxy's own log on stderr: INFO by default (each recorded request), DEBUG with -v, WARNING if quiet.
    On a terminal rich's columns; piped, one plain line per record (`12:00:01 WARNING message`), never cut."""
    handler: logging.Handler
    if err_console.is_terminal or os.environ.get("COLUMNS"):
        handler = RichHandler(console=err_console, show_path=False, markup=False, rich_tracebacks=False)
    else:
        handler = StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-8s %(message)s", "%H:%M:%S"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(message)s", force=True)
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.getLogger("hudproxy").setLevel(level)


def split_csv(values: list[str] | None) -> list[str]:
    """Options may repeat or carry commas: `--match-on method,path --match-on body`."""
    out: list[str] = []
    for value in values or []:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def scrub_policy(
    keep_secrets: bool, headers: list[str] | None, query: list[str] | None, fields: list[str] | None
) -> ScrubPolicy:
    if keep_secrets:
        return ScrubPolicy.disabled()
    return ScrubPolicy.default().extended(split_csv(headers), split_csv(query), split_csv(fields))


def match_policy(
    match_on: list[str] | None,
    ignore_query: list[str] | None,
    ignore_json_field: list[str] | None,
    scrub: ScrubPolicy,
    forward: bool = False,
    read_tool: list[str] | None = None,
    write_tool: list[str] | None = None,
) -> MatchPolicy | None:
    """None when no matching option was given, so the cassette's recorded policy applies."""
    if not (match_on or ignore_query or ignore_json_field or read_tool or write_tool):
        return None
    return MatchPolicy.build(
        on=split_csv(match_on) or None,
        ignore_query=split_csv(ignore_query),
        ignore_json_fields=split_csv(ignore_json_field),
        scrub=scrub,
        forward=forward,
        read_tools=split_csv(read_tool),
        write_tools=split_csv(write_tool),
    )


READ_TOOL_HELP = "MCP: a tool state-aware replay counts as a read, whatever its name (repeatable)"
WRITE_TOOL_HELP = "MCP: a tool counted as a write: its calls change what later reads answer (repeatable)"
STORED = "; stored in the cassette"


class ProxyMode(Choice):
    """Reverse: clients use hudproxy's base URL. Forward: clients use it as HTTP(S)_PROXY (fixed hostnames)."""

    REVERSE = "reverse"
    FORWARD = "forward"

    @classmethod
    def option_name(cls) -> str:
        return "--mode"


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"hudproxy: {message}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(code)


def require_file(path: Path) -> None:
    if not path.exists():
        fail(f"{path}: no such file.")
