"""Forward-proxy mode (HTTPS_PROXY + hudproxy's CA): the mitmproxy options for recording and for replay."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from hudproxy.proxy.ca import ca_dir, ensure_ca
from hudproxy.proxy.hosts import host_regex
from hudproxy.proxy.record_addon import RecordAddon
from hudproxy.proxy.replay_addon import ReplayAddon
from hudproxy.proxy.runner import proxy_in_thread
from hudproxy.record.recorder import Recorder
from hudproxy.replay.service import ReplayService

MODE = "regular"


def record_options(allow_hosts: list[str], block_others: bool, insecure: bool = False) -> dict[str, Any]:
    """Hosts outside `allow_hosts` are tunnelled untouched (not intercepted), unless they are blocked."""
    ensure_ca()
    options: dict[str, Any] = {"confdir": ca_dir(), "ssl_insecure": insecure}
    if allow_hosts and not block_others:
        options["allow_hosts"] = [host_regex(allow_hosts)]
    return options


def replay_options() -> dict[str, Any]:
    """Never connect upstream: lazy connections, certificates made from the client's SNI alone."""
    ensure_ca()
    return {"confdir": ca_dir(), "connection_strategy": "lazy", "upstream_cert": False}


@contextlib.contextmanager
def forward_replay(service: ReplayService, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """A forward replay proxy on a thread; yields its URL (use it as HTTPS_PROXY)."""
    with proxy_in_thread([ReplayAddon(service)], MODE, host, port, **replay_options()) as url:
        yield url


@contextlib.contextmanager
def forward_record(
    recorder: Recorder,
    allow_hosts: list[str] | None = None,
    block_others: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[str]:
    """A recording forward proxy on a thread; yields its URL; flushes the cassette on exit."""
    hosts = allow_hosts or []
    addon = RecordAddon(recorder, hosts, block_others)
    try:
        with proxy_in_thread([addon], MODE, host, port, **record_options(hosts, block_others)) as url:
            yield url
    finally:
        recorder.close()
