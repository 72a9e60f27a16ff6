"""`hudproxy eval`: many isolated runs of an environment's scenarios, with a live progress bar and a final table."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from hudproxy.cli.common import console, err_console, setup_logging, split_csv
from hudproxy.errors import ConfigError

Arg = typer.Argument
Opt = typer.Option


def eval_(
    target: Annotated[Path, Arg(help="An environment folder (with env.py) or its .py file")],
    scenario: Annotated[list[str] | None, Opt("--scenario", "-s", help="Scenario to run (repeatable)")] = None,
    arg: Annotated[list[str] | None, Opt(help="KEY=VALUE for --scenario, repeatable (VALUE as JSON if it is)")] = None,
    tasks: Annotated[Path | None, Opt(help="Task file: YAML list or JSONL of {scenario, args, repeats}")] = None,
    agent: Annotated[str, Opt(help="scripted (env.agent) | openai:MODEL | module:factory | file.py:factory")] = (
        "scripted"
    ),
    runs: Annotated[
        int, Opt("--runs", "--repeats", help="Trials of each task, each with its own seed (a task's `repeats` wins)")
    ] = 1,
    pass_threshold: Annotated[float, Opt(help="A trial passes with reward ≥ this (pass@k, pass^k)")] = 1.0,
    judge: Annotated[str | None, Opt(help="Model for rubric `judge:` criteria (OPENAI_BASE_URL/OPENAI_API_KEY, or "
                                          "HUDPROXY_JUDGE_BASE_URL/HUDPROXY_JUDGE_API_KEY)")] = None,
    judge_samples: Annotated[int, Opt(help="Ask the judge this many times per criterion; the majority decides")] = 1,
    concurrency: Annotated[int, Opt(help="Runs in flight at once, over all workers")] = 16,
    out: Annotated[Path | None, Opt(help="SQLite file for the results: tables runs, calls, transcripts")] = None,
    seed: Annotated[int, Opt(help="Fixes each run's seed (given to agents that take one)")] = 0,
    timeout: Annotated[float | None, Opt(help="Seconds before a run is cancelled and recorded as an error")] = None,
    backend: Annotated[str, Opt(help="local (one process) | ray (Ray actors, each loading the env)")] = "local",
    ray_address: Annotated[str | None, Opt(help="Ray: cluster address (default: start a local Ray)")] = None,
    workers: Annotated[int | None, Opt(help="Ray: worker actors (default: the cluster's CPUs)")] = None,
    ray_env: Annotated[list[str] | None, Opt(help="Ray: a variable to pass to workers (HUDPROXY_* always are)")] = None,
    verbose: Annotated[bool, Opt("--verbose", "-v", help="Show hudproxy's log (e.g. unmatched replays)")] = False,
    generalise: Annotated[
        bool, Opt("--generalise", help="The env's replays answer unrecorded CRUD calls from each run's own state")
    ] = False,
    llm_cassette: Annotated[
        Path | None, Opt(help="openai:MODEL agents call the model through this cassette, each run its own session")
    ] = None,
    llm_mode: Annotated[
        str | None, Opt(help="record (fresh, real endpoint) | replay (no endpoint) | once (replay known, record new)")
    ] = None,
    llm_stream: Annotated[bool, Opt("--llm-stream", help="openai:MODEL agents ask for streamed answers (SSE)")] = False,
    stream_timing: Annotated[
        bool, Opt("--stream-timing", help="Replay streamed model answers at their recorded pace")
    ] = False,
    llm_prices: Annotated[
        Path | None, Opt(help="Price table (YAML/JSON): {model: {prompt: USD/1M tokens, completion: USD/1M}}")
    ] = None,
) -> None:
    """Run scenarios x arguments x repeats, each run isolated (own replay session, database, mocks, journal).

    \b
    Example: hudproxy eval envs/shop
             (no --scenario: lists the scenarios and their arguments)
    Example: hudproxy eval envs/shop --scenario update-order --arg order_id=A1 --runs 1000 --concurrency 64
             --agent scripted --out results.db
    Example: hudproxy eval envs/shop --tasks tasks.yaml --agent openai:gpt-4o-mini --backend ray
    Example: hudproxy eval envs/shop --tasks tasks.yaml --agent openai:gpt-4o-mini --repeats 5
             (each task 5 trials: pass@1, pass@5, pass^5, mean reward ± 95%, tasks whose outcome flips)
    Example: hudproxy eval envs/shop --tasks tasks.yaml --judge gpt-4o-mini --judge-samples 3
             (rubric criteria written `judge: "..."` asked of the model; answers cached, see HUDPROXY_JUDGE_CACHE)
    Example: hudproxy eval envs/todos --scenario add-todo --arg title=sow --generalise
             (env.replay answers what nobody recorded from each run's state; graded with env.state_diff())
    Example: hudproxy eval envs/shop -s update-order --arg order_id=A1 --agent openai:gpt-4o-mini --runs 20
             --llm-cassette llm.yaml --llm-mode record    (then --llm-mode replay: the same runs, offline)

    `--agent scripted` is the factory the environment registered with `env.agent("scripted", factory)`.
    Ctrl-C stops: runs in flight are cancelled, finished ones are kept (exit code 130).
    """
    from hudproxy.evaluation import Task, load_tasks, run_eval
    from hudproxy.evaluation.progress import EvalProgress

    setup_logging(verbose, quiet=True)
    if not verbose:
        import logging

        logging.getLogger("hudproxy").setLevel(logging.ERROR)  # an agent's unmatched calls are its business
    if arg and not scenario:
        raise ConfigError("--arg applies to --scenario: give --scenario NAME too")
    if llm_cassette is None and (llm_mode or llm_stream or stream_timing):
        raise ConfigError("--llm-mode, --llm-stream and --stream-timing apply to --llm-cassette: give it too")
    plan: list[Task] = load_tasks(tasks) if tasks is not None else []
    plan += [Task(name, parse_args(arg or []), where=f"--scenario {name}") for name in split_csv(scenario)]
    if not plan:
        console.print(scenario_listing(target), markup=False, highlight=False)
        return
    progress = EvalProgress(err_console)
    passed_on = {name: _variable(name) for name in split_csv(ray_env)}

    async def main() -> Any:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, _interrupt, stop)
        try:
            with progress:
                return await run_eval(target, plan, agent, runs=runs, concurrency=concurrency, seed=seed, out=out,
                                      backend=backend, ray_address=ray_address, workers=workers, timeout=timeout,
                                      on_start=progress.on_start, on_result=progress.on_result, stop=stop,
                                      worker_env=passed_on, generalise=generalise,
                                      pass_threshold=pass_threshold, judge=judge, judge_samples=judge_samples,
                                      llm_cassette=llm_cassette, llm_mode=llm_mode or "once", llm_stream=llm_stream,
                                      stream_timing=stream_timing, llm_prices=llm_prices)  # fmt: skip
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    summary = asyncio.run(main())
    console.print(summary.table())
    reliability = summary.reliability_table()
    if reliability is not None:
        console.print(reliability)
    if summary.interrupted:
        kept = f"; kept {summary.finished} finished runs in {out}" if out else ""
        err_console.print(f"hudproxy eval: interrupted{kept}", markup=False)
        raise typer.Exit(130)


def scenario_listing(target: Path) -> str:
    """`hudproxy eval ENV` alone: what it could run, with each scenario's arguments as `--arg` wants them, and a
    command line to copy."""
    import inspect

    from hudproxy.env.loader import load_env

    env = load_env(target)
    if not env.scenarios:
        return f"{target}: this environment defines no scenarios (add one with @env.scenario())."
    lines = [f"{target}: give --scenario NAME (with --arg KEY=VALUE) or --tasks FILE; its scenarios:"]
    example = ""
    for name, found in sorted(env.scenarios.items()):
        params = list(inspect.signature(found.fn).parameters.values())
        args = " ".join(_arg_usage(p) for p in params)
        summary = found.description.strip().splitlines()[0] if found.description.strip() else ""
        lines.append(f"  {name}  {args}".rstrip() + (f"    {summary}" if summary else ""))
        if not example:
            required = " ".join(_arg_usage(p) for p in params if p.default is inspect.Parameter.empty)
            example = f"hudproxy eval {target} --scenario {name} {required}".rstrip()
    lines.append(f"e.g. {example} --runs 10")
    return "\n".join(lines)


def _arg_usage(param: Any) -> str:
    """`--arg order_id=<str>`, or `[--arg amount=12.5]` for an argument with a default."""
    import inspect

    kind = param.annotation
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", "value")
    if kind is inspect.Parameter.empty or kind == "_empty":
        kind = "value"
    if param.default is inspect.Parameter.empty:
        return f"--arg {param.name}=<{kind}>"
    shown = param.default if isinstance(param.default, str) else json.dumps(param.default)
    return f"[--arg {param.name}={shown}]"


def _interrupt(stop: asyncio.Event) -> None:
    """First Ctrl-C: stop cleanly (cancel runs in flight, keep the finished). Second: leave at once."""
    if stop.is_set():
        os._exit(130)
    err_console.print("hudproxy eval: stopping… (Ctrl-C again to quit at once)", markup=False)
    stop.set()


def _variable(name: str) -> str:
    if name not in os.environ:
        raise ConfigError(f"--ray-env {name}: no such variable is set here to pass on")
    return os.environ[name]


def parse_args(pairs: list[str]) -> dict[str, Any]:
    """`--arg order_id=A1 --arg amount=12.5` → {"order_id": "A1", "amount": 12.5}."""
    args: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--arg {pair!r}: expected KEY=VALUE, e.g. --arg order_id=A1")
        try:
            args[key.strip()] = json.loads(value)
        except ValueError:
            args[key.strip()] = value
    return args
