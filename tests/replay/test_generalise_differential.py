"""Differential check of `--generalise` (seeded, small): random CRUD walks nobody recorded, each against a fresh
live todos API and against a fresh session of the generalising replay of cassettes/todos.yaml, over real sockets
with httpx. Every answer is compared (status, and the JSON body with server timestamps compared by shape)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from envs.todos.service import create_app
from envs.todos.walks import LabelWalker, Step, Walker, comparable
from hudproxy.replay.options import ReplayOptions
from hudproxy.replay.server import create_replay_app
from tests.replay.servers import serve_replay

pytestmark = pytest.mark.usefixtures("replay_server")

TODOS = Path(__file__).resolve().parents[2] / "cassettes" / "todos.yaml"
WALKS, STEPS, SEED = 25, 14, 16


class Fresh:
    """An ASGI app that is a fresh live API after each `restart()`: one socket, a clean start per walk."""

    def __init__(self) -> None:
        self.app = create_app()

    def restart(self) -> None:
        self.app = create_app()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def answer(client: httpx.Client, step: Step) -> tuple[int, Any]:
    response = client.request(step.method, step.path, json=step.body)
    return response.status_code, (response.json() if response.content else None)


def walk(upstream: Callable[[Any], str], options: ReplayOptions, walker: type[Walker], walks: int) -> dict[str, Any]:
    live = Fresh()
    live_url = upstream(live)
    with serve_replay(create_replay_app(TODOS, options)) as replay_url:
        return walk_both(live, live_url, replay_url, walker, walks)


def walk_both(live: Fresh, live_url: str, replay_url: str, walker: type[Walker], walks: int) -> dict[str, Any]:
    """Random CRUD walks sent to both; the replay (generalising) must agree with the live API."""
    agreed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    synthesized = 0
    disagreements = []
    with httpx.Client(base_url=live_url, trust_env=False) as real, httpx.Client(trust_env=False) as mock:
        for number in range(walks):
            live.restart()
            chooser = walker(random.Random(SEED * 1000 + number))
            mock.base_url = httpx.URL(f"{replay_url}/s/walk-{number}")
            for _ in range(STEPS):
                step = chooser.next_step()
                expected = answer(real, step)
                response = mock.request(step.method, step.path, json=step.body)
                got = (response.status_code, response.json() if response.content else None)
                synthesized += "x-hudproxy-synthesized" in response.headers
                total[step.kind] += 1
                if (expected[0], comparable(expected[1])) == (got[0], comparable(got[1])):
                    agreed[step.kind] += 1
                else:
                    disagreements.append((number, step, expected, got))
                chooser.learn(step, *expected)
    return {"agreement": sum(agreed.values()) / sum(total.values()), "synthesized": synthesized,
            "steps": sum(total.values()), "per_kind": {k: f"{agreed[k]}/{total[k]}" for k in total},
            "disagreements": disagreements[:5]}  # fmt: skip


def test_random_walks_agree_with_the_live_api(upstream: Callable[[Any], str]) -> None:
    found = walk(upstream, ReplayOptions(generalise=True), Walker, WALKS)
    assert found["agreement"] >= 0.95, found
    assert found["synthesized"] > found["steps"] // 2  # most of these walks were never recorded
    assert set(found["per_kind"]) >= {"create", "read", "update", "delete", "list", "read-deleted", "read-missing"}


def test_walks_over_a_resource_only_the_openapi_document_declares(upstream: Callable[[Any], str]) -> None:
    """Labels are never recorded: the service's own document (schemas, readOnly fields) is all the replay has."""
    options = ReplayOptions(generalise=True, openapi=create_app().openapi())
    found = walk(upstream, options, LabelWalker, 10)
    assert found["agreement"] >= 0.95, found
    labels = {k for k in found["per_kind"] if k.startswith("label-")}
    assert labels >= {"label-create", "label-read", "label-update", "label-list"}, found["per_kind"]
