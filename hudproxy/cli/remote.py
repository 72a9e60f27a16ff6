"""Listening off loopback: refused unless a token guards the admin API or `--allow-remote` says the user means
it; either way, one warning names what other machines can now reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from hudproxy.cassette.lazy import request_lines
from hudproxy.cli.common import err_console
from hudproxy.errors import ConfigError
from hudproxy.interaction.model import Interaction

TOKEN_HINT = "set --admin-token TOKEN (or HUDPROXY_ADMIN_TOKEN) to close the admin API, "


def is_loopback(host: str) -> bool:
    from hudproxy.admin.auth import is_loopback as loopback

    return loopback(host)


def refuse_remote(host: str, allow_remote: bool, exposes: str, token: str | None = None, token_hint: str = "") -> None:
    """ConfigError (one line, exit 2) for a non-loopback `--host` with neither a token nor `--allow-remote`."""
    if is_loopback(host) or allow_remote or token:
        return
    raise ConfigError(
        f"--host {host} is reachable from other machines, and so would be {exposes}; {token_hint}"
        "pass --allow-remote to expose it knowingly, or listen on 127.0.0.1."
    )


def remote_warning(host: str, exposes: str) -> str | None:
    """The warning printed when listening off loopback (None on loopback)."""
    if is_loopback(host):
        return None
    return f"warning: --host {host} is reachable from other machines: anyone who can connect gets {exposes}."


def host_list(hosts: Iterable[str], limit: int = 5) -> str:
    """`a, b, c and 4 more`: the recorded hosts a remote client could ask about."""
    unique = sorted(set(hosts))
    shown = ", ".join(unique[:limit]) or "no hosts"
    return shown + (f" and {len(unique) - limit} more" if len(unique) > limit else "")


def warn_remote(host: str, exposes: str) -> None:
    """Print the warning on stderr when listening off loopback."""
    warning = remote_warning(host, exposes)
    if warning is not None:
        err_console.print(warning, markup=False, highlight=False, soft_wrap=True)


def replay_exposure(cassette: Path, forward: bool, token: str | None, interactions: Sequence[Interaction] = ()) -> str:
    """What a replay server gives a client on another machine (with the recorded hosts once they are known)."""
    # each distinct scheme://netloc parsed once (100,000 URLs, a handful of hosts); a lazy cassette stays lazy
    origins = {url.split("/", 3)[2] if "://" in url else url for _, url in request_lines(interactions)}
    recorded = (urlsplit(f"//{origin}").hostname or "" for origin in origins)
    hosts = f" (for {host_list(recorded)})" if interactions else ""
    answers = f"the recorded answers of {cassette}{hosts}"
    if forward:
        return f"{answers}, through a forward proxy that connects nowhere"
    admin = "behind the token" if token else "with no token"
    return f"{answers}, the admin API at /_hudproxy ({admin}: sessions, resets, the journal of every call), MCP at /mcp"


def record_exposure(
    cassette: Path, target: str | None, forward: bool, hosts: Sequence[str], block_others: bool, mcp: bool
) -> str:
    """What a recorder gives a client on another machine: a way in to the recorded upstream, from here."""
    parts = []
    if mcp:
        parts.append("the recorded MCP server's tools (run from this machine) at /mcp")
    if forward:
        anywhere = "any host this machine can reach, internal addresses included"
        reach = ", ".join(hosts) if hosts and block_others else anywhere
        parts.append(f"an open forward proxy to {reach}")
    elif target:
        parts.append(f"a proxy to {target}")
    return " and ".join(parts or ["this recorder"]) + f", with what they send written to {cassette}"
