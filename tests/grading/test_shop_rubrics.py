"""The bundled shop is graded by rubric files (envs/shop/rubrics). Before them, update-order graded the order's
final status alone, so an agent that did nothing scored 1.0 on an order that already had that status; the
rubric's `acted` gate gives it 0, with the reason, and a rubric's `read:` can still check that final status."""

from __future__ import annotations

from typing import Literal

import pytest

from hudproxy.env import Environment, Final, ScenarioResult, ScriptedAgent, ToolCall, ToolError
from hudproxy.env.loader import load_env
from hudproxy.env.run import RunContext
from hudproxy.grading import parse_rubric

pytestmark = pytest.mark.anyio
DO_NOTHING = [Final("done")]


def with_the_python_grader_it_had(shop: Environment) -> None:
    """update-order as envs/shop/scenarios/orders.py graded it before its rubric (the same code)."""

    @shop.scenario("update-order-before")
    async def update_order(order_id: str, status: Literal["pending", "paid", "shipped"] = "shipped"):
        yield f"Update order {order_id} to {status}. Answer 'done' when it is."
        try:
            reached = float((await shop.call_tool("get_order", order_id=order_id)).get("status") == status)
        except ToolError:
            reached = 0.0
        updated = shop.current().score_called(tool="update_order", json_contains={"order_id": order_id})
        yield ScenarioResult(reached, {"status": reached, "used_update_tool": updated})


async def test_a_do_nothing_agent_scored_1_before_and_scores_0_through_the_gate_now() -> None:
    shop = load_env("envs/shop")
    with_the_python_grader_it_had(shop)
    ship = [ToolCall("update_order", {"order_id": "A3", "status": "shipped"}), Final("done")]
    async with shop:
        before = await shop.run("update-order-before", ScriptedAgent(DO_NOTHING), order_id="A3")
        now = await shop.run("update-order", ScriptedAgent(DO_NOTHING), order_id="A3")
        competent_before = await shop.run("update-order-before", ScriptedAgent(ship), order_id="A3")
        competent_now = await shop.run("update-order", ScriptedAgent(ship), order_id="A3")
    assert before.reward == 1.0  # A3 starts shipped: the end state alone cannot tell doing from not doing
    assert now.reward == 0.0
    assert now.grade is not None and [g.rule for g in now.grade.violated] == ["acted: true"]
    assert now.notes[0] == "gate violated (acted: true): the agent changed nothing (0 call(s), none a write)"
    assert (competent_before.reward, competent_now.reward) == (1.0, 1.0)
    assert now.calls() == []


async def test_a_read_criterion_checks_the_final_state_without_touching_the_agents_journal() -> None:
    shop = load_env("envs/shop")
    final = parse_rubric("""\
gates: [{acted: true}]
criteria:
  - name: final status
    read: {tool: get_order, arguments: {order_id: "{{order_id}}"}, expect: {status: "{{status}}"}}
""")
    ship = [ToolCall("update_order", {"order_id": "A1", "status": "shipped"}), Final("done")]
    pay = [ToolCall("update_order", {"order_id": "A1", "status": "paid"}), Final("done")]
    async with shop:
        shipped = await shop.execute(RunContext("shop"), "update-order", ScriptedAgent(ship), {"order_id": "A1"}, final)
        paid = await shop.execute(RunContext("shop"), "update-order", ScriptedAgent(pay), {"order_id": "A1"}, final)
        idle = await shop.execute(RunContext("shop"), "update-order", ScriptedAgent(DO_NOTHING), {"order_id": "A3"},
                                  final)  # fmt: skip
    assert (shipped.reward, paid.reward) == (1.0, 0.0)
    assert paid.notes == ['final status: unmet: get_order({"order_id": "A1"}) answered {"status": "paid"}']
    assert idle.reward == 0.0 and idle.subscores == {"final status": 1.0}  # shipped from the start; the gate says 0
    assert [c.method for c in shipped.calls()] == ["PATCH", "MCP"]  # the read at the end is not journaled


async def test_the_shops_refund_rubric_gives_partial_credit_and_forbids_touching_the_order() -> None:
    shop = load_env("envs/shop")
    login = ToolCall("login", {"username": "demo", "password": "demo-password"})
    bearer = "Bearer shop-secret-token-123"
    refund = ToolCall("create_refund", {"order_id": "A2", "amount": 5.0, "authorization": bearer})
    mail = ToolCall("send_email", {"to": "carol", "subject": "Refund", "body": "Your refund on A2 is on its way."})
    meddle = ToolCall("update_order", {"order_id": "A2", "status": "pending"})
    async with shop:
        half = await shop.run("refund-order", ScriptedAgent([login, refund, Final("ok")]), order_id="A2", amount=5)
        meddled = await shop.run("refund-order", ScriptedAgent([login, refund, mail, meddle, Final("ok")]),
                                 order_id="A2", amount=5)  # fmt: skip
    assert half.reward == 0.5 and half.grade is not None
    email = next(c for c in half.grade.criteria if c.name == "email")
    assert (email.status, email.evidence) == ("unmet", {"service": "MockMailer"})
    assert meddled.reward == 0.0 and meddled.grade is not None
    assert [g.rule for g in meddled.grade.violated] == ["never: tool update_order"]
    assert meddled.grade.violated[0].evidence["calls"] == [c.seq for c in meddled.calls(tool="update_order")]
