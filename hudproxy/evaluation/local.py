"""The local backend: one event loop, `concurrency` runs in flight, each in its own RunContext.

Workers pull the next run from one lazy plan, so memory holds the runs in flight, not the eval. `stop` (set by
Ctrl-C) cancels the runs in flight (their contexts close, databases roll back) and keeps every finished one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from hudproxy.env.environment import Environment
from hudproxy.evaluation.agents import AgentSource
from hudproxy.evaluation.execute import RunRecord, execute
from hudproxy.evaluation.tasks import RunSpec

Accept = Callable[[RunRecord], None]


async def run_local(
    env: Environment, specs: Iterator[RunSpec], agents: AgentSource, accept: Accept, *, concurrency: int,
    timeout: float | None = None, stop: asyncio.Event | None = None,
) -> bool:  # fmt: skip
    """Run every spec (True), or until `stop` is set (False)."""

    stopped = False  # a worker left a spec untaken: the eval is not complete even if every worker has ended

    async def worker() -> None:
        nonlocal stopped
        for spec in specs:  # one shared iterator: each worker takes the next run
            if stop is not None and stop.is_set():
                stopped = True
                return
            accept(await execute(env, spec, agents, timeout))

    workers = [asyncio.create_task(worker(), name=f"eval-worker-{n}") for n in range(concurrency)]
    everything = asyncio.gather(*workers)
    waiting = [everything]
    if stop is not None:
        waiting.append(asyncio.ensure_future(stop.wait()))
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if everything.done():  # also when the workers saw `stop` before its waiter woke `wait`
            everything.result()  # a failure to accept (the results file) surfaces here
            return not stopped
        return False
    finally:
        for task in [*workers, *waiting[1:]]:
            task.cancel()
        await asyncio.gather(*workers, *waiting[1:], return_exceptions=True)
        if not everything.done():
            everything.cancel()
        await asyncio.gather(everything, return_exceptions=True)
