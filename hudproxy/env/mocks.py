"""Mock answers, in precedence order: `mock_tool` (a value or a callable) > a mock service's own methods >
`mock()` (a schema-valid fake) > the real tool.

A fake depends only on the seed, the tool's name and its arguments: the same call gets the same answer in every
run and every process, and different arguments get different answers (an agent cannot tell a mock by its
sameness). Stateful mocks are classes (`mock_service`), one instance per run, never a value stored here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from hudproxy.env.fake import fake, seed_for
from hudproxy.env.tools import ToolSpec, unwrap

UNSET = object()
TEXT_SCHEMA = {"type": "string", "minLength": 8}


class Mocks:
    """Which tools answer with mocks. Holds configuration only: read by every run, written by none."""

    def __init__(self) -> None:
        self.everything = False
        self.seed = 0
        self.overrides: dict[str, Any] = {}

    def copy_from(self, other: Mocks) -> None:
        self.everything, self.seed, self.overrides = other.everything, other.seed, dict(other.overrides)

    def override(self, name: str, value: Any) -> None:
        self.overrides[name] = value

    async def answer(self, spec: ToolSpec, args: dict[str, Any], real_mock: bool) -> Any:
        """The mocked value, or UNSET when the tool should answer for real. `real_mock`: a mock service."""
        if spec.name in self.overrides:
            chosen = self.overrides[spec.name]
            if callable(chosen):
                value = _call_override(chosen, args)
                return await value if inspect.isawaitable(value) else value
            return chosen
        if real_mock or not self.everything:
            return UNSET
        return fake_output(spec, args, self.seed)


def _call_override(chosen: Callable[..., Any], args: dict[str, Any]) -> Any:
    """`mock_tool(name, fn)`: fn(args) with the argument dict (keyword-only functions get **args)."""
    params = list(inspect.signature(chosen).parameters.values())
    if len(params) == 1 and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        return chosen(args)
    return chosen(**args)


def fake_output(spec: ToolSpec, args: dict[str, Any], seed: int) -> Any:
    """A value valid against the tool's advertised output schema (text when it has none), unwrapped."""
    schema = spec.output_schema or TEXT_SCHEMA
    value = fake(schema, seed_for(seed, spec.name, args))
    return unwrap(spec, value) if spec.output_schema is not None else value
