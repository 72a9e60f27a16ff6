"""Per-run state: everything a run can change lives in its RunContext, never on the Environment.

A run gets its own id (also its hudproxy replay session id, sent as `X-Hudproxy-Session`), its own journal,
its own mock-service instances and its own per-connector state (an in-process app built for it, a client).
Fifty runs in one event loop therefore cannot see each other's writes or calls.
"""

from __future__ import annotations

import contextlib
import contextvars
import secrets
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hudproxy.env.journal import CallsView, RunJournal
from hudproxy.errors import ConfigError
from hudproxy.grading.report import Grade
from hudproxy.journal.query import Call

T = TypeVar("T")
current_run: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar("hudproxy_env_run", default=None)


class RunContext(CallsView):
    """One isolated run (or one MCP session of `hudproxy serve`)."""

    def __init__(self, server: str, run_id: str | None = None) -> None:
        self.id = run_id or f"run-{secrets.token_hex(6)}"
        self.journal = RunJournal(self.id, server)
        self.services: dict[type, Any] = {}
        self.databases: dict[str, Any] = {}  # this run's own handles (Environment.database), released on close
        self.state: dict[Any, Any] = {}
        self.stack = contextlib.AsyncExitStack()
        self.scenario: Any = None  # the scenario an MCP client started with prompts/get, until it submits

    def __repr__(self) -> str:
        return f"<RunContext {self.id} calls={len(self.journal.entries)}>"

    @property
    def session_id(self) -> str:
        """The hudproxy replay session this run's requests carry: its own, so replay state is per run."""
        return self.id

    def journal_calls(self) -> list[Call]:
        return self.journal.entries

    def service(self, cls: type[T]) -> T:
        """This run's instance of a mock service (created on first use, never shared)."""
        instance = self.services.get(cls)
        if instance is None:
            instance = self.services[cls] = cls()
        return instance

    def db(self, name: str = "default") -> Any:
        """This run's own database handle (a SQLite copy, a Postgres connection in a rolled-back transaction)."""
        try:
            return self.databases[name]
        except KeyError:
            have = ", ".join(self.databases) or "none"
            raise ConfigError(f"run {self.id} has no database {name!r} (have: {have}); declare it with "
                              "env.database(...), used by env.run and hudproxy eval") from None  # fmt: skip

    async def aclose(self) -> None:
        """Close what the run opened (its clients, its databases); a reused context (the default run) starts clean."""
        await self.stack.aclose()
        self.state.clear()
        self.databases.clear()


@dataclass
class Run(CallsView):
    """What `env.run(...)` returns: the reward, what was said, and the run's own journal."""

    scenario: str
    args: dict[str, Any]
    prompt: str
    answer: str | None
    reward: float
    subscores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    context: RunContext | None = field(default=None, repr=False)
    error: str | None = None
    grade: Grade | None = None  # the rubric's verdicts, when a rubric graded the run
    end_state: dict[str, Any] | None = field(default=None, repr=False)  # what the rubric read at the end

    @property
    def id(self) -> str:
        return self.context.id if self.context is not None else ""

    def journal_calls(self) -> list[Call]:
        return self.context.journal_calls() if self.context is not None else []

    def service(self, cls: type[T]) -> T:
        assert self.context is not None
        return self.context.service(cls)
