"""An upstream that dies mid-record: the agent gets a clear error, the log says why, the cassette keeps the rest."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_helpers import STDIO_COMMAND, HttpUpstream, recording, replaying

from hudproxy.cassette.files import load_cassette
from hudproxy.mcp.upstream import Upstream


async def until_crash(url: str) -> list[Any]:
    seen: list[Any] = []
    async with Client(url, mode="legacy", cache=None) as client:
        seen.append((await client.call_tool("get_balance", {})).content[0].text)  # type: ignore[union-attr]
        for tool, arguments in (("charge_card", {"amount": 100}), ("get_balance", {})):
            with pytest.raises(MCPError) as caught:
                await client.call_tool(tool, arguments)
            seen.append(caught.value.error)
    return seen


def test_crash_mid_record_keeps_the_cassette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CRASH_ON", "charge_card")  # the upstream exits abruptly inside charge_card
    cassette = tmp_path / "tools.yaml"
    with caplog.at_level(logging.ERROR, "hudproxy.record"), recording(cassette, Upstream(command=STDIO_COMMAND)) as url:
        balance, crashed, after = anyio.run(until_crash, url)
    assert balance == "balance: 500"
    for error in (crashed, after):
        assert error.code == -32603 and "upstream MCP server" in error.message and "is gone" in error.message
    assert "tools/call charge_card was not answered" in crashed.message
    assert any("is gone" in r.getMessage() for r in caplog.records)

    paths = [i.request.path for i in load_cassette(cassette).interactions]
    assert "/tools/call/get_balance" in paths and "/tools/call/charge_card" not in paths

    async def replay(url: str) -> tuple[str, bool]:
        async with Client(url, mode="legacy", cache=None) as client:
            balance = (await client.call_tool("get_balance", {})).content[0].text  # type: ignore[union-attr]
            return balance, (await client.call_tool("charge_card", {"amount": 100})).is_error

    with replaying(cassette) as (base, _):
        assert anyio.run(replay, f"{base}/mcp") == ("balance: 500", True)


def test_http_upstream_going_away_fails_calls_not_the_proxy(tmp_path: Path, http_upstream: HttpUpstream) -> None:
    cassette = tmp_path / "tools.json"

    async def session(url: str) -> list[Any]:
        async with Client(url, mode="auto", cache=None, read_timeout_seconds=20) as client:
            seen: list[Any] = [(await client.call_tool("get_balance", {})).content[0].text]  # type: ignore[union-attr]
            http_upstream.stop()
            for _ in range(2):
                with pytest.raises(MCPError) as caught:
                    await client.call_tool("get_balance", {})
                seen.append(caught.value.error.message)
            return seen

    async def later(url: str) -> str:
        async with Client(url, mode="legacy", cache=None) as client:  # the proxy itself still answers
            with pytest.raises(MCPError) as caught:
                await client.call_tool("charge_card", {"amount": 1})
            return caught.value.error.message

    with recording(cassette, Upstream(url=http_upstream.url)) as url:
        balance, *errors = anyio.run(session, url)
        errors.append(anyio.run(later, url))
    assert balance == "balance: 500"
    assert len(errors) == 3 and all("is gone" in e for e in errors)
    assert "/tools/call/get_balance" in [i.request.path for i in load_cassette(cassette).interactions]
