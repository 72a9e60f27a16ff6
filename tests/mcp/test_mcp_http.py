"""MCP mounted in the replay port: /mcp and /s/<id>/mcp beside HTTP replay, sessions, the journal, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_helpers import ERAS, replaying, wallet_exchanges, write_cassette

from hudproxy.journal.query import read_calls

JSON_RPC_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())


async def balance_after(url: str, era: str, charge: bool) -> list[str]:
    async with Client(url, mode=era, cache=None) as client:
        out = []
        for _ in range(3):
            if charge:
                await client.call_tool("charge_card", {"amount": 100})
            result = await client.call_tool("get_balance", {})
            out.append(result.content[0].text)  # type: ignore[union-attr]
            await anyio.sleep(0.01)  # interleave with the other session
        return out


@pytest.mark.parametrize("era", ERAS)
def test_concurrent_sessions_stay_isolated(cassette: Path, era: str) -> None:
    results: dict[str, list[str]] = {}

    async def main(base: str) -> None:
        async def one(session: str, charge: bool) -> None:
            results[session] = await balance_after(f"{base}/s/{session}/mcp", era, charge)

        async with anyio.create_task_group() as tg:
            tg.start_soon(one, "alice", True)
            tg.start_soon(one, "bob", False)
            tg.start_soon(one, "carol", False)

    with replaying(cassette) as (base, app):
        anyio.run(main, base)
        assert {"alice", "bob", "carol"} <= set(app.sessions.ids())
    assert results["alice"] == ["balance: 400"] * 3
    assert results["bob"] == results["carol"] == ["balance: 500"] * 3


def test_calls_are_journaled_with_kind_mcp(cassette: Path, tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"

    async def main(base: str) -> None:
        async with Client(f"{base}/s/run-1/mcp", mode="legacy", cache=None) as client:
            await client.call_tool("charge_card", {"amount": 100})
            await client.call_tool("charge_card", {"amount": 7})

    with replaying(cassette, journal) as (base, _):
        anyio.run(main, base)
        httpx.get(f"{base}/s/run-1/orders")  # HTTP replay answers beside MCP, in the same session
    calls = read_calls(journal, session="run-1")
    mcp = [c for c in calls if c.kind == "mcp" and c.path.startswith("/tools/call/")]
    assert [(c.path, c.json, c.matched) for c in mcp] == [
        ("/tools/call/charge_card", {"amount": 100}, True),
        ("/tools/call/charge_card", {"amount": 7}, False),
    ]
    assert mcp[1].status == 501 and "not available" in (mcp[1].response_body or "")
    assert mcp[1].diagnosis and "body.amount" in str(mcp[1].diagnosis)
    assert [c.kind for c in calls if c.path == "/orders"] == ["http"]


@pytest.mark.parametrize("protocol", [None, "2025-11-25", "2026-07-28"])
def test_malformed_json_rpc_gets_a_parse_error(cassette: Path, protocol: str | None) -> None:
    headers = dict(JSON_RPC_HEADERS, **({"mcp-protocol-version": protocol} if protocol else {}))
    with replaying(cassette) as (base, _):
        response = httpx.post(f"{base}/mcp", content=b'{"jsonrpc": "2.0", "method": ', headers=headers)
        again = httpx.post(f"{base}/s/x/mcp", content=b"\xff\xfe not json", headers=headers)
    for answer in (response, again):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == -32700


def test_a_foreign_host_header_is_refused_on_loopback(cassette: Path) -> None:
    """DNS-rebinding protection: a page on evil.example cannot drive the local MCP server."""
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}'
    with replaying(cassette) as (base, _):
        refused = httpx.post(f"{base}/mcp", content=body, headers={**JSON_RPC_HEADERS, "host": "evil.example"})
    assert refused.status_code == 421


def test_an_unknown_server_name_is_a_404(cassette: Path) -> None:
    with replaying(cassette) as (base, _):
        named = httpx.post(f"{base}/mcp/wallet", content=b"{}", headers=JSON_RPC_HEADERS)
        unknown = httpx.post(f"{base}/mcp/nope", content=b"{}", headers=JSON_RPC_HEADERS)
    assert named.status_code != 404
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]


def test_mcp_by_server_name(cassette: Path) -> None:
    async def main(base: str) -> Any:
        async with Client(f"{base}/mcp/wallet", cache=None) as client:
            return (await client.call_tool("get_balance", {})).content[0].text  # type: ignore[union-attr]

    with replaying(cassette) as (base, _):
        assert anyio.run(main, base) == "balance: 500"


def test_the_session_header_picks_the_session_too(cassette: Path) -> None:
    async def main(base: str) -> None:
        http = httpx2.AsyncClient(headers={"X-Hudproxy-Session": "dora"})
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode="legacy", cache=None) as client:
            await client.call_tool("charge_card", {"amount": 100})
        await http.aclose()

    with replaying(cassette) as (base, app):
        anyio.run(main, base)
        assert app.sessions.find("dora") is not None and app.sessions.find("dora").seq >= 1  # type: ignore[union-attr]
        assert app.sessions.find("default") is None


@pytest.mark.parametrize("era", ERAS)
def test_an_invalid_session_id_is_an_error_naming_the_rule(cassette: Path, tmp_path: Path, era: str) -> None:
    """A session id that breaks the id rule is the client's mistake: an error saying so, not "unavailable here",
    no session made, the call journaled under `invalid-session-id`."""
    journal = tmp_path / "journal.db"

    async def main(base: str) -> str:
        http = httpx2.AsyncClient(headers={"X-Hudproxy-Session": "run 7!"})
        try:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), mode=era, cache=None) as client:
                with pytest.raises(MCPError) as raised:
                    await client.call_tool("charge_card", {"amount": 100})
                return f"{raised.value.error.code}: {raised.value.error.message}"
        finally:
            await http.aclose()

    with replaying(cassette, journal) as (base, app):
        said = anyio.run(main, base)
        assert all(app.sessions.find(s) is None for s in ("run 7!", "default"))
    app.close()
    assert said.startswith("-32600: ") and "session id 'run 7!' must be 1-128 of letters" in said
    (call,) = [c for c in read_calls(journal, session="invalid-session-id") if c.path == "/tools/call/charge_card"]
    assert (call.kind, call.status, call.matched) == ("mcp", 400, False)
