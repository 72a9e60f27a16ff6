"""`run_eval`: scenario x arguments x repeats, run in isolation on a backend, summarised and stored.

    summary = await run_eval("envs/shop", [{"scenario": "update-order", "args": {"order_id": "A1"}}],
                             "scripted", runs=1000, concurrency=64, out="results.db")
    summary = await run_eval(env, "tasks.yaml", my_agent_factory, seed=1)    # the same, on a loaded env

Every run has its own RunContext: its replay session (`run-000042`, the same in every eval of a freshly loaded
environment, so two evals give identical journals), its journal, mock services and databases. The same tasks,
agent and seed give the same rewards and journal rows on either backend (timestamps and durations aside).

An LLM agent's model calls go through an LLM cassette (`llm_cassette=`, `llm_mode=` record | replay | once):
recorded against the real endpoint, or replayed with none, each run's calls under its own session, so a replayed
eval gives the recorded transcripts, journals and rewards. Each run's token usage (and cost, by `llm_prices`)
is summed from its `llm` journal rows into the results and the summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import secrets
import sys
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from hudproxy.choices import Choice
from hudproxy.env.environment import Environment
from hudproxy.errors import ConfigError
from hudproxy.evaluation.agents import AgentLike, AgentSource, ModelRoute
from hudproxy.evaluation.execute import RunRecord, dumps
from hudproxy.evaluation.local import run_local
from hudproxy.evaluation.store import ResultsWriter
from hudproxy.evaluation.summary import PASS_THRESHOLD, EvalSummary
from hudproxy.evaluation.tasks import Task, as_tasks, check_tasks, plan, plan_size
from hudproxy.grading.active_judge import judging_with
from hudproxy.grading.judging import Judge
from hudproxy.llm.cassette import LlmCassette, LlmMode
from hudproxy.llm.usage import Prices, load_prices, run_usage

TasksLike = Sequence[Task | Mapping[str, Any]] | Task | Mapping[str, Any] | str | Path
OnResult = Callable[[RunRecord, EvalSummary], None]
_evals_on: weakref.WeakKeyDictionary[Environment, int] = weakref.WeakKeyDictionary()


class Backend(Choice):
    """local: one process, one event loop. ray: Ray actors, each with its own copy of the environment."""

    LOCAL = "local"
    RAY = "ray"

    @classmethod
    def option_name(cls) -> str:
        return "--backend"


async def run_eval(
    env: Environment | str | Path, tasks: TasksLike, agent: AgentLike, /, *, runs: int = 1, concurrency: int = 16,
    seed: int = 0, out: str | Path | None = None, backend: Backend | str = Backend.LOCAL,
    ray_address: str | None = None, workers: int | None = None, timeout: float | None = None,
    on_start: Callable[[EvalSummary], None] | None = None, on_result: OnResult | None = None,
    stop: asyncio.Event | None = None, worker_env: dict[str, str] | None = None, generalise: bool = False,
    pass_threshold: float = PASS_THRESHOLD, judge: Judge | str | None = None, judge_samples: int = 1,
    llm_cassette: str | Path | None = None, llm_mode: LlmMode | str = LlmMode.ONCE, llm_stream: bool = False,
    stream_timing: bool = False, llm_prices: str | Path | Mapping[str, Any] | None = None,
) -> EvalSummary:  # fmt: skip
    """Run every task `repeats` times (else `runs` times) with a fresh agent per run; see the module docstring.

    Each run of a task is a trial with its own seed; `summary.reliability_table()` (and the results' `tasks`
    table) gives each task's pass@1, pass@k, pass^k and mean reward ± 95%, a trial passing with reward ≥
    `pass_threshold`.
    `judge` answers rubric criteria written `judge:` (`hudproxy eval --judge MODEL`): a model name (an LLMJudge
    from the environment, `judge_samples` samples each) or any `Judge`; scoring finds it with
    `hudproxy.grading.active_judge.current_judge()`, in Ray workers too (they rebuild it from the model name).

    `env` is an Environment or the path of one (loaded here, and by each Ray worker). `agent` is a spec string
    (`scripted`, `openai:MODEL`, `module:factory`), a factory or an Agent. `out` keeps every run in SQLite.
    Setting `stop` (the CLI does on Ctrl-C) ends the eval early, keeping what finished (`summary.interrupted`).
    `generalise`: every `env.replay(...)` of the environment answers unrecorded CRUD requests from each run's own
    resource state (`hudproxy eval --generalise`); scenarios grade it with `env.state_diff()`.
    `on_start(summary)` is called once everything is checked, before the first run; `on_result` after each run.
    `llm_cassette`: `openai:MODEL` agents call the model through it (`llm_mode` record, replay or once: see
    `hudproxy.llm.cassette`), streamed with `llm_stream`, replayed at the recorded pace with `stream_timing`;
    `llm_prices` (a file or mapping, `hudproxy.llm.usage`) prices each run's tokens.
    """
    _check_numbers(runs, concurrency, workers, timeout)
    if math.isnan(pass_threshold):
        raise ConfigError("--pass-threshold must be a number, the reward a trial needs to pass (e.g. 1.0)")
    chosen = Backend.parse(backend)
    environment, origin = _environment(env)
    task_list = as_tasks(tasks)
    check_tasks(environment, task_list)
    if generalise:
        worker_env = {**(worker_env or {}), **_generalising(environment)}
    prices = load_prices(llm_prices) if llm_prices is not None else None
    llm = LlmCassette(llm_cassette, llm_mode, stream_timing=stream_timing) if llm_cassette is not None else None
    route = ModelRoute(None, llm_stream, replaying=llm is not None and llm.mode is LlmMode.REPLAY)
    agents = AgentSource(agent, environment, route)  # checked here, before any run, even when Ray workers run them
    if chosen is Backend.RAY and origin is None:
        raise ConfigError("--backend ray: each worker loads the environment from its file; pass its path")
    judging, owned = _judge(judge, judge_samples)
    if judging is not None and chosen is Backend.RAY:
        worker_env = {**(worker_env or {}), **_judge_environment(judging)}
    specs = plan(task_list, runs, seed, _session_prefix(environment, fresh=environment is not env))
    summary = EvalSummary(secrets.token_hex(4), environment.name, agents.label, chosen.value, seed,
                          plan_size(task_list, runs), Path(out) if out else None,
                          pass_threshold=pass_threshold)  # fmt: skip
    summary.plan([(task.scenario, dumps(task.args), task.repeats or runs) for task in task_list])
    eval_row = {**_eval_row(summary, concurrency), "judge": _judge_label(judging)}
    try:
        writer = ResultsWriter(out, eval_row) if out else None
    except BaseException:
        _close(judging, owned)
        raise

    def accept(record: RunRecord) -> None:
        record.run.update(_usage_columns(record, prices))
        missed = llm.misses.pop(record.run["session"], None) if llm is not None else None
        if missed and record.run["error"]:  # why the model call found no recording: the turn and field
            record.run["error"] += "\n" + "\n".join(missed)
        summary.add(record)
        if writer is not None:
            writer.put(record)
        if on_result is not None:
            on_result(record, summary)

    if on_start is not None:
        on_start(summary)
    clock, status = time.perf_counter(), "interrupted"
    try:
        if llm is not None:
            await asyncio.to_thread(llm.start)
            route = ModelRoute(llm.base_url, llm_stream, replaying=llm.mode is LlmMode.REPLAY)
            agents = AgentSource(agent, environment, route)
            if owned and judge_shares_endpoint(judging, llm.upstream):  # the judge's calls go in the cassette too
                judging = judging.through(llm.base_url)  # type: ignore[union-attr]
                worker_env = {**(worker_env or {}), "HUDPROXY_JUDGE_BASE_URL": llm.base_url}
        if chosen is Backend.LOCAL:
            with judging_with(judging):  # the runs' tasks start inside, so scoring finds the judge
                async with _started(environment):
                    complete = await run_local(environment, specs, agents, accept, concurrency=concurrency,
                                               timeout=timeout, stop=stop)  # fmt: skip
        else:
            from hudproxy.evaluation.ray_backend import run_ray

            complete = await run_ray(str(origin), specs, agent, agents.label, accept, concurrency=concurrency,
                                     timeout=timeout, stop=stop, address=ray_address, workers=workers,
                                     env_vars=worker_env, route=route)  # fmt: skip
        status = "finished" if complete else "interrupted"
    except (Exception, asyncio.CancelledError) as exc:
        status = "interrupted" if isinstance(exc, asyncio.CancelledError) else "failed"
        raise
    finally:
        summary.elapsed_s = time.perf_counter() - clock
        summary.interrupted = status != "finished"
        if llm is not None:  # a re-recording replaces the cassette only when the eval finished
            await asyncio.to_thread(llm.stop, status == "finished")
        if writer is not None:
            writer.close(status, {**summary.totals(), "ended": _now()}, summary.task_rows())
        _close(judging, owned)
    return summary


def _usage_columns(record: RunRecord, prices: Prices | None) -> dict[str, Any]:
    """The run's token usage and cost, from its `llm` journal rows (None when it made no model call)."""
    found = run_usage(record.calls, prices)
    if found is None:
        return {"prompt_tokens": None, "completion_tokens": None, "cost": None}
    usage, cost = found
    return {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "cost": cost}


def _generalising(env: Environment) -> dict[str, str]:
    """Ask every replay of the environment to generalise: here, and in Ray workers (by variable)."""
    from hudproxy.env.replaying import GENERALISE_ENV

    if not env.replays:
        raise ConfigError(f"--generalise: environment {env.name!r} has no env.replay(...) to generalise.")
    if env.started and not all(r.replay is None or r.generalise for r in env.replays):
        raise ConfigError("--generalise: the environment's replay is already running without it; stop it first.")
    env.generalise = True
    return {GENERALISE_ENV: "1"}


def judge_shares_endpoint(judge: Judge | None, upstream: str) -> bool:
    """An LLMJudge asking the agent's model endpoint: an LLM cassette records and replays its calls as well."""
    from hudproxy.grading.llm_judge import LLMJudge

    return isinstance(judge, LLMJudge) and judge.base_url.rstrip("/") == upstream.rstrip("/")


def _judge(judge: Judge | str | None, samples: int) -> tuple[Judge | None, bool]:
    """(the eval's judge, whether run_eval made it and so closes it)."""
    if isinstance(judge, str):
        from hudproxy.grading.llm_judge import judge_from_environment

        return judge_from_environment(judge, samples=samples), True
    return judge, False


def _close(judge: Judge | None, owned: bool) -> None:
    if owned and judge is not None and hasattr(judge, "close"):
        judge.close()


def _judge_environment(judge: Judge) -> dict[str, str]:
    """What a Ray worker needs to build the same judge: only an LLMJudge can be named by its model."""
    from hudproxy.grading.active_judge import environment_for

    model, samples = getattr(judge, "model", None), getattr(judge, "samples", 1)
    if not isinstance(model, str):
        raise ConfigError("--backend ray: give the judge as a model name (--judge MODEL); a Python judge object "
                          "cannot reach the workers")  # fmt: skip
    return environment_for(model, samples)


def _judge_label(judge: Judge | None) -> str | None:
    if judge is None:
        return None
    model, samples = getattr(judge, "model", None), getattr(judge, "samples", 1)
    name = model if isinstance(model, str) else getattr(judge, "__name__", type(judge).__name__)
    return f"{name} x{samples}" if samples != 1 else name


def _check_numbers(runs: int, concurrency: int, workers: int | None, timeout: float | None) -> None:
    for name, value in (("--repeats/--runs", runs), ("--concurrency", concurrency), ("--workers", workers)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, not {value}")
    if timeout is not None and timeout <= 0:
        raise ConfigError(f"--timeout must be a positive number of seconds, not {timeout}")


def _environment(env: Environment | str | Path) -> tuple[Environment, Path | None]:
    """(the environment, the file it comes from: what a Ray worker loads)."""
    from hudproxy.env.loader import load_env

    if isinstance(env, Environment):
        return env, _origin(env)
    return load_env(env), Path(env).resolve()


def _origin(env: Environment) -> Path | None:
    """The file an Environment object was defined in (not `__main__`: a worker must not re-run a script)."""
    for name, module in list(sys.modules.items()):
        found = getattr(module, "__dict__", {}).values()
        if name != "__main__" and getattr(module, "__file__", None) and any(value is env for value in found):
            return Path(module.__file__).resolve()  # type: ignore[arg-type]
    return None


def _session_prefix(env: Environment, fresh: bool) -> str:
    """`run` for an environment's first eval; `run2`, `run3`... after, so a replay never reuses a session."""
    count = _evals_on[env] = _evals_on.get(env, 0) + 1
    return "run" if fresh or count == 1 else f"run{count}"


@contextlib.asynccontextmanager
async def _started(env: Environment) -> AsyncIterator[None]:
    """Start the environment for the eval unless the caller already did (then it stays as it was)."""
    if env.started:
        yield
        return
    async with env:
        yield


def _eval_row(summary: EvalSummary, concurrency: int) -> dict[str, Any]:
    return {"id": summary.eval_id, "env": summary.env, "agent": summary.agent, "backend": summary.backend,
            "seed": summary.seed, "concurrency": concurrency, "planned": summary.planned,
            "pass_threshold": summary.pass_threshold, "started": _now()}  # fmt: skip


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
