"""The test run's own modes (tests/testrun.py): the fast local loop, and stopping what the run started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import testrun

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("environ", "fast"),
    [
        pytest.param({}, False, id="default-runs-everything"),
        pytest.param({"HUDPROXY_TEST_FAST": "1"}, True, id="fast"),
        pytest.param({"HUDPROXY_TEST_FAST": "0"}, False, id="fast-0"),
        pytest.param({"HUDPROXY_TEST_FAST": "1", "CI": "true"}, False, id="ci-runs-everything"),
    ],
)
def test_the_fast_loop_is_local_only(environ: dict[str, str], fast: bool) -> None:
    assert testrun.fast_loop(environ) is fast


def test_the_fast_loop_skips_the_postgres_tests_without_starting_postgres() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", testrun.ENV)} | {"HUDPROXY_TEST_FAST": "1"}
    postgres = "tests/databases/test_postgres.py"
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", postgres]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" not in result.stdout and "skipped" in result.stdout
    assert "slow (a real engine); HUDPROXY_TEST_FAST=1 skips it" in result.stdout


def test_what_a_run_started_is_stopped_at_the_end_latest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(testrun.ENV, str(tmp_path / "started"))
    (tmp_path / "started").mkdir()
    order = tmp_path / "order.txt"
    server = subprocess.Popen(["sleep", "300"])  # a stand-in service: a real process the run "started"
    try:
        testrun.started("the sleeper", ["kill", "-TERM", str(server.pid)])
        testrun.started("the sleeper", ["false"])  # a second worker saw the same start: the first record wins
        testrun.started("the note", ["sh", "-c", f"echo note >> {order}"])
        lines = testrun.stop_all()
        assert server.wait(timeout=10) == -15
    finally:
        if server.poll() is None:
            server.kill()
    assert lines == ["stopped the note (this run started it)", "stopped the sleeper (this run started it)"]
    assert order.read_text() == "note\n"
    assert not (tmp_path / "started").exists() and testrun.stop_all() == []


def test_what_someone_else_still_uses_is_left_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(testrun.ENV, str(tmp_path / "started"))
    (tmp_path / "started").mkdir()
    server = subprocess.Popen(["sleep", "300"])
    try:
        testrun.started("the shared one", ["kill", "-TERM", str(server.pid)], busy=["echo", "2"])
        assert testrun.stop_all() == ["left the shared one running: something else still uses it (2)"]
        assert server.poll() is None
    finally:
        server.kill()
        server.wait(timeout=10)
