"""Repeated trials on the real shop: each trial its own seed, and per task pass@1, pass@k, pass^k, the mean reward
with its 95% interval and the tasks whose outcome flips, in the summary, the results database and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlite_utils
from eval_helpers import HERE, SHOP, SHOP_AGENT

from hudproxy.evaluation import run_eval
from hudproxy.evaluation.reliability import pass_hat_k
from hudproxy.evaluation.store import RUNS, SCHEMA_VERSION, open_results

pytestmark = pytest.mark.anyio

COIN = f"{HERE / 'shop_trials.py'}:coin"
REFUND_ONLY = f"{HERE / 'shop_trials.py'}:refund_only"
HUDPROXY = shutil.which("hudproxy") or "hudproxy"
# the agent module imports `envs.shop`: the CLI process finds it from the repository's root, as pytest does
PYTHONPATH = os.pathsep.join(filter(None, [str(HERE.parent.parent), os.environ.get("PYTHONPATH", "")]))
ORDERS = [{"scenario": "refund-order", "args": {"order_id": f"A{n}", "amount": 1.5}} for n in range(1, 5)]


async def test_each_trial_gets_its_own_seed_and_each_task_its_reliability(tmp_path: Path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    summary = await run_eval(SHOP, ORDERS, COIN, runs=6, seed=11, out=first)
    await run_eval(SHOP, ORDERS, COIN, runs=6, seed=11, out=second)
    db = sqlite_utils.Database(first)
    runs = list(db["runs"].rows_where(order_by="idx"))
    seeds = [(r["task"], r["repeat"], r["seed"]) for r in runs]
    assert seeds == [(r["task"], r["repeat"], r["seed"]) for r in sqlite_utils.Database(second)["runs"].rows_where(
        order_by="idx")]  # the same eval, the same trial seeds  # fmt: skip
    stored = {row["task"]: row for row in db["tasks"].rows}
    assert sorted(stored) == [0, 1, 2, 3]
    flipping = 0
    for task in range(4):
        trials = [r for r in runs if r["task"] == task]
        assert sorted(r["repeat"] for r in trials) == list(range(6))
        assert len({r["seed"] for r in trials}) == 6  # a different seed for each trial
        assert [r["reward"] for r in trials] == [float(r["seed"] % 2) for r in trials]  # the coin agent's outcome
        passed = sum(r["seed"] % 2 for r in trials)
        figures = summary.tasks[task].reliability()
        assert figures is not None and (figures.k, figures.passed) == (6, passed)
        assert figures.pass_at_1 == pytest.approx(passed / 6)
        assert figures.pass_at_k == (1.0 if passed else 0.0) and figures.pass_hat_k == pass_hat_k(6, passed, 6)
        assert figures.flips == (0 < passed < 6)
        flipping += figures.flips
        row = stored[task]
        assert (row["scenario"], json.loads(row["args"])) == ("refund-order", ORDERS[task]["args"])
        assert (row["trials"], row["passed"], row["flips"], row["pass_threshold"]) == (6, passed, figures.flips, 1.0)
        assert row["pass_at_1"] == pytest.approx(figures.pass_at_1)
        assert row["interval_95"] == pytest.approx(figures.interval) and figures.interval > 0 if figures.flips else True
    assert flipping >= 1  # the premise: with these seeds the coin lands both ways somewhere
    table = summary.reliability_table()
    assert table is not None and "pass^6" in [c.header for c in table.columns]
    flips = f"{flipping} task flips" if flipping == 1 else f"{flipping} tasks flip"
    assert table.caption is not None and str(table.caption).startswith("4 tasks: mean pass@1 ")
    assert str(table.caption).endswith(f"; {flips} between trials")
    short = summary.reliability_table(limit=1)  # many tasks: the flipping ones first
    assert short is not None and short.row_count == 1 and "(shown: 1, flipping first" in str(short.caption)
    assert next(iter(short.columns[-1].cells)) == "flips"


async def test_a_task_files_repeats_wins_over_the_evals_and_one_trial_shows_no_reliability(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text("- {scenario: update-order, args: {order_id: A1}, repeats: 2}\n"
                     "- {scenario: refund-order, args: {order_id: A2, amount: 12.5}}\n")  # fmt: skip
    summary = await run_eval(SHOP, tasks, SHOP_AGENT, runs=3, out=tmp_path / "results.db")
    rows = {r["task"]: r for r in sqlite_utils.Database(tmp_path / "results.db")["tasks"].rows}
    assert [(rows[n]["planned"], rows[n]["trials"], rows[n]["pass_hat_k"], rows[n]["flips"]) for n in (0, 1)] == [
        (2, 2, 1.0, 0), (3, 3, 1.0, 0)]  # the scripted agent passes every trial  # fmt: skip
    single = await run_eval(SHOP, ORDERS[0], SHOP_AGENT, runs=1)
    assert single.reliability_table() is None and summary.reliability_table() is not None


async def test_the_pass_threshold_decides_what_partial_credit_counts_as(tmp_path: Path) -> None:
    task = {"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}}
    strict = await run_eval(SHOP, task, REFUND_ONLY, runs=3)
    lenient = await run_eval(SHOP, task, REFUND_ONLY, runs=3, pass_threshold=0.5)
    strict_figures, lenient_figures = strict.tasks[0].reliability(1.0), lenient.tasks[0].reliability(0.5)
    assert strict_figures is not None and lenient_figures is not None
    assert strict_figures.mean_reward == lenient_figures.mean_reward == 0.5  # refunded, never e-mailed
    assert (strict_figures.passed, strict_figures.pass_at_k) == (0, 0.0)
    assert (lenient_figures.passed, lenient_figures.pass_hat_k) == (3, 1.0)


def test_hudproxy_eval_repeats_prints_the_reliability_table(tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    result = subprocess.run(
        [HUDPROXY, "eval", str(SHOP), "-s", "refund-order", "--arg", "order_id=A2", "--arg", "amount=12.5",
         "--agent", REFUND_ONLY, "--repeats", "3", "--pass-threshold", "0.5", "--out", str(out)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200", "PYTHONPATH": PYTHONPATH},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "reliability over trials (pass: reward ≥ 0.5)" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "#1 refund-order" in line)
    cells = [cell.strip() for cell in line.strip()[1:-1].split("│")]
    assert cells == ["#1 refund-order amount=12.5 order_id=A2", "3", "3", "1.000", "1.000", "1.000",
                     "0.500 ± 0.000", ""]  # fmt: skip
    assert "done: 3/3 runs" in result.stdout
    (evaluation,) = sqlite_utils.Database(out)["evals"].rows
    assert evaluation["pass_threshold"] == 0.5


def test_a_threshold_that_is_not_a_number_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from hudproxy.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["eval", str(SHOP), "-s", "update-order", "--arg", "order_id=A1", "--pass-threshold", "nan"])
    err = capsys.readouterr().err.strip()
    assert exited.value.code == 2 and len(err.splitlines()) == 1, err
    assert "--pass-threshold must be a number" in err


def test_an_older_results_database_gains_the_trial_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    db["evals"].create({"id": str, "env": str}, pk="id")
    db["runs"].create({name: kind for name, kind in RUNS.items() if name != "task"}, pk="id")
    db.execute("PRAGMA user_version = 3")
    db.close()
    upgraded = open_results(path)
    assert "task" in upgraded["runs"].columns_dict and "pass_threshold" in upgraded["evals"].columns_dict
    assert "tasks" in upgraded.table_names()
    assert upgraded.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
