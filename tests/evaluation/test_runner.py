"""run_eval: the same eval twice gives the same rewards and journals; crashes are rows, not the end; the results
database has the documented tables; the summary and `run_eval` on a loaded env agree."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from eval_helpers import NOTES, SHOP, SHOP_AGENT, SHOP_TASKS, fake_openai, rows

from hudproxy.env import Final, ScriptedAgent, ToolCall
from hudproxy.env.loader import load_env
from hudproxy.evaluation import run_eval
from hudproxy.evaluation.tasks import run_seed

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["replay", "in-process"])
async def test_two_evals_give_identical_rewards_and_journals(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if mode == "replay":
        monkeypatch.setenv("HUDPROXY_SHOP_MODE", "replay")  # every run its own session of cassettes/shop.yaml
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    for out in (first, second):
        await run_eval(SHOP, SHOP_TASKS, SHOP_AGENT, runs=10, concurrency=16, seed=3, out=out)
    runs = rows(first, "runs")
    expected = [1.0] * 10 + [0.0] * 10 + [1.0] * 10 if mode == "replay" else [1.0] * 30
    assert [r["reward"] for r in runs] == expected
    assert runs == rows(second, "runs")
    calls = rows(first, "calls")
    assert len(calls) > 60 and calls == rows(second, "calls")
    assert rows(first, "transcripts") == rows(second, "transcripts")


async def test_the_seed_reaches_the_agent_and_decides_the_journal(tmp_path: Path) -> None:
    tasks = [{"scenario": "own-note", "args": {"key": f"k{n}"}} for n in range(12)]
    outs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        outs[name] = tmp_path / f"{name}.db"
        await run_eval(NOTES, tasks, "scripted", concurrency=12, seed=seed, out=outs[name])
    pauses = {name: [c["request_body"] for c in rows(out, "calls") if c["path"] == "/tools/call/pause"]
              for name, out in outs.items()}  # fmt: skip
    assert pauses["a"] == pauses["b"] != pauses["c"]
    assert [r["seed"] for r in rows(outs["a"], "runs")] == [run_seed(1, n) for n in range(12)]


async def test_a_crashing_scenario_or_agent_is_an_error_row_and_the_eval_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    tasks = [{"scenario": "sometimes-crash", "args": {"n": n}} for n in range(1, 36)]
    summary = await run_eval(NOTES, tasks, "scripted", concurrency=8, out=out)
    crashed = {5, 10, 15, 20, 25, 30, 35}  # the scenario's setup raises
    failed = {7, 14, 21, 28}  # the agent raises (35 crashes first)
    assert (summary.finished, summary.errors) == (35, len(crashed | failed))
    runs = {r["idx"] + 1: r for r in sqlite_utils.Database(out)["runs"].rows}
    for n, run in runs.items():
        if n in crashed:
            assert "Traceback" in run["error"] and f"RuntimeError: scenario setup broke for n={n}" in run["error"]
        elif n in failed:
            assert run["error"].startswith("agent failed: ValueError")
            assert "Traceback" in run["error"] and "the agent's model is down" in run["error"]
        else:
            assert (run["error"], run["reward"]) == (None, 1.0)
    assert all(runs[n]["reward"] == 0.0 for n in crashed | failed)


async def test_results_database_has_the_documented_tables_and_links(tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    summary = await run_eval(SHOP, SHOP_TASKS, SHOP_AGENT, runs=2, out=out)
    db = sqlite_utils.Database(out)
    assert {"evals", "runs", "calls", "transcripts"} <= set(db.table_names())
    assert {fk.other_table for fk in db["calls"].foreign_keys} == {"runs"}
    assert {fk.other_table for fk in db["transcripts"].foreign_keys} == {"runs"}
    expected = {"scenario", "args", "agent", "seed", "reward", "subscores", "notes", "error", "started", "duration_ms"}
    assert expected <= set(db["runs"].columns_dict)
    (evaluation,) = db["evals"].rows
    assert evaluation["id"] == summary.eval_id and evaluation["status"] == "finished"
    assert (evaluation["planned"], evaluation["finished"], evaluation["mean_reward"]) == (6, 6, 1.0)  # in-process
    orphans = db.execute("SELECT count(*) FROM calls WHERE run_id NOT IN (SELECT id FROM runs)").fetchone()[0]
    assert orphans == 0 and db["transcripts"].count == 6
    run = next(db["runs"].rows_where("scenario = 'refund-order'"))
    paths = [c["path"] for c in db["calls"].rows_where("run_id = ?", [run["id"]], order_by="seq")]
    assert "/refunds" in paths and "/tools/call/send_email" in paths
    stats = summary.scenarios["update-order"]
    assert stats.runs == 4 and 0 < stats.percentile(50) <= stats.percentile(95)


async def test_run_eval_on_a_started_env_keeps_sessions_apart_and_takes_an_agent_object() -> None:
    env = load_env(SHOP)
    agent = ScriptedAgent([ToolCall("update_order", {"order_id": "A1", "status": "shipped"}), Final("done")])
    async with env:
        first = await run_eval(env, {"scenario": "update-order", "args": {"order_id": "A1"}}, agent, runs=5)
        second = await run_eval(env, [{"scenario": "update-order", "args": {"order_id": "A1"}}], agent, runs=5)
        assert env.started  # left as the caller had it
    assert (first.mean_reward, second.mean_reward) == (1.0, 1.0)
    assert first.agent == "ScriptedAgent"


async def test_stop_ends_the_eval_early_and_keeps_what_finished(tmp_path: Path) -> None:
    out, stop = tmp_path / "results.db", asyncio.Event()

    def on_result(record: Any, summary: Any) -> None:
        if summary.finished == 10:
            stop.set()

    summary = await run_eval(NOTES, {"scenario": "slow", "args": {"ms": 20}}, "scripted", runs=500, concurrency=4,
                             out=out, on_result=on_result, stop=stop)  # fmt: skip
    db = sqlite_utils.Database(out)
    assert summary.interrupted and 10 <= summary.finished < 500
    assert db["runs"].count == summary.finished == db["transcripts"].count
    assert next(iter(db["evals"].rows))["status"] == "interrupted"


async def test_a_stop_the_workers_see_first_is_still_an_interruption(tmp_path: Path) -> None:
    """Set before anything runs, `stop` ends every worker before its own waiter wakes: the eval is interrupted,
    not finished (a Ctrl-C race once reported exit 0 with 4,984 runs never started)."""
    stop = asyncio.Event()
    stop.set()
    summary = await run_eval(NOTES, {"scenario": "slow", "args": {"ms": 20}}, "scripted", runs=50, concurrency=4,
                             out=tmp_path / "results.db", stop=stop)  # fmt: skip
    assert summary.interrupted and summary.finished == 0


async def test_a_run_over_its_timeout_is_cancelled_and_recorded(tmp_path: Path) -> None:
    tasks = [{"scenario": "slow", "args": {"ms": 5000}}, {"scenario": "slow", "args": {"ms": 1}}]
    summary = await run_eval(NOTES, tasks, "scripted", timeout=0.2, out=tmp_path / "results.db")
    slow, quick = sqlite_utils.Database(tmp_path / "results.db")["runs"].rows_where(order_by="idx")
    assert slow["error"].startswith("TimeoutError: the run took longer than 0.2s") and slow["reward"] == 0.0
    assert quick["error"] is None and summary.errors == 1


async def test_openai_agents_play_the_runs_each_with_its_seed(
    upstream: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []
    monkeypatch.setenv("OPENAI_BASE_URL", f"{upstream(fake_openai(seen))}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    out = tmp_path / "results.db"
    summary = await run_eval(SHOP, SHOP_TASKS[0], "openai:fake-model", runs=4, seed=9, out=out)
    assert (summary.mean_reward, summary.agent) == (1.0, "openai:fake-model")
    assert sorted({body["seed"] for body in seen}) == sorted(run_seed(9, n) for n in range(4))
    transcripts = [json.loads(r["messages"]) for r in sqlite_utils.Database(out)["transcripts"].rows]
    assert [[m["role"] for m in t] for t in transcripts] == [["user", "assistant", "tool", "assistant"]] * 4
