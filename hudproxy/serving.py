"""Running ASGI apps with uvicorn: in the foreground (CLI) or in a background thread (Python API, tests).

uvicorn's own Date/Server headers are off so replayed headers are exactly the recorded ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


def server_config(
    app: Any, host: str, port: int, log_level: str = "warning", protocol: type[asyncio.Protocol] | None = None
) -> uvicorn.Config:
    """uvicorn's settings; `protocol`: the HTTP protocol class (the replay fast path), else httptools'."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        lifespan="auto",
        http=protocol or "httptools",
        loop="uvloop",
        timeout_keep_alive=30,
        backlog=4096,  # many clients connecting at once (bench/connections_bench.py: 10,000) are not refused
    )


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket created up front, so port 0 yields a known free port before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class ForegroundServer(uvicorn.Server):
    """uvicorn re-raises the signal that stopped it, so a clean SIGTERM shutdown exits 143; a server stopped on
    purpose (`docker stop`, a supervisor) that flushed everything exits 0 here. Ctrl-C still raises."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals = [s for s in self._captured_signals if s != signal.SIGTERM]


def raise_fd_limit() -> int:
    """Lift this process's open-file limit (soft) to its hard limit: each client connection holds a file
    descriptor, and the common soft default (1,024) would refuse the 1,025th concurrent connection. Returns
    the limit now in force."""
    try:
        import resource
    except ImportError:  # not on POSIX: nothing to raise
        return -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        return soft
    return wanted


def serve_forever(
    app: Any, host: str, port: int, log_level: str = "warning", protocol: type[asyncio.Protocol] | None = None
) -> None:
    """Foreground server for the CLI (its fd limit raised first); returns on Ctrl-C / SIGTERM after a clean
    shutdown."""
    raise_fd_limit()
    ForegroundServer(server_config(app, host, port, log_level, protocol)).run()


@contextlib.contextmanager
def serve_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    timeout: float = 10.0,
    protocol: type[asyncio.Protocol] | None = None,
) -> Iterator[str]:
    """Run `app` on a background thread; yields its base URL and stops it on exit."""
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    config = server_config(app, host, bound_port, protocol=protocol)
    config.loop = "asyncio"
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="hudproxy-server")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{bound_port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()
