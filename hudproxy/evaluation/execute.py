"""One run of an eval, start to finish, as plain data: the core both backends share (a Ray worker ships it back).

`execute` never raises for a run's own failure: a scenario that crashes, an agent that fails, a run that times
out all become a RunRecord whose `error` holds the traceback, with whatever the run journaled before it broke,
and reward 0. Only cancellation (Ctrl-C, a stopped eval) propagates.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import traceback
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from hudproxy.env.agents import Agent, AgentResult, AgentTools
from hudproxy.env.run import Run, RunContext
from hudproxy.grading import load_rubric
from hudproxy.journal.query import Call
from hudproxy.journal.rows import iso_time

if TYPE_CHECKING:
    from hudproxy.env.environment import Environment
    from hudproxy.evaluation.agents import AgentSource
    from hudproxy.evaluation.tasks import RunSpec

CALL_FIELDS = [f.name for f in fields(Call)]
WORKER = f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RunRecord:
    """A finished run: its `runs` row (ids are the store's), its journal rows, its transcript; graded by a rubric,
    its `scores` rows (hudproxy.grading.Grade.rows) and the `end_state` the rubric read (for `hudproxy grade`)."""

    run: dict[str, Any]
    calls: list[dict[str, Any]]
    transcript: list[dict[str, Any]]
    scores: list[dict[str, Any]] = field(default_factory=list)
    end_state: dict[str, Any] | None = None
    rubric: str | None = None  # where the rubric came from (its file)
    graded_args: dict[str, Any] = field(default_factory=dict)  # the arguments with the scenario's defaults

    @property
    def scenario(self) -> str:
        return self.run["scenario"]

    @property
    def group(self) -> str:
        """What the summary groups by: the scenario, and the faults it ran under (`update-order [throttled]`)."""
        faults = self.run.get("faults")
        return self.run["scenario"] if not faults else f"{self.run['scenario']} [{faults}]"

    @property
    def reward(self) -> float:
        return self.run["reward"]

    @property
    def error(self) -> str | None:
        return self.run["error"]

    @property
    def duration_ms(self) -> float:
        return self.run["duration_ms"]

    @property
    def subscores(self) -> dict[str, float]:
        return json.loads(self.run["subscores"])


class _Traced:
    """Wraps the agent to keep its traceback: `env.execute` turns an agent failure into a one-line error."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.traceback: str | None = None

    async def run(self, prompt: str, tools: AgentTools) -> AgentResult:
        try:
            return await self.agent.run(prompt, tools)
        except Exception:
            self.traceback = traceback.format_exc()
            raise


async def execute(env: Environment, spec: RunSpec, agents: AgentSource, timeout: float | None = None) -> RunRecord:
    """Run `spec` in a fresh RunContext named `spec.session` (its replay session, its journal, its databases)."""
    context = RunContext(env.name, spec.session)
    started, clock = time.time(), time.perf_counter()
    run: Run | None = None
    error: str | None = None
    try:
        if spec.faults is not None:  # the task's `faults:`, on this run's replay session before anything runs
            await env.inject_faults(spec.session, spec.faults)
        agent = _Traced(agents.make(spec.scenario, spec.args, spec.seed))
        rubric = load_rubric(spec.rubric) if spec.rubric else None
        work = env.execute(context, spec.scenario, agent, dict(spec.args), rubric)
        run = await (asyncio.wait_for(work, timeout) if timeout else work)
        if run.error is not None:
            error = f"{run.error}\n{agent.traceback}" if agent.traceback else run.error
    except TimeoutError:
        error = f"TimeoutError: the run took longer than {timeout:g}s and was cancelled"
    except Exception:
        error = traceback.format_exc()
    duration = round((time.perf_counter() - clock) * 1000, 3)
    grade = run.grade if run is not None else None
    return RunRecord(row(spec, agents.label, run, error, started, duration), journal_rows(context.journal.entries),
                     run.transcript if run is not None else [], grade.rows() if grade else [],
                     run.end_state if run is not None else None, _rubric_source(env, spec),
                     _full_args(env, spec))  # fmt: skip


def _full_args(env: Environment, spec: RunSpec) -> dict[str, Any]:
    scenario = env.scenarios.get(spec.scenario)
    return scenario.arguments(spec.args) if scenario is not None else dict(spec.args)


def _rubric_source(env: Environment, spec: RunSpec) -> str | None:
    if spec.rubric:
        return spec.rubric
    scenario = env.scenarios.get(spec.scenario)
    rubric = scenario.rubric if scenario is not None else None
    return rubric.source if rubric is not None else None


def row(spec: RunSpec, agent: str, run: Run | None, error: str | None, started: float, ms: float) -> dict[str, Any]:
    return {
        "idx": spec.index, "task": spec.task, "scenario": spec.scenario, "args": dumps(spec.args),
        "repeat": spec.repeat,
        "agent": agent, "seed": spec.seed, "session": spec.session,
        "faults": str(spec.faults.get("name") or "faults") if spec.faults else None,
        "prompt": run.prompt if run else None, "answer": run.answer if run else None,
        "reward": 0.0 if error is not None or run is None else run.reward,
        "subscores": dumps(run.subscores if run else {}), "notes": dumps(run.notes if run else []),
        "error": error, "started": iso_time(started), "duration_ms": ms, "worker": WORKER,
    }  # fmt: skip


def journal_rows(calls: list[Call]) -> list[dict[str, Any]]:
    rows = []
    for call in calls:
        entry = {name: getattr(call, name) for name in CALL_FIELDS}
        entry["request_headers"] = dumps(call.request_headers)
        entry["diagnosis"] = dumps(call.diagnosis) if call.diagnosis else None
        entry["evidence"] = dumps(call.evidence) if call.evidence else None
        rows.append(entry)
    return rows


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def failed(spec: RunSpec, agent: str, error: str) -> RunRecord:
    """A run that never got to run (its worker died): recorded as an error like any crash."""
    return RunRecord(row(spec, agent, None, error, time.time(), 0.0), [], [])
