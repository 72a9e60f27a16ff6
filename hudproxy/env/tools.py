"""What a tool is to the Environment, whoever serves it: a name, schemas, and where it came from.

MCP requires `outputSchema` to describe an object, so a tool whose value is a list or a string advertises it
wrapped as `{"result": value}` (as the SDK does for functions) and `wrapped` says so: mocks and validation work
on the advertised schema, while `env.call_tool` hands back the bare value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import mcp_types as types  # `mcp.types` is this module re-exported, behind the whole SDK's import (~0.4 s)

from hudproxy.errors import ConfigError, HudproxyError


class ToolError(HudproxyError):
    """A tool call failed; `str()` is what the agent sees (compact, no internals)."""


class ToolClashError(ConfigError):
    """Two sources offer a tool of the same name and no prefix/include/exclude tells them apart."""


@dataclass(frozen=True)
class ToolSpec:
    """One tool as listed to agents. `source` names the connector, for clash errors and the journal."""

    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    output_schema: dict[str, Any] | None = None
    wrapped: bool = False
    source: str = ""
    annotations: dict[str, Any] | None = None

    def renamed(self, name: str) -> ToolSpec:
        return replace(self, name=name)

    def to_mcp(self) -> types.Tool:
        annotations = types.ToolAnnotations.model_validate(self.annotations) if self.annotations else None
        return types.Tool(
            name=self.name,
            description=self.description or None,
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            annotations=annotations,
        )

    def to_openai(self) -> dict[str, Any]:
        """The chat-completions `tools` entry: a function with the input schema as parameters."""
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description[:1024], "parameters": self.input_schema},
        }


def object_schema(schema: dict[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
    """(advertised output schema, wrapped): objects as they are, anything else as `{"result": ...}`."""
    if schema is None:
        return None, False
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in schema.get("$defs", {}):
        schema = {**schema["$defs"][ref[8:]], **{k: v for k, v in schema.items() if k != "$ref"}}  # inline the top
    if schema.get("type") == "object":
        return schema, False
    defs = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
    inner = {k: v for k, v in schema.items() if k not in defs}
    return {"type": "object", "properties": {"result": inner}, "required": ["result"], **defs}, True


def looks_wrapped(schema: dict[str, Any] | None) -> bool:
    """An MCP server's output schema that is the SDK's `{"result": ...}` wrapper (a function returning a str,
    list, ...): its one required property is `result`. Such a tool's value is the inner one, as for our own."""
    if not schema:
        return False
    return set(schema.get("properties") or {}) == {"result"} and schema.get("required") == ["result"]


def wrap(spec: ToolSpec, value: Any) -> Any:
    return {"result": value} if spec.wrapped else value


def unwrap(spec: ToolSpec, structured: Any) -> Any:
    if spec.wrapped and isinstance(structured, dict) and "result" in structured:
        return structured["result"]
    return structured


def as_text(value: Any) -> str:
    """The text block an MCP client shows: strings as they are, everything else as JSON (never a repr)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def to_call_result(spec: ToolSpec | None, value: Any) -> types.CallToolResult:
    """A successful value as an MCP result: JSON text, plus structured content when the tool has a schema."""
    structured = wrap(spec, value) if spec is not None and spec.output_schema is not None else None
    content = [types.TextContent(type="text", text=as_text(value))]
    return types.CallToolResult(content=content, structured_content=structured)


def from_call_result(spec: ToolSpec | None, result: types.CallToolResult) -> Any:
    """An MCP result as a value: structured content if any, else the text (parsed when it is JSON)."""
    text = "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))
    if result.is_error:
        raise ToolError(text or "the tool reported an error")
    if result.structured_content is not None:
        return unwrap(spec, result.structured_content) if spec is not None else result.structured_content
    try:
        return json.loads(text)
    except ValueError:
        return text
