"""What a newcomer meets in the first hour (issue 15, items 9 and 10): --version, help that reads, suggestions that
fit, errors that say what to pass, the journal's words and order, the demo's story. Real processes, real servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi import FastAPI

from hudproxy import __version__
from hudproxy.cassette import save_cassette
from hudproxy.cli import COMMANDS as CLI_COMMANDS
from hudproxy.cli import app as cli_app
from hudproxy.cli.help import close_options
from hudproxy.journal.writer import JournalWriter
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.record.background import recording_proxy
from hudproxy.record.recorder import Recorder
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from hudproxy.serving import serve_in_thread
from hudproxy.testing import make_cassette, make_interaction, make_request, make_response

HUDPROXY = shutil.which("hudproxy") or "hudproxy"
WIDE = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
PIPED = {k: v for k, v in WIDE.items() if k != "COLUMNS"}  # what a user piping into a file or CI log has
COMMANDS = list(CLI_COMMANDS)
ROOT = Path(__file__).resolve().parents[2]


def hudproxy(*args: Any, env: dict[str, str] = WIDE, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HUDPROXY, *map(str, args)], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def hello_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/other")
    def other() -> dict[str, str]:
        return {"other": "answer"}

    return app


# ---------------------------------------------------------------- --version and help


def test_version_prints_the_package_version() -> None:
    result = hudproxy("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"hudproxy {__version__}")


def test_record_help_shows_each_example_on_its_own_line() -> None:
    out = hudproxy("record", "--help").stdout
    examples = [line for line in out.splitlines() if line.strip().startswith("Example:")]
    assert len(examples) == 5, out
    assert all(line.count("Example:") == 1 for line in examples)
    assert examples[0].strip() == (
        "Example: hudproxy record --target https://staging.example.com --cassette cassettes/shop.yaml --port 8080"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_repeatable_options_say_they_repeat_and_whether_commas_work(command: str) -> None:
    out = hudproxy(command, "--help").stdout
    assert "list[" not in out, out  # `<list[str]>` says neither
    if command in ("record", "replay"):
        assert "--match-on <str>,..." in out and "(repeatable, or comma-separated)" in out
        assert "--mcp-header <str> " in out  # a header value may hold a comma: one per flag
    if command == "eval":
        assert "--arg <str> " in out and "(repeatable)" in out


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        pytest.param("--prot", ["--port"], id="swapped-letters"),  # not --host, which only shares letters
        pytest.param("--tagret", ["--target"], id="target"),
        pytest.param("--record_mode", ["--record-mode"], id="underscore"),
        pytest.param("--mcp", ["--mcp-command", "--mcp-header", "--mcp-name", "--mcp-url"], id="prefix"),
        pytest.param("--timeout", [], id="nothing-close"),
        pytest.param("--jounral", ["--journal"], id="not-no-journal-too"),
    ],
)
def test_a_typo_suggests_close_matches_only(typed: str, meant: list[str]) -> None:
    record = typer.main.get_command(cli_app).commands["record"]  # type: ignore[attr-defined]
    options = [opt for param in record.params for opt in param.opts + param.secondary_opts]
    assert close_options(typed, options) == meant


def test_a_typo_d_flag_is_one_line_naming_the_close_option_only(tmp_path: Path) -> None:
    result = hudproxy("record", "--cassette", "c.yaml", "--prot", "9000", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "hudproxy record: no such option --prot; did you mean --port? (see `hudproxy record --help`)"
    )


def test_record_without_a_target_says_it_is_required_and_what_to_pass(tmp_path: Path) -> None:
    result = hudproxy("record", "--cassette", "c.yaml", "--port", free_port(), cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "reverse mode (the default) needs --target URL" in result.stderr
    assert "--target https://api.example.com" in result.stderr and "--mode forward" in result.stderr
    assert "not an http(s) URL" not in result.stderr


# ---------------------------------------------------------------- piped output is not cut at 80 columns


def test_piped_output_keeps_long_lines_whole() -> None:
    result = hudproxy("eval", ROOT / "envs" / "shop", env=PIPED, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    refund = next(line for line in result.stdout.splitlines() if line.strip().startswith("refund-order"))
    assert len(refund) > 80 and refund.rstrip().endswith("half the reward each."), result.stdout


# ---------------------------------------------------------------- eval with no scenario lists them


def test_eval_with_no_scenario_lists_the_scenarios_and_their_arguments() -> None:
    result = hudproxy("eval", "envs/shop", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "envs/shop: give --scenario NAME (with --arg KEY=VALUE) or --tasks FILE; its scenarios:"
    assert lines[1].startswith("  refund-order  --arg order_id=<str> --arg amount=<float>")
    assert lines[2].startswith("  update-order  --arg order_id=<str> [--arg status=shipped]")
    assert lines[3] == (
        "e.g. hudproxy eval envs/shop --scenario refund-order --arg order_id=<str> --arg amount=<float> --runs 10"
    )


# ---------------------------------------------------------------- the journal: --journal, order, words


def test_journal_takes_journal_like_record_and_replay_and_db_still_works(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cassette = save_cassette(make_cassette([make_interaction()]), tmp_path / "c.yaml")
    app = create_replay_app(cassette, ReplayOptions(journal=journal))
    with serve_in_thread(app) as url:
        httpx.get(f"{url}/s/zed/anything", trust_env=False)
    by_journal = json.loads(hudproxy("journal", "--journal", journal, "--json").stdout)
    by_db = json.loads(hudproxy("journal", "--db", journal, "--json").stdout)
    assert by_journal == by_db and [call["session"] for call in by_journal] == ["zed"]


def test_journal_lists_sessions_in_the_order_they_began(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    cassette = make_cassette([make_interaction(make_request("GET", "http://api.test/a"), make_response(json={}))])
    app = create_replay_app(save_cassette(cassette, tmp_path / "c.yaml"), ReplayOptions(journal=journal))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as client:
        for session in ("zed", "alice", "zed", "mia"):
            client.get(f"/s/{session}/a")
    calls = json.loads(hudproxy("journal", "--journal", journal, "--json").stdout)
    assert [(c["session"], c["seq"]) for c in calls] == [("zed", 1), ("zed", 2), ("alice", 1), ("mia", 1)]
    table = hudproxy("journal", "--journal", journal).stdout
    sessions = [line.split()[0] for line in table.splitlines() if line.split()[:1] in (["zed"], ["alice"], ["mia"])]
    assert sessions == ["zed", "zed", "alice", "mia"]


def test_a_recording_s_journal_rows_say_recorded_or_replayed(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    with serve_in_thread(hello_app()) as upstream:
        for mode in ("all", "new_episodes"):  # the second run answers /hello from the cassette, forwards /other
            recorder = Recorder(tmp_path / "c.yaml", mode, target=upstream, journal=JournalWriter(journal))
            with recording_proxy(recorder, upstream) as proxy:
                assert httpx.get(f"{proxy}/hello", trust_env=False).status_code == 200
                if mode == "new_episodes":
                    assert httpx.get(f"{proxy}/other", trust_env=False).status_code == 200
    out = hudproxy("journal", "--journal", journal, "--session", "recording").stdout
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == ["recording"]]
    expected = [("/hello", "recorded"), ("/hello", "replayed"), ("/other", "recorded")]
    assert [(row[4], row[6]) for row in rows] == expected, out  # columns: session seq time method path status result


# ---------------------------------------------------------------- passthrough says where misses go


def test_passthrough_names_its_target_at_start_and_says_each_miss_was_forwarded_and_appended(tmp_path: Path) -> None:
    cassette = tmp_path / "hello.yaml"
    port = free_port()
    with serve_in_thread(hello_app()) as upstream:
        recorder = Recorder(cassette, "all", target=upstream)
        with recording_proxy(recorder, upstream) as proxy:
            httpx.get(f"{proxy}/hello", trust_env=False)
        command = [HUDPROXY, "replay", cassette, "--port", port, "--unmatched", "passthrough", "--target", upstream,
                   "--no-journal"]  # fmt: skip
        process = subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=WIDE, cwd=tmp_path)  # fmt: skip
        try:
            assert wait_for_port("127.0.0.1", port, timeout=30), "hudproxy replay did not start"
            answer = httpx.get(f"http://127.0.0.1:{port}/other", trust_env=False, timeout=10)
        finally:
            process.terminate()
            out, err = process.communicate(timeout=30)
    assert answer.json() == {"other": "answer"}
    assert f"unmatched requests: forwarded (HTTP to {upstream}) and appended to {cassette}" in out, out
    flat = " ".join(err.split())
    assert f"passthrough: GET /other forwarded to {upstream} → 200; appended to {cassette} as interaction 1" in flat


# ---------------------------------------------------------------- the demo


def test_the_demo_explains_the_miss_before_its_warning_and_ends_with_a_next_step(tmp_path: Path) -> None:
    result = subprocess.run([HUDPROXY, "demo", "--runs", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=120, env=PIPED, cwd=tmp_path)  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out
    table, explained = out.index("recorded vs replayed"), out.index("5. a request nobody recorded")
    warning, client = out.index("WARNING  unmatched: GET /orders/A99"), out.index("the client gets 501")
    assert table < explained < warning < client, out
    assert out.rstrip().splitlines()[-4] == "Next, the same loop on your API:"
    assert "hudproxy record --target" in out[client:] and "hudproxy replay cassettes/mine.yaml" in out[client:]


def test_the_demo_never_overwrites_a_cassette_without_force(tmp_path: Path) -> None:
    mine = tmp_path / "shop.yaml"
    mine.write_text("version: 1\ninteractions: []\n")
    refused = hudproxy("demo", "--runs", "0", "--cassette", mine, cwd=tmp_path)
    assert refused.returncode == 2 and mine.read_text() == "version: 1\ninteractions: []\n"
    assert refused.stderr.strip() == (
        f"hudproxy: {mine} already exists and the demo records a fresh cassette: give a new path, or add --force to "
        "replace it."
    )
    forced = hudproxy("demo", "--runs", "0", "--cassette", mine, "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "GET /orders/A1" in mine.read_text() or "/orders/A1" in mine.read_text()
    assert f"hudproxy inspect {mine}" in forced.stdout
