"""What `hudproxy ca --env` hands a client shell (and the forward-mode MCP server's environment): a bundle of the
system's CAs plus hudproxy's, so a host hudproxy intercepts and a host it tunnels untouched both verify; and
`hudproxy record --upstream-ca` for an upstream signed by a private CA.

"The system's CAs" are stood in for by `$HUDPROXY_SYSTEM_CA_BUNDLE`: a file holding another test CA, which signs
the tunnelled host. The real system store is never touched.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clients import CURL, NO_PROXY_ENV
from tls_upstream import TlsFiles, make_private_ca, serve_tls

from hudproxy.cassette import load_cassette
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.proxy.ca import SYSTEM_BUNDLE_ENV
from hudproxy.proxy.forward import forward_record
from hudproxy.proxy.sidecar import HttpSidecar
from hudproxy.record.recorder import Recorder

HUDPROXY = [sys.executable, "-c", "from hudproxy.cli import main; main()"]
CLIENT = """
import os, sys, httpx, requests
for url in sys.argv[1:]:
    assert requests.get(url, timeout=20).json()["tls"] is True, url
    assert httpx.get(url, timeout=20, trust_env=True).json()["tls"] is True, url
print("python clients verified", len(sys.argv) - 1)
"""


@pytest.fixture(scope="module")
def other_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A second private CA: it signs the tunnelled host, and stands in for the system's CAs."""
    return make_private_ca(tmp_path_factory.mktemp("other-ca"))


def verifies(cafile: str, port: int, name: str) -> bool:
    """A real TLS handshake with the server on 127.0.0.1:port, checking its certificate against `cafile`."""
    context = ssl.create_default_context(cafile=cafile)
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=name),
        ):
            return True
    except ssl.SSLCertVerificationError:
        return False


@pytest.mark.skipif(not CURL, reason="curl is not installed")
def test_evaluated_ca_env_verifies_an_intercepted_host_and_a_tunnelled_one(
    upstream_tls: TlsFiles, other_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    cassette = tmp_path / "c.yaml"
    recorder = Recorder(cassette, "all", proxy_mode="forward")
    with (
        serve_tls(upstream_tls) as intercepted,
        serve_tls(other_tls, hostname="127.0.0.1") as tunnelled,
        forward_record(recorder, ["localhost"], upstream_ca=upstream_tls.ca_cert) as proxy,
    ):
        ca_env = " ".join(map(shlex.quote, [*HUDPROXY, "ca", "--env", "--proxy", proxy]))
        urls = [f"{intercepted.url}/json", f"{tunnelled.url}/json"]
        python = " ".join(map(shlex.quote, [sys.executable, "-c", CLIENT, *urls]))
        script = f'set -e; eval "$({ca_env})"; curl -sS {urls[0]}; echo; curl -sS {urls[1]}; echo; {python}'
        env = {
            **NO_PROXY_ENV,
            "HUDPROXY_CA_DIR": os.environ["HUDPROXY_CA_DIR"],
            SYSTEM_BUNDLE_ENV: str(other_tls.ca_cert),
        }
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.count('"tls":true') == 2 and "python clients verified 2" in done.stdout
        assert tunnelled.seen == ["GET /json"] * 3, "the tunnelled host was reached directly, through the tunnel"
    assert {i.request.url for i in load_cassette(cassette).interactions} == {urls[0]}, "only the allowed host"


def test_the_forward_mode_mcp_server_gets_the_same_bundle(
    other_tls: TlsFiles, hudproxy_ca: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SYSTEM_BUNDLE_ENV, str(other_tls.ca_cert))
    env = HttpSidecar("127.0.0.1", 8081, allow_hosts=("localhost",)).child_env()
    bundle = env["SSL_CERT_FILE"]
    assert env["REQUESTS_CA_BUNDLE"] == env["CURL_CA_BUNDLE"] == bundle
    with serve_tls(other_tls, hostname="127.0.0.1") as tunnelled:
        assert verifies(bundle, tunnelled.port, "127.0.0.1"), "a host signed by a system CA verifies"
        assert not verifies(str(hudproxy_ca), tunnelled.port, "127.0.0.1"), "hudproxy's CA alone would not"
    assert hudproxy_ca.read_bytes().strip() in Path(bundle).read_bytes(), "and hudproxy's CA is in it"


@pytest.fixture
def record_process(tmp_path: Path) -> Iterator[object]:
    """`hudproxy record` as a real process (every one started is stopped at the end)."""
    started: list[subprocess.Popen[str]] = []

    def start(cassette: str, *options: str) -> str:
        port = free_port()
        command = [*HUDPROXY, "record", "--cassette", str(tmp_path / cassette), "--no-journal", "--port", str(port),
                   *options]  # fmt: skip
        env = {**NO_PROXY_ENV, "HUDPROXY_CA_DIR": str(tmp_path / "ca"), "COLUMNS": "200"}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        started.append(process)
        if not wait_for_port("127.0.0.1", port, timeout=30):
            process.kill()
            pytest.fail(f"hudproxy record did not listen: {process.communicate(timeout=10)}")
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


@pytest.mark.skipif(not CURL, reason="curl is not installed")
def test_record_upstream_ca_records_an_upstream_signed_by_a_private_ca(
    upstream_tls: TlsFiles, record_process: object, tmp_path: Path
) -> None:
    curl = shutil.which("curl") or "curl"
    with serve_tls(upstream_tls) as api:
        unverified = record_process("unverified.yaml", "--target", api.url)  # type: ignore[operator]
        refused = subprocess.run([curl, "-sS", f"{unverified}/json"], capture_output=True, text=True, env=NO_PROXY_ENV)
        assert '"cause": "tls"' in refused.stdout and "certificate verify failed" in refused.stdout.lower()
        assert api.seen == []
        proxy = record_process("c.yaml", "--target", api.url, "--upstream-ca", str(upstream_tls.ca_cert))  # type: ignore[operator]
        done = subprocess.run([curl, "-sS", f"{proxy}/json"], capture_output=True, text=True, env=NO_PROXY_ENV)
        assert '"tls":true' in done.stdout, done
        assert api.seen == ["GET /json"]
    assert [i.request.url for i in load_cassette(tmp_path / "c.yaml").interactions] == [f"{api.url}/json"]


@pytest.mark.parametrize("content", [None, b"not a certificate\n"], ids=["missing", "no-certificate"])
def test_a_bad_upstream_ca_is_one_line_and_exit_2_before_anything_is_written(
    tmp_path: Path, content: bytes | None
) -> None:
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_bytes(content)
    command = [*HUDPROXY, "record", "--target", "https://localhost:9", "--cassette", str(tmp_path / "c.yaml"),
               "--no-journal", "--upstream-ca", str(ca)]  # fmt: skip
    env = {**NO_PROXY_ENV, "COLUMNS": "200", "HUDPROXY_CA_DIR": str(tmp_path / "hudproxy-ca")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and "--upstream-ca" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "c.yaml").exists()
