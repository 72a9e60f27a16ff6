"""hudproxy's certificate authority: a private key only its owner can read, and `hudproxy ca --env` giving a
client shell exactly what it needs (checked by eval'ing it and recording curl through a real proxy).
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from clients import CURL, NO_PROXY_ENV
from tls_upstream import TlsFiles, serve_tls

from hudproxy.cassette import load_cassette
from hudproxy.proxy.ca import ensure_ca
from hudproxy.proxy.forward import forward_record
from hudproxy.record.recorder import Recorder

HUDPROXY = [sys.executable, "-c", "from hudproxy.cli import main; main()"]
VARIABLES = (
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "CURL_CA_BUNDLE",
    "HTTPS_PROXY",
    "HTTP_PROXY",
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_ca_private_key_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "ca"
    public = ensure_ca(folder)
    key = folder / "mitmproxy-ca.pem"
    assert b"PRIVATE KEY" in key.read_bytes() and mode(key) == 0o600
    assert mode(folder) == 0o700
    assert mode(public) == 0o644 and b"PRIVATE KEY" not in public.read_bytes()
    for path in folder.iterdir():  # no other copy of the key (the .p12 bundle holds it too) is readable by others
        if b"PRIVATE KEY" in path.read_bytes() or path.name == "mitmproxy-ca.p12":
            assert mode(path) == 0o600, path.name
    key.chmod(0o644)
    assert ensure_ca(folder) == public and mode(key) == 0o600, "a loosened key is tightened again on the next use"


def ca_env(folder: Path, proxy: str) -> subprocess.CompletedProcess[str]:
    env = {**NO_PROXY_ENV, "HUDPROXY_CA_DIR": str(folder), "COLUMNS": "200"}
    return subprocess.run(
        [*HUDPROXY, "ca", "--env", "--proxy", proxy], capture_output=True, text=True, env=env, timeout=60
    )


def test_ca_env_prints_only_export_lines(tmp_path: Path) -> None:
    result = ca_env(tmp_path / "ca", "http://127.0.0.1:8899")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [f"export {name}" for name in VARIABLES]
    values = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    bundle, cert = tmp_path / "ca" / "hudproxy-ca-bundle.pem", tmp_path / "ca" / "hudproxy-ca-cert.pem"
    assert values["SSL_CERT_FILE"] == values["REQUESTS_CA_BUNDLE"] == values["CURL_CA_BUNDLE"] == str(bundle)
    assert values["NODE_EXTRA_CA_CERTS"] == str(cert), "Node adds these to its own store: hudproxy's CA alone"
    assert bundle.read_bytes().endswith(cert.read_bytes()), "the system's CAs, then hudproxy's"
    assert values["HTTPS_PROXY"] == values["HTTP_PROXY"] == "http://127.0.0.1:8899"
    assert (tmp_path / "ca" / "hudproxy-ca-cert.pem").exists(), "the CA is created on first use"


@pytest.mark.skipif(not CURL, reason="curl is not installed")
def test_evaluating_ca_env_lets_curl_record_through_the_proxy(
    upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    """The help's example, for real: eval "$(hudproxy ca --env)" && curl https://..."""
    cassette = tmp_path / "curl.yaml"
    recorder = Recorder(cassette, "all", proxy_mode="forward")
    with serve_tls(upstream_tls) as api, forward_record(recorder, upstream_ca=upstream_tls.ca_cert) as proxy:
        command = " ".join(map(shlex.quote, [*HUDPROXY, "ca", "--env", "--proxy", proxy]))
        script = f'eval "$({command})" && curl -sS {api.url}/json'
        env = {**NO_PROXY_ENV, "HUDPROXY_CA_DIR": os.environ["HUDPROXY_CA_DIR"]}
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60)
        assert result.returncode == 0, result.stderr
        assert '"tls":true' in result.stdout
    assert [i.request.url for i in load_cassette(cassette).interactions] == [f"{api.url}/json"]
