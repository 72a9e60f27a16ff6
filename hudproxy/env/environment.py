"""The Environment: an MCP server and client in one. Its tools are its own functions plus every connector's.

Configuration (tools, connectors, mocks, scenarios) lives here and is only read while runs go on; everything a
run can change lives in that run's RunContext. `call_tool` and an agent's call (in `run`, or over MCP from
`hudproxy serve`) take the same path: `_call` journals the call in the run, then `dispatch` answers it from a
mock or the tool's source.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Self, TypeVar

from hudproxy.env.agents import Agent, AgentTools
from hudproxy.env.connector import Connector, Mount, merge
from hudproxy.env.grading import finish_graded
from hudproxy.env.http import fastapi_connector, openapi_connector
from hudproxy.env.local import FunctionTools, ServiceTools
from hudproxy.env.mocks import UNSET, Mocks
from hudproxy.env.remote import EnvConnector, UrlConnector
from hudproxy.env.replaying import EnvReplay, generalise_asked
from hudproxy.env.run import Run, RunContext, current_run
from hudproxy.env.scenario import ActiveScenario, Scenario, ScenarioError
from hudproxy.env.tools import ToolError, ToolSpec
from hudproxy.errors import ConfigError
from hudproxy.grading import Judge, Rubric

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class Environment:
    """`Environment("shop")`: connect sources, add tools and scenarios, then `async with env:` to use it."""

    def __init__(self, name: str, *, instructions: str | None = None) -> None:
        self.name = name
        self.instructions = instructions
        self.local = FunctionTools()
        self.mounts: list[Mount] = [Mount(self.local)]
        self.services: dict[type, Mount] = {}
        self.mocks = Mocks()
        self.scenarios: dict[str, Scenario] = {}
        self.setups: list[Callable[[], contextlib.AbstractAsyncContextManager[Any]]] = []
        self.agents: dict[str, Callable[..., Any]] = {}
        self.databases: dict[str, Any] = {}
        self._table: dict[str, tuple[ToolSpec, Mount]] = {}
        self._stack: contextlib.AsyncExitStack | None = None
        self._sessions: dict[str, RunContext] = {}
        self.default_run = RunContext(name, "default")
        self.replays: list[EnvReplay] = []
        self.generalise = False  # every env.replay answers from its resource model (`hudproxy eval --generalise`)
        self.judge: Judge | None = None  # asked by rubrics' `judge:` criteria (else they are not applicable)

    def __repr__(self) -> str:
        return f"<Environment {self.name!r} tools={len(self._table)} scenarios={sorted(self.scenarios)}>"

    # -- sources -------------------------------------------------------------------------------------------
    def tool(self, fn: F | None = None, *, name: str | None = None, description: str | None = None) -> Any:
        """`@env.tool` or `@env.tool(name=...)`: a Python function as a tool (schemas from its signature)."""

        def register(func: F) -> F:
            self.local.add(func, name, description)
            return func

        return register(fn) if fn is not None else register

    def connect(
        self, connector: Connector, *, prefix: str | None = None, include: list[str] | None = None,
        exclude: list[str] | None = None,
    ) -> Connector:  # fmt: skip
        """Mount any Connector; `prefix`/`include`/`exclude` (globs) settle name clashes."""
        self.mounts.append(Mount(connector, prefix, include, list(exclude or [])))
        return connector

    def connect_fastapi(self, app: Any, *, headers: dict[str, str] | None = None, **mount: Any) -> Connector:
        """A FastAPI app in-process; pass the factory (`create_app`) to give every run its own app and state."""
        return self.connect(fastapi_connector(app, headers=headers), **mount)

    def connect_openapi(
        self, source: str | Path | dict[str, Any] | Callable[[], dict[str, Any]], *,
        base_url: str | Callable[[], str] | None = None,
        headers: dict[str, str] | None = None, **mount: Any,
    ) -> Connector:  # fmt: skip
        """An OpenAPI document (file, URL or dict); operations become tools making real HTTP calls."""
        return self.connect(openapi_connector(source, base_url, headers), **mount)

    def replay(
        self, cassette: str | Path, *,
        openapi: str | Path | dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None, prefix: str | None = None, **options: Any,
    ) -> EnvReplay:  # fmt: skip
        """A hudproxy replay of `cassette` for the environment's lifetime, each run in its own replay session.

        `openapi` (a document, file, URL or function): its operations become tools calling the replay. `options`
        go to `Replay(...)`: `generalise=True` answers unrecorded CRUD requests from each run's own resource
        state (with `openapi`'s paths as its templates), which a scenario grades with `env.state_diff()`; `seed`,
        `unmatched`, `match`, `stream_timing`..."""
        found = EnvReplay(cassette, options, lambda: self.generalise or generalise_asked(), openapi)
        self.replays.append(found)
        self.setups.append(contextlib.asynccontextmanager(found.serve))
        if openapi is not None:
            self.connect_openapi(openapi, base_url=found.base_url, headers=headers, prefix=prefix)
        return found

    def state(self) -> dict[str, dict[str, Any]]:
        """The current run's resources on the environment's replay (`env.replay(..., generalise=True)`)."""
        return self._only_replay().state()

    def state_diff(self) -> dict[str, list[dict[str, Any]]]:
        """What the current run changed on the environment's replay: created, deleted, updated (field by field)."""
        return self._only_replay().state_diff()

    async def inject_faults(self, session_id: str, faults: Any) -> None:
        """Fault rules on one run's session of every replay this environment serves (a task's `faults:`)."""
        running = [r for r in self.replays if r.replay is not None]
        if not running:
            raise ConfigError(f"environment {self.name!r}: a task's faults need a replay the environment serves "
                              "(env.replay(...)); this one has none running.")  # fmt: skip
        for replay in running:
            await replay.set_faults(session_id, faults)

    def _only_replay(self) -> EnvReplay:
        if len(self.replays) != 1:
            have = "none" if not self.replays else f"{len(self.replays)}: use the one env.replay(...) returned"
            raise ConfigError(f"environment {self.name!r}: state() needs one env.replay(...) (have {have}).")
        return self.replays[0]

    def connect_url(
        self, url: str, *, headers: dict[str, str] | None = None, per_run: bool = False, **mount: Any
    ) -> Connector:
        """A running MCP server (streamable HTTP)."""
        return self.connect(UrlConnector(url, headers, per_run), **mount)

    def connect_image(
        self, image: str, *, transport: str = "stdio", port: int | None = 8765, env: dict[str, str] | None = None,
        per_run: bool = False, command: list[str] | None = None, timeout: float = 60.0, **mount: Any,
    ) -> Connector:  # fmt: skip
        """The MCP server in a Docker image (`hudproxy build`), over stdio or streamable HTTP on the host network;
        its container (one per run with `per_run`) is removed when the env (the run) ends. See hudproxy.env.image."""
        from hudproxy.env.image import ImageConnector  # the Docker SDK loads only for envs that use it

        connector = ImageConnector(
            image, transport=transport, port=port, env=env, per_run=per_run, command=command, timeout=timeout
        )
        return self.connect(connector, **mount)

    def connect_env(self, other: Environment, **mount: Any) -> Connector:
        return self.connect(EnvConnector(other), **mount)

    def connect_hub(self, name: str, **mount: Any) -> Connector:
        """An environment of the local hub (`envs/` or $HUDPROXY_HUB) by name; an unknown name lists them."""
        from hudproxy.env.loader import load_hub_env

        other, origin = load_hub_env(name)
        return self.connect(EnvConnector(other, origin), **mount)

    # -- mocks -----------------------------------------------------------------------------------------------
    def mock(self, enabled: bool = True, *, seed: int = 0) -> None:
        """Every tool answers with a fake valid against its output schema, fixed by seed, name and arguments."""
        self.mocks.everything, self.mocks.seed = enabled, seed

    def mock_tool(self, name: str, value: Any) -> None:
        """One tool answers `value`, or `value(args)` when callable (sync or async); beats everything else."""
        self.mocks.override(name, value)

    def mock_service(self, cls: type[T], **mount: Any) -> type[T]:
        """A class whose public async methods become tools, on one instance per run (see `service`)."""
        mounted = Mount(ServiceTools(cls), mount.get("prefix"), mount.get("include"), list(mount.get("exclude", [])))
        self.services[cls] = mounted
        self.mounts.append(mounted)
        return cls

    def service(self, cls: type[T]) -> T:
        """The current run's instance of a mock service (inside a scenario or a tool)."""
        return self.current().service(cls)

    # -- scenarios -------------------------------------------------------------------------------------------
    def scenario(
        self, name: str | None = None, *, description: str | None = None, rubric: str | Path | Rubric | None = None
    ) -> Callable[[F], F]:
        """`@env.scenario("name")` on an async generator; `rubric=` (a YAML file relative to the scenario's file,
        or a Rubric) grades it as data: gates and weighted criteria over its journal and end state."""

        def register(fn: F) -> F:
            key = name or fn.__name__.replace("_", "-")
            self.scenarios[key] = Scenario(key, fn, description, rubric)
            return fn

        return register

    def agent(self, name: str, factory: F | None = None) -> Any:
        """`env.agent("scripted", factory)` or `@env.agent("scripted")`: a named agent for `hudproxy eval --agent
        NAME`; `factory(scenario, args[, seed])` returns an Agent or a list of ToolCall/Final steps."""

        def register(fn: F) -> F:
            self.agents[name] = fn
            return fn

        return register(factory) if factory is not None else register

    def database(self, db: Any, name: str = "default") -> Any:
        """Every run gets its own database from `db` (a RunDatabase: a SqliteTemplate copy, a PostgresRollback
        transaction), released when the run ends; scenarios and tools reach it with `env.db(name)`."""
        self.databases[name] = db
        return db

    def db(self, name: str = "default") -> Any:
        """The current run's own database handle (see `database`)."""
        return self.current().db(name)

    def setup(self, fn: Callable[[], AsyncIterator[Any]]) -> Callable[[], AsyncIterator[Any]]:
        """`@env.setup` on an async generator: code before `yield` runs at start (services), after it at stop."""
        self.setups.append(contextlib.asynccontextmanager(fn))
        return fn

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._stack is not None:
            return
        stack = contextlib.AsyncExitStack()
        try:
            for setup in self.setups:
                await stack.enter_async_context(setup())
            for mount in self.mounts:
                await mount.connector.start()
                stack.push_async_callback(mount.connector.stop)
            self.refresh()
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack

    async def stop(self) -> None:
        stack, self._stack = self._stack, None
        for run in [*self._sessions.values(), self.default_run]:
            await run.aclose()
        self._sessions.clear()
        for db in self.databases.values():  # a pool (PostgresRollback) reopens on the next start's first run
            if hasattr(db, "aclose"):
                await db.aclose()
        if stack is not None:
            await stack.aclose()

    @property
    def started(self) -> bool:
        return self._stack is not None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def refresh(self) -> None:
        """Rebuild the tool table from the mounts (raises ToolClashError naming both sources of a name)."""
        self._table = merge((m.visible(), m) for m in self.mounts)

    # -- calling ---------------------------------------------------------------------------------------------
    def tool_specs(self) -> list[ToolSpec]:
        return [spec for spec, _mount in self._table.values()]

    def spec(self, name: str) -> ToolSpec | None:
        entry = self._table.get(name)
        return entry[0] if entry else None

    def current(self) -> RunContext:
        """The run this task belongs to (`env.run`), else the environment's default run."""
        return current_run.get() or self.default_run

    def session_run(self, session_id: str | None) -> RunContext:
        """An MCP session's run (for `hudproxy serve`): one RunContext per hudproxy session id."""
        if not session_id:
            return self.default_run
        run = self._sessions.get(session_id)
        if run is None:
            run = self._sessions[session_id] = RunContext(self.name, session_id)
        return run

    async def call_tool(self, name: str, /, **args: Any) -> Any:
        """Call a tool as an agent would (journaled in the current run); a failure raises ToolError."""
        return await self.call(self.current(), name, args)

    async def call(self, run: RunContext, name: str, args: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            value = await self.dispatch(run, name, args)
        except ToolError as exc:
            run.journal.tool(name, args, None, str(exc), started)
            raise
        run.journal.tool(name, args, value, None, started)
        return value

    async def dispatch(self, run: RunContext, name: str, args: dict[str, Any]) -> Any:
        """Answer without journaling: mock_tool > mock service > mock() > the real source."""
        entry = self._table.get(name)
        if entry is None:
            if self._stack is None:
                raise ToolError(f"environment {self.name!r} is not started: use `async with env:`")
            raise ToolError(f"unknown tool {name!r}; available: {', '.join(sorted(self._table)) or 'none'}")
        spec, mount = entry
        mocked = await self.mocks.answer(spec, args, isinstance(mount.connector, ServiceTools))
        if mocked is not UNSET:
            return mocked
        return await mount.connector.call(mount.original(name), args, run)

    # -- runs ------------------------------------------------------------------------------------------------
    async def run(
        self, scenario: str, agent: Agent, /, *, llm_cassette: str | Path | None = None, llm_mode: str = "once",
        stream_timing: bool = False, **args: Any,
    ) -> Run:  # fmt: skip
        """One isolated run: setup and prompt, the agent's tool calls, the reward; `run.calls()` is its journal.

        `llm_cassette`: an `OpenAIChatAgent`'s model calls go through it (`llm_mode` record, replay or once; see
        `hudproxy.llm.cassette`), so the run can be replayed without the model."""
        if llm_cassette is None:
            return await self.execute(RunContext(self.name), scenario, agent, args)
        from hudproxy.env.llm import routed_through

        async with routed_through(agent, llm_cassette, llm_mode, stream_timing) as routed:
            return await self.execute(RunContext(self.name), scenario, routed, args)

    async def execute(
        self, context: RunContext, scenario: str, agent: Agent, args: dict[str, Any], rubric: Rubric | None = None
    ) -> Run:
        """`run` in a context the caller made: the eval runner names its runs (their replay sessions) and keeps
        the journal of a run that crashed. The context is closed (databases released) however the run ends.
        `rubric` (a task's) grades the run instead of the scenario's own rubric or reward."""
        found = self.scenarios.get(scenario)
        if found is None:
            defined = ", ".join(sorted(self.scenarios)) or "none"
            raise ScenarioError(f"unknown scenario {scenario!r}; defined: {defined}")
        token = current_run.set(context)
        try:
            for name, db in self.databases.items():
                context.databases[name] = await context.stack.enter_async_context(db.run())
            active = await ActiveScenario.start(found, args)
            tools = AgentTools(self.tool_specs(), lambda name, arguments: self.call(context, name, arguments))
            try:
                outcome = await agent.run(active.prompt, tools)
            except Exception as exc:
                await active.abandon()
                return Run(scenario, args, active.prompt, None, 0.0, context=context, error=f"agent failed: {exc!r}")
            graded = await finish_graded(self, context, active, outcome, rubric or found.rubric)
            result = graded.result
            return Run(scenario, args, active.prompt, outcome.answer, result.reward, result.subscores, result.notes,
                       outcome.transcript, context, grade=graded.grade, end_state=graded.end_state)  # fmt: skip
        finally:
            current_run.reset(token)
            await context.aclose()

    # -- serving and reloading -------------------------------------------------------------------------------
    def server(self) -> Any:
        """This environment as an MCP server (the SDK's low-level Server): tools, and scenarios as prompts."""
        from hudproxy.env.server import build_server

        return build_server(self)

    def adopt(self, other: Environment) -> None:
        """Take `other`'s tools, scenarios and mocks (a reloaded env.py) while keeping running connectors and
        services: a connector kind already running here stays; only the registry changes."""
        kept = [m for m in self.mounts[1:] if not isinstance(m.connector, ServiceTools)]
        mounts = [Mount(other.local), *kept, *(m for m in other.mounts if isinstance(m.connector, ServiceTools))]
        table = merge((m.visible(), m) for m in mounts)  # a clash raises here, before anything changes
        self.local, self.scenarios, self.instructions = other.local, other.scenarios, other.instructions
        self.agents = dict(other.agents)
        self.services = dict(other.services)
        self.mocks.copy_from(other.mocks)
        self.mounts, self._table = mounts, table
