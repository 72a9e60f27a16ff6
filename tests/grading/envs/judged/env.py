"""An environment whose one scenario is graded by the eval's judge (`hudproxy eval --judge MODEL`), found the way
rubric scoring finds it: `current_judge()`. Reward 1 when the judge says MET, 0 otherwise (a note says why)."""

from __future__ import annotations

import asyncio
from typing import Any

from hudproxy.env import Environment, Final, ScenarioResult
from hudproxy.grading.active_judge import current_judge
from hudproxy.grading.judging import JudgeRequest

env = Environment("judged")


@env.tool
async def noop() -> str:
    """Does nothing (an environment serves at least one tool)."""
    return "ok"


@env.scenario("tell-refund")
async def tell_refund(amount: float):
    """Tell the customer the refunded amount; judged."""
    answer = yield f"Tell the customer that {amount:.2f} EUR were refunded."
    judge = current_judge()
    if judge is None:
        yield ScenarioResult(0.0, {"judged": 0.0}, ["no judge: run with --judge MODEL"])
        return
    request = JudgeRequest("States the refunded amount.", f"assistant: {answer}")
    verdict = await asyncio.to_thread(judge, request)  # a judge is synchronous HTTP: off the event loop
    yield ScenarioResult(1.0 if verdict.met else 0.0, {"judged": 1.0}, [verdict.reason])


@env.scenario("tell-refund-rubric", rubric="told.yaml")
async def tell_refund_rubric(amount: float):
    """The same task, graded by a rubric's `judge:` criterion."""
    yield f"Tell the customer that {amount:.2f} EUR were refunded."


def scripted(scenario: str, args: dict[str, Any]) -> list[Final]:
    return [Final(f"Your refund of {args['amount']:.2f} EUR is on its way.")]


env.agent("scripted", scripted)
