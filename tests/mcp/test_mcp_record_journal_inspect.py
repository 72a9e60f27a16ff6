"""Explaining MCP calls that do not match, in the agent's words: `hudproxy inspect --why` on a cassette recorded
from the real tools server, and `hudproxy journal --unmatched` on calls refused while recording or replaying."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_helpers import HUDPROXY_MAIN, STDIO_COMMAND, agent, recording, replaying, texts

from hudproxy.cassette.files import load_cassette
from hudproxy.journal.query import read_calls
from hudproxy.journal.writer import JournalWriter
from hudproxy.mcp.exchange import from_interaction
from hudproxy.mcp.recorder import McpRecorder
from hudproxy.mcp.serve import recording_in_thread
from hudproxy.mcp.upstream import Upstream
from hudproxy.record.recorder import Recorder


def hudproxy(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", HUDPROXY_MAIN, *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="module")
def cassette(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording of the real wallet tools server: balance, charge_card(amount=100), balance, search."""
    path = tmp_path_factory.mktemp("why") / "wallet.yaml"
    with recording(path, Upstream(command=STDIO_COMMAND)) as url:
        seen = anyio.run(agent, url, "auto")
    assert texts(seen)[1] == "charged 100, balance now 400"
    return path


def charge_index(cassette: Path) -> int:
    interactions = load_cassette(cassette).interactions
    return next(i.index for i in interactions if from_interaction(i).name == "charge_card")


def why(cassette: Path, tmp_path: Path, call: dict[str, Any], *more: str) -> subprocess.CompletedProcess[str]:
    request = tmp_path / "call.json"
    request.write_text(json.dumps(call))
    return hudproxy("inspect", str(cassette), "--why", str(request), *more)


def test_why_names_the_nearest_recorded_call_of_the_tool_and_the_differing_argument(
    cassette: Path, tmp_path: Path
) -> None:
    result = why(cassette, tmp_path, {"tool": "charge_card", "arguments": {"amount": 250}})
    assert result.returncode == 1, result.stderr  # no match: exit 1, for scripts
    lines = result.stdout.splitlines()
    assert lines[0] == 'unmatched: tools/call charge_card {"amount":250} (MCP server wallet-tools)'
    index = charge_index(cassette)
    assert lines[1] == (
        f'  #1 nearest: interaction {index}: tools/call charge_card {{"amount":100}} → charged 100, balance now 400'
    )
    assert lines[2] == "      differs: arguments.amount: 250 (recorded 100)"


def test_why_for_a_tool_never_called_says_so(cassette: Path, tmp_path: Path) -> None:
    out = why(cassette, tmp_path, {"tool": "refund", "arguments": {"amount": 5}}).stdout
    assert "tool refund was never called in this recording (called: charge_card, get_balance, search)" in out
    assert "differs: tool: refund (recorded " in out


def test_why_takes_a_json_rpc_message_and_ignores_its_id_and_meta(cassette: Path, tmp_path: Path) -> None:
    message = {
        "jsonrpc": "2.0",
        "id": 41,
        "method": "tools/call",
        "params": {"name": "charge_card", "arguments": {"amount": 100}, "_meta": {"progressToken": 7}},
    }
    out = why(cassette, tmp_path, message).stdout
    assert out.strip() == (
        f'matches interaction {charge_index(cassette)}: tools/call charge_card {{"amount":100}} → charged 100, '
        "balance now 400"
    )


def test_why_json(cassette: Path, tmp_path: Path) -> None:
    data = json.loads(why(cassette, tmp_path, {"tool": "search", "arguments": {"query": "t"}}, "--json").stdout)
    assert data["matched"] is None
    assert data["mcp"] == {
        "server": "wallet-tools",
        "method": "tools/call",
        "name": "search",
        "arguments": {"query": "t"},
    }
    nearest = data["nearest"][0]
    assert nearest["call"].startswith('tools/call search {"query":"s"}')
    assert nearest["differences"] == ['arguments.query: "t" (recorded "s")']


def test_why_with_an_unknown_server_is_one_line_and_exit_2(cassette: Path, tmp_path: Path) -> None:
    result = why(cassette, tmp_path, {"tool": "search", "arguments": {}, "server": "nope"})
    assert result.returncode == 2
    assert "server 'nope' is not in the cassette (recorded: wallet-tools)" in " ".join(result.stderr.split())


async def charge(url: str, amount: int) -> tuple[bool, str]:
    async with Client(url, mode="auto", cache=None) as client:
        result = await client.call_tool("charge_card", {"amount": amount})
        return bool(result.is_error), result.content[0].text  # type: ignore[union-attr]


def test_a_call_refused_while_recording_is_journaled_with_its_diagnosis(cassette: Path, tmp_path: Path) -> None:
    """Record mode `none` answers from the cassette and refuses the rest: both are journal rows (kind mcp)."""
    journal = tmp_path / "journal.db"
    recorder = Recorder(cassette, "none", journal=JournalWriter(journal, source=str(cassette)))
    try:
        with recording_in_thread(McpRecorder(recorder, Upstream(command=STDIO_COMMAND))) as url:
            replayed = anyio.run(charge, url, 100)
            refused = anyio.run(charge, url, 250)
    finally:
        recorder.close()
    assert replayed == (False, "charged 100, balance now 400")
    assert refused[0] and "not available in this environment" in refused[1]
    calls = [c for c in read_calls(journal, session="recording", kind="mcp") if c.path == "/tools/call/charge_card"]
    assert [(c.json, c.matched, c.status) for c in calls] == [
        ({"amount": 100}, True, 200),
        ({"amount": 250}, False, 501),
    ]
    assert calls[1].diagnosis[0]["interaction"] == charge_index(cassette)
    assert json.loads(calls[1].response_body or "")["result"]["isError"] is True  # what the agent got

    out = hudproxy("journal", "--db", str(journal), "--unmatched").stdout
    assert 'asked: tools/call charge_card {"amount":250}' in out
    assert f"#1 nearest: interaction {charge_index(cassette)}: tools/call charge_card" in out
    assert "differs: arguments.amount: 250 (recorded 100)" in out


def test_journal_explains_a_call_the_replay_server_could_not_answer(cassette: Path, tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    with replaying(cassette, journal) as (base, _app):
        assert anyio.run(charge, f"{base}/s/agent-7/mcp", 7)[0]
    out = hudproxy("journal", "--db", str(journal), "--session", "agent-7", "--unmatched").stdout
    assert "— 1 calls" in out
    assert 'asked: tools/call charge_card {"amount":7}' in out
    assert "differs: arguments.amount: 7 (recorded 100)" in out
