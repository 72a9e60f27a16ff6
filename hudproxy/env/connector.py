"""The Connector protocol, and how a connector's tools are mounted (prefix, include, exclude).

Every source of tools — a FastAPI app, an OpenAPI service, an MCP server, another environment, later a Docker
image — is one small adapter with four methods. The Environment never knows which kind it is talking to.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hudproxy.env.run import RunContext
from hudproxy.env.tools import ToolClashError, ToolSpec


@runtime_checkable
class Connector(Protocol):
    """A source of tools. `call` gets the run, so per-run state (an app, a session id) stays in the run."""

    label: str

    async def start(self) -> None: ...

    def tools(self) -> list[ToolSpec]: ...

    async def call(self, name: str, args: dict[str, Any], run: RunContext) -> Any: ...

    async def stop(self) -> None: ...


@dataclass
class Mount:
    """A connector as the environment sees it: which of its tools, under which names."""

    connector: Connector
    prefix: str | None = None
    include: list[str] | None = None
    exclude: list[str] = field(default_factory=list)

    def visible(self) -> dict[str, ToolSpec]:
        """Exposed name → spec (renamed, `source` set), after include/exclude globs and the prefix."""
        out: dict[str, ToolSpec] = {}
        for spec in self.connector.tools():
            if self.include is not None and not _any_match(spec.name, self.include):
                continue
            if _any_match(spec.name, self.exclude):
                continue
            name = f"{self.prefix}_{spec.name}" if self.prefix else spec.name
            out[name] = ToolSpec(
                name, spec.description, spec.input_schema, spec.output_schema, spec.wrapped,
                self.connector.label, spec.annotations,
            )  # fmt: skip
        return out

    def original(self, exposed: str) -> str:
        return exposed[len(self.prefix) + 1 :] if self.prefix else exposed


def _any_match(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def merge(sources: Iterable[tuple[dict[str, ToolSpec], Any]]) -> dict[str, tuple[ToolSpec, Any]]:
    """One table of tools; a name offered twice raises, naming both sources and the ways out."""
    table: dict[str, tuple[ToolSpec, Any]] = {}
    for specs, owner in sources:
        for name, spec in specs.items():
            if name in table:
                first = table[name][0].source
                raise ToolClashError(
                    f"tool {name!r} is offered by both {first} and {spec.source}: connect one of them with "
                    f"prefix=..., include=[...] or exclude=[{name!r}]."
                )
            table[name] = (spec, owner)
    return table
