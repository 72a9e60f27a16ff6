"""`hudproxy replay --unmatched passthrough --mcp-command/--mcp-url`: a miss goes to a real MCP server, is
answered live, appended to the cassette and journaled; the next replay answers it from the cassette."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_helpers import (
    ERAS,
    STDIO_COMMAND,
    HttpUpstream,
    recording,
    replaying,
    stdio,
    wallet_exchanges,
    write_cassette,
)

from hudproxy import Replay
from hudproxy.cassette.files import load_cassette
from hudproxy.cli import main
from hudproxy.errors import ConfigError
from hudproxy.journal.query import read_calls
from hudproxy.mcp.exchange import from_interaction, is_mcp
from hudproxy.mcp.passthrough import attach_passthrough
from hudproxy.mcp.upstream import Upstream
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread


@contextlib.contextmanager
def passing_through(cassette: Path, upstream: Upstream, journal: Path) -> Iterator[str]:
    """A replay server whose MCP misses go to `upstream`; yields its base URL. The upstream is closed and the
    cassette flushed when the block ends (the server's lifespan)."""
    app = create_replay_app(cassette, ReplayOptions(journal=journal))
    attach_passthrough(app, "127.0.0.1", upstream)
    with serve_in_thread(app) as base:
        yield base


async def calls(url: str, era: str, script: list[tuple[str, dict[str, Any]]]) -> list[tuple[bool, str]]:
    """(isError, first text) for each tool call in `script`."""
    seen = []
    async with Client(url, mode=era, cache=None) as client:
        for name, arguments in script:
            result = await client.call_tool(name, arguments)
            seen.append((bool(result.is_error), result.content[0].text))  # type: ignore[union-attr]
    return seen


def tool_calls(cassette: Path) -> list[tuple[str, dict[str, Any]]]:
    exchanges = [from_interaction(i) for i in load_cassette(cassette).interactions if is_mcp(i)]
    return [(e.name or "", e.params.get("arguments") or {}) for e in exchanges if e.method == "tools/call"]


@pytest.mark.parametrize("era", ERAS)  # auto: the HTTP fast path resolves the call; legacy: the SDK path
def test_a_miss_is_forwarded_recorded_and_then_replayed(tmp_path: Path, http_upstream: HttpUpstream, era: str) -> None:
    cassette = tmp_path / "tools.yaml"
    with recording(cassette, Upstream(command=STDIO_COMMAND)) as url:
        assert anyio.run(calls, url, era, [("get_balance", {})]) == [(False, "balance: 500")]
    known = len(load_cassette(cassette).interactions)

    journal = tmp_path / "journal.db"
    script = [("get_balance", {}), ("charge_card", {"amount": 25})]
    with passing_through(cassette, Upstream(url=http_upstream.url), journal) as base:
        live = anyio.run(calls, f"{base}/s/pass/mcp", era, script)
    assert live == [(False, "balance: 500"), (False, "charged 25, balance now 475")]  # the second from the server
    assert tool_calls(cassette) == [("get_balance", {}), ("charge_card", {"amount": 25})]

    http_upstream.stop()  # no upstream now, and no passthrough: the cassette alone answers
    with replaying(cassette, journal) as (base, _):
        again = anyio.run(calls, f"{base}/s/again/mcp", era, [("charge_card", {"amount": 25})])
    assert again == [(False, "charged 25, balance now 475")]

    rows = [c for c in read_calls(journal, kind="mcp", session="pass") if c.path.startswith("/tools/call/")]
    assert [(c.path, c.json, c.matched) for c in rows] == [
        ("/tools/call/get_balance", {}, True),
        ("/tools/call/charge_card", {"amount": 25}, True),  # as HTTP passthrough: the interaction it became
    ]
    assert rows[0].interaction is not None and rows[0].interaction < known
    assert rows[1].interaction is not None and rows[1].interaction >= known  # not in the cassette at start
    assert "charged 25" in (rows[1].response_body or "")
    replayed = [c for c in read_calls(journal, kind="mcp", session="again") if c.path.startswith("/tools/call/")]
    assert [(c.matched, c.interaction) for c in replayed] == [(True, rows[1].interaction)]


def test_an_upstream_that_fails_gives_an_error_result_and_records_nothing(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    before = tool_calls(cassette)
    broken = Upstream(command=f"{sys.executable} -c 'raise SystemExit(3)'")
    with passing_through(cassette, broken, tmp_path / "journal.db") as base:
        seen = anyio.run(calls, f"{base}/mcp", "legacy", [("charge_card", {"amount": 7}), ("get_balance", {})])
    assert seen[0][0] is True and "could not be forwarded" in seen[0][1]
    assert seen[1] == (False, "balance: 500")  # recorded answers still come from the cassette
    assert tool_calls(cassette) == before and len(load_cassette(cassette).interactions) == len(wallet_exchanges())
    row = next(c for c in read_calls(tmp_path / "journal.db", kind="mcp") if c.json == {"amount": 7})
    assert (row.matched, row.status) == (False, 502)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0), " ".join(capsys.readouterr().err.split())


def test_passthrough_of_an_mcp_only_cassette_needs_an_mcp_upstream(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    code, err = run_main(capsys, "replay", str(cassette), "--unmatched", "passthrough", "--no-journal")
    assert code == 2 and "holds only MCP exchanges" in err
    assert "--mcp-command" in err and "--mcp-url" in err and "Traceback" not in err


def test_mcp_upstream_without_passthrough_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    code, err = run_main(capsys, "replay", str(cassette), "--mcp-command", STDIO_COMMAND, "--no-journal")
    assert code == 2 and "--unmatched passthrough" in err


def test_the_python_api_forwards_mcp_misses_and_records_them(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    with Replay(cassette, unmatched="passthrough", mcp_command=STDIO_COMMAND) as proxy:
        session = proxy.session("api")
        script = [("get_balance", {}), ("charge_card", {"amount": 7})]
        seen = anyio.run(calls, f"{session.base_url}/mcp", "auto", script)
        assert seen == [(False, "balance: 500"), (False, "charged 7, balance now 493")]  # recorded, then live
        session.assert_tool_called("charge_card", amount=7)
    assert tool_calls(cassette)[-1] == ("charge_card", {"amount": 7})


def test_the_python_api_refuses_an_mcp_upstream_without_passthrough(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    with pytest.raises(ConfigError, match="unmatched='passthrough'"):
        Replay(cassette, mcp_command=STDIO_COMMAND).start()
    with pytest.raises(ConfigError, match=r"holds only MCP exchanges.*mcp_command="):
        Replay(cassette, unmatched="passthrough").start()


async def stdio_calls(cassette: Path, script: list[tuple[str, dict[str, Any]]]) -> list[tuple[bool, str]]:
    """The tool calls of `script` through `hudproxy replay --stdio --unmatched passthrough`, launched as an agent
    launches its MCP server."""
    front = stdio("replay", str(cassette), "--stdio", "--unmatched", "passthrough", "--mcp-command", STDIO_COMMAND)
    seen = []
    async with Client(front, cache=None) as client:
        for name, arguments in script:
            result = await client.call_tool(name, arguments)
            seen.append((bool(result.is_error), result.content[0].text))  # type: ignore[union-attr]
    return seen


def test_passthrough_over_a_stdio_front(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    seen = anyio.run(stdio_calls, cassette, [("charge_card", {"amount": 100}), ("charge_card", {"amount": 8})])
    assert seen == [(False, "charged 100"), (False, "charged 8, balance now 492")]  # recorded, then live
    assert tool_calls(cassette)[-1] == ("charge_card", {"amount": 8})
