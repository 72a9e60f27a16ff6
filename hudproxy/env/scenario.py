"""Scenarios: an async generator that yields the prompt, receives the agent's answer, then yields the reward.

    @env.scenario("update-order")
    async def update_order(order_id: str):
        answer = yield f"Update order {order_id} to shipped"
        yield 1.0 if ... else 0.0

Arguments are validated against the signature (pydantic `validate_call`, so MCP's string arguments are coerced
like any pydantic input); the reward may be a number, a bool, a dict or a `ScenarioResult` with sub-scores.

A scenario with a rubric (`@env.scenario("refund-order", rubric="rubrics/refund.yaml")`, a path relative to the
scenario's own file) is graded by it: its generator may end right after the prompt (code after the first yield
still runs, as teardown), and a reward it yields anyway is kept only as a note.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types  # `mcp.types` is this module re-exported, behind the whole SDK's import (~0.4 s)
from pydantic import ValidationError, validate_call

from hudproxy.errors import ConfigError
from hudproxy.grading import Rubric, load_rubric


class ScenarioError(ConfigError):
    """A scenario was called wrongly (unknown name, bad arguments) or broke its two-yield contract."""


@dataclass
class ScenarioResult:
    """A reward in [0, 1] with the parts it was made of and notes for the person reading the run."""

    reward: float
    subscores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, value: Any) -> ScenarioResult:
        if isinstance(value, ScenarioResult):
            return value
        if isinstance(value, bool | int | float):
            return cls(float(value))
        if isinstance(value, dict) and "reward" in value:
            notes = value.get("notes") or []
            notes = [notes] if isinstance(notes, str) else list(notes)
            return cls(float(value["reward"]), dict(value.get("subscores") or {}), notes)
        raise ScenarioError(f"a scenario's second yield must be a number or a ScenarioResult, not {value!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"reward": self.reward, "subscores": self.subscores, "notes": self.notes}


class Scenario:
    def __init__(
        self, name: str, fn: Callable[..., AsyncGenerator[Any, Any]], description: str | None = None,
        rubric: str | Path | Rubric | None = None,
    ) -> None:  # fmt: skip
        if not inspect.isasyncgenfunction(fn):
            raise ScenarioError(f"scenario {name!r}: {fn.__qualname__} must be an async generator (use `yield`).")
        self.name = name
        self.fn = fn
        self.description = description or inspect.getdoc(fn) or ""
        self._validated = validate_call(fn)
        self.rubric = rubric if isinstance(rubric, Rubric) or rubric is None else load_rubric(_beside(fn, rubric))

    def start_generator(self, args: dict[str, Any]) -> AsyncGenerator[Any, Any]:
        try:
            return self._validated(**args)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
            raise ScenarioError(f"scenario {self.name!r}: {problems} (signature: {self.signature()})") from None

    def arguments(self, args: dict[str, Any]) -> dict[str, Any]:
        """`args` with the signature's defaults filled in: what a rubric's placeholders may name."""
        try:
            bound = inspect.signature(self.fn).bind_partial(**args)
        except TypeError:
            return dict(args)
        bound.apply_defaults()
        return dict(bound.arguments)

    def signature(self) -> str:
        return f"{self.fn.__name__}{inspect.signature(self.fn)}"

    def prompt(self) -> types.Prompt:
        """The scenario as an MCP prompt: one argument per parameter (required when it has no default)."""
        arguments = [
            types.PromptArgument(name=p.name, required=p.default is inspect.Parameter.empty,
                                 description=_annotation(p))
            for p in inspect.signature(self.fn).parameters.values()
        ]  # fmt: skip
        return types.Prompt(name=self.name, description=self.description or None, arguments=arguments)


def _beside(fn: Callable[..., Any], path: str | Path) -> Path:
    """A rubric path relative to the file that defines the scenario (absolute paths as they are)."""
    path = Path(path)
    if path.is_absolute():
        return path
    try:
        return Path(inspect.getfile(fn)).resolve().parent / path
    except (TypeError, OSError):
        return path


def _annotation(param: inspect.Parameter) -> str | None:
    if param.annotation is inspect.Parameter.empty:
        return None
    return param.annotation if isinstance(param.annotation, str) else getattr(param.annotation, "__name__", None)


class ActiveScenario:
    """A started scenario: setup has run and the prompt is known; `finish(answer)` grades it."""

    def __init__(
        self, scenario: Scenario, generator: AsyncGenerator[Any, Any], prompt: str, args: dict[str, Any] | None = None
    ) -> None:
        self.scenario = scenario
        self.generator = generator
        self.prompt = prompt
        self.args = dict(args or {})  # what a rubric's `{{placeholders}}` are filled from

    @classmethod
    async def start(cls, scenario: Scenario, args: dict[str, Any]) -> ActiveScenario:
        generator = scenario.start_generator(args)
        try:
            prompt = await generator.__anext__()
        except StopAsyncIteration:
            raise ScenarioError(f"scenario {scenario.name!r} ended before yielding its prompt") from None
        if not isinstance(prompt, str):
            await generator.aclose()
            raise ScenarioError(f"scenario {scenario.name!r}: the first yield must be the prompt text, not {prompt!r}")
        return cls(scenario, generator, prompt, scenario.arguments(args))

    async def finish(self, answer: str | None, graded: bool = False) -> ScenarioResult | None:
        """The scenario's own result; with `graded` (a rubric decides the reward) it may end without one (None)."""
        try:
            reward = await self.generator.asend(answer)
        except StopAsyncIteration:
            if graded:
                return None
            raise ScenarioError(f"scenario {self.scenario.name!r} ended without yielding a reward") from None
        result = ScenarioResult.of(reward)
        try:
            await self.generator.asend(None)  # run any teardown after the reward
        except StopAsyncIteration:
            return result
        await self.generator.aclose()
        raise ScenarioError(f"scenario {self.scenario.name!r} yielded more than twice (prompt, then reward)")

    async def abandon(self) -> None:
        await self.generator.aclose()
