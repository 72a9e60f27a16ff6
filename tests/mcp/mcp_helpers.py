"""MCP test helpers: the real tools server over HTTP, recording and replay servers, and an agent script."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from hudproxy.cassette.files import save_cassette
from hudproxy.cassette.model import Cassette
from hudproxy.mcp.exchange import Exchange, to_interaction
from hudproxy.mcp.http import attach_mcp
from hudproxy.mcp.recorder import McpRecorder
from hudproxy.mcp.serve import recording_in_thread
from hudproxy.mcp.upstream import Upstream
from hudproxy.record.recorder import Recorder
from hudproxy.replay.asgi import ReplayApp
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import build_service, create_replay_app
from hudproxy.replay.service import ReplayService
from hudproxy.serving import serve_in_thread

TOOLS_SERVER = Path(__file__).with_name("tools_server.py")
STDIO_COMMAND = f"{sys.executable} {TOOLS_SERVER}"
HUDPROXY_MAIN = "import sys; from hudproxy.cli import main; main(sys.argv[1:])"
ERAS = ("auto", "legacy")  # the SDK client's default (2026-07-28, server/discover) and the initialize handshake


SCRIPT = [("get_balance", {}), ("charge_card", {"amount": 100}), ("get_balance", {}), ("search", {"query": "s"})]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HttpUpstream:
    """tools_server.py serving streamable HTTP in its own process, so a test can stop it for real."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def start_http_upstream() -> HttpUpstream:
    """tools_server.py --http on a free port, once it accepts connections."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(TOOLS_SERVER), "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return HttpUpstream(process, f"http://127.0.0.1:{port}/mcp")
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("tools_server.py --http did not start")
        time.sleep(0.05)


@contextlib.contextmanager
def recording(cassette: Path, upstream: Upstream, mode: str = "once") -> Iterator[str]:
    """A recording proxy in a thread; yields its /mcp URL. The cassette is flushed when the block ends."""
    recorder = Recorder(cassette, mode)
    try:
        with recording_in_thread(McpRecorder(recorder, upstream)) as url:
            yield url
    finally:
        recorder.close()


@contextlib.contextmanager
def replaying(cassette: Path, journal: Path | None = None) -> Iterator[tuple[str, ReplayApp]]:
    """HTTP replay with MCP mounted at /mcp, in a thread; yields (base URL, app)."""
    app = create_replay_app(cassette, ReplayOptions(journal=journal))
    assert attach_mcp(app) is not None
    with serve_in_thread(app) as base:
        yield base, app


def wire(value: Any) -> Any:
    """A result as wire JSON, for equality checks."""
    return value.model_dump(by_alias=True, mode="json", exclude_none=True)


async def agent(target: Any, mode: str) -> dict[str, Any]:
    """What an agent does and sees: identity, the tool list, a state-changing script, a resource and a prompt."""
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with Client(target, mode=mode, cache=None) as client:
        seen: dict[str, Any] = {
            "era": client.protocol_version,
            "server": wire(client.server_info),
            "instructions": client.instructions,
            "tools": wire(await client.list_tools()),
            "calls": [],
        }
        for name, arguments in SCRIPT:
            result = await client.call_tool(name, arguments, progress_callback=on_progress)
            seen["calls"].append(wire(result))
        seen["progress"] = progress
        seen["resource"] = wire(await client.read_resource("wallet://terms"))
        seen["prompt"] = wire(await client.get_prompt("refund_letter", {"customer": "Ann"}))
        return seen


def texts(seen: dict[str, Any]) -> list[str]:
    return [call["content"][0]["text"] for call in seen["calls"]]


@contextlib.contextmanager
def hudproxy_cli(
    *args: str, port: int, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """`hudproxy ARGS --port PORT` in the background until the port accepts; Ctrl-C (SIGINT) at the end. Yields
    the process and its output lines (filled once it stopped)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HUDPROXY_MAIN, *args, "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            break
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"hudproxy {' '.join(args)} did not start: {process.communicate()[0]}")
        time.sleep(0.05)
    try:
        yield process, output
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
        output.extend(out.splitlines())


def inspect_output(cassette: Path) -> str:
    """What `hudproxy inspect CASSETTE` prints on a 200-column terminal."""
    return subprocess.run(
        [sys.executable, "-c", HUDPROXY_MAIN, "inspect", str(cassette)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": ""},
        check=True,
    ).stdout


def stdio(*args: str) -> StdioServerParameters:
    """`hudproxy ARGS` as an MCP server over stdio (how an agent launches it); HUDPROXY_* settings pass through
    (the SDK gives a stdio server only a minimal environment), so its journal goes where the tests' does."""
    env = {k: v for k, v in os.environ.items() if k.startswith("HUDPROXY_")}
    return StdioServerParameters(command=sys.executable, args=["-c", HUDPROXY_MAIN, *args], env=env or None)


TOOLS = [
    {"name": "get_balance", "inputSchema": {"type": "object", "properties": {}}},
    {
        "name": "charge_card",
        "inputSchema": {"type": "object", "properties": {"amount": {"type": "integer"}}, "required": ["amount"]},
    },
    {"name": "audit_log", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}},
]
IDENTITY = {
    "protocolVersion": "2025-11-25",
    "serverInfo": {"name": "wallet-tools", "version": "1.2.3", "title": "Wallet"},
    "capabilities": {"tools": {"listChanged": True}},
    "instructions": "Check the balance first.",
}


def text_result(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


def call(server: str, tool: str, arguments: dict[str, Any], text: str, **more: Any) -> Exchange:
    return Exchange(server, "tools/call", {"name": tool, "arguments": arguments}, text_result(text), **more)


def wallet_exchanges(server: str = "wallet") -> list[Exchange]:
    """A recorded session written by hand: balance 500, a charge of 100, balance 400, one declined charge."""
    progress = [{"method": "notifications/progress", "params": {"progress": 1, "total": 2, "message": "half"}}]
    declined = {"code": -32603, "message": "card declined"}
    return [
        Exchange(server, "initialize", {}, IDENTITY),
        Exchange(server, "tools/list", {}, {"tools": TOOLS}),
        call(server, "get_balance", {}, "balance: 500", notifications=progress),
        call(server, "charge_card", {"amount": 100}, "charged 100"),
        call(server, "get_balance", {}, "balance: 400"),
        Exchange(server, "tools/call", {"name": "charge_card", "arguments": {"amount": 99999}}, None, declined),
    ]


def write_cassette(path: Path, exchanges: list[Exchange]) -> Path:
    return save_cassette(Cassette([to_interaction(e, i) for i, e in enumerate(exchanges)]), path)


def replay_service(path: Path, journal: Path | None = None) -> ReplayService:
    return build_service(path, ReplayOptions(journal=journal))
