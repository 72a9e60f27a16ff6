"""An MCP server that `hudproxy record --mode forward` starts gets the trust bundle (the system's CAs plus
hudproxy's): its tool, using httpx and requests as they come, verifies a host hudproxy intercepts and one it
tunnels untouched. "The system's CAs" are stood in for by `$HUDPROXY_SYSTEM_CA_BUNDLE` holding another test CA."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import anyio
from clients import NO_PROXY_ENV
from mcp import Client
from tls_upstream import TlsFiles, make_private_ca, serve_tls

from hudproxy.cassette import load_cassette
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.proxy.ca import SYSTEM_BUNDLE_ENV

HUDPROXY = [sys.executable, "-c", "from hudproxy.cli import main; main()"]
SERVER = [sys.executable, str(Path(__file__).with_name("fetch_tool_server.py"))]


async def fetch_all(mcp_url: str, urls: list[str]) -> list[tuple[bool, str]]:
    async with Client(mcp_url) as client:
        results = [await client.call_tool("fetch", {"url": url}) for url in urls]
    return [(result.is_error, result.content[0].text) for result in results]  # type: ignore[union-attr]


def test_the_forward_mode_mcp_server_verifies_intercepted_and_tunnelled_hosts(
    upstream_tls: TlsFiles, tmp_path: Path
) -> None:
    (tmp_path / "system-ca").mkdir()
    system_stand_in = make_private_ca(tmp_path / "system-ca")
    cassette, port = tmp_path / "c.yaml", free_port()
    command = [*HUDPROXY, "record", "--mcp-command", shlex.join(SERVER), "--mode", "forward",
               "--allow-host", "localhost", "--upstream-ca", str(upstream_tls.ca_cert), "--cassette", str(cassette),
               "--no-journal", "--port", str(port)]  # fmt: skip
    env = {**NO_PROXY_ENV, "COLUMNS": "200", "HUDPROXY_CA_DIR": str(tmp_path / "ca"),
           SYSTEM_BUNDLE_ENV: str(system_stand_in.ca_cert), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # fmt: skip
    with (
        serve_tls(upstream_tls) as intercepted,
        serve_tls(system_stand_in, hostname="127.0.0.1") as tunnelled,
    ):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert wait_for_port("127.0.0.1", port, timeout=30), "hudproxy record did not listen"
            urls = [f"{intercepted.url}/json", f"{tunnelled.url}/json"]
            answers = anyio.run(fetch_all, f"http://127.0.0.1:{port}/mcp", urls)
        finally:
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
    assert answers == [(False, "httpx tls=True requests tls=True")] * 2, (answers, err)
    assert intercepted.seen == tunnelled.seen == ["GET /json"] * 2
    http_urls = {i.request.url for i in load_cassette(cassette).interactions if i.request.url.startswith("https")}
    assert http_urls == {urls[0]}, "only the allowed host is recorded; the other was tunnelled untouched"
