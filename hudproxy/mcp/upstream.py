"""The real MCP server a recording talks to: a command over stdio, or a streamable-HTTP URL.

Nothing here is ever written to a cassette: the command line, its environment and the HTTP headers (which
often carry tokens) stay in memory. `describe()` is the safe one-line name used in logs and errors.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from hudproxy.errors import ConfigError

LogCallback = Callable[[Any], Awaitable[None]]


@dataclass(frozen=True)
class Upstream:
    """Exactly one of `command` (a shell-style command line) and `url`; `headers` only for `url`, `env` (added to
    this process's environment, e.g. where hudproxy's HTTP recorder listens) only for `command`."""

    command: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.command is None) == (self.url is None):
            raise ConfigError("give exactly one of --mcp-command 'python server.py' and --mcp-url http://host/mcp.")
        if self.command is not None and not shlex.split(self.command):
            raise ConfigError("--mcp-command is empty; e.g. --mcp-command 'python tools_server.py'.")
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise ConfigError(
                f"--mcp-url {self.url!r} must be an http:// or https:// URL, e.g. http://127.0.0.1:9000/mcp"
            )

    def describe(self) -> str:
        """A name for logs: the program, or the URL without credentials or query."""
        if self.command is not None:
            return f"`{shlex.split(self.command)[0]} ...` (stdio)"
        parts = urlsplit(self.url or "")
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"

    def client(self, logging_callback: LogCallback | None = None) -> Client:
        """An SDK client for the upstream: era negotiated (`auto`), no response cache, every log level."""
        if self.command is not None:
            argv = shlex.split(self.command)
            # The command runs as if typed in this shell: it sees this environment (never stored anywhere).
            target: Any = StdioServerParameters(command=argv[0], args=argv[1:], env={**os.environ, **self.env})
        else:
            http = httpx2.AsyncClient(headers=self.headers, timeout=httpx2.Timeout(30.0, read=300.0))
            target = streamable_http_client(self.url or "", http_client=http)
        return Client(target, cache=None, logging_callback=logging_callback, log_level="debug")


def parse_headers(values: list[str] | None) -> dict[str, str]:
    """`--mcp-header 'Authorization: Bearer x'` (repeatable) as a dict."""
    headers: dict[str, str] = {}
    for value in values or []:
        name, colon, rest = value.partition(":")
        if not colon or not name.strip():
            raise ConfigError(f"--mcp-header {value!r} is not 'Name: value', e.g. --mcp-header 'X-Api-Key: k'.")
        headers[name.strip()] = rest.strip()
    return headers
