"""Forward mode, an upstream that cannot be reached: a plain-HTTP request gets the JSON 502 naming the upstream and
the cause; a CONNECT (HTTPS) gets it as its 502 (clients show the status) and the log says which host and why."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
import requests
from clients import CURL, curl

from hudproxy.proxy.forward import forward_record
from hudproxy.record.recorder import Recorder


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "ERROR" and r.name == "hudproxy.record"]


def test_a_plain_http_request_to_a_closed_port_is_a_json_502(
    hudproxy_ca: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, closed_port: int
) -> None:
    cassette, target = tmp_path / "c.yaml", f"http://127.0.0.1:{closed_port}"
    with (
        caplog.at_level("ERROR", logger="hudproxy"),
        forward_record(Recorder(cassette, "all", proxy_mode="forward")) as proxy,
    ):
        with httpx.Client(proxy=proxy, trust_env=False, timeout=15) as client:
            answer = client.get(f"{target}/x")
        with requests.Session() as session:
            session.trust_env = False
            second = session.get(f"{target}/x", proxies={"http": proxy}, timeout=15)
    for got in (answer, second):
        assert got.status_code == 502 and got.headers["content-type"] == "application/json"
        assert {k: v for k, v in got.json().items() if k in ("target", "cause")} == {
            "target": target,
            "cause": "refused",
        }
    assert len(errors(caplog)) == 2 and all(target in e and "(refused)" in e for e in errors(caplog))
    assert not cassette.exists(), "nothing recorded, no file"


@pytest.mark.parametrize(("host", "cause"), [("127.0.0.1:{port}", "refused"), ("hudproxy-test.invalid:443", "dns")])
def test_a_connect_to_an_unreachable_host_is_a_502_and_an_error_line(
    host: str, cause: str, hudproxy_ca: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, closed_port: int
) -> None:
    authority = host.format(port=closed_port)
    with (
        caplog.at_level("ERROR", logger="hudproxy"),
        forward_record(Recorder(tmp_path / "c.yaml", "all", proxy_mode="forward")) as proxy,
    ):
        client = httpx.Client(proxy=proxy, verify=str(hudproxy_ca), trust_env=False, timeout=15)
        with client, pytest.raises(httpx.ProxyError, match="502"):
            client.get(f"https://{authority}/x")
        if CURL:
            done = curl("-x", proxy, "--cacert", str(hudproxy_ca), "-v", f"https://{authority}/x")
            assert done.returncode == 56 and "502" in done.stderr, done.stderr
    assert errors(caplog) and all(authority in e and f"({cause})" in e for e in errors(caplog)), errors(caplog)
    assert "connection_strategy" not in " ".join(errors(caplog)), "no mitmproxy advice in hudproxy's words"


def test_the_connect_answer_is_the_json_body(hudproxy_ca: Path, tmp_path: Path, closed_port: int) -> None:
    """What a client that reads the CONNECT answer's body gets (a raw socket, as a proxy-aware client sees it)."""
    authority = f"127.0.0.1:{closed_port}"
    with forward_record(Recorder(tmp_path / "c.yaml", "all", proxy_mode="forward")) as proxy:
        host, port = proxy.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
            raw = b""
            while b"\r\n\r\n" not in raw or not raw.rstrip().endswith(b"}"):
                piece = sock.recv(65536)
                if not piece:
                    break
                raw += piece
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 502")
    answer = json.loads(body)
    assert (answer["target"], answer["cause"], answer["request"]) == (authority, "refused", f"CONNECT {authority}")
