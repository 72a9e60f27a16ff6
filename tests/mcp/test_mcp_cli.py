"""The commands as an agent and a developer use them: stdio both ways, HTTP ports, and `inspect`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp_helpers import (
    STDIO_COMMAND,
    HttpUpstream,
    agent,
    free_port,
    hudproxy_cli,
    inspect_output,
    stdio,
    texts,
    wallet_exchanges,
    write_cassette,
)

from hudproxy.cli import main
from hudproxy.journal.query import read_calls

EXPECTED = ["balance: 500", "charged 100, balance now 400", "balance: 400", "3 results for 's'"]


@contextlib.contextmanager
def hudproxy(*args: str) -> Iterator[tuple[int, list[str]]]:
    """`hudproxy ARGS --port P` in the background until its port accepts; Ctrl-C (SIGINT) at the end. Yields (P,
    output lines, filled once it stopped)."""
    port = free_port()
    with hudproxy_cli(*args, port=port) as (_, output):
        yield port, output


def test_record_over_http_then_replay_over_http(tmp_path: Path) -> None:
    cassette = tmp_path / "tools.yaml"
    with hudproxy("record", "--mcp-command", STDIO_COMMAND, "--cassette", str(cassette)) as (port, recorder):
        recorded = anyio.run(agent, f"http://127.0.0.1:{port}/mcp", "auto")
    assert "stopped: 8 new exchanges" in "\n".join(recorder)
    with hudproxy("replay", str(cassette), "--no-journal") as (port, replayer):
        replayed = anyio.run(agent, f"http://127.0.0.1:{port}/mcp", "auto")
    assert "MCP (wallet-tools): http://127.0.0.1" in "\n".join(replayer)
    assert texts(recorded) == EXPECTED
    assert replayed == recorded


@pytest.mark.parametrize("era", ["auto", "legacy"])
def test_record_http_upstream_over_stdio_then_replay_over_stdio(
    tmp_path: Path, http_upstream: HttpUpstream, era: str
) -> None:
    cassette, journal = tmp_path / "tools.yaml", tmp_path / "journal.db"
    recording = stdio("record", "--mcp-url", http_upstream.url, "--cassette", str(cassette), "--stdio")
    recorded = anyio.run(agent, recording, era)
    http_upstream.stop()
    replaying = stdio("replay", str(cassette), "--stdio", "--journal", str(journal), "--session", "agent-1")
    replayed = anyio.run(agent, replaying, era)
    assert texts(recorded) == EXPECTED
    assert replayed == recorded
    calls = read_calls(journal, session="agent-1", kind="mcp")
    assert [c.json for c in calls if c.path == "/tools/call/charge_card"] == [{"amount": 100}]


def test_headers_and_secret_arguments_never_reach_the_cassette(tmp_path: Path, http_upstream: HttpUpstream) -> None:
    cassette = tmp_path / "tools.yaml"
    recording = stdio(
        "record", "--mcp-url", http_upstream.url, "--mcp-header", "X-Api-Key: hdr-s3cret", "--cassette", str(cassette),
        "--stdio",
    )  # fmt: skip

    async def login(target: object) -> str:
        from mcp import Client

        async with Client(target, mode="legacy", cache=None) as client:  # type: ignore[arg-type]
            result = await client.call_tool("login", {"user": "ann", "password": "pw-s3cret"})
            return result.content[0].text  # type: ignore[union-attr]

    assert anyio.run(login, recording) == "welcome ann"
    http_upstream.stop()
    stored = cassette.read_text()
    assert "s3cret" not in stored and "SCRUBBED" in stored
    # a scrubbed recording still matches the live call that carries the real secret
    assert anyio.run(login, stdio("replay", str(cassette), "--stdio", "--no-journal")) == "welcome ann"


def test_inspect_shows_tool_calls_with_arguments_and_results(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "wallet.yaml", wallet_exchanges())
    shown = inspect_output(cassette)
    assert 'tools/call charge_card {"amount":100} → charged 100' in shown
    assert "tools/list → 3 tools" in shown
    assert 'tools/call charge_card {"amount":99999} → error -32603: card declined' in shown


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`hudproxy ARGS` in this process: (exit code, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--mcp-command", "x", "--mcp-url", "http://h/mcp"], "exactly one of", id="both-upstreams"),
        pytest.param(["--mcp-url", "ftp://h/mcp"], "http:// or https://", id="bad-url"),
        pytest.param(["--stdio"], "--stdio records MCP", id="stdio-without-upstream"),
        pytest.param(["--mcp-header", "X: y"], "--mcp-header needs --mcp-url", id="header-without-url"),
        pytest.param(["--mcp-command", "definitely-not-a-program-xyz"], "could not connect", id="no-such-command"),
    ],
)
def test_bad_mcp_options_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    port = str(free_port())
    code, err = run_main(capsys, "record", "--cassette", str(tmp_path / "c.yaml"), *args, "--port", port)
    assert code == 2
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_replay_stdio_of_a_cassette_without_mcp_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = tmp_path / "http.yaml"
    cassette.write_text("version: 1\ninteractions: []\n")
    code, err = run_main(capsys, "replay", str(cassette), "--stdio", "--no-journal")
    assert code == 2 and "holds no MCP exchanges" in " ".join(err.split())
