"""`hudproxy record --max-body`: a request body over the limit gets 413 and reaches neither the upstream nor the
cassette; an upstream's answer larger than the limit is still recorded (the limit is on requests only).

The upstream is a real stdlib HTTP server counting what reached it; the client is curl (it sends a declared
length and a chunked body) and httpx.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from hudproxy.cassette.files import load_cassette
from hudproxy.proxy.record_addon import RecordAddon
from hudproxy.proxy.runner import proxy_in_thread
from hudproxy.record.recorder import Recorder

LIMIT = 1024
BIG_ANSWER = b"r" * (LIMIT * 64)
CURL = shutil.which("curl")
NO_PROXY_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


class Counting(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path}")
        self.send_response(200)
        self.send_header("Content-Length", str(len(BIG_ANSWER)))
        self.end_headers()
        self.wfile.write(BIG_ANSWER)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append(f"POST {self.path}")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def counting_upstream() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (Counting,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def curl_post(url: str, body: Path, *extra: str) -> tuple[int, str]:
    out = subprocess.run(
        [CURL or "curl", "-s", "-w", "\n%{http_code}", "-X", "POST", "--data-binary", f"@{body}", *extra, url],
        capture_output=True, text=True, timeout=30, env=NO_PROXY_ENV,
    )  # fmt: skip
    text, _, code = out.stdout.rpartition("\n")
    return int(code), text


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_a_request_body_over_max_body_gets_413_and_is_neither_forwarded_nor_recorded(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (LIMIT * 5))
    with counting_upstream() as (target, seen):
        recorder = Recorder(tmp_path / "c.yaml", "all", target=target)
        with proxy_in_thread([RecordAddon(recorder, max_body=LIMIT)], f"reverse:{target}") as proxy:
            declared = curl_post(f"{proxy}/declared?api_key=hush", big)
            chunked = curl_post(f"{proxy}/chunked", big, "-H", "Transfer-Encoding: chunked")
            small = httpx.post(f"{proxy}/small", content=b"fits", trust_env=False, timeout=20)
            large_answer = httpx.get(f"{proxy}/large", trust_env=False, timeout=20)
        recorder.close()
    assert declared[0] == 413 and "--max-body" in declared[1]
    assert chunked[0] == 413 and "--max-body" in chunked[1]
    assert small.status_code == 200
    assert large_answer.status_code == 200 and large_answer.content == BIG_ANSWER  # responses are not limited
    assert seen == ["POST /small", "GET /large"]
    recorded = [i.request.path for i in load_cassette(tmp_path / "c.yaml").interactions]
    assert recorded == ["/small", "/large"]
