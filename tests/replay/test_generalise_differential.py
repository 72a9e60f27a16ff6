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
from envs.todos.walks import Step, Walker, comparable
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


def test_random_walks_agree_with_the_live_api(upstream: Callable[[Any], str]) -> None:
    live = Fresh()
    live_url = upstream(live)
    with serve_replay(create_replay_app(TODOS, ReplayOptions(generalise=True))) as replay_url:
        walk_both(live, live_url, replay_url)


def walk_both(live: Fresh, live_url: str, replay_url: str) -> None:
    """Random CRUD walks sent to both; the replay (generalising) must agree with the live API."""
    agreed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    synthesized = 0
    disagreements = []
    with httpx.Client(base_url=live_url, trust_env=False) as real, httpx.Client(trust_env=False) as mock:
        for walk in range(WALKS):
            live.restart()
            walker = Walker(random.Random(SEED * 1000 + walk))
            mock.base_url = httpx.URL(f"{replay_url}/s/walk-{walk}")
            for _ in range(STEPS):
                step = walker.next_step()
                expected = answer(real, step)
                response = mock.request(step.method, step.path, json=step.body)
                got = (response.status_code, response.json() if response.content else None)
                synthesized += "x-hudproxy-synthesized" in response.headers
                total[step.kind] += 1
                if (expected[0], comparable(expected[1])) == (got[0], comparable(got[1])):
                    agreed[step.kind] += 1
                else:
                    disagreements.append((walk, step, expected, got))
                walker.learn(step, *expected)
    agreement = sum(agreed.values()) / sum(total.values())
    per_kind = {kind: f"{agreed[kind]}/{total[kind]}" for kind in total}
    assert agreement >= 0.95, (agreement, per_kind, disagreements[:5])
    assert synthesized > sum(total.values()) // 2  # most of these walks were never recorded
    assert set(total) >= {"create", "read", "update", "delete", "list", "read-deleted", "read-missing"}
