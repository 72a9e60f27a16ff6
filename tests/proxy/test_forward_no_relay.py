"""Forward-mode replay never opens a connection: after `CONNECT host:port`, bytes that are neither TLS nor
HTTP are refused, never relayed as raw TCP to the host named in the CONNECT (a real listening victim here).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from tls_upstream import AcceptCounter

from hudproxy.cassette.files import dumps_cassette
from hudproxy.netutil import free_port
from hudproxy.proxy.forward import forward_record, forward_replay
from hudproxy.record.recorder import Recorder
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

RAW_PROTOCOLS = [
    pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n", id="ssh-greeting"),
    pytest.param(b"\x00\x01\x02\x03binary\xff\xfe\n", id="binary"),
    pytest.param(b"*1\r\n$4\r\nPING\r\n", id="redis"),
    pytest.param(b"HELO\r\n", id="one-word-line"),
]


def cassette_for(tmp_path: Path, port: int) -> Path:
    """A cassette that recorded the victim's own host and port: the CONNECT names a recorded host."""
    request = make_request("GET", f"http://127.0.0.1:{port}/ping")
    path = tmp_path / "victim.yaml"
    path.write_bytes(dumps_cassette(make_cassette([make_interaction(request, make_response(body=b"pong"))]), False))
    return path


def connect_then_send(proxy_url: str, port: int, payload: bytes, wait_s: float = 3) -> tuple[bytes, bytes, bool]:
    """CONNECT to the victim through the proxy, then raw bytes.

    Returns the CONNECT answer, what came after, and whether the proxy closed the connection within `wait_s`.
    """
    host, proxy_port = proxy_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(proxy_port)), timeout=5) as sock:
        sock.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        answer = sock.recv(4096)
        sock.sendall(payload)
        after, closed = b"", False
        deadline = time.monotonic() + wait_s
        sock.settimeout(0.25)
        while time.monotonic() < deadline and not closed:
            try:
                piece = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                piece = b""
            after += piece
            closed = not piece
        return answer, after, closed


@pytest.mark.parametrize("payload", RAW_PROTOCOLS)
def test_raw_bytes_after_connect_never_reach_the_victim(payload: bytes, hudproxy_ca: Path, tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    victim = AcceptCounter(port)
    try:
        with forward_replay(build_service(cassette_for(tmp_path, port), ReplayOptions(forward=True))) as proxy:
            answer, after, closed = connect_then_send(proxy, port, payload)
            time.sleep(0.3)  # a relay would have connected right after the first bytes
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert victim.accepted == 0, "replay opened a connection to the host named in CONNECT"
        assert closed and after == b"", "the client's connection is closed at once, nothing relayed"
    finally:
        victim.close()


def test_plain_http_inside_connect_is_still_answered_from_the_cassette(hudproxy_ca: Path, tmp_path: Path) -> None:
    port = free_port("127.0.0.1")
    victim = AcceptCounter(port)
    try:
        with forward_replay(build_service(cassette_for(tmp_path, port), ReplayOptions(forward=True))) as proxy:
            request = f"GET /ping HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
            _, after, _ = connect_then_send(proxy, port, request)
        assert victim.accepted == 0
        assert after.startswith(b"HTTP/1.1 200") and after.endswith(b"pong"), after
    finally:
        victim.close()


class ListeningVictim:
    """Accepts connections and keeps every byte it receives (a recorder may connect, but relay nothing raw)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(3)
            try:
                while piece := conn.recv(4096):
                    self.received += piece
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("payload", RAW_PROTOCOLS[:2])
def test_the_recorder_relays_no_raw_bytes_to_a_recorded_host(payload: bytes, hudproxy_ca: Path, tmp_path: Path) -> None:
    """What cannot be recorded is not relayed: raw TCP to an intercepted host would be a hole in the cassette."""
    victim = ListeningVictim()
    try:
        recorder = Recorder(tmp_path / "raw.yaml", "all", proxy_mode="forward")
        with forward_record(recorder, allow_hosts=["127.0.0.1"]) as proxy:
            connect_then_send(proxy, victim.port, payload, wait_s=1)
        time.sleep(0.2)
    finally:
        victim.close()
    assert payload not in victim.received
