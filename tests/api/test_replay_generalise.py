"""`Replay(..., generalise=True)` from Python, `hudproxy replay --generalise` as a process, and the state a grader
reads (`state()`, `state_diff()`, `GET /_hudproxy/sessions/<id>/state`), over the todos recording."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from hudproxy import Replay
from hudproxy.errors import ConfigError
from hudproxy.netutil import free_port, wait_for_port

TODOS = Path(__file__).resolve().parents[2] / "cassettes" / "todos.yaml"
HUDPROXY = shutil.which("hudproxy") or "hudproxy"


def test_python_api_sessions_grade_by_end_state() -> None:
    with Replay(TODOS, generalise=True) as replay:
        session = replay.session("grader")
        with httpx.Client(base_url=session.base_url, trust_env=False) as client:
            created = client.post("/users/3/todos", json={"title": "sow beans", "done": False})
            client.put("/users/1/todos/1", json={"title": "buy oat milk", "done": True})
            client.delete("/users/2/todos/5")
            recorded = client.get("/users/1")
        assert created.status_code == 201 and created.headers["x-hudproxy-synthesized"] == "users.todos.create"
        assert "x-hudproxy-synthesized" not in recorded.headers  # a recording still answers what it matches
        diff = session.state_diff()
        assert [(c["path"], c["item"]["title"]) for c in diff["created"]] == [("/users/3/todos/7", "sow beans")]
        assert [d["path"] for d in diff["deleted"]] == ["/users/2/todos/5"]
        (updated,) = diff["updated"]
        assert updated["path"] == "/users/1/todos/1"
        assert updated["fields"]["title"] == {"before": "buy milk", "after": "buy oat milk"}
        assert set(updated["fields"]) == {"title", "done", "updated_at"}
        state = session.state()
        assert state["users.todos"]["3/7"]["title"] == "sow beans" and "2/5" not in state["users.todos"]
        over_http = httpx.get(f"{replay.base_url}/_hudproxy/sessions/grader/state", trust_env=False).json()
        assert over_http == {"session": "grader", "state": state, "diff": diff}
        other = replay.session("other")
        assert other.state_diff() == {"created": [], "deleted": [], "updated": []}


def test_without_generalise_state_is_a_clear_error() -> None:
    with Replay(TODOS) as replay:
        session = replay.session("s")
        with pytest.raises(ConfigError, match="--generalise"):
            session.state()
        answer = httpx.get(f"{replay.base_url}/_hudproxy/sessions/s/state", trust_env=False)
        assert answer.status_code == 400 and "--generalise" in answer.json()["detail"]


def test_cli_replay_generalise_answers_from_the_model(tmp_path: Path) -> None:
    port = free_port()
    argv = [HUDPROXY, "replay", str(TODOS), "--port", str(port), "--generalise", "--no-journal"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200"}, cwd=tmp_path)  # fmt: skip
    try:
        assert wait_for_port("127.0.0.1", port, timeout=30), "hudproxy replay did not start listening"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/s/cli", trust_env=False, timeout=10) as client:
            created = client.post("/users/1/todos", json={"title": "from the cli"})
            listed = client.get("/users/1/todos?done=false")
            missing = client.get("/nothing/here")
    finally:
        process.terminate()
        err = process.communicate(timeout=15)[1]
    assert created.status_code == 201 and created.json()["id"] == 7
    assert created.headers["location"] == "/users/1/todos/7"
    assert [t["id"] for t in listed.json()["data"]] == [1, 3, 7]
    assert missing.status_code == 501
    assert "Traceback" not in err


def test_a_sessions_journal_marks_what_the_model_answered() -> None:
    with Replay(TODOS, generalise=True) as replay:
        session = replay.session("journaled")
        with httpx.Client(base_url=session.base_url, trust_env=False) as client:
            client.post("/users/2/todos", json={"title": "unrecorded"})
            client.get("/nothing/here")
        calls = session.calls()
        (made,) = calls.synthesized
        assert (made.method, made.rule, made.answered_by) == ("POST", "users.todos.create", "model") and made.evidence
        assert [c.path for c in session.unmatched()] == ["/nothing/here"] == [c.path for c in calls.missed]
        session.assert_called("POST", "/users/2/todos", answered_by="model")
        with pytest.raises(AssertionError, match="answered_by=recording"):
            session.assert_called("POST", "/users/2/todos", answered_by="recording")
