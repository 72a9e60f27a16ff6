"""The todos API as an environment over its recording: tools from its OpenAPI document, answered by a hudproxy replay
of cassettes/todos.yaml, each run in its own replay session.

A recording answers only what was recorded: an agent that adds a todo nobody added while recording gets a 501.
With `hudproxy eval envs/todos --generalise` the replay answers such calls from each run's own resource state
(learned from the cassette), and the scenario grades the run's end state with `env.state_diff()`:

    hudproxy eval envs/todos --scenario add-todo --arg title="sow beans" --agent scripted --generalise
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hudproxy.env import Environment, Final, ScenarioResult, ToolCall

from .service import create_app

CASSETTE = Path(os.environ.get("HUDPROXY_TODOS_CASSETTE", Path(__file__).resolve().parents[2] / "cassettes/todos.yaml"))

env = Environment("todos", instructions="Tools of a todo list service: users and their todos.")
todos = env.replay(CASSETTE, openapi=lambda: create_app().openapi())


@env.scenario("add-todo")
async def add_todo(title: str, user_id: int = 1):
    """Add one todo for a user; graded on the end state: that todo exists, open, and nothing else changed."""
    yield f"Add an open todo {title!r} for user {user_id}, then list that user's todos. Answer 'done'."
    diff = env.state_diff()
    mine = f"/users/{user_id}/todos/"
    made = [c for c in diff["created"] if c["item"].get("title") == title and c["path"].startswith(mine)]
    added = len(made) == 1 and made[0]["item"].get("done") is False
    untouched = not diff["deleted"] and not diff["updated"] and len(diff["created"]) == 1
    listed = env.current().score_called("GET", f"/users/{user_id}/todos")
    notes = [] if added else [f"no open todo {title!r} was created for user {user_id}: {diff['created']}"]
    yield ScenarioResult(float(added and untouched), {"added": added, "nothing_else": untouched, "listed": listed},
                         notes)  # fmt: skip


def scripted(scenario: str, args: dict[str, Any]) -> list[ToolCall | Final]:
    """What a competent agent does: create the todo, list to check it is there."""
    if scenario == "add-todo":
        user_id = int(args.get("user_id", 1))
        return [
            ToolCall("create_todo", {"user_id": user_id, "title": args["title"], "done": False}),
            ToolCall("list_todos", {"user_id": user_id}),
            Final("done"),
        ]
    return [Final("")]


env.agent("scripted", scripted)
