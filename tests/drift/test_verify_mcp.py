"""`hudproxy verify` for MCP: a real server recorded at release 1, verified at release 2 over stdio and over
streamable HTTP: tools added and removed, a schema changed, a description changed, read-only calls re-run."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from drift_helpers import ENV, by_request, hudproxy, verify_json
from mcp import Client

from hudproxy.cassette.files import load_cassette
from hudproxy.interaction.mcp import from_interaction
from hudproxy.mcp.recorder import McpRecorder
from hudproxy.mcp.serve import recording_in_thread
from hudproxy.mcp.upstream import Upstream
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.record.recorder import Recorder

SERVER = Path(__file__).with_name("drift_tools_server.py")
COMMAND = f"{sys.executable} {SERVER}"


async def agent(url: str) -> None:
    async with Client(url, cache=None) as client:
        await client.list_tools()
        await client.call_tool("get_order", {"order_id": "A1"})
        await client.call_tool("list_orders", {})
        await client.call_tool("order_count", {})
        await client.call_tool("server_time", {})
        await client.call_tool("cancel_order", {"order_id": "A2"})


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    cassette = tmp_path / "desk.yaml"
    recorder = Recorder(cassette, "all")
    try:
        with recording_in_thread(McpRecorder(recorder, Upstream(command=COMMAND))) as url:
            anyio.run(agent, url)
    finally:
        recorder.close()
    return cassette


@contextlib.contextmanager
def http_release_2() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(SERVER), "--http", str(port)], env={**ENV, "RELEASE": "2"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        assert wait_for_port("127.0.0.1", port, timeout=20), "the MCP server did not listen"
        time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


@contextlib.contextmanager
def release_2(transport: str) -> Iterator[list[str]]:
    if transport == "stdio":
        yield ["--mcp-command", COMMAND]
    else:
        with http_release_2() as url:
            yield ["--mcp-url", url]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_release_2_is_breaking_tool_by_tool(recorded: Path, transport: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENV, "RELEASE", "2")
    with release_2(transport) as options:
        code, report = verify_json(recorded, *options)
    assert code == 1 and report["breaking"]
    tools = {t["tool"]: t for t in report["tools"]}
    assert tools["list_orders"]["kind"] == "removed" and tools["list_orders"]["breaking"]
    assert tools["refund_order"]["kind"] == "added" and not tools["refund_order"]["breaking"]
    get_order = tools["get_order"]
    assert get_order["kind"] == "changed" and get_order["breaking"]
    assert get_order["description"] == [
        "Fetch one order by id.",
        "Fetch one order by id, with its total as a decimal string.",
    ]
    output = {c["pointer"]: c for c in get_order["output_schema"]}
    assert output["/properties/total/type"]["breaking"]
    inputs = {c["pointer"]: c for c in get_order["input_schema"]}
    assert set(inputs) == {"/properties/verbose"} and not inputs["/properties/verbose"]["breaking"]
    assert "order_count" not in tools and "cancel_order" not in tools
    calls = by_request(report)
    assert calls["tools/call get_order"]["verdict"] == "breaking"
    changed = {c["pointer"]: c["kind"] for c in calls["tools/call get_order"]["body"]}
    assert changed["/result/structuredContent/total"] == "type_changed"
    assert calls["tools/call list_orders"]["verdict"] == "breaking"  # the tool is gone: an error now
    assert calls["tools/call order_count"]["verdict"] == "same"
    assert calls["tools/call cancel_order"]["verdict"] == "skipped"


def test_the_same_release_verifies_clean_once_its_clock_is_learned(recorded: Path) -> None:
    code, report = verify_json(recorded, "--mcp-command", COMMAND)
    assert code == 0 and report["tools"] == []
    verdicts = {i["request"]: i["verdict"] for i in report["interactions"]}
    assert verdicts.pop("tools/call server_time") == "drifted" and set(verdicts.values()) == {"same", "skipped"}
    code, report = verify_json(recorded, "--mcp-command", COMMAND, "--learn-volatile")
    assert code == 0 and {i["verdict"] for i in report["interactions"]} == {"same", "skipped"}
    learned = report["learned"]["by_request"]
    assert set(learned) == {"tools/call server_time"}  # scoped: the other tools' text is still compared
    assert "/result/structuredContent/now" in learned["tools/call server_time"]


def test_update_takes_the_new_tool_list(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENV, "RELEASE", "2")
    code, report = verify_json(recorded, "--mcp-command", COMMAND, "--update")
    assert code == 0 and report["updated"] >= 2
    listings = [from_interaction(i) for i in load_cassette(recorded).interactions]
    names = {t["name"] for e in listings if e.method == "tools/list" for t in e.result["tools"]}
    assert "refund_order" in names and "list_orders" not in names
    code, again = verify_json(recorded, "--mcp-command", COMMAND)
    assert code == 0 and again["tools"] == [] and again["counts"]["breaking"] == 0  # the cassette is release 2 now


def test_an_mcp_cassette_without_a_server_says_how(recorded: Path) -> None:
    done = hudproxy("verify", recorded, "--json")
    assert done.returncode == 0 and "--mcp-command" in done.stdout


def test_an_mcp_server_that_does_not_start_is_one_line(recorded: Path, tmp_path: Path) -> None:
    done = hudproxy("verify", recorded, "--mcp-command", f"{sys.executable} {tmp_path / 'missing.py'}")
    ours = [line for line in done.stderr.splitlines() if line.startswith("hudproxy")]  # the server's own stderr too
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(ours) == 1 and "could not ask the MCP server" in ours[0], done.stderr


def test_the_rich_tables_name_the_tool_changes(recorded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(ENV, "RELEASE", "2")
    done = hudproxy("verify", recorded, "--mcp-command", COMMAND)
    assert done.returncode == 1, done.stderr
    for fragment in ("removed (breaking)", "! description: 'Fetch one order by id.'", "output ~ /properties/total/type",
                     "tools/call cancel_order", "3 tools changed (2 breaking, 1 descriptions changed)"):  # fmt: skip
        assert fragment in done.stdout, done.stdout
