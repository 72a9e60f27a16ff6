"""The Python API asserts on MCP tool calls as on HTTP ones: `assert_tool_called`, `tool_calls`."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_helpers import wallet_exchanges, write_cassette

from hudproxy import Replay


async def charge_then_check(url: str) -> None:
    async with Client(url, cache=None) as client:
        await client.call_tool("charge_card", {"amount": 100})
        await client.call_tool("get_balance", {})


def test_assert_tool_called_sees_only_this_sessions_tool_calls(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    with Replay(cassette) as proxy:
        alice, bob = proxy.session(), proxy.session()
        anyio.run(charge_then_check, f"{alice.base_url}/mcp")
        alice.assert_tool_called("charge_card", amount=100, times=1)
        alice.assert_tool_called("get_balance")
        assert [c.json for c in alice.tool_calls("charge_card")] == [{"amount": 100}]
        bob.assert_tool_not_called("charge_card")
        with pytest.raises(AssertionError, match="charge_card"):
            alice.assert_tool_called("charge_card", amount=250)
