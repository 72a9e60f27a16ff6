"""`env.replay(..., generalise=True)` and `hudproxy eval --generalise` over envs/todos: a scripted agent adds a todo
nobody recorded and lists, the scenario grades the run's end state with `env.state_diff()`. Real replay server,
real HTTP, real eval runs (in-process and through the CLI)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hudproxy.env import ScriptedAgent
from hudproxy.env.loader import load_env
from hudproxy.errors import ConfigError
from hudproxy.evaluation import run_eval

ROOT = Path(__file__).resolve().parents[2]
TODOS = ROOT / "envs" / "todos"
pytestmark = pytest.mark.anyio
CLI = [sys.executable, "-c", "from hudproxy.cli import main; main()"]


async def test_a_run_on_a_generalising_replay_is_graded_by_its_end_state() -> None:
    env = load_env(TODOS)
    env.generalise = True  # what `hudproxy eval --generalise` sets
    (replay,) = env.replays
    steps = env.agents["scripted"]("add-todo", {"title": "sow beans"})
    async with env:
        run = await env.run("add-todo", ScriptedAgent(steps), title="sow beans")
        other = await env.run("add-todo", ScriptedAgent(steps[1:]), title="sow beans")  # lists only
        assert run.error is None and run.reward == 1.0, run.notes
        assert run.subscores == {"added": 1.0, "nothing_else": 1.0, "listed": 1.0}
        created, listed = run.calls(kind="http")
        assert (created.status, created.rule, created.answered_by) == (201, "users.todos.create", "model")
        assert listed.synthesized and any(t["title"] == "sow beans" for t in listed.response_json["data"])
        replayed = replay.calls(run.id)  # the replay server's journal of the run's session
        assert [(c.method, c.answered_by, c.rule) for c in replayed] == [
            ("POST", "model", "users.todos.create"), ("GET", "model", "users.todos.list"),
        ]  # fmt: skip
        (made,) = replay.state_diff(run.id)["created"]
        assert made["path"] == "/users/1/todos/7" and made["item"]["title"] == "sow beans"
        assert other.reward == 0.0 and replay.state_diff(other.id)["created"] == []  # runs never share state
    with pytest.raises(ConfigError, match="not running"):
        replay.state_diff(run.id)


def eval_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    argv = [*CLI, "eval", str(TODOS), "--scenario", "add-todo", "--arg", "title=sow beans", *args]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_hudproxy_eval_generalise_passes_and_plain_replay_cannot(tmp_path: Path) -> None:
    generalised = eval_cli(tmp_path, "--generalise", "--out", "on.db")
    assert generalised.returncode == 0, generalised.stderr
    plain = eval_cli(tmp_path, "--out", "off.db")
    assert plain.returncode == 0, plain.stderr
    with sqlite3.connect(tmp_path / "on.db") as on, sqlite3.connect(tmp_path / "off.db") as off:
        reward, subscores, error = on.execute("select reward, subscores, error from runs").fetchone()
        assert (reward, json.loads(subscores)["added"], error) == (1.0, 1.0, None)
        posted = on.execute("select status, rule from calls where method = 'POST'").fetchone()
        assert posted == (201, "users.todos.create")
        (plain_error,) = off.execute("select error from runs").fetchone()
    assert "--generalise" in plain_error  # the unrecorded create was a 501; state_diff says how to get one


async def test_generalise_needs_a_replay_to_generalise() -> None:
    env = load_env(ROOT / "envs" / "shop")  # in-process shop: no env.replay
    with pytest.raises(ConfigError, match=r"no env\.replay"):
        await run_eval(env, {"scenario": "update-order", "args": {"order_id": "A1"}}, "scripted", generalise=True)
