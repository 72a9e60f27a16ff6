"""`faults:` in a task file: the same scenario run calm and under faults in one eval, rewards compared per group;
a bad rule in a task names the task file's line. Real eval runs over envs/todos (a replay the environment serves)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from hudproxy.errors import ConfigError
from hudproxy.evaluation import load_tasks, run_eval
from hudproxy.evaluation.tasks import plan

TODOS = Path(__file__).resolve().parents[2] / "envs" / "todos"
pytestmark = pytest.mark.anyio
TASKS = """\
- {scenario: add-todo, args: {title: sow beans}, repeats: 2}
- {scenario: add-todo, args: {title: sow beans}, repeats: 2, faults: faults/todo-down.yaml}
- scenario: add-todo
  args: {title: sow beans}
  faults: {name: slow, seed: 1, rules: [{match: {method: GET}, latency: 5}]}
"""
DOWN = """\
seed: 7
rules:
  - name: create-fails
    match: {method: POST, path: /users/*/todos}
    fault: {kind: status, status: 503, headers: {Retry-After: "1"}}
"""


def write_tasks(tmp_path: Path, tasks: str = TASKS) -> Path:
    (tmp_path / "faults").mkdir(exist_ok=True)
    (tmp_path / "faults" / "todo-down.yaml").write_text(DOWN)
    path = tmp_path / "tasks.yaml"
    path.write_text(tasks)
    return path


def test_task_faults_load_from_a_file_beside_the_tasks_or_inline(tmp_path: Path) -> None:
    calm, down, slow = load_tasks(write_tasks(tmp_path))
    assert (calm.faults, down.faults_name, slow.faults_name) == (None, "todo-down", "slow")
    assert down.faults is not None and down.faults["rules"][0]["fault"]["status"] == 503
    specs = list(plan([calm, down, slow], runs=1, seed=0))
    assert [s.faults is not None for s in specs] == [False, False, True, True, True]


def test_a_bad_rule_in_a_task_names_the_task_line_and_the_rule(tmp_path: Path) -> None:
    bad = "- {scenario: add-todo, args: {title: x}}\n- {scenario: add-todo, faults: {rules: [{nth: 0, latency: 1}]}}\n"
    with pytest.raises(ConfigError, match=r"tasks\.yaml:2: faults: rule 1: nth: nth counts calls from 1, not 0"):
        load_tasks(write_tasks(tmp_path, bad))
    missing = "- {scenario: add-todo, faults: nowhere.yaml}\n"
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: cannot read the faults file"):
        load_tasks(write_tasks(tmp_path, missing))


async def test_one_eval_runs_the_scenario_calm_and_under_faults(tmp_path: Path) -> None:
    out = tmp_path / "results.db"
    summary = await run_eval(TODOS, write_tasks(tmp_path), "scripted", out=out, generalise=True, concurrency=2)
    rewards = {group: (stats.runs, stats.mean_reward) for group, stats in summary.scenarios.items()}
    assert rewards == {"add-todo": (2, 1.0), "add-todo [todo-down]": (2, 0.0), "add-todo [slow]": (1, 1.0)}
    db = sqlite_utils.Database(out)
    runs = {r["id"]: r["faults"] for r in db["runs"].rows}
    faulted = [(runs[c["run_id"]], c["kind"], c["status"], c["fault"]) for c in db["calls"].rows if c["fault"]]
    assert faulted == [("todo-down", "fault", 503, "create-fails")] * 2
    assert sorted(set(runs.values()), key=str) == [None, "slow", "todo-down"]
