"""Record real MCP traffic through the proxy, stop the upstream, replay: the agent sees the same server."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.types import LoggingMessageNotificationParams
from mcp_helpers import ERAS, STDIO_COMMAND, HttpUpstream, agent, recording, replaying, texts

from hudproxy.cassette.files import load_cassette
from hudproxy.mcp.exchange import from_interaction
from hudproxy.mcp.upstream import Upstream

EXPECTED = ["balance: 500", "charged 100, balance now 400", "balance: 400", "3 results for 's'"]


@pytest.mark.parametrize("era", ERAS)
def test_stdio_upstream_replays_identically(tmp_path: Path, era: str) -> None:
    cassette = tmp_path / "tools.yaml"
    with recording(cassette, Upstream(command=STDIO_COMMAND)) as url:
        recorded = anyio.run(agent, url, era)
    # the stdio upstream exited with the recorder: nothing but the cassette answers now
    with replaying(cassette) as (base, _):
        replayed = anyio.run(agent, f"{base}/mcp", era)
    assert texts(recorded) == EXPECTED
    assert replayed == recorded
    assert replayed["progress"] == [(1.0, 3.0, "page 1"), (2.0, 3.0, "page 2"), (3.0, 3.0, "page 3")]


@pytest.mark.parametrize("era", ERAS)
def test_http_upstream_replays_identically(tmp_path: Path, http_upstream: HttpUpstream, era: str) -> None:
    cassette = tmp_path / "tools.json"
    with recording(cassette, Upstream(url=http_upstream.url)) as url:
        recorded = anyio.run(agent, url, era)
    http_upstream.stop()
    with replaying(cassette) as (base, _):
        replayed = anyio.run(agent, f"{base}/mcp", era)
    assert texts(recorded) == EXPECTED
    assert replayed == recorded


def test_recorded_in_one_era_replays_in_the_other(tmp_path: Path) -> None:
    cassette = tmp_path / "tools.yaml"
    with recording(cassette, Upstream(command=STDIO_COMMAND)) as url:
        legacy = anyio.run(agent, url, "legacy")
    with replaying(cassette) as (base, _):
        modern = anyio.run(agent, f"{base}/mcp", "auto")
    assert (legacy["era"], modern["era"]) == ("2025-11-25", "2026-07-28")
    assert modern["server"] == legacy["server"] == {"name": "wallet-tools", "version": "1.2.3"}
    assert modern["instructions"] == legacy["instructions"]
    assert [t["name"] for t in modern["tools"]["tools"]] == ["get_balance", "charge_card", "search", "login"]
    assert texts(modern) == texts(legacy) == EXPECTED
    assert modern["progress"] == legacy["progress"]


def test_cassette_holds_era_neutral_exchanges_with_notifications(tmp_path: Path) -> None:
    cassette = tmp_path / "tools.yaml"
    with recording(cassette, Upstream(command=STDIO_COMMAND)) as url:
        anyio.run(agent, url, "auto")
    exchanges = [from_interaction(i) for i in load_cassette(cassette).interactions]
    assert [e.method for e in exchanges][:2] == ["server/discover", "tools/list"]
    search = next(e for e in exchanges if e.name == "search")
    assert search.params == {"name": "search", "arguments": {"query": "s"}}  # no _meta, no progress token
    assert [n["method"].split("/")[1] for n in search.notifications] == ["message", *["progress"] * 3]
    assert search.notifications[0]["params"] == {"level": "info", "data": "searching for s"}
    assert [n["params"].get("message") for n in search.notifications[1:]] == ["page 1", "page 2", "page 3"]
    assert not {"resultType", "ttlMs", "cacheScope", "_meta"} & set(search.result)


async def logs_seen(target: str, era: str) -> list[tuple[str, object]]:
    seen: list[tuple[str, object]] = []

    async def on_log(params: LoggingMessageNotificationParams) -> None:
        seen.append((params.level, params.data))

    async with Client(target, mode=era, cache=None, logging_callback=on_log, log_level="info") as client:
        await client.call_tool("search", {"query": "q"})
    return seen


@pytest.mark.parametrize("era", ERAS)
def test_log_messages_are_recorded_and_replayed(tmp_path: Path, era: str) -> None:
    cassette = tmp_path / "tools.yaml"
    with recording(cassette, Upstream(command=STDIO_COMMAND)) as url:
        recorded = anyio.run(logs_seen, url, era)
    with replaying(cassette) as (base, _):
        replayed = anyio.run(logs_seen, f"{base}/mcp", era)
    assert recorded == replayed == [("info", "searching for q")]


async def balance_then_charge(url: str, amount: int) -> list[str]:
    async with Client(url, mode="legacy", cache=None) as client:
        out = []
        for name, arguments in (("get_balance", {}), ("charge_card", {"amount": amount})):
            result = await client.call_tool(name, arguments)
            out.append(("error: " if result.is_error else "") + result.content[0].text)  # type: ignore[union-attr]
        return out


def test_record_modes_replay_what_the_cassette_holds(tmp_path: Path) -> None:
    cassette = tmp_path / "tools.yaml"
    upstream = Upstream(command=STDIO_COMMAND)
    with recording(cassette, upstream) as url:
        assert anyio.run(balance_then_charge, url, 100) == ["balance: 500", "charged 100, balance now 400"]
    size = len(load_cassette(cassette))
    with recording(cassette, upstream, mode="none") as url:  # nothing new reaches the upstream
        refused = anyio.run(balance_then_charge, url, 5)
    assert refused[0] == "balance: 500" and refused[1].startswith("error: charge_card")
    assert len(load_cassette(cassette)) == size
    with recording(cassette, upstream, mode="new_episodes") as url:  # a fresh upstream: balance 500 again
        added = anyio.run(balance_then_charge, url, 5)
    assert added == ["balance: 500", "charged 5, balance now 495"]
    assert [e.name for e in map(from_interaction, load_cassette(cassette).interactions)][-1] == "charge_card"
    assert len(load_cassette(cassette)) == size + 1
