"""The Ray backend on a local Ray instance (2 CPUs): the same eval as the local backend, run by two actors that each
load the environment (and start its replay) themselves, gives the same rewards, journals and transcripts."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlite_utils
from eval_helpers import NOTES, SHOP, SHOP_AGENT, SHOP_TASKS, rows

from hudproxy.errors import ConfigError
from hudproxy.evaluation import run_eval

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")


def test_ray_and_local_backends_give_the_same_rewards_and_journals(
    local_ray: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUDPROXY_SHOP_MODE", "replay")  # passed on to the workers: each starts its own replay
    local, spread = tmp_path / "local.db", tmp_path / "ray.db"
    options = {"runs": 20, "concurrency": 16, "seed": 5}
    asyncio.run(run_eval(SHOP, SHOP_TASKS, SHOP_AGENT, out=local, **options))
    summary = asyncio.run(run_eval(SHOP, SHOP_TASKS, SHOP_AGENT, out=spread, backend="ray", workers=2, **options))
    assert (summary.backend, summary.finished, summary.errors) == ("ray", 60, 0)
    assert [r["reward"] for r in rows(spread, "runs")] == [1.0] * 20 + [0.0] * 20 + [1.0] * 20
    for table in ("runs", "calls", "transcripts"):
        assert rows(spread, table) == rows(local, table), table
    workers = {r["worker"] for r in sqlite_utils.Database(spread)["runs"].rows}
    assert len(workers) == 2 and not any(w.endswith(f":{os.getpid()}") for w in workers)  # two actors, not us


def test_per_run_databases_and_crashes_work_the_same_on_ray(local_ray: str) -> None:
    tasks = [{"scenario": "own-note", "args": {"key": f"k{n}"}} for n in range(30)]
    tasks += [{"scenario": "sometimes-crash", "args": {"n": n}} for n in range(1, 11)]
    summary = asyncio.run(run_eval(NOTES, tasks, "scripted", concurrency=8, backend="ray", workers=2))
    assert summary.scenarios["own-note"].mean_reward == 1.0  # each run its own SQLite copy, inside the actor
    assert (summary.scenarios["sometimes-crash"].runs, summary.scenarios["sometimes-crash"].errors) == (10, 3)


def test_the_cli_spreads_runs_over_a_running_cluster(local_ray: str, tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    command = [shutil.which("hudproxy") or "hudproxy", "eval", str(SHOP), "-s", "update-order", "--arg", "order_id=A1",
               "--agent", SHOP_AGENT, "--runs", "30", "--backend", "ray", "--ray-address", local_ray, "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "done: 30/30 runs" in result.stdout and "(ray, seed 0)" in result.stdout
    assert sqlite_utils.Database(out)["runs"].count == 30


def test_ray_needs_the_environment_file(local_ray: str) -> None:
    from hudproxy.env import Environment

    env = Environment("inline")  # defined here, in a test module: no env file a worker could load

    @env.scenario("noop")
    async def noop():
        yield "Nothing."
        yield 1.0

    with pytest.raises(ConfigError, match="--backend ray: each worker loads the environment from its file"):
        asyncio.run(run_eval(env, {"scenario": "noop"}, lambda scenario, args: [], backend="ray"))
