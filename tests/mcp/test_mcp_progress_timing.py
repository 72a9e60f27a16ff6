"""MCP progress notifications keep their pace: recorded with when each arrived (ms after the call started) and
replayed at those offsets with `--stream-timing`, as an HTTP stream's chunks are; at once without it.

A real SDK server that pauses between progress reports, recorded over streamable HTTP and over stdio, replayed
over both; a real `mcp` client with a progress callback measures when each notification arrives.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_helpers import recording, stdio

from hudproxy.cassette import load_cassette
from hudproxy.interaction.mcp import from_interaction
from hudproxy.mcp.http import attach_mcp
from hudproxy.mcp.upstream import Upstream
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread

SERVER = Path(__file__).with_name("progress_server.py")
PAUSES_MS = (300, 500, 400)  # progress_server.PAUSES: reports about 300, 800 and 1,200 ms into the call
LIVE_MS = [sum(PAUSES_MS[: n + 1]) for n in range(len(PAUSES_MS))]
EARLY_MS = 30  # a replayed notification may not come sooner than recorded, beyond clock granularity
LATE_MS = 600  # nor much later (generous: two cores are shared by many test runs)


async def arrivals(target: Any, mode: str = "auto") -> tuple[str, list[float]]:
    """Call the tool; ms after the call started at which each progress notification reached the client."""
    seen: list[float] = []
    async with Client(target, mode=mode, cache=None) as client:
        started = time.perf_counter()

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            seen.append((time.perf_counter() - started) * 1000)

        result = await client.call_tool("export_report", {"name": "q3"}, progress_callback=on_progress)
    return result.content[0].text, seen  # type: ignore[union-attr]


@contextlib.contextmanager
def http_server() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not _accepts(port):
            assert process.poll() is None and time.monotonic() < deadline, "progress_server.py did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


@contextlib.contextmanager
def http_replay(cassette: Path, stream_timing: bool) -> Iterator[str]:
    app = create_replay_app(cassette, ReplayOptions(stream_timing=stream_timing))
    assert attach_mcp(app) is not None
    with serve_in_thread(app) as base:
        yield f"{base}/mcp"


def recorded_offsets(cassette: Path) -> list[float]:
    (call,) = [from_interaction(i) for i in load_cassette(cassette).interactions if "export_report" in i.request.url]
    assert len(call.notifications) == len(PAUSES_MS)
    return call.notification_ms


def assert_paced(replayed: list[float], recorded: list[float]) -> None:
    assert len(replayed) == len(recorded)
    for got, want in zip(replayed, recorded, strict=True):
        assert want - EARLY_MS <= got <= want + LATE_MS, (replayed, recorded)


def assert_at_once(replayed: list[float], recorded: list[float]) -> None:
    assert len(replayed) == len(recorded)
    span, recorded_span = replayed[-1] - replayed[0], recorded[-1] - recorded[0]
    assert span < recorded_span / 3, (replayed, recorded)


def test_progress_recorded_over_http_keeps_its_pace_in_http_replay(tmp_path: Path) -> None:
    cassette = tmp_path / "reports.yaml"
    with http_server() as url, recording(cassette, Upstream(url=url), mode="all") as front:
        text, live = anyio.run(arrivals, front)
    recorded = recorded_offsets(cassette)
    assert text == "report q3: 3 pages"
    for got, paused in zip(recorded, LIVE_MS, strict=True):
        assert got >= paused - EARLY_MS, recorded  # as the server paused, measured at the recorder
    assert "notification_ms" in cassette.read_text()
    with http_replay(cassette, stream_timing=True) as url:
        assert_paced(anyio.run(arrivals, url)[1], recorded)
    with http_replay(cassette, stream_timing=False) as url:
        replayed_text, at_once = anyio.run(arrivals, url)
    assert replayed_text == text
    assert_at_once(at_once, recorded)
    assert live[-1] >= LIVE_MS[-1] - EARLY_MS


@pytest.mark.parametrize("era", ["auto", "legacy"])
def test_progress_recorded_over_stdio_keeps_its_pace_in_stdio_replay(tmp_path: Path, era: str) -> None:
    cassette = tmp_path / "reports.yaml"
    command = f"{sys.executable} {SERVER}"
    front = stdio("record", "--mcp-command", command, "--cassette", str(cassette), "--stdio", "--record-mode", "all")
    text, _ = anyio.run(arrivals, front, era)
    recorded = recorded_offsets(cassette)
    assert text == "report q3: 3 pages"
    for got, paused in zip(recorded, LIVE_MS, strict=True):
        assert got >= paused - EARLY_MS, recorded
    timed = stdio("replay", str(cassette), "--stdio", "--no-journal", "--stream-timing")
    assert_paced(anyio.run(arrivals, timed, era)[1], recorded)
    at_once = stdio("replay", str(cassette), "--stdio", "--no-journal")
    assert_at_once(anyio.run(arrivals, at_once, era)[1], recorded)
