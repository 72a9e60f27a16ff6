"""MCP exchanges through HAR: exported as the JSON-RPC POSTs they are, imported back as the same exchanges (a
mixed cassette keeps every interaction, an MCP-only one imports), and a real MCP client replays the import."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from test_har import cassette_of_every_body

from hudproxy.cassette import load_cassette, save_cassette
from hudproxy.errors import CassetteError
from hudproxy.interaction.mcp import Exchange, from_interaction, is_mcp, to_interaction
from hudproxy.interchange import export_cassette, import_file
from hudproxy.mcp.http import attach_mcp
from hudproxy.replay.server import create_replay_app
from hudproxy.scrub import ScrubPolicy
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette

IDENTITY = {
    "protocolVersion": "2025-11-25",
    "serverInfo": {"name": "wallet", "version": "1.0"},
    "capabilities": {"tools": {}},
}
TOOLS = [
    {"name": "get_balance", "inputSchema": {"type": "object", "properties": {}}},
    {"name": "charge_card", "inputSchema": {"type": "object", "properties": {"amount": {"type": "integer"}}}},
]
PROGRESS = [
    {"method": "notifications/progress", "params": {"progress": 1, "total": 2, "message": "half"}},
    {"method": "notifications/progress", "params": {"progress": 2, "total": 2, "message": "done"}},
]
WHEN = {"recorded_at": "2026-11-25T01:06:21.417Z", "duration_ms": 40.25}


def text(value: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}], "isError": False}


def wallet() -> list[Exchange]:
    """A handshake, a listing, a call with progress, a call with non-ASCII text, a JSON-RPC error."""
    return [
        Exchange("wallet", "initialize", {}, IDENTITY),
        Exchange("wallet", "tools/list", {}, {"tools": TOOLS}),
        Exchange("wallet", "tools/call", {"name": "get_balance", "arguments": {}}, text("balance: 500"),
                 notifications=PROGRESS, notification_ms=[120.5, 830.25]),
        Exchange("wallet", "tools/call", {"name": "charge_card", "arguments": {"amount": 100}}, text("débit 100 €")),
        Exchange("wallet", "tools/call", {"name": "charge_card", "arguments": {"amount": 99999}}, None,
                 {"code": -32603, "message": "card declined"}),
    ]  # fmt: skip


def mixed(tmp_path: Path) -> Path:
    """HTTP and MCP interleaved, as a recording of a tool server and the HTTP it sends gives them."""
    http = cassette_of_every_body()
    mcp = [to_interaction(e, **WHEN) for e in wallet()]
    interleaved = [item for pair in zip(http, mcp, strict=False) for item in pair] + http[len(mcp) :]
    return save_cassette(make_cassette(interleaved), tmp_path / "mixed.yaml")


def test_a_mixed_cassette_keeps_every_exchange_through_har(tmp_path: Path) -> None:
    original = mixed(tmp_path)
    expected = load_cassette(original).interactions
    assert export_cassette("har", original, tmp_path / "out.har") == 13
    imported = import_file("har", tmp_path / "out.har").interactions
    assert len(imported) == 13
    assert imported == expected
    progress = [from_interaction(i) for i in imported if "get_balance" in i.request.url]
    assert progress[0].notification_ms == [120.5, 830.25], "the notifications' timing rides along"
    again = save_cassette(import_file("har", tmp_path / "out.har"), tmp_path / "again.yaml")
    assert load_cassette(again).interactions == expected


def test_an_mcp_only_cassette_imports(tmp_path: Path) -> None:
    original = save_cassette(make_cassette([to_interaction(e, **WHEN) for e in wallet()]), tmp_path / "mcp.yaml")
    export_cassette("har", original, tmp_path / "out.har")
    imported = import_file("har", tmp_path / "out.har").interactions
    assert [i.request.url for i in imported] == [i.request.url for i in load_cassette(original).interactions]
    assert all(is_mcp(i) for i in imported) and imported == load_cassette(original).interactions


def test_har_viewers_see_the_json_rpc_posts(tmp_path: Path) -> None:
    original = save_cassette(make_cassette([to_interaction(e, **WHEN) for e in wallet()]), tmp_path / "mcp.yaml")
    export_cassette("har", original, tmp_path / "out.har")
    entries = json.loads((tmp_path / "out.har").read_text())["log"]["entries"]
    call = entries[3]
    assert (call["request"]["method"], call["request"]["url"]) == ("POST", "http://mcp.invalid/mcp/wallet")
    sent = json.loads(call["request"]["postData"]["text"])
    assert sent == {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": {"name": "charge_card", "arguments": {"amount": 100}}}  # fmt: skip
    assert json.loads(call["response"]["content"]["text"])["result"] == text("débit 100 €")
    streamed = entries[2]["response"]["content"]
    assert streamed["mimeType"] == "text/event-stream"
    events = [json.loads(line[len("data: ") :]) for line in streamed["text"].splitlines() if line.startswith("data: ")]
    assert [e.get("method") for e in events] == ["notifications/progress", "notifications/progress", None]
    assert events[-1]["result"] == text("balance: 500")
    assert json.loads(entries[4]["response"]["content"]["text"])["error"]["message"] == "card declined"
    assert entries[2]["startedDateTime"] == WHEN["recorded_at"] and entries[2]["time"] == 40.25


def test_secrets_in_imported_mcp_params_are_scrubbed_in_the_exchange(tmp_path: Path) -> None:
    login = Exchange("wallet", "tools/call", {"name": "login", "arguments": {"password": "hunter2"}},
                     text("ok"))  # fmt: skip
    original = save_cassette(make_cassette([to_interaction(login)]), tmp_path / "mcp.yaml")
    export_cassette("har", original, tmp_path / "out.har")
    (scrubbed,) = import_file("har", tmp_path / "out.har").interactions
    assert from_interaction(scrubbed).params["arguments"]["password"] != "hunter2"
    assert b"hunter2" not in scrubbed.request.body
    saved = save_cassette(import_file("har", tmp_path / "out.har"), tmp_path / "imported.yaml")
    assert "hunter2" not in saved.read_text(), "the params the cassette writes are scrubbed, not only the key"
    (kept,) = import_file("har", tmp_path / "out.har", ScrubPolicy.disabled()).interactions
    assert from_interaction(kept).params["arguments"]["password"] == "hunter2"


async def call_tools(url: str) -> list[Any]:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async with Client(url, cache=None) as client:
        balance = await client.call_tool("get_balance", {}, progress_callback=on_progress)
        charged = await client.call_tool("charge_card", {"amount": 100})
        return [balance.content[0].text, charged.content[0].text, progress]


def test_a_real_mcp_client_replays_the_imported_exchanges(tmp_path: Path) -> None:
    original = mixed(tmp_path)
    export_cassette("har", original, tmp_path / "out.har")
    imported = save_cassette(import_file("har", tmp_path / "out.har"), tmp_path / "imported.yaml")
    app = create_replay_app(imported)
    assert attach_mcp(app) is not None
    with serve_in_thread(app) as base:
        seen = asyncio.run(call_tools(f"{base}/mcp"))
    assert seen == ["balance: 500", "débit 100 €", [1, 2]]


@pytest.mark.parametrize("bad", [{"method": 5}, {"server": "x", "params": {}}, "nope"])
def test_a_broken_mcp_extension_is_one_error_naming_the_entry(tmp_path: Path, bad: Any) -> None:
    entry = {"request": {"method": "POST", "url": "http://mcp.invalid/mcp/x"}, "response": {"status": 200},
             "_hudproxy": {"mcp": bad}}  # fmt: skip
    (tmp_path / "bad.har").write_text(json.dumps({"log": {"entries": [entry]}}))
    with pytest.raises(CassetteError, match=r"bad\.har(:\d+)?: (log\.entries\[0\]\._hudproxy\.mcp|malformed)"):
        import_file("har", tmp_path / "bad.har")
