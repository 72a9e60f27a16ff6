"""The Ray backend: the same runs spread over a Ray cluster, with no change to the environment or its scenarios.

Each worker is an actor that loads the environment itself from its path (so it has its own replay, databases
and mock services), starts it, and runs chunks of the plan in its own event loop; each chunk's RunRecords (run
row, journal rows, transcript) travel back to the driver, which writes them. Variables named HUDPROXY_* and
OPENAI_* are passed to the workers, so an environment configured by them (HUDPROXY_SHOP_MODE=replay) behaves as
it does locally. On a multi-node cluster the environment folder must be at the same path on every node.

Ray is an optional extra: `pip install 'hudproxy[ray]'`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
from collections.abc import Iterator
from typing import Any

from hudproxy.errors import ConfigError
from hudproxy.evaluation.agents import AgentLike, AgentSource, ModelRoute
from hudproxy.evaluation.execute import RunRecord, execute, failed
from hudproxy.evaluation.local import Accept
from hudproxy.evaluation.tasks import RunSpec

CHUNK = 25  # runs per round trip: small enough for a live progress bar, large enough to amortise the trip
PASSED_ON = ("HUDPROXY_", "OPENAI_")


class EvalWorker:
    """One Ray actor: its own environment, loaded from the path, running up to `concurrency` runs at once."""

    def __init__(
        self, env_path: str, agent: AgentLike, concurrency: int, timeout: float | None, route: ModelRoute | None = None
    ) -> None:
        self.env_path, self.agent, self.concurrency, self.timeout = env_path, agent, concurrency, timeout
        self.route = route  # an LLM cassette's server, the driver's: every worker's model calls go to it
        self.env: Any = None
        self.agents: AgentSource | None = None
        self.slots: asyncio.Semaphore | None = None

    async def ready(self) -> str:
        """Load and start the environment (the driver waits for every worker before sending runs)."""
        from hudproxy.env.loader import load_env

        self.env = load_env(self.env_path)
        self.agents = AgentSource(self.agent, self.env, self.route)
        self.slots = asyncio.Semaphore(self.concurrency)
        await self.env.start()
        return f"{os.uname().nodename}:{os.getpid()}"

    async def run(self, specs: list[RunSpec]) -> list[RunRecord]:
        assert self.slots is not None and self.agents is not None
        slots, agents = self.slots, self.agents

        async def one(spec: RunSpec) -> RunRecord:
            async with slots:
                return await execute(self.env, spec, agents, self.timeout)

        return list(await asyncio.gather(*(one(spec) for spec in specs)))

    async def close(self) -> None:
        if self.env is not None:
            await self.env.stop()


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(PASSED_ON)} | dict(extra or {})


async def run_ray(
    env_path: str, specs: Iterator[RunSpec], agent: AgentLike, label: str, accept: Accept, *, concurrency: int,
    timeout: float | None = None, stop: asyncio.Event | None = None, address: str | None = None,
    workers: int | None = None, env_vars: dict[str, str] | None = None, route: ModelRoute | None = None,
) -> bool:  # fmt: skip
    """Run every spec on Ray actors (True), or until `stop` is set (False)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--backend ray needs Ray: pip install 'hudproxy[ray]'") from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, logging_level="warning", log_to_driver=False)
        except Exception as exc:  # a bad address, an unreachable cluster
            where = f" at {address}" if address else ""
            raise ConfigError(f"--backend ray: cannot start or reach Ray{where}: {exc}") from None
    try:
        actors = _start_actors(ray, env_path, agent, concurrency, timeout, workers, env_vars, route)
        try:
            await _ready(ray, actors)
            return await _drive(ray, actors, specs, label, accept, stop)
        finally:
            await _close(ray, actors)
    finally:
        if started_here:
            ray.shutdown()


def _start_actors(
    ray: Any, env_path: str, agent: AgentLike, concurrency: int, timeout: float | None, workers: int | None,
    env_vars: dict[str, str] | None, route: ModelRoute | None = None,
) -> list[Any]:  # fmt: skip
    cpus = float(ray.cluster_resources().get("CPU", 1))
    count = workers or max(1, int(cpus))
    per_worker = max(1, math.ceil(concurrency / count))
    remote = ray.remote(EvalWorker).options(
        num_cpus=min(1.0, cpus / count), max_concurrency=per_worker + 8, runtime_env={"env_vars": worker_env(env_vars)}
    )
    return [remote.remote(env_path, agent, per_worker, timeout, route) for _ in range(count)]


async def _ready(ray: Any, actors: list[Any]) -> None:
    try:
        await asyncio.gather(*(_wait(actor.ready.remote()) for actor in actors))
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None) or exc
        raise ConfigError(f"a Ray worker could not start the environment: {type(cause).__name__}: {cause}") from None


async def _drive(
    ray: Any, actors: list[Any], specs: Iterator[RunSpec], label: str, accept: Accept, stop: asyncio.Event | None
) -> bool:
    chunks = iter(lambda: list(itertools.islice(specs, CHUNK)), [])
    inflight: dict[asyncio.Future[Any], tuple[Any, list[RunSpec], Any]] = {}
    alive = list(actors)

    def submit(actor: Any) -> None:
        chunk = next(chunks, None)
        if chunk:
            ref = actor.run.remote(chunk)
            inflight[_wait(ref)] = (actor, chunk, ref)

    for actor in alive:
        submit(actor)
        submit(actor)  # two chunks each, so a worker never idles while the driver writes
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None
    try:
        while inflight:
            done, _ = await asyncio.wait([*inflight, *([stopping] if stopping else [])],
                                         return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
            if stopping is not None and stopping.done():
                return False
            for future in done:
                actor, chunk, _ref = inflight.pop(future)
                try:
                    records = future.result()
                except ray.exceptions.RayError as exc:  # the worker died: its runs are errors, the others go on
                    records = [failed(spec, label, f"Ray worker failed: {exc}") for spec in chunk]
                    alive.remove(actor)
                    if not alive:
                        for record in records:
                            accept(record)
                        raise ConfigError(f"every Ray worker failed; the last: {exc}") from None
                for record in records:
                    accept(record)
                if actor in alive:
                    submit(actor)
        return True
    finally:
        for future, (_actor, _chunk, ref) in inflight.items():
            future.cancel()
            with contextlib.suppress(Exception):  # already finished, or its worker is gone
                ray.cancel(ref)
        if stopping is not None:
            stopping.cancel()


async def _close(ray: Any, actors: list[Any]) -> None:
    """Stop each worker's environment (its replay server, its pools), then end the actor."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(_wait(a.close.remote()) for a in actors), return_exceptions=True), 10)
    for actor in actors:
        ray.kill(actor)


def _wait(ref: Any) -> asyncio.Future[Any]:
    return asyncio.wrap_future(ref.future())
