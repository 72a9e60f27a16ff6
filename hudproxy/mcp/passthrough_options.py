"""Which way `--unmatched passthrough` forwards, checked before serving: HTTP misses to `target`, MCP misses to an
MCP upstream. Shared by `hudproxy replay` and `Replay(...)`, so both refuse the same incomplete setups.

No SDK import here: the checks run before anything is started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hudproxy.errors import ConfigError

if TYPE_CHECKING:
    from hudproxy.mcp.upstream import Upstream

PASSTHROUGH_OPTIONS = "--mcp-command 'python server.py' or --mcp-url URL (Python: mcp_command= or mcp_url=)"


def http_unmatched(unmatched: str, target: str | None, upstream: Upstream | None, forward: bool = False) -> str:
    """The unmatched mode the HTTP side gets: without a target nothing HTTP passes through, so HTTP misses keep
    their 501 (`check_passthrough` then says what is missing, once the cassette shows what it holds)."""
    from hudproxy.replay.options import Unmatched

    passthrough = Unmatched.parse(unmatched) is Unmatched.PASSTHROUGH
    if upstream is not None and not passthrough:
        raise ConfigError(
            f"an MCP upstream ({PASSTHROUGH_OPTIONS}) is only used to forward unmatched MCP calls: add "
            "--unmatched passthrough (Python: unmatched='passthrough'), or drop it."
        )
    if passthrough and target is None and not forward:
        return "error"
    return unmatched


def check_passthrough(app: Any, unmatched: str, target: str | None, upstream: Upstream | None) -> None:
    """Passthrough needs somewhere to forward: a target for HTTP; for a cassette of MCP exchanges only, an MCP
    upstream. `app` is a `ReplayApp`."""
    from hudproxy.cassette.lazy import request_lines
    from hudproxy.replay.options import Unmatched

    if upstream is not None or Unmatched.parse(unmatched) is not Unmatched.PASSTHROUGH or app.cassette is None:
        return
    interactions = app.cassette.interactions
    name = app.cassette.path or "the cassette"
    urls = [url for _, url in request_lines(interactions)]  # a memory-mapped cassette stays unread
    if urls and all(url.startswith("mcp://") for url in urls):
        raise ConfigError(
            f"--unmatched passthrough: {name} holds only MCP exchanges; give {PASSTHROUGH_OPTIONS} "
            "(the MCP server to forward unmatched calls to)."
        )
    if target is None:
        mcp = f"; for its MCP calls, {PASSTHROUGH_OPTIONS}" if any(u.startswith("mcp://") for u in urls) else ""
        raise ConfigError(
            f"--unmatched passthrough needs --target URL (Python: target=), where to forward unmatched requests{mcp}."
        )


def mcp_upstream(command: str | None, url: str | None) -> Upstream | None:
    """The MCP server unmatched MCP calls go to, or None when neither is given."""
    if command is None and url is None:
        return None
    from hudproxy.mcp.upstream import Upstream

    return Upstream(command, url)
