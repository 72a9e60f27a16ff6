"""Which tools count as writes is configurable: `--write-tool` / `--read-tool` on `hudproxy replay` (and on
`hudproxy record`, stored in the cassette), over a real SDK client on streamable HTTP, in both eras."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp_helpers import ERAS, IDENTITY, STDIO_COMMAND, call, free_port, hudproxy_cli, write_cassette

from hudproxy.cassette import save_cassette
from hudproxy.cassette.files import load_cassette
from hudproxy.cli import main
from hudproxy.matching.policy import MatchPolicy
from hudproxy.mcp.exchange import Exchange

TOOLS = [
    {"name": "list_queue", "inputSchema": {"type": "object"}},
    {"name": "get_ticket", "inputSchema": {"type": "object"}},  # a reading verb, but each call takes a ticket
    {"name": "price_basket", "inputSchema": {"type": "object"}},  # no reading verb, but it changes nothing
    {"name": "add_item", "inputSchema": {"type": "object"}},
]


def queue_exchanges() -> list[Exchange]:
    return [
        Exchange("desk", "initialize", {}, IDENTITY),
        Exchange("desk", "tools/list", {}, {"tools": TOOLS}),
        call("desk", "list_queue", {}, "3 waiting"),
        call("desk", "get_ticket", {}, "ticket 1"),
        call("desk", "list_queue", {}, "2 waiting"),
        call("desk", "price_basket", {}, "total 0"),
        call("desk", "add_item", {}, "added"),
        call("desk", "price_basket", {}, "total 5"),
    ]


async def texts(url: str, era: str, script: list[str]) -> list[str]:
    async with Client(url, mode=era, cache=None) as client:
        return [(await client.call_tool(name, {})).content[0].text for name in script]  # type: ignore[union-attr]


SCRIPT = ["list_queue", "list_queue", "get_ticket", "list_queue", "price_basket", "price_basket", "add_item"]
SCRIPT += ["price_basket"]
OVERRIDDEN = ["3 waiting", "3 waiting", "ticket 1", "2 waiting", "total 0", "total 0", "added", "total 5"]


@pytest.mark.parametrize("era", ERAS)
def test_by_default_names_decide(tmp_path: Path, era: str) -> None:
    cassette = write_cassette(tmp_path / "desk.yaml", queue_exchanges())
    port = free_port()
    with hudproxy_cli("replay", str(cassette), "--no-journal", port=port):
        seen = anyio.run(texts, f"http://127.0.0.1:{port}/mcp", era, SCRIPT)
    # get_ticket reads, so the two list_queue recordings have no write between them and play in order;
    # price_basket writes: each call takes the next recording
    assert seen == ["3 waiting", "2 waiting", "ticket 1", "2 waiting", "total 0", "total 5", "added", "total 5"]


@pytest.mark.parametrize("era", ERAS)
def test_write_tool_and_read_tool_override_the_names(tmp_path: Path, era: str) -> None:
    cassette = write_cassette(tmp_path / "desk.yaml", queue_exchanges())
    port = free_port()
    options = ["--write-tool", "get_ticket", "--read-tool", "price_basket", "--no-journal"]
    with hudproxy_cli("replay", str(cassette), *options, port=port):
        seen = anyio.run(texts, f"http://127.0.0.1:{port}/mcp", era, SCRIPT)
    # a write between the two list_queue recordings: asking again does not move on until get_ticket is called;
    # price_basket reads: the same answer until add_item
    assert seen == OVERRIDDEN


def test_a_tool_named_both_ways_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = write_cassette(tmp_path / "desk.yaml", queue_exchanges())
    with pytest.raises(SystemExit) as exited:
        main(["replay", str(cassette), "--read-tool", "get_ticket", "--write-tool", "get_ticket", "--no-journal"])
    assert exited.value.code == 2
    assert "get_ticket: named both a read tool and a write tool" in capsys.readouterr().err


def test_the_rule_recorded_in_the_cassette_applies_at_replay(tmp_path: Path) -> None:
    """`hudproxy record --write-tool/--read-tool` stores the rule with the cassette's match policy; a replay
    without the options follows it."""
    cassette = write_cassette(tmp_path / "desk.yaml", queue_exchanges())
    stored = load_cassette(cassette)
    policy = MatchPolicy.build(write_tools=["get_ticket"], read_tools=["price_basket"])
    stored.meta["match"] = policy.to_dict()
    save_cassette(stored, cassette)
    assert load_cassette(cassette).meta["match"]["write_tools"] == ["get_ticket"]
    port = free_port()
    with hudproxy_cli("replay", str(cassette), "--no-journal", port=port):
        assert anyio.run(texts, f"http://127.0.0.1:{port}/mcp", "auto", SCRIPT) == OVERRIDDEN


def test_record_stores_the_options_in_the_cassette(tmp_path: Path) -> None:
    cassette = tmp_path / "wallet.yaml"
    port = free_port()
    args = ["record", "--mcp-command", STDIO_COMMAND, "--cassette", str(cassette), "--no-journal"]
    with hudproxy_cli(*args, "--write-tool", "get_balance", "--read-tool", "charge_card", port=port):
        assert anyio.run(texts, f"http://127.0.0.1:{port}/mcp", "auto", ["get_balance"]) == ["balance: 500"]
    match = load_cassette(cassette).meta["match"]
    assert (match["write_tools"], match["read_tools"]) == (["get_balance"], ["charge_card"])
