"""Forward mode, an upstream that cannot be reached: a plain-HTTP request gets the JSON 502 naming the upstream and
the cause; a CONNECT (HTTPS) gets it as its 502 (clients show the status), the log says which host and why and the
journal has a row; inside a TLS tunnel hudproxy terminates, a request whose upstream fails gets the same JSON."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from clients import CURL, curl
from tls_upstream import TlsFiles, broken_tls_upstream, trusting

from hudproxy.journal.writer import JournalWriter
from hudproxy.proxy.forward import forward_record
from hudproxy.record.recorder import Recorder
from hudproxy.scrub.policy import ScrubPolicy


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


def journal_rows(db: Path) -> list[dict[str, Any]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute("SELECT * FROM calls WHERE session = 'recording' ORDER BY seq")]


def journaling(tmp_path: Path) -> tuple[Recorder, Path]:
    """A forward recorder with a journal, and the journal's file."""
    db = tmp_path / "journal.db"
    return Recorder(
        tmp_path / "c.yaml", "all", proxy_mode="forward", journal=JournalWriter(db, ScrubPolicy.default())
    ), db


def test_a_connect_to_an_unreachable_host_is_journaled(hudproxy_ca: Path, tmp_path: Path, closed_port: int) -> None:
    authority, (recorder, db) = f"127.0.0.1:{closed_port}", journaling(tmp_path)
    with forward_record(recorder) as proxy:
        client = httpx.Client(proxy=proxy, verify=trusting(hudproxy_ca), trust_env=False, timeout=15)
        with client, pytest.raises(httpx.ProxyError, match="502"):
            client.get(f"https://{authority}/x")
    rows = journal_rows(db)
    assert [(r["method"], r["status"]) for r in rows] == [("CONNECT", 502)], rows
    assert authority in rows[0]["url"] and json.loads(rows[0]["response_body"])["cause"] == "refused"
    assert not (tmp_path / "c.yaml").exists()


Fetch = Callable[[str, Path, str], tuple[int, str, bytes]]  # proxy, CA, URL -> status, content type, body


def httpx_fetch(http2: bool) -> Fetch:
    def fetch(proxy: str, ca: Path, url: str) -> tuple[int, str, bytes]:
        with httpx.Client(proxy=proxy, verify=trusting(ca), trust_env=False, timeout=20, http2=http2) as client:
            got = client.get(url)
        assert got.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
        return got.status_code, got.headers["content-type"], got.content

    return fetch


def requests_fetch(proxy: str, ca: Path, url: str) -> tuple[int, str, bytes]:
    with requests.Session() as session:
        session.trust_env = False
        got = session.get(url, proxies={"https": proxy}, verify=str(ca), timeout=20)
    return got.status_code, got.headers["content-type"], got.content


def curl_fetch(version: str) -> Fetch:
    def fetch(proxy: str, ca: Path, url: str) -> tuple[int, str, bytes]:
        done = curl("-x", proxy, "--cacert", str(ca), version, "-o", "-", "-w", "\n%{http_code} %{http_version} "
                    "%{content_type}", url)  # fmt: skip
        assert done.returncode == 0, done.stderr
        body, _, tail = done.stdout.rpartition("\n")
        status, http_version, content_type = tail.split(" ", 2)
        assert http_version == ("2" if version == "--http2" else "1.1")
        return int(status), content_type, body.encode()

    return fetch


NEEDS_CURL = pytest.mark.skipif(not CURL, reason="curl is not installed")
FETCHES = [
    pytest.param(httpx_fetch(False), id="httpx-h1"),
    pytest.param(httpx_fetch(True), id="httpx-h2"),
    pytest.param(requests_fetch, id="requests"),
    pytest.param(curl_fetch("--http1.1"), id="curl-h1", marks=NEEDS_CURL),
    pytest.param(curl_fetch("--http2"), id="curl-h2", marks=NEEDS_CURL),
]


@pytest.mark.parametrize("fetch", FETCHES)
@pytest.mark.parametrize(("hang_up", "cause"), [(True, "response"), (False, "timeout")])
def test_inside_a_tls_tunnel_a_failed_upstream_is_the_json_502(
    fetch: Fetch, hang_up: bool, cause: str, upstream_tls: TlsFiles, hudproxy_ca: Path, tmp_path: Path
) -> None:
    """hudproxy terminates the client's TLS, the upstream then hangs up or never answers: the client reads
    hudproxy's JSON 502 (not mitmproxy's HTML page), over HTTP/1.1 and HTTP/2; the journal has the row."""
    recorder, db = journaling(tmp_path)
    with (
        broken_tls_upstream(upstream_tls, hang_up=hang_up) as upstream,
        forward_record(recorder, upstream_ca=upstream_tls.ca_cert, upstream_timeout=1.0) as proxy,
    ):
        status, content_type, body = fetch(proxy, hudproxy_ca, f"{upstream}/orders/A1")
    assert (status, content_type) == (502, "application/json"), body
    answer = json.loads(body)
    assert (answer["target"], answer["cause"], answer["request"]) == (upstream, cause, "GET /orders/A1")
    assert [(r["method"], r["status"]) for r in journal_rows(db)] == [("GET", 502)]
    assert not (tmp_path / "c.yaml").exists()
