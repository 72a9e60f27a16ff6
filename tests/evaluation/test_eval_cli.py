"""`hudproxy eval` as a user runs it: bad input is one line and exit 2; a real run fills the results database;
Ctrl-C (SIGINT to the process) stops cleanly and keeps the runs that finished."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlite_utils
from eval_helpers import NOTES, SHOP, SHOP_AGENT

from hudproxy.cli import main

HUDPROXY = shutil.which("hudproxy") or "hudproxy"
ENV = {**os.environ, "COLUMNS": "200"}


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exited:
        main(["eval", *args])
    err = capsys.readouterr().err.strip()
    assert exited.value.code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(("hudproxy:", "hudproxy eval")), err
    return err


BAD = [
    pytest.param(["/nonexistent/env", "-s", "x"], "not an environment folder", id="no-env"),
    pytest.param([str(SHOP), "-s", "nope"], "unknown scenario 'nope'; 'shop' defines: refund-order, update-order",
                 id="unknown-scenario"),
    pytest.param([str(SHOP), "-s", "update-order"], "order_id: Missing required argument", id="missing-arg"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id"], "expected KEY=VALUE", id="bad-arg"),
    pytest.param([str(SHOP), "--arg", "order_id=A1"], "--arg applies to --scenario", id="arg-alone"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--runs", "0"], "--runs must be at least 1",
                 id="runs-0"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--backend", "spark"],
                 "unknown --backend 'spark'; valid values: local, ray", id="backend"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", "careful"],
                 "environment 'shop' registers no such agent (registered: scripted)", id="unregistered-agent"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", "no.such.module:f"],
                 "cannot import 'no.such.module'", id="agent-import"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", "envs.shop.agents:x"],
                 "has no callable 'x'", id="agent-attr"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--runs", "x"], "Invalid value for '--runs'",
                 id="runs-not-int"),
    pytest.param([str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--ray-env", "HUDPROXY_NO_SUCH_VARIABLE"],
                 "--ray-env HUDPROXY_NO_SUCH_VARIABLE: no such variable is set here", id="ray-env"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert message in one_line_error(capsys, *args)


def test_bad_files_name_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"scenario": "update-order", "args": {"order_id": "A1"}}\n{"scenario": "ship-it"}\n')
    assert f"{tasks}:2: unknown scenario 'ship-it'" in one_line_error(capsys, str(SHOP), "--tasks", str(tasks))
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello, this is not a database\n" * 100)
    args = [str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", SHOP_AGENT, "--out", str(not_sqlite)]
    assert f"--out {not_sqlite}: not a SQLite database" in one_line_error(capsys, *args)


def test_openai_agent_needs_a_key(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    message = one_line_error(capsys, str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", "openai:gpt")
    assert "--agent openai:gpt needs an API key: set OPENAI_API_KEY" in message


def test_a_real_eval_prints_the_table_and_fills_the_results_database(tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    result = subprocess.run(
        [HUDPROXY, "eval", str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "-s", "refund-order", "--arg",
         "amount=12.5", "--agent", SHOP_AGENT, "--runs", "20", "--concurrency", "8", "--out", str(out)],
        capture_output=True, text=True, timeout=60, env=ENV,
    )  # fmt: skip
    # both scenarios get both --arg values; update-order takes no amount, so this is a mistake caught up front
    assert result.returncode == 2 and "amount: Unexpected keyword argument" in result.stderr
    result = subprocess.run(
        [HUDPROXY, "eval", str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", SHOP_AGENT,
         "--runs", "20", "--concurrency", "8", "--out", str(out), "--seed", "4"],
        capture_output=True, text=True, timeout=60, env=ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "update-order" in result.stdout and "done: 20/20 runs" in result.stdout
    assert "mean reward 1.000" in result.stdout
    assert "status 1.00, used_update_tool 1.00" in result.stdout  # the rubric's criteria, mean per scenario
    assert "20/20" in result.stderr and "rewards 1.0 x20" in result.stderr  # the live progress line
    db = sqlite_utils.Database(out)
    assert db["runs"].count == 20 and db["transcripts"].count == 20
    assert db["calls"].count == 20 * 2  # the agent's tool call and its HTTP call (the rubric's read is not journaled)
    assert db["scores"].count == 20 * 4 and db["end_states"].count == 20  # two gates, two criteria per run
    assert {r["seed"] for r in db["runs"].rows} != {4}  # each run its own seed, derived from --seed


def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    process = subprocess.Popen(
        [HUDPROXY, "eval", str(NOTES), "-s", "slow", "--arg", "ms=50", "--runs", "5000", "--concurrency", "4",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while _finished(out) < 8:
            assert process.poll() is None and time.monotonic() < deadline, process.communicate()
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted; kept" in stderr and "interrupted:" in stdout
    db = sqlite_utils.Database(out)
    (evaluation,) = db["evals"].rows
    finished = db["runs"].count
    assert evaluation["status"] == "interrupted" and 8 <= finished == evaluation["finished"] < 5000
    assert db["transcripts"].count == finished and {r["error"] for r in db["runs"].rows} == {None}
    assert f"kept {finished} finished runs" in stderr


def _finished(out: Path) -> int:
    if not out.exists():
        return 0
    try:
        db = sqlite_utils.Database(out)
        return db["runs"].count if "runs" in db.table_names() else 0
    except Exception:  # the file is being created
        return 0


if sys.platform == "win32":  # pragma: no cover
    pytestmark = pytest.mark.skip("SIGINT semantics differ on Windows")
