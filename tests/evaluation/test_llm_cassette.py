"""An LLM agent's model calls recorded into an LLM cassette and replayed with the model server stopped: the same
transcripts, journals and rewards, run by run; usage and cost in the results; the provider key kept nowhere.

The model is tests/llm/fake_model.py on a real socket: it answers with a fresh nonce each time, so a replayed run
reproduces its transcript only by getting the answers recorded for that very run.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from eval_helpers import SHOP, rows

from hudproxy.cassette.files import load_cassette
from hudproxy.cli import main
from hudproxy.evaluation import run_eval
from hudproxy.llm import LlmCassette
from hudproxy.serving import serve_in_thread
from tests.llm.fake_model import fake_model

pytestmark = pytest.mark.anyio
TASK = {"scenario": "update-order", "args": {"order_id": "A1"}}
KEY = "sk-live-9f8e7d6c5b4a39281726354433221100"
HUDPROXY = shutil.which("hudproxy") or "hudproxy"


@pytest.fixture
def model_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`with model_env(seen) as base:` a fake model server, OPENAI_* pointing at it; stopped at the block's end."""
    import contextlib

    @contextlib.contextmanager
    def serving(seen: list[dict[str, Any]]) -> Any:
        with serve_in_thread(fake_model(seen)) as base:
            monkeypatch.setenv("OPENAI_BASE_URL", f"{base}/v1")
            monkeypatch.setenv("OPENAI_API_KEY", KEY)
            yield base
        monkeypatch.delenv("OPENAI_API_KEY")  # a replay needs no key (and the server is gone)

    return serving


@pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
async def test_a_replayed_eval_gives_the_recorded_transcripts_journals_and_rewards(
    model_env: Any, tmp_path: Path, stream: bool
) -> None:
    seen: list[dict[str, Any]] = []
    cassette, options = tmp_path / "llm.yaml", {"runs": 3, "seed": 4, "llm_stream": stream}
    with model_env(seen):
        recorded = await run_eval(SHOP, TASK, "openai:fake", out=tmp_path / "a.db", llm_cassette=cassette,
                                  llm_mode="record", **options)  # fmt: skip
    assert (recorded.mean_reward, recorded.errors, len(seen)) == (1.0, 0, 6)
    replayed = await run_eval(SHOP, TASK, "openai:fake", out=tmp_path / "b.db", llm_cassette=cassette,
                              llm_mode="replay", **options)  # fmt: skip
    assert (replayed.mean_reward, replayed.errors, len(seen)) == (1.0, 0, 6)  # the server was never asked again
    for table in ("runs", "calls", "transcripts"):
        assert rows(tmp_path / "b.db", table) == rows(tmp_path / "a.db", table), table
    runs = rows(tmp_path / "a.db", "runs")
    assert len({r["answer"] for r in runs}) == 3  # each run replayed its own answers (the model's nonces differ)
    assert [(r["prompt_tokens"], r["completion_tokens"]) for r in runs] == [(10 + 30, 14)] * 3
    llm_calls = [c for c in rows(tmp_path / "b.db", "calls") if c["kind"] == "llm"]
    assert [c["path"] for c in llm_calls] == ["/v1/chat/completions"] * 6
    assert all(c["status"] == 200 and '"usage"' in c["response_body"] for c in llm_calls)
    sessions = [i["request"]["headers"]["x-hudproxy-session"][0] for i in yaml.safe_load(cassette.read_text())
                ["interactions"]]  # fmt: skip
    assert sorted(sessions) == sorted(["run-000000", "run-000001", "run-000002"] * 2)


async def test_once_replays_the_recorded_runs_and_records_the_new_ones(model_env: Any, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    cassette = tmp_path / "llm.yaml"
    with model_env(seen):
        await run_eval(SHOP, TASK, "openai:fake", runs=2, out=tmp_path / "a.db", llm_cassette=cassette,
                       llm_mode="once")  # fmt: skip
        assert len(seen) == 4
        summary = await run_eval(SHOP, TASK, "openai:fake", runs=3, out=tmp_path / "b.db", llm_cassette=cassette,
                                 llm_mode="once")  # fmt: skip
    assert (summary.mean_reward, len(seen)) == (1.0, 6)  # only the third run asked the model
    assert rows(tmp_path / "b.db", "transcripts")[:2] == rows(tmp_path / "a.db", "transcripts")
    assert len(yaml.safe_load(cassette.read_text())["interactions"]) == 6


async def test_the_provider_key_never_reaches_the_cassette_or_the_journal(model_env: Any, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []
    cassette, out = tmp_path / "llm.yaml", tmp_path / "results.db"
    with model_env(seen):
        await run_eval(SHOP, TASK, "openai:fake", runs=2, out=out, llm_cassette=cassette, llm_mode="record",
                       llm_stream=True)  # fmt: skip
    assert {s["authorization"] for s in seen} == {f"Bearer {KEY}"}  # the model got the key...
    assert KEY not in cassette.read_text() and KEY[8:20] not in cassette.read_text()  # ...nothing kept it
    with sqlite3.connect(out) as db:
        dumped = "\n".join(db.iterdump())
    assert "chat/completions" in dumped and KEY not in dumped and KEY[8:20] not in dumped
    headers = yaml.safe_load(cassette.read_text())["interactions"][0]["request"]["headers"]
    assert headers["authorization"][0].startswith("Bearer SCRUBBED:authorization")


async def test_streamed_answers_replay_chunk_by_chunk_at_the_recorded_pace(model_env: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "llm.yaml"
    with model_env([]):
        await run_eval(SHOP, TASK, "openai:fake", out=tmp_path / "a.db", llm_cassette=cassette, llm_mode="record",
                       llm_stream=True)  # fmt: skip
    first = load_cassette(cassette).interactions[0]
    chunks = first.response.chunks
    assert len(chunks) > 3 and [c.at_ms for c in chunks] == sorted(c.at_ms for c in chunks)
    recorded = first.request.body
    with LlmCassette(cassette, "replay", stream_timing=True) as llm:
        started, pieces = time.perf_counter(), []
        headers = {"X-Hudproxy-Session": "run-000000", "content-type": "application/json"}
        with httpx.stream("POST", f"{llm.base_url}/chat/completions", content=recorded, headers=headers) as answer:
            pieces = [(time.perf_counter() - started, piece) for piece in answer.iter_raw()]
    body = b"".join(piece for _, piece in pieces).decode()
    assert len(pieces) > 3 and '"usage"' in body.split("data: ")[-2]  # the final usage event is replayed too
    assert pieces[-1][0] * 1000 >= chunks[-1].at_ms * 0.9  # never faster than recorded (a lower bound only)


async def test_a_run_the_cassette_never_saw_is_a_miss_naming_the_turn(model_env: Any, tmp_path: Path) -> None:
    cassette = tmp_path / "llm.yaml"
    with model_env([]):
        await run_eval(SHOP, TASK, "openai:fake", llm_cassette=cassette, llm_mode="record")
    other = {"scenario": "update-order", "args": {"order_id": "A1", "status": "paid"}}
    summary = await run_eval(SHOP, other, "openai:fake", llm_cassette=cassette, llm_mode="replay",
                             out=tmp_path / "b.db")  # fmt: skip
    (run,) = rows(tmp_path / "b.db", "runs")
    assert summary.errors == 1 and "answered 501" in run["error"]
    assert f"unmatched: POST /v1/chat/completions (--llm-cassette {cassette})" in run["error"]
    assert (
        "differs: body.messages[0] (turn 1, user).content: \"Update order A1 to paid. Answer 'done' when "
        'it is." (recorded "Update order A1 to shipped. Answer \'done\' when it is.")'
    ) in run["error"]
    (call,) = [c for c in rows(tmp_path / "b.db", "calls") if c["kind"] == "llm"]
    assert json.loads(call["response_body"])["error"] == "not_available"


def test_the_cli_records_replays_and_sums_tokens_and_cost(model_env: Any, tmp_path: Path) -> None:
    cassette, prices = tmp_path / "llm.yaml", tmp_path / "prices.yaml"
    prices.write_text("fake: {prompt: 1000, completion: 2000}\n")
    args = ["eval", str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", "openai:fake", "--runs", "2",
            "--llm-cassette", str(cassette), "--llm-prices", str(prices)]  # fmt: skip
    env = {**os.environ, "COLUMNS": "250"}
    with model_env([]) as base:
        env |= {"OPENAI_BASE_URL": f"{base}/v1", "OPENAI_API_KEY": KEY}
        recorded = subprocess.run([HUDPROXY, *args, "--llm-mode", "record"], capture_output=True, text=True,
                                  timeout=120, env=env)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    # 2 runs x (10 + 30 prompt, 14 completion): 80 x $1000/1M + 28 x $2000/1M
    assert "tokens 80 prompt + 28 completion ($0.1360)" in " ".join(recorded.stdout.split())
    env.pop("OPENAI_API_KEY")
    replayed = subprocess.run([HUDPROXY, *args, "--llm-mode", "replay", "--stream-timing"], capture_output=True,
                              text=True, timeout=120, env=env)  # fmt: skip
    assert replayed.returncode == 0, replayed.stderr
    shown = " ".join(replayed.stdout.split())
    assert "mean reward 1.000" in shown and "tokens 80 prompt + 28 completion ($0.1360)" in shown


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--llm-cassette", "/nonexistent/llm.yaml", "--llm-mode", "replay"], "no such cassette to replay"),
        (["--llm-cassette", "llm.yaml", "--llm-mode", "sometimes"], "unknown --llm-mode 'sometimes'"),
        (["--llm-mode", "replay"], "--llm-mode, --llm-stream and --stream-timing apply to --llm-cassette"),
        (["--llm-cassette", "llm.yaml", "--llm-prices", "/nonexistent/p.yaml"], "--llm-prices /nonexistent/p.yaml"),
    ],
    ids=["missing-cassette", "bad-mode", "mode-alone", "missing-prices"],
)
def test_bad_llm_options_are_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, extra: list[str],
    message: str,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with pytest.raises(SystemExit) as exited:
        main(["eval", str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--agent", "openai:fake", *extra])
    err = capsys.readouterr().err.strip()
    assert exited.value.code == 2 and len(err.splitlines()) == 1 and message in err, err
