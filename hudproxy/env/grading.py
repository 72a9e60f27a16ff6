"""Grading a run by its rubric, inside the run (its databases, mock services and replay session still open).

The order matters: the agent's journal rows are taken first; then the end state the rubric reads is gathered
(read tools are called without journaling, and any HTTP rows their connectors add are cut back off, so the
journal stays the agent's); then the scenario's own code after the prompt runs; then the rubric scores.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hudproxy.env.agents import AgentResult
from hudproxy.env.run import RunContext
from hudproxy.env.scenario import ActiveScenario, ScenarioResult
from hudproxy.env.tools import ToolError
from hudproxy.grading import Grade, Rubric, RunData, needs, score
from hudproxy.grading.active_judge import current_judge
from hudproxy.grading.endstate import Needs, db_key, read_key, service_state
from hudproxy.grading.score import rendered

if TYPE_CHECKING:
    from hudproxy.env.environment import Environment


@dataclass
class Graded:
    result: ScenarioResult
    grade: Grade | None = None
    end_state: dict[str, Any] | None = None


async def finish_graded(
    env: Environment, context: RunContext, active: ActiveScenario, outcome: AgentResult, rubric: Rubric | None
) -> Graded:
    """The run's result: the rubric's grade when there is a rubric, else the scenario's own reward."""
    if rubric is None:
        own = await active.finish(outcome.answer)
        assert own is not None
        return Graded(own)
    calls = list(context.journal.entries)
    end_state = await gather_end_state(env, context, needs(rendered(rubric, active.args)))
    own = await active.finish(outcome.answer, graded=True)
    run = RunData(calls, outcome.answer, outcome.transcript, active.args, end_state, context.id)
    judge = env.judge or current_judge()  # `hudproxy eval --judge MODEL` sets the eval's judge
    if judge is not None and any(c.judge is not None for c in rubric.criteria):
        grade = await asyncio.to_thread(score, rubric, run, judge)  # a judge answers over HTTP: off the event loop
    else:
        grade = score(rubric, run, judge)
    notes = grade.notes()
    if own is not None:
        notes.append(f"the scenario's own reward {own.reward:g} (the rubric decides the reward)")
    return Graded(ScenarioResult(grade.reward, grade.subscores(), notes), grade, end_state)


async def gather_end_state(env: Environment, context: RunContext, wanted: Needs) -> dict[str, Any]:
    """The end state the rubric reads (see hudproxy.grading.endstate); a part the run cannot give is left out."""
    state: dict[str, Any] = {}
    if wanted.resources:
        resources = _resources(env, context, wanted.paths)
        if resources is not None:
            state["resources"] = resources
    if wanted.reads:
        kept = len(context.journal.entries)
        state["reads"] = {read_key(tool, args): await _read(env, context, tool, args) for tool, args in wanted.reads}
        del context.journal.entries[kept:]  # the reads' own HTTP rows are the grader's, not the agent's
    if wanted.queries:
        state["db"] = {db_key(db, sql): await _query(context, db, sql) for db, sql in wanted.queries}
    if wanted.services:
        state["services"] = _services(env, context, wanted.services)
    return state


def _resources(env: Environment, context: RunContext, paths: list[str]) -> dict[str, Any] | None:
    replays = [r for r in env.replays if r.replay is not None and r.generalise]
    if len(replays) != 1:
        return None
    return replays[0].session(context).end_state(paths)


async def _read(env: Environment, context: RunContext, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"value": await env.dispatch(context, tool, dict(args))}
    except ToolError as exc:
        return {"error": str(exc)}


async def _query(context: RunContext, database: str, sql: str) -> dict[str, Any]:
    handle = context.databases.get(database)
    if handle is None:
        return {"error": f"the run has no database {database!r} (have: {', '.join(context.databases) or 'none'})"}
    try:
        if isinstance(handle, sqlite3.Connection):
            cursor = handle.execute(sql)
            columns = [d[0] for d in cursor.description or ()]
            return {"rows": [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]}
        return {"rows": [dict(row) for row in await handle.fetch(sql)]}
    except Exception as exc:  # a query the rubric got wrong is that criterion's failure, not the run's crash
        return {"error": f"{type(exc).__name__}: {exc}"}


def _services(env: Environment, context: RunContext, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in env.services:
        if cls.__name__ in names:
            instance = context.services.get(cls)
            out[cls.__name__] = service_state(instance if instance is not None else cls())
    return out
