"""Seeded random CRUD walks over the todos API, and the comparison the differential harness makes.

A walk is adaptive: each step is chosen from what the live API has answered so far (the ids it created, the
todos it deleted), and the same request then goes to the replay. Steps cover creates with new field values,
reads of recorded, created, deleted, foreign and missing items, PUTs, DELETEs, filtered and paged lists, and
users. `comparable` blanks what a model must invent and cannot know: server timestamps (compared by shape).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

WORDS = ("paint fence", "read book", "call bank", "feed cat", "tidy desk", "pay rent", "mow lawn", "fix tap")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
SEED_TODOS = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3}  # todo id -> user id, as envs/todos/service.py seeds them


@dataclass(frozen=True)
class Step:
    kind: str  # create | read | update | delete | list | read-deleted | read-missing | users
    method: str
    path: str
    body: Any = None


@dataclass
class Walker:
    """What a client knows after the live answers so far."""

    rng: random.Random
    todos: dict[int, int] = field(default_factory=lambda: dict(SEED_TODOS))  # todo -> user
    deleted: dict[int, int] = field(default_factory=dict)
    users: list[int] = field(default_factory=lambda: [1, 2, 3])

    def next_step(self) -> Step:
        rng = self.rng
        roll = rng.random()
        user = rng.choice(self.users)
        if roll < 0.18:
            body: dict[str, Any] = {"title": rng.choice(WORDS)}
            if rng.random() < 0.5:
                body["done"] = rng.random() < 0.5
            return Step("create", "POST", f"/users/{user}/todos", body)
        if roll < 0.36 and self.todos:
            todo = rng.choice(sorted(self.todos))
            return Step("read", "GET", f"/users/{self.todos[todo]}/todos/{todo}")
        if roll < 0.48 and self.todos:
            todo = rng.choice(sorted(self.todos))
            body = {"title": rng.choice(WORDS), "done": rng.random() < 0.5}
            return Step("update", "PUT", f"/users/{self.todos[todo]}/todos/{todo}", body)
        if roll < 0.58 and self.todos:
            todo = rng.choice(sorted(self.todos))
            return Step("delete", "DELETE", f"/users/{self.todos[todo]}/todos/{todo}")
        if roll < 0.80:
            query = []
            if rng.random() < 0.5:
                query.append(f"done={rng.choice(['true', 'false'])}")
            if rng.random() < 0.5:
                query.append(f"offset={rng.randint(0, 2)}")
            if rng.random() < 0.6:
                query.append(f"limit={rng.randint(1, 3)}")
            return Step("list", "GET", f"/users/{user}/todos" + ("?" + "&".join(query) if query else ""))
        if roll < 0.86 and self.deleted:
            todo = rng.choice(sorted(self.deleted))
            return Step("read-deleted", "GET", f"/users/{self.deleted[todo]}/todos/{todo}")
        if roll < 0.92:
            if rng.random() < 0.5:
                return Step("read-missing", "GET", f"/users/{user}/todos/{rng.randint(40, 90)}")
            return Step("read-missing", "GET", f"/users/{rng.randint(20, 30)}")
        if rng.random() < 0.3:
            return Step("users", "POST", "/users", {"name": rng.choice(WORDS), "email": "x@example.com"})
        return Step("users", "GET", rng.choice(["/users", f"/users/{user}"]))

    def learn(self, step: Step, status: int, data: Any) -> None:
        """Update what the client knows from the live answer."""
        if step.kind == "create" and status == 201 and isinstance(data, dict):
            self.todos[data["id"]] = data["user_id"]
        elif step.kind == "delete" and status == 204:
            todo = int(step.path.rsplit("/", 1)[1])
            self.deleted[todo] = self.todos.pop(todo)
        elif step.kind == "users" and step.method == "POST" and status == 201 and isinstance(data, dict):
            self.users.append(data["id"])


COLORS = ("grey", "red", "green", "blue")


@dataclass
class LabelWalker(Walker):
    """The todos walk with label steps mixed in: `/labels` is never in the training recording, so only the
    OpenAPI document (`--openapi`) can teach it (creates, reads, PATCHes, deletes, color-filtered lists)."""

    labels: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    made: int = 0

    def next_step(self) -> Step:
        rng = self.rng
        if rng.random() >= 0.35:
            return super().next_step()
        roll = rng.random()
        if roll < 0.3 or not self.labels:
            body: dict[str, Any] = {"name": rng.choice(WORDS)}
            if rng.random() < 0.5:
                body["color"] = rng.choice(COLORS)
            return Step("label-create", "POST", "/labels", body)
        label = rng.choice(self.labels)
        if roll < 0.5:
            return Step("label-read", "GET", f"/labels/{label}")
        if roll < 0.65:
            body = {"color": rng.choice(COLORS)} if rng.random() < 0.6 else {"name": rng.choice(WORDS)}
            return Step("label-update", "PATCH", f"/labels/{label}", body)
        if roll < 0.75:
            return Step("label-delete", "DELETE", f"/labels/{label}")
        if roll < 0.85 and self.gone:
            return Step("label-read", "GET", f"/labels/{rng.choice(self.gone)}")
        query = f"?color={rng.choice(COLORS)}" if rng.random() < 0.5 else ""
        return Step("label-list", "GET", "/labels" + query)

    def learn(self, step: Step, status: int, data: Any) -> None:
        if step.kind == "label-create" and status == 201 and isinstance(data, dict):
            self.labels.append(data["id"])
        elif step.kind == "label-delete" and status == 204:
            label = int(step.path.rsplit("/", 1)[1])
            self.labels.remove(label)
            self.gone.append(label)
        else:
            super().learn(step, status, data)


def comparable(data: Any) -> Any:
    """The answer with server timestamps reduced to their shape."""
    if isinstance(data, str) and TIMESTAMP.match(data):
        return "<timestamp>"
    if isinstance(data, dict):
        return {k: comparable(v) for k, v in data.items()}
    if isinstance(data, list):
        return [comparable(v) for v in data]
    return data
