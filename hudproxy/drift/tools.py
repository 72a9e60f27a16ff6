"""Compare an MCP server's tool list with the recorded one: tools added, removed or changed.

A tool is JSON the agent reads, so its parts are compared with `diff_json` and judged as a caller would:
- input schema: breaking when a parameter is removed, its type changes, or a parameter becomes required (the
  recorded calls no longer validate);
- output schema: breaking when a field is removed, its type changes, or stops being required;
- description: flagged, never silently equal, since the description is what steers the agent's choice;
- anything else (title, annotations such as `readOnlyHint`): reported as a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hudproxy.drift.jsondiff import Change, ChangeKind, diff_json

SCHEMAS = ("inputSchema", "outputSchema")
OWN_FIELDS = frozenset({"name", "description", *SCHEMAS})


@dataclass
class ToolChange:
    """One tool that differs; `kind` is added, removed or changed."""

    server: str
    tool: str
    kind: str
    description: tuple[str | None, str | None] | None = None
    input: list[Change] = field(default_factory=list)
    output: list[Change] = field(default_factory=list)
    other: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return self.kind == "removed" or any(c.breaking for c in (*self.input, *self.output))

    @property
    def flagged(self) -> bool:
        """A changed description: not breaking, but the agent may now choose differently."""
        return self.description is not None

    def lines(self) -> list[str]:
        if self.kind != "changed":
            return [f"tool {self.kind}"]
        out = []
        if self.description is not None:
            out.append(f"! description: {self.description[0]!r} -> {self.description[1]!r}")
        out += [f"input {c.describe()}" for c in self.input] + [f"output {c.describe()}" for c in self.output]
        return out + [c.describe() for c in self.other]

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "tool": self.tool,
            "kind": self.kind,
            "breaking": self.breaking,
            "description": None if self.description is None else list(self.description),
            "input_schema": [c.to_dict() for c in self.input],
            "output_schema": [c.to_dict() for c in self.output],
            "other": [c.to_dict() for c in self.other],
        }


def compare_tools(
    server: str, recorded: dict[str, dict[str, Any]], live: dict[str, dict[str, Any]]
) -> list[ToolChange]:
    """Tools by name on each side; the changes in recorded order, then the tools that are new."""
    changes = [ToolChange(server, name, "removed") for name in recorded if name not in live]
    for name, before in recorded.items():
        if name in live:
            changed = _compare_tool(server, name, before, live[name])
            if changed is not None:
                changes.append(changed)
    return changes + [ToolChange(server, name, "added") for name in live if name not in recorded]


def _compare_tool(server: str, name: str, before: dict[str, Any], after: dict[str, Any]) -> ToolChange | None:
    change = ToolChange(server, name, "changed")
    if before.get("description") != after.get("description"):
        change.description = (before.get("description"), after.get("description"))
    change.input = schema_changes(before.get("inputSchema"), after.get("inputSchema"), is_input=True)
    change.output = schema_changes(before.get("outputSchema"), after.get("outputSchema"), is_input=False)
    rest_before = {k: v for k, v in before.items() if k not in OWN_FIELDS}
    rest_after = {k: v for k, v in after.items() if k not in OWN_FIELDS}
    change.other = diff_json(rest_before, rest_after).changes
    if change.description is None and not (change.input or change.output or change.other):
        return None
    return change


def schema_changes(before: Any, after: Any, is_input: bool) -> list[Change]:
    """A JSON Schema's changes, judged for a caller (`is_input`) or for a reader of the result."""
    before, after = before or {}, after or {}
    out = []
    for change in diff_json(before, after).changes:
        if _about_required(change):
            continue  # judged as sets below: a reordered list is no change
        out.append(_judged(change))
    out += _required_changes(before, after, is_input, ())
    return out


def _about_required(change: Change) -> bool:
    path = change.path
    whole_list = path[-1:] == ("required",) and isinstance(
        change.before if change.after is None else change.after, list
    )
    return whole_list or path[-2:-1] == ("required",)


def _judged(change: Change) -> Change:
    path = change.path
    removed_property = change.kind is ChangeKind.REMOVED and len(path) >= 2 and path[-2] == "properties"
    type_changed = change.kind is ChangeKind.TYPE_CHANGED or (
        path[-1:] == ("type",) and change.kind is not ChangeKind.ADDED
    )
    breaking = removed_property or type_changed
    return Change(path, change.kind, change.before, change.after, breaking=breaking)


def _required_changes(before: Any, after: Any, is_input: bool, path: tuple[str, ...]) -> list[Change]:
    """`required` compared as sets at every level of nested object schemas."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    out = []
    was, now = set(before.get("required") or []), set(after.get("required") or [])
    for name in sorted(now - was):
        out.append(Change((*path, "required", name), ChangeKind.ADDED, None, name, breaking=is_input))
    for name in sorted(was - now):
        out.append(Change((*path, "required", name), ChangeKind.REMOVED, name, None, breaking=not is_input))
    for key in ("properties",):
        inner_before, inner_after = before.get(key) or {}, after.get(key) or {}
        if isinstance(inner_before, dict) and isinstance(inner_after, dict):
            for prop in inner_before.keys() & inner_after.keys():
                out += _required_changes(inner_before[prop], inner_after[prop], is_input, (*path, key, prop))
    if isinstance(before.get("items"), dict):
        out += _required_changes(before["items"], after.get("items"), is_input, (*path, "items"))
    return out


def tools_of(listing: Any) -> dict[str, dict[str, Any]]:
    """A `tools/list` result's tools by name."""
    tools = listing.get("tools") if isinstance(listing, dict) else None
    return {t["name"]: t for t in tools or [] if isinstance(t, dict) and isinstance(t.get("name"), str)}
