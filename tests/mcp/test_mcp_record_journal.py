"""Recording journals every MCP call, and links the HTTP a tool server sends through hudproxy to the tool call.

Real parts only: `hudproxy record` as a subprocess, the stdio tool server `api_tools_server.py` (official SDK)
calling a real HTTP API on 127.0.0.1, an SDK client as the agent, SQLite journals read back through
`read_calls` and `hudproxy journal`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_helpers import HUDPROXY_MAIN, free_port, hudproxy_cli, stdio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hudproxy.cassette.files import load_cassette
from hudproxy.journal.query import Call, CallList, read_calls
from hudproxy.mcp.exchange import is_mcp
from hudproxy.serving import serve_in_thread

API_TOOLS_SERVER = Path(__file__).with_name("api_tools_server.py")
TOOLS_COMMAND = f"{sys.executable} {API_TOOLS_SERVER}"


def shop_api() -> Starlette:
    """The tool server's API: orders that can be read (optionally slowly) and patched; it counts its hits."""
    orders = {"A1": {"id": "A1", "status": "pending"}, "A2": {"id": "A2", "status": "pending"}}
    hits: list[str] = []

    async def order(request: Request) -> JSONResponse:
        hits.append(f"{request.method} {request.url.path}")
        if "delay" in request.query_params:
            await asyncio.sleep(float(request.query_params["delay"]))
        found = orders[request.path_params["order_id"]]
        if request.method == "PATCH":
            found.update(await request.json())
        return JSONResponse(found)

    app = Starlette(routes=[Route("/orders/{order_id}", order, methods=["GET", "PATCH"])])
    app.state.hits = hits
    return app


async def agent_script(target: Any) -> list[str]:
    """One call, a call making two requests, two calls at once, then one more call alone."""
    async with Client(target, mode="auto", cache=None) as client:

        async def call(tool: str, **arguments: Any) -> str:
            result = await client.call_tool(tool, arguments)
            return result.content[0].text  # type: ignore[union-attr]

        seen = [await call("get_order", order_id="A1"), await call("ship_order", order_id="A1")]
        seen += await asyncio.gather(call("slow_order", order_id="A1"), call("slow_order", order_id="A2", wait=0.35))
        seen.append(await call("slow_order", order_id="A2", wait=0.0))
        return seen


def free_port_pair() -> int:
    """A free port P with P+1 free too: the HTTP recorder's default port beside MCP's."""
    while True:
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


@contextlib.contextmanager
def hudproxy_record(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[int, list[str]]]:
    """`hudproxy record ARGS --port P` in the background until /mcp accepts; Ctrl-C at the end. Yields (P, output
    lines, filled once it stopped)."""
    port = free_port_pair()
    with hudproxy_cli("record", *args, port=port, cwd=cwd, env=env) as (_, output):
        yield port, output


@dataclass
class Recorded:
    folder: Path
    cassette: Path
    journal: Path
    seen: list[str]
    output: str
    api_hits: list[str]
    port: int

    def calls(self) -> CallList:
        return read_calls(self.journal, session="recording")


def tool_call(calls: CallList, tool: str, nth: int = 0) -> Call:
    return [c for c in calls if c.kind == "mcp" and c.path == f"/tools/call/{tool}"][nth]


def children(calls: CallList, parent: Call) -> list[str]:
    return [f"{c.method} {c.path}" for c in calls if c.parent == parent.seq]


def record_run(folder: Path, *mode_args: str, env: dict[str, str] | None = None) -> Recorded:
    cassette, journal = folder / "shop-tools.yaml", folder / "journal.db"
    args = ["--mcp-command", TOOLS_COMMAND, *mode_args, "--cassette", str(cassette), "--journal", str(journal)]
    with serve_in_thread(api := shop_api()) as api_url:
        env = {**(env or os.environ), "SHOP_API": api_url}
        args = [a.replace("{api}", api_url) for a in args]
        with hudproxy_record(folder, *args, env=env) as (port, output):
            seen = anyio.run(agent_script, f"http://127.0.0.1:{port}/mcp")
    return Recorded(folder, cassette, journal, seen, "\n".join(output), api.state.hits, port)


@pytest.fixture(scope="module")
def reverse(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """`--target API`: the tool server gets HUDPROXY_HTTP_URL and sends its API calls there."""
    return record_run(tmp_path_factory.mktemp("reverse"), "--target", "{api}")


def test_every_mcp_call_is_a_journal_row_in_session_recording(reverse: Recorded) -> None:
    calls = reverse.calls()
    mcp = [c for c in calls if c.kind == "mcp"]
    tools = [c.path.rsplit("/", 1)[1] for c in mcp if c.path.startswith("/tools/call/")]
    assert sorted(tools) == sorted(["get_order", "ship_order", "slow_order", "slow_order", "slow_order"])
    first = tool_call(calls, "get_order")
    assert first.method == "MCP" and first.url == "mcp://shop-tools/tools/call/get_order"
    assert first.json == {"order_id": "A1"} and first.status == 200 and first.matched
    assert json.loads(first.response_body or "")["result"]["content"][0]["text"] == reverse.seen[0]
    recorded = load_cassette(reverse.cassette).interactions[first.interaction]  # type: ignore[index]
    assert recorded.request.url == first.url  # the row names the interaction it recorded


def test_mcp_and_http_rows_share_one_seq_counter(reverse: Recorded) -> None:
    calls = reverse.calls()
    assert {c.kind for c in calls} == {"mcp", "http"}
    assert sorted(c.seq for c in calls) == list(range(1, len(calls) + 1))


def test_http_sent_by_a_tool_call_links_to_it(reverse: Recorded) -> None:
    calls = reverse.calls()
    get_order, ship_order = tool_call(calls, "get_order"), tool_call(calls, "ship_order")
    assert children(calls, get_order) == ["GET /orders/A1"]
    assert children(calls, ship_order) == ["GET /orders/A1", "PATCH /orders/A1"]
    assert all(c.seq > ship_order.seq for c in calls if c.parent == ship_order.seq)  # numbered when it started
    alone = tool_call(calls, "slow_order", 2)  # the last call, made alone
    assert children(calls, alone) == ["GET /orders/A2"]
    assert not [c for c in calls if c.kind == "mcp" and c.parent is not None]  # the agent's own calls


def test_http_during_two_tool_calls_in_flight_is_left_unlinked(reverse: Recorded) -> None:
    calls = reverse.calls()
    parallel = [tool_call(calls, "slow_order", 0), tool_call(calls, "slow_order", 1)]
    assert all(children(calls, p) == [] for p in parallel)
    slow_reads = [c for c in calls if c.kind == "http" and c.query == "delay=0.5"]
    assert len(slow_reads) == 3
    assert sum(c.parent is None for c in slow_reads) == 2  # the two sent while both calls ran: ambiguous


def test_one_cassette_holds_the_mcp_exchanges_and_the_http_they_caused(reverse: Recorded) -> None:
    assert reverse.seen[1] == '{"id":"A1","status":"shipped","carrier":"ups"}'
    assert reverse.api_hits.count("PATCH /orders/A1") == 1  # the real API answered
    interactions = load_cassette(reverse.cassette).interactions
    http = [i for i in interactions if not is_mcp(i)]
    assert [f"{i.request.method} {i.request.path}" for i in http][:3] == [
        "GET /orders/A1",
        "GET /orders/A1",
        "PATCH /orders/A1",
    ]
    assert any(is_mcp(i) and i.request.path == "/tools/call/ship_order" for i in interactions)
    assert f"HUDPROXY_HTTP_URL=http://127.0.0.1:{reverse.port + 1}" in reverse.output  # the default: PORT+1
    assert "stopped: " in reverse.output


def test_journal_command_shows_the_link(reverse: Recorded) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", HUDPROXY_MAIN, "journal", "--db", str(reverse.journal), "--session", "recording"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    ship = tool_call(reverse.calls(), "ship_order")
    patch = [line for line in shown.stdout.splitlines() if "PATCH" in line]
    assert len(patch) == 1 and f"← #{ship.seq}" in patch[0]
    assert "parent" in shown.stdout


def test_forward_mode_gives_the_tool_server_a_proxy_and_links_the_same_way(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "http_proxy", "https_proxy")}
    env["HUDPROXY_CA_DIR"] = str(tmp_path / "ca")
    recorded = record_run(tmp_path, "--mode", "forward", "--allow-host", "127.0.0.1", env=env)
    calls = recorded.calls()
    assert children(calls, tool_call(calls, "ship_order")) == ["GET /orders/A1", "PATCH /orders/A1"]
    http = [i for i in load_cassette(recorded.cassette).interactions if not is_mcp(i)]
    assert len(http) == 6 and all(i.request.url.startswith("http://127.0.0.1:") for i in http)
    assert (tmp_path / "ca" / "hudproxy-ca-cert.pem").exists()  # the CA the tool server was told to trust


def test_stdio_front_with_http_recorder(tmp_path: Path) -> None:
    """An agent launches `hudproxy record --stdio` itself; the HTTP recorder must not write to stdout."""
    cassette, journal, http_port = tmp_path / "c.yaml", tmp_path / "j.db", free_port()
    with serve_in_thread(shop_api()) as api_url:
        recording = stdio(
            "record", "--mcp-command", TOOLS_COMMAND, "--target", api_url, "--http-port", str(http_port),
            "--cassette", str(cassette), "--journal", str(journal), "--stdio",
        )  # fmt: skip
        seen = anyio.run(agent_script, recording)
    assert seen[0] == '{"id":"A1","status":"pending"}'
    calls = read_calls(journal, session="recording")
    assert children(calls, tool_call(calls, "get_order")) == ["GET /orders/A1"]


def test_a_second_recording_into_the_same_journal_continues_the_numbering(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    first = record_run(tmp_path / "one", "--target", "{api}")
    before = len(first.calls())
    (tmp_path / "two").mkdir()
    cassette = tmp_path / "two" / "c.yaml"
    with serve_in_thread(shop_api()) as api_url:
        args = ["--mcp-command", TOOLS_COMMAND, "--target", api_url, "--cassette", str(cassette)]
        with hudproxy_record(tmp_path, *args, "--journal", str(first.journal)) as (port, _):
            anyio.run(agent_script, f"http://127.0.0.1:{port}/mcp")
    calls = read_calls(first.journal, session="recording")
    assert sorted(c.seq for c in calls) == list(range(1, len(calls) + 1)) and len(calls) == 2 * before
    second_ship = tool_call(calls, "ship_order", 1)
    assert second_ship.seq > before
    assert children(calls, second_ship) == ["GET /orders/A1", "PATCH /orders/A1"]


def test_no_journal_writes_none(tmp_path: Path) -> None:
    cassette = tmp_path / "c.yaml"
    with serve_in_thread(shop_api()) as api_url:
        args = ["--mcp-command", TOOLS_COMMAND, "--target", api_url, "--cassette", str(cassette), "--no-journal"]
        with hudproxy_record(tmp_path, *args) as (port, _):
            anyio.run(agent_script, f"http://127.0.0.1:{port}/mcp")
    assert len(load_cassette(cassette).interactions) > 6
    assert not (tmp_path / ".hudproxy").exists()
