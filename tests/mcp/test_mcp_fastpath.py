"""The MCP fast path (hudproxy/mcp/fastpath.py) against the SDK path it stands in for, on real servers.

Each test runs two replay servers on 127.0.0.1 from the same cassette: one as shipped (fast path in front of the
SDK), one with the fast path removed so every request takes the SDK's session manager and `Server`. Whatever
a client sends, both must answer the same bytes and write the same journal; the fast path's counter shows which
requests it answered itself.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_helpers import (
    ERAS,
    STDIO_COMMAND,
    TOOLS,
    agent,
    recording,
    replaying,
    text_result,
    wallet_exchanges,
    wire,
    write_cassette,
)
from mcp_types.version import LATEST_MODERN_VERSION

from hudproxy.journal.query import read_calls
from hudproxy.mcp.catalog import Identity
from hudproxy.mcp.exchange import Exchange
from hudproxy.mcp.fastpath import FastPath
from hudproxy.mcp.front import RecordedServer
from hudproxy.mcp.http import McpHttpApp
from hudproxy.mcp.upstream import Upstream
from hudproxy.replay.asgi import ReplayApp

MODERN = LATEST_MODERN_VERSION
META = {  # what the SDK client puts in every modern request's params._meta
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientInfo": {"name": "mcp", "version": "0.1.0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
ORDER_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "total": {"type": "number"}, "note": {"type": ["string", "null"]}},
}
SHOP_TOOLS = [
    *TOOLS,
    {"name": "lookup_order", "inputSchema": {"type": "object"}, "outputSchema": ORDER_SCHEMA},
    {  # its calls carry an Mcp-Param-Region header the SDK checks against the arguments
        "name": "ship",
        "inputSchema": {"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}}},
    },
]
ORDER = {"id": "A-1", "total": 12.5, "note": None}
ORDER_RESULT = {
    "content": [{"type": "text", "text": "Bestellung für Zoë ✓"}],
    "structuredContent": ORDER,
    "isError": False,
    "_meta": {"shop/trace": "t-1"},
}


def shop_exchanges() -> list[Exchange]:
    """The wallet (progress on the first balance, a write, a declined charge) plus a structured, non-ASCII
    result with its own `_meta`, and a tool with a header-mirrored parameter."""
    exchanges = [
        e if e.method != "tools/list" else Exchange("wallet", "tools/list", {}, {"tools": SHOP_TOOLS})
        for e in wallet_exchanges()
    ]
    return [
        *exchanges,
        Exchange("wallet", "tools/call", {"name": "lookup_order", "arguments": {"id": "A-1"}}, ORDER_RESULT),
        Exchange("wallet", "tools/call", {"name": "ship", "arguments": {"region": "eu"}}, text_result("shipped")),
    ]


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return write_cassette(tmp_path / "shop.yaml", shop_exchanges())


def fast_path(app: ReplayApp) -> FastPath:
    (only,) = app.mcp.fast.values()  # one recorded server per cassette here
    return only


@contextlib.contextmanager
def both(cassette: Path, tmp_path: Path) -> Iterator[tuple[tuple[str, ReplayApp], tuple[str, ReplayApp]]]:
    """(fast, sdk): the same cassette served with and without the fast path, each with its own journal."""
    with replaying(cassette, tmp_path / "fast.db") as fast, replaying(cassette, tmp_path / "sdk.db") as sdk:
        sdk[1].mcp.fast.clear()  # every request to this one takes the SDK's session manager and Server
        yield fast, sdk


def headers(tool: str | None = "get_balance", method: str = "tools/call", **extra: str) -> dict[str, str]:
    """The headers the SDK client sends with a modern-era call."""
    out = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": MODERN,
        "mcp-method": method,
    }
    if tool is not None:
        out["mcp-name"] = tool
    return {**out, **extra}


def call(request_id: Any, tool: str, arguments: Any = None, **meta: Any) -> bytes:
    params = {"name": tool, "arguments": {} if arguments is None else arguments, "_meta": {**META, **meta}}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}).encode()


Raw = tuple[str, str, dict[str, str], bytes]  # (HTTP method, path, headers, body)

SCRIPT: list[tuple[Raw, bool]] = [  # (request, answered by the fast path)
    (("POST", "/mcp", headers(), call(1, "get_balance")), False),  # recorded progress: handed to the SDK
    (("POST", "/mcp", headers(), call(2, "get_balance", progressToken="p1")), False),  # ... streamed as SSE
    (("POST", "/mcp", headers("charge_card"), call(3, "charge_card", {"amount": 100})), True),
    (("POST", "/mcp", headers(), call(4, "get_balance")), True),  # the read after the write: balance 400
    (("POST", "/mcp", headers("charge_card"), call(5, "charge_card", {"amount": 7})), True),  # unmatched: isError
    (("POST", "/mcp", headers("charge_card"), call(6, "charge_card", {"amount": 99999})), False),  # recorded error
    (("POST", "/mcp", headers("nope"), call(7, "nope")), False),  # unknown tool: invalid params
    (("POST", "/mcp", headers("lookup_order"), call("req-é", "lookup_order", {"id": "A-1"})), True),
    (("POST", "/mcp", headers("ship", **{"mcp-param-region": "eu"}), call(9, "ship", {"region": "eu"})), False),
    (("POST", "/mcp", headers("ship"), call(10, "ship", {"region": "eu"})), False),  # header missing: refused
    (("POST", "/s/alice/mcp", headers("charge_card"), call(11, "charge_card", {"amount": 100})), True),
    (("POST", "/mcp", headers(**{"x-hudproxy-session": "bob"}), call(12, "get_balance")), False),  # progress
    (("POST", "/mcp", headers(), b'{"jsonrpc": "2.0", "method": '), False),  # parse error
    (("POST", "/mcp", headers(), b"\xef\xbb\xbf" + call(13, "get_balance")), False),  # BOM: the SDK's call
    (("POST", "/mcp", headers(host="evil.example"), call(14, "get_balance")), False),  # DNS rebinding: 421
    (("POST", "/mcp", headers(origin="http://evil.example"), call(15, "get_balance")), False),  # 403
    (("POST", "/mcp", headers(accept="application/json"), call(16, "get_balance")), False),  # 406
    (("POST", "/mcp", headers(**{"content-type": "text/plain"}), call(17, "get_balance")), False),  # 400
    (("POST", "/mcp", headers("get_status"), call(18, "get_balance")), False),  # Mcp-Name mismatch
    (("POST", "/mcp", headers(**{"mcp-protocol-version": "2099-01-01"}), call(19, "get_balance")), False),
    (("POST", "/mcp", headers(), call(True, "get_balance")), False),  # a boolean id is no JSON-RPC id
    (("POST", "/mcp", headers("charge_card"), call(21, "charge_card", [100])), False),  # arguments not an object
    (("POST", "/mcp", headers(), b"[" + call(22, "get_balance") + b"]"), False),  # a batch
    (("POST", "/mcp", headers(None, "notifications/cancelled"), b'{"jsonrpc":"2.0","method":"x"}'), False),
    (("GET", "/mcp", headers(), b""), False),
    (("POST", "/mcp", headers(**{"mcp-protocol-version": "2025-11-25"}), call(25, "get_balance")), False),
    (("POST", "/mcp", headers(None, "tools/list"), b'{"jsonrpc":"2.0","id":26,"method":"tools/list"}'), False),
]


def send_all(base: str, script: list[tuple[Raw, bool]]) -> list[tuple[int, str, bytes]]:
    """Each request in order on one connection: (status, content type, body)."""
    out = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for (method, path, extra, body), _ in script:
            response = client.request(method, path, headers=extra, content=body)
            out.append((response.status_code, response.headers.get("content-type", ""), response.content))
    return out


def journal_rows(path: Path) -> list[tuple[Any, ...]]:
    return [
        (c.session, c.seq, c.kind, c.method, c.path, c.request_body, c.status, c.matched, c.response_body)
        for c in read_calls(path)
    ]


def test_fast_path_answers_the_bytes_the_sdk_answers(cassette: Path, tmp_path: Path) -> None:
    with both(cassette, tmp_path) as ((fast_base, fast_app), (sdk_base, _)):
        fast_answers = send_all(fast_base, SCRIPT)
        sdk_answers = send_all(sdk_base, SCRIPT)
        answered = fast_path(fast_app).answered
    for (request, _), got, expected in zip(SCRIPT, fast_answers, sdk_answers, strict=True):
        assert got == expected, request
    assert answered == sum(fast for _, fast in SCRIPT)
    statuses = [status for status, _, _ in fast_answers]
    assert statuses[14:17] == [421, 403, 406]  # the SDK's refusals stand
    sse = fast_answers[1]
    assert sse[1] == "text/event-stream" and b"notifications/progress" in sse[2]
    unmatched = json.loads(fast_answers[4][2])["result"]
    assert unmatched["isError"] is True and "not available in this environment" in unmatched["content"][0]["text"]
    assert json.loads(fast_answers[6][2])["error"]["code"] == -32602
    order = json.loads(fast_answers[7][2])
    assert order["id"] == "req-é" and order["result"]["structuredContent"] == ORDER
    assert b"\\u00e9" in fast_answers[7][2]  # ASCII-escaped, as the SDK's json.dumps writes it
    # the journal: same rows, same order, refused requests nowhere
    fast_rows, sdk_rows = journal_rows(tmp_path / "fast.db"), journal_rows(tmp_path / "sdk.db")
    assert fast_rows == sdk_rows
    default = [(row[4], json.loads(row[5] or "null"), row[6], row[7]) for row in fast_rows if row[0] == "default"]
    assert default[2:8] == [
        ("/tools/call/charge_card", {"amount": 100}, 200, True),
        ("/tools/call/get_balance", {}, 200, True),
        ("/tools/call/charge_card", {"amount": 7}, 501, False),
        ("/tools/call/charge_card", {"amount": 99999}, 500, True),
        ("/tools/call/nope", {}, 501, False),
        ("/tools/call/lookup_order", {"id": "A-1"}, 200, True),
    ]
    assert {row[0] for row in fast_rows} == {"default", "alice", "bob"}
    assert all(row[2] == "mcp" for row in fast_rows)


async def wallet_agent(url: str, mode: str) -> dict[str, Any]:
    """What an SDK client sees: results (progress included), errors, the structured result."""
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def error(client: Client, tool: str, **arguments: Any) -> tuple[int, str]:
        try:
            await client.call_tool(tool, arguments)
        except MCPError as exc:
            return exc.error.code, exc.error.message
        raise AssertionError(f"{tool} did not fail")

    async with Client(url, mode=mode, cache=None) as client:
        calls = [
            await client.call_tool("get_balance", {}, progress_callback=on_progress),
            await client.call_tool("charge_card", {"amount": 100}),
            await client.call_tool("get_balance", {}),
            await client.call_tool("charge_card", {"amount": 7}),
            await client.call_tool("lookup_order", {"id": "A-1"}),
            await client.call_tool("ship", {"region": "eu"}),
        ]
        return {
            "era": client.protocol_version,
            "calls": [wire(c) for c in calls],
            "progress": progress,
            "errors": [await error(client, "nope"), await error(client, "charge_card", amount=99999)],
        }


@pytest.mark.parametrize("era", ERAS)
def test_the_sdk_client_sees_the_same_server(cassette: Path, tmp_path: Path, era: str) -> None:
    with both(cassette, tmp_path) as ((fast_base, fast_app), (sdk_base, _)):
        seen = anyio.run(wallet_agent, f"{fast_base}/s/run-1/mcp", era)
        expected = anyio.run(wallet_agent, f"{sdk_base}/s/run-1/mcp", era)
        answered = fast_path(fast_app).answered
    assert seen == expected
    texts = [c["content"][0]["text"] for c in seen["calls"]]
    assert texts[:3] == ["balance: 500", "charged 100", "balance: 400"]
    assert seen["calls"][3]["isError"] is True and seen["calls"][4]["structuredContent"] == ORDER
    assert seen["progress"] == [1.0]
    assert seen["errors"] == [(-32602, "Unknown tool: nope"), (-32603, "card declined")]
    # modern: charge, balance, the miss, the order (the first balance streams progress; ship has a header);
    # the legacy handshake era never takes the fast path
    assert answered == (4 if era == "auto" else 0)
    assert journal_rows(tmp_path / "fast.db") == journal_rows(tmp_path / "sdk.db")


def test_sessions_stay_isolated_on_the_fast_path(cassette: Path, tmp_path: Path) -> None:
    """Concurrent runs over /s/<id>/mcp: each read reflects only its own session's writes."""
    results: dict[str, list[str]] = {}

    async def run(url: str, charge: bool) -> list[str]:
        async with Client(url, cache=None) as client:
            await client.call_tool("get_balance", {})  # the recording with progress, through the SDK
            out = []
            for _ in range(3):
                if charge:
                    await client.call_tool("charge_card", {"amount": 100})
                result = await client.call_tool("get_balance", {})
                out.append(result.content[0].text)  # type: ignore[union-attr]
                await anyio.sleep(0.005)
            return out

    async def main(base: str) -> None:
        async def one(session: str, charge: bool) -> None:
            results[session] = await run(f"{base}/s/{session}/mcp", charge)

        async with anyio.create_task_group() as tg:
            for session, charge in (("alice", True), ("bob", False), ("carol", True), ("dave", False)):
                tg.start_soon(one, session, charge)

    with replaying(cassette, tmp_path / "journal.db") as (base, app):
        anyio.run(main, base)
        answered = fast_path(app).answered
    assert results["alice"] == results["carol"] == ["balance: 400"] * 3
    assert results["bob"] == results["dave"] == ["balance: 500"] * 3
    assert answered == 2 * 6 + 0  # the chargers' 6 calls each; a non-charger's balance is the progress one
    calls = read_calls(tmp_path / "journal.db", kind="mcp")
    for session, count in (("alice", 7), ("bob", 4), ("carol", 7), ("dave", 4)):
        mine = [c for c in calls if c.session == session and c.path.startswith("/tools/call/")]
        assert len(mine) == count and [c.seq for c in mine] == sorted(c.seq for c in mine)


def test_a_recorded_real_server_replays_the_same_on_both_paths(tmp_path: Path) -> None:
    """tools_server.py recorded through the proxy (structured results, progress, logs), replayed both ways."""
    cassette = tmp_path / "tools.yaml"
    with recording(cassette, Upstream(command=STDIO_COMMAND)) as url:
        anyio.run(agent, url, "auto")
    with both(cassette, tmp_path) as ((fast_base, fast_app), (sdk_base, _)):
        seen = anyio.run(agent, f"{fast_base}/mcp", "auto")
        expected = anyio.run(agent, f"{sdk_base}/mcp", "auto")
        answered = fast_path(fast_app).answered
    assert seen == expected
    assert answered == 3  # get_balance, charge_card, get_balance; search streams progress through the SDK
    assert journal_rows(tmp_path / "fast.db") == journal_rows(tmp_path / "sdk.db")


def test_the_recording_proxy_has_no_fast_path(tmp_path: Path) -> None:
    """Recording forwards every call upstream: nothing may answer from a cassette there."""
    server = RecordedServer(Identity({"name": "x", "version": "1"}, {"tools": {}}))
    assert McpHttpApp({"x": server}).fast == {}


def test_a_body_in_pieces_is_read_whole_and_an_oversized_one_is_the_sdks_413(cassette: Path, tmp_path: Path) -> None:
    body = call(1, "charge_card", {"amount": 100})

    def pieces() -> Iterator[bytes]:  # chunked transfer: the server receives the body in several messages
        yield body[:40]
        time.sleep(0.05)
        yield body[40:]

    too_big = call(2, "charge_card", {"amount": 100, "pad": "x" * (4 * 1024 * 1024)})
    answers = []
    with both(cassette, tmp_path) as ((fast_base, fast_app), (sdk_base, _)):
        for base in (fast_base, sdk_base):
            chunked = httpx.post(f"{base}/mcp", headers=headers("charge_card"), content=pieces(), timeout=10)
            big = httpx.post(f"{base}/mcp", headers=headers("charge_card"), content=too_big, timeout=30)
            answers.append([(r.status_code, r.content) for r in (chunked, big)])
        answered = fast_path(fast_app).answered
    assert answers[0] == answers[1]
    assert answers[0][0][0] == 200 and b"charged 100" in answers[0][0][1]
    assert answers[0][1][0] == 413
    assert answered == 1
