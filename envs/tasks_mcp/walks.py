"""Seeded random walks over the task tools, and the differential run the harness and its test share: each walk
against a fresh live server (in-process) and, in a fresh session of its own, against the generalising replay and
the plain replay (both over streamable HTTP), answers compared as (isError, structuredContent or error text)."""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mcp import Client

from envs.tasks_mcp.server import SEED, make_server

WORDS = ("paint fence", "read book", "call bank", "feed cat", "tidy desk", "pay rent")
MODES = ("generalise", "plain")


@dataclass(frozen=True)
class Step:
    kind: str  # create | read | update | delete | list | read-deleted | read-missing
    tool: str
    arguments: dict[str, Any]


@dataclass
class Walker:
    """What a client knows after the live answers so far."""

    rng: random.Random
    tasks: list[str] = field(default_factory=lambda: [task[0] for task in SEED])
    deleted: list[str] = field(default_factory=list)

    def next_step(self) -> Step:
        rng, roll = self.rng, self.rng.random()
        if roll < 0.18:
            arguments: dict[str, Any] = {"title": rng.choice(WORDS)}
            if rng.random() < 0.4:
                arguments["priority"] = rng.randint(1, 5)
            return Step("create", "create_task", arguments)
        if roll < 0.34 and self.tasks:
            return Step("read", "get_task", {"task_id": rng.choice(self.tasks)})
        if roll < 0.48 and self.tasks:
            arguments = {"task_id": rng.choice(self.tasks), "title": rng.choice(WORDS)}
            if rng.random() < 0.5:
                arguments["status"] = rng.choice(["open", "done"])
            if rng.random() < 0.3:
                arguments["priority"] = rng.randint(1, 5)
            return Step("update", "update_task", arguments)
        if roll < 0.58 and self.tasks:
            return Step("delete", rng.choice(["delete_task", "remove_task"]), {"task_id": rng.choice(self.tasks)})
        if roll < 0.84:
            arguments = {}
            if rng.random() < 0.4:
                arguments["status"] = rng.choice(["open", "done"])
            if rng.random() < 0.4:
                arguments["cursor"] = rng.choice(["2", "4"])
            return Step("list", "list_tasks", arguments)
        if roll < 0.92 and self.deleted:
            return Step("read-deleted", "get_task", {"task_id": rng.choice(self.deleted)})
        return Step("read-missing", "get_task", {"task_id": f"T{rng.randint(40, 90)}"})

    def learn(self, step: Step, answer: tuple[bool, Any]) -> None:
        failed, data = answer
        if failed:
            return
        if step.kind == "create" and isinstance(data, dict):
            self.tasks.append(data["id"])
        elif step.kind == "delete":
            self.tasks.remove(step.arguments["task_id"])
            self.deleted.append(step.arguments["task_id"])


def answer_of(result: Any) -> tuple[bool, Any]:
    """What the agent sees: failed or not, and the structured result (or the error text)."""
    data = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    failed = bool(data.get("isError"))
    return failed, data.get("structuredContent") if not failed else data["content"][0]["text"]


async def differential(urls: dict[str, str], walks: int, steps: int, seed: int) -> dict[str, Any]:
    """Agreement per step kind of each replay in `urls` (mode -> base URL) with a fresh live server per walk;
    `synthesized` counts the generalising replay's answers no recording matched (plain replay's misses fail)."""
    counts: dict[str, Counter[str]] = {"total": Counter(), **{mode: Counter() for mode in urls}}
    disagreements: list[tuple[int, Step, Any, Any]] = []
    for walk in range(walks):
        walker = Walker(random.Random(seed * 1000 + walk))
        async with contextlib.AsyncExitStack() as stack:
            live = await stack.enter_async_context(Client(make_server(), cache=None))
            clients = {mode: await stack.enter_async_context(Client(f"{url}/s/walk-{walk}/mcp", cache=None))
                       for mode, url in urls.items()}  # fmt: skip
            for _ in range(steps):
                step = walker.next_step()
                expected = answer_of(await live.call_tool(step.tool, step.arguments))
                counts["total"][step.kind] += 1
                for mode, client in clients.items():
                    got = answer_of(await client.call_tool(step.tool, step.arguments))
                    counts[mode][step.kind] += got == expected
                    if got != expected and mode == "generalise":
                        disagreements.append((walk, step, expected, got))
                walker.learn(step, expected)
    total = sum(counts["total"].values())
    result: dict[str, Any] = {"api": "tasks (MCP)", "walks": walks, "steps": total, "disagreements": disagreements}
    for mode in urls:
        result[mode] = round(sum(counts[mode].values()) / total, 4)
        result[f"{mode}_by_kind"] = {k: f"{counts[mode][k]}/{n}" for k, n in sorted(counts["total"].items())}
    return result
