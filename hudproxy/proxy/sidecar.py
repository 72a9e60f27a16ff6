"""The HTTP recorder beside an MCP recording: the API calls the MCP server itself makes, in the same run.

`hudproxy record --mcp-command CMD --target URL` (or `--mode forward --allow-host ...`) records the MCP server
and, on a second port, the HTTP it sends to its API: one Recorder, so one cassette, one journal and one seq
counter. The stdio server hudproxy starts is told where to send that HTTP through its environment:

- reverse mode: `HUDPROXY_HTTP_URL=http://127.0.0.1:PORT`, a base URL standing in for the target;
- forward mode: `HTTPS_PROXY`/`HTTP_PROXY` (both cases, since Python prefers the lower-case ones) and
  the system's CAs plus hudproxy's in `SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, ..., so fixed hostnames need no
  code change and hosts tunnelled untouched (outside `--allow-host`) still verify.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hudproxy.interaction.body import MAX_BODY
from hudproxy.record.recorder import Recorder

HTTP_URL_ENV = "HUDPROXY_HTTP_URL"
WILDCARDS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # where a local client reaches a wildcard bind


@dataclass(frozen=True)
class HttpSidecar:
    """Where the HTTP recorder listens and what it records: `target` (reverse) or `allow_hosts` (forward)."""

    host: str
    port: int
    target: str | None = None
    allow_hosts: tuple[str, ...] = ()
    block_others: bool = False
    insecure: bool = False
    upstream_ca: Path | None = None
    upstream_timeout: float | None = 60.0
    max_body: int = MAX_BODY  # request bodies only (413 beyond)

    @property
    def forward(self) -> bool:
        return self.target is None

    @property
    def url(self) -> str:
        """`http://host:port` as a process on this machine reaches it."""
        host = WILDCARDS.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def child_env(self) -> dict[str, str]:
        """The variables that send the MCP server's HTTP through this recorder (never stored anywhere)."""
        if not self.forward:
            return {HTTP_URL_ENV: self.url}
        from hudproxy.proxy.ca import client_environment, ensure_ca

        env = client_environment(ensure_ca(), self.url)
        env.update({"https_proxy": self.url, "http_proxy": self.url})
        return env

    def describe_env(self) -> str:
        """The variables `child_env` sets, in one short line."""
        if not self.forward:
            return f"{HTTP_URL_ENV}={self.url}"
        cert = self.child_env()["SSL_CERT_FILE"]
        return (
            f"HTTPS_PROXY=HTTP_PROXY={self.url}, and the system's CAs plus hudproxy's ({cert}) in SSL_CERT_FILE, "
            "REQUESTS_CA_BUNDLE, ..."
        )

    def describe(self) -> str:
        return f"forward proxy for {', '.join(self.allow_hosts) or 'all hosts'}" if self.forward else str(self.target)

    @contextlib.contextmanager
    def running(self, recorder: Recorder) -> Iterator[str]:
        """mitmproxy recording into `recorder` on a thread of its own; yields `url` once it listens.

        The recorder is shared with the MCP front (its lock and seq counter make that safe) and is closed by
        whoever opened it, not here.
        """
        from hudproxy.proxy.forward import record_options
        from hudproxy.proxy.record_addon import RecordAddon
        from hudproxy.proxy.runner import proxy_in_thread
        from hudproxy.proxy.upstream import Upstream

        hosts = list(self.allow_hosts)
        addon = RecordAddon(
            recorder, hosts, self.block_others, upstream_timeout=self.upstream_timeout, max_body=self.max_body
        )
        if self.forward:
            mode, options = "regular", record_options(hosts, self.block_others, self.insecure, self.upstream_ca)
        else:
            mode, options = f"reverse:{self.target}", Upstream(self.insecure, self.upstream_ca).mitm_options()
        with proxy_in_thread([addon], mode, self.host, self.port, **options):
            yield self.url
