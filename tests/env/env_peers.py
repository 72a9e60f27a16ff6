"""Real peers for the Environment SDK tests: an MCP server (official SDK), hudproxy as a subprocess."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]


class Forecast(BaseModel):
    city: str
    celsius: float
    sky: str


def weather_server() -> MCPServer:
    """A small real MCP server (official SDK): a structured tool, a text tool, and a tool named like the shop's."""
    server = MCPServer("weather", version="0.1.0")

    @server.tool()
    def forecast(city: str) -> Forecast:
        """Tomorrow's weather in a city."""
        return Forecast(city=city, celsius=21.5, sky="clear")

    @server.tool()
    def shout(text: str) -> str:
        """Upper-case a text."""
        return text.upper()

    @server.tool()
    def get_order(order_id: str) -> str:
        """A tool whose name clashes with the shop's."""
        return f"weather order {order_id}"

    return server


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def hudproxy_process(*args: str, cwd: Path = ROOT) -> Iterator[subprocess.Popen[str]]:
    """`hudproxy ARGS` as a subprocess (stderr piped for the test to read); stopped at exit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hudproxy.cli import main; main()", *args],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {proc.stderr.read() if proc.stderr else ''}")
        with contextlib.closing(socket.socket()) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listened on {port} within {timeout}s")
