"""A byte-level TCP relay that keeps what the client sent: to capture the exact requests an SDK client makes.

``with Tap(upstream_port) as tap:`` listens on a free loopback port and relays every connection to the
upstream unchanged; afterwards ``tap.requests()`` parses the client side of each connection into HTTP/1.1
requests (method, target, headers in order and spelling, body). Bodies must carry Content-Length (chunked
request bodies are refused rather than guessed at).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from dataclasses import dataclass
from types import TracebackType

from procs import HOST, BenchError


@dataclass(frozen=True)
class Captured:
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class Tap:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._streams: list[bytearray] = []
        self._lock = threading.Lock()
        tap = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sent = bytearray()
                with tap._lock:
                    tap._streams.append(sent)
                upstream = socket.create_connection((HOST, tap.upstream_port), timeout=30)
                back = threading.Thread(target=_pipe, args=(upstream, self.request, None), daemon=True)
                back.start()
                _pipe(self.request, upstream, sent)
                back.join(30)
                upstream.close()

        self._server = socketserver.ThreadingTCPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Tap:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests(self) -> list[Captured]:
        with self._lock:
            streams = [bytes(s) for s in self._streams]
        return [request for stream in streams for request in parse_requests(stream)]


def _pipe(src: socket.socket, dst: socket.socket, keep: bytearray | None) -> None:
    """Copy until EOF or error; then half-close the other side so it sees the end too."""
    try:
        while data := src.recv(65536):
            if keep is not None:
                keep.extend(data)
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def parse_requests(stream: bytes) -> list[Captured]:
    """Split one connection's client bytes into HTTP/1.1 requests."""
    out = []
    pos = 0
    while pos < len(stream):
        end = stream.find(b"\r\n\r\n", pos)
        if end < 0:
            raise BenchError(f"incomplete request head in the tap: {stream[pos : pos + 80]!r}")
        lines = stream[pos:end].decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = tuple((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]))
        lowered = {k.lower(): v for k, v in headers}
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            raise BenchError("the tap does not parse chunked request bodies")
        length = int(lowered.get("content-length", "0"))
        body = stream[end + 4 : end + 4 + length]
        out.append(Captured(method, target, headers, body))
        pos = end + 4 + length
    return out
