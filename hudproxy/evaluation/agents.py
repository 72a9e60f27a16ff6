"""Which agent plays each run, from `--agent`:

- `NAME` (e.g. `scripted`): a factory the environment registered, `env.agent("scripted", factory)`;
- `openai:MODEL`: `OpenAIChatAgent(MODEL)` ($OPENAI_API_KEY, $OPENAI_BASE_URL), sent each run's seed; with an
  LLM cassette (`ModelRoute`) its calls go to hudproxy's server instead, each run in its own session;
- `package.module:factory` or `path/to/file.py:factory`: a factory from outside the environment.

A factory is `factory(scenario, args)` or `factory(scenario, args, seed)` and returns an Agent, or a list of
`ToolCall`/`Final` steps (played by a ScriptedAgent). It is called once per run, so no agent state is shared.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hudproxy.env.agents import Agent, Final, OpenAIChatAgent, ScriptedAgent, ToolCall
from hudproxy.env.llm import REPLAY_KEY
from hudproxy.errors import ConfigError

if TYPE_CHECKING:
    from hudproxy.env.environment import Environment

AgentLike = str | Agent | Callable[..., Any]
FORMS = "NAME (registered with env.agent), openai:MODEL, or module:factory / file.py:factory"


@dataclass(frozen=True)
class ModelRoute:
    """Where `openai:MODEL` agents send their calls (picklable: each Ray worker gets it): hudproxy's server of an
    LLM cassette (`base_url`), streamed or not; `replaying` needs no provider key."""

    base_url: str | None = None
    stream: bool = False
    replaying: bool = False


class AgentSource:
    """Makes each run's agent; resolved once per process (the driver checks it, each Ray worker re-resolves)."""

    def __init__(self, spec: AgentLike, env: Environment, route: ModelRoute | None = None) -> None:
        self.spec = spec
        self.label = spec if isinstance(spec, str) else getattr(spec, "__name__", type(spec).__name__)
        self._shared: Agent | None = None
        self._factory: Callable[..., Any] | None = None
        self._takes_seed = False
        if isinstance(spec, str):
            self._factory = resolve(spec, env, route or ModelRoute())
        elif callable(getattr(spec, "run", None)):
            self._shared = spec  # type: ignore[assignment]  # an Agent instance: stateless by the protocol
        elif callable(spec):
            self._factory = spec
        else:
            raise ConfigError(f"agent {spec!r} is neither an Agent, a factory, nor a spec like {FORMS}")
        if self._factory is not None:
            self._takes_seed = takes_seed(self._factory)

    def make(self, scenario: str, args: dict[str, Any], seed: int) -> Agent:
        if self._shared is not None:
            return self._shared
        assert self._factory is not None
        made = self._factory(scenario, dict(args), seed) if self._takes_seed else self._factory(scenario, dict(args))
        if callable(getattr(made, "run", None)):
            return made
        if isinstance(made, Sequence) and all(isinstance(step, ToolCall | Final) for step in made):
            return ScriptedAgent(made)
        raise ConfigError(f"agent {self.label!r} returned {made!r} for {scenario!r}: expected an Agent or steps")


def resolve(spec: str, env: Environment, route: ModelRoute | None = None) -> Callable[..., Any]:
    """The factory a spec names (see the module docstring); a bad spec raises ConfigError listing the forms."""
    if spec.startswith("openai:"):
        return openai_factory(spec.partition(":")[2], route or ModelRoute())
    if ":" in spec:
        return import_factory(spec)
    factory = env.agents.get(spec)
    if factory is None:
        have = ", ".join(sorted(env.agents)) or "none"
        raise ConfigError(f"--agent {spec!r}: environment {env.name!r} registers no such agent (registered: {have});"
                          f" give {FORMS}")  # fmt: skip
    return factory


def openai_factory(model: str, route: ModelRoute) -> Callable[..., Agent]:
    if not model:
        raise ConfigError("--agent openai:MODEL needs a model name, e.g. openai:gpt-4o-mini")
    key = os.environ.get("OPENAI_API_KEY") or (REPLAY_KEY if route.replaying else None)
    if not key:
        raise ConfigError(f"--agent openai:{model} needs an API key: set OPENAI_API_KEY (and OPENAI_BASE_URL for a "
                          "compatible server)")  # fmt: skip

    def factory(scenario: str, args: dict[str, Any], seed: int) -> Agent:
        return OpenAIChatAgent(model, seed=seed, base_url=route.base_url, api_key=key, stream=route.stream,
                               session_header=route.base_url is not None)  # fmt: skip

    return factory


def import_factory(spec: str) -> Callable[..., Any]:
    """`package.module:name` (imported) or `path/to/file.py:name` (loaded from the file)."""
    where, _, name = spec.rpartition(":")
    try:
        module = _load_file(Path(where)) if where.endswith(".py") else importlib.import_module(where)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"--agent {spec!r}: cannot import {where!r} ({type(exc).__name__}: {exc})") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise ConfigError(f"--agent {spec!r}: {where} has no callable {name!r}")
    return factory


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise ConfigError(f"--agent: {path}: no such file")
    name = f"hudproxy_agents_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def takes_seed(factory: Callable[..., Any]) -> bool:
    """Whether the factory wants the run's seed: a third positional parameter (or *args)."""
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)
