"""Scenarios run by scripted agents: rewards, argument checks, and one journal per run under concurrency."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from hudproxy.env import Environment, Final, ScenarioError, ScenarioResult, ScriptedAgent, ToolCall
from hudproxy.env.loader import load_env

pytestmark = pytest.mark.anyio
SHIP_A1 = ToolCall("update_order", {"order_id": "A1", "status": "shipped"})


@pytest.fixture
def shop() -> Environment:
    return load_env("envs/shop")


async def test_update_order_succeeds_and_fails(shop: Environment) -> None:
    async with shop:
        good = await shop.run("update-order", ScriptedAgent([SHIP_A1, Final("done")]), order_id="A1")
        idle = await shop.run("update-order", ScriptedAgent([Final("done")]), order_id="A1")
    assert (good.reward, good.subscores) == (1.0, {"status": 1.0, "used_update_tool": 1.0})
    assert (idle.reward, idle.subscores["used_update_tool"]) == (0.0, 0.0)
    assert idle.notes[0] == "gate violated (acted: true): the agent changed nothing (0 call(s), none a write)"
    assert idle.notes[1].startswith("status: unmet: 0 matching call(s), wanted at least 1: PATCH /orders/A1")
    assert good.prompt == "Update order A1 to shipped. Answer 'done' when it is." and good.answer == "done"
    assert [m["role"] for m in good.transcript] == ["user", "assistant", "tool", "assistant"]
    good.assert_called("PATCH", "/orders/A1", json={"status": "shipped"}, times=1)
    idle.assert_not_called("PATCH", "/orders/*")
    assert good.score_called(tool="update_order") == 1.0 and idle.score_called(tool="update_order") == 0.0


async def test_refund_order_grades_the_journal_and_the_runs_own_mailer(shop: Environment) -> None:
    login = ToolCall("login", {"username": "demo", "password": "demo-password"})
    bearer = "Bearer shop-secret-token-123"
    refund = ToolCall("create_refund", {"order_id": "A2", "amount": 5.0, "authorization": bearer})
    mail = ToolCall("send_email", {"to": "carol", "subject": "Refund", "body": "Your refund on A2 is on its way."})
    async with shop:
        args = {"order_id": "A2", "amount": 5}
        full = await shop.run("refund-order", ScriptedAgent([login, refund, mail, Final("ok")]), **args)
        half = await shop.run("refund-order", ScriptedAgent([login, refund, Final("ok")]), **args)
        wrong = await shop.run("refund-order", ScriptedAgent([mail, Final("ok")]), **args)
    assert (full.reward, half.reward, wrong.reward) == (1.0, 0.5, 0.5)
    assert half.subscores == {"refund": 1.0, "email": 0.0, "logged_in_first": 1.0}
    assert wrong.subscores == {"refund": 0.0, "email": 1.0, "logged_in_first": 0.0}
    from_mailer = full.context.services  # type: ignore[union-attr]
    assert [m["to"] for m in next(iter(from_mailer.values())).sent] == ["carol"]
    assert "shop-secret-token-123" not in str([c.response_body for c in full.calls()])


async def test_arguments_are_validated_against_the_signature(shop: Environment) -> None:
    async with shop:
        with pytest.raises(ScenarioError, match=r"'update-order': order_id: Missing required argument"):
            await shop.run("update-order", ScriptedAgent([]))
        with pytest.raises(ScenarioError, match=r"status: Input should be 'pending', 'paid' or 'shipped'"):
            await shop.run("update-order", ScriptedAgent([]), order_id="A1", status="lost")
        with pytest.raises(ScenarioError, match="unknown scenario 'nope'; defined: refund-order, update-order"):
            await shop.run("nope", ScriptedAgent([]))


async def test_reward_forms_and_the_two_yield_contract() -> None:
    env = Environment("forms")

    @env.scenario()
    async def as_dict(n: int):
        yield "go"
        yield {"reward": 0.25 * n, "subscores": {"n": n}, "notes": "fine"}

    @env.scenario("too-many")
    async def too_many():
        yield "go"
        yield 1.0
        yield 2.0

    class Broken:
        async def run(self, prompt: str, tools: Any) -> Any:
            raise RuntimeError("model unavailable")

    async with env:
        run = await env.run("as-dict", ScriptedAgent([Final("x")]), n="2")
        assert (run.reward, run.subscores, run.notes) == (0.5, {"n": 2}, ["fine"])
        assert ScenarioResult.of(True).reward == 1.0
        with pytest.raises(ScenarioError, match="yielded more than twice"):
            await env.run("too-many", ScriptedAgent([]))
        failed = await env.run("as-dict", Broken(), n=1)
        assert failed.reward == 0.0 and "model unavailable" in (failed.error or "")


async def test_fifty_concurrent_runs_each_see_exactly_their_own_calls(shop: Environment) -> None:
    @shop.tool
    async def pause(ms: int) -> str:
        """Let other runs go first (forces interleaving)."""
        await asyncio.sleep(ms / 1000)
        return "ok"

    rng = random.Random(5)
    plans: list[tuple[str, list[ToolCall]]] = []
    for n in range(50):
        order = f"A{n % 12 + 1}"
        steps = [ToolCall("pause", {"ms": rng.randint(0, 5)})]
        steps += [ToolCall("get_order", {"order_id": order}) for _ in range(n % 3)]
        steps += [ToolCall("pause", {"ms": rng.randint(0, 5)})]
        if n % 2 == 0:
            steps.append(ToolCall("update_order", {"order_id": order, "status": "shipped"}))
        plans.append((order, steps))

    async with shop:
        agents = [(ScriptedAgent([*steps, Final("done")]), order) for order, steps in plans]
        runs = await asyncio.gather(*(shop.run("update-order", agent, order_id=order) for agent, order in agents))
    assert len({r.id for r in runs}) == 50
    for n, (run, (order, steps)) in enumerate(zip(runs, plans, strict=True)):
        tool_calls = run.calls(kind="mcp")
        expected = [(s.name, s.arguments) for s in steps]  # the rubric's own read at the end is not journaled
        assert [(c.path.rsplit("/", 1)[1], c.json) for c in tool_calls] == expected
        assert {c.session for c in run.calls()} == {run.id}
        assert [c.seq for c in run.calls()] == list(range(1, len(run.calls()) + 1))
        assert all(c.path.endswith(order) for c in run.calls(kind="http"))
        assert run.reward == (1.0 if n % 2 == 0 else 0.0)  # graded from its own journal: no one else's calls


async def test_shop_in_replay_mode_keeps_one_replay_session_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """HUDPROXY_SHOP_MODE=replay: tools answer from cassettes/shop.yaml; runs in parallel follow their own writes."""
    monkeypatch.setenv("HUDPROXY_SHOP_MODE", "replay")
    env = load_env("envs/shop")
    read = ToolCall("get_order", {"order_id": "A1"})
    async with env:
        shipped, idle = await asyncio.gather(
            env.run("update-order", ScriptedAgent([read, SHIP_A1, Final("done")]), order_id="A1"),
            env.run("update-order", ScriptedAgent([read, Final("done")]), order_id="A1"),
        )
    assert (shipped.reward, idle.reward) == (1.0, 0.0)
    sessions = {
        value for c in shipped.calls(kind="http") for name, value in c.request_headers if name == "x-hudproxy-session"
    }
    assert sessions == {shipped.id}
