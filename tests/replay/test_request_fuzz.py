"""A hypothesis fuzz of the request path: odd methods, paths with raw and percent-encoded bytes, odd header names
and values, bodies of every kind under every Content-Encoding (valid, truncated, bombs), JSON nested deep, sent
as raw bytes over a real socket to the replay server (admin API and MCP attached, as `Replay` serves them).

Every answer must be a well-formed HTTP response with status < 500, or the deliberate 501 with its JSON error,
and the server must log no traceback and no error.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import socket
import zlib
from collections.abc import Iterator

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hudproxy.api.replay import Replay
from hudproxy.cassette.files import dumps_cassette
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

pytestmark = pytest.mark.usefixtures("replay_server")

MAX_BODY = 256 * 1024
LOGGERS = ("uvicorn", "uvicorn.error", "asyncio", "hudproxy", "hudproxy.journal")

token = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!#$%&'*+^`|~", min_size=1)
raw_bytes = st.binary(max_size=40)
URL_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@%"
path_piece = st.one_of(
    st.sampled_from(["orders", "orders/A1", "health", "_hudproxy", "_hudproxy/sessions", "mcp", "s", "..", "%2e%2e"]),
    st.text(alphabet=URL_SAFE, max_size=12),
    raw_bytes.map(lambda b: "".join(f"%{x:02X}" for x in b)),
)
odd_path_piece = st.text(alphabet=st.characters(codec="latin-1", exclude_characters=" \r\n?#"), max_size=12)
session_prefix = st.one_of(
    st.sampled_from(["", "", "/s/alice", "/s/bob-2"]), st.sampled_from(["/s/" + "x" * 200, "/s/%00", "/s/a%2Fb", "/s/"])
)


def compress(encoding: str, data: bytes) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    if encoding == "br":
        return brotli.compress(data)
    if encoding == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


DEPTHS = st.sampled_from([1, 50, 199, 201, 900, 3_000, 120_000])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
plain_bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=2000),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(json.dumps({"sku": "SKU-1", "qty": 2}).encode()),
    DEPTHS.map(lambda n: b"[" * n + b"]" * n),
    DEPTHS.map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.sampled_from([b"\x00" * 4_000_000, b"a=1&access_token=x&b=%ZZ", b"\xff\xfe{", b'{"a": "\\ud800"}']),
)
encodings = st.sampled_from(["", "identity", "gzip", "x-gzip", "deflate", "br", "zstd", "gzip, br", "compress", "GZIP"])


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    encoding = draw(encodings)
    data = compress(encoding.split(",")[0].strip().lower(), draw(plain_bodies))
    mangle = draw(st.sampled_from(["none", "none", "truncate", "flip"]))
    if mangle == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif mangle == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    return encoding, data


header_values = st.one_of(
    st.text(alphabet=st.characters(codec="latin-1", min_codepoint=0x20, exclude_characters="\x7f"), max_size=30),
    st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/event-stream", "gzip", "Bearer x"]),
)
odd_header_values = st.one_of(  # control characters, CR or LF alone: the HTTP parser's business (400)
    st.text(alphabet=st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=30),
    st.sampled_from(["a\rb", "x\ny", "\x00", "v\r\nInjected: 1"]),
)
header_names = st.one_of(
    st.sampled_from(["Content-Type", "X-Hudproxy-Session", "Authorization", "Cookie", "Accept-Encoding", "Expect"]),
    token,
)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    odd = draw(st.integers(0, 9)) == 0  # one request in ten is malformed HTTP; the rest reach the replay app
    methods = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    method = draw(st.one_of(methods, token) if odd else methods)
    pieces = st.lists(st.one_of(path_piece, odd_path_piece) if odd else path_piece, max_size=4)
    path = draw(session_prefix) + "/" + "/".join(draw(pieces))
    if draw(st.booleans()):
        path += "?" + draw(st.text(alphabet=URL_SAFE + "?/[]", max_size=30))
    encoding, body = draw(bodies())
    values = st.one_of(header_values, odd_header_values) if odd else header_values
    headers = [(n, v) for n, v in draw(st.lists(st.tuples(header_names, values), max_size=5))]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    chunked = draw(st.booleans()) and bool(body)
    head = f"{method} {path} HTTP/1.1\r\nHost: api.test\r\n".encode("latin-1")
    for name, value in headers:
        head += name.encode("latin-1") + b": " + value.encode("latin-1") + b"\r\n"
    if chunked:
        head += b"Transfer-Encoding: chunked\r\n"
        framed = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in _parts(body)) + b"0\r\n\r\n"
    else:
        head += f"Content-Length: {len(body)}\r\n".encode()
        framed = body
    return head + b"Connection: close\r\n\r\n" + framed


def _parts(body: bytes, size: int = 65536) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def exchange(base_url: str, request: bytes) -> bytes:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # answered (413) before the body went out
            sock.sendall(request)
        answer = b""
        while piece := _recv(sock):
            answer += piece
        return answer


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except ConnectionResetError:
        return b""


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.bad.append(self.format(record) + (f"\n{record.exc_info[1]!r}" if record.exc_info else ""))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Replay, Collector]]:
    folder = tmp_path_factory.mktemp("fuzz")
    interactions = [
        make_interaction(make_request("GET", "http://api.test/health"), make_response(json={"ok": True})),
        make_interaction(
            make_request("POST", "http://api.test/orders", json={"sku": "SKU-1", "qty": 2}),
            make_response(201, json={"id": "A1"}),
        ),
        make_interaction(make_request("GET", "http://api.test/orders/A1"), make_response(body=b"pending")),
    ]
    path = folder / "fuzz.yaml"
    path.write_bytes(dumps_cassette(make_cassette(interactions), False))
    collector = Collector()
    with Replay(path, journal=folder / "journal.db", max_body=MAX_BODY) as replay:
        for name in LOGGERS:
            logging.getLogger(name).addHandler(collector)
        try:
            yield replay, collector
        finally:
            for name in LOGGERS:
                logging.getLogger(name).removeHandler(collector)


SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=SLOW_IS_FINE)
@given(request=raw_requests())
def test_every_request_gets_a_deliberate_answer(server: tuple[Replay, Collector], request: bytes) -> None:
    replay, collector = server
    collector.bad.clear()
    answer = exchange(replay.base_url, request)
    replay.server.settle()  # the journal has written this call: its errors show up in this example
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 ") and status_line[9:12].isdigit(), answer[:200]
    status = int(status_line[9:12])
    if status >= 500:
        assert status == 501, answer[:500]
        if not request.startswith(b"HEAD "):
            assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "not_available"
    assert not collector.bad, collector.bad
