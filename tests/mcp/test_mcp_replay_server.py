"""The replay server in-process, driven by the SDK's Client in both eras (direct dispatch and JSON-RPC framing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_helpers import ERAS, IDENTITY, wallet_exchanges, write_cassette

from hudproxy.mcp.exchange import Exchange, request_for
from hudproxy.mcp.replay_server import build_servers
from hudproxy.replay.server import build_service


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    return write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())


def run(cassette: Path, era: str, script: Any) -> Any:
    """Run `script(client)` against a fresh replay of `cassette`."""
    service = build_service(cassette)
    server = build_servers(service, service.cassette)["wallet"]  # type: ignore[arg-type]

    async def main() -> Any:
        async with Client(server, mode=era, cache=None) as client:
            return await script(client)

    return anyio.run(main)


async def error_of(client: Client, tool: str, **arguments: Any) -> MCPError:
    """The JSON-RPC error a call gets (caught inside the client's task group, which would wrap it)."""
    with pytest.raises(MCPError) as caught:
        await client.call_tool(tool, arguments)
    return caught.value


async def text_of(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    return ("error: " if result.is_error else "") + result.content[0].text  # type: ignore[union-attr]


@pytest.mark.parametrize("era", ERAS)
def test_identity_and_tools_are_the_recorded_ones(cassette: Path, era: str) -> None:
    async def script(client: Client) -> Any:
        tools = await client.list_tools()
        return client.server_info, client.instructions, client.server_capabilities, [t.name for t in tools.tools]

    info, instructions, capabilities, tools = run(cassette, era, script)
    assert (info.name, info.version, info.title) == ("wallet-tools", "1.2.3", "Wallet")
    assert instructions == "Check the balance first."
    assert capabilities.tools is not None and capabilities.resources is None and capabilities.prompts is None
    assert tools == ["get_balance", "charge_card", "audit_log"]


@pytest.mark.parametrize("era", ERAS)
def test_reads_follow_the_writes_this_session_made(cassette: Path, era: str) -> None:
    async def script(client: Client) -> list[str]:
        return [
            await text_of(client, "get_balance"),
            await text_of(client, "get_balance"),  # asking again does not move time forward
            await text_of(client, "charge_card", amount=100),
            await text_of(client, "get_balance"),
        ]

    assert run(cassette, era, script) == ["balance: 500", "balance: 500", "charged 100", "balance: 400"]


@pytest.mark.parametrize("era", ERAS)
def test_recorded_progress_is_replayed_and_a_progress_token_does_not_break_matching(cassette: Path, era: str) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        seen.append((value, total, message))

    async def script(client: Client) -> str:
        result = await client.call_tool("get_balance", {}, progress_callback=on_progress)
        return result.content[0].text  # type: ignore[union-attr]

    assert run(cassette, era, script) == "balance: 500"
    assert seen == [(1, 2, "half")]


@pytest.mark.parametrize("era", ERAS)
def test_unmatched_call_is_an_error_result_that_leaks_no_recording(cassette: Path, era: str) -> None:
    async def script(client: Client) -> Any:
        return await client.call_tool("charge_card", {"amount": 5})

    result = run(cassette, era, script)
    text = result.content[0].text
    assert result.is_error is True
    assert text.startswith('charge_card({"amount": 5}) is not available in this environment')
    assert "charged" not in text and "100" not in text and result.structured_content is None


@pytest.mark.parametrize("era", ERAS)
def test_unknown_tool_is_the_protocols_invalid_params_error(cassette: Path, era: str) -> None:
    async def script(client: Client) -> MCPError:
        return await error_of(client, "transfer_funds", to="x")

    error = run(cassette, era, script).error
    assert (error.code, error.message) == (-32602, "Unknown tool: transfer_funds")


@pytest.mark.parametrize("era", ERAS)
def test_a_recorded_json_rpc_error_replays_as_that_error(cassette: Path, era: str) -> None:
    async def script(client: Client) -> MCPError:
        return await error_of(client, "charge_card", amount=99999)

    error = run(cassette, era, script).error
    assert (error.code, error.message) == (-32603, "card declined")


def test_read_only_hint_makes_a_tool_a_read(cassette: Path) -> None:
    rule = build_service(cassette).engine.index.policy.writes  # the replay server reads the recorded hints

    def is_write(tool: str) -> bool:
        return rule.is_write(request_for("wallet", "tools/call", {"name": tool, "arguments": {}}))

    assert (is_write("audit_log"), is_write("charge_card"), is_write("get_balance")) == (False, True, False)


def test_a_cassette_without_a_handshake_still_serves(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "bare.yaml", wallet_exchanges()[1:])

    async def script(client: Client) -> Any:
        return client.server_info.name, await text_of(client, "get_balance")  # type: ignore[union-attr]

    assert run(cassette, "legacy", script) == ("wallet", "balance: 500")


@pytest.mark.parametrize("era", ERAS)
def test_listings_nobody_recorded_are_empty_and_other_pages_are_the_first(tmp_path: Path, era: str) -> None:
    exchanges = wallet_exchanges()
    exchanges[0] = Exchange("wallet", "initialize", {}, {**IDENTITY, "capabilities": {"tools": {}, "resources": {}}})
    cassette = write_cassette(tmp_path / "wallet.yaml", exchanges)

    async def script(client: Client) -> Any:
        templates = await client.list_resource_templates()
        later_page = await client.list_tools(cursor="page-2")
        return templates.resource_templates, [t.name for t in later_page.tools]

    assert run(cassette, era, script) == ([], ["get_balance", "charge_card", "audit_log"])
