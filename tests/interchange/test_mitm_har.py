"""A HAR written by mitmproxy itself (`mitmdump --set hardump=FILE`, a real run in front of a live upstream):
bodies it writes as text without `encoding` come back as the bytes the upstream sent."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from bodies_app import BAD_UTF8_JSON, BINARY, LOOKS_TEXT, bodies_app
from test_mitm_import import MITMDUMP

from hudproxy.interchange import import_file
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.serving import serve_in_thread

PATHS = ["/looks-text", "/bad-utf8", "/binary", "/json"]


def mitmdump_har(upstream: str, har: Path, confdir: Path) -> list[httpx.Response]:
    """mitmdump as a reverse proxy with `hardump`; the HAR is written when it stops."""
    port = free_port()
    args = [*MITMDUMP, "--mode", f"reverse:{upstream}", "--listen-host", "127.0.0.1", "--listen-port", str(port)]
    args += ["--set", f"hardump={har}", "--set", f"confdir={confdir}", "-q"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_for_port("127.0.0.1", port, timeout=20), proc.stderr.read() if proc.poll() is not None else ""
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client:
            responses = [client.get(path) for path in PATHS]
            responses.append(client.post("/echo-bytes", content=LOOKS_TEXT))
            return responses
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(20)


@pytest.fixture(scope="module")
def har_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[httpx.Response]]:
    folder = tmp_path_factory.mktemp("mitm-har")
    har = folder / "traffic.har"
    with serve_in_thread(bodies_app()) as upstream:
        responses = mitmdump_har(upstream, har, folder / "mitmproxy-conf")
    return har, responses


def test_mitmproxy_writes_these_bodies_as_text_without_an_encoding(har_file: tuple[Path, list[httpx.Response]]) -> None:
    """The premise, checked on the file mitmproxy wrote (so a change in mitmproxy shows here first)."""
    har, _ = har_file
    entries = json.loads(har.read_text())["log"]["entries"]
    looks_text = entries[0]["response"]["content"]
    assert "encoding" not in looks_text and len(looks_text["text"]) == 1024 == looks_text["size"]
    assert len(looks_text["text"].encode("utf-8")) == 1536, "read as UTF-8 the body grows by half"
    assert "encoding" not in entries[1]["response"]["content"]
    assert entries[2]["response"]["content"]["encoding"] == "base64"  # mostly binary from the start


def test_bodies_come_back_as_the_bytes_the_upstream_sent(har_file: tuple[Path, list[httpx.Response]]) -> None:
    har, responses = har_file
    interactions = import_file("har", har).interactions
    bodies = [i.response.body for i in interactions]
    assert bodies[:4] == [LOOKS_TEXT, BAD_UTF8_JSON, BINARY, responses[3].content]
    assert [r.content for r in responses[:4]] == bodies[:4]
    assert interactions[4].request.body == LOOKS_TEXT, "a request body mitmproxy wrote as text, too"
    assert len(bodies[0]) == 1024
