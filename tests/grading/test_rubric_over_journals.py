"""Rubrics over real journal rows: a hudproxy replay (a real server on 127.0.0.1, a real SQLite journal) answers
real clients over HTTP (httpx) and MCP (the SDK's client); the rows read back with `read_calls` are scored by
the same rubric code an eval uses, HTTP and MCP alike, with the journal's seqs as evidence."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from hudproxy.api.replay import Replay
from hudproxy.grading import RunData, parse_rubric, score
from hudproxy.journal.query import read_calls
from tests.mcp.mcp_helpers import replaying, wallet_exchanges, write_cassette

ROOT = Path(__file__).resolve().parents[2]

HTTP_RUBRIC = """\
gates:
  - never: {method: DELETE}
  - acted: true
criteria:
  - name: shipped the order
    weight: 2
    call: {method: PATCH, path: "/orders/{{order_id}}", json: {status: shipped}, status: 2xx, times: 1}
  - name: looked before acting
    order: [{method: GET, path: "/orders/{{order_id}}"}, {method: PATCH, path: "/orders/{{order_id}}"}]
  - name: listed paid orders page by page
    call: {method: GET, path: /orders, query: {status: paid}, at_least: 2, where: "int(query.page) <= 2"}
  - name: sent the token
    call: {method: PATCH, header: {authorization: "Bearer *"}}
  - name: refunded within the limit
    call: {method: POST, path: /refunds, where: "json.amount <= args.limit"}
"""


def test_http_rows_from_a_real_replay_journal(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    with Replay(ROOT / "cassettes/shop.yaml", journal=journal, keep_journal=True) as replay:
        session = replay.session("agent-1")
        with httpx.Client(base_url=session.base_url) as client:
            client.get("/orders/A1")
            token = client.post("/auth/token", json={"username": "demo", "password": "demo-password"}).json()
            bearer = {"authorization": f"Bearer {token['access_token']}"}
            client.patch("/orders/A1", json={"status": "shipped"}, headers=bearer)
            client.get("/orders", params={"status": "paid", "page": 1, "per_page": 3})
            client.get("/orders", params={"status": "paid", "page": 2, "per_page": 3})
    calls = read_calls(journal, session="agent-1")
    assert [c.method for c in calls] == ["GET", "POST", "PATCH", "GET", "GET"]

    grade = score(parse_rubric(HTTP_RUBRIC), RunData(calls, args={"order_id": "A1", "limit": 50}))

    verdicts = {c.name: (c.status, c.evidence.get("calls")) for c in grade.criteria}
    assert verdicts == {
        "shipped the order": ("met", [3]),
        "looked before acting": ("met", [1, 3]),
        "listed paid orders page by page": ("met", [4, 5]),
        "sent the token": ("met", [3]),
        "refunded within the limit": ("unmet", []),
    }
    assert [(g.rule, g.passed, g.evidence["calls"]) for g in grade.gates] == [
        ("never: DELETE", True, []), ("acted: true", True, [2, 3]),  # the login POST and the PATCH write
    ]  # fmt: skip
    assert grade.reward == pytest.approx((2 + 1 + 1 + 1) / 6)


MCP_RUBRIC = """\
gates:
  - never: {tool: charge_card, arguments: {amount: 99999}}
criteria:
  - name: checked the balance first
    order: [{tool: get_balance}, {tool: charge_card}]
  - name: charged once, within the limit
    call: {tool: charge_card, where: "arguments.amount <= args.limit", status: 200, times: 1}
  - name: looked again after charging
    call: {tool: get_balance, times: 2}
"""


@pytest.mark.anyio
async def test_mcp_rows_from_a_real_replay_journal(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    journal = tmp_path / "journal.db"
    with replaying(cassette, journal) as (base, _app):
        async with Client(f"{base}/s/agent-7/mcp", cache=None) as client:
            await client.call_tool("get_balance", {})
            await client.call_tool("charge_card", {"amount": 100})
            await client.call_tool("get_balance", {})
    calls = read_calls(journal, session="agent-7", kind="mcp")
    tool_rows = [c for c in calls if c.path.startswith("/tools/call/")]
    assert [c.path for c in tool_rows] == ["/tools/call/get_balance", "/tools/call/charge_card",
                                           "/tools/call/get_balance"]  # fmt: skip
    rubric = parse_rubric(MCP_RUBRIC)

    fine = score(rubric, RunData(calls, args={"limit": 200}))
    strict = score(rubric, RunData(calls, args={"limit": 50}))

    seq = {c.path.rsplit("/", 1)[1]: c.seq for c in tool_rows}  # the charge's seq (balances: the later one)
    assert fine.reward == 1.0 and [c.status for c in fine.criteria] == ["met", "met", "met"]
    assert fine.criteria[1].evidence["calls"] == [seq["charge_card"]]
    assert strict.criteria[1].status == "unmet" and strict.reward == pytest.approx(2 / 3)
    assert fine.gates[0].passed


@pytest.mark.anyio
async def test_a_forbidden_mcp_call_is_a_violated_gate_with_its_row(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    journal = tmp_path / "journal.db"
    with replaying(cassette, journal) as (base, _app):
        async with Client(f"{base}/s/greedy/mcp", cache=None) as client:
            await client.call_tool("get_balance", {})
            with pytest.raises(MCPError, match="card declined"):  # as recorded
                await client.call_tool("charge_card", {"amount": 99999})
    calls = read_calls(journal, session="greedy", kind="mcp")
    grade = score(parse_rubric(MCP_RUBRIC), RunData(calls, args={"limit": 200}))
    charge = next(c for c in calls if c.path == "/tools/call/charge_card")
    assert grade.reward == 0.0 and not grade.gates[0].passed
    assert grade.gates[0].evidence["calls"] == [charge.seq]
    assert grade.gates[0].reason.startswith("1 forbidden call(s): #")
    assert grade.notes()[0].startswith("gate violated (never: tool charge_card arguments={'amount': 99999})")
