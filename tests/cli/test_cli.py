"""The `hudproxy` command as a user runs it: real subprocesses, help with examples, one-line errors, replay, demo."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from hudproxy.cli import COMMANDS as CLI_COMMANDS
from hudproxy.netutil import free_port, wait_for_port
from hudproxy.record.background import recording_proxy
from hudproxy.record.recorder import Recorder
from hudproxy.serving import serve_in_thread

HUDPROXY = shutil.which("hudproxy") or "hudproxy"
ENV = {**os.environ, "COLUMNS": "200"}  # rich wraps at 80 columns when it is not writing to a terminal
COMMANDS = list(CLI_COMMANDS)


def hudproxy(*args: Any, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HUDPROXY, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV, cwd=cwd
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(("hudproxy:", "hudproxy ")), lines[0]
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def hello_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cassette recorded through the real proxy: one `GET /hello`."""
    path = tmp_path_factory.mktemp("cli") / "hello.yaml"
    with serve_in_thread(hello_app()) as upstream:
        recorder = Recorder(path, "all", target=upstream)
        with recording_proxy(recorder, upstream) as proxy, httpx.Client(trust_env=False, timeout=10) as client:
            assert client.get(f"{proxy}/hello").status_code == 200
    return path


# ---------------------------------------------------------------- help


@pytest.mark.parametrize("command", ["", *COMMANDS], ids=["hudproxy", *COMMANDS])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = hudproxy(*([command] if command else []), "--help")
    assert result.returncode == 0, result.stderr
    assert "Example" in result.stdout
    if not command:
        assert all(f"  {name} " in result.stdout for name in COMMANDS), result.stdout


def test_no_arguments_shows_the_help_without_a_traceback() -> None:
    result = hudproxy()
    assert "Traceback" not in result.stderr
    assert result.returncode == 0
    assert "Usage: hudproxy" in result.stdout + result.stderr


# ---------------------------------------------------------------- bad input: one line, exit code 2

RECORD = ["record", "--target", "http://127.0.0.1:9", "--cassette", "{new}", "--port", "{port}"]
REPLAY = ["replay", "{good}", "--port", "{port}"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        pytest.param(["inspect", "{good}", "--bogus"], ["--bogus"], id="unknown-flag"),
        pytest.param(["bogus"], ["bogus"], id="unknown-command"),
        pytest.param(["replay", "{missing}", "--port", "{port}"], ["{missing}", "no such cassette file"],
                     id="missing-cassette"),
        pytest.param(["inspect", "{v2}"], ["{v2}:1:", "unsupported cassette version 2"], id="wrong-version"),
        pytest.param(["inspect", "{bad}"], ["{bad}:5:", "not valid YAML"], id="malformed-yaml"),
        pytest.param([*RECORD, "--record-mode", "sometimes"], ["'sometimes'", "once, new_episodes, all, none"],
                     id="invalid-record-mode"),
        pytest.param([*RECORD, "--match-on", "colour"], ["'colour'", "method, scheme, host, port, path, query, body"],
                     id="invalid-match-on"),
        pytest.param(["record", "--target", "not-a-url", "--cassette", "{new}", "--port", "{port}"],
                     ["'not-a-url'", "http(s) URL"], id="target-not-a-url"),
        pytest.param(["record", "--cassette", "{new}", "--port", "{port}"], ["--target"], id="target-missing"),
        pytest.param([*REPLAY[:-1], "{busy}"], ["cannot listen on 127.0.0.1:{busy}"], id="port-in-use"),
        pytest.param([*REPLAY, "--unmatched", "passthrough"], ["passthrough", "--target"],
                     id="passthrough-without-target"),
        pytest.param([*REPLAY[:-1], "99999"], ["port 99999 is out of range"], id="port-out-of-range"),
        pytest.param([*REPLAY, "--journal", "/proc/nope/journal.db"], ["/proc/nope/journal.db", "cannot create"],
                     id="journal-unwritable"),
        pytest.param([*REPLAY, "--journal", "{bad}"], ["{bad}", "cannot use it as a journal"], id="journal-not-sqlite"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(
    args: list[str], fragments: list[str], recorded: Path, tmp_path: Path, busy_port: int
) -> None:
    v2 = tmp_path / "v2.yaml"
    v2.write_text("version: 2\ninteractions: []\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ninteractions:\n- request:\n    method: GET\n   uri: http://x/\n")  # line 5
    names = {"good": recorded, "missing": tmp_path / "missing.yaml", "v2": v2, "bad": bad,
             "new": tmp_path / "new.yaml", "port": free_port(), "busy": busy_port}  # fmt: skip
    result = hudproxy(*(a.format(**names) for a in args), cwd=tmp_path)
    assert_one_line_error(result, *(f.format(**names) for f in fragments))
    assert not (tmp_path / "new.yaml").exists(), "a refused `record` must not create the cassette"


def test_a_usage_error_stays_on_one_line_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    narrow = {k: v for k, v in ENV.items() if k != "COLUMNS"}
    args = ["record", "--cassette", "c.yaml", "--tagret", "http://127.0.0.1:9"]
    result = subprocess.run([HUDPROXY, *args], capture_output=True, text=True, timeout=60, env=narrow, cwd=tmp_path)
    assert_one_line_error(result, "--tagret")


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# ---------------------------------------------------------------- replay and demo as processes


def test_replay_serves_the_recording_and_501_for_anything_else(recorded: Path, tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [HUDPROXY, "replay", str(recorded), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=tmp_path,
    )
    try:
        assert wait_for_port("127.0.0.1", port, timeout=20), "hudproxy replay did not start listening"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=10) as client:
            known, unknown = client.get("/hello"), client.get("/goodbye")
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            err = process.communicate(timeout=15)[1]
        except subprocess.TimeoutExpired:
            process.kill()
            err = process.communicate(timeout=5)[1]
    assert (known.status_code, known.json()) == (200, {"hello": "world"})
    assert unknown.status_code == 501
    assert unknown.headers["x-hudproxy-unmatched"] == "1"
    assert "GET /goodbye" in unknown.json()["message"]
    assert "unmatched: GET /goodbye" in err
    assert "nearest: interaction 0: GET /hello" in err
    assert process.returncode == 0, err  # a clean SIGTERM shutdown exits 0 (serving.ForegroundServer)
    assert "Traceback" not in err


def test_demo_replays_every_answer_as_recorded(tmp_path: Path) -> None:
    result = hudproxy("demo", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every replayed answer equals the recorded one" in result.stdout


def test_python_dash_m_hudproxy_runs_the_cli() -> None:
    """Where the console script is not on PATH (a venv not activated), `python -m hudproxy` is the same CLI."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "hudproxy", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "replay" in done.stdout
