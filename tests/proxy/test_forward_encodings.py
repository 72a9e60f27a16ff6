"""Forward-mode replay sends a compressed recording exactly as recorded: once compressed, never twice.

The cassette holds what the upstream sent (compressed bytes and their `Content-Encoding`); real clients that
accept compression (httpx, requests, curl --compressed, a headless Chromium page load) must decode it to the
original text, over plain HTTP and over HTTPS through hudproxy's CA.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import brotli
import httpx
import pytest
import requests
import zstandard
from clients import CURL, NO_PROXY_ENV, curl
from tls_upstream import trusting
from urllib3.util.request import ACCEPT_ENCODING

from hudproxy.cassette import save_cassette
from hudproxy.interaction.model import Interaction
from hudproxy.proxy.forward import forward_replay
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

TEXT = b'{"greeting": "h\xc3\xa9llo from the cassette", "filler": "' + b"abc" * 300 + b'"}'
PAGE = b"<html><body><p id='proof'>page served from the cassette</p></body></html>"
ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0),  # no timestamp: the same bytes every time
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
    "deflate": zlib.compress,
}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def compressed(url: str, encoding: str, body: bytes, content_type: str) -> Interaction:
    """What a recording holds for a compressed answer: the bytes as sent, and their encoding."""
    wire = ENCODERS[encoding](body)
    headers = [("Content-Type", content_type), ("Content-Encoding", encoding), ("Content-Length", str(len(wire)))]
    return make_interaction(make_request(url=url), make_response(200, wire, headers=headers))


@pytest.fixture
def proxy(tmp_path: Path, hudproxy_ca: Path) -> Iterator[str]:
    """A forward replay proxy over one cassette holding every encoding, by http and by https."""
    interactions = []
    for scheme in ("http", "https"):
        for encoding in ENCODERS:
            interactions.append(compressed(f"{scheme}://api.test/{encoding}", encoding, TEXT, "application/json"))
    interactions.extend(compressed(f"{scheme}://site.test/", "gzip", PAGE, "text/html") for scheme in ("http", "https"))
    head = [("Content-Encoding", "gzip"), ("Content-Length", "999")]  # a HEAD answer: the GET's length, no body
    interactions.append(
        make_interaction(make_request("HEAD", "https://api.test/gzip"), make_response(200, headers=head))
    )
    cassette = tmp_path / "encoded.yaml"
    save_cassette(make_cassette(interactions), cassette)
    with forward_replay(build_service(cassette, ReplayOptions(forward=True))) as url:
        yield url


SCHEMES = ("http", "https")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("encoding", list(ENCODERS))
def test_httpx_decodes_a_compressed_recording_replayed_forward(
    proxy: str, hudproxy_ca: Path, scheme: str, encoding: str
) -> None:
    with httpx.Client(proxy=proxy, verify=trusting(hudproxy_ca), trust_env=False, timeout=15) as client:
        response = client.get(f"{scheme}://api.test/{encoding}", headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == encoding
    assert response.content == TEXT


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("encoding", list(ENCODERS))
def test_requests_decodes_a_compressed_recording_replayed_forward(
    proxy: str, hudproxy_ca: Path, scheme: str, encoding: str
) -> None:
    with requests.Session() as session:
        session.trust_env = False
        session.proxies = {"http": proxy, "https": proxy}
        response = session.get(
            f"{scheme}://api.test/{encoding}",
            headers={"Accept-Encoding": encoding},
            verify=str(hudproxy_ca),
            timeout=15,
        )
    assert response.status_code == 200
    decodes = encoding in ACCEPT_ENCODING.split(",")  # urllib3 decodes zstd only with a zstd module it knows
    assert response.content == (TEXT if decodes else ENCODERS[encoding](TEXT))


@pytest.mark.skipif(not CURL, reason="curl is not installed")
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("encoding", list(ENCODERS))
def test_curl_gets_the_recorded_bytes_once_compressed(
    proxy: str, hudproxy_ca: Path, tmp_path: Path, scheme: str, encoding: str
) -> None:
    url, raw = f"{scheme}://api.test/{encoding}", tmp_path / "raw"
    header = ["-H", f"Accept-Encoding: {encoding}"]
    done = curl("-x", proxy, "--cacert", str(hudproxy_ca), *header, "-o", str(raw), url)
    assert done.returncode == 0, done.stderr
    assert raw.read_bytes() == ENCODERS[encoding](TEXT), "the wire bytes are the recorded ones, not re-encoded"
    decoded = curl("-x", proxy, "--cacert", str(hudproxy_ca), "--compressed", *header, url)
    assert decoded.returncode == 0, decoded.stderr
    assert decoded.stdout.encode() == TEXT


@pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed (apt-get install -y chromium)")
@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_headless_chromium_page_load_through_the_forward_replay_proxy(
    proxy: str, tmp_path: Path, scheme: str
) -> None:
    """Chromium asks for gzip on its own; a doubly compressed page aborts the load (ERR_CONTENT_DECODING_FAILED).
    Over HTTPS it speaks HTTP/2 to the proxy (certificate errors ignored: trust is not what this checks)."""
    assert CHROMIUM
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}", f"--proxy-server={proxy}", "--proxy-bypass-list=<-loopback>",
        "--ignore-certificate-errors", "--dump-dom", f"{scheme}://site.test/",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=NO_PROXY_ENV)
    assert "page served from the cassette" in done.stdout, done.stderr[-2000:]


def test_a_head_answer_keeps_its_recorded_length_with_no_body(proxy: str, hudproxy_ca: Path) -> None:
    with httpx.Client(proxy=proxy, verify=trusting(hudproxy_ca), trust_env=False, timeout=15) as client:
        response = client.head("https://api.test/gzip")
    assert response.status_code == 200 and response.headers["content-length"] == "999" and response.content == b""
