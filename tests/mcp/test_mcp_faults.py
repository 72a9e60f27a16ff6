"""Fault rules on MCP tool calls, through a real replay server and the SDK's Client over streamable HTTP: in the
modern era (the fast path) and the legacy one (the SDK's session manager), a tool answering `isError` and a tool
that never answers (the client's read timeout fires), journaled as `fault` with the rule's name."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_helpers import ERAS, wallet_exchanges, write_cassette

from hudproxy import Replay

FAULTS = {
    "seed": 5,
    "rules": [
        {"name": "card-down", "match": {"tool": "charge_card"}, "nth": 1,
         "fault": {"kind": "tool_error", "message": "payment provider unavailable"}},
        {"name": "balance-hangs", "match": {"tool": "get_balance"}, "nth": 2,
         "fault": {"kind": "timeout", "seconds": 3}},
    ],
}  # fmt: skip


@pytest.mark.parametrize("era", ERAS)
def test_a_tool_error_then_a_timeout_then_the_recording(tmp_path: Path, era: str) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    with Replay(cassette, faults=FAULTS) as proxy:
        session = proxy.session("agent-1")

        async def agent() -> list[str]:
            seen = []
            async with Client(f"{session.base_url}/mcp", mode=era, cache=None) as client:
                failed = await client.call_tool("charge_card", {"amount": 100})
                seen.append(f"{failed.is_error}: {failed.content[0].text}")  # type: ignore[union-attr]
                balance = await client.call_tool("get_balance", {})
                seen.append(balance.content[0].text)  # type: ignore[union-attr]
                clock = time.monotonic()
                with pytest.raises(MCPError):  # the client's read timeout, long before the fault's 3 s
                    await client.call_tool("get_balance", {}, read_timeout_seconds=0.5)
                seen.append(f"gave up after {time.monotonic() - clock < 2.5}")
                retried = await client.call_tool("charge_card", {"amount": 100})
                seen.append(retried.content[0].text)  # type: ignore[union-attr]
            return seen

        seen = anyio.run(agent)
        assert seen == ["True: payment provider unavailable", "balance: 500", "gave up after True", "charged 100"]
        calls = [c for c in session.calls() if c.path.startswith("/tools/call/")]
        assert [(c.path, c.kind, c.fault) for c in calls] == [
            ("/tools/call/charge_card", "fault", "card-down"),
            ("/tools/call/get_balance", "mcp", None),
            ("/tools/call/get_balance", "fault", "balance-hangs"),
            ("/tools/call/charge_card", "mcp", None),
        ]
        assert session.assert_tool_called("charge_card", amount=100)
