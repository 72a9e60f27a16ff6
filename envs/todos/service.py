"""A second example CRUD API, in another style than the shop: users with nested todos, integer ids from one
sequence, `{"data": [...], "count": N, "next": URL}` envelopes with offset/limit pagination, PUT that replaces,
DELETE that answers 204, a `Location` on create and server timestamps. Labels (`/labels`, PATCH merges) start
empty and are never in the training recording: `--openapi` serves them from this app's own document, whose
`Label` schema marks `id` and `created_at` read-only.

Seeded the same way on every `create_app()`, so recordings of the same script agree (timestamps aside, which
are the real clock: the resource model must treat them as values it invents).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

SEED_USERS = (("ada", "ada@example.com"), ("bob", "bob@example.com"), ("cyd", "cyd@example.com"))
SEED_TODOS = (
    (1, "buy milk", False),
    (1, "write report", True),
    (1, "call mum", False),
    (2, "fix bike", False),
    (2, "book flights", True),
    (3, "plant tomatoes", False),
)
SEED_TIME = "2026-01-01T09:00:00Z"
MAX_LIMIT = 50


class TodoIn(BaseModel):
    """Body of POST and PUT: PUT replaces the whole todo, so both fields are required there too."""

    title: str = Field(min_length=1)
    done: bool = False


class TodoPut(BaseModel):
    title: str = Field(min_length=1)
    done: bool


class UserIn(BaseModel):
    name: str = Field(min_length=1)
    email: str


Color = Literal["grey", "red", "green", "blue"]
READ_ONLY = {"readOnly": True}


class LabelIn(BaseModel):
    name: str = Field(min_length=1)
    color: Color = "grey"


class LabelPatch(BaseModel):
    name: str | None = Field(None, min_length=1)
    color: Color | None = None


class Label(BaseModel):
    """What the API answers for a label: `id` and `created_at` are set by the server (readOnly in the schema)."""

    id: int = Field(json_schema_extra=READ_ONLY)
    name: str
    color: Color
    created_at: dt.datetime = Field(json_schema_extra=READ_ONLY)


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class TodoState:
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    todos: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_user: int = 1
    next_todo: int = 1
    labels: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_label: int = 1

    def label(self, label_id: int) -> dict[str, Any]:
        found = self.labels.get(label_id)
        if found is None:
            raise NotFound(f"label {label_id} not found")
        return found

    def user(self, user_id: int) -> dict[str, Any]:
        found = self.users.get(user_id)
        if found is None:
            raise NotFound(f"user {user_id} not found")
        return found

    def todo(self, user_id: int, todo_id: int) -> dict[str, Any]:
        self.user(user_id)
        found = self.todos.get(todo_id)
        if found is None or found["user_id"] != user_id:
            raise NotFound(f"todo {todo_id} not found")
        return found

    def add_user(self, name: str, email: str) -> dict[str, Any]:
        user = {"id": self.next_user, "name": name, "email": email}
        self.users[self.next_user] = user
        self.next_user += 1
        return user

    def add_todo(self, user_id: int, title: str, done: bool, at: str) -> dict[str, Any]:
        todo = {"id": self.next_todo, "user_id": user_id, "title": title, "done": done, "created_at": at,
                "updated_at": at}  # fmt: skip
        self.todos[self.next_todo] = todo
        self.next_todo += 1
        return todo


class NotFound(Exception):
    """A missing user or todo: the API's own 404 body `{"error": "not_found", "message": ...}`."""


def seed_state() -> TodoState:
    state = TodoState()
    for name, email in SEED_USERS:
        state.add_user(name, email)
    for user_id, title, done in SEED_TODOS:
        state.add_todo(user_id, title, done, SEED_TIME)
    return state


def page(items: list[dict[str, Any]], path: str, offset: int, limit: int, extra: str = "") -> dict[str, Any]:
    """One page of an offset/limit listing; `next` is the URL of the next page, or null on the last one."""
    chunk = items[offset : offset + limit]
    following = offset + limit < len(items)
    next_url = f"{path}?{extra}offset={offset + limit}&limit={limit}" if following else None
    return {"data": chunk, "count": len(items), "next": next_url}


def create_app() -> FastAPI:
    """A fresh, seeded API per call (users 1-3, todos 1-6)."""
    app = FastAPI(title="hudproxy example todos", version="1.0.0")
    state = seed_state()

    @app.exception_handler(NotFound)
    def not_found(_request: Any, exc: NotFound) -> JSONResponse:
        return JSONResponse({"error": "not_found", "message": str(exc)}, status_code=404)

    @app.get("/users")
    def list_users() -> list[dict[str, Any]]:
        return list(state.users.values())

    @app.post("/users", status_code=201)
    def create_user(body: UserIn, response: Response) -> dict[str, Any]:
        user = state.add_user(body.name, body.email)
        response.headers["Location"] = f"/users/{user['id']}"
        return user

    @app.get("/users/{user_id}")
    def get_user(user_id: int) -> dict[str, Any]:
        return state.user(user_id)

    @app.get("/users/{user_id}/todos")
    def list_todos(
        user_id: int, done: bool | None = None, offset: int = Query(0, ge=0), limit: int = Query(10, ge=1, le=MAX_LIMIT)
    ) -> dict[str, Any]:
        state.user(user_id)
        todos = [t for t in state.todos.values() if t["user_id"] == user_id and (done is None or t["done"] == done)]
        extra = "" if done is None else f"done={str(done).lower()}&"
        return page(todos, f"/users/{user_id}/todos", offset, limit, extra)

    @app.post("/users/{user_id}/todos", status_code=201)
    def create_todo(user_id: int, body: TodoIn, response: Response) -> dict[str, Any]:
        state.user(user_id)
        todo = state.add_todo(user_id, body.title, body.done, now())
        response.headers["Location"] = f"/users/{user_id}/todos/{todo['id']}"
        return todo

    @app.get("/users/{user_id}/todos/{todo_id}")
    def get_todo(user_id: int, todo_id: int) -> dict[str, Any]:
        return state.todo(user_id, todo_id)

    @app.put("/users/{user_id}/todos/{todo_id}")
    def replace_todo(user_id: int, todo_id: int, body: TodoPut) -> dict[str, Any]:
        todo = state.todo(user_id, todo_id)
        todo.update(title=body.title, done=body.done, updated_at=now())
        return todo

    @app.delete("/users/{user_id}/todos/{todo_id}", status_code=204)
    def delete_todo(user_id: int, todo_id: int) -> Response:
        state.todo(user_id, todo_id)
        del state.todos[todo_id]
        return Response(status_code=204)

    @app.get("/labels", response_model=list[Label])
    def list_labels(color: Color | None = None) -> list[dict[str, Any]]:
        return [label for label in state.labels.values() if color is None or label["color"] == color]

    @app.post("/labels", status_code=201, response_model=Label)
    def create_label(body: LabelIn) -> dict[str, Any]:
        label = {"id": state.next_label, "name": body.name, "color": body.color, "created_at": now()}
        state.labels[state.next_label] = label
        state.next_label += 1
        return label

    @app.get("/labels/{label_id}", response_model=Label)
    def get_label(label_id: int) -> dict[str, Any]:
        return state.label(label_id)

    @app.patch("/labels/{label_id}", response_model=Label)
    def update_label(label_id: int, body: LabelPatch) -> dict[str, Any]:
        label = state.label(label_id)
        label.update(body.model_dump(exclude_unset=True, exclude_none=True))
        return label

    @app.delete("/labels/{label_id}", status_code=204)
    def delete_label(label_id: int) -> Response:
        state.label(label_id)
        del state.labels[label_id]
        return Response(status_code=204)

    return app


def main(argv: Sequence[str] | None = None) -> None:
    """`python envs/todos/service.py --port 9001`."""
    parser = argparse.ArgumentParser(description="Run the hudproxy example todos service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    args = parser.parse_args(argv)
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
