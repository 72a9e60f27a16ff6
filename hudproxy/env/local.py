"""Tools written in Python: `@env.tool` functions and `env.mock_service(Cls)` methods.

Schemas, argument validation and result conversion are the SDK's (`mcp.server.mcpserver.tools.Tool`), so a
function behaves exactly as it would on an `MCPServer`. A mock service's methods run on the calling run's own
instance of the class: its state (a `charges` list, say) belongs to that run and its grader.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hudproxy.env.run import RunContext
from hudproxy.env.tools import ToolError, ToolSpec, from_call_result

if TYPE_CHECKING:
    from mcp.server.mcpserver.tools import Tool


def tool_from_function(fn: Callable[..., Any], name: str | None = None, description: str | None = None) -> Tool:
    """The SDK's Tool for `fn`; the SDK (~0.4 s to import) loads with an environment's first Python tool."""
    from mcp.server.mcpserver.tools import Tool

    return Tool.from_function(fn, name=name, description=description)


def spec_of(tool: Tool, source: str) -> ToolSpec:
    return ToolSpec(
        name=tool.name,
        description=tool.description,
        input_schema=tool.parameters,
        output_schema=tool.output_schema,
        wrapped=tool.fn_metadata.wrap_output,
        source=source,
        annotations=tool.annotations.model_dump(exclude_none=True) if tool.annotations else None,
    )


async def run_tool(tool: Tool, spec: ToolSpec, fn: Callable[..., Any], args: dict[str, Any]) -> Any:
    """Validate, call, convert like MCPServer; a bad argument or a raised error becomes a ToolError."""
    try:
        validated = tool.fn_metadata.validate_arguments(args)
    except ValidationError as exc:
        raise ToolError(f"invalid arguments for {spec.name}: {_brief(exc)}") from exc
    try:
        result = await tool.fn_metadata.call_fn(fn, inspect.iscoroutinefunction(fn), validated)
    except ToolError:
        raise
    except Exception as exc:
        raise ToolError(f"{spec.name} failed: {exc}") from exc
    return from_call_result(spec, tool.fn_metadata.convert_result(result))


def _brief(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())


class FunctionTools:
    """The environment's own `@env.tool` functions (stateless, or closing over state they own)."""

    label = "local tools"

    def __init__(self) -> None:
        self.registry: dict[str, tuple[Tool, ToolSpec]] = {}

    def add(self, fn: Callable[..., Any], name: str | None = None, description: str | None = None) -> None:
        tool = tool_from_function(fn, name=name, description=description)
        self.registry[tool.name] = (tool, spec_of(tool, f"@tool {fn.__module__}.{fn.__qualname__}"))

    async def start(self) -> None:
        return None

    def tools(self) -> list[ToolSpec]:
        return [spec for _tool, spec in self.registry.values()]

    async def call(self, name: str, args: dict[str, Any], run: RunContext) -> Any:
        tool, spec = self.registry[name]
        return await run_tool(tool, spec, tool.fn, args)

    async def stop(self) -> None:
        return None


class ServiceTools:
    """A stateful mock: the class's public async methods as tools, each run calling its own instance."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.label = f"mock service {cls.__name__}"
        self.registry: dict[str, tuple[Tool, ToolSpec]] = {}
        template = cls()  # schemas come from bound methods, so `self` is not a parameter
        for attr, member in inspect.getmembers(template, inspect.iscoroutinefunction):
            if not attr.startswith("_"):
                tool = tool_from_function(member, name=attr)
                self.registry[attr] = (tool, spec_of(tool, self.label))

    async def start(self) -> None:
        return None

    def tools(self) -> list[ToolSpec]:
        return [spec for _tool, spec in self.registry.values()]

    async def call(self, name: str, args: dict[str, Any], run: RunContext) -> Any:
        tool, spec = self.registry[name]
        return await run_tool(tool, spec, getattr(run.service(self.cls), name), args)

    async def stop(self) -> None:
        return None
