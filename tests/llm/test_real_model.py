"""The real model: an eval of the shop with `--agent openai:smollm2` against llama-cpp-python's server (SmolLM2-135M),
its model calls recorded; then the same eval replayed with the server stopped gives identical transcripts,
journals and rewards. The tiny model rarely solves the task: this checks the plumbing, not the reward.

Skips locally with the install command when llama-cpp-python or the GGUF is missing; CI installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import llm_server as llm
import pytest
import sqlite_utils

from hudproxy.cassette.files import load_cassette
from tests.evaluation.eval_helpers import SHOP, rows

pytestmark = pytest.mark.slow
HUDPROXY = shutil.which("hudproxy") or "hudproxy"
KEY = "sk-local-5e4d3c2b1a0f9e8d7c6b"


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[llm.LlmServer]:
    """A server of this test's own (the session's `llm_server` must keep running for other tests): stopped
    mid-test, and again at the end whatever happened."""
    llm.skip_or_fail_if_missing()
    server = llm.start(log=tmp_path / "llama-server.log")
    try:
        yield server
    finally:
        server.stop()


def eval_command(out: Path, cassette: Path, mode: str, *extra: str) -> list[str]:
    return [HUDPROXY, "eval", str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent",
            f"openai:{llm.MODEL_ALIAS}", "--runs", "2", "--seed", "3", "--out", str(out), "--llm-cassette",
            str(cassette), "--llm-mode", mode, *extra]  # fmt: skip


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
def test_a_real_model_eval_replays_identically_with_the_server_stopped(
    own_server: llm.LlmServer, tmp_path: Path, stream: bool
) -> None:
    cassette, recorded, replayed = tmp_path / "llm.yaml", tmp_path / "recorded.db", tmp_path / "replayed.db"
    extra = ["--llm-stream"] if stream else []
    env = {**os.environ, "OPENAI_BASE_URL": own_server.base_url, "OPENAI_API_KEY": KEY, "COLUMNS": "200"}
    done = subprocess.run(eval_command(recorded, cassette, "record", *extra), capture_output=True, text=True,
                          timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    own_server.stop()
    del env["OPENAI_API_KEY"]
    again = subprocess.run(eval_command(replayed, cassette, "replay", *extra), capture_output=True, text=True,
                           timeout=120, env=env)  # fmt: skip
    assert again.returncode == 0, again.stderr
    for table in ("runs", "calls", "transcripts"):
        assert rows(replayed, table) == rows(recorded, table), table
    runs = rows(recorded, "runs")
    assert [r["error"] for r in runs] == [None, None]  # the model answered every call (whatever it said)
    calls = [c for c in rows(recorded, "calls") if c["kind"] == "llm"]
    assert calls and all(c["status"] == 200 and c["path"] == "/v1/chat/completions" for c in calls)
    interactions = load_cassette(cassette).interactions
    assert len(interactions) == len(calls) and KEY not in cassette.read_text()
    assert {i.request.headers and dict(i.request.headers).get("x-hudproxy-session") for i in interactions} == {
        "run-000000", "run-000001"}  # fmt: skip
    if stream:
        assert all(i.response.chunks for i in interactions)  # recorded event by event, replayed the same way
    else:
        assert all(r["prompt_tokens"] > 0 and r["completion_tokens"] > 0 for r in runs)  # llama.cpp's usage
    assert sqlite_utils.Database(replayed)["transcripts"].count == 2
