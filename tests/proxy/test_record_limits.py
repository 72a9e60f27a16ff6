"""`hudproxy record --max-body`: a request body over the limit gets 413 and reaches neither the upstream nor the
cassette; an upstream's answer larger than the limit is still recorded (the limit is on requests only).

The upstream is a real stdlib HTTP server counting what reached it; the client is curl (it sends a declared
length and a chunked body) and httpx.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import subprocess
import threading
import time
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


def test_a_gzip_bomb_is_413_off_the_loop_and_another_client_is_not_stalled(tmp_path: Path) -> None:
    """Recording inflated (and scrubbed) the bomb on mitmproxy's event loop: every other client waited ~16 s.
    Now it is refused on a worker thread; the bound is loose for a loaded 2-core machine."""
    bomb = gzip.compress(b'{"a": "' + b"x" * (256 * 1024 * 1024) + b'"}', 6)
    latencies: list[float] = []
    stop = threading.Event()
    with counting_upstream() as (target, seen):
        recorder = Recorder(tmp_path / "c.yaml", "all", target=target)
        with proxy_in_thread([RecordAddon(recorder)], f"reverse:{target}") as proxy:

            def victim() -> None:
                with httpx.Client(base_url=proxy, trust_env=False, timeout=60) as client:
                    while not stop.is_set():
                        started = time.perf_counter()
                        client.get("/small")
                        latencies.append(time.perf_counter() - started)
                        time.sleep(0.01)

            thread = threading.Thread(target=victim)
            thread.start()
            try:
                headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
                answers = [httpx.post(f"{proxy}/up", content=bomb, headers=headers, trust_env=False, timeout=60)
                           for _ in range(2)]  # fmt: skip
            finally:
                stop.set()
                thread.join(30)
        recorder.close()
    assert [a.status_code for a in answers] == [413, 413] and "--max-body" in answers[0].text
    assert "POST /up" not in seen
    assert len(latencies) > 3 and max(latencies) < 1.0, f"victim GETs: max {max(latencies):.3f}s"
