"""Small socket helpers shared by the servers and the CLI."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from hudproxy.errors import ConfigError

REFUSED_ERRNOS = ("errno 111]", "errno 61]", "errno 10061]", "connection refused")
TLS_MARKERS = ("tls", "ssl", "certificate", "handshake")
DNS_MARKERS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo failed",
    "errno -2]",
    "errno -3]",
    "errno -5]",
    "errno 8]",
)


def failure_cause(message: str) -> str | None:
    """dns | refused | tls, read from a connection error's text (mitmproxy's, httpx's), or None if none fits."""
    lowered = message.lower()
    if any(marker in lowered for marker in DNS_MARKERS):
        return "dns"
    if any(marker in lowered for marker in REFUSED_ERRNOS):
        return "refused"
    if any(marker in lowered for marker in TLS_MARKERS):  # after those: a host name may hold "ssl"
        return "tls"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def ensure_port_free(host: str, port: int) -> None:
    """Fail before starting anything, with a message that says what to do."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"port {port} is out of range: a port is 1-65535; choose another --port.")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port.") from None


def wait_for_port(host: str, port: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def validate_target(target: str) -> str:
    """A target must be an absolute http(s) URL; the error shows one."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--target {target!r} is not an http(s) URL; use e.g. --target https://staging.example.com")
    return target.rstrip("/")
