"""The SDK types each forwarded method travels as: one table for the recorder and the replay server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mcp.types as types
from pydantic import BaseModel

from hudproxy.mcp.wire import CAPABILITY


@dataclass(frozen=True)
class Method:
    """One forwardable MCP request: its params model, request and result types, and the capability it needs."""

    name: str
    params: type[BaseModel]
    request: type[BaseModel]
    result: type[BaseModel]
    capability: str


def _method(name: str, stem: str, params: str, capability: str) -> Method:
    """`stem` names the SDK types: `ListTools` → ListToolsRequest, ListToolsResult."""
    return Method(
        name, getattr(types, params), getattr(types, f"{stem}Request"), getattr(types, f"{stem}Result"), capability
    )


STEMS = {
    "tools/list": ("ListTools", "PaginatedRequestParams"),
    "tools/call": ("CallTool", "CallToolRequestParams"),
    "resources/list": ("ListResources", "PaginatedRequestParams"),
    "resources/templates/list": ("ListResourceTemplates", "PaginatedRequestParams"),
    "resources/read": ("ReadResource", "ReadResourceRequestParams"),
    "prompts/list": ("ListPrompts", "PaginatedRequestParams"),
    "prompts/get": ("GetPrompt", "GetPromptRequestParams"),
    "completion/complete": ("Complete", "CompleteRequestParams"),
}
METHODS = {name: _method(name, *STEMS[name], capability) for name, capability in CAPABILITY.items()}


def dump(model: BaseModel) -> dict[str, Any]:
    """A typed value as wire JSON (camelCase aliases, no nulls)."""
    return model.model_dump(by_alias=True, mode="json", exclude_none=True)
