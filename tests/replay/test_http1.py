"""The HTTP/1.1 fast path over raw sockets: the same bytes as uvicorn with the ASGI app, keep-alive, pipelining
(answers in order, admin and streams in between), chunked request bodies, `Expect: 100-continue`, HEAD, and
HTTP/1.0 clients; anything it does not answer itself reaches the ASGI app on the same connection."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hudproxy.api.replay import Replay
from hudproxy.cassette.files import dumps_cassette
from hudproxy.interaction import Chunk, Response
from hudproxy.netutil import free_port
from hudproxy.replay.http1 import fast_protocol
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response
from tests.processes import HUDPROXY, wide_environment

API = "http://api.test"
BIG = b"x" * (100 * 1024)  # over the 64 KiB a body may have on the fast path


def recorded_without_length() -> Response:
    return Response(200, "OK", (("Content-Type", "text/plain"),), b"no length recorded")


def streamed() -> Response:
    headers = (("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked"))
    return Response(200, "OK", headers, b"data: 1\n\ndata: 2\n\n", (Chunk(9, 0.0), Chunk(9, 5.0)))


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    interactions = [
        make_interaction(make_request("GET", f"{API}/orders/A1"), make_response(json={"status": "pending"})),
        make_interaction(
            make_request("PATCH", f"{API}/orders/A1", json={"status": "shipped"}), make_response(json={"ok": True})
        ),
        make_interaction(make_request("GET", f"{API}/orders/A1"), make_response(json={"status": "shipped"})),
        make_interaction(make_request("GET", f"{API}/plain"), recorded_without_length()),
        make_interaction(make_request("HEAD", f"{API}/plain"), recorded_without_length()),
        make_interaction(
            make_request("GET", f"{API}/sized"), make_response(body=b"sized", headers=(("Content-Length", "5"),))
        ),
        make_interaction(make_request("GET", f"{API}/events"), streamed()),
        make_interaction(make_request("DELETE", f"{API}/orders/A1"), make_response(204, body=b"")),
        make_interaction(make_request("POST", f"{API}/upload", body=BIG), make_response(body=b"big ok")),
        make_interaction(make_request("POST", f"{API}/echo", body=b"hello chunks"), make_response(body=b"echoed")),
        make_interaction(
            make_request("GET", f"{API}/moved"), make_response(302, headers=(("Location", f"{API}/orders/A1"),))
        ),
    ]
    path = tmp_path / "shop.yaml"
    path.write_bytes(dumps_cassette(make_cassette(interactions), False))
    return path


@contextlib.contextmanager
def connected(base_url: str) -> Iterator[socket.socket]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        yield sock


class Reader:
    """Reads HTTP/1.1 responses off a socket one at a time (Content-Length, chunked, or to the close)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            if not self._fill():
                raise EOFError(self.buffer)
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise EOFError(self.buffer)
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def response(self, head_request: bool = False) -> tuple[bytes, dict[bytes, bytes], bytes]:
        """(raw head, headers, body); the raw head keeps the exact bytes for comparing two servers."""
        head = self._until(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = {name.lower(): value for name, _, value in (line.partition(b": ") for line in lines[1:])}
        status = int(lines[0].split()[1])
        if head_request or status in (204, 304) or status < 200:
            return head, headers, b""
        if headers.get(b"transfer-encoding") == b"chunked":
            body = b""
            while size := int(self._until(b"\r\n"), 16):
                body += self._take(size)
                self._take(2)
            self._take(2)
            return head, headers, body
        if b"content-length" in headers:
            return head, headers, self._take(int(headers[b"content-length"]))
        while self._fill():
            pass
        body, self.buffer = self.buffer, b""
        return head, headers, body

    def closed(self) -> bool:
        self.sock.settimeout(5)
        return not self.buffer and self.sock.recv(1) == b""


def request(method: str, path: str, body: bytes = b"", version: str = "1.1", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/{version}", "Host: api.test"]
    if body and "Transfer_Encoding" not in headers:
        lines.append(f"Content-Length: {len(body)}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, piece: int) -> bytes:
    parts = [b"%x\r\n%b\r\n" % (len(body[i : i + piece]), body[i : i + piece]) for i in range(0, len(body), piece)]
    return b"".join(parts) + b"0\r\n\r\n"


EXCHANGE = [
    request("GET", "/s/a/orders/A1"),
    request("PATCH", "/s/a/orders/A1", json.dumps({"status": "shipped"}).encode(), Content_Type="application/json"),
    request("GET", "/s/a/orders/A1"),
    request("HEAD", "/s/a/orders/A1"),
    request("GET", "/plain"),
    request("HEAD", "/plain"),
    request("GET", "/sized"),
    request("GET", "/sized", version="1.0"),
    request("DELETE", "/s/b/orders/A1"),
    request("GET", "/events"),
    request("GET", "/moved", X_Hudproxy_Session="c"),
    request("GET", "/not/recorded?token=secret"),
    request("GET", "/s/" + "x" * 200 + "/orders/A1"),
    request("GET", "/orders/A1", Connection="close"),
]


def answers(base_url: str, requests: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Each request on its own connection (a closing one ends it): (head, body) as the server wrote them."""
    found = []
    for raw in requests:
        with connected(base_url) as sock:
            sock.sendall(raw)
            head, _, body = Reader(sock).response(head_request=raw.startswith(b"HEAD"))
            found.append((head, body))
    return found


def test_the_fast_path_writes_the_bytes_uvicorn_writes_for_the_asgi_app(cassette: Path, tmp_path: Path) -> None:
    """Recorded, chunked-framed, 204, HEAD, streamed, redirected home, unmatched, refused and closing answers."""
    with Replay(cassette, server="asgi", journal=tmp_path / "asgi.db") as slow:
        expected = answers(slow.base_url, EXCHANGE)
    with Replay(cassette, server="fast", journal=tmp_path / "fast.db") as fast:
        got = answers(fast.base_url, EXCHANGE)
    for sent, want, have in zip(EXCHANGE, expected, got, strict=True):
        assert have == want, sent.split(b"\r\n")[0]
    statuses = [int(head.split()[1]) for head, _ in got]
    assert statuses == [200, 200, 200, 501, 200, 200, 200, 200, 204, 200, 302, 501, 400, 200]  # HEAD /orders: none


def test_plain_requests_are_answered_from_the_byte_cache(cassette: Path) -> None:
    app = create_replay_app(cassette)
    protocol = fast_protocol(app)
    with serve_in_thread(app, protocol=protocol) as base, connected(base) as sock:
        sock.sendall(request("GET", "/plain") + request("GET", "/orders/A1"))
        reader = Reader(sock)
        assert reader.response()[2] == b"no length recorded"
        assert json.loads(reader.response()[2]) == {"status": "pending"}
    assert set(protocol.wires.entries) == {0, 3}  # built once for each interaction served


def test_pipelined_requests_are_answered_in_order_around_admin_and_streams(cassette: Path, tmp_path: Path) -> None:
    with Replay(cassette, journal=tmp_path / "j.db") as replay, connected(replay.base_url) as sock:
        sock.sendall(
            request("GET", "/s/p/orders/A1")
            + request("GET", "/_hudproxy/sessions")
            + request("GET", "/events")
            + request("PATCH", "/s/p/orders/A1", json.dumps({"status": "shipped"}).encode())
            + request("GET", "/s/p/orders/A1")
            + request("POST", "/upload", BIG)
            + request("GET", "/plain")
        )
        reader = Reader(sock)
        bodies = [reader.response()[2] for _ in range(7)]
    assert json.loads(bodies[0]) == {"status": "pending"}
    assert "p" in json.dumps(json.loads(bodies[1]))
    assert bodies[2] == b"data: 1\n\ndata: 2\n\n"
    assert [json.loads(body) for body in bodies[3:5]] == [{"ok": True}, {"status": "shipped"}]
    assert bodies[5:] == [b"big ok", b"no length recorded"]


def test_the_journal_has_each_fast_answer_in_its_session(cassette: Path, tmp_path: Path) -> None:
    with Replay(cassette, journal=tmp_path / "j.db") as replay:
        session = replay.session("alice")
        with connected(replay.base_url) as sock:
            sock.sendall(request("GET", "/s/alice/orders/A1") + request("GET", "/nothing", X_Hudproxy_Session="alice"))
            reader = Reader(sock)
            statuses = [int(reader.response()[0].split()[1]) for _ in range(2)]
        calls = session.calls()
    assert statuses == [200, 501]
    assert [(c.method, c.path, c.status, c.matched) for c in calls] == [
        ("GET", "/orders/A1", 200, True),
        ("GET", "/nothing", 501, False),
    ]


def test_a_chunked_request_body_matches_its_recording(cassette: Path) -> None:
    with Replay(cassette) as replay, connected(replay.base_url) as sock:
        sock.sendall(request("POST", "/echo", chunked(b"hello chunks", 5), Transfer_Encoding="chunked"))
        sock.sendall(request("POST", "/upload", chunked(BIG, 7000), Transfer_Encoding="chunked"))  # grows heavy
        reader = Reader(sock)
        assert reader.response()[2] == b"echoed"
        assert reader.response()[2] == b"big ok"


def test_a_chunked_body_over_max_body_is_413(cassette: Path) -> None:
    with Replay(cassette, max_body=80 * 1024) as replay, connected(replay.base_url) as sock:
        sock.sendall(request("POST", "/upload", chunked(BIG, 7000), Transfer_Encoding="chunked"))
        head, _, body = Reader(sock).response()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["error"] == "body_too_large"


def test_expect_100_continue_gets_continue_then_the_answer(cassette: Path) -> None:
    body = b"hello chunks"
    with Replay(cassette) as replay, connected(replay.base_url) as sock:
        sock.sendall(request("POST", "/echo", Expect="100-continue", Content_Length=str(len(body))))
        reader = Reader(sock)
        assert reader._until(b"\r\n\r\n") == b"HTTP/1.1 100 Continue"
        sock.sendall(body)
        assert reader.response()[2] == b"echoed"


def test_http10_closes_unless_it_asks_for_keep_alive(cassette: Path) -> None:
    with Replay(cassette) as replay:
        with connected(replay.base_url) as sock:
            sock.sendall(request("GET", "/orders/A1", version="1.0"))
            reader = Reader(sock)
            _, headers, body = reader.response()
            assert headers[b"connection"] == b"close" and json.loads(body) == {"status": "pending"}
            assert reader.closed()
        with connected(replay.base_url) as sock:
            sock.sendall(request("GET", "/sized", version="1.0", Connection="keep-alive"))
            reader = Reader(sock)
            assert reader.response()[1:] == ({b"content-length": b"5", b"connection": b"keep-alive"}, b"sized")
            sock.sendall(request("GET", "/plain", version="1.0", Connection="keep-alive"))
            _, headers, body = reader.response()  # recorded without a length: no chunks for HTTP/1.0
            assert b"transfer-encoding" not in headers and body == b"no length recorded"
            assert reader.closed()


def test_of_two_session_headers_the_first_one_counts(cassette: Path, tmp_path: Path) -> None:
    """As the ASGI path reads it (the first X-Hudproxy-Session), so both paths journal the call alike."""
    twice = (
        b"GET /orders/A1 HTTP/1.1\r\nHost: api.test\r\nX-Hudproxy-Session: first\r\nX-Hudproxy-Session: second\r\n\r\n"
    )
    with Replay(cassette, journal=tmp_path / "j.db") as replay:
        first, second = replay.session("first"), replay.session("second")
        with connected(replay.base_url) as sock:
            sock.sendall(twice)
            assert json.loads(Reader(sock).response()[2]) == {"status": "pending"}
        assert [(c.method, c.path) for c in first.calls()] == [("GET", "/orders/A1")]
        assert second.calls() == []


def test_an_unknown_server_kind_is_one_line_and_exit_2(cassette: Path) -> None:
    done = subprocess.run(
        [HUDPROXY, "replay", str(cassette), "--server", "bogus", "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=wide_environment(), check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "hudproxy: unknown --server 'bogus'; valid values: fast, asgi."
