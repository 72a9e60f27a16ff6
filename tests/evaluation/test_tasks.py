"""Task files: YAML lists and JSONL lines of {scenario, args, repeats}; every bad entry named by file and line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from eval_helpers import SHOP, SHOP_AGENT_PATH

from hudproxy.env.loader import load_env
from hudproxy.errors import ConfigError
from hudproxy.evaluation import Task, load_tasks, run_eval
from hudproxy.evaluation.tasks import check_tasks, plan

YAML_TASKS = """\
# two tasks
- scenario: update-order
  args: {order_id: A1}
  repeats: 3
- {scenario: refund-order, args: {order_id: A2, amount: 12.5}}
"""
JSONL_TASKS = """\
{"scenario": "update-order", "args": {"order_id": "A1"}, "repeats": 3}

{"scenario": "refund-order", "args": {"order_id": "A2", "amount": 12.5}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("name", "text"), [("tasks.yaml", YAML_TASKS), ("tasks.jsonl", JSONL_TASKS)])
def test_yaml_and_jsonl_give_the_same_tasks(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path, name, text)
    tasks = load_tasks(path)
    assert [(t.scenario, t.args, t.repeats) for t in tasks] == [
        ("update-order", {"order_id": "A1"}, 3),
        ("refund-order", {"order_id": "A2", "amount": 12.5}, None),
    ]
    lines = [2, 5] if name.endswith("yaml") else [1, 3]
    assert [t.where for t in tasks] == [f"{path}:{line}" for line in lines]
    specs = list(plan(tasks, runs=2, seed=0))
    assert [(s.index, s.scenario, s.repeat, s.session) for s in specs] == [
        (0, "update-order", 0, "run-000000"), (1, "update-order", 1, "run-000001"),
        (2, "update-order", 2, "run-000002"), (3, "refund-order", 0, "run-000003"),
        (4, "refund-order", 1, "run-000004"),
    ]  # fmt: skip


BAD_YAML = [
    pytest.param("", "the task file is empty", id="empty"),
    pytest.param("scenario: x\n", ":1: a task file is a list of tasks", id="not-a-list"),
    pytest.param("- {scenario: update-order}\n- [1, 2]\n", ":2: a task must be a mapping", id="not-a-mapping"),
    pytest.param("- scenario: update-order\n  arguments: {}\n", ":1: unknown key(s) arguments", id="unknown-key"),
    pytest.param("- args: {order_id: A1}\n", ":1: `scenario` must be a scenario name", id="no-scenario"),
    pytest.param("- {scenario: update-order, args: [A1]}\n", ":1: `args` must be a mapping", id="args-list"),
    pytest.param("- {scenario: update-order, repeats: 0}\n", ":1: `repeats` must be a whole number", id="repeats-0"),
    pytest.param("- scenario: update-order\n\targs: {}\n", ":2: not valid YAML", id="broken-yaml"),
]


@pytest.mark.parametrize(("text", "message"), BAD_YAML)
def test_a_bad_yaml_entry_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "tasks.yaml", text)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_tasks(path)
    assert str(caught.value).startswith(str(path))


def test_a_bad_jsonl_line_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "tasks.jsonl", '{"scenario": "update-order"}\n\n{"scenario": "update-order",\n')
    with pytest.raises(ConfigError, match=re.escape(f"{path}:3: not valid JSON")):
        load_tasks(path)
    with pytest.raises(ConfigError, match="cannot read the task file"):
        load_tasks(tmp_path / "missing.yaml")


def test_unknown_scenarios_and_bad_arguments_are_named_with_their_line(tmp_path: Path) -> None:
    shop = load_env(SHOP)
    path = write(tmp_path, "tasks.yaml", "- {scenario: update-order, args: {order_id: A1}}\n- {scenario: ship-it}\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:2: unknown scenario 'ship-it'; 'shop' defines: "
                                                    "refund-order, update-order")):  # fmt: skip
        check_tasks(shop, load_tasks(path))
    path = write(tmp_path, "tasks.yaml", "- {scenario: update-order, args: {order_id: A1, status: lost}}\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:1: scenario 'update-order': status: Input should be")):
        check_tasks(shop, load_tasks(path))
    with pytest.raises(ConfigError, match="order_id: Missing required argument"):
        check_tasks(shop, [Task("update-order")])


@pytest.mark.anyio
async def test_run_eval_takes_a_task_file(tmp_path: Path) -> None:
    path = write(tmp_path, "tasks.yaml", YAML_TASKS)
    summary = await run_eval(SHOP, path, SHOP_AGENT_PATH, runs=2, concurrency=4)
    assert {name: stats.runs for name, stats in summary.scenarios.items()} == {"update-order": 3, "refund-order": 2}
    assert summary.planned == summary.finished == 5 and summary.mean_reward == 1.0
