"""Forward-proxy mode (HTTPS_PROXY + hudproxy's CA): the mitmproxy options for recording and for replay."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hudproxy.interaction.body import MAX_BODY
from hudproxy.proxy.ca import ca_dir, ensure_ca
from hudproxy.proxy.hosts import host_regex
from hudproxy.proxy.record_addon import RecordAddon
from hudproxy.proxy.replay_addon import ReplayAddon
from hudproxy.proxy.runner import proxy_in_thread
from hudproxy.proxy.upstream import DEFAULT_TIMEOUT, Upstream
from hudproxy.record.recorder import Recorder
from hudproxy.replay.service import ReplayService

MODE = "regular"


def record_options(
    allow_hosts: list[str], block_others: bool, insecure: bool = False, upstream_ca: Path | None = None
) -> dict[str, Any]:
    """Hosts outside `allow_hosts` are tunnelled untouched (not intercepted), unless they are blocked.

    An intercepted host speaks TLS or HTTP or nothing: raw TCP to it is not relayed (rawtcp off, so the bytes are
    read as HTTP and refused), since what cannot be recorded would be a hole in the cassette.
    `upstream_ca` is a PEM file of a private CA (a staging API's) trusted besides the system's CAs.
    """
    ensure_ca()
    options: dict[str, Any] = {"confdir": ca_dir(), "rawtcp": False, **Upstream(insecure, upstream_ca).mitm_options()}
    if allow_hosts and not block_others:
        options["allow_hosts"] = [host_regex(allow_hosts)]
    return options


def replay_options(max_body: int = MAX_BODY) -> dict[str, Any]:
    """Never connect upstream: lazy connections, certificates made from the client's SNI alone (ReplayAddon's
    `server_connect` refuses whatever would still connect, such as a raw TCP relay). A request body over
    `max_body` is answered 413 by mitmproxy before it is buffered whole."""
    ensure_ca()
    return {
        "confdir": ca_dir(),
        "connection_strategy": "lazy",
        "upstream_cert": False,
        "body_size_limit": str(max_body),
    }


@contextlib.contextmanager
def forward_replay(service: ReplayService, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """A forward replay proxy on a thread; yields its URL (use it as HTTPS_PROXY)."""
    options = replay_options(service.limits.max_size)
    with proxy_in_thread([ReplayAddon(service)], MODE, host, port, **options) as url:
        yield url


@contextlib.contextmanager
def forward_record(
    recorder: Recorder,
    allow_hosts: list[str] | None = None,
    block_others: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    upstream_ca: Path | None = None,
    insecure: bool = False,
    upstream_timeout: float | None = DEFAULT_TIMEOUT,
) -> Iterator[str]:
    """A recording forward proxy on a thread; yields its URL; flushes the cassette on exit."""
    hosts = allow_hosts or []
    addon = RecordAddon(recorder, hosts, block_others, upstream_timeout)
    options = record_options(hosts, block_others, insecure, upstream_ca)
    try:
        with proxy_in_thread([addon], MODE, host, port, **options) as url:
            yield url
    finally:
        recorder.close()
